import type { SegmentFrameHead } from "./frame.js";

/**
 * Fast path of decodeFrameHead: the head exactly as the writer encodes it (keys in the
 * Rust port's order, no white space, numbers of at most 15 digits without a leading zero,
 * strings of printable ASCII without escapes, a 64-digit lowercase hex hash) is read in
 * one pass over its bytes, with no string built for the whole head and no JSON.parse.
 * Anything else, including every head decodeFrameHead would refuse, returns undefined and
 * goes to JSON.parse and the field checks, which decide and word the problem. So the
 * fast path only ever accepts heads the slow path accepts, with the same values.
 */

const SCHEMA_OPEN = Buffer.from('{"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":', "latin1");
const K_FRAME_SEQ = Buffer.from(',"frameSeq":', "latin1");
const K_ENTRY_SEQ = Buffer.from(',"entrySeq":', "latin1");
const K_ENTRY_ID = Buffer.from(',"entryId":', "latin1");
const K_PARENT = Buffer.from(',"parentEntryId":', "latin1");
const K_TYPE = Buffer.from(',"entryType":', "latin1");
const K_TIMESTAMP = Buffer.from(',"timestamp":', "latin1");
const K_SHA = Buffer.from(',"payloadSha256":', "latin1");
const K_BYTES = Buffer.from(',"payloadBytes":', "latin1");

/** The head being read and where the reading is (-1 once something did not match). */
class Cursor {
  pos = 0;
  constructor(
    readonly b: Buffer,
    readonly end: number,
  ) {}

  /** Consume `lit` exactly. */
  lit(lit: Buffer): boolean {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + lit.length > this.end) return this.fail();
    for (let k = 0; k < lit.length; k++) if (b[p + k] !== lit[k]) return this.fail();
    this.pos = p + lit.length;
    return true;
  }

  /** Whether the next bytes are `lit` (nothing consumed). */
  peek(lit: Buffer): boolean {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + lit.length > this.end) return false;
    for (let k = 0; k < lit.length; k++) if (b[p + k] !== lit[k]) return false;
    return true;
  }

  /** An integer of 1-15 digits without a leading zero (or "0" when `zero`); -1 otherwise. */
  int(zero: boolean): number {
    const b = this.b;
    let p = this.pos;
    if (p < 0 || p >= this.end) return this.failNum();
    const first = b[p] as number;
    if (first === 0x30) {
      if (!zero) return this.failNum();
      this.pos = p + 1;
      const next = b[p + 1];
      return next !== undefined && next >= 0x30 && next <= 0x39 ? this.failNum() : 0;
    }
    let v = 0;
    const start = p;
    while (p < this.end) {
      const c = b[p] as number;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      p++;
    }
    if (p === start || p - start > 15) return this.failNum();
    this.pos = p;
    return v;
  }

  /** A non-empty (unless `empty`) string of printable ASCII, no quote or backslash. */
  str(empty: boolean): string | undefined {
    const b = this.b;
    let p = this.pos;
    if (p < 0 || b[p] !== 0x22) return this.failStr();
    const start = ++p;
    while (p < this.end) {
      const c = b[p] as number;
      if (c === 0x22) break;
      if (c < 0x20 || c > 0x7e || c === 0x5c) return this.failStr();
      p++;
    }
    if (p >= this.end || (p === start && !empty)) return this.failStr();
    this.pos = p + 1;
    return b.toString("latin1", start, p);
  }

  /** A string of exactly 64 lowercase hex digits. */
  sha(): string | undefined {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + 66 > this.end || b[p] !== 0x22 || b[p + 65] !== 0x22) return this.failStr();
    for (let k = p + 1; k <= p + 64; k++) {
      const c = b[k] as number;
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return this.failStr();
    }
    this.pos = p + 66;
    return b.toString("latin1", p + 1, p + 65);
  }

  private fail(): false {
    this.pos = -1;
    return false;
  }

  private failNum(): number {
    this.pos = -1;
    return -1;
  }

  private failStr(): undefined {
    this.pos = -1;
    return undefined;
  }
}

/** The head in [0, end) (end: where `,"payload":` starts), or undefined to take the slow path. */
export function fastFrameHead(b: Buffer, end: number): SegmentFrameHead | undefined {
  const c = new Cursor(b, end);
  c.lit(SCHEMA_OPEN);
  const segmentSeq = c.int(false);
  c.lit(K_FRAME_SEQ);
  const frameSeq = c.int(false);
  c.lit(K_ENTRY_SEQ);
  const entrySeq = c.int(false);
  c.lit(K_ENTRY_ID);
  const entryId = c.str(false);
  let parentEntryId: string | undefined;
  if (c.peek(K_PARENT)) {
    c.lit(K_PARENT);
    parentEntryId = c.str(false);
    if (parentEntryId === undefined) return undefined;
  }
  c.lit(K_TYPE);
  const entryType = c.str(false);
  c.lit(K_TIMESTAMP);
  const timestamp = c.str(true);
  c.lit(K_SHA);
  const payloadSha256 = c.sha();
  c.lit(K_BYTES);
  const payloadBytes = c.int(true);
  if (c.pos !== end || entryId === undefined || entryType === undefined || timestamp === undefined || payloadSha256 === undefined) return undefined;
  const head: SegmentFrameHead = { schema: "pi.session_store_v2.segment_frame.v1", segmentSeq, frameSeq, entrySeq, entryId, entryType, timestamp, payloadSha256, payloadBytes };
  if (parentEntryId !== undefined) head.parentEntryId = parentEntryId;
  return head;
}
