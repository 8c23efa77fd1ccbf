import { parentPort, workerData } from "node:worker_threads";
import { FileListReader, type SharedFileList } from "./file-list.js";
import { runOperation } from "./operations.js";
import { CONTROL, type WorkerInit, type WorkerReply, type WorkerRequest } from "./worker-protocol.js";

/**
 * Worker-thread entry of an archive run (see worker-pool.ts). It loads its modules, waits
 * for the list of files, then takes the next file itself from a counter in shared memory
 * and runs it, until the files run out or the run is stopped. An "abort" message aborts
 * the file in flight the same way an AbortSignal does in-process.
 */

/** Progress is for a human's eyes: a few messages a second per file are plenty. */
const PROGRESS_INTERVAL_MS = 100;

const port = parentPort;
if (port) {
  const init = workerData as WorkerInit;
  const control = new Int32Array(init.control);
  let current: AbortController | undefined;
  port.on("message", (msg: WorkerRequest) => {
    if (msg.type === "abort") current?.abort(new Error("interrupted"));
    else void run(msg.files);
  });

  const progressFor = (id: number) => {
    if (!init.progress) return undefined;
    let last = 0;
    return (done: number, total: number) => {
      const now = Date.now();
      if (now - last < PROGRESS_INTERVAL_MS && done < total) return;
      last = now;
      port.postMessage({ type: "progress", id, done, total } satisfies WorkerReply);
    };
  };

  const run = async (list: SharedFileList) => {
    const files = new FileListReader(list);
    for (;;) {
      if (Atomics.load(control, CONTROL.stop) !== 0) break;
      const id = Atomics.add(control, CONTROL.cursor, 1);
      if (id >= list.count) break;
      // Published before any await, so the main thread knows which file a crash took down.
      Atomics.store(control, CONTROL.lanes + init.lane, id);
      const f = files.at(id);
      const ac = new AbortController();
      current = ac;
      const outcome = await runOperation(init.op, f.file, f.bytes, init.options, ac.signal, progressFor(id));
      current = undefined;
      Atomics.store(control, CONTROL.lanes + init.lane, -1);
      port.postMessage({ type: "done", id, outcome } satisfies WorkerReply);
    }
    // Closing the port ends the thread once the outcomes posted above are delivered.
    port.close();
  };
}
