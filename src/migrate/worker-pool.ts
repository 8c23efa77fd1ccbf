import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { DiscoveredFile } from "./archive.js";
import { packFileList, type SharedFileList } from "./file-list.js";
import type { ArchiveOperation, FileOutcome, OperationOptions } from "./operations.js";
import { CONTROL, controlSlots, type WorkerInit, type WorkerReply, type WorkerRequest } from "./worker-protocol.js";

/**
 * The worker threads of an archive run. Workers can be started while the files are still
 * being found (a worker's start-up, mostly loading its modules, then overlaps the walk);
 * once the files are known they all get the list at once and pull files from a counter in
 * shared memory (worker.ts): no message per file goes to a worker, and no worker waits for
 * this thread between files. Outcomes come back one message per file.
 *
 * A worker that dies fails the file it was running (its slot in shared memory says which)
 * and a fresh one takes its place, as long as the dead one had run a file: a worker that
 * cannot even start does not respawn forever.
 */

const WORKER_URL = new URL("./worker.js", import.meta.url);

/** The worker script exists only in the built package (dist/); from sources the run stays in-process. */
export function workerAvailable(): boolean {
  return existsSync(workerScript());
}

export function workerScript(): string {
  return fileURLToPath(WORKER_URL);
}

export interface PoolCallbacks {
  /** File i's outcome (each file once). */
  deliver: (i: number, o: FileOutcome) => void;
  /** The finished share of file i; only when the pool was made with `progress`. */
  onProgress?: (i: number, frac: number) => void;
}

interface Lane {
  worker: Worker;
  /** Files this worker finished (or died on). */
  ran: number;
  crash?: Error;
}

interface Run {
  list: SharedFileList;
  files: readonly DiscoveredFile[];
  cb: PoolCallbacks;
  delivered: Uint8Array;
  finished: () => void;
}

export class WorkerPool {
  private readonly controlBuffer: SharedArrayBuffer;
  private readonly control: Int32Array;
  private readonly lanes: (Lane | undefined)[] = [];
  private live = 0;
  private run: Run | undefined;
  private disposed = false;
  /** Why the last worker that died did (for files left when every worker died). */
  lastCrash = "";

  private readonly progress: boolean;
  private readonly script: URL;

  /**
   * `maxLanes`: workers at most. `progress`: workers send progress messages. `script`: the
   * worker module (tests stand in their own).
   */
  constructor(
    private readonly op: ArchiveOperation,
    private readonly options: OperationOptions,
    private readonly maxLanes: number,
    opts: { progress?: boolean; script?: URL } = {},
  ) {
    this.progress = opts.progress === true;
    this.script = opts.script ?? WORKER_URL;
    this.controlBuffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * controlSlots(maxLanes));
    this.control = new Int32Array(this.controlBuffer);
    this.control.fill(-1, CONTROL.lanes);
  }

  /** Start workers until there are `n` (at most the pool's lanes). */
  grow(n: number): void {
    while (!this.disposed && this.lanes.length < Math.min(n, this.maxLanes)) this.spawn(this.lanes.length);
  }

  /** Take no more files; abort the ones in flight. */
  stop(): void {
    Atomics.store(this.control, CONTROL.stop, 1);
    for (const lane of this.lanes) lane?.worker.postMessage({ type: "abort" } satisfies WorkerRequest);
  }

  /**
   * Run the files with `workers` workers (at most the pool's lanes; more may have been
   * started early); resolves when every worker is done. The calling thread may take files
   * from the same list meanwhile (take()); it delivers their outcomes itself.
   */
  async runFiles(files: readonly DiscoveredFile[], workers: number, cb: PoolCallbacks): Promise<void> {
    if (this.run) throw new Error("a worker pool runs one list of files");
    this.grow(workers);
    const list = packFileList(files);
    const running = new Promise<void>((finished) => {
      this.run = { list, files, cb, delivered: new Uint8Array(files.length), finished };
      for (const lane of this.lanes) lane?.worker.postMessage({ type: "start", files: list } satisfies WorkerRequest);
      if (this.live === 0) finished();
    });
    await running;
  }

  /** The next file for the calling thread (see runFiles), or undefined when there is none or the run stopped. */
  take(): number | undefined {
    const run = this.run;
    if (!run || Atomics.load(this.control, CONTROL.stop) !== 0) return undefined;
    const i = Atomics.add(this.control, CONTROL.cursor, 1);
    return i < run.files.length ? i : undefined;
  }

  /** Stop workers that are still there (started early, then not needed, or after a failure). */
  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all(this.lanes.map((lane) => lane?.worker.terminate().catch(() => undefined)));
  }

  private spawn(index: number): void {
    const init: WorkerInit = { op: this.op, options: this.options, control: this.controlBuffer, lane: index, progress: this.progress };
    const lane: Lane = { worker: new Worker(this.script, { workerData: init }), ran: 0 };
    this.lanes[index] = lane;
    this.live++;
    lane.worker.on("message", (m: WorkerReply) => {
      if (m.type === "done") {
        lane.ran++;
        this.deliver(m.id, m.outcome);
      } else this.run?.cb.onProgress?.(m.id, m.total > 0 ? m.done / m.total : 0);
    });
    lane.worker.on("error", (err) => {
      lane.crash = err;
    });
    // Node delivers a worker's pending messages before "exit".
    lane.worker.on("exit", (code) => this.exited(index, lane, code));
    if (this.run) lane.worker.postMessage({ type: "start", files: this.run.list } satisfies WorkerRequest);
  }

  private exited(index: number, lane: Lane, code: number): void {
    this.live--;
    this.lanes[index] = undefined;
    const running = Atomics.exchange(this.control, CONTROL.lanes + index, -1);
    if (!this.disposed && (code !== 0 || lane.crash)) {
      const reason = lane.crash?.message ?? `exited with code ${code}`;
      this.lastCrash = reason;
      const run = this.run;
      if (run && running >= 0) {
        lane.ran++;
        this.deliver(running, workerFailed(run.files[running] as DiscoveredFile, reason));
      }
      const more = Atomics.load(this.control, CONTROL.stop) === 0 && Atomics.load(this.control, CONTROL.cursor) < (run?.files.length ?? Infinity);
      if (more && lane.ran > 0) return this.spawn(index);
    }
    if (this.live === 0) this.run?.finished();
  }

  private deliver(i: number, o: FileOutcome): void {
    const run = this.run;
    if (!run || run.delivered[i]) return;
    run.delivered[i] = 1;
    run.cb.deliver(i, o);
  }
}

export function workerFailed(f: DiscoveredFile, reason: string): FileOutcome {
  return { file: f.file, bytes: f.bytes, ok: false, outcome: "failed", error: { code: "E_IO", message: `${f.file}: worker thread failed: ${reason}` }, durationMs: 0 };
}
