import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { readFingerprint, validateSidecar, type OffsetIndexRow } from "../v2/index.js";
import { sha256OfRange } from "../v2/source-file.js";
import type { PrefixHash, ValidationReply, ValidationRequest } from "./validate-thread.js";

/**
 * Worker-thread entry of a threaded validation (validate-thread.ts): validates one sidecar
 * root and posts the report back, with the rows whose frame CRC and payload hash it took
 * as checked by the caller, and (when asked) the SHA-256 of the JSONL's indexed prefix. A failure is posted as such; the caller then validates in its
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
  // The prefix is hashed while the sidecar is validated (reads of the one interleave with
  // the other's work); a prefix that cannot be hashed here is hashed by the caller.
  const prefix = req.prefixOf ? prefixHash(req.root, req.prefixOf).catch(() => undefined) : Promise.resolve(undefined);
  Promise.all([validateSidecar(req.root, opts), prefix]).then(
    ([report, p]) => port.postMessage({ ok: true, report, prechecked, ...(p ? { prefix: p } : {}) } satisfies ValidationReply),
    (err: unknown) => port.postMessage({ ok: false, message: (err as Error)?.message ?? String(err) } satisfies ValidationReply),
  );
}

/** SHA-256 of the JSONL's indexed prefix by the root's fingerprint (undefined without one). */
async function prefixHash(root: string, file: string): Promise<PrefixHash | undefined> {
  const fp = await readFingerprint(root);
  if (fp.state !== "ok") return undefined;
  const end = fp.fingerprint.lastIndexedOffset;
  return { end, sha256: await sha256OfRange(file, 0, end) };
}
