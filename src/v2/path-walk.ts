/**
 * Running the parent walk of path-walk-program.ts. WALK_WASM is that program assembled
 * (a test checks the two agree); each walk gets its own instance and memory, so the path
 * it returns is a view nobody else writes to.
 */

/** assembleModule([WALK_PROGRAM], 1), base64. */
export const WALK_WASM =
  "AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFAwEAAQcRAgZtZW1vcnkCAAR3YWxrAAAKYAFeAQJ/IAIhBAJAA0BBACAETg0BIAQgAUsNASAFIAFPDQEgBUEBaiEFIAMgBUECdGsgBDYAACAAIARBAWtBAnRqKAAAIQQMAAsLQQAgBE5FIAQgAUtFcQRAQX8PCyAFCwsBAA==";

// The few WebAssembly declarations used here (the project's type libraries have none).
interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface Api {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
}
type Walk = (parent: number, count: number, leaf: number, outEnd: number) => number;

const PAGE = 65536;
let compiled: object | null | undefined;

function walkModule(): object | null {
  if (compiled === undefined) {
    const api = (globalThis as { WebAssembly?: Api }).WebAssembly;
    try {
      compiled = api ? new api.Module(Buffer.from(WALK_WASM, "base64")) : null;
    } catch {
      compiled = null; // e.g. node --jitless: the caller walks in JavaScript
    }
  }
  return compiled;
}

/**
 * The entrySeqs from `leafSeq` to its root, root first, following `parent` (entry k's
 * parentSeq at k - 1; <= 0 or > count ends the walk). Undefined when the walk meets a
 * cycle or WebAssembly is not available: the caller then walks in JavaScript.
 */
export function walkPath(parent: Int32Array, leafSeq: number): Int32Array | undefined {
  const module = walkModule();
  const count = parent.length;
  // Parents, then as many slots for the path; wasm32 addresses below 4 GiB.
  const need = 8 * count;
  if (!module || need >= 2 ** 31) return undefined;
  let memory: Memory;
  let walk: Walk;
  try {
    const instance = new (globalThis as unknown as { WebAssembly: Api }).WebAssembly.Instance(module, {});
    memory = instance.exports.memory as Memory;
    walk = instance.exports.walk as Walk;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / PAGE));
  } catch {
    return undefined; // no memory to be had: the JavaScript walk needs less
  }
  new Int32Array(memory.buffer, 0, count).set(parent);
  const n = walk(0, count, leafSeq, need);
  return n < 0 ? undefined : new Int32Array(memory.buffer, need - 4 * n, n);
}
