import { SessfmtError } from "../format/errors.js";
import { SessionTree } from "../format/tree.js";
import { buildContextFromPath } from "../format/context.js";
import type { SessionContext, SessionEntry } from "../format/types.js";
import { checkIndexedFrame, checkIndexedFrameFields, CHEAP_CHECKS, entryIfSound, FULL_CHECKS, recordFromFields, recordFromFrame, type FrameChecks, type SidecarRecord } from "./frame-check.js";
import type { OffsetIndexRow } from "./index-row.js";
import { ROLE_ASSISTANT, TYPE_BRANCH_SUMMARY, TYPE_COMPACTION, TYPE_CUSTOM_MESSAGE, TYPE_MESSAGE, TYPE_MODEL_CHANGE, TYPE_THINKING_LEVEL_CHANGE, type EntryTable } from "./entry-table.js";
import type { Manifest, StoreHead } from "./manifest.js";
import { readManifestFileSync } from "./artifacts.js";
import { readFingerprintSync, type SourceFingerprint } from "./fingerprint.js";
import { problem, type SidecarProblem } from "./problems.js";
import { corrupt, SegmentReader } from "./segment-reader.js";
import type { ReadObserver, ReadStats } from "./read-stats.js";
import type { V2OpenMode } from "./open-mode.js";
import type { PathFromLeaf } from "./path-from-leaf.js";

/** One entry read from the sidecar: its record, the entry object and its exact line bytes. */
export interface SidecarEntry {
  record: SidecarRecord;
  entry: SessionEntry;
  /** The payload: the JSONL line's exact bytes. */
  raw: Buffer;
}

export interface SidecarStoreParts {
  root: string;
  file: string | undefined;
  mode: V2OpenMode;
  /** The index rows, or the entry table they come from (then rows are made on first use). */
  rows?: OffsetIndexRow[];
  table?: EntryTable;
  records: SidecarRecord[];
  leafId: string | null;
  /** Known manifest and fingerprint; otherwise each is read on first use (see the getters). */
  manifest?: Manifest | undefined;
  fingerprint?: SourceFingerprint | undefined;
  warnings: SidecarProblem[];
  stats: ReadStats;
  onRead?: ReadObserver;
  verify: boolean;
  retain: boolean;
  maxFrameBytes?: number;
}



/** Context frames are read close together: a small read-ahead, not the sequential reader's 1 MiB. */
const NEAR_WINDOW = 64 * 1024;

const EMPTY_CONTEXT = (): SessionContext => ({ messages: [], thinkingLevel: "off", model: null });

/**
 * An opened V2 sidecar. It reads like an opened JSONL session: `records` are EntryRecords
 * (plus where each frame is), `tree` is the same SessionTree the JSONL reader builds, and
 * `buildContext` runs the same context code. In "full" mode everything is loaded; in
 * "active" and "tail:N" mode only the frames the mode names are, and the read* methods
 * fetch others by entrySeq, id or path on demand, reading just those frames.
 */
export class SidecarStore {
  readonly root: string;
  /** The JSONL file the sidecar belongs to, when known. */
  readonly file: string | undefined;
  readonly mode: V2OpenMode;
  private manifestValue: { value: Manifest | undefined } | undefined;
  private fingerprintValue: { value: SourceFingerprint | undefined } | undefined;
  /** Non-fatal findings of the open (e.g. unindexed bytes after the last frame). */
  readonly warnings: readonly SidecarProblem[];
  /** What this store has read from disk so far. */
  readonly stats: ReadStats;
  private loaded: SidecarRecord[];
  private treeValue: SessionTree | undefined;
  private rowsValue: OffsetIndexRow[] | undefined;
  private byIdValue: Map<string, OffsetIndexRow> | undefined;
  private readonly table: EntryTable | undefined;
  /**
   * An active open through the entry table: the path's entrySeqs, root first, and its
   * leaf. Records and the tree are made from the frames only when asked for; the context
   * at the leaf needs neither.
   */
  private pendingPath: { path: PathFromLeaf; leafId: string | null; last: LastOfKinds } | undefined;
  /** Exact reads, for frames picked by id, seq or path. */
  private readonly reader: SegmentReader;
  /** Read-ahead, for runs of consecutive frames (full and tail loads, readAll, readTail). */
  private readonly sequential: SegmentReader;
  private readonly near: SegmentReader;
  private readonly checks: FrameChecks;
  private readonly retain: boolean;

  constructor(p: SidecarStoreParts) {
    this.root = p.root;
    this.file = p.file;
    this.mode = p.mode;
    this.rowsValue = p.rows;
    this.table = p.table;
    if ("manifest" in p) this.manifestValue = { value: p.manifest };
    if ("fingerprint" in p) this.fingerprintValue = { value: p.fingerprint };
    this.warnings = p.warnings;
    this.stats = p.stats;
    this.checks = p.verify ? FULL_CHECKS : CHEAP_CHECKS;
    this.retain = p.retain;
    // Views, not copies: every frame read is decoded at once and nothing decoded points into
    // the bytes read (decode copies the raw payload it hands out).
    const common = { stats: p.stats, onRead: p.onRead, maxFrameBytes: p.maxFrameBytes, views: true };
    this.reader = new SegmentReader(p.root, { ...common, window: 0 });
    this.sequential = new SegmentReader(p.root, common);
    this.near = new SegmentReader(p.root, { ...common, window: NEAR_WINDOW });
    this.loaded = p.records;
    this.treeValue = this.makeTree(p.leafId);
  }

  private makeTree(leafId: string | null): SessionTree {
    const t = new SessionTree(this.loaded);
    if (leafId !== null && t.has(leafId)) t.setLeaf(leafId);
    return t;
  }

  /** Every index row, in entrySeq order. */
  get rows(): readonly OffsetIndexRow[] {
    if (!this.rowsValue) this.rowsValue = this.table ? this.table.rows() : [];
    return this.rowsValue;
  }

  /** Rows by id, the later row winning, as ids do in the tree. */
  private get byId(): Map<string, OffsetIndexRow> {
    if (!this.byIdValue) {
      this.byIdValue = new Map();
      for (const r of this.rows) this.byIdValue.set(r.entryId, r);
    }
    return this.byIdValue;
  }

  /** Load a pending active path's records (reading its frames) and build the tree. */
  private settle(): SessionTree {
    const pending = this.pendingPath;
    if (pending) {
      this.pendingPath = undefined;
      this.table?.loadAll(); // every row of the path: one read of the table's rows
      const records: SidecarRecord[] = [];
      for (const seq of pending.path.all()) {
        const row = this.rowOf(seq) as OffsetIndexRow;
        const e = this.decodeEntry(row, this.sequential.readSync(row));
        if (this.retain) e.record.value = e.entry;
        records.push(e.record);
      }
      this.loaded = records.sort((a, b) => a.entrySeq - b.entrySeq);
      this.treeValue = this.makeTree(pending.leafId);
    }
    if (!this.treeValue) this.treeValue = this.makeTree(null);
    return this.treeValue;
  }

  /** The loaded records, in entrySeq order. */
  get records(): readonly SidecarRecord[] {
    this.settle();
    return this.loaded;
  }

  /** The tree over the loaded records. */
  get tree(): SessionTree {
    return this.settle();
  }

  /** Entries in the store (all rows, loaded or not). */
  get entryCount(): number {
    return this.table && !this.rowsValue ? this.table.count : this.rows.length;
  }

  /**
   * Entries loaded by the open (the path's length for an active open), without loading
   * their frames; through the entry table this walks the rest of the path (the open walks
   * only as far back as the context needs).
   */
  get loadedCount(): number {
    return this.pendingPath ? this.pendingPath.path.all().length : this.loaded.length;
  }

  get head(): StoreHead {
    const last = this.rowOf(this.entryCount);
    return last ? { segmentSeq: last.segmentSeq, entrySeq: last.entrySeq, entryId: last.entryId } : { segmentSeq: 0, entrySeq: 0, entryId: "" };
  }

  get leafId(): string | null {
    return this.pendingPath ? this.pendingPath.leafId : this.settle().leafId;
  }

  setLeaf(id: string | null): void {
    this.settle().setLeaf(id);
  }

  /**
   * manifest.json (undefined when missing or invalid), read on first use: reading a store's
   * entries needs neither it nor the fingerprint. An unsafe file (a symlink) or a failed
   * read throws here.
   */
  get manifest(): Manifest | undefined {
    if (!this.manifestValue) {
      const m = readManifestFileSync(this.root);
      this.manifestValue = { value: m.state === "ok" ? m.manifest : undefined };
    }
    return this.manifestValue.value;
  }

  /** sessfmt-source.json (undefined when missing or invalid), read on first use like the manifest. */
  get fingerprint(): SourceFingerprint | undefined {
    if (!this.fingerprintValue) {
      const f = readFingerprintSync(this.root);
      this.fingerprintValue = { value: f.state === "ok" ? f.fingerprint : undefined };
    }
    return this.fingerprintValue.value;
  }

  /** The row of an entrySeq, or undefined. */
  rowOf(entrySeq: number): OffsetIndexRow | undefined {
    if (this.table && !this.rowsValue) return Number.isSafeInteger(entrySeq) && entrySeq >= 1 && entrySeq <= this.table.count ? this.table.row(entrySeq - 1) : undefined;
    const r = this.rows[entrySeq - 1];
    return r && r.entrySeq === entrySeq ? r : this.rows.find((x) => x.entrySeq === entrySeq);
  }

  /** The row of an entry id (the later one when ids repeat). */
  rowById(id: string): OffsetIndexRow | undefined {
    if (this.table && !this.byIdValue) {
      const seq = this.table.lastSeqOf(id);
      return seq > 0 ? this.rowOf(seq) : undefined;
    }
    return this.byId.get(id);
  }

  /** No two entries share an id (the entry table's flag; without it, the index's rows). */
  idsUnique(): boolean {
    return this.table ? this.table.uniqueIds : this.byId.size === this.rows.length;
  }

  record(id: string): SidecarRecord | undefined {
    return this.settle().get(id) as SidecarRecord | undefined;
  }

  // ---- frames ----

  /**
   * A frame's record and entry. `bytes` may be a view of a reader's window, which the next
   * read reuses: nothing returned points into it.
   */
  private decodeEntry(row: OffsetIndexRow, bytes: Buffer): { record: SidecarRecord; entry: SessionEntry; payload: Buffer } {
    const checked = checkIndexedFrame(bytes, row, this.checks);
    const first = checked.problems[0];
    if (first || !checked.frame) throw corrupt(this.root, first ?? problem("frame_invalid", "frame does not decode", { entrySeq: row.entrySeq }));
    this.stats.framesParsed++;
    const rec = recordFromFrame(checked.frame, row);
    if (!rec.record || !rec.value) throw corrupt(this.root, rec.problems[0] ?? problem("payload_invalid", "payload is not an entry", { entrySeq: row.entrySeq }));
    return { record: rec.record, entry: rec.value, payload: checked.frame.payload };
  }

  /** decodeEntry plus a copy of the payload (the exact line bytes) that outlives the read. */
  private decode(row: OffsetIndexRow, bytes: Buffer): SidecarEntry {
    const e = this.decodeEntry(row, bytes);
    return { record: e.record, entry: e.entry, raw: Buffer.from(e.payload) };
  }

  /** Read and decode one row's frame (`sequential`: read ahead, the next rows follow). */
  async readRow(row: OffsetIndexRow, sequential = false): Promise<SidecarEntry> {
    return this.decode(row, await (sequential ? this.sequential : this.reader).read(row));
  }

  private readRowSync(row: OffsetIndexRow): SidecarEntry {
    return this.decode(row, this.reader.readSync(row));
  }

  /** The entry with this entrySeq, read from its frame. */
  async readBySeq(entrySeq: number): Promise<SidecarEntry> {
    const row = this.rowOf(entrySeq);
    if (!row) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with entrySeq ${entrySeq}`, { file: this.root });
    return this.readRow(row);
  }

  /** The entry with this id (the later one when ids repeat), read from its frame. */
  async readById(id: string): Promise<SidecarEntry> {
    const row = this.rowById(id);
    if (!row) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(id)}`, { file: this.root });
    return this.readRow(row);
  }

  /**
   * The path from the root to `leafId` (default: the last entry), root first, reading only
   * the frames on it. Cycle-guarded: the walk stops at the first entry seen twice, at a
   * parent the store does not have, and at a self-parent, exactly where the tree's own walk
   * would stop (a cycle is cut at the member with the lowest entrySeq).
   */
  async readActivePath(leafId?: string | null): Promise<SidecarEntry[]> {
    const start = this.pathStart(leafId);
    if (!start) return [];
    if (this.table) {
      this.table.loadAll(); // a row for every entry on the path: one read of the table's rows
      const out: SidecarEntry[] = [];
      for (const seq of this.table.pathSeqs(start.entrySeq)) out.push(await this.readRow(this.rowOf(seq) as OffsetIndexRow, true));
      return out;
    }
    const walked: SidecarEntry[] = [];
    const seen = new Set<OffsetIndexRow>();
    let row: OffsetIndexRow | undefined = start;
    while (row && !seen.has(row)) {
      seen.add(row);
      const e = await this.readRow(row);
      walked.push(e);
      const p = e.record.parentId;
      row = p === null || p === e.record.id ? undefined : this.byId.get(p);
    }
    // A cycle: the tree cuts it at its earliest member; cut the walk at the same place.
    if (row) {
      const at = walked.findIndex((e) => e.record.entrySeq === row?.entrySeq);
      const cycle = walked.slice(at);
      let breaker = cycle[0] as SidecarEntry;
      for (const e of cycle) if (e.record.entrySeq < breaker.record.entrySeq) breaker = e;
      walked.length = walked.indexOf(breaker) + 1;
    }
    return walked.reverse();
  }

  /** The row a path starts from: `leafId`'s (E_ENTRY_NOT_FOUND when unknown), or the last entry's (none in an empty store). */
  private pathStart(leafId: string | null | undefined): OffsetIndexRow | undefined {
    if (leafId === undefined || leafId === null) return this.rowOf(this.entryCount);
    const row = this.rowById(leafId);
    if (!row) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(leafId)}`, { file: this.root });
    return row;
  }

  /**
   * The rows of the active path from `leafId` (default the last entry), root first: through
   * the entry table without reading a frame; without it the path's frames are read to walk
   * it, as readActivePath does.
   */
  async activePathRows(leafId?: string | null): Promise<OffsetIndexRow[]> {
    if (!this.table) return (await this.readActivePath(leafId)).map((e) => this.rowOf(e.record.entrySeq) as OffsetIndexRow);
    const start = this.pathStart(leafId);
    if (!start) return [];
    this.table.loadAll();
    return Array.from(this.table.pathSeqs(start.entrySeq), (seq) => this.rowOf(seq) as OffsetIndexRow);
  }

  /**
   * These rows' entries as JSONL text: `header`, then each entry's exact line bytes followed
   * by "\n", in entrySeq order, in one buffer; `lines[i]` is a view of the i-th line (rows
   * sorted by entrySeq). The frames are read in file order and checked as readRow checks
   * them, and no payload is parsed into an entry: for a caller that reads the lines itself.
   */
  async jsonlOf(rows: readonly OffsetIndexRow[], header: Buffer): Promise<{ data: Buffer; lines: { entrySeq: number; raw: Buffer }[] }> {
    const sorted = [...rows].sort((a, b) => a.entrySeq - b.entrySeq);
    // A frame is longer than its payload: its length plus "\n" bounds each line.
    const data = Buffer.allocUnsafe(header.length + 1 + sorted.reduce((n, r) => n + r.byteLength + 1, 0));
    let at = header.copy(data, 0);
    data[at++] = 0x0a;
    const lines: { entrySeq: number; raw: Buffer }[] = [];
    for (const row of sorted) {
      const payload = this.checkedPayload(row, await this.sequential.read(row));
      const end = at + payload.copy(data, at);
      lines.push({ entrySeq: row.entrySeq, raw: data.subarray(at, end) });
      data[end] = 0x0a;
      at = end + 1;
    }
    return { data: data.subarray(0, at), lines };
  }

  /** decodeEntry's checks without parsing the payload into an entry (the scanner checks its JSON): the payload, a view of `bytes`. */
  private checkedPayload(row: OffsetIndexRow, bytes: Buffer): Buffer {
    const checked = checkIndexedFrameFields(bytes, row, this.checks);
    const first = checked.problems[0];
    if (first || !checked.frame) throw corrupt(this.root, first ?? problem("frame_invalid", "frame does not decode", { entrySeq: row.entrySeq }));
    this.stats.framesParsed++;
    const f = checked.frame;
    const rec = recordFromFields(f, f.isObject ? f.fields : undefined, row);
    if (!rec.record) throw corrupt(this.root, rec.problems[0] ?? problem("payload_invalid", "payload is not an entry", { entrySeq: row.entrySeq }));
    return f.payload;
  }

  /** The last `count` entries by entrySeq. */
  async readTail(count: number): Promise<SidecarEntry[]> {
    const out: SidecarEntry[] = [];
    for (const row of this.rows.slice(Math.max(0, this.rows.length - count))) out.push(await this.readRow(row, true));
    return out;
  }

  /** Every entry, in entrySeq order (reads every frame). */
  async readAll(): Promise<SidecarEntry[]> {
    const out: SidecarEntry[] = [];
    for (const row of this.rows) out.push(await this.readRow(row, true));
    return out;
  }

  /** Add the entries on a leaf's path to the loaded set (active and tail stores grow this way). */
  async loadPath(leafId: string): Promise<void> {
    this.settle();
    const have = new Set(this.loaded.map((r) => r.entrySeq));
    const add = (await this.readActivePath(leafId)).filter((e) => !have.has(e.record.entrySeq));
    if (add.length === 0) return;
    for (const e of add) if (this.retain) e.record.value = e.entry;
    const current = this.settle().leafId;
    this.loaded = [...this.loaded, ...add.map((e) => e.record)].sort((a, b) => a.entrySeq - b.entrySeq);
    this.treeValue = this.makeTree(current);
  }

  // ---- what the JSONL reader's Session offers ----

  /** The full entry object of a loaded record (read from its frame if not retained). */
  entry(idOrRecord: string | SidecarRecord): SessionEntry {
    const r = typeof idOrRecord === "string" ? this.record(idOrRecord) : idOrRecord;
    if (!r) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no loaded entry with id ${JSON.stringify(idOrRecord)}`, { file: this.root });
    return (this.materialise([r])[0] as SessionEntry);
  }

  materialise(records: readonly SidecarRecord[]): SessionEntry[] {
    return records.map((r) => {
      if (r.value) return r.value;
      const row = this.rowOf(r.entrySeq) as OffsetIndexRow;
      const e = this.decodeEntry(row, this.reader.readSync(row)).entry;
      if (this.retain) r.value = e;
      return e;
    });
  }

  /** Every loaded entry, in entrySeq order. */
  entries(): SessionEntry[] {
    return this.materialise(this.loaded);
  }

  /** The exact JSONL line bytes of an entry (its frame's payload). */
  raw(r: SidecarRecord): Buffer {
    return this.readRowSync(this.rowOf(r.entrySeq) as OffsetIndexRow).raw;
  }

  /** Entries on the path from the root to `leafId` (default: the current leaf). */
  branch(leafId: string | null = this.leafId): SessionEntry[] {
    return this.materialise(this.settle().pathToRoot(leafId) as SidecarRecord[]);
  }

  /**
   * What the LLM sees at a leaf, exactly as the JSONL reader's buildContext (undefined: the
   * current leaf; null: empty; an unknown id: the last entry). An id that is in the store
   * but not loaded (active/tail modes) is E_ENTRY_NOT_FOUND: use contextAt.
   */
  buildContext(leafId?: string | null): SessionContext {
    const target = leafId === undefined ? this.leafId : leafId;
    if (target === null) return EMPTY_CONTEXT();
    const pending = this.pendingPath;
    if (pending && this.table && target === pending.leafId) return this.contextOfPath(this.table, pending.path, pending.last);
    const tree = this.settle();
    let leaf = tree.get(target);
    if (!leaf) {
      if (this.mode !== "full" && this.rowById(target)) {
        throw new SessfmtError("E_ENTRY_NOT_FOUND", `entry ${JSON.stringify(target)} is not loaded in ${this.mode} mode; use contextAt()`, { file: this.root });
      }
      const lastRow = this.rowOf(this.entryCount);
      leaf = lastRow ? tree.get(lastRow.entryId) : undefined;
      if (!leaf) return EMPTY_CONTEXT();
    }
    return buildContextFromPath(this.materialise(tree.pathFrom(leaf) as SidecarRecord[]));
  }

  /**
   * The context of a path, choosing from the table's types and roles the entries that
   * decide it (the same choice as the JSONL reader's contextRecords: the last thinking-level
   * change, the last model change or assistant message, the last compaction and the entry
   * its firstKeptEntryId names, and the messages it keeps) and reading only their frames.
   * Positions are steps back from the leaf; the path is walked only as far back as the
   * choice needs (to the root when there is no compaction).
   */
  private contextOfPath(table: EntryTable, path: PathFromLeaf, last: LastOfKinds): SessionContext {
    const { thinking, model, compaction } = last;
    let firstKept = -1;
    const compactionEntry = compaction >= 0 ? this.entryOfSeq(path.at(compaction)) : undefined;
    if (compactionEntry) {
      const c = compactionEntry as { firstKeptEntryId?: unknown };
      // The first entry on the path with that id (section 7).
      if (typeof c.firstKeptEntryId === "string") firstKept = table.findBack(path, compaction, c.firstKeptEntryId);
    }
    // Before the compaction (or the entry it keeps from) only the three picks can count;
    // without a compaction every entry from the root on.
    const cut = compaction < 0 ? path.reach(Infinity) - 1 : firstKept >= 0 ? firstKept : compaction;
    const picks: number[] = [thinking, model].filter((d) => d > cut).sort((a, b) => b - a);
    for (let d = cut; d >= 0; d--) {
      const t = table.typeOf(path.at(d) - 1);
      const kept = compaction < 0 || d < compaction || (firstKept >= 0 && d <= firstKept);
      const shows = t === TYPE_MESSAGE || t === TYPE_CUSTOM_MESSAGE || t === TYPE_BRANCH_SUMMARY;
      if (d === compaction || d === thinking || d === model || d === firstKept || (kept && shows)) picks.push(d);
    }
    const seqs = picks.map((d) => path.at(d));
    table.prefetch(seqs.map((seq) => seq - 1));
    const rows = picks.map((d, k) => (d === compaction ? undefined : (this.rowOf(seqs[k] as number) as OffsetIndexRow)));
    this.readThroughDense(rows);
    return buildContextFromPath(picks.map((d, k) => (d === compaction ? (compactionEntry as SessionEntry) : this.entryOfSeq(seqs[k] as number, rows[k]))));
  }

  /**
   * When most of the bytes between the first and the last of these frames in the last
   * one's segment are these frames (the messages after a compaction usually are), read
   * them with one read.
   */
  private readThroughDense(rows: readonly (OffsetIndexRow | undefined)[]): void {
    const last = rows[rows.length - 1];
    if (!last) return;
    let from = last.byteOffset;
    let to = last.byteOffset + last.byteLength;
    let bytes = 0;
    for (const r of rows) {
      if (!r || r.segmentSeq !== last.segmentSeq) continue;
      from = Math.min(from, r.byteOffset);
      to = Math.max(to, r.byteOffset + r.byteLength);
      bytes += r.byteLength;
    }
    if (bytes >= (to - from) / 2) this.near.readThrough(last.segmentSeq, from, to);
  }

  /** One entry read from its frame by entrySeq (frames close together share a read). */
  private entryOfSeq(seq: number, known?: OffsetIndexRow): SessionEntry {
    const row = known ?? (this.rowOf(seq) as OffsetIndexRow);
    const bytes = this.near.readSync(row);
    // The one-function path for a sound frame; anything else goes where problems are worded.
    const sound = this.checks.crc || this.checks.payloadHash ? undefined : entryIfSound(bytes, row);
    if (sound) {
      this.stats.framesParsed++;
      return sound;
    }
    return this.decodeEntry(row, bytes).entry;
  }

  /** buildContext at any entry of the store, reading only that entry's path. */
  async contextAt(leafId?: string | null): Promise<SessionContext> {
    if (leafId === null) return EMPTY_CONTEXT();
    const id = leafId === undefined ? this.leafId : leafId;
    const known = id !== null && this.rowById(id) !== undefined;
    const path = await this.readActivePath(known ? id : undefined);
    return buildContextFromPath(path.map((e) => e.entry));
  }

  /** @internal Replace the loaded records (openSidecar fills a store this way). */
  setLoaded(records: SidecarRecord[], leafId: string | null): void {
    this.pendingPath = undefined;
    this.loaded = records;
    this.treeValue = this.makeTree(leafId);
  }

  /** @internal An active open through the entry table: the path, loaded when first asked for. */
  setPendingPath(path: PathFromLeaf, leafId: string | null): void {
    this.loaded = [];
    this.treeValue = undefined;
    // Walked back now, so that a damaged block of the table's columns is met by the open.
    const last = this.table ? lastOfKinds(this.table, path) : { thinking: -1, model: -1, compaction: -1 };
    this.pendingPath = { path, leafId, last };
  }

  /** Release the open segment files. */
  async close(): Promise<void> {
    this.table?.close();
    await this.reader.close();
    await this.sequential.close();
    await this.near.close();
  }
}

/** Steps back from the leaf to the last entry of each kind that decides a context (-1: none on the path). */
interface LastOfKinds {
  thinking: number;
  model: number;
  compaction: number;
}

/** The last thinking-level change, model change or assistant message, and compaction: walked back from the leaf until all three are found. */
function lastOfKinds(table: EntryTable, path: PathFromLeaf): LastOfKinds {
  let thinking = -1;
  let model = -1;
  let compaction = -1;
  // Every entry the path has reached has its block read: its codes are in place.
  const { types, roles } = table.columnsInPlace();
  let known = 0;
  for (let d = 0; thinking < 0 || model < 0 || compaction < 0; d++) {
    // Asked for one more entry, the walk goes on as far as it can without another read.
    if (d >= known && d >= (known = path.reach(d + 1))) break;
    const k = path.at(d) - 1;
    const t = types[k];
    if (t === TYPE_THINKING_LEVEL_CHANGE) {
      if (thinking < 0) thinking = d;
    } else if (t === TYPE_MODEL_CHANGE || (t === TYPE_MESSAGE && roles[k] === ROLE_ASSISTANT)) {
      if (model < 0) model = d;
    } else if (t === TYPE_COMPACTION) {
      if (compaction < 0) compaction = d;
    }
  }
  return { thinking, model, compaction };
}
