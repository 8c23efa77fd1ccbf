/**
 * Running the parent walk of path-walk-program.ts. WALK_WASM is that program assembled
 * (a test checks the two agree); each walk gets its own instance and memory, so the path
 * it returns is a view nobody else writes to.
 */

import { compileWasm, instantiateWasm, WASM_PAGE, type WasmMemory, type WasmModule } from "../format/wasm-api.js";

/** assembleModule([WALK_PROGRAM], 1), base64. */
export const WALK_WASM =
  "AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFAwEAAQcRAgZtZW1vcnkCAAR3YWxrAAAKawFpAQN/IAIhBCADIQUgAyABQQJ0ayEGIABBBGshAAJAA0AgBEEBayABTw0BIAUgBktFDQEgBUEEayEFIAUgBDYAACAAIARBAnRqKAAAIQQMAAsLIARBAWsgAU9FBEBBfw8LIAMgBWtBAnYLCwEA";

type Walk = (parent: number, count: number, leaf: number, outEnd: number) => number;

let compiled: WasmModule | null | undefined;

/**
 * The entrySeqs from `leafSeq` to its root, root first, following `parent` (entry k's
 * parentSeq at k - 1; <= 0 or > count ends the walk). Undefined when the walk meets a
 * cycle or WebAssembly is not available: the caller then walks in JavaScript.
 */
export function walkPath(parent: Int32Array, leafSeq: number): Int32Array | undefined {
  const count = parent.length;
  // Parents, then as many slots for the path.
  const space = instanceWith(4 * count, count);
  if (!space) return undefined;
  new Int32Array(space.memory.buffer, 0, count).set(parent);
  return run(space, 0, count, leafSeq, 8 * count);
}

interface Instance {
  memory: WasmMemory;
  walk: Walk;
}

/** An instance whose memory holds `bytes` bytes and then `count` path slots, or undefined. */
function instanceWith(bytes: number, count: number): Instance | undefined {
  // Without WebAssembly (e.g. node --jitless) the caller walks in JavaScript.
  if (compiled === undefined) compiled = compileWasm(WALK_WASM);
  const module = compiled;
  const need = bytes + 4 * count;
  // wasm32 addresses below 2 GiB keep every offset a positive i32.
  if (!module || need >= 2 ** 31) return undefined;
  try {
    const instance = instantiateWasm(module);
    const memory = instance.exports.memory as WasmMemory;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / WASM_PAGE));
    return { memory, walk: instance.exports.walk as Walk };
  } catch {
    return undefined; // no memory to be had: the JavaScript walk needs less
  }
}

/** The walk over parents at byte `parentAt`, the path written to end at byte `outEnd`. */
function run(space: Instance, parentAt: number, count: number, leafSeq: number, outEnd: number): Int32Array | undefined {
  const n = space.walk(parentAt, count, leafSeq, outEnd);
  return n < 0 ? undefined : new Int32Array(space.memory.buffer, outEnd - 4 * n, n);
}

/**
 * WebAssembly memory that an entry table's parent column is read into, so that the first
 * walk runs over it where it lies: no copy of it into a walk's own memory, and no second
 * set of fresh pages for the kernel to fault in (at 1 GB the column is 1 MB). The path
 * slots follow the column. Pages are only touched as blocks of the column are read.
 */
export class WalkSpace {
  /** The parent column, to be filled by the entry table. */
  readonly parents: Int32Array;
  private used = false;

  private constructor(
    private readonly space: Instance,
    readonly count: number,
  ) {
    this.parents = new Int32Array(space.memory.buffer, 0, count);
  }

  /** Room for a parent column of `count` entries and a path; undefined without WebAssembly or memory. */
  static create(count: number): WalkSpace | undefined {
    const space = instanceWith(4 * count, count);
    return space ? new WalkSpace(space, count) : undefined;
  }

  /**
   * walkPath over `parent`, this space's column. The path is a view of this memory, so
   * only the first walk runs here; later ones (and a walk that met a cycle) return
   * undefined and the caller uses walkPath, which copies.
   */
  walkOnce(parent: Int32Array, leafSeq: number): Int32Array | undefined {
    if (this.used || parent !== this.parents) return undefined;
    this.used = true;
    return run(this.space, 0, this.count, leafSeq, 8 * this.count);
  }
}
