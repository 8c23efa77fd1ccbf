import type { OffsetIndexRow } from "../v2/index-row.js";

/**
 * The rows a validation thread took as prechecked (their frame CRC and payload hash left
 * to the caller), packed for the one message that carries them back: six numbers a row in
 * one array whose buffer is transferred, not copied, and the rows' entry ids and CRCs in
 * one string. As an array of row objects, the structured clone of 26,699 rows cost the
 * thread ~14 ms to send and the caller about as much to receive, after its own pass, when
 * it has nothing left to do but wait for that message.
 */
export interface PackedRows {
  /** Per row: entrySeq, segmentSeq, frameSeq, byteOffset, byteLength, entryId's length. */
  nums: Float64Array;
  /** Per row, its entryId then its crc32c (8 characters: decodeIndexRow accepts no other). */
  text: string;
}

const FIELDS = 6;
const CRC_CHARS = 8;

export function packRows(rows: readonly OffsetIndexRow[]): PackedRows {
  const nums = new Float64Array(rows.length * FIELDS);
  const text: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as OffsetIndexRow;
    const k = i * FIELDS;
    nums[k] = r.entrySeq;
    nums[k + 1] = r.segmentSeq;
    nums[k + 2] = r.frameSeq;
    nums[k + 3] = r.byteOffset;
    nums[k + 4] = r.byteLength;
    nums[k + 5] = r.entryId.length;
    text.push(r.entryId, r.crc32c);
  }
  return { nums, text: text.join("") };
}

/** How many rows `p` holds. */
export function packedCount(p: PackedRows): number {
  return p.nums.length / FIELDS;
}

/**
 * Whether every packed row is, field for field, the row `byEntrySeq` holds at its
 * entrySeq (false for a row it does not hold, and for a packing that does not add up).
 */
export function everyPackedRowIs(p: PackedRows, byEntrySeq: readonly (OffsetIndexRow | undefined)[]): boolean {
  const { nums, text } = p;
  if (nums.length % FIELDS !== 0) return false;
  let at = 0;
  for (let k = 0; k < nums.length; k += FIELDS) {
    const r = byEntrySeq[nums[k] as number];
    const idLength = nums[k + 5] as number;
    if (
      r === undefined ||
      r.entrySeq !== nums[k] ||
      r.segmentSeq !== nums[k + 1] ||
      r.frameSeq !== nums[k + 2] ||
      r.byteOffset !== nums[k + 3] ||
      r.byteLength !== nums[k + 4] ||
      r.entryId.length !== idLength ||
      r.crc32c.length !== CRC_CHARS ||
      !text.startsWith(r.entryId, at) ||
      !text.startsWith(r.crc32c, at + idLength)
    ) {
      return false;
    }
    at += idLength + CRC_CHARS;
  }
  return at === text.length;
}
