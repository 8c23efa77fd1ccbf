// A stand-in for dist/migrate/worker.js in the worker pool tests: the same protocol
// (worker-protocol.ts: shared counter, lane slots, "start"/"abort", "done" replies), with
// files whose names say what to do: "crash" throws, "exit" ends the thread, "hang" sends
// a progress message and waits for an abort, anything else is "verified" at once.
import { parentPort, workerData } from "node:worker_threads";

const CURSOR = 0;
const STOP = 1;
const LANES = 2;
const control = new Int32Array(workerData.control);
let abortCurrent;

function fileAt(list, i) {
  const rows = new Float64Array(list.table);
  const start = i === 0 ? 0 : rows[2 * i - 2];
  return { file: Buffer.from(list.paths, start, rows[2 * i] - start).toString("utf8"), bytes: rows[2 * i + 1] };
}

async function run(list) {
  for (;;) {
    if (Atomics.load(control, STOP) !== 0) break;
    const id = Atomics.add(control, CURSOR, 1);
    if (id >= list.count) break;
    Atomics.store(control, LANES + workerData.lane, id);
    const f = fileAt(list, id);
    if (f.file.includes("crash")) throw new Error(`crashed on ${f.file}`);
    if (f.file.includes("exit")) process.exit(3);
    let outcome = "verified";
    if (f.file.includes("hang")) {
      const aborted = new Promise((resolve) => (abortCurrent = resolve));
      parentPort.postMessage({ type: "progress", id, done: 0, total: 1 });
      await aborted;
      outcome = "aborted";
    }
    Atomics.store(control, LANES + workerData.lane, -1);
    parentPort.postMessage({ type: "done", id, outcome: { file: f.file, bytes: f.bytes, ok: outcome === "verified", outcome, durationMs: 0 } });
  }
  parentPort.close();
}

parentPort.on("message", (m) => {
  if (m.type === "abort") abortCurrent?.();
  else void run(m.files);
});
