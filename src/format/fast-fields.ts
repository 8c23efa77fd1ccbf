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
 * then plain string content here. The scan itself is WebAssembly (wasm-scanner.ts, the
 * program in wasm-scanner-program.ts); this module reads its results. Iterative (an
 * explicit container stack), so nesting depth is unbounded, as in V8's JSON.parse.
 */

import {
  F_FIRST_KEPT_ENTRY_INDEX,
  F_ID,
  F_LABEL,
  F_MESSAGE,
  F_MESSAGE_ROLE,
  F_NAME,
  F_PARENT_ID,
  F_TARGET_ID,
  F_TIMESTAMP,
  F_TYPE,
  K_ABSENT,
  K_ARRAY,
  K_BOOLEAN,
  K_NULL,
  K_NUMBER,
  K_OBJECT,
  K_STRING,
  KNOWN_NAMES,
  SLOTS,
} from "./field-slots.js";
import { ESCAPED_BIT, NON_ASCII_BIT, R_END, R_ESCAPED, R_KINDS, R_NAMES, R_START, scanBytes, type ResultsTarget } from "./wasm-scanner.js";

/** Longest stretch of a line prefetch decodes (the fields it serves are a few dozen bytes). */
const JOINT_DECODE_LIMIT = 256;

export * from "./field-slots.js";

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
 * Where each field's value is on the last line scanned, read from the scanner's results
 * (src/format/wasm-scanner.ts; valid until the next scan). A key that occurs more than
 * once takes its last value, as JSON.parse does. For strings, start/end enclose the
 * content between the quotes; `escaped` says whether it holds a backslash escape.
 */
export class LineFields implements FieldView, ResultsTarget {
  bytes: Buffer = Buffer.alloc(0);
  private u8: Uint8Array = new Uint8Array(R_END + SLOTS * 4);
  private i32: Int32Array = new Int32Array(this.u8.buffer);
  /** Offset of the results block in the scanner's memory. */
  private block = 0;
  /** Offset in `bytes` of the line's first byte. */
  private lineStart = 0;

  /** Text of bytes [jointStart, jointStart + length) decoded by prefetch, or undefined. */
  private joint: string | undefined;
  private jointStart = 0;

  point(u8: Uint8Array, i32: Int32Array, block: number, bytes: Buffer, lineStart: number): void {
    this.u8 = u8;
    this.i32 = i32;
    this.block = block;
    this.bytes = bytes;
    this.lineStart = lineStart;
    this.joint = undefined;
  }

  /** Whether a string slot's value is written without escapes and is all ASCII. */
  private plainAscii(slot: number): boolean {
    return ((this.u8[this.block + R_ESCAPED + slot] as number) & (ESCAPED_BIT | NON_ASCII_BIT)) === 0;
  }

  /**
   * Decode the bytes around three string slots with one call, when all three are plain
   * ASCII and close together (a line's id, parentId and timestamp usually are): str()
   * then cuts their values out of that text. Creating a string from bytes is a call into
   * the runtime that costs far more than the few bytes it copies, and open makes three
   * per line; ASCII bytes decode the same as latin1, one byte per character.
   */
  prefetch(a: number, b: number, c: number): void {
    if (!this.plainAscii(a) || !this.plainAscii(b) || !this.plainAscii(c)) return;
    const from = Math.min(this.start(a), this.start(b), this.start(c));
    const to = Math.max(this.end(a), this.end(b), this.end(c));
    if (to - from > JOINT_DECODE_LIMIT) return;
    this.joint = this.bytes.toString("latin1", from, to);
    this.jointStart = from;
  }

  kind(slot: number): number {
    return this.u8[this.block + R_KINDS + slot] as number;
  }

  /** Offset in `bytes` of a field's value (a string's content). */
  start(slot: number): number {
    return this.lineStart + (this.i32[((this.block + R_START) >> 2) + slot] as number);
  }

  end(slot: number): number {
    return this.lineStart + (this.i32[((this.block + R_END) >> 2) + slot] as number);
  }

  str(slot: number): string {
    const s = this.start(slot);
    const e = this.end(slot);
    // With escapes, let JSON.parse decode the quoted text: exactly its rules, rarely run.
    if (((this.u8[this.block + R_ESCAPED + slot] as number) & ESCAPED_BIT) !== 0) return JSON.parse(this.bytes.toString("utf8", s - 1, e + 1)) as string;
    // Types and roles come from a small set: share one string instead of one per line.
    if (slot === F_TYPE || slot === F_MESSAGE_ROLE) {
      const known = this.knownName(slot);
      if (known !== undefined) return known;
    }
    const joint = this.joint;
    if (joint !== undefined && s >= this.jointStart && e <= this.jointStart + joint.length && this.plainAscii(slot)) {
      return joint.slice(s - this.jointStart, e - this.jointStart);
    }
    // No encoding argument: toString then goes straight to UTF-8, skipping the lookup of
    // the encoding's name.
    return this.bytes.toString(undefined, s, e);
  }

  /** For the F_TYPE and F_MESSAGE_ROLE slots: the value, if a string of KNOWN_NAMES written without escapes. */
  knownName(slot: number): string | undefined {
    if (this.kind(slot) !== K_STRING) return undefined;
    const known = this.u8[this.block + R_NAMES + (slot === F_TYPE ? 0 : 1)] as number;
    return known > 0 ? KNOWN_NAMES[known - 1] : undefined;
  }

  num(slot: number): number {
    // JSON number syntax is a subset of Number()'s, with the same value.
    return Number(this.bytes.toString("latin1", this.start(slot), this.end(slot)));
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

/**
 * Scan `b` (one line, without its terminator). Returns SCAN_CERTAIN when the line is a
 * well-formed JSON object and `out` holds its fields (until the next scan); SCAN_UNSURE
 * when the caller must parse the line itself.
 */
export function scanLine(b: Buffer, out: LineFields): number {
  return scanBytes(b, out);
}
