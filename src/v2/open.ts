import { SessfmtError } from "../format/errors.js";
import { listSegmentFiles, segmentSizes } from "./artifacts.js";
import type { SidecarRecord } from "./frame-check.js";
import { readIndexFile } from "./index-file.js";
import type { EntryTable } from "./entry-table.js";
import { PathFromLeaf } from "./path-from-leaf.js";
import { readEntryTable } from "./entry-table-io.js";
import type { OffsetIndexRow } from "./index-row.js";
import { INDEX_FILE, segmentRelPath } from "./layout.js";
import { parseV2OpenMode, type ParsedOpenMode, type V2OpenMode } from "./open-mode.js";
import { problem, type SidecarProblem } from "./problems.js";
import { newReadStats, type ReadObserver, type ReadStats } from "./read-stats.js";
import { corrupt } from "./segment-reader.js";
import { SidecarStore, type SidecarEntry } from "./store.js";
import { requireRoot, resolveTarget, type SidecarTarget } from "./target.js";

export interface OpenSidecarOptions {
  /** What to load (default "full"). */
  mode?: V2OpenMode;
  /** The leaf an "active" open walks from (default: the last entry). */
  leafId?: string;
  /** Also check CRC-32C and payload SHA-256 of every frame read (default false). */
  verify?: boolean;
  /** Keep entry objects in memory (default: when the store holds at most 64 MiB of frames). */
  retainEntries?: boolean;
  maxFrameBytes?: number;
  /** Counters to add this open's reads to (a fresh set by default; see SidecarStore.stats). */
  stats?: ReadStats;
  /** Told about every read from disk (file, offset, bytes). */
  onRead?: ReadObserver;
  signal?: AbortSignal;
  /** Frames loaded so far, of the frames the mode loads. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Use sessfmt's entry table when it is current (default true). Without it, open reads
   * every row of offsets.jsonl and an active open reads every frame on the path.
   */
  entryTable?: boolean;
}

const RETAIN_LIMIT = 64 * 1024 * 1024;

/**
 * The structural checks open makes, from the index and segment sizes alone: rows decode,
 * entrySeq counts 1, 2, 3, ..., every row's segment exists and holds the row's bytes.
 * Anything else (CRCs, hashes, the chain) is validate's.
 */
async function checkStructure(root: string, rows: readonly OffsetIndexRow[], problems: SidecarProblem[]): Promise<SidecarProblem[]> {
  const segments = new Map((await listSegmentFiles(root)).map((s) => [s.segmentSeq, s.size]));
  const warnings: SidecarProblem[] = [];
  rows.forEach((r, i) => {
    const where = { file: segmentRelPath(r.segmentSeq), offset: r.byteOffset, entrySeq: r.entrySeq, entryId: r.entryId };
    if (r.entrySeq !== i + 1) problems.push(problem(r.entrySeq <= i ? "entry_seq_order" : "entry_seq_gap", `row ${i + 1} has entrySeq ${r.entrySeq}`, { file: INDEX_FILE, entrySeq: r.entrySeq }));
    const size = segments.get(r.segmentSeq);
    if (size === undefined) problems.push(problem("segment_missing", `segment ${r.segmentSeq} does not exist`, where));
    else if (r.byteOffset + r.byteLength > size) problems.push(problem("row_out_of_bounds", `row ends at byte ${r.byteOffset + r.byteLength}, the segment has ${size}`, where));
  });
  const last = rows[rows.length - 1];
  if (last) {
    const size = segments.get(last.segmentSeq);
    const end = last.byteOffset + last.byteLength;
    if (size !== undefined && size > end) {
      warnings.push(problem("segment_unindexed_bytes", `${size - end} bytes after the last indexed frame (an interrupted append)`, { file: segmentRelPath(last.segmentSeq), offset: end }));
    }
  }
  return warnings;
}

/**
 * The same checks from the entry table: every segment it names exists and holds its frames.
 * The table names its segments, so each is looked at with one lstat (no directory listing).
 */
function checkTableStructure(root: string, table: EntryTable, problems: SidecarProblem[]): SidecarProblem[] {
  const segments = segmentSizes(root, table.segmentEnds().keys());
  const ends = table.segmentEnds();
  for (const [seq, end] of ends) {
    const size = segments.get(seq);
    if (size === undefined) problems.push(problem("segment_missing", `segment ${seq} does not exist`, { file: segmentRelPath(seq) }));
    else if (end > size) problems.push(problem("row_out_of_bounds", `frames end at byte ${end}, the segment has ${size}`, { file: segmentRelPath(seq), offset: size }));
  }
  const last = table.count > 0 ? table.row(table.count - 1) : undefined;
  const size = last ? segments.get(last.segmentSeq) : undefined;
  if (last && size !== undefined) {
    const end = last.byteOffset + last.byteLength;
    if (size > end) return [problem("segment_unindexed_bytes", `${size - end} bytes after the last indexed frame (an interrupted append)`, { file: segmentRelPath(last.segmentSeq), offset: end })];
  }
  return [];
}

/**
 * Open a V2 sidecar (by its JSONL file or its root) without re-hashing anything: read the
 * index, the manifest and the fingerprint, check the index against the segment sizes, then
 * read the frames the mode asks for. Throws E_SIDECAR_MISSING when there is no sidecar and
 * E_SIDECAR_CORRUPT (with the problems as `data.problems`) when the index cannot be used.
 */
export async function openSidecar(fileOrRoot: string, opts: OpenSidecarOptions = {}): Promise<SidecarStore> {
  const mode = opts.mode ?? "full";
  const parsed = parseV2OpenMode(mode);
  const target = await resolveTarget(fileOrRoot);
  await requireRoot(target);
  const stats = opts.stats ?? newReadStats();
  // The table's rows are read as they are used: the store keeps its file open until close().
  const table = opts.entryTable === false ? undefined : (await readEntryTable(target.root, { stats, keepOpen: true, ...(opts.onRead ? { onRead: opts.onRead } : {}) })).table;
  try {
    return await openWith(target, table, stats, mode, parsed, opts);
  } catch (err) {
    table?.close();
    // A block of the table's columns that does not match its CRC: the table is not used.
    if (table?.damaged) return openWith(target, undefined, stats, mode, parsed, opts);
    throw err;
  }
}

async function openWith(target: SidecarTarget, table: EntryTable | undefined, stats: ReadStats, mode: V2OpenMode, parsed: ParsedOpenMode, opts: OpenSidecarOptions): Promise<SidecarStore> {
  const problems: SidecarProblem[] = [];
  let rows: OffsetIndexRow[] | undefined;
  let warnings: SidecarProblem[];
  if (table) warnings = checkTableStructure(target.root, table, problems);
  else {
    const idx = await readIndexFile(target.root, { stats, onRead: opts.onRead, signal: opts.signal });
    problems.push(...idx.problems);
    if (!idx.exists) problems.push(problem("index_missing", "index/offsets.jsonl does not exist; rebuild the index", { file: INDEX_FILE }));
    warnings = await checkStructure(target.root, idx.rows, problems);
    rows = idx.rows;
  }
  if (problems.length > 0) {
    const err = corrupt(target.root, problems[0] as SidecarProblem);
    (err.data as { problems: SidecarProblem[] }).problems = problems;
    throw err;
  }
  const totalBytes = table ? table.totalFrameBytes() : (rows as OffsetIndexRow[]).reduce((n, r) => n + r.byteLength, 0);
  const retain = opts.retainEntries ?? totalBytes <= RETAIN_LIMIT;

  const store = new SidecarStore({
    root: target.root,
    file: target.file,
    mode,
    ...(rows ? { rows } : {}),
    ...(table ? { table } : {}),
    records: [],
    leafId: null,
    warnings,
    stats,
    onRead: opts.onRead,
    verify: opts.verify ?? false,
    retain,
    maxFrameBytes: opts.maxFrameBytes,
  });
  // A frame that fails to read must not leave the store's file handles open.
  try {
    let entries: SidecarEntry[];
    let leafId: string | null;
    const lastId = store.entryCount > 0 ? (store.rowOf(store.entryCount) as OffsetIndexRow).entryId : null;
    if (parsed.kind === "active") {
      const leafRow = opts.leafId !== undefined ? store.rowById(opts.leafId) : undefined;
      if (opts.leafId !== undefined && !leafRow) {
        throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(opts.leafId)}`, { file: target.root });
      }
      if (table) {
        // The path from the table; its frames are read when the records are first asked for.
        store.setPendingPath(new PathFromLeaf(table, leafRow?.entrySeq ?? table.count), opts.leafId ?? lastId);
        return store;
      }
      entries = await store.readActivePath(opts.leafId);
      leafId = opts.leafId ?? lastId;
      entries.sort((a, b) => a.record.entrySeq - b.record.entrySeq);
    } else {
      // A tail takes its rows one by one, so a table-backed store never makes them all.
      const n = store.entryCount;
      if (table && parsed.kind === "tail") table.prefetch(Array.from({ length: Math.min(n, parsed.count) }, (_, k) => n - Math.min(n, parsed.count) + k));
      const chosen = parsed.kind === "tail" ? Array.from({ length: Math.min(n, parsed.count) }, (_, k) => store.rowOf(n - Math.min(n, parsed.count) + k + 1) as OffsetIndexRow) : store.rows;
      entries = [];
      for (const row of chosen) {
        if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "open aborted", { file: target.root, cause: opts.signal.reason });
        entries.push(await store.readRow(row, true));
        if (entries.length % 1024 === 0) opts.onProgress?.(entries.length, chosen.length);
      }
      opts.onProgress?.(entries.length, chosen.length);
      leafId = lastId;
    }
    const records: SidecarRecord[] = entries.map((e) => {
      if (retain) e.record.value = e.entry;
      return e.record;
    });
    store.setLoaded(records, leafId);
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
  return store;
}
