import { Cursor } from "./byte-cursor.js";
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
