import { constants, fdatasyncSync, statSync, writeSync } from "node:fs";
import type { Stats } from "node:fs";
import { open, realpath, stat, type FileHandle } from "node:fs/promises";
import { setTimeout as delay } from "node:timers/promises";
import { SessfmtError, ioError } from "./errors.js";
import type { SessionDiagnostic, SessionOpenDiagnostics } from "./diagnostics.js";
import { openSession } from "./read.js";
import type { Session } from "./session.js";
import { scanFile } from "./scan.js";
import { DEFAULT_LOCK_STALE_MS, DEFAULT_LOCK_TIMEOUT_MS, type LockHandle } from "./lock.js";
import { LockLease } from "./lock-lease.js";
import { writeFully } from "./atomic.js";
import { BackgroundSync, DEFAULT_DURABILITY, DEFAULT_SYNC_INTERVAL_MS, syncFile, type AutosaveDurabilityMode } from "./durability.js";
import { entryFacts, quarantineFragment, type Fragment } from "./torn-tail.js";
import { generateEntryId } from "./ids.js";
import { TypedAppends } from "./typed-appends.js";
import {
  branchSummaryEntry,
  checkNewEntry,
  prepareEntry,
  serializeEntry,
  type NewEntry,
  type PreparedEntry,
} from "./new-entry.js";
import { CURRENT_SESSION_VERSION, type AgentMessage, type ContentBlock, type SessionDialect, type SessionHeader } from "./types.js";

export interface SessionWriterOptions {
  /** Default "balanced" (see AutosaveDurabilityMode). */
  durability?: AutosaveDurabilityMode;
  /** balanced mode: longest time between a write and its background fsync (default 1000 ms). */
  syncIntervalMs?: number;
  /** Longest wait for the cross-process lock per append (default 10 000 ms), then E_LOCKED. */
  lockTimeoutMs?: number;
  /** Age after which another holder's lock counts as stale (default 8 000 ms). */
  lockStaleMs?: number;
  /**
   * How long the lock is kept after a batch for the next one (default 5 ms; 0 = release
   * after every batch). Back-to-back appends then pay for the lock once per lease.
   */
  lockIdleMs?: number;
  /** Longest use of one lock acquisition for batches (default 500 ms, at most 900). */
  lockMaxHoldMs?: number;
  /**
   * Parent of the next append: "leaf" (default) = this writer's leaf, as pi does;
   * "fileTail" = the last entry in the file at lock time, so independent appenders
   * (CLI calls, several processes) build one chain instead of siblings. An explicit
   * branch()/setLeaf()/resetLeaf() still decides the parent of the append after it.
   */
  parent?: "leaf" | "fileTail";
  /** Conventions for new lines; default: as detected on open. */
  dialect?: SessionDialect;
  /** Called for each repair the writer makes (torn tails); never throws into the writer. */
  onDiagnostic?: (d: SessionDiagnostic) => void;
  /** Aborts lock waits. */
  signal?: AbortSignal;
}

/** Marks a batch whose first parent is the file's last entry at lock time. */
const TAIL = Symbol("fileTail");
type ParentRef = string | null | typeof TAIL;

interface Batch {
  entries: PreparedEntry[];
  /** Serialised at call time (so later mutation of the caller's objects changes nothing). */
  lines: string[];
  firstParent: ParentRef;
  /** The leaf before the batch: where the leaf goes back to if the batch fails. */
  baseLeaf: ParentRef;
}

const APPEND_FLAGS = constants.O_RDWR | constants.O_APPEND;

/** How long a torn last line must stay unchanged before it is cut, and how often to look. */
const TORN_SETTLE_MS = 50;
const TORN_SETTLE_TRIES = 100;

/**
 * The append descriptor stays open between batches (an open and a close per batch cost
 * about as much as the write) and is closed by close(), or after this long without a
 * batch, so a writer that is dropped without close() holds no descriptor for long.
 */
const HANDLE_IDLE_MS = 1000;

/**
 * Appends entries to a session file safely alongside other writers and readers. Every
 * append batch holds the cross-process lock (leased across a burst of batches, see
 * LockLease), learns what other writers appended since
 * (reading only the new bytes), repairs a torn last line without losing its bytes, and
 * writes the batch with one write call. Ids, parents and the leaf are decided when a
 * method is called, so call order is tree order even without awaiting each call (as
 * with pi's synchronous SessionManager); the returned promise says when it is written.
 */
export class SessionWriter extends TypedAppends {
  readonly file: string;
  readonly header: SessionHeader;
  readonly dialect: SessionDialect;
  readonly durability: AutosaveDurabilityMode;
  readonly parentMode: "leaf" | "fileTail";
  /** Open diagnostics of the file as it was when the writer opened it. */
  readonly openDiagnostics: SessionOpenDiagnostics;
  /** Repairs made while appending (truncated_tail), in order. */
  readonly diagnostics: SessionDiagnostic[] = [];

  private readonly opts: SessionWriterOptions;
  private readonly ids = new Set<string>();
  private readonly pendingIds = new Set<string>();
  /** Ids of failed batches -> where a leaf pointing at them falls back to. */
  private readonly failed = new Map<string, ParentRef>();
  private readonly labelMap = new Map<string, string>();
  private nameValue: string | undefined;
  private leaf: string | null = null;
  private leafMovedExplicitly = false;
  private tail: string | null = null;
  private boundary = 0;
  private boundaryLine = 1;
  private headerOffset = 0;
  private dev = 0;
  private ino = 0;
  private chain: Promise<void> = Promise.resolve();
  private closing = false;
  private readonly lease: LockLease;
  private unsynced = false;
  private readonly background: BackgroundSync | undefined;
  /** The held append descriptor and the inode it is open on. */
  private handle: FileHandle | undefined;
  private handleDev = -1;
  private handleIno = -1;
  private idleTimer: NodeJS.Timeout | undefined;

  private constructor(file: string, session: Session, ident: { dev: number; ino: number }, opts: SessionWriterOptions) {
    super();
    this.file = file;
    this.opts = opts;
    this.header = session.header;
    this.dialect = opts.dialect ?? session.dialect;
    this.durability = opts.durability ?? DEFAULT_DURABILITY;
    this.parentMode = opts.parent ?? "leaf";
    this.openDiagnostics = session.diagnostics;
    this.load(session, ident);
    this.leaf = session.leafId;
    this.lease = new LockLease(file, {
      idleMs: opts.lockIdleMs,
      maxHoldMs: opts.lockMaxHoldMs,
      lock: { timeoutMs: opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, staleMs: opts.lockStaleMs ?? DEFAULT_LOCK_STALE_MS, signal: opts.signal },
    });
    if (this.durability === "balanced") {
      this.background = new BackgroundSync(() => this.syncIfNeeded(), opts.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS);
    }
  }

  /**
   * Open an existing version-3 session for appending. Legacy (v1/v2) files are refused
   * with E_UNSUPPORTED_VERSION: appending v3 entries to them would corrupt them; run
   * upgradeSession first. Nothing is written until the first append.
   */
  static async open(file: string, opts: SessionWriterOptions = {}): Promise<SessionWriter> {
    let path: string;
    try {
      path = await realpath(file);
    } catch (err) {
      throw ioError(err, file, "cannot open session for writing");
    }
    const session = await openSession(path, { retainEntries: false, signal: opts.signal });
    checkVersion(session, path);
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      throw ioError(err, path, "cannot stat");
    }
    return new SessionWriter(path, session, { dev: st.dev, ino: st.ino }, opts);
  }

  // ---- state ----

  get sessionId(): string {
    return this.header.id;
  }

  /** The leaf: parent of the next append (in "leaf" mode). Moves at call time. */
  get leafId(): string | null {
    return this.leaf;
  }

  /** Labels by target id, as far as this writer knows (its own and learned appends). */
  get labels(): ReadonlyMap<string, string> {
    return this.labelMap;
  }

  /** Session name: the latest session_info name, trimmed (undefined when cleared or never set). */
  get name(): string | undefined {
    return this.nameValue;
  }

  /** Bytes of the file this writer has accounted for (up to the last complete line). */
  get size(): number {
    return this.boundary;
  }

  /** Number of distinct entry ids written to the file, as far as this writer knows. */
  get entryCount(): number {
    return this.ids.size;
  }

  /** True when the id is in the file or waiting in this writer to be written. */
  hasId(id: string): boolean {
    return this.ids.has(id) || this.pendingIds.has(id);
  }

  get closed(): boolean {
    return this.closing;
  }

  // ---- appends ----

  /** Append one entry (id, parentId and timestamp are filled in); resolves with its id once written. */
  async append(entry: NewEntry): Promise<string> {
    const [id] = await this.appendMany([entry]);
    return id as string;
  }

  /** Append entries as a chain (each the parent of the next) with one write; resolves with their ids. */
  appendMany(entries: readonly NewEntry[]): Promise<string[]> {
    return this.enqueueNew(entries, undefined);
  }

  /**
   * Append entries that already carry id, parentId and timestamp (e.g. from an
   * AutosaveQueue), with one write. Ids must be new (E_DUPLICATE_ID); parents and label
   * targets must exist in the file or earlier in the batch (E_ENTRY_NOT_FOUND, checked
   * under the lock). The leaf becomes `leafAfter` (default: the last entry).
   */
  appendPrepared(entries: readonly PreparedEntry[], opts: { leafAfter?: string | null } = {}): Promise<void> {
    try {
      this.assertOpen();
      const seen = new Set<string>();
      for (const e of entries) {
        checkPrepared(e, this.file);
        if (this.hasId(e.id) || seen.has(e.id)) {
          throw new SessfmtError("E_DUPLICATE_ID", `entry id ${JSON.stringify(e.id)} is already used`, { file: this.file });
        }
        seen.add(e.id);
      }
      const leafAfter = opts.leafAfter === undefined ? (entries.length > 0 ? (entries[entries.length - 1] as PreparedEntry).id : this.leaf) : opts.leafAfter;
      if (leafAfter !== null && !this.hasId(leafAfter) && !seen.has(leafAfter)) {
        throw new SessfmtError("E_ENTRY_NOT_FOUND", `leaf ${JSON.stringify(leafAfter)} is not an entry`, { file: this.file });
      }
      const lines = entries.map((e) => serializeEntry(e, this.dialect, this.file));
      if (entries.length === 0) {
        this.leaf = leafAfter;
        return Promise.resolve();
      }
      const batch: Batch = { entries: entries.map((e) => ({ ...e })), lines, firstParent: (entries[0] as PreparedEntry).parentId, baseLeaf: this.leaf };
      for (const e of batch.entries) this.pendingIds.add(e.id);
      this.leaf = leafAfter;
      this.leafMovedExplicitly = false;
      return this.schedule(batch);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Move the leaf to `fromId` (null: before the first entry) and append a branch_summary there. */
  branchWithSummary(fromId: string | null, summary: string, details?: unknown, fromHook?: boolean): Promise<string> {
    try {
      this.assertOpen();
      if (fromId !== null) this.assertKnown(fromId);
      return this.enqueueNew([branchSummaryEntry(fromId, summary, details, fromHook)], fromId).then((ids) => ids[0] as string);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ---- leaf moves (nothing is written) ----

  /** Make `id` the leaf: the next append becomes its child. */
  branch(id: string): void {
    this.assertOpen();
    this.assertKnown(id);
    this.leaf = id;
    this.leafMovedExplicitly = true;
  }

  /** Leaf before the first entry: the next append is a new root. */
  resetLeaf(): void {
    this.assertOpen();
    this.leaf = null;
    this.leafMovedExplicitly = true;
  }

  setLeaf(id: string | null): void {
    if (id === null) this.resetLeaf();
    else this.branch(id);
  }

  // ---- sync and lifecycle ----

  /** Learn entries other writers appended (under the lock; repairs a torn tail). */
  refresh(): Promise<void> {
    try {
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.chain.then(() => this.underLock(async () => undefined));
    this.chain = run.then(noop, noop);
    return run;
  }

  /** Wait for every pending append, then fdatasync whatever is not yet on disk (any mode). */
  async flush(): Promise<void> {
    await this.chain;
    await this.background?.stop();
    const bgError = this.background?.takeError();
    if (bgError) throw bgError;
    await this.syncIfNeeded();
  }

  /**
   * Wait for pending appends, release the lock if a lease still holds it, and make the
   * appends durable as the mode says (balanced: one final fdatasync; strict: already done;
   * throughput: nothing). Idempotent.
   */
  async close(): Promise<void> {
    if (this.closing) {
      await this.chain;
      return;
    }
    this.closing = true;
    await this.chain;
    // First: nothing written from here on needs the lock, and other writers may be waiting.
    await this.lease.drop();
    await this.background?.stop();
    const bgError = this.background?.takeError();
    try {
      if (this.durability !== "throughput") await this.syncIfNeeded();
    } finally {
      await this.closeHandle();
    }
    if (bgError) throw bgError;
  }

  private async syncIfNeeded(): Promise<void> {
    if (!this.unsynced) return;
    // Cleared first: a write landing during the sync sets it again and gets its own sync.
    this.unsynced = false;
    try {
      await syncFile(this.file);
    } catch (err) {
      this.unsynced = true;
      throw err;
    }
  }

  // ---- internals: call-time preparation ----

  private assertOpen(): void {
    if (this.closing) throw new SessfmtError("E_CLOSED", "the session writer is closed", { file: this.file });
  }

  private assertKnown(id: string): void {
    if (!this.hasId(id)) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(id)}`, { file: this.file });
  }

  private enqueueNew(news: readonly NewEntry[], explicitParent: string | null | undefined): Promise<string[]> {
    try {
      this.assertOpen();
      if (news.length === 0) return Promise.resolve([]);
      for (const e of news) checkNewEntry(e, this.file);
      let first: ParentRef;
      if (explicitParent !== undefined) first = explicitParent;
      else if (this.parentMode === "fileTail" && !this.leafMovedExplicitly) first = TAIL;
      else first = this.leaf;
      const entries: PreparedEntry[] = [];
      const batchIds = new Set<string>();
      const taken = { has: (id: string) => this.hasId(id) || batchIds.has(id) };
      let parent: string | null = first === TAIL ? null : first;
      for (const e of news) {
        const id = generateEntryId(taken);
        batchIds.add(id);
        entries.push(prepareEntry(e, id, parent, new Date().toISOString()));
        parent = id;
      }
      const lines = entries.map((e) => serializeEntry(e, this.dialect, this.file));
      const batch: Batch = { entries, lines, firstParent: first, baseLeaf: explicitParent !== undefined ? explicitParent : first === TAIL ? TAIL : this.leaf };
      for (const id of batchIds) this.pendingIds.add(id);
      this.leaf = parent;
      this.leafMovedExplicitly = false;
      return this.schedule(batch).then(() => entries.map((e) => e.id));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private schedule(batch: Batch): Promise<void> {
    const run = this.chain.then(() => this.runBatch(batch));
    this.chain = run.then(noop, noop);
    return run;
  }

  private async runBatch(batch: Batch): Promise<void> {
    try {
      await this.underLock((fh, lock) => this.writeBatch(fh, lock, batch));
    } catch (err) {
      for (const e of batch.entries) {
        this.pendingIds.delete(e.id);
        if (!this.ids.has(e.id)) this.failed.set(e.id, batch.baseLeaf);
      }
      // A leaf that points at something never written falls back to where that batch started.
      while (this.leaf !== null && this.failed.has(this.leaf)) {
        const back = this.failed.get(this.leaf) as ParentRef;
        this.leaf = back === TAIL ? this.tail : back;
      }
      throw err;
    }
  }

  // ---- internals: under the lock ----

  /**
   * The append descriptor for the file now at the path, with that file's stat: the held
   * one while the path still names its inode (one stat), else a fresh open (after an
   * atomic rewrite or a first batch). Called under the lock.
   *
   * The stat is synchronous: on a local file system it costs a few microseconds, while a
   * round trip through libuv's thread pool costs tens, on every append.
   */
  private async appendHandle(): Promise<{ fh: FileHandle; st: Stats }> {
    const held = this.heldHandle();
    if (held) return held;
    if (this.handle) await this.closeHandle();
    let fh: FileHandle;
    try {
      fh = await open(this.file, APPEND_FLAGS);
    } catch (err) {
      throw ioError(err, this.file, "cannot open for appending");
    }
    let st: Stats;
    try {
      st = await fh.stat();
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw ioError(err, this.file, "cannot stat");
    }
    this.handle = fh;
    this.handleDev = st.dev;
    this.handleIno = st.ino;
    return { fh, st };
  }

  /** The held descriptor and the file's stat while the path still names its inode (one synchronous stat). */
  private heldHandle(): { fh: FileHandle; st: Stats } | undefined {
    if (!this.handle) return undefined;
    let st: Stats;
    try {
      st = statSync(this.file);
    } catch (err) {
      throw ioError(err, this.file, "cannot open for appending");
    }
    return st.dev === this.handleDev && st.ino === this.handleIno ? { fh: this.handle, st } : undefined;
  }

  private async closeHandle(): Promise<void> {
    this.cancelIdleClose();
    const fh = this.handle;
    this.handle = undefined;
    this.handleDev = -1;
    this.handleIno = -1;
    await fh?.close().catch(() => undefined);
  }

  /**
   * Close the held descriptor once no batch has used it for HANDLE_IDLE_MS (between
   * batches). One timer, restarted per batch: a new timer per append is garbage per append.
   */
  private scheduleIdleClose(): void {
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return;
    }
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      this.chain = this.chain.then(() => this.closeHandle(), noop);
    }, HANDLE_IDLE_MS);
    this.idleTimer.unref();
  }

  private cancelIdleClose(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /**
   * Run `fn` holding the lock, with the append descriptor. The lock comes from the lease:
   * kept after a successful batch for the next one (LockLease), released at once after a
   * failed one. A lock lost after the batch wrote is reported by the next batch (take).
   */
  private async underLock(fn: (fh: FileHandle, lock: LockHandle) => Promise<void>): Promise<void> {
    const bgError = this.background?.takeError();
    if (bgError) throw bgError;
    // The common case of a burst (lease still held, descriptor open, nobody else wrote)
    // takes no await before `fn`: each await is a promise and a turn of the microtask queue.
    const lock = this.lease.reuse() ?? (await this.lease.take());
    try {
      const { fh, st } = this.heldHandle() ?? (await this.appendHandle());
      if (!this.isCaughtUp(st)) await this.catchUp(fh, lock, st);
      await fn(fh, lock);
    } catch (err) {
      // A descriptor that failed under us is not trusted for the next batch.
      await this.closeHandle();
      await this.lease.drop();
      throw err;
    } finally {
      if (!this.closing) this.scheduleIdleClose();
    }
    const released = this.lease.keep();
    if (released) await released;
  }

  /** The file is the one this writer knows and ends where it accounted for: nothing to learn or repair. */
  private isCaughtUp(st: Stats): boolean {
    return st.dev === this.dev && st.ino === this.ino && st.size === this.boundary;
  }

  /** Learn what other writers appended and make sure the file ends at a line boundary. */
  private async catchUp(fh: FileHandle, lock: LockHandle, current: Stats): Promise<void> {
    const fstat = () => fh.stat().catch((err: unknown) => Promise.reject(ioError(err, this.file, "cannot stat")));
    let st = current;
    if (st.dev !== this.dev || st.ino !== this.ino || st.size < this.boundary) {
      await this.reload();
      st = await fstat();
      if (st.dev !== this.dev || st.ino !== this.ino) {
        throw new SessfmtError("E_SOURCE_CHANGED", "the session file was replaced again while it was being re-read", { file: this.file });
      }
    }
    if (st.size === this.boundary) return;
    let fragment = await this.scanNew(st.size);
    // pi appends without the lock, so a last line without "\n" may be one it is writing
    // right now: cut a line only once it has stopped growing.
    for (let tries = 1; fragment && !this.isCompleteLine(fragment); tries++) {
      await delay(TORN_SETTLE_MS);
      const now = await fstat();
      if (now.size === fragment.offset + fragment.length) break;
      if (tries >= TORN_SETTLE_TRIES) {
        throw new SessfmtError("E_LOCKED", "another program keeps writing to the file without the lock; nothing written, try again", {
          file: this.file,
          offset: fragment.offset,
        });
      }
      fragment = await this.scanNew(now.size);
    }
    if (fragment) await this.repairTail(fh, lock, fragment, fstat);
  }

  /** Learn the complete lines from the boundary to `end`; returns a last line without "\n". */
  private async scanNew(end: number): Promise<Fragment | undefined> {
    let fragment: Fragment | undefined;
    await scanFile(
      this.file,
      (bytes, span) => {
        if (span.eol === 0) {
          fragment = { offset: span.offset, length: span.length, line: span.line, oversize: span.oversize, bytes: Buffer.from(bytes) };
          return;
        }
        if (span.offset !== this.headerOffset) this.learn(bytes);
        this.boundary = span.offset + span.length + span.eol;
        this.boundaryLine = span.line + 1;
      },
      { startOffset: this.boundary, startLine: this.boundaryLine, endOffset: end, signal: this.opts.signal },
    );
    return fragment;
  }

  /** A last line that is a whole header or entry and only lacks its "\n". */
  private isCompleteLine(f: Fragment): boolean {
    return f.offset === this.headerOffset || (!f.oversize && entryFacts(f.bytes) !== undefined);
  }

  private async repairTail(fh: FileHandle, lock: LockHandle, f: Fragment, fstat: () => Promise<Stats>): Promise<void> {
    lock.assertHeld();
    const isHeader = f.offset === this.headerOffset;
    if (this.isCompleteLine(f)) {
      // A complete line that only lacks its "\n" (a writer died between the two): finish it.
      await writeFully(fh, Buffer.from("\n"), this.file);
      if (!isHeader) this.learn(f.bytes);
      this.boundary = f.offset + f.length + 1;
      this.boundaryLine = f.line + 1;
      this.report({
        code: "truncated_tail",
        line: f.line,
        offset: f.offset,
        message: `last line (${f.length} bytes) had no line end but is a complete ${isHeader ? "header" : "entry"}; the line end was restored`,
      });
      return;
    }
    const quarantine = await quarantineFragment(this.file, fh, f);
    if ((await fstat()).size !== f.offset + f.length) {
      // It grew after all: another program is writing it. Its bytes stay in the file (and
      // a copy in the quarantine file); nothing is cut.
      throw new SessfmtError("E_LOCKED", "another program is writing to the file without the lock; nothing written, try again", {
        file: this.file,
        offset: f.offset,
      });
    }
    try {
      await fh.truncate(f.offset);
    } catch (err) {
      throw ioError(err, this.file, `cannot cut the torn tail at byte ${f.offset}`);
    }
    this.unsynced = true;
    this.background?.schedule();
    this.report({
      code: "truncated_tail",
      line: f.line,
      offset: f.offset,
      message: `last line (${f.length} bytes) was incomplete; its bytes were moved to ${quarantine} and the file cut back to byte ${f.offset}`,
    });
  }

  private async writeBatch(fh: FileHandle, lock: LockHandle, batch: Batch): Promise<void> {
    const { entries, lines } = batch;
    const first = entries[0] as PreparedEntry;
    if (batch.firstParent === TAIL) {
      first.parentId = this.tail;
      lines[0] = serializeEntry(first, this.dialect, this.file);
    }
    const inBatch = new Set<string>();
    const known = (id: string) => this.ids.has(id) || inBatch.has(id);
    for (const e of entries) {
      if (known(e.id)) {
        throw new SessfmtError("E_DUPLICATE_ID", `entry id ${JSON.stringify(e.id)} was taken by another writer meanwhile; nothing written`, { file: this.file });
      }
      if (e.parentId !== null && !known(e.parentId)) {
        const why = this.failed.has(e.parentId) ? "was not written because an earlier append failed" : "is not in the file";
        throw new SessfmtError("E_ENTRY_NOT_FOUND", `parent ${JSON.stringify(e.parentId)} of entry ${JSON.stringify(e.id)} ${why}; nothing written`, {
          file: this.file,
        });
      }
      if (e.type === "label" && !known(e.targetId as string)) {
        throw new SessfmtError("E_ENTRY_NOT_FOUND", `label target ${JSON.stringify(e.targetId)} is not an entry; nothing written`, { file: this.file });
      }
      inBatch.add(e.id);
    }
    const buf = Buffer.from(`${lines.join("\n")}\n`, "utf8");
    lock.assertHeld();
    try {
      // strict: on the calling thread, as its fdatasync below (a strict append waits for
      // both anyway; each thread-pool round trip costs more than a small write).
      if (this.durability === "strict") writeFullySync(fh, buf, this.file);
      else await writeFully(fh, buf, this.file);
    } catch (err) {
      // Never leave part of a batch behind: cut back to where it started.
      await fh.truncate(this.boundary).catch(() => undefined);
      throw err;
    }
    for (const e of entries) {
      this.pendingIds.delete(e.id);
      this.failed.delete(e.id);
      this.noteEntry(e.id, e.type, e as Record<string, unknown>);
    }
    this.boundary += buf.length;
    this.boundaryLine += entries.length;
    this.unsynced = true;
    if (this.durability === "strict") {
      // Synchronous, like the write above (see AutosaveDurabilityMode), and under the lock:
      // a lease keeps it across the next append anyway.
      try {
        fdatasyncSync(fh.fd);
      } catch (err) {
        throw ioError(err, this.file, "entries were written but fsync failed");
      }
      this.unsynced = false;
      return;
    }
    this.background?.schedule();
  }

  // ---- internals: what is in the file ----

  private load(session: Session, ident: { dev: number; ino: number }): void {
    this.ids.clear();
    this.labelMap.clear();
    this.tail = null;
    for (const r of session.records) {
      this.ids.add(r.id);
      this.tail = r.id;
    }
    for (const [k, v] of session.labels) this.labelMap.set(k, v);
    this.nameValue = session.name;
    this.headerOffset = session.headerSpan.offset;
    const torn = session.diagnostics.truncatedTail;
    if (torn) {
      this.boundary = torn.offset;
      this.boundaryLine = torn.line;
    } else {
      let last = session.headerSpan.line;
      const lastRecord = session.records[session.records.length - 1];
      if (lastRecord) last = Math.max(last, lastRecord.line);
      for (const d of session.diagnostics.items) last = Math.max(last, d.line);
      this.boundary = session.size;
      this.boundaryLine = last + 1;
    }
    this.dev = ident.dev;
    this.ino = ident.ino;
  }

  /** The file was replaced (atomic rewrite) or cut: read it again from the start. */
  private async reload(): Promise<void> {
    const session = await openSession(this.file, { retainEntries: false, signal: this.opts.signal });
    if (session.header.id !== this.header.id) {
      throw new SessfmtError("E_SOURCE_CHANGED", `the file now holds another session (${session.header.id}); nothing written`, { file: this.file });
    }
    checkVersion(session, this.file);
    const st = await stat(this.file).catch((err: unknown) => Promise.reject(ioError(err, this.file, "cannot stat")));
    this.load(session, { dev: st.dev, ino: st.ino });
    if (this.leaf !== null && !this.hasId(this.leaf)) {
      throw new SessfmtError("E_SOURCE_CHANGED", `the file was rewritten and the leaf ${JSON.stringify(this.leaf)} is gone; reopen the writer`, { file: this.file });
    }
  }

  /** Record the facts of an appended line written by someone else. */
  private learn(bytes: Buffer): void {
    const facts = entryFacts(bytes);
    if (facts) this.noteEntry(facts.id, facts.type, facts.value);
  }

  private noteEntry(id: string, type: string, value: Record<string, unknown>): void {
    this.ids.add(id);
    this.tail = id;
    if (type === "label" && typeof value.targetId === "string") {
      if (typeof value.label === "string" && value.label) this.labelMap.set(value.targetId, value.label);
      else this.labelMap.delete(value.targetId);
    } else if (type === "session_info") {
      this.nameValue = typeof value.name === "string" ? value.name.trim() || undefined : undefined;
    }
  }

  private report(d: SessionDiagnostic): void {
    this.diagnostics.push(d);
    try {
      this.opts.onDiagnostic?.(d);
    } catch {
      // A failing callback must not turn a successful repair into a failed append.
    }
  }
}

function noop(): void {}

/** writeFully on the calling thread: all of `buf` at the descriptor's (O_APPEND) end. */
function writeFullySync(fh: FileHandle, buf: Buffer, file: string): void {
  for (let done = 0; done < buf.length; ) {
    let n: number;
    try {
      n = writeSync(fh.fd, buf, done, buf.length - done);
    } catch (err) {
      throw ioError(err, file, "write failed");
    }
    if (n === 0) throw new SessfmtError("E_IO", "write made no progress", { file });
    done += n;
  }
}

function checkVersion(session: Session, file: string): void {
  if (session.version < CURRENT_SESSION_VERSION) {
    throw new SessfmtError(
      "E_UNSUPPORTED_VERSION",
      `session version ${session.version} cannot take version-3 appends; upgrade it first (upgradeSession / sessfmt upgrade)`,
      { file },
    );
  }
  if (session.version > CURRENT_SESSION_VERSION) {
    throw new SessfmtError("E_UNSUPPORTED_VERSION", `session version ${session.version} is newer than this writer (version ${CURRENT_SESSION_VERSION})`, { file });
  }
}

function checkPrepared(e: PreparedEntry, file: string): void {
  if (e === null || typeof e !== "object" || typeof e.type !== "string" || e.type.length === 0 || e.type === "session") {
    throw new SessfmtError("E_INVALID_ENTRY", 'a prepared entry needs a non-empty string "type" other than "session"', { file });
  }
  if (typeof e.id !== "string" || e.id.length === 0) throw new SessfmtError("E_INVALID_ENTRY", "a prepared entry needs a string id", { file });
  if (e.parentId !== null && (typeof e.parentId !== "string" || e.parentId.length === 0)) {
    throw new SessfmtError("E_INVALID_ENTRY", `entry ${JSON.stringify(e.id)}: parentId must be a string or null`, { file });
  }
  if (typeof e.timestamp !== "string") throw new SessfmtError("E_INVALID_ENTRY", `entry ${JSON.stringify(e.id)}: timestamp must be a string`, { file });
  if (e.type === "label" && typeof e.targetId !== "string") {
    throw new SessfmtError("E_INVALID_ENTRY", `label entry ${JSON.stringify(e.id)} needs a string targetId`, { file });
  }
}
