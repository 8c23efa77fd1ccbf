import { add, and, block, br, brIf, call, eq, geS, geU, get, gtU, i32, I32, load8, loop, ltU, ne, ret, set, store32, sub, type FunctionDef, type Node } from "../format/wasm-asm.js";

/**
 * fastIndexRow (index-row-fast.ts) as WebAssembly: an index row exactly as encodeIndexRow
 * writes it is read in one call, the numbers parsed here, only the entry id and the CRC
 * left for JavaScript to make strings of. Every pass over a sidecar reads every row (26,699
 * for a 100 MB session, in both threads of a verify); the JavaScript byte reader took
 * ~2 us a row in a fresh process (interpreted, then compiled by the optimising compiler,
 * more than once), this runs compiled from the first row.
 *
 *   parse(len) -> 1 (a row of the writer's shape, fields at OUT) or 0 (take the slow path)
 *
 * The row's bytes are at IN (len of them, "\n" excluded). Results: the five integers as
 * f64 at OUT + 0, 8, 16, 24, 32 (entrySeq, segmentSeq, frameSeq, byteOffset, byteLength),
 * the entry id's [start, end) as i32 at OUT + 40 and 44, the CRC's opening quote at OUT + 48.
 * The keys and the schema are the literals at LITS, as ROW_LITERALS lists them.
 */

export const ROW_OUT = 0;
export const ROW_LITS = 64;
export const ROW_IN = 1024;
/** Rows longer than this take the JavaScript path (a real row is a few hundred bytes). */
export const ROW_MAX = 65536 - ROW_IN;
export const ROW_PAGES = 1;

/** The literals of a row in order, as fastIndexRow matches them. */
export const ROW_LITERALS = [
  '{"schema":"pi.session_store_v2.offset_index.v1","entrySeq":',
  ',"entryId":',
  ',"segmentSeq":',
  ',"frameSeq":',
  ',"byteOffset":',
  ',"byteLength":',
  ',"crc32c":',
  ',"state":"active"}',
] as const;

/** Offset of each literal in memory. */
export const LITERAL_AT: readonly number[] = ROW_LITERALS.reduce<number[]>((at, lit, k) => [...at, k === 0 ? ROW_LITS : (at[k - 1] as number) + (ROW_LITERALS[k - 1] as string).length], []);

// Functions of the module, in order.
const F_PARSE = 0;
const F_LIT = 1;
const F_INT = 2;
const F_STR = 3;
const F_CRC = 4;

const F64 = 0x7c;
const storeF64 = (addr: Node, value: Node): Node => [addr, value, 0x39, 0, 0];
const f64zero: Node = [0x44, 0, 0, 0, 0, 0, 0, 0, 0];
const f64ten: Node = [0x44, ...new Uint8Array(new Float64Array([10]).buffer)];
const f64mul = (a: Node, b: Node): Node => [a, b, 0xa2];
const f64add = (a: Node, b: Node): Node => [a, b, 0xa0];
const f64fromU32 = (a: Node): Node => [a, 0xb8];
/** A byte that is not a decimal digit. */
const notDigit = (c: Node): Node => geU(sub(c, i32(0x30)), i32(10));
/** -1 (failed before) or below: nothing more to read. */
const failed = (p: Node): Node => geS(i32(-1), p);

// lit(p, end, at, n) -> p + n, or -1
const LIT: FunctionDef = {
  name: "lit",
  params: [I32, I32, I32, I32],
  results: [I32],
  locals: [[1, I32]],
  body: [
    [failed(get(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [gtU(add(get(0), get(3)), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    block(
      "done",
      loop(
        "each",
        brIf("done", geU(get(4), get(3))),
        [ne(load8(add(get(0), get(4))), load8(add(get(2), get(4)))), [0x04, 0x40], ret(i32(-1)), 0x0b],
        set(4, add(get(4), i32(1))),
        br("each"),
      ),
    ),
    add(get(0), get(3)),
  ],
};

// int(p, end, zero, out) -> p after the digits (value as f64 at out), or -1
const INT: FunctionDef = {
  name: "int",
  params: [I32, I32, I32, I32],
  results: [I32],
  locals: [
    [2, I32],
    [1, F64],
  ],
  body: [
    [failed(get(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [geU(get(0), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    set(4, load8(get(0))),
    [
      eq(get(4), i32(0x30)),
      [0x04, 0x40],
      [eq(get(2), i32(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
      [and(ltU(add(get(0), i32(1)), get(1)), eq(notDigit(load8(add(get(0), i32(1)))), i32(0))), [0x04, 0x40], ret(i32(-1)), 0x0b],
      storeF64(get(3), f64zero),
      ret(add(get(0), i32(1))),
      0x0b,
    ],
    set(5, get(0)),
    block(
      "done",
      loop(
        "digit",
        brIf("done", geU(get(0), get(1))),
        set(4, load8(get(0))),
        brIf("done", notDigit(get(4))),
        [f64add(f64mul(get(6), f64ten), f64fromU32(sub(get(4), i32(0x30)))), 0x21, 6],
        set(0, add(get(0), i32(1))),
        br("digit"),
      ),
    ),
    [eq(get(0), get(5)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [gtU(sub(get(0), get(5)), i32(15)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    storeF64(get(3), get(6)),
    get(0),
  ],
};

// str(p, end, out) -> p after the closing quote ([start, end) of the content as i32 at out, out + 4), or -1
const STR: FunctionDef = {
  name: "str",
  params: [I32, I32, I32],
  results: [I32],
  locals: [[2, I32]],
  body: [
    [failed(get(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [geU(get(0), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [ne(load8(get(0)), i32(0x22)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    set(0, add(get(0), i32(1))),
    set(4, get(0)),
    block(
      "done",
      loop(
        "char",
        brIf("done", geU(get(0), get(1))),
        set(3, load8(get(0))),
        brIf("done", eq(get(3), i32(0x22))),
        // Printable ASCII but the backslash: 0x20..0x7e, not 0x5c.
        [gtU(sub(get(3), i32(0x20)), i32(0x5e)), [0x04, 0x40], ret(i32(-1)), 0x0b],
        [eq(get(3), i32(0x5c)), [0x04, 0x40], ret(i32(-1)), 0x0b],
        set(0, add(get(0), i32(1))),
        br("char"),
      ),
    ),
    [geU(get(0), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [eq(get(0), get(4)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    store32(get(2), get(4)),
    store32(get(2), get(0), 4),
    add(get(0), i32(1)),
  ],
};

// crc(p, end) -> p + 10 ("XXXXXXXX", 8 uppercase hex digits), or -1
const CRC: FunctionDef = {
  name: "crc",
  params: [I32, I32],
  results: [I32],
  locals: [[2, I32]],
  body: [
    [failed(get(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [gtU(add(get(0), i32(10)), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [ne(load8(get(0)), i32(0x22)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [ne(load8(get(0), 9), i32(0x22)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    set(2, i32(1)),
    block(
      "done",
      loop(
        "hex",
        brIf("done", gtU(get(2), i32(8))),
        set(3, load8(add(get(0), get(2)))),
        [and(notDigit(get(3)), geU(sub(get(3), i32(0x41)), i32(6))), [0x04, 0x40], ret(i32(-1)), 0x0b],
        set(2, add(get(2), i32(1))),
        br("hex"),
      ),
    ),
    add(get(0), i32(10)),
  ],
};

const litCall = (k: number, p: Node, end: Node): Node => call(F_LIT, p, end, i32(LITERAL_AT[k] as number), i32((ROW_LITERALS[k] as string).length));

// parse(len) -> 1 or 0
const PARSE: FunctionDef = {
  name: "parse",
  params: [I32],
  results: [I32],
  locals: [[2, I32]],
  body: [
    set(2, add(i32(ROW_IN), get(0))),
    set(1, litCall(0, i32(ROW_IN), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(ROW_OUT))),
    set(1, litCall(1, get(1), get(2))),
    set(1, call(F_STR, get(1), get(2), i32(ROW_OUT + 40))),
    set(1, litCall(2, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(ROW_OUT + 8))),
    set(1, litCall(3, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(ROW_OUT + 16))),
    set(1, litCall(4, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(1), i32(ROW_OUT + 24))),
    set(1, litCall(5, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(ROW_OUT + 32))),
    set(1, litCall(6, get(1), get(2))),
    store32(i32(ROW_OUT + 48), get(1)),
    set(1, call(F_CRC, get(1), get(2))),
    set(1, litCall(7, get(1), get(2))),
    eq(get(1), get(2)),
  ],
};

export const ROW_FUNCTIONS: readonly FunctionDef[] = [PARSE, LIT, INT, STR, CRC];
void [F_PARSE];
