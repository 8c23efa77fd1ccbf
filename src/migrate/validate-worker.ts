import { parentPort, workerData, type MessagePort } from "node:worker_threads";
// The modules validation needs, not the whole v2 index: the thread's start-up is module loading.
import type { OffsetIndexRow } from "../v2/index-row.js";
import { validateSidecar } from "../v2/validate.js";
import type { ValidationReply, ValidationRequest } from "./validate-thread.js";
import { packRows } from "./prechecked-rows.js";

/**
 * Worker-thread entry of a threaded validation (validate-thread.ts): validates one sidecar
 * root and posts the report back, with the rows whose frame CRC and payload hash it took
 * as checked by the caller. A failure is posted as such; the caller then validates in its
 * own thread, where the same failure surfaces as the error it is.
 */

const port = parentPort;
if (port) {
  // The request comes with the worker, or (a thread started ahead of its work) as its first message.
  if (workerData) run(port, workerData as ValidationRequest);
  else port.once("message", (req: ValidationRequest) => run(port, req));
}

function run(port: MessagePort, req: ValidationRequest): void {
  const prechecked: OffsetIndexRow[] = [];
  const opts = {
    ...(req.maxFrameBytes !== undefined ? { maxFrameBytes: req.maxFrameBytes } : {}),
    prechecked: (row: OffsetIndexRow) => {
      prechecked.push(row);
      return true;
    },
  };
  validateSidecar(req.root, opts).then(
    (report) => {
      const packed = packRows(prechecked);
      port.postMessage({ ok: true, report, prechecked: packed } satisfies ValidationReply, [packed.nums.buffer as ArrayBuffer]);
    },
    (err: unknown) => port.postMessage({ ok: false, message: (err as Error)?.message ?? String(err) } satisfies ValidationReply),
  );
}
