import { stat, unlink } from "node:fs/promises";
import { openSession } from "../format/read.js";
import type { FrameHeadFacts } from "./facts.js";
import { fingerprintOf, linesOf, prefixEnd, writeFingerprint, type SourceFingerprint } from "./fingerprint.js";
import { payloadSha256 } from "./hash.js";
import { inRoot, SOURCE_FILE } from "./layout.js";
import { lstatOrUndefined } from "./fs-safe.js";

/**
 * After a repair changed which entries the store holds (rebuild, rollback), find the JSONL
 * prefix that holds exactly those entries and write its fingerprint. The first `n` entry
 * lines of the JSONL must hash to the stored payloads; if they do not (or there is no
 * JSONL), the fingerprint is removed and the sidecar's freshness becomes "unknown" until a
 * rebuild from the JSONL.
 */
export async function refitFingerprint(
  root: string,
  file: string | undefined,
  heads: readonly (FrameHeadFacts | undefined)[],
  chainHash: string,
  now: Date,
  signal?: AbortSignal,
): Promise<"rewritten" | "removed"> {
  const remove = async (): Promise<"removed"> => {
    if (await lstatOrUndefined(inRoot(root, SOURCE_FILE))) await unlink(inRoot(root, SOURCE_FILE));
    return "removed";
  };
  if (!file || !(await lstatOrUndefined(file))) return remove();
  const before = await stat(file);
  let session;
  try {
    session = await openSession(file, { retainEntries: false, signal });
  } catch {
    return remove();
  }
  const n = heads.length;
  const lines = linesOf(session);
  if (session.version < 3 || lines.records.length < n) return remove();
  let matches = true;
  session.forEachRaw(lines.records.slice(0, n), (bytes, r) => {
    const h = heads[r.index];
    if (!h || h.entryId !== r.id || payloadSha256(bytes) !== h.payloadSha256) matches = false;
  });
  if (!matches) return remove();
  const p = prefixEnd(lines, n);
  // With entries left after the prefix, record the prefix end as the size: the next
  // freshness check then sees the JSONL as "behind" and sync frames the rest.
  const partial = n < lines.records.length;
  const fp: SourceFingerprint = await fingerprintOf(
    file,
    p,
    {
      sessionId: session.id,
      headerSha256: payloadSha256(session.rawHeader()),
      entryCount: n,
      chainHash,
      sourceSize: partial ? p.end : session.size,
      sourceMtimeMs: partial ? 0 : before.mtimeMs,
      now,
    },
    signal,
  );
  await writeFingerprint(root, fp);
  return "rewritten";
}
