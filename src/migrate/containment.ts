import { decodeFrame, payloadSha256 } from "../v2/index.js";
import { sha256 } from "./quarantine.js";
import { FrameReader, indexLines } from "./sidecar-read.js";
import { forEachLine, readLineBytes, type SourceScan } from "./source.js";

/**
 * Before sessfmt replaces or removes a sidecar on its own initiative (a rebuild of a stale
 * sidecar, a recovery), it proves the JSONL still holds every payload the sidecar stores,
 * so that nothing exists only in the sidecar. `rollback` is the one explicit, unconditional
 * discard and does not ask.
 */

export interface Containment {
  /** Every stored payload is a line of the JSONL. */
  proven: boolean;
  /** Frames read. */
  frames: number;
  /** Stored payloads that no JSONL line has (counted). */
  missing: number;
  /** Frames that could not be read or decoded (their content cannot be compared). */
  unreadable: number;
  /** The first payload the JSONL lacks. */
  first?: { entrySeq: number; entryId: string };
  reason: string;
}

/** Check that every frame's payload of the sidecar at `root` is a line of the scanned JSONL. */
export async function checkContainment(root: string, src: SourceScan, signal?: AbortSignal): Promise<Containment> {
  const lines = new Set<string>();
  await forEachLine(src, src.session.records, (b) => {
    lines.add(payloadSha256(b));
  });
  for (const l of [...src.invalid, ...(src.tornTail ? [src.tornTail] : [])]) {
    if (l.length > 64 << 20) continue;
    lines.add(sha256((await readLineBytes(src.file, l)).text));
  }
  const out: Containment = { proven: true, frames: 0, missing: 0, unreadable: 0, reason: "" };
  const reader = new FrameReader(root);
  try {
    for await (const l of indexLines(root, signal)) {
      if (!l.ok) {
        out.unreadable++;
        continue;
      }
      out.frames++;
      const read = await reader.read(l.row);
      const d = read.ok && read.bytes[read.bytes.length - 1] === 0x0a ? decodeFrame(read.bytes.subarray(0, -1)) : undefined;
      if (!d || !d.ok) {
        out.unreadable++;
        continue;
      }
      if (!lines.has(payloadSha256(d.value.payload))) {
        out.missing++;
        out.first ??= { entrySeq: l.row.entrySeq, entryId: l.row.entryId };
      }
    }
  } finally {
    await reader.close();
  }
  out.proven = out.missing === 0 && out.unreadable === 0;
  out.reason = out.proven
    ? `all ${out.frames} stored entries are lines of the JSONL`
    : [
        out.missing > 0 ? `${out.missing} stored entries are not in the JSONL (first: entrySeq ${out.first?.entrySeq}, id ${JSON.stringify(out.first?.entryId)})` : "",
        out.unreadable > 0 ? `${out.unreadable} stored frames or index rows cannot be read` : "",
      ]
        .filter(Boolean)
        .join("; ");
  return out;
}
