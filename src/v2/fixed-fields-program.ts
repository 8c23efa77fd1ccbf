import { add, and, block, br, brIf, call, eq, geS, geU, get, gtU, i32, I32, load8, loop, ltU, ne, ret, set, store32, sub, type FunctionDef, type Node } from "../format/wasm-asm.js";

/**
 * The fixed fields of an index row and of a frame head, exactly as the writer makes them,
 * read by WebAssembly (one module, two entry points): the grammar of fastIndexRow
 * (index-row-fast.ts) and fastFrameHead (frame-head-fast.ts), the numbers parsed here, only
 * the strings left for JavaScript to make. Every pass over a sidecar reads every row and
 * every frame head (26,699 each for a 100 MB session, in both threads of a verify); the
 * JavaScript byte readers took 2-3 us each in a fresh process (interpreted, then compiled
 * by the optimising compiler, more than once), this runs compiled from the first one.
 *
 *   row(len) -> 1 (a row of the writer's shape, fields at ROW_OUT) or 0 (the slow path)
 *   head(len) -> the head's length (a head of the writer's shape followed by `,"payload":`,
 *                fields at HEAD_OUT) or 0 (the slow path)
 *
 * The bytes are at IN (len of them). Row results: the five integers as f64 at ROW_OUT + 0,
 * 8, 16, 24, 32 (entrySeq, segmentSeq, frameSeq, byteOffset, byteLength), the entry id's
 * [start, end) as i32 at ROW_OUT + 40 and 44, the CRC's opening quote at ROW_OUT + 48.
 * Head results: f64 segmentSeq, frameSeq, entrySeq, payloadBytes at HEAD_OUT + 0, 8, 16,
 * 24; i32 [start, end) of entryId, parentEntryId (0, 0 when absent), entryType and
 * timestamp at HEAD_OUT + 32 .. 60, the hash's first digit at HEAD_OUT + 64. The keys and
 * schemas are the literals at LITS, as ROW_LITERALS and HEAD_LITERALS list them.
 */

export const ROW_OUT = 0;
export const HEAD_OUT = 64;
export const LITS = 192;
export const IN = 1024;
/** Inputs longer than this take the JavaScript path (a row or head is a few hundred bytes). */
export const IN_MAX = 65536 - IN;
export const PAGES = 1;

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

/** The literals of a frame head in order, as fastFrameHead matches them, and the payload mark. */
export const HEAD_LITERALS = [
  '{"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":',
  ',"frameSeq":',
  ',"entrySeq":',
  ',"entryId":',
  ',"parentEntryId":',
  ',"entryType":',
  ',"timestamp":',
  ',"payloadSha256":',
  ',"payloadBytes":',
  ',"payload":',
] as const;

/** Every literal, as laid out from LITS. */
export const LITERALS: readonly string[] = [...ROW_LITERALS, ...HEAD_LITERALS];
/** Offset of each literal of LITERALS in memory. */
const LITERAL_AT: readonly number[] = LITERALS.reduce<number[]>((at, lit, k) => [...at, k === 0 ? LITS : (at[k - 1] as number) + (LITERALS[k - 1] as string).length], []);
const H = ROW_LITERALS.length;

// Functions of the module, in order.
const F_LIT = 1;
const F_INT = 2;
const F_STR = 3;
const F_CRC = 4;
const F_SHA = 5;

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

// str(p, end, out, empty) -> p after the closing quote ([start, end) of the content as i32 at out, out + 4), or -1
const STR: FunctionDef = {
  name: "str",
  params: [I32, I32, I32, I32],
  results: [I32],
  locals: [[2, I32]],
  body: [
    [failed(get(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [geU(get(0), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [ne(load8(get(0)), i32(0x22)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    set(0, add(get(0), i32(1))),
    set(5, get(0)),
    block(
      "done",
      loop(
        "char",
        brIf("done", geU(get(0), get(1))),
        set(4, load8(get(0))),
        brIf("done", eq(get(4), i32(0x22))),
        // Printable ASCII but the backslash: 0x20..0x7e, not 0x5c.
        [gtU(sub(get(4), i32(0x20)), i32(0x5e)), [0x04, 0x40], ret(i32(-1)), 0x0b],
        [eq(get(4), i32(0x5c)), [0x04, 0x40], ret(i32(-1)), 0x0b],
        set(0, add(get(0), i32(1))),
        br("char"),
      ),
    ),
    [geU(get(0), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
    [and(eq(get(0), get(5)), eq(get(3), i32(0))), [0x04, 0x40], ret(i32(-1)), 0x0b],
    store32(get(2), get(5)),
    store32(get(2), get(0), 4),
    add(get(0), i32(1)),
  ],
};

/**
 * name(p, end) -> p + digits + 2: a JSON string at p of exactly `digits` hex digits whose
 * letters are a-f from `letterA` on (0x41 "A" for a CRC, 0x61 "a" for a SHA-256), or -1.
 */
function quotedHex(name: string, digits: number, letterA: number): FunctionDef {
  return {
    name,
    params: [I32, I32],
    results: [I32],
    locals: [[2, I32]],
    body: [
      [failed(get(0)), [0x04, 0x40], ret(i32(-1)), 0x0b],
      [gtU(add(get(0), i32(digits + 2)), get(1)), [0x04, 0x40], ret(i32(-1)), 0x0b],
      [ne(load8(get(0)), i32(0x22)), [0x04, 0x40], ret(i32(-1)), 0x0b],
      [ne(load8(get(0), digits + 1), i32(0x22)), [0x04, 0x40], ret(i32(-1)), 0x0b],
      set(2, i32(1)),
      block(
        "done",
        loop(
          "hex",
          brIf("done", gtU(get(2), i32(digits))),
          set(3, load8(add(get(0), get(2)))),
          [and(notDigit(get(3)), geU(sub(get(3), i32(letterA)), i32(6))), [0x04, 0x40], ret(i32(-1)), 0x0b],
          set(2, add(get(2), i32(1))),
          br("hex"),
        ),
      ),
      add(get(0), i32(digits + 2)),
    ],
  };
}

// crc(p, end): "XXXXXXXX", 8 uppercase hex digits
const CRC = quotedHex("crc", 8, 0x41);

// sha(p, end): 64 lowercase hex digits
const SHA = quotedHex("sha", 64, 0x61);

const litCall = (k: number, p: Node, end: Node): Node => call(F_LIT, p, end, i32(LITERAL_AT[k] as number), i32((LITERALS[k] as string).length));

// row(len) -> 1 or 0
const ROW: FunctionDef = {
  name: "row",
  params: [I32],
  results: [I32],
  locals: [[2, I32]],
  body: [
    set(2, add(i32(IN), get(0))),
    set(1, litCall(0, i32(IN), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(ROW_OUT))),
    set(1, litCall(1, get(1), get(2))),
    set(1, call(F_STR, get(1), get(2), i32(ROW_OUT + 40), i32(0))),
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

// head(len) -> the head's length (where `,"payload":` starts) or 0
const HEAD: FunctionDef = {
  name: "head",
  params: [I32],
  results: [I32],
  locals: [[2, I32]],
  body: [
    set(2, add(i32(IN), get(0))),
    set(1, litCall(H, i32(IN), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(HEAD_OUT))),
    set(1, litCall(H + 1, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(HEAD_OUT + 8))),
    set(1, litCall(H + 2, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(0), i32(HEAD_OUT + 16))),
    set(1, litCall(H + 3, get(1), get(2))),
    set(1, call(F_STR, get(1), get(2), i32(HEAD_OUT + 32), i32(0))),
    store32(i32(HEAD_OUT + 40), i32(0)),
    store32(i32(HEAD_OUT + 44), i32(0)),
    // The parent is there when its key is (then it must be a string as the writer makes it).
    [
      ne(call(F_LIT, get(1), get(2), i32(LITERAL_AT[H + 4] as number), i32((LITERALS[H + 4] as string).length)), i32(-1)),
      [0x04, 0x40],
      set(1, litCall(H + 4, get(1), get(2))),
      set(1, call(F_STR, get(1), get(2), i32(HEAD_OUT + 40), i32(0))),
      0x0b,
    ],
    set(1, litCall(H + 5, get(1), get(2))),
    set(1, call(F_STR, get(1), get(2), i32(HEAD_OUT + 48), i32(0))),
    set(1, litCall(H + 6, get(1), get(2))),
    set(1, call(F_STR, get(1), get(2), i32(HEAD_OUT + 56), i32(1))),
    set(1, litCall(H + 7, get(1), get(2))),
    store32(i32(HEAD_OUT + 64), add(get(1), i32(1))),
    set(1, call(F_SHA, get(1), get(2))),
    set(1, litCall(H + 8, get(1), get(2))),
    set(1, call(F_INT, get(1), get(2), i32(1), i32(HEAD_OUT + 24))),
    // The payload mark must follow: the head ends there (no earlier mark can be in it: its
    // strings hold no quote, and no key of it is "payload").
    [failed(get(1)), [0x04, 0x40], ret(i32(0)), 0x0b],
    [eq(litCall(H + 9, get(1), get(2)), i32(-1)), [0x04, 0x40], ret(i32(0)), 0x0b],
    sub(get(1), i32(IN)),
  ],
};

export const FIXED_FIELDS_FUNCTIONS: readonly FunctionDef[] = [ROW, LIT, INT, STR, CRC, SHA, HEAD];
