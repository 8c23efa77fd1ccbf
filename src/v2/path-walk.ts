/**
 * Running the parent walk of path-walk-program.ts. WALK_WASM is that program assembled
 * (a test checks the two agree); each walk gets its own instance and memory, so the path
 * it returns is a view nobody else writes to.
 */

import { compileWasm, instantiateWasm, WASM_PAGE, type WasmMemory, type WasmModule } from "../format/wasm-api.js";

/** assembleModule([WALK_PROGRAM], 1), base64. */
export const WALK_WASM =
  "AGFzbQEAAAABCQFgBH9/f38BfwMCAQAFAwEAAQcRAgZtZW1vcnkCAAR3YWxrAAAKYAFeAQJ/IAIhBAJAA0BBACAETg0BIAQgAUsNASAFIAFPDQEgBUEBaiEFIAMgBUECdGsgBDYAACAAIARBAWtBAnRqKAAAIQQMAAsLQQAgBE5FIAQgAUtFcQRAQX8PCyAFCwsBAA==";

type Walk = (parent: number, count: number, leaf: number, outEnd: number) => number;

let compiled: WasmModule | null | undefined;

/**
 * The entrySeqs from `leafSeq` to its root, root first, following `parent` (entry k's
 * parentSeq at k - 1; <= 0 or > count ends the walk). Undefined when the walk meets a
 * cycle or WebAssembly is not available: the caller then walks in JavaScript.
 */
export function walkPath(parent: Int32Array, leafSeq: number): Int32Array | undefined {
  // Without WebAssembly (e.g. node --jitless) the caller walks in JavaScript.
  if (compiled === undefined) compiled = compileWasm(WALK_WASM);
  const module = compiled;
  const count = parent.length;
  // Parents, then as many slots for the path; wasm32 addresses below 4 GiB.
  const need = 8 * count;
  if (!module || need >= 2 ** 31) return undefined;
  let memory: WasmMemory;
  let walk: Walk;
  try {
    const instance = instantiateWasm(module);
    memory = instance.exports.memory as WasmMemory;
    walk = instance.exports.walk as Walk;
    if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / WASM_PAGE));
  } catch {
    return undefined; // no memory to be had: the JavaScript walk needs less
  }
  new Int32Array(memory.buffer, 0, count).set(parent);
  const n = walk(0, count, leafSeq, need);
  return n < 0 ? undefined : new Int32Array(memory.buffer, need - 4 * n, n);
}
