import { performance } from "node:perf_hooks";
import { SessfmtError } from "./errors.js";
import type { AutosaveDurabilityMode } from "./durability.js";
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
import { SessionWriter, type SessionWriterOptions } from "./writer.js";
import type { AgentMessage, ContentBlock } from "./types.js";

/**
 * A write-behind queue for agents: appends and leaf moves return at once (ids, parents
 * and timestamps are fixed at call time, so callers can chain), and are written later,
 * coalesced into one batch (one lock, one write) per flush. Flushes happen on flush(),
 * on an interval, and at close().
 *
 * Failure handling follows the durability mode:
 * - strict: a failed flush makes flush()/close() reject with E_FLUSH_FAILED, and every
 *   append is refused with E_FLUSH_FAILED until a flush succeeds. The failed batch is
 *   kept and retried; nothing is dropped.
 * - balanced: failures go to `onError` and the queue keeps going; the failed batch is
 *   kept and retried on the next flush. Whatever still cannot be written at close() is
 *   dropped (counted in metrics().dropped) after onError has been told.
 * - throughput: as balanced, and by default close() does NOT flush: entries queued since
 *   the last flush are lost (counted in metrics().dropped). Set flushOnShutdown: true to
 *   keep them.
 */

export type AutosaveFlushTrigger = "manual" | "periodic" | "shutdown";

export interface AutosaveQueueMetrics {
  /** Mutations not yet written: queued, being flushed, or waiting for room. */
  pending: number;
  /** Writes saved by coalescing: the sum over successful flushes of (mutations - 1). */
  coalesced: number;
  /** Appends that found the queue full (and waited, or were rejected). */
  backpressureEvents: number;
  flushesStarted: number;
  flushesSucceeded: number;
  flushesFailed: number;
  /** Mutations (appends and leaf moves) in the last flush batch. */
  lastBatchSize: number;
  lastBatchDurationMs: number;
  lastTrigger: AutosaveFlushTrigger | null;
  /** Mutations given up at close (throughput without shutdown flush, or a failed one). */
  dropped: number;
  lastError: SessfmtError | undefined;
}

/** What the queue writes through; SessionWriter is one. Tests inject failing ones. */
export interface AutosaveSink {
  readonly durability: AutosaveDurabilityMode;
  readonly leafId: string | null;
  readonly file?: string;
  hasId(id: string): boolean;
  appendPrepared(entries: readonly PreparedEntry[], opts?: { leafAfter?: string | null }): Promise<void>;
  close(): Promise<void>;
}

export interface AutosaveQueueOptions {
  /** Error behaviour (see above); default: the sink's durability. */
  durability?: AutosaveDurabilityMode;
  /** Periodic flush interval (default 1000 ms; 0 = only manual and shutdown flushes). */
  intervalMs?: number;
  /** Most mutations held before appends wait or are refused (default 10 000). */
  maxPending?: number;
  /** When full: "wait" (default; the append's promise resolves when there is room) or "reject" (E_QUEUE_FULL). */
  onFull?: "wait" | "reject";
  /** Flush failures (and close-time losses) in balanced and throughput modes; strict ones too. */
  onError?: (err: SessfmtError, info: { trigger: AutosaveFlushTrigger; batchSize: number }) => void;
  /** Flush at close (default true, except throughput: false). */
  flushOnShutdown?: boolean;
  /** close() also closes the sink (default true). */
  closeSink?: boolean;
}

type Mutation = { kind: "append"; entry: PreparedEntry; leafAfter: string | null } | { kind: "leaf"; leafAfter: string | null };

interface Waiter {
  m: Mutation;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface FlushOutcome {
  error?: SessfmtError;
}

export class AutosaveQueue extends TypedAppends {
  readonly durability: AutosaveDurabilityMode;
  private readonly sink: AutosaveSink;
  private readonly opts: AutosaveQueueOptions;
  private readonly maxPending: number;
  private queued: Mutation[] = [];
  private inflight: Mutation[] = [];
  private waiters: Waiter[] = [];
  /** Ids handed out and not yet written. */
  private readonly reserved = new Set<string>();
  private leaf: string | null;
  private flushChain: Promise<FlushOutcome> = Promise.resolve({});
  private backgroundScheduled = false;
  private failure: SessfmtError | undefined;
  private closing = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly m: AutosaveQueueMetrics = {
    pending: 0,
    coalesced: 0,
    backpressureEvents: 0,
    flushesStarted: 0,
    flushesSucceeded: 0,
    flushesFailed: 0,
    lastBatchSize: 0,
    lastBatchDurationMs: 0,
    lastTrigger: null,
    dropped: 0,
    lastError: undefined,
  };

  constructor(sink: AutosaveSink, opts: AutosaveQueueOptions = {}) {
    super();
    this.sink = sink;
    this.opts = opts;
    this.durability = opts.durability ?? sink.durability;
    this.maxPending = Math.max(1, opts.maxPending ?? 10_000);
    this.leaf = sink.leafId;
    const interval = opts.intervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => this.kick("periodic"), interval);
      this.timer.unref();
    }
  }

  /** Open a session file for appending through a queue (the queue owns the writer). */
  static async open(file: string, opts: AutosaveQueueOptions & { writer?: SessionWriterOptions } = {}): Promise<AutosaveQueue> {
    const writer = await SessionWriter.open(file, { durability: opts.durability, ...opts.writer });
    return new AutosaveQueue(writer, opts);
  }

  /** The leaf after every mutation so far (written or not). */
  get leafId(): string | null {
    return this.leaf;
  }

  /** True when the id is in the file or handed out by this queue. */
  hasId(id: string): boolean {
    return this.reserved.has(id) || this.sink.hasId(id);
  }

  /** Copies of the entries not yet written, in order (e.g. to save them elsewhere after a failure). */
  unwritten(): PreparedEntry[] {
    const all = [...this.inflight, ...this.queued, ...this.waiters.map((w) => w.m)];
    return all.filter((m): m is Extract<Mutation, { kind: "append" }> => m.kind === "append").map((m) => structuredClone(m.entry));
  }

  metrics(): AutosaveQueueMetrics {
    return { ...this.m, pending: this.pendingCount() + this.waiters.length };
  }

  // ---- appends ----

  /**
   * Queue an append. The id, parent (the current leaf) and timestamp are fixed now, in
   * call order. Resolves with the id as soon as the queue has room for it (at once,
   * unless maxPending is reached); it is written by a later flush.
   */
  append(entry: NewEntry): Promise<string> {
    try {
      return this.enqueue(entry, undefined, true);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Queue an append without ever waiting: E_QUEUE_FULL when there is no room. Returns the id. */
  appendSync(entry: NewEntry): string {
    this.assertAccepting();
    if (this.isFull()) {
      this.m.backpressureEvents++;
      this.kick("periodic");
      throw new SessfmtError("E_QUEUE_FULL", `autosave queue is full (${this.maxPending} pending)`, { file: this.sink.file });
    }
    const m = this.prepare(entry, undefined);
    this.queued.push(m);
    return (m as { entry: PreparedEntry }).entry.id;
  }

  /** Move the leaf to `fromId` (null: before the first entry) and queue a branch_summary there. */
  branchWithSummary(fromId: string | null, summary: string, details?: unknown, fromHook?: boolean): Promise<string> {
    try {
      if (fromId !== null) this.assertKnown(fromId);
      return this.enqueue(branchSummaryEntry(fromId, summary, details, fromHook), fromId, true);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // ---- leaf moves: never wait, applied to the writer with the next flush ----

  branch(id: string): void {
    this.assertAccepting();
    this.assertKnown(id);
    this.moveLeaf(id);
  }

  resetLeaf(): void {
    this.assertAccepting();
    this.moveLeaf(null);
  }

  setLeaf(id: string | null): void {
    if (id === null) this.resetLeaf();
    else this.branch(id);
  }

  // ---- flushing and lifecycle ----

  /**
   * Write everything queued so far (and whatever waited for room). strict: rejects with
   * E_FLUSH_FAILED when a batch fails; other modes report to onError and resolve.
   */
  async flush(): Promise<void> {
    const outcome = await this.scheduleFlush("manual");
    if (outcome.error && this.durability === "strict") throw flushFailed(outcome.error, this.sink.file);
  }

  /**
   * Stop the periodic flush, flush (unless throughput without flushOnShutdown), and
   * close the sink. strict: rejects if the final flush fails; the queue then stays
   * closed to new appends and close() can be called again to retry, or called with
   * `discardUnwritten: true` to give up (take unwritten() first to keep them elsewhere).
   */
  async close(opts: { discardUnwritten?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const flushAtShutdown = this.opts.flushOnShutdown ?? this.durability !== "throughput";
    if (flushAtShutdown) {
      const outcome = await this.scheduleFlush("shutdown");
      if (outcome.error && this.durability === "strict" && !opts.discardUnwritten) throw flushFailed(outcome.error, this.sink.file);
    } else {
      await this.flushChain; // let a flush already under way finish
    }
    const left = this.queued.length + this.waiters.length;
    if (left > 0) {
      this.m.dropped += left;
      const err = new SessfmtError("E_CLOSED", `autosave queue closed with ${left} unwritten mutation(s); they were dropped`, { file: this.sink.file });
      for (const w of this.waiters) w.reject(err);
      this.report(err, "shutdown", left);
      this.queued = [];
      this.waiters = [];
      this.reserved.clear();
    }
    this.closed = true;
    if (this.opts.closeSink ?? true) {
      try {
        await this.sink.close();
      } catch (err) {
        const e = asSessfmtError(err, this.sink.file);
        if (this.durability === "strict") throw e;
        this.report(e, "shutdown", 0);
      }
    }
  }

  // ---- internals ----

  private pendingCount(): number {
    return this.queued.length + this.inflight.length;
  }

  private isFull(): boolean {
    return this.waiters.length > 0 || this.pendingCount() >= this.maxPending;
  }

  private assertAccepting(): void {
    if (this.closing) throw new SessfmtError("E_CLOSED", "the autosave queue is closed", { file: this.sink.file });
    if (this.failure) {
      throw new SessfmtError("E_FLUSH_FAILED", `an earlier flush failed and nothing new is accepted until a flush succeeds: ${bareMessage(this.failure, this.sink.file)}`, {
        file: this.sink.file,
        cause: this.failure,
      });
    }
  }

  private assertKnown(id: string): void {
    if (!this.hasId(id)) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(id)}`, { file: this.sink.file });
  }

  private enqueue(entry: NewEntry, explicitParent: string | null | undefined, mayWait: boolean): Promise<string> {
    this.assertAccepting();
    const full = this.isFull();
    if (full) {
      this.m.backpressureEvents++;
      this.kick("periodic");
      if (!mayWait || (this.opts.onFull ?? "wait") === "reject") {
        throw new SessfmtError("E_QUEUE_FULL", `autosave queue is full (${this.maxPending} pending)`, { file: this.sink.file });
      }
    }
    const m = this.prepare(entry, explicitParent);
    const id = (m as { entry: PreparedEntry }).entry.id;
    if (!full) {
      this.queued.push(m);
      return Promise.resolve(id);
    }
    return new Promise<string>((resolve, reject) => {
      this.waiters.push({ m, resolve: () => resolve(id), reject });
    });
  }

  /** Fix id, parent and timestamp now; snapshot the entry as the JSON that will be written. */
  private prepare(entry: NewEntry, explicitParent: string | null | undefined): Mutation {
    checkNewEntry(entry, this.sink.file);
    if (entry.type === "label") this.assertKnown(entry.targetId as string);
    const parent = explicitParent === undefined ? this.leaf : explicitParent;
    const id = generateEntryId({ has: (x) => this.hasId(x) });
    const prepared = prepareEntry(entry, id, parent, new Date().toISOString());
    // The JSON round trip validates (BigInt, cycles) and detaches the entry from the
    // caller's objects, which agents keep mutating (streamed messages).
    const snapshot = JSON.parse(serializeEntry(prepared, "ts", this.sink.file)) as PreparedEntry;
    this.reserved.add(id);
    this.leaf = id;
    return { kind: "append", entry: snapshot, leafAfter: id };
  }

  private moveLeaf(id: string | null): void {
    this.leaf = id;
    const m: Mutation = { kind: "leaf", leafAfter: id };
    // Behind waiting appends, so the order of mutations is the order of calls.
    if (this.waiters.length > 0) this.waiters.push({ m, resolve: () => undefined, reject: () => undefined });
    else this.queued.push(m);
  }

  /** Start a background flush unless one is already scheduled. */
  private kick(trigger: AutosaveFlushTrigger): void {
    if (this.backgroundScheduled || this.closed) return;
    if (this.queued.length === 0 && this.waiters.length === 0) return;
    this.backgroundScheduled = true;
    void this.scheduleFlush(trigger).finally(() => {
      this.backgroundScheduled = false;
    });
  }

  private scheduleFlush(trigger: AutosaveFlushTrigger): Promise<FlushOutcome> {
    const run = this.flushChain.then(() => this.drain(trigger));
    this.flushChain = run;
    return run;
  }

  /** Flush batches until nothing is queued or waiting, or a batch fails. */
  private async drain(trigger: AutosaveFlushTrigger): Promise<FlushOutcome> {
    for (;;) {
      this.admitWaiters();
      if (this.queued.length === 0) return {};
      const batch = this.queued;
      this.queued = [];
      this.inflight = batch;
      this.m.flushesStarted++;
      this.m.lastTrigger = trigger;
      this.m.lastBatchSize = batch.length;
      const entries: PreparedEntry[] = [];
      for (const m of batch) if (m.kind === "append") entries.push(m.entry);
      const leafAfter = (batch[batch.length - 1] as Mutation).leafAfter;
      const t0 = performance.now();
      try {
        await this.sink.appendPrepared(entries, { leafAfter });
      } catch (err) {
        this.m.lastBatchDurationMs = performance.now() - t0;
        this.m.flushesFailed++;
        // Keep the batch, in order, ahead of anything queued meanwhile: it is retried.
        this.queued = [...batch, ...this.queued];
        this.inflight = [];
        const e = asSessfmtError(err, this.sink.file);
        this.m.lastError = e;
        if (this.durability === "strict") this.failure = e;
        this.report(e, trigger, batch.length);
        return { error: e };
      }
      this.m.lastBatchDurationMs = performance.now() - t0;
      this.m.flushesSucceeded++;
      this.m.coalesced += batch.length - 1;
      for (const e of entries) this.reserved.delete(e.id);
      this.inflight = [];
      this.failure = undefined;
    }
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.pendingCount() < this.maxPending) {
      const w = this.waiters.shift() as Waiter;
      this.queued.push(w.m);
      w.resolve();
    }
  }

  private report(err: SessfmtError, trigger: AutosaveFlushTrigger, batchSize: number): void {
    try {
      this.opts.onError?.(err, { trigger, batchSize });
    } catch {
      // The handler's own failure must not break the queue.
    }
  }
}

function asSessfmtError(err: unknown, file: string | undefined): SessfmtError {
  if (err instanceof SessfmtError) return err;
  return new SessfmtError("E_FLUSH_FAILED", `flush failed: ${(err as Error)?.message ?? String(err)}`, { file, cause: err });
}

function flushFailed(err: SessfmtError, file: string | undefined): SessfmtError {
  if (err.code === "E_FLUSH_FAILED") return err;
  return new SessfmtError("E_FLUSH_FAILED", `flush failed (${err.code}): ${bareMessage(err, file)}`, { file, cause: err });
}

/** The message without the "<file>:" prefix SessfmtError adds, to avoid saying it twice. */
function bareMessage(err: SessfmtError, file: string | undefined): string {
  return file !== undefined && err.file === file && err.message.startsWith(`${file}:`) ? err.message.slice(file.length + 1).trimStart() : err.message;
}
