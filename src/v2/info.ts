import { listSegmentFiles, readCheckpoints, readLedger, readManifestFile } from "./artifacts.js";
import { checkFreshness, readFingerprint, type Freshness, type FreshnessCheck, type SourceFingerprint } from "./fingerprint.js";
import { readIndexFile } from "./index-file.js";
import { readEntryTable } from "./entry-table-io.js";
import type { Manifest, StoreHead } from "./manifest.js";
import type { SidecarProblem } from "./problems.js";
import { checkRealDir } from "./fs-safe.js";
import { resolveTarget } from "./target.js";

export interface SegmentInfo {
  segmentSeq: number;
  /** Root-relative path. */
  file: string;
  bytes: number;
  /** Index rows pointing into it. */
  frames: number;
}

export interface SidecarInfo {
  root: string;
  file: string | undefined;
  exists: boolean;
  entries: number;
  /** Sum of the rows' byteLength. */
  bytes: number;
  segments: SegmentInfo[];
  head: StoreHead;
  /** The chain as the manifest and the fingerprint record it (info reads no frame). */
  chain: { manifest?: string; fingerprint?: string };
  manifestState: "ok" | "missing" | "invalid";
  manifest?: Manifest;
  fingerprintState: "ok" | "missing" | "invalid";
  fingerprint?: SourceFingerprint;
  /** How the JSONL relates to the sidecar. */
  freshness: Freshness;
  checkpoints: number;
  ledgerEvents: number;
  /** sessfmt's entry table (11.21): current (used by opens), or why it is not used. */
  entryTable: { state: "current" } | { state: "not used"; reason: string };
  /** Problems met while reading the index, checkpoints and ledger (not a validation). */
  problems: SidecarProblem[];
}

export interface InfoOptions {
  /** How freshness is checked (default "full": hash the indexed prefix of the JSONL). */
  check?: FreshnessCheck;
  signal?: AbortSignal;
}

/** Counts, segments, head, recorded chain and freshness of a sidecar. Reads no frame; writes nothing. */
export async function sidecarInfo(fileOrRoot: string, opts: InfoOptions = {}): Promise<SidecarInfo> {
  const target = await resolveTarget(fileOrRoot);
  const empty: SidecarInfo = {
    root: target.root,
    file: target.file,
    exists: false,
    entries: 0,
    bytes: 0,
    segments: [],
    head: { segmentSeq: 0, entrySeq: 0, entryId: "" },
    chain: {},
    manifestState: "missing",
    fingerprintState: "missing",
    freshness: { state: "unknown", reason: "no sidecar" },
    checkpoints: 0,
    ledgerEvents: 0,
    entryTable: { state: "not used", reason: "no sidecar" },
    problems: [],
  };
  if (!(await checkRealDir(target.root))) return empty;
  const idx = await readIndexFile(target.root, { signal: opts.signal });
  const segs = await listSegmentFiles(target.root);
  const frames = new Map<number, number>();
  for (const r of idx.rows) frames.set(r.segmentSeq, (frames.get(r.segmentSeq) ?? 0) + 1);
  const mf = await readManifestFile(target.root);
  const fp = await readFingerprint(target.root);
  const cps = await readCheckpoints(target.root);
  const ledger = await readLedger(target.root);
  const table = await readEntryTable(target.root);
  const last = idx.rows[idx.rows.length - 1];
  const info: SidecarInfo = {
    ...empty,
    exists: true,
    entries: idx.rows.length,
    bytes: idx.rows.reduce((n, r) => n + r.byteLength, 0),
    segments: segs.map((s) => ({ segmentSeq: s.segmentSeq, file: s.file, bytes: s.size, frames: frames.get(s.segmentSeq) ?? 0 })),
    head: last ? { segmentSeq: last.segmentSeq, entrySeq: last.entrySeq, entryId: last.entryId } : empty.head,
    chain: {},
    manifestState: mf.state,
    fingerprintState: fp.state,
    freshness: await checkFreshness(target.file, fp.state === "ok" ? fp.fingerprint : undefined, opts.check ?? "full", opts.signal),
    checkpoints: cps.checkpoints.length,
    ledgerEvents: ledger.events.length,
    entryTable: table.table ? { state: "current" } : { state: "not used", reason: table.reason },
    problems: [...idx.problems, ...cps.problems, ...ledger.problems],
  };
  if (mf.state === "ok") {
    info.manifest = mf.manifest;
    info.chain.manifest = mf.manifest.integrity.chainHash;
  }
  if (fp.state === "ok") {
    info.fingerprint = fp.fingerprint;
    info.chain.fingerprint = fp.fingerprint.chainHash;
  }
  return info;
}
