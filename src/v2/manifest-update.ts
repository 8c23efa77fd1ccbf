import { SessfmtError } from "../format/errors.js";
import { readManifestFile, writeManifestFile } from "./artifacts.js";
import { collectStoreFacts, type FrameHeadFacts, type StoreFacts } from "./facts.js";
import { readFingerprint } from "./fingerprint.js";
import { readHeaderLine } from "./source-file.js";
import type { OffsetIndexRow } from "./index-row.js";
import { MANIFEST_FILES, MANIFEST_SCHEMA, STORE_VERSION, type Manifest } from "./manifest.js";

export interface PublishManifestOptions {
  /** The session id (default: the existing manifest's, else the fingerprint's). */
  sessionId?: string;
  /** The chain the writer computed; hashChainValid compares the frames' chain with it. */
  expectedChain: string;
  now: Date;
  /** Keep this createdAt (default: the existing manifest's, else now). */
  createdAt?: string;
  heads?: (FrameHeadFacts | undefined)[];
  /** The facts, already established (extendStoreFacts after an append); else collected here. */
  facts?: StoreFacts;
  /** The JSONL, whose header gives the session id when nothing in the root does. */
  file?: string;
}

/**
 * Recompute the store's facts and write manifest.json atomically. createdAt survives from
 * the previous manifest; every counter, the head, the chain and the invariants come from
 * collectStoreFacts (or from `facts`, when the caller extended the previous ones).
 */
export async function publishManifest(root: string, rows: readonly OffsetIndexRow[], opts: PublishManifestOptions): Promise<Manifest> {
  const prev = await readManifestFile(root);
  let sessionId = opts.sessionId ?? (prev.state === "ok" ? prev.manifest.sessionId : undefined);
  if (sessionId === undefined) {
    const fp = await readFingerprint(root);
    if (fp.state === "ok") sessionId = fp.fingerprint.sessionId;
  }
  if (sessionId === undefined && opts.file) {
    try {
      const h = JSON.parse((await readHeaderLine(opts.file)).bytes.toString("utf8").replace(/^\uFEFF/, "")) as { id?: unknown };
      if (typeof h.id === "string") sessionId = h.id;
    } catch {
      // no readable header: the id stays unknown
    }
  }
  if (sessionId === undefined || sessionId.length === 0) {
    throw new SessfmtError("E_SIDECAR_CORRUPT", "cannot write the manifest: the session id is unknown (no manifest, no source fingerprint)", { file: root });
  }
  const facts = opts.facts ?? (await collectStoreFacts(root, rows, { expectedChain: opts.expectedChain, heads: opts.heads }));
  const now = opts.now.toISOString();
  const m: Manifest = {
    schema: MANIFEST_SCHEMA,
    storeVersion: STORE_VERSION,
    sessionId,
    sourceFormat: "jsonl_v3",
    createdAt: opts.createdAt ?? (prev.state === "ok" ? prev.manifest.createdAt : now),
    updatedAt: now,
    head: facts.head,
    counters: facts.counters,
    files: { ...MANIFEST_FILES, segmentCount: facts.segmentCount },
    integrity: { chainHash: facts.chainHash, manifestHash: "", lastCrc32c: facts.lastCrc32c },
    invariants: facts.invariants,
  };
  await writeManifestFile(root, m);
  const written = await readManifestFile(root);
  if (written.state !== "ok") throw new SessfmtError("E_IO", "manifest.json does not read back", { file: root });
  return written.manifest;
}
