import { add, and, block, br, brIf, geU, get, gtU, i32, I32, load32, load8, loop, set, shl, type FunctionDef, type Node } from "../format/wasm-asm.js";

/**
 * CRC-32C slicing-by-16 (the loop of crc32c.ts's `sliced`, then its byte-wise tail) as one
 * WebAssembly function. Every pass over a sidecar checksums every frame byte (100 MB for a
 * 100 MB session, twice in a migration); the JavaScript loop runs interpreted, then
 * baseline-compiled, for the first frames of a fresh process and bounds-checks each of its
 * sixteen table loads per step, where this runs compiled from the first byte at about
 * twice the speed, the copy of the input into its memory included.
 *
 *   crc(c, p, end) -> c
 *
 * c: the running CRC register (already inverted: ~crc); p, end: the input bytes
 * [p, end) in memory. Tables: T_k (k = 0..15) at byte 1024 k, 256 little-endian u32 each,
 * as crc32c.ts builds them (the caller copies them in once).
 */
export const CRC_TABLES = 0;
/** Where the input is copied to (after the 16 KiB of tables). */
export const CRC_DATA = 16 * 1024;
/** Bytes of input per call: larger inputs go through in pieces. */
export const CRC_CHUNK = 1 << 20;
/** Memory pages of the module: the tables and one chunk. */
export const CRC_PAGES = Math.ceil((CRC_DATA + CRC_CHUNK) / 65536);

const C = 0;
const P = 1;
const END = 2;
const A = 3;
const B = 4;
const D = 5;
const E = 6;

const xor = (a: Node, b: Node): Node => [a, b, 0x73];
const shrU = (a: Node, b: Node): Node => [a, b, 0x76];
/** T_k[x] (x a byte). */
const t = (k: number, x: Node): Node => load32(add(shl(x, i32(2)), i32(CRC_TABLES + k * 1024)));
/** Byte `shift / 8` of word w, through table k. */
const tb = (k: number, w: number, shift: number): Node =>
  t(k, shift === 0 ? and(get(w), i32(0xff)) : shift === 24 ? shrU(get(w), i32(24)) : and(shrU(get(w), i32(shift)), i32(0xff)));
/** The four table lookups of one word (tables k, k-1, k-2, k-3 for its bytes 0..3). */
const word = (k: number, w: number): Node => xor(xor(tb(k, w, 0), tb(k - 1, w, 8)), xor(tb(k - 2, w, 16), tb(k - 3, w, 24)));

export const CRC_PROGRAM: FunctionDef = {
  name: "crc",
  params: [I32, I32, I32],
  results: [I32],
  locals: [[4, I32]],
  body: [
    block(
      "words",
      loop(
        "step",
        brIf("words", gtU(add(get(P), i32(16)), get(END))),
        set(A, xor(get(C), load32(get(P)))),
        set(B, load32(get(P), 4)),
        set(D, load32(get(P), 8)),
        set(E, load32(get(P), 12)),
        set(C, xor(xor(word(15, A), word(11, B)), xor(word(7, D), word(3, E)))),
        set(P, add(get(P), i32(16))),
        br("step"),
      ),
    ),
    block(
      "bytes",
      loop(
        "byte",
        brIf("bytes", geU(get(P), get(END))),
        set(C, xor(t(0, and(xor(get(C), load8(get(P))), i32(0xff))), shrU(get(C), i32(8)))),
        set(P, add(get(P), i32(1))),
        br("byte"),
      ),
    ),
    get(C),
  ],
};
