/**
 * Fast path of the reader: one pass over a line's bytes that checks the JSON grammar
 * exactly as JSON.parse does (RFC 8259) and notes where the few top-level fields the
 * index needs are, without building any object or decoding any string it does not need.
 *
 * It answers "certain" only for a well-formed JSON object whose interesting keys are
 * written without escapes and which holds no `\uD800`-`\uDFFF` escape (those need the
 * lone-surrogate check on the parsed value). Anything else (invalid JSON, another top-level
 * value, an escaped key, a surrogate escape) is "unsure", and the caller parses the line
 * with JSON.parse, which then decides and words every diagnostic. The fast path therefore
 * never changes what is accepted or how a problem is reported; it only skips work.
 *
 * The caller must have checked the bytes are UTF-8 (isUtf8): multi-byte sequences are
 * then plain string content here. Iterative (an explicit container stack), so nesting
 * depth is unbounded, as in V8's JSON.parse.
 */

/** Field slots. The MESSAGE_ROLE slot is `role` inside the top-level `message` object. */
export const F_TYPE = 0;
export const F_ID = 1;
export const F_PARENT_ID = 2;
export const F_TIMESTAMP = 3;
export const F_MESSAGE = 4;
export const F_MESSAGE_ROLE = 5;
export const F_TARGET_ID = 6;
export const F_LABEL = 7;
export const F_NAME = 8;
export const F_FIRST_KEPT_ENTRY_INDEX = 9;
const SLOTS = 10;

/** Kind of a field's value (K_ABSENT: the key does not occur). */
export const K_ABSENT = 0;
export const K_STRING = 1;
export const K_NULL = 2;
export const K_NUMBER = 3;
export const K_OBJECT = 4;
export const K_ARRAY = 5;
export const K_BOOLEAN = 6;

/** The facts of one line, whichever way they were found. */
export interface FieldView {
  /** K_* kind of the field's value (K_ABSENT when the key does not occur). */
  kind(slot: number): number;
  /** The value of a field whose kind is K_STRING. */
  str(slot: number): string;
  /** The value of a field whose kind is K_NUMBER. */
  num(slot: number): number;
}

/**
 * Where each field's value is on the last line scanned. A key that occurs more than once
 * takes its last value, as JSON.parse does. For strings, start/end enclose the content
 * between the quotes; `escaped` says whether it holds a backslash escape.
 */
export class LineFields implements FieldView {
  readonly kinds = new Uint8Array(SLOTS);
  readonly start = new Int32Array(SLOTS);
  readonly end = new Int32Array(SLOTS);
  readonly escaped = new Uint8Array(SLOTS);
  bytes: Buffer = Buffer.alloc(0);

  kind(slot: number): number {
    return this.kinds[slot] as number;
  }

  str(slot: number): string {
    const b = this.bytes;
    const s = this.start[slot] as number;
    const e = this.end[slot] as number;
    // With escapes, let JSON.parse decode the quoted text: exactly its rules, rarely run.
    if (this.escaped[slot] === 1) return JSON.parse(b.toString("utf8", s - 1, e + 1)) as string;
    // Types and roles come from a small set: share one string instead of one per line.
    if (slot === F_TYPE || slot === F_MESSAGE_ROLE) {
      const known = knownName(b, s, e);
      if (known !== undefined) return known;
    }
    return b.toString("utf8", s, e);
  }

  num(slot: number): number {
    // JSON number syntax is a subset of Number()'s, with the same value.
    return Number(this.bytes.toString("latin1", this.start[slot] as number, this.end[slot] as number));
  }
}

/** The same facts read from an object JSON.parse made (the reader's slow path). */
export class ObjectFields implements FieldView {
  constructor(private readonly o: Record<string, unknown>) {}

  private value(slot: number): unknown {
    const o = this.o;
    switch (slot) {
      case F_TYPE:
        return o.type;
      case F_ID:
        return o.id;
      case F_PARENT_ID:
        return o.parentId;
      case F_TIMESTAMP:
        return o.timestamp;
      case F_MESSAGE:
        return o.message;
      case F_MESSAGE_ROLE: {
        const m = o.message;
        return m !== null && typeof m === "object" && !Array.isArray(m) ? (m as { role?: unknown }).role : undefined;
      }
      case F_TARGET_ID:
        return o.targetId;
      case F_LABEL:
        return o.label;
      case F_NAME:
        return o.name;
      case F_FIRST_KEPT_ENTRY_INDEX:
        return o.firstKeptEntryIndex;
      default:
        return undefined;
    }
  }

  kind(slot: number): number {
    const v = this.value(slot);
    switch (typeof v) {
      case "undefined":
        return K_ABSENT;
      case "string":
        return K_STRING;
      case "number":
        return K_NUMBER;
      case "boolean":
        return K_BOOLEAN;
      default:
        return v === null ? K_NULL : Array.isArray(v) ? K_ARRAY : K_OBJECT;
    }
  }

  str(slot: number): string {
    return this.value(slot) as string;
  }

  num(slot: number): number {
    return this.value(slot) as number;
  }
}

const KNOWN_NAMES = [
  "message",
  "thinking_level_change",
  "model_change",
  "compaction",
  "branch_summary",
  "custom",
  "custom_message",
  "label",
  "session_info",
  "user",
  "assistant",
  "toolResult",
  "bashExecution",
].map((name) => ({ name, bytes: Buffer.from(name, "latin1") }));

function knownName(b: Buffer, s: number, e: number): string | undefined {
  for (const k of KNOWN_NAMES) if (sameBytes(b, s, e, k.bytes)) return k.name;
  return undefined;
}

// Byte classes inside a string: 0 plain, 1 quote, 2 backslash, 3 control (invalid).
const STRING_CLASS = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) STRING_CLASS[c] = 3;
STRING_CLASS[0x22] = 1;
STRING_CLASS[0x5c] = 2;

const HEX = new Int8Array(256).fill(-1);
for (let c = 0; c < 10; c++) HEX[0x30 + c] = c;
for (let c = 0; c < 6; c++) {
  HEX[0x41 + c] = 10 + c;
  HEX[0x61 + c] = 10 + c;
}

// Keys we look for, as bytes; slot per depth-1 key, and `role` at depth 2 under message.
const TOP_KEYS: [string, number][] = [
  ["type", F_TYPE],
  ["id", F_ID],
  ["parentId", F_PARENT_ID],
  ["timestamp", F_TIMESTAMP],
  ["message", F_MESSAGE],
  ["targetId", F_TARGET_ID],
  ["label", F_LABEL],
  ["name", F_NAME],
  ["firstKeptEntryIndex", F_FIRST_KEPT_ENTRY_INDEX],
];
const TOP_KEY_BYTES = TOP_KEYS.map(([k, slot]) => ({ bytes: Buffer.from(k, "latin1"), slot }));
const ROLE = Buffer.from("role", "latin1");

function sameBytes(b: Buffer, s: number, e: number, key: Buffer): boolean {
  if (e - s !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (b[s + k] !== key[k]) return false;
  return true;
}

function topKeySlot(b: Buffer, s: number, e: number): number {
  const n = e - s;
  if (n < 2 || n > 19) return -1;
  for (const k of TOP_KEY_BYTES) if (sameBytes(b, s, e, k.bytes)) return k.slot;
  return -1;
}

const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** Result of scanLine. */
export const SCAN_CERTAIN = 1;
export const SCAN_UNSURE = 0;

// JSON whitespace (a line holds no LF, but it is whitespace all the same).
const WS = new Uint8Array(256);
WS[0x20] = 1;
WS[0x09] = 1;
WS[0x0d] = 1;
WS[0x0a] = 1;

/** Index of the first non-whitespace byte at or after i. Callers test WS[b[i]] first: pi writes none. */
function skipWs(b: Buffer, i: number, end: number): number {
  while (i < end && WS[b[i] as number] === 1) i++;
  return i;
}

/** Open containers (IN_OBJECT / IN_ARRAY), shared by every scan; grows as needed. */
let stack = new Uint8Array(64);

// What the scanner expects next.
const X_VALUE = 0; // a value
const X_VALUE_OR_CLOSE = 1; // a value or `]` (just after `[`)
const X_KEY = 2; // a key (after a comma in an object)
const X_KEY_OR_CLOSE = 3; // a key or `}` (just after `{`)
const X_COLON = 4; // `:` after a key
const X_AFTER = 5; // `,` or a closer after a value (or the end, at depth 0)

/**
 * Scan `b` (one line, without its terminator). Returns SCAN_CERTAIN when the line is a
 * well-formed JSON object and `out` holds its fields; SCAN_UNSURE when the caller must
 * parse the line itself.
 *
 * One token per turn of the loop, and each helper called from one place only: the
 * optimising compiler inlines helpers at every call site, and on files of a few MB its
 * compile time, not the scan, is what the open waits for.
 */
export function scanLine(b: Buffer, out: LineFields): number {
  const end = b.length;
  const kinds = out.kinds;
  kinds.fill(0);
  out.bytes = b;
  let i = skipWs(b, 0, end);
  if (i >= end || b[i] !== 0x7b) return SCAN_UNSURE; // not an object: JSON.parse words the reason
  let depth = 0;
  let expect = X_VALUE;
  // The tracked field the next value belongs to (-1: none).
  let slot = -1;
  // Depth of the top-level `message` object while inside it (0: not inside).
  let messageDepth = 0;
  for (;;) {
    if (i < end && WS[b[i] as number] === 1) i = skipWs(b, i, end);
    if (i >= end) return depth === 0 && expect === X_AFTER ? SCAN_CERTAIN : SCAN_UNSURE;
    const c = b[i] as number;
    if (c === 0x22) {
      if (expect === X_COLON || expect === X_AFTER) return SCAN_UNSURE;
      const s = i + 1;
      const r = scanString(b, s, end);
      if (r < 0) return SCAN_UNSURE;
      i = r >>> 1;
      if (expect >= X_KEY) {
        if (depth === 1 || depth === messageDepth) {
          if ((r & 1) === 1) return SCAN_UNSURE; // an escaped key might spell one we track
          slot = keySlot(b, s, i - 1, depth);
          // A later `message` key replaces an earlier one, its role included.
          if (slot === F_MESSAGE) kinds[F_MESSAGE_ROLE] = K_ABSENT;
        }
        expect = X_COLON;
        continue;
      }
      if (slot >= 0) {
        kinds[slot] = K_STRING;
        out.start[slot] = s;
        out.end[slot] = i - 1;
        out.escaped[slot] = r & 1;
        slot = -1;
      }
      expect = X_AFTER;
    } else if (c === 0x3a) {
      if (expect !== X_COLON) return SCAN_UNSURE;
      i++;
      expect = X_VALUE;
    } else if (c === 0x2c) {
      if (expect !== X_AFTER || depth === 0) return SCAN_UNSURE;
      i++;
      expect = stack[depth - 1] === IN_OBJECT ? X_KEY : X_VALUE;
    } else if (c === 0x7b || c === 0x5b) {
      if (expect > X_VALUE_OR_CLOSE) return SCAN_UNSURE;
      if (depth === stack.length) stack = grow(stack);
      stack[depth++] = c === 0x7b ? IN_OBJECT : IN_ARRAY;
      if (slot >= 0) {
        kinds[slot] = c === 0x7b ? K_OBJECT : K_ARRAY;
        if (slot === F_MESSAGE && c === 0x7b) messageDepth = depth;
        slot = -1;
      }
      i++;
      expect = c === 0x7b ? X_KEY_OR_CLOSE : X_VALUE_OR_CLOSE;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) return SCAN_UNSURE;
      if (c === 0x7d ? stack[depth - 1] !== IN_OBJECT || (expect !== X_AFTER && expect !== X_KEY_OR_CLOSE) : stack[depth - 1] !== IN_ARRAY || (expect !== X_AFTER && expect !== X_VALUE_OR_CLOSE)) {
        return SCAN_UNSURE;
      }
      if (depth === messageDepth) messageDepth = 0;
      depth--;
      i++;
      expect = X_AFTER;
    } else {
      // A number or a literal, where a value may start (never as the whole line).
      if (expect > X_VALUE_OR_CLOSE || depth === 0) return SCAN_UNSURE;
      const s = i;
      i = c === 0x2d || (c >= 0x30 && c <= 0x39) ? scanNumber(b, i, end) : literalEnd(b, i, end);
      if (i < 0) return SCAN_UNSURE;
      if (slot >= 0) {
        kinds[slot] = c === 0x74 || c === 0x66 ? K_BOOLEAN : c === 0x6e ? K_NULL : K_NUMBER;
        out.start[slot] = s;
        out.end[slot] = i;
        slot = -1;
      }
      expect = X_AFTER;
    }
  }
}

function grow(a: Uint8Array<ArrayBuffer>): Uint8Array<ArrayBuffer> {
  const grown = new Uint8Array(a.length * 2);
  grown.set(a);
  return grown;
}

/** The slot of a key at depth 1 (top level) or at the message object's depth (`role`). */
function keySlot(b: Buffer, s: number, e: number, depth: number): number {
  if (depth !== 1) return sameBytes(b, s, e, ROLE) ? F_MESSAGE_ROLE : -1;
  return topKeySlot(b, s, e);
}

/** Index after `true`, `false` or `null` at i, or -1. */
function literalEnd(b: Buffer, i: number, end: number): number {
  const k = literal(b, i, end);
  if (k === K_ABSENT) return -1;
  return i + (b[i] === 0x66 ? 5 : 4);
}

/** K_BOOLEAN for `true`/`false`, K_NULL for `null` at i, else K_ABSENT. */
function literal(b: Buffer, i: number, end: number): number {
  const c = b[i];
  if (c === 0x74) return i + 3 < end && b[i + 1] === 0x72 && b[i + 2] === 0x75 && b[i + 3] === 0x65 ? K_BOOLEAN : K_ABSENT;
  if (c === 0x66) return i + 4 < end && b[i + 1] === 0x61 && b[i + 2] === 0x6c && b[i + 3] === 0x73 && b[i + 4] === 0x65 ? K_BOOLEAN : K_ABSENT;
  if (c === 0x6e) return i + 3 < end && b[i + 1] === 0x75 && b[i + 2] === 0x6c && b[i + 3] === 0x6c ? K_NULL : K_ABSENT;
  return K_ABSENT;
}

/**
 * Scan string content from `s` (just after the opening quote). Returns -1 when the
 * string is invalid or holds a surrogate escape; otherwise ((index after the closing
 * quote) << 1) | escaped. Indexes stay below 2^30 (lines are shorter than V8's string
 * limit), so the shift cannot overflow.
 */
function scanString(b: Buffer, s: number, end: number): number {
  let i = s;
  let escaped = 0;
  for (;;) {
    let cls = 0;
    while (i < end && (cls = STRING_CLASS[b[i] as number] as number) === 0) i++;
    if (i >= end || cls === 3) return -1;
    if (cls === 1) return ((i + 1) << 1) | escaped;
    // Backslash escape.
    escaped = 1;
    if (i + 1 >= end) return -1;
    const e = b[i + 1];
    if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
      i += 2;
      continue;
    }
    if (e !== 0x75 || i + 5 >= end) return -1;
    const h0 = HEX[b[i + 2] as number] as number;
    const h1 = HEX[b[i + 3] as number] as number;
    const h2 = HEX[b[i + 4] as number] as number;
    const h3 = HEX[b[i + 5] as number] as number;
    if ((h0 | h1 | h2 | h3) < 0) return -1;
    // \uD800-\uDFFF: the parsed value needs the lone-surrogate check.
    if (h0 === 0xd && h1 >= 8) return -1;
    i += 6;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Scan a JSON number starting at i (i < end); returns the index after it, or -1. */
function scanNumber(b: Buffer, i: number, end: number): number {
  if (b[i] === 0x2d && ++i >= end) return -1;
  const c = b[i] as number;
  if (c === 0x30) {
    i++;
  } else if (c >= 0x31 && c <= 0x39) {
    i++;
    while (i < end && isDigit(b[i] as number)) i++;
  } else {
    return -1;
  }
  if (i < end && b[i] === 0x2e) {
    const s = ++i;
    while (i < end && isDigit(b[i] as number)) i++;
    if (i === s) return -1;
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++;
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
    const s = i;
    while (i < end && isDigit(b[i] as number)) i++;
    if (i === s) return -1;
  }
  return i;
}

// Lines that take every branch of the scanner: containers empty and not, nested messages,
// numbers in every form, literals, escapes, whitespace, duplicate keys, and one of each
// way a line can be unsure.
const WARM_UP_LINES = [
  '{"type":"message","id":"0a1b2c3d","parentId":null,"timestamp":"2026-01-01T00:00:00.000Z","message":{"role":"assistant","content":[{"type":"thinking","thinking":"a\\"b\\\\c\\n\\t\\u00e9 \\/ ü"},{"type":"toolCall","id":"t1","name":"read","arguments":{"path":"a.ts","n":[]}}],"usage":{"input":12,"output":-3,"cacheRead":0,"cost":{"total":1.5e-3,"x":2E+2,"y":0.25}},"stopReason":"toolUse","timestamp":1767225600000},"e":{},"f":[true,false,null],"g":[ 1 , {"h":[[]]} ]}',
  '{"type":"label","id":"1a1b2c3d","parentId":"0a1b2c3d","timestamp":"2026-01-01T00:00:01.000Z","targetId":"0a1b2c3d","label":"x","label":"y"}',
  '{"type":"session_info","id":"2a1b2c3d","parentId":"1a1b2c3d","timestamp":"t","name":"n","message":5}',
  '{"type":"compaction","id":"3a1b2c3d","parentId":"2a1b2c3d","timestamp":"t","summary":"s","firstKeptEntryIndex":3,"firstKeptEntryId":"x","tokensBefore":100000}',
  ' { "type" : "custom" ,\t"id":"4a","data":{ "k" : [ 0 , -0.5 ] } , "message":{"x":{"role":1},"role":"user"} } ',
  '{"type":"x","bad":tru}',
  '{"typ\\u0065":"x"}',
  '{"a":"\\ud83d\\ude00"}',
  "[1]",
].map((line) => Buffer.from(line, "utf8"));

// Enough calls for the engine to allocate the scanner's feedback and record every branch
// (it starts recording after a few calls); more would only spend interpreter time.
const WARM_UP_ROUNDS = 10;
let warmedUp = false;

/**
 * Run the scanner over WARM_UP_LINES a few times, once per process, before its first real
 * line: the optimising compiler then knows every branch. A branch first taken after the
 * scanner was compiled (a negative number, an empty array deep in a file) would throw the
 * compiled code away and cost a recompile in the middle of the file. Well under 1 ms.
 */
export function warmUpScanner(): void {
  if (warmedUp) return;
  warmedUp = true;
  const fields = new LineFields();
  for (let k = 0; k < WARM_UP_ROUNDS; k++) for (const line of WARM_UP_LINES) scanLine(line, fields);
}
