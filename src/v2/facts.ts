import { SessfmtError } from "../format/errors.js";
import { decodeFrameHead } from "./frame.js";
import { chainStep, GENESIS_CHAIN_HASH } from "./hash.js";
import type { OffsetIndexRow } from "./index-row.js";
import { segmentRelPath } from "./layout.js";
import { listSegmentFiles, readCheckpoints } from "./artifacts.js";
import { SegmentReader } from "./segment-reader.js";
import { INVARIANT_KEYS, type Manifest, type ManifestCounters, type ManifestInvariants, type StoreHead } from "./manifest.js";
import type { EntryTable } from "./entry-table.js";
import type { ReadStats } from "./read-stats.js";

/**
 * The facts a manifest records, established by reading the index, the frames' fixed
 * fields (not their payloads), the segment sizes and the checkpoints. Every invariant is
 * the result of a check made here.
 */

/** The fixed fields of one frame, as far as the store's facts need them. */
export interface FrameHeadFacts {
  entrySeq: number;
  entryId: string;
  segmentSeq: number;
  frameSeq: number;
  parentEntryId?: string;
  entryType: string;
  payloadSha256: string;
}

export interface StoreFacts {
  counters: ManifestCounters;
  segmentCount: number;
  head: StoreHead;
  /** Chain over the frames' payloadSha256 values in entrySeq order. */
  chainHash: string;
  lastCrc32c: string;
  invariants: ManifestInvariants;
}

const HEAD_PROBE = 512;

/** Read the fixed fields of each row's frame (only the bytes before the payload). */
export function readFrameHeads(root: string, rows: readonly OffsetIndexRow[], stats?: ReadStats): (FrameHeadFacts | undefined)[] {
  // Small frames: read the segments through (1 MiB at a time). Large ones: read each
  // frame's first bytes only, skipping the payloads.
  const total = rows.reduce((n, r) => n + r.byteLength, 0);
  const small = rows.length === 0 || total / rows.length <= 8 * HEAD_PROBE;
  const reader = new SegmentReader(root, { window: small ? 1 << 20 : 0, stats });
  try {
    return rows.map((row) => {
      let bytes: Buffer;
      try {
        bytes = small ? reader.readSync(row) : reader.readSync(row, HEAD_PROBE);
      } catch (err) {
        if (err instanceof SessfmtError) return undefined;
        throw err;
      }
      let d = decodeFrameHead(bytes);
      if (!d.ok && "needMore" in d && bytes.length < row.byteLength) {
        try {
          d = decodeFrameHead(reader.readSync(row));
        } catch (err) {
          if (err instanceof SessfmtError) return undefined;
          throw err;
        }
      }
      if (!d.ok) return undefined;
      const h = d.value;
      const out: FrameHeadFacts = { entrySeq: h.entrySeq, entryId: h.entryId, segmentSeq: h.segmentSeq, frameSeq: h.frameSeq, entryType: h.entryType, payloadSha256: h.payloadSha256 };
      if (h.parentEntryId !== undefined) out.parentEntryId = h.parentEntryId;
      return out;
    });
  } finally {
    reader.closeSync();
  }
}

/** Strictly increasing, contiguous entrySeq from 1. */
export function entrySeqMonotonic(rows: readonly OffsetIndexRow[]): boolean {
  return rows.every((r, i) => r.entrySeq === i + 1);
}

export function segmentSeqMonotonic(rows: readonly OffsetIndexRow[], from = 1): boolean {
  let prev = from;
  for (const r of rows) {
    if (r.segmentSeq < prev) return false;
    prev = r.segmentSeq;
  }
  return true;
}

/** Branches: parents with more than one child. */
export function countBranches(heads: readonly (Pick<FrameHeadFacts, "parentEntryId"> | undefined)[]): number {
  const kids = new Map<string, number>();
  for (const h of heads) if (h?.parentEntryId !== undefined) kids.set(h.parentEntryId, (kids.get(h.parentEntryId) ?? 0) + 1);
  let n = 0;
  for (const c of kids.values()) if (c > 1) n++;
  return n;
}

/**
 * Rows gapless in their segments (frame numbers from 1, each frame where the last ended),
 * inside their segment files (`sizes`), and agreeing with their frames' fixed fields;
 * each segment's indexed end is recorded in `ends`. `after`: the row before these, whose
 * segment they may continue.
 */
function rowsInBounds(
  rows: readonly OffsetIndexRow[],
  heads: readonly (FrameHeadFacts | undefined)[],
  sizes: ReadonlyMap<number, number>,
  ends: Map<number, number>,
  after: OffsetIndexRow | undefined,
): boolean {
  let ok = true;
  let curSeg = after?.segmentSeq ?? -1;
  let expectFrame = after ? after.frameSeq + 1 : 1;
  let expectOffset = after ? after.byteOffset + after.byteLength : 0;
  rows.forEach((r, i) => {
    if (r.segmentSeq !== curSeg) {
      curSeg = r.segmentSeq;
      expectFrame = 1;
      expectOffset = 0;
    }
    const size = sizes.get(r.segmentSeq);
    const end = r.byteOffset + r.byteLength;
    if (size === undefined || end > size || r.frameSeq !== expectFrame || r.byteOffset !== expectOffset) ok = false;
    const h = heads[i];
    if (!h || h.entrySeq !== r.entrySeq || h.entryId !== r.entryId || h.segmentSeq !== r.segmentSeq || h.frameSeq !== r.frameSeq) ok = false;
    ends.set(r.segmentSeq, Math.max(ends.get(r.segmentSeq) ?? 0, end));
    expectFrame = r.frameSeq + 1;
    expectOffset = end;
  });
  return ok;
}

/** Every segment byte belongs to an indexed frame, and every indexed segment exists. */
function segmentsIndexed(segments: readonly { segmentSeq: number; size: number }[], ends: ReadonlyMap<number, number>): boolean {
  const seqs = new Set(segments.map((s) => s.segmentSeq));
  return segments.every((s) => s.size === (ends.get(s.segmentSeq) ?? 0)) && [...ends.keys()].every((k) => seqs.has(k));
}

/** The chain continued from `start` over the frames' payload hashes; incomplete at the first frame that could not be read. */
function chainOver(start: string, heads: readonly (FrameHeadFacts | undefined)[]): { chain: string; complete: boolean } {
  let chain = start;
  for (const h of heads) {
    if (!h) return { chain, complete: false };
    chain = chainStep(chain, h.payloadSha256);
  }
  return { chain, complete: true };
}

export interface CollectOptions {
  /** Frame heads already read for these rows (read from disk when absent). */
  heads?: (FrameHeadFacts | undefined)[];
  /**
   * The chain the writer computed while writing (or the fingerprint recorded); the chain
   * recomputed from the frames must equal it for hashChainValid.
   */
  expectedChain: string;
  stats?: ReadStats;
}

/** Gather a store's facts and check its invariants. */
export async function collectStoreFacts(root: string, rows: readonly OffsetIndexRow[], opts: CollectOptions): Promise<StoreFacts> {
  const heads = opts.heads ?? readFrameHeads(root, rows, opts.stats);
  const segments = await listSegmentFiles(root);
  const sizes = new Map(segments.map((s) => [s.segmentSeq, s.size]));

  // Rows inside their segments, gapless, and agreeing with their frames.
  const indexedEnd = new Map<number, number>();
  const withinBounds = rowsInBounds(rows, heads, sizes, indexedEnd, undefined);
  const branchHeadsIndexed = segmentsIndexed(segments, indexedEnd);

  const ids = new Set(rows.map((r) => r.entryId));
  const parentLinksClosed = heads.every((h) => h !== undefined && (h.parentEntryId === undefined || ids.has(h.parentEntryId)));

  const { chain, complete: chainComplete } = chainOver(GENESIS_CHAIN_HASH, heads);
  const cps = await readCheckpoints(root);

  const last = rows[rows.length - 1];
  const head: StoreHead = last ? { segmentSeq: last.segmentSeq, entrySeq: last.entrySeq, entryId: last.entryId } : { segmentSeq: 0, entrySeq: 0, entryId: "" };
  return {
    counters: {
      entriesTotal: rows.length,
      messagesTotal: heads.filter((h) => h?.entryType === "message").length,
      branchesTotal: countBranches(heads),
      compactionsTotal: heads.filter((h) => h?.entryType === "compaction").length,
      bytesTotal: rows.reduce((n, r) => n + r.byteLength, 0),
    },
    segmentCount: new Set(rows.map((r) => r.segmentSeq)).size,
    head,
    chainHash: chain,
    lastCrc32c: last ? last.crc32c : "00000000",
    invariants: {
      parentLinksClosed,
      monotonicEntrySeq: entrySeqMonotonic(rows),
      monotonicSegmentSeq: segmentSeqMonotonic(rows),
      indexWithinSegmentBounds: withinBounds,
      branchHeadsIndexed,
      checkpointsMonotonic: cps.problems.length === 0,
      hashChainValid: chainComplete && chain === opts.expectedChain,
    },
  };
}

/** What extendStoreFacts starts from: the store as the last manifest described it, and what was appended. */
export interface ExtendInput {
  /** The manifest before the append. */
  prev: Manifest;
  /** The rows before the append, and the table that describes exactly them. */
  oldRows: readonly OffsetIndexRow[];
  table: EntryTable;
  /** The chain after the old rows, as the fingerprint recorded it (the writer continued it). */
  oldChain: string;
  newRows: readonly OffsetIndexRow[];
  /** The chain the writer computed after the new rows. */
  expectedChain: string;
  stats?: ReadStats;
}

/**
 * The store's facts after an append, from the previous manifest's facts and the appended
 * frames: only the new frames' fixed fields are read (and checked as collectStoreFacts
 * checks every frame's), the segment sizes and checkpoints are looked at again, and the
 * old entries' parents come from the entry table. Undefined — collect them all again —
 * unless the previous manifest describes exactly the old rows (count, head, last CRC,
 * bytes, segments, chain) with every invariant holding but parentLinksClosed (the table
 * says which parents are missing), and the table's ids are unique.
 * The old frames are not read again: the manifest records what was checked when each
 * frame was written; `validate` reads them all.
 */
export async function extendStoreFacts(root: string, x: ExtendInput): Promise<StoreFacts | undefined> {
  const { prev, oldRows, table, newRows } = x;
  const last = oldRows[oldRows.length - 1];
  // A missing parent (parentLinksClosed false) is carried too: the table says which ids are missing.
  const carried =
    INVARIANT_KEYS.every((k) => k === "parentLinksClosed" || prev.invariants[k]) &&
    table.uniqueIds &&
    table.count === oldRows.length &&
    prev.counters.entriesTotal === oldRows.length &&
    prev.counters.bytesTotal === table.totalFrameBytes() &&
    prev.files.segmentCount === table.segmentEnds().size &&
    prev.integrity.chainHash === x.oldChain &&
    prev.integrity.lastCrc32c === (last ? last.crc32c : "00000000") &&
    prev.head.entrySeq === (last?.entrySeq ?? 0) &&
    prev.head.entryId === (last?.entryId ?? "") &&
    prev.head.segmentSeq === (last?.segmentSeq ?? 0);
  if (!carried) return undefined;
  const heads = readFrameHeads(root, newRows, x.stats);
  // A frame that does not read breaks invariants a full count reports: leave it to that.
  if (heads.some((h) => !h)) return undefined;
  const segments = await listSegmentFiles(root);
  const sizes = new Map(segments.map((s) => [s.segmentSeq, s.size]));

  // The new rows continue the old ones: gapless in their segments, inside them, agreeing with their frames.
  const ends = new Map(table.segmentEnds());
  const withinBounds = rowsInBounds(newRows, heads, sizes, ends, last);
  const monotonicEntrySeq = newRows.every((r, j) => r.entrySeq === oldRows.length + j + 1);
  const monotonicSegmentSeq = segmentSeqMonotonic(newRows, last?.segmentSeq ?? 1);
  const bytes = newRows.reduce((n, r) => n + r.byteLength, prev.counters.bytesTotal);
  const branchHeadsIndexed = segmentsIndexed(segments, ends);
  // A segment that lost or gained bytes may hold old frames that no longer read: count them all.
  if (!branchHeadsIndexed) return undefined;

  // Parents: a new entry's among the new ids, else the old ones.
  const newIds = new Set(newRows.map((r) => r.entryId));
  const lookups = new Set<string>(newIds);
  for (const h of heads) if (h?.parentEntryId !== undefined && !newIds.has(h.parentEntryId)) lookups.add(h.parentEntryId);
  const oldSeqOf = table.lastSeqsOf(lookups);
  // A new id equal to an old one: counting children by id would merge two entries; count them all again.
  if (!oldSeqOf || [...newIds].some((id) => (oldSeqOf.get(id) as number) > 0) || newIds.size !== newRows.length) return undefined;
  // The parent ids the old entries name but no entry has, and how many name each.
  const missing = table.missingParents();
  if (prev.invariants.parentLinksClosed !== (missing.size === 0)) return undefined;
  let parentLinksClosed = [...missing.keys()].every((p) => newIds.has(p));
  const oldParentSeqs = new Set<number>();
  for (const h of heads) {
    const p = h?.parentEntryId;
    if (p === undefined || newIds.has(p)) continue;
    const seq = oldSeqOf.get(p) as number;
    if (seq === 0) parentLinksClosed = false;
    else oldParentSeqs.add(seq);
  }
  // Children an old parent already had: its children by parentSeq, and itself when it names itself (parentSeq 0).
  const oldKids = table.childCounts(oldParentSeqs);
  const kids = new Map<string, number>();
  let branches = prev.counters.branchesTotal;
  for (const h of heads) {
    const p = h?.parentEntryId;
    if (p === undefined) continue;
    let had = kids.get(p);
    if (had === undefined) {
      // An id no old entry has (a new one, or still missing) has the old entries that named it as children.
      const seq = newIds.has(p) ? 0 : (oldSeqOf.get(p) as number);
      had = seq > 0 ? (oldKids.get(seq) as number) + (table.parentId(seq - 1) === p ? 1 : 0) : (missing.get(p) ?? 0);
    }
    if (had + 1 === 2) branches++;
    kids.set(p, had + 1);
  }

  const { chain, complete: chainComplete } = chainOver(x.oldChain, heads);
  const cps = await readCheckpoints(root);
  const tail = newRows[newRows.length - 1] ?? last;
  return {
    counters: {
      entriesTotal: oldRows.length + newRows.length,
      messagesTotal: prev.counters.messagesTotal + heads.filter((h) => h?.entryType === "message").length,
      branchesTotal: branches,
      compactionsTotal: prev.counters.compactionsTotal + heads.filter((h) => h?.entryType === "compaction").length,
      bytesTotal: bytes,
    },
    segmentCount: ends.size,
    head: tail ? { segmentSeq: tail.segmentSeq, entrySeq: tail.entrySeq, entryId: tail.entryId } : { segmentSeq: 0, entrySeq: 0, entryId: "" },
    chainHash: chain,
    lastCrc32c: tail ? tail.crc32c : "00000000",
    invariants: {
      parentLinksClosed,
      monotonicEntrySeq,
      monotonicSegmentSeq,
      indexWithinSegmentBounds: withinBounds,
      branchHeadsIndexed,
      checkpointsMonotonic: cps.problems.length === 0,
      hashChainValid: chainComplete && chain === x.expectedChain,
    },
  };
}

/** Where a row's segment is, for messages. */
export function rowWhere(r: OffsetIndexRow): { file: string; offset: number; entrySeq: number; entryId: string } {
  return { file: segmentRelPath(r.segmentSeq), offset: r.byteOffset, entrySeq: r.entrySeq, entryId: r.entryId };
}
