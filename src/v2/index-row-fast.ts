import { Cursor } from "./byte-cursor.js";
import { wasmIndexRow } from "./fixed-fields.js";
import type { OffsetIndexRow } from "./index-row.js";

/**
 * Fast path of decodeIndexRow: an index row exactly as encodeIndexRow writes it (keys in
 * the canonical order, no white space, integers of at most 15 digits without a leading
 * zero, an entry id of printable ASCII without escapes, 8 uppercase hex digits, state
 * "active") is read in one pass over its bytes, with no string built for the whole row
 * and no JSON.parse. Anything else returns undefined and goes to JSON.parse and the field
 * checks, which decide and word the problem. So the fast path only ever accepts rows the
 * slow path accepts, with the same values (test/v2/index-row-fast.test.ts).
 *
 * The reading is done by WebAssembly (fixed-fields-program.ts: the same grammar, the
 * numbers parsed there; JavaScript makes the id and CRC strings and the row); where
 * WebAssembly is unavailable, by the byte cursor below, with the same results.
 */

const SCHEMA_OPEN = Buffer.from('{"schema":"pi.session_store_v2.offset_index.v1","entrySeq":', "latin1");
const K_ENTRY_ID = Buffer.from(',"entryId":', "latin1");
const K_SEGMENT_SEQ = Buffer.from(',"segmentSeq":', "latin1");
const K_FRAME_SEQ = Buffer.from(',"frameSeq":', "latin1");
const K_BYTE_OFFSET = Buffer.from(',"byteOffset":', "latin1");
const K_BYTE_LENGTH = Buffer.from(',"byteLength":', "latin1");
const K_CRC = Buffer.from(',"crc32c":', "latin1");
const STATE_CLOSE = Buffer.from(',"state":"active"}', "latin1");

/** The row in b[0, end), or undefined to take the slow path. */
export function fastIndexRow(b: Buffer, end: number = b.length): OffsetIndexRow | undefined {
  const r = wasmIndexRow(b, end);
  return r === null ? cursorIndexRow(b, end) : r;
}

/** fastIndexRow with the byte cursor (what runs where WebAssembly is unavailable; tests compare the two). */
export function cursorIndexRow(b: Buffer, end: number = b.length): OffsetIndexRow | undefined {
  const c = new Cursor(b, end);
  c.lit(SCHEMA_OPEN);
  const entrySeq = c.int(false);
  c.lit(K_ENTRY_ID);
  const entryId = c.str(false);
  c.lit(K_SEGMENT_SEQ);
  const segmentSeq = c.int(false);
  c.lit(K_FRAME_SEQ);
  const frameSeq = c.int(false);
  c.lit(K_BYTE_OFFSET);
  const byteOffset = c.int(true);
  c.lit(K_BYTE_LENGTH);
  const byteLength = c.int(false);
  c.lit(K_CRC);
  const crc32c = c.crc();
  c.lit(STATE_CLOSE);
  if (c.pos !== end || entryId === undefined || crc32c === undefined) return undefined;
  return { schema: "pi.session_store_v2.offset_index.v1", entrySeq, entryId, segmentSeq, frameSeq, byteOffset, byteLength, crc32c, state: "active" };
}
