/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF),
 * the checksum the Rust port's `crc32c` crate computes over every frame line.
 *
 * Slicing-by-16: sixteen 256-entry tables let the inner loop consume sixteen bytes per
 * step, read as four 32-bit words through an Int32Array view of the aligned middle of the
 * input (one typed-array load per word instead of four byte loads and shifts). Every pass
 * over a sidecar (write, verify) checksums every frame byte, and this runs about twice as
 * fast as slicing-by-8 with byte loads. On a big-endian host the words would come out
 * byte-swapped, so there the byte-wise loop is used throughout.
 *
 * Inputs of CRC_WASM_MIN bytes or more go through the same loop as WebAssembly
 * (crc32c-program.ts): copied into the module's memory (1 MiB at a time) and checksummed
 * there, about twice as fast as the JavaScript loop in a fresh process. Where WebAssembly
 * is unavailable (node --jitless) the JavaScript loop does it all, with the same results.
 */

import { compileWasm, instantiateWasm, type WasmMemory } from "../format/wasm-api.js";
import { CRC_CHUNK, CRC_DATA, CRC_TABLES } from "./crc32c-program.js";

const POLY = 0x82f63b78;

/** Table k (k = 0..15) at [k * 256, k * 256 + 256): T_k[n] = CRC of byte n followed by k zero bytes. */
const T: Uint32Array = (() => {
  const t = new Uint32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 16; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One byte at a time, from `i` to `end`. */
function bytewise(c: number, data: Uint8Array, i: number, end: number): number {
  while (i < end) {
    c = (T[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return c;
}

/** Sixteen bytes per step over `words` (a multiple of 4 words, little-endian). */
function sliced(c: number, w: Int32Array): number {
  for (let j = 0; j < w.length; j += 4) {
    const a = c ^ (w[j] as number);
    const b = w[j + 1] as number;
    const d = w[j + 2] as number;
    const e = w[j + 3] as number;
    c =
      (T[3840 + (a & 0xff)] as number) ^
      (T[3584 + ((a >>> 8) & 0xff)] as number) ^
      (T[3328 + ((a >>> 16) & 0xff)] as number) ^
      (T[3072 + (a >>> 24)] as number) ^
      (T[2816 + (b & 0xff)] as number) ^
      (T[2560 + ((b >>> 8) & 0xff)] as number) ^
      (T[2304 + ((b >>> 16) & 0xff)] as number) ^
      (T[2048 + (b >>> 24)] as number) ^
      (T[1792 + (d & 0xff)] as number) ^
      (T[1536 + ((d >>> 8) & 0xff)] as number) ^
      (T[1280 + ((d >>> 16) & 0xff)] as number) ^
      (T[1024 + (d >>> 24)] as number) ^
      (T[768 + (e & 0xff)] as number) ^
      (T[512 + ((e >>> 8) & 0xff)] as number) ^
      (T[256 + ((e >>> 16) & 0xff)] as number) ^
      (T[e >>> 24] as number);
  }
  return c;
}

/** assembleModule([CRC_PROGRAM], CRC_PAGES), base64 (a test checks the two agree). */
export const CRC_WASM =
  "AGFzbQEAAAABCAFgA39/fwF/AwIBAAUDAQARBxACBm1lbW9yeQIAA2NyYwAACqADAZ0DAQR/AkADQCABQRBqIAJLDQEgACABKAAAcyEDIAEoAAQhBCABKAAIIQUgASgADCEGIANB/wFxQQJ0QYD4AGooAAAgA0EIdkH/AXFBAnRBgPAAaigAAHMgA0EQdkH/AXFBAnRBgOgAaigAACADQRh2QQJ0QYDgAGooAABzcyAEQf8BcUECdEGA2ABqKAAAIARBCHZB/wFxQQJ0QYDQAGooAABzIARBEHZB/wFxQQJ0QYDIAGooAAAgBEEYdkECdEGAwABqKAAAc3NzIAVB/wFxQQJ0QYA4aigAACAFQQh2Qf8BcUECdEGAMGooAABzIAVBEHZB/wFxQQJ0QYAoaigAACAFQRh2QQJ0QYAgaigAAHNzIAZB/wFxQQJ0QYAYaigAACAGQQh2Qf8BcUECdEGAEGooAABzIAZBEHZB/wFxQQJ0QYAIaigAACAGQRh2QQJ0QQBqKAAAc3NzcyEAIAFBEGohAQwACwsCQANAIAEgAk8NASAAIAEtAABzQf8BcUECdEEAaigAACAAQQh2cyEAIAFBAWohAQwACwsgAAsLAQA=";

/** Inputs from this size on go through WebAssembly (below, the call and the copy cost more than they save). */
export const CRC_WASM_MIN = 256;

type WasmCrc = (c: number, p: number, end: number) => number;

/** The module's function and a view of its memory; null where WebAssembly is unavailable, undefined until first used. */
let wasmCrc: { crc: WasmCrc; mem: Uint8Array } | null | undefined;

function loadWasm(): { crc: WasmCrc; mem: Uint8Array } | null {
  const module = LITTLE_ENDIAN ? compileWasm(CRC_WASM) : null;
  if (!module) return null;
  try {
    const instance = instantiateWasm(module);
    const memory = instance.exports.memory as WasmMemory;
    // WebAssembly memory is little-endian, as this host is: the tables go in as they are.
    new Uint32Array(memory.buffer, CRC_TABLES, T.length).set(T);
    return { crc: instance.exports.crc as WasmCrc, mem: new Uint8Array(memory.buffer) };
  } catch {
    return null;
  }
}

/** The inverted register `c` continued over `data` in WebAssembly, a chunk at a time. */
function viaWasm(w: { crc: WasmCrc; mem: Uint8Array }, c: number, data: Uint8Array): number {
  const n = data.length;
  for (let at = 0; at < n; at += CRC_CHUNK) {
    const k = Math.min(CRC_CHUNK, n - at);
    w.mem.set(at === 0 && k === n ? data : data.subarray(at, at + k), CRC_DATA);
    c = w.crc(c, CRC_DATA, CRC_DATA + k);
  }
  return c;
}

/** Inputs shorter than this are not worth a typed-array view. */
const SLICE_MIN = 64;

/**
 * Continue a CRC-32C over `data`. `crc` is a previous result (0 to start), so
 * crc32cUpdate(crc32cUpdate(0, a), b) === crc32c(a ++ b).
 */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  if (data.length >= CRC_WASM_MIN) {
    if (wasmCrc === undefined) wasmCrc = loadWasm();
    if (wasmCrc) return ~viaWasm(wasmCrc, ~crc >>> 0, data) >>> 0;
  }
  return crc32cUpdateJs(crc, data);
}

/** crc32cUpdate in JavaScript only (what runs where WebAssembly is unavailable; tests compare the two). */
export function crc32cUpdateJs(crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  const n = data.length;
  if (!LITTLE_ENDIAN || n < SLICE_MIN) return ~bytewise(c, data, 0, n) >>> 0;
  // Bytes up to the first 4-byte boundary of the underlying memory, then whole 16-byte
  // blocks as words, then the rest.
  const head = (4 - (data.byteOffset & 3)) & 3;
  c = bytewise(c, data, 0, head);
  const blocks = (n - head) >>> 4;
  c = sliced(c, new Int32Array(data.buffer, data.byteOffset + head, blocks * 4));
  return ~bytewise(c, data, head + blocks * 16, n) >>> 0;
}

/** CRC-32C of `data` as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array | string): number {
  return crc32cUpdate(0, typeof data === "string" ? Buffer.from(data, "utf8") : data);
}

/** CRC-32C as the sidecar writes it: 8 uppercase hex digits (`crc32c("123456789")` = "E3069283"). */
export function crc32cHex(data: Uint8Array | string): string {
  return crc32c(data).toString(16).toUpperCase().padStart(8, "0");
}
