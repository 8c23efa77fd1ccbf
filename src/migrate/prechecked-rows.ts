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

/** A row's numbers at nums[k .. k + FIELDS). */
function putRow(nums: Float64Array, k: number, r: OffsetIndexRow): void {
  nums[k] = r.entrySeq;
  nums[k + 1] = r.segmentSeq;
  nums[k + 2] = r.frameSeq;
  nums[k + 3] = r.byteOffset;
  nums[k + 4] = r.byteLength;
  nums[k + 5] = r.entryId.length;
}

export function packRows(rows: readonly OffsetIndexRow[]): PackedRows {
  const nums = new Float64Array(rows.length * FIELDS);
  const text: string[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as OffsetIndexRow;
    putRow(nums, i * FIELDS, r);
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

/**
 * PackedRows built a row at a time (verify packs the rows it vouches for as it goes): the
 * rows themselves are not kept to the end of the pass, only their fields, in the packed
 * form the validation thread's reply is compared with.
 */
export class RowPacker {
  private nums = new Float64Array(FIELDS * 1024);
  private count = 0;
  private pieces: string[] = [];
  private chunks: string[] = [];

  add(r: OffsetIndexRow): void {
    const k = this.count * FIELDS;
    if (k + FIELDS > this.nums.length) {
      const grown = new Float64Array(this.nums.length * 2);
      grown.set(this.nums);
      this.nums = grown;
    }
    putRow(this.nums, k, r);
    this.count++;
    this.pieces.push(r.entryId, r.crc32c);
    // Joined every few thousand rows, so the pieces die young.
    if (this.pieces.length >= 8192) this.flush();
  }

  packed(): PackedRows {
    this.flush();
    return { nums: this.nums.subarray(0, this.count * FIELDS), text: this.chunks.join("") };
  }

  private flush(): void {
    if (this.pieces.length === 0) return;
    this.chunks.push(this.pieces.join(""));
    this.pieces = [];
  }
}

/** Whether two packings hold the same rows in the same order. */
export function samePacked(a: PackedRows, b: PackedRows): boolean {
  if (a.nums.length !== b.nums.length || a.text !== b.text) return false;
  for (let k = 0; k < a.nums.length; k++) if (a.nums[k] !== b.nums[k]) return false;
  return true;
}

/** The packed rows as rows again, by entrySeq (the last one for an entrySeq packed twice). */
export function rowsByEntrySeq(p: PackedRows): (OffsetIndexRow | undefined)[] {
  const out: (OffsetIndexRow | undefined)[] = [];
  let at = 0;
  for (let k = 0; k + FIELDS <= p.nums.length; k += FIELDS) {
    const idLength = p.nums[k + 5] as number;
    const entryId = p.text.slice(at, at + idLength);
    const crc32c = p.text.slice(at + idLength, at + idLength + CRC_CHARS);
    at += idLength + CRC_CHARS;
    out[p.nums[k] as number] = {
      schema: "pi.session_store_v2.offset_index.v1",
      entrySeq: p.nums[k] as number,
      entryId,
      segmentSeq: p.nums[k + 1] as number,
      frameSeq: p.nums[k + 2] as number,
      byteOffset: p.nums[k + 3] as number,
      byteLength: p.nums[k + 4] as number,
      crc32c,
      state: "active",
    };
  }
  return out;
}
