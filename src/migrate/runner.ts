import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { SessfmtError } from "../format/errors.js";
import { discoverSessionFiles, type DiscoveredFile } from "./archive.js";
import { runOperation, type ArchiveOperation, type FileOutcome, type OperationOptions } from "./operations.js";
import type { WorkerReply, WorkerRequest } from "./worker.js";

/**
 * An archive run: one operation over every session file under the given paths, `jobs`
 * files at a time, in worker threads when the built worker script is there (dist/),
 * otherwise concurrently in this thread. Outcomes are delivered in the order the files
 * were found, whatever order they finish in. An abort stops new files from starting and
 * aborts the ones in flight (each abandons cleanly or finishes); files never started are
 * reported as not started.
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
  /** "auto" (default): worker threads when jobs > 1 and dist/'s worker script exists. */
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
  /** Whether worker threads were used. */
  threads: boolean;
  jobs: number;
}

const WORKER_URL = new URL("./worker.js", import.meta.url);

/** The worker script exists only in the built package (dist/); from sources the run stays in-process. */
export function workerAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

export async function runArchive(op: ArchiveOperation, paths: readonly string[], options: OperationOptions, run: ArchiveRunOptions = {}): Promise<ArchiveSummary> {
  const started = Date.now();
  const jobs = Math.max(1, Math.floor(run.jobs ?? availableParallelism()));
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
  const files = await discoverSessionFiles(paths, {
    ...(run.followSymlinks ? { followSymlinks: true } : {}),
    ...(run.stdin ? { stdin: run.stdin } : {}),
    ...(run.signal ? { signal: run.signal } : {}),
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
  run.onStart?.(files);

  const useThreads = run.threads === "always" ? true : run.threads === "never" ? false : jobs > 1 && files.length > 1 && workerAvailable();
  summary.threads = useThreads;
  if (useThreads && !workerAvailable()) throw new SessfmtError("E_NOT_FOUND", "worker threads need the built worker script (run npm run build)", { file: fileURLToPath(WORKER_URL) });

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
  const deliver = (i: number, o: FileOutcome) => {
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
  const started_ = new Set<number>();
  const notStarted = (i: number): FileOutcome => ({
    file: (files[i] as DiscoveredFile).file,
    bytes: (files[i] as DiscoveredFile).bytes,
    ok: false,
    outcome: "not started",
    error: { code: "E_ABORTED", message: "not started: the run was interrupted" },
    durationMs: 0,
  });
  progress();

  let cursor = 0;
  const take = (): number | undefined => {
    if (run.signal?.aborted) {
      summary.aborted = true;
      return undefined;
    }
    if (cursor >= files.length) return undefined;
    started_.add(cursor);
    return cursor++;
  };

  if (useThreads) await runInWorkers(op, files, options, Math.min(jobs, files.length), take, deliver, partial, progress, run.signal);
  else {
    const lane = async () => {
      for (let i = take(); i !== undefined; i = take()) {
        const f = files[i] as DiscoveredFile;
        const o = await runOperation(op, f.file, f.bytes, options, run.signal, (done, total) => {
          partial.set(i, total > 0 ? done / total : 0);
          progress();
        });
        deliver(i, o);
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, Math.max(1, files.length)) }, lane));
  }
  if (run.signal?.aborted) summary.aborted = true;
  for (let i = 0; i < files.length; i++) if (!started_.has(i)) deliver(i, notStarted(i));
  summary.durationMs = Date.now() - started;
  return summary;
}

async function runInWorkers(
  op: ArchiveOperation,
  files: readonly DiscoveredFile[],
  options: OperationOptions,
  n: number,
  take: () => number | undefined,
  deliver: (i: number, o: FileOutcome) => void,
  partial: Map<number, number>,
  progress: () => void,
  signal: AbortSignal | undefined,
): Promise<void> {
  const workers: Worker[] = [];
  const onAbort = () => {
    for (const w of workers) w.postMessage({ type: "abort" } satisfies WorkerRequest);
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await Promise.all(
      Array.from({ length: n }, async () => {
        let worker = new Worker(WORKER_URL);
        workers.push(worker);
        try {
          for (let i = take(); i !== undefined; i = take()) {
            const f = files[i] as DiscoveredFile;
            const index = i;
            const outcome = await new Promise<FileOutcome>((resolveOutcome) => {
              const onMessage = (m: WorkerReply) => {
                if (m.id !== index) return;
                if (m.type === "progress") {
                  partial.set(index, m.total > 0 ? m.done / m.total : 0);
                  progress();
                } else {
                  cleanup();
                  resolveOutcome(m.outcome);
                }
              };
              const onError = (err: Error) => {
                cleanup();
                resolveOutcome({ file: f.file, bytes: f.bytes, ok: false, outcome: "failed", error: { code: "E_IO", message: `${f.file}: worker thread failed: ${err.message}` }, durationMs: 0 });
              };
              const cleanup = () => {
                worker.off("message", onMessage);
                worker.off("error", onError);
              };
              worker.on("message", onMessage);
              worker.on("error", onError);
              worker.postMessage({ type: "run", id: index, op, file: f.file, bytes: f.bytes, options } satisfies WorkerRequest);
            });
            if (outcome.outcome === "failed" && outcome.error?.message.includes("worker thread failed")) {
              // A dead worker takes no more files; a fresh one does.
              await worker.terminate().catch(() => undefined);
              worker = new Worker(WORKER_URL);
              workers.push(worker);
            }
            deliver(index, outcome);
          }
        } finally {
          await worker.terminate().catch(() => undefined);
        }
      }),
    );
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
