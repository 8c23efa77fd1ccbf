import { parentPort } from "node:worker_threads";
import { runOperation, type ArchiveOperation, type OperationOptions } from "./operations.js";

/**
 * Worker-thread entry of an archive run: runs one file's operation at a time for the
 * runner and reports progress and the outcome. An "abort" message aborts the file in
 * flight the same way an AbortSignal does in-process.
 */

export type WorkerRequest = { type: "run"; id: number; op: ArchiveOperation; file: string; bytes: number; options: OperationOptions } | { type: "abort" };

export type WorkerReply =
  | { type: "progress"; id: number; done: number; total: number }
  | { type: "done"; id: number; outcome: import("./operations.js").FileOutcome };

const port = parentPort;
if (port) {
  let current: AbortController | undefined;
  port.on("message", (msg: WorkerRequest) => {
    if (msg.type === "abort") {
      current?.abort(new Error("interrupted"));
      return;
    }
    const ac = new AbortController();
    current = ac;
    let last = 0;
    void runOperation(msg.op, msg.file, msg.bytes, msg.options, ac.signal, (done, total) => {
      // Progress is for a human's eyes: a few messages a second are plenty.
      const now = Date.now();
      if (now - last < 100 && done < total) return;
      last = now;
      port.postMessage({ type: "progress", id: msg.id, done, total } satisfies WorkerReply);
    }).then((outcome) => {
      if (current === ac) current = undefined;
      port.postMessage({ type: "done", id: msg.id, outcome } satisfies WorkerReply);
    });
  });
}
