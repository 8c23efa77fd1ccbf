import { availableParallelism } from "node:os";
import { SessfmtError } from "../format/errors.js";
import { discoverSessionFiles, type DiscoveredFile } from "./archive.js";
import { runOperation, type ArchiveOperation, type FileOutcome, type OperationOptions } from "./operations.js";
import { WorkerPool, workerAvailable, workerFailed, workerScript } from "./worker-pool.js";

export { workerAvailable };

/**
 * An archive run: one operation over every session file under the given paths, `jobs`
 * files at a time: with the built worker script (dist/), one in this thread and the others
 * in worker threads (worker-pool.ts), otherwise all concurrently in this thread. Outcomes
 * are delivered in the order the files were found, whatever order they finish in. An
 * abort stops new files from starting and aborts the ones in flight (each abandons
 * cleanly or finishes); files never started are reported as not started.
 */

export interface ArchiveProgress {
  filesDone: number;
  filesTotal: number;
  /** JSONL bytes of finished files plus the finished share of files in flight. */
  bytesDone: number;
  bytesTotal: number;
}

export interface ArchiveRunOptions {
  /** Files processed at once (default: the number of cores). */
  jobs?: number;
  followSymlinks?: boolean;
  stdin?: AsyncIterable<string | Buffer>;
  signal?: AbortSignal;
  /**
   * "auto" (default): with jobs > 1, more than one file and dist/'s worker script, jobs - 1
   * worker threads beside this thread; "always": every file in a worker thread (`jobs` of
   * them); "never": every file in this thread.
   */
  threads?: "auto" | "never" | "always";
  /** Called once the files are known, before any is processed. */
  onStart?: (files: readonly DiscoveredFile[]) => void;
  onProgress?: (p: ArchiveProgress) => void;
  /** Each file's outcome, in discovery order. */
  onFile?: (o: FileOutcome) => void;
  /** `*.jsonl` files passed over because they are not sessions. */
  onSkip?: (file: string, reason: string) => void;
  /** Directories that could not be read. */
  onError?: (err: SessfmtError) => void;
}

export interface ArchiveSummary {
  operation: ArchiveOperation;
  files: number;
  ok: number;
  failed: number;
  /** Files not started because the run was aborted. */
  notStarted: number;
  /** `*.jsonl` files that are not sessions. */
  skipped: number;
  /** Unreadable directories met while walking. */
  walkErrors: number;
  bytes: number;
  /** Files per outcome word (state, action, "verified", "failed", ...). */
  outcomes: Record<string, number>;
  /** Bytes per outcome word. */
  outcomeBytes: Record<string, number>;
  aborted: boolean;
  durationMs: number;
  /** Whether worker threads were used (this thread then runs one of the jobs too, unless threads: "always"). */
  threads: boolean;
  jobs: number;
}

export async function runArchive(op: ArchiveOperation, paths: readonly string[], given: OperationOptions, run: ArchiveRunOptions = {}): Promise<ArchiveSummary> {
  const started = Date.now();
  const jobs = Math.max(1, Math.floor(run.jobs ?? availableParallelism()));
  // Several jobs already use the cores: no file gets a second validation thread of its own.
  const options: OperationOptions = jobs > 1 && given.validationThread === undefined ? { ...given, validationThread: "never" } : given;
  const summary: ArchiveSummary = {
    operation: op,
    files: 0,
    ok: 0,
    failed: 0,
    notStarted: 0,
    skipped: 0,
    walkErrors: 0,
    bytes: 0,
    outcomes: {},
    outcomeBytes: {},
    aborted: false,
    durationMs: 0,
    threads: false,
    jobs,
  };
  if (run.threads === "always" && !workerAvailable()) throw new SessfmtError("E_NOT_FOUND", "worker threads need the built worker script (run npm run build)", { file: workerScript() });
  // Threads are used once a second file is found ("always": whatever is found), so workers
  // are started as soon as that is known and load their modules while the walk goes on.
  const threadsFrom = run.threads === "always" ? 0 : run.threads !== "never" && jobs > 1 && workerAvailable() ? 2 : Infinity;
  // With threads, this thread runs one of the jobs too (it has little else to do: take
  // the outcomes in order and print them), so `jobs` files need jobs - 1 workers;
  // "always" keeps every file in a worker.
  const hereLanes = run.threads === "always" ? 0 : 1;
  const pool = threadsFrom < Infinity ? new WorkerPool(op, options, jobs - hereLanes, { progress: run.onProgress !== undefined }) : undefined;
  try {
    let found = 0;
    const files = await discoverSessionFiles(paths, {
      ...(run.followSymlinks ? { followSymlinks: true } : {}),
      ...(run.stdin ? { stdin: run.stdin } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
      onFound: () => {
        if (++found >= threadsFrom) pool?.grow(found - hereLanes);
      },
      onSkip: (file, reason) => {
        summary.skipped++;
        run.onSkip?.(file, reason);
      },
      onError: (err) => {
        summary.walkErrors++;
        run.onError?.(err);
      },
    });
    summary.files = files.length;
    summary.bytes = files.reduce((n, f) => n + f.bytes, 0);
    summary.threads = pool !== undefined && files.length >= threadsFrom;
    run.onStart?.(files);
    await runFiles(op, files, options, jobs, summary, run, summary.threads && pool ? { pool, hereLanes } : undefined);
  } finally {
    await pool?.dispose();
  }
  summary.durationMs = Date.now() - started;
  return summary;
}

/** Run the found files, in `pool` or in this thread, and deliver every outcome (in order) into the summary. */
async function runFiles(
  op: ArchiveOperation,
  files: readonly DiscoveredFile[],
  options: OperationOptions,
  jobs: number,
  summary: ArchiveSummary,
  run: ArchiveRunOptions,
  threads: { pool: WorkerPool; hereLanes: number } | undefined,
): Promise<void> {
  // Delivery in discovery order, progress as files finish.
  const outcomes: (FileOutcome | undefined)[] = new Array(files.length);
  const partial = new Map<number, number>();
  let next = 0;
  let bytesFinished = 0;
  let filesDone = 0;
  const progress = () =>
    run.onProgress?.({
      filesDone,
      filesTotal: files.length,
      bytesDone: bytesFinished + [...partial.entries()].reduce((n, [i, frac]) => n + frac * (files[i] as DiscoveredFile).bytes, 0),
      bytesTotal: summary.bytes,
    });
  const started = new Uint8Array(files.length);
  const deliver = (i: number, o: FileOutcome) => {
    started[i] = 1;
    outcomes[i] = o;
    partial.delete(i);
    filesDone++;
    bytesFinished += (files[i] as DiscoveredFile).bytes;
    summary.outcomes[o.outcome] = (summary.outcomes[o.outcome] ?? 0) + 1;
    summary.outcomeBytes[o.outcome] = (summary.outcomeBytes[o.outcome] ?? 0) + o.bytes;
    if (o.outcome === "not started") summary.notStarted++;
    else if (o.ok) summary.ok++;
    else summary.failed++;
    while (next < files.length && outcomes[next]) {
      run.onFile?.(outcomes[next] as FileOutcome);
      outcomes[next] = undefined; // delivered: let it go
      next++;
    }
    progress();
  };
  const onProgress = (i: number, frac: number) => {
    partial.set(i, frac);
    progress();
  };
  progress();

  let cursor = 0;
  const take = threads ? () => threads.pool.take() : (): number | undefined => (run.signal?.aborted || cursor >= files.length ? undefined : cursor++);
  const lane = async () => {
    for (let i = take(); i !== undefined; i = take()) {
      const f = files[i] as DiscoveredFile;
      const o = await runOperation(op, f.file, f.bytes, options, run.signal, (done, total) => onProgress(i, total > 0 ? done / total : 0));
      deliver(i, o);
    }
  };
  const here = (n: number) => Promise.all(Array.from({ length: n }, lane));
  if (threads) {
    const inWorkers = Math.min(jobs, files.length) - threads.hereLanes;
    // The pool's list is in place once runInPool has been called, before this thread takes a file.
    await Promise.all([runInPool(threads.pool, files, inWorkers, deliver, run.onProgress ? onProgress : undefined, run.signal), here(threads.hereLanes)]);
    // Files left although the run was not stopped: every worker died and no lane ran here.
    for (let i = threads.pool.take(); i !== undefined; i = threads.pool.take()) deliver(i, workerFailed(files[i] as DiscoveredFile, threads.pool.lastCrash));
  } else await here(Math.min(jobs, Math.max(1, files.length)));
  if (run.signal?.aborted) summary.aborted = true;
  for (let i = 0; i < files.length; i++) {
    const f = files[i] as DiscoveredFile;
    if (!started[i]) deliver(i, { file: f.file, bytes: f.bytes, ok: false, outcome: "not started", error: { code: "E_ABORTED", message: "not started: the run was interrupted" }, durationMs: 0 });
  }
}

async function runInPool(
  pool: WorkerPool,
  files: readonly DiscoveredFile[],
  workers: number,
  deliver: (i: number, o: FileOutcome) => void,
  onProgress: ((i: number, frac: number) => void) | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  const onAbort = () => pool.stop();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) pool.stop();
  try {
    await pool.runFiles(files, workers, { deliver, ...(onProgress ? { onProgress } : {}) });
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
