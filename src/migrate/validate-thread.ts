import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { isMainThread, Worker } from "node:worker_threads";
import { SessfmtError } from "../format/errors.js";
import type { ValidationReport } from "../v2/index.js";
import type { PackedRows } from "./prechecked-rows.js";

/**
 * validateSidecar in a second thread, so that verify's entry-by-entry comparison (this
 * thread) and the structural validation (that one) run at the same time on two cores.
 *
 * The worker skips the frame CRC and payload hash of every row, and says which rows those
 * were. The comparison checks both for every frame it vouches for; when it has vouched for
 * every such row, exactly as it found it, the worker's report is the one validating here
 * with the comparison's vouchers would give, and it is used. Otherwise (a frame the
 * comparison found wrong, or a row it did not see) the caller validates again in its own
 * thread, with its vouchers. A healthy sidecar is so validated once, in parallel.
 *
 * Only worth it for large sidecars (a worker costs tens of ms to start and load), only
 * from the main thread (archive runs with --jobs already put files in worker threads),
 * and only from the built package (the worker script is compiled JavaScript). Anything
 * that goes wrong in the worker yields no report, and the caller validates in-process.
 */

const WORKER_URL = new URL("./validate-worker.js", import.meta.url);

/** JSONL size from which validation gets its own thread. */
export const THREADED_VALIDATION_BYTES = 16 << 20;

export interface ValidationRequest {
  root: string;
  maxFrameBytes?: number;
}

export type ValidationReply = { ok: true; report: ValidationReport; prechecked: PackedRows } | { ok: false; message: string };

export interface ThreadedResult {
  report: ValidationReport;
  /** Rows whose CRC and payload hash the worker did not check: the caller must have. */
  prechecked: PackedRows;
}

export interface ThreadedValidation {
  /** The report, or undefined when the worker failed (validate in-process then). */
  result: Promise<ThreadedResult | undefined>;
  /** `result`, or E_ABORTED as soon as `signal` aborts (the worker is stopped). */
  wait(signal: AbortSignal | undefined, file: string): Promise<ThreadedResult | undefined>;
  /** Stop the worker (when the caller gives up before the result). */
  stop(): Promise<void>;
}

/** Whether the worker script is there (the built package) to run validation in a thread. */
export function validationThreadAvailable(): boolean {
  return existsSync(fileURLToPath(WORKER_URL));
}

/** Whether validating a sidecar of a `jsonlBytes`-byte session in a worker thread pays. */
export function threadedValidationPays(jsonlBytes: number): boolean {
  return isMainThread && jsonlBytes >= THREADED_VALIDATION_BYTES && validationThreadAvailable();
}

/** Start validating `root` in a worker thread. */
export function startThreadedValidation(req: ValidationRequest): ThreadedValidation {
  return prestartValidationThread().begin(req);
}

/**
 * A validation thread started before its request: its start-up (tens of ms of module
 * loading) overlaps the caller's own work, e.g. migrate's build of the sidecar the
 * thread will validate.
 */
export interface IdleValidationThread {
  /** Send the request (once): from here on, as startThreadedValidation. */
  begin(req: ValidationRequest): ThreadedValidation;
  /** Stop the worker (whether it was begun or not). */
  stop(): Promise<void>;
}

const FAILED: ThreadedValidation = { result: Promise.resolve(undefined), wait: async () => undefined, stop: async () => undefined };

/** Start a validation thread that waits for its request. */
export function prestartValidationThread(): IdleValidationThread {
  let worker: Worker;
  try {
    worker = new Worker(WORKER_URL, { workerData: null });
  } catch {
    return { begin: () => FAILED, stop: async () => undefined };
  }
  const result = new Promise<ThreadedResult | undefined>((resolve) => {
    worker.once("message", (msg: ValidationReply) => resolve(msg.ok ? { report: msg.report, prechecked: msg.prechecked } : undefined));
    worker.once("error", () => resolve(undefined));
    worker.once("exit", () => resolve(undefined));
  });
  const stop = async () => {
    await worker.terminate().catch(() => undefined);
  };
  // The worker ends by itself after its one message; terminate it anyway once answered.
  void result.then(stop);
  const wait = (signal: AbortSignal | undefined, file: string) => {
    if (!signal) return result;
    return new Promise<ThreadedResult | undefined>((resolve, reject) => {
      const onAbort = () => {
        void stop();
        reject(new SessfmtError("E_ABORTED", "validation aborted", { file, cause: signal.reason }));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      void result.then((r) => {
        signal.removeEventListener("abort", onAbort);
        resolve(r);
      });
    });
  };
  // An idle thread does not keep the process alive (a caller that fails before it begins
  // the validation still stops it; this is for one that does not).
  worker.unref();
  let begun = false;
  const begin = (req: ValidationRequest): ThreadedValidation => {
    if (begun) return FAILED;
    begun = true;
    try {
      worker.ref();
      worker.postMessage(req);
    } catch {
      void stop();
      return FAILED;
    }
    return { result, wait, stop };
  };
  return { begin, stop };
}
