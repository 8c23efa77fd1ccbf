import { SessfmtError } from "../format/errors.js";
import { SessionTree } from "../format/tree.js";
import { KNOWN_ENTRY_TYPES } from "../format/types.js";
import { listSegmentFiles, readCheckpoints, readLedger, readManifestFile } from "./artifacts.js";
import { countBranches, type FrameHeadFacts } from "./facts.js";
import { checkIndexedFrameFields, FULL_CHECKS, segmentFile, recordFromFields, type FrameChecks, type SidecarRecord } from "./frame-check.js";
import type { OffsetIndexRow } from "./index-row.js";
import { chainStep, GENESIS_CHAIN_HASH } from "./hash.js";
import { readIndexFile } from "./index-file.js";
import { entryTableProblems } from "./entry-table-io.js";
import { checkpointRelPath, INDEX_FILE, MANIFEST_FILE, segmentRelPath, SOURCE_FILE } from "./layout.js";
import { isUuid } from "./ledger.js";
import type { ManifestInvariants } from "./manifest.js";
import { readFingerprint } from "./fingerprint.js";
import { hasErrors, problem, type SidecarProblem, type SidecarProblemCode } from "./problems.js";
import { DEFAULT_MAX_FRAME_BYTES, SegmentReader } from "./segment-reader.js";
import { requireRoot, resolveTarget } from "./target.js";
import type { ReadStats } from "./read-stats.js";

/** Entry types the Rust port's frame reader accepts (custom_message and unknown types are not among them). */
export const RUST_ENTRY_TYPES: ReadonlySet<string> = new Set(["message", "model_change", "thinking_level_change", "compaction", "branch_summary", "label", "session_info", "custom"]);
const RUST_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface ValidateOptions {
  maxFrameBytes?: number;
  stats?: ReadStats;
  signal?: AbortSignal;
  /** Rows checked so far, of the rows in the index. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Rows whose frame the caller has itself read and checked in full (CRC-32C against this
   * very row, payload bytes and SHA-256): their CRC and payload hash are not computed a
   * second time. Every other check still runs on them. (verify, which compares every frame
   * with the JSONL line it holds, vouches for the frames that matched.)
   */
  prechecked?: (row: OffsetIndexRow) => boolean;
}

const VOUCHED_CHECKS: FrameChecks = { crc: false, payloadHash: false };

/** What validation keeps of a frame head to the end of its pass. */
type HeadKept = Pick<FrameHeadFacts, "entryType" | "parentEntryId">;

export interface ValidationReport {
  /** No problem of severity "error". */
  ok: boolean;
  root: string;
  /** Index rows that decode. */
  entries: number;
  /** Segment files. */
  segments: number;
  /** Sum of the rows' byteLength. */
  bytes: number;
  /** The chain recomputed from the payloads (undefined when a frame could not be read). */
  chainHash: string | undefined;
  messagesTotal: number;
  compactionsTotal: number;
  branchesTotal: number;
  errors: number;
  warnings: number;
  /** Every problem found, in the order found. */
  problems: SidecarProblem[];
  /** The seven manifest invariants as this validation found them. */
  invariants: ManifestInvariants;
}

/**
 * Check everything: every row inside its segment, every frame's CRC-32C, frame/row
 * agreement, payload size and SHA-256, entrySeq strictly increasing and gapless, parent
 * links, the chain against manifest, fingerprint and checkpoints, segment coverage, and
 * the manifest, checkpoint and ledger files. Reports every problem; changes nothing.
 */
export async function validateSidecar(fileOrRoot: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const target = await resolveTarget(fileOrRoot);
  const root = target.root;
  await requireRoot(target);
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const problems: SidecarProblem[] = [];
  const add = (p: SidecarProblem) => problems.push(p);

  const idx = await readIndexFile(root, { stats: opts.stats, signal: opts.signal });
  if (!idx.exists) add(problem("index_missing", "index/offsets.jsonl does not exist; rebuild the index from the segments", { file: INDEX_FILE }));
  problems.push(...idx.problems);
  const rows = idx.rows;
  const segments = await listSegmentFiles(root);
  const sizes = new Map(segments.map((s) => [s.segmentSeq, s.size]));

  // Rows come in file order: a 4 MiB window serves many frames per read, the next window
  // is read meanwhile, and the frames are views into reused buffers (nothing here keeps
  // them past the row).
  const reader = new SegmentReader(root, { stats: opts.stats, maxFrameBytes, window: 4 << 20, views: true, sequentialViews: true });
  const prechecked = opts.prechecked;
  const records: SidecarRecord[] = [];
  // Per row what the counters and the parent-link invariant need of its frame head (its
  // type and parent), or undefined when the frame could not be read.
  const heads: (HeadKept | undefined)[] = [];
  // The chain is kept only where a checkpoint records it (read first for that): a 64-digit
  // string per entry kept to the end was garbage the collector copied twice.
  const cps = await readCheckpoints(root);
  const chainWanted = new Set(cps.checkpoints.map((c) => c.headEntrySeq));
  const chains = new Map<number, string | undefined>();
  const indexedEnd = new Map<number, number>();
  const reportedMissing = new Set<number>();
  let chain: string | undefined = GENESIS_CHAIN_HASH;
  let prevSeq = 0;
  let prevSegment = 0;
  let curSegment = -1;
  let expectFrame = 1;
  let expectOffset = 0;
  try {
    for (let i = 0; i < rows.length; i++) {
      if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "validation aborted", { file: root, cause: opts.signal.reason });
      const row = rows[i] as (typeof rows)[number];
      // Where a problem is: built only when there is one (most rows have none).
      const where = () => ({ file: segmentFile(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq, entryId: row.entryId });
      const rowWhere = () => ({ file: INDEX_FILE, line: idx.lines[i], offset: idx.offsets[i], entrySeq: row.entrySeq, entryId: row.entryId });
      if (row.entrySeq <= prevSeq) add(problem("entry_seq_order", `entrySeq ${row.entrySeq} follows ${prevSeq}; entrySeq must strictly increase`, rowWhere()));
      else if (row.entrySeq !== i + 1) add(problem("entry_seq_gap", `row ${i + 1} has entrySeq ${row.entrySeq}; entrySeq must count 1, 2, 3, ...`, rowWhere()));
      prevSeq = row.entrySeq;
      if (row.segmentSeq < prevSegment) add(problem("segment_seq_order", `segmentSeq ${row.segmentSeq} follows ${prevSegment}; segments must not go back`, rowWhere()));
      prevSegment = Math.max(prevSegment, row.segmentSeq);
      if (row.segmentSeq !== curSegment) {
        curSegment = row.segmentSeq;
        expectFrame = 1;
        expectOffset = 0;
      }
      if (row.frameSeq !== expectFrame) add(problem("frame_seq_order", `frameSeq ${row.frameSeq} where ${expectFrame} was expected in segment ${row.segmentSeq}`, rowWhere()));
      if (row.byteOffset !== expectOffset) add(problem("row_offset_gap", `frame starts at byte ${row.byteOffset}; the previous frame in the segment ends at ${expectOffset}`, rowWhere()));
      expectFrame = row.frameSeq + 1;
      expectOffset = row.byteOffset + row.byteLength;

      let ok = true;
      const size = sizes.get(row.segmentSeq);
      if (size === undefined) {
        if (!reportedMissing.has(row.segmentSeq)) add(problem("segment_missing", `segment ${row.segmentSeq} does not exist`, where()));
        reportedMissing.add(row.segmentSeq);
        ok = false;
      } else if (row.byteOffset + row.byteLength > size) {
        add(problem("row_out_of_bounds", `row ends at byte ${row.byteOffset + row.byteLength} but the segment has ${size} bytes`, where()));
        ok = false;
      } else if (row.byteLength > maxFrameBytes) {
        add(problem("frame_too_large", `frame of ${row.byteLength} bytes exceeds the ${maxFrameBytes}-byte limit`, where()));
        ok = false;
      }
      let head: HeadKept | undefined;
      let payloadSha256 = "";
      if (ok) {
        indexedEnd.set(row.segmentSeq, Math.max(indexedEnd.get(row.segmentSeq) ?? 0, row.byteOffset + row.byteLength));
        const checked = checkIndexedFrameFields(await reader.read(row), row, prechecked?.(row) ? VOUCHED_CHECKS : FULL_CHECKS);
        if (checked.problems.length > 0) problems.push(...checked.problems);
        const f = checked.frame;
        if (f) {
          if (opts.stats) opts.stats.framesParsed++;
          head = { entryType: f.entryType, parentEntryId: f.parentEntryId };
          payloadSha256 = checked.actualPayloadSha256 ?? f.payloadSha256;
          const rec = recordFromFields(f, f.isObject ? f.fields : undefined, row);
          if (rec.problems.length > 0) problems.push(...rec.problems);
          if (rec.record) records.push(rec.record);
          if (!RUST_ID.test(f.entryId)) add(problem("rust_entry_id", `entry id ${JSON.stringify(f.entryId)} is outside [A-Za-z0-9_-]{1,128}; the Rust port refuses it`, where()));
          if (f.parentEntryId !== undefined && !RUST_ID.test(f.parentEntryId)) add(problem("rust_entry_id", `parent id ${JSON.stringify(f.parentEntryId)} is outside [A-Za-z0-9_-]{1,128}; the Rust port refuses it`, where()));
          if (!RUST_ENTRY_TYPES.has(f.entryType)) {
            add(problem("rust_entry_type", `entry type ${JSON.stringify(f.entryType)} is ${KNOWN_ENTRY_TYPES.has(f.entryType) ? "a pi entry type the Rust port's frame reader does not accept" : "unknown; the Rust port refuses it"}`, where()));
          }
          if (f.payload[0] !== 0x7b || f.payload[f.payload.length - 1] !== 0x7d) {
            add(problem("rust_payload_whitespace", "the payload has white space around the JSON object; the Rust port hashes the trimmed text and reports a mismatch", where()));
          }
        }
      }
      heads.push(head);
      chain = chain !== undefined && head ? chainStep(chain, payloadSha256) : undefined;
      if (chainWanted.has(i + 1)) chains.set(i + 1, chain);
      opts.onProgress?.(i + 1, rows.length);
    }
  } finally {
    await reader.close();
  }

  for (const s of segments) {
    const end = indexedEnd.get(s.segmentSeq);
    if (end === undefined && !rows.some((r) => r.segmentSeq === s.segmentSeq)) {
      add(problem("segment_unindexed", `segment ${s.segmentSeq} (${s.size} bytes) has no index rows`, { file: s.file }));
    } else if (end !== undefined && s.size > end) {
      add(problem("segment_unindexed_bytes", `${s.size - end} bytes after the last indexed frame (an append interrupted before its index row)`, { file: s.file, offset: end }));
    }
  }

  // Parent links, as the JSONL reader's tree sees them.
  const tree = new SessionTree(records);
  for (const { record, first } of tree.duplicates) {
    const r = record as SidecarRecord;
    add(problem("duplicate_entry_id", `entry id ${JSON.stringify(r.id)} was already used at entrySeq ${(first as SidecarRecord).entrySeq}`, { file: segmentRelPath(r.segmentSeq), offset: r.byteOffset, entrySeq: r.entrySeq, entryId: r.id }));
  }
  for (const { record, missingParentId } of tree.orphans) {
    const r = record as SidecarRecord;
    add(problem("parent_missing", `parent ${JSON.stringify(missingParentId)} is not in the store`, { file: segmentRelPath(r.segmentSeq), offset: r.byteOffset, entrySeq: r.entrySeq, entryId: r.id }));
  }
  for (const ids of tree.cycles) {
    const r = tree.get(ids[0] as string) as SidecarRecord;
    add(problem("parent_cycle", `parent links form a cycle: ${ids.join(" -> ")}`, { file: segmentRelPath(r.segmentSeq), offset: r.byteOffset, entrySeq: r.entrySeq, entryId: r.id }));
  }

  problems.push(...(await entryTableProblems(root, rows, records)));

  const last = rows[rows.length - 1];
  const facts = {
    entriesTotal: rows.length,
    messagesTotal: heads.filter((h) => h?.entryType === "message").length,
    branchesTotal: countBranches(heads),
    compactionsTotal: heads.filter((h) => h?.entryType === "compaction").length,
    bytesTotal: rows.reduce((n, r) => n + r.byteLength, 0),
    segmentCount: new Set(rows.map((r) => r.segmentSeq)).size,
  };

  const mf = await readManifestFile(root);
  if (mf.state === "missing") add(problem("manifest_missing", "manifest.json does not exist", { file: MANIFEST_FILE }));
  else if (mf.state === "invalid") add(problem("manifest_invalid", mf.message, { file: MANIFEST_FILE }));
  else {
    const m = mf.manifest;
    const diff = (field: string, recorded: unknown, actual: unknown) => {
      if (recorded !== actual) add(problem("manifest_mismatch", `manifest ${field} is ${JSON.stringify(recorded)}, the store has ${JSON.stringify(actual)}`, { file: MANIFEST_FILE }));
    };
    for (const k of ["entriesTotal", "messagesTotal", "branchesTotal", "compactionsTotal", "bytesTotal"] as const) diff(`counters.${k}`, m.counters[k], facts[k]);
    diff("files.segmentCount", m.files.segmentCount, facts.segmentCount);
    diff("head.segmentSeq", m.head.segmentSeq, last?.segmentSeq ?? 0);
    diff("head.entrySeq", m.head.entrySeq, last?.entrySeq ?? 0);
    diff("head.entryId", m.head.entryId, last?.entryId ?? "");
    diff("integrity.lastCrc32c", m.integrity.lastCrc32c, last?.crc32c ?? "00000000");
    if (chain !== undefined && m.integrity.chainHash !== chain) {
      add(problem("chain_mismatch", `the manifest's chain ${m.integrity.chainHash} is not the chain over the stored payloads (${chain})`, { file: MANIFEST_FILE }));
    }
    if (!isUuid(m.sessionId)) add(problem("rust_session_id", `session id ${JSON.stringify(m.sessionId)} is not a UUID; the Rust port refuses the manifest`, { file: MANIFEST_FILE }));
  }

  problems.push(...cps.problems);
  for (const c of cps.checkpoints) {
    const file = checkpointRelPath(c.checkpointSeq);
    const row = rows[c.headEntrySeq - 1];
    if (c.headEntrySeq > rows.length || !row) add(problem("checkpoint_mismatch", `checkpoint head entrySeq ${c.headEntrySeq} is beyond the store's ${rows.length} entries`, { file, entrySeq: c.headEntrySeq }));
    else if (row.entryId !== c.headEntryId) add(problem("checkpoint_mismatch", `checkpoint head is ${JSON.stringify(c.headEntryId)}, the store has ${JSON.stringify(row.entryId)} at entrySeq ${c.headEntrySeq}`, { file, entrySeq: c.headEntrySeq }));
    else {
      const at = chains.get(c.headEntrySeq);
      if (at !== undefined && at !== c.chainHash) add(problem("chain_mismatch", `checkpoint ${c.checkpointSeq} records chain ${c.chainHash}, the stored payloads give ${at}`, { file, entrySeq: c.headEntrySeq }));
    }
  }

  problems.push(...(await readLedger(root)).problems);

  const fp = await readFingerprint(root);
  if (fp.state === "missing") add(problem("source_fingerprint_missing", `${SOURCE_FILE} does not exist; freshness against the JSONL cannot be checked`, { file: SOURCE_FILE }));
  else if (fp.state === "invalid") add(problem("source_fingerprint_invalid", fp.message, { file: SOURCE_FILE }));
  else if (fp.fingerprint.entryCount !== rows.length) {
    add(problem("source_fingerprint_mismatch", `${SOURCE_FILE} counts ${fp.fingerprint.entryCount} entries, the index has ${rows.length} (an interrupted sync); sync with repair or rebuild`, { file: SOURCE_FILE }));
  } else if (chain !== undefined && fp.fingerprint.chainHash !== chain) {
    add(problem("chain_mismatch", `${SOURCE_FILE} records chain ${fp.fingerprint.chainHash}, the stored payloads give ${chain}`, { file: SOURCE_FILE }));
  }

  const has = (...codes: SidecarProblemCode[]) => problems.some((p) => codes.includes(p.code));
  const ids = new Set(rows.map((r) => r.entryId));
  const invariants: ManifestInvariants = {
    parentLinksClosed: heads.every((h) => h !== undefined && (h.parentEntryId === undefined || ids.has(h.parentEntryId))),
    monotonicEntrySeq: !has("entry_seq_order", "entry_seq_gap"),
    monotonicSegmentSeq: !has("segment_seq_order"),
    indexWithinSegmentBounds: !has("segment_missing", "row_out_of_bounds", "frame_seq_order", "row_offset_gap", "frame_too_large", "frame_crc_mismatch", "frame_unterminated", "frame_invalid", "frame_row_mismatch"),
    branchHeadsIndexed: !has("segment_unindexed", "segment_unindexed_bytes"),
    checkpointsMonotonic: !has("checkpoint_order", "checkpoint_invalid"),
    hashChainValid: chain !== undefined && !has("chain_mismatch", "payload_hash_mismatch", "payload_size_mismatch"),
  };
  // A manifest that records an invariant as false: stale if the store is fine there; true
  // to the facts otherwise (the cause has its own problem), which the Rust port refuses.
  if (mf.state === "ok") {
    for (const k of Object.keys(invariants) as (keyof ManifestInvariants)[]) {
      if (mf.manifest.invariants[k]) continue;
      if (invariants[k]) add(problem("manifest_mismatch", `manifest records invariants.${k} = false, but the store satisfies it`, { file: MANIFEST_FILE }));
      else add(problem("rust_invariant_false", `invariants.${k} is false; the Rust port refuses a manifest with a false invariant`, { file: MANIFEST_FILE }));
    }
  }
  const errors = problems.filter((p) => p.severity === "error").length;
  return {
    ok: !hasErrors(problems),
    root,
    entries: rows.length,
    segments: segments.length,
    bytes: facts.bytesTotal,
    chainHash: chain,
    messagesTotal: facts.messagesTotal,
    compactionsTotal: facts.compactionsTotal,
    branchesTotal: facts.branchesTotal,
    errors,
    warnings: problems.length - errors,
    problems,
    invariants,
  };
}
