import { hash } from "node:crypto";
import { isLowerSha256Hex, isUpperCrcHex } from "./hash.js";
import type { Decoded } from "./frame.js";

/**
 * Manifest codec: `manifest.json`, pretty-printed (two-space indent, no final newline).
 * integrity.manifestHash is the SHA-256 (lowercase hex) of the manifest's compact JSON
 * with manifestHash set to "" (keys in the order below, as serde_json writes them).
 */

export const MANIFEST_SCHEMA = "pi.session_store_v2.manifest.v1";
export const STORE_VERSION = 2;
export const SOURCE_FORMATS = ["jsonl_v3", "native_v2", "sqlite_v1"] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export interface StoreHead {
  segmentSeq: number;
  entrySeq: number;
  entryId: string;
}

export interface ManifestCounters {
  entriesTotal: number;
  messagesTotal: number;
  branchesTotal: number;
  compactionsTotal: number;
  bytesTotal: number;
}

export interface ManifestFiles {
  segmentDir: string;
  segmentCount: number;
  indexPath: string;
  checkpointDir: string;
  migrationLedgerPath: string;
}

export interface ManifestIntegrity {
  chainHash: string;
  manifestHash: string;
  lastCrc32c: string;
}

/** The seven invariants, each the outcome of a check (never assumed). */
export interface ManifestInvariants {
  parentLinksClosed: boolean;
  monotonicEntrySeq: boolean;
  monotonicSegmentSeq: boolean;
  indexWithinSegmentBounds: boolean;
  branchHeadsIndexed: boolean;
  checkpointsMonotonic: boolean;
  hashChainValid: boolean;
}

export interface Manifest {
  schema: string;
  storeVersion: number;
  sessionId: string;
  sourceFormat: string;
  createdAt: string;
  updatedAt: string;
  head: StoreHead;
  counters: ManifestCounters;
  files: ManifestFiles;
  integrity: ManifestIntegrity;
  invariants: ManifestInvariants;
}

export const INVARIANT_KEYS = [
  "parentLinksClosed",
  "monotonicEntrySeq",
  "monotonicSegmentSeq",
  "indexWithinSegmentBounds",
  "branchHeadsIndexed",
  "checkpointsMonotonic",
  "hashChainValid",
] as const;

export const MANIFEST_FILES: Omit<ManifestFiles, "segmentCount"> = {
  segmentDir: "segments/",
  indexPath: "index/offsets.jsonl",
  checkpointDir: "checkpoints/",
  migrationLedgerPath: "migrations/ledger.jsonl",
};

/** The manifest with its keys in canonical order (nested objects too). */
function ordered(m: Manifest): Manifest {
  return {
    schema: m.schema,
    storeVersion: m.storeVersion,
    sessionId: m.sessionId,
    sourceFormat: m.sourceFormat,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    head: { segmentSeq: m.head.segmentSeq, entrySeq: m.head.entrySeq, entryId: m.head.entryId },
    counters: {
      entriesTotal: m.counters.entriesTotal,
      messagesTotal: m.counters.messagesTotal,
      branchesTotal: m.counters.branchesTotal,
      compactionsTotal: m.counters.compactionsTotal,
      bytesTotal: m.counters.bytesTotal,
    },
    files: {
      segmentDir: m.files.segmentDir,
      segmentCount: m.files.segmentCount,
      indexPath: m.files.indexPath,
      checkpointDir: m.files.checkpointDir,
      migrationLedgerPath: m.files.migrationLedgerPath,
    },
    integrity: { chainHash: m.integrity.chainHash, manifestHash: m.integrity.manifestHash, lastCrc32c: m.integrity.lastCrc32c },
    invariants: Object.fromEntries(INVARIANT_KEYS.map((k) => [k, m.invariants[k]])) as unknown as ManifestInvariants,
  };
}

/** SHA-256 of the compact manifest with an empty manifestHash. */
export function manifestHash(m: Manifest): string {
  const o = ordered(m);
  o.integrity.manifestHash = "";
  return hash("sha256", JSON.stringify(o), "hex");
}

/** The manifest as written: manifestHash filled in, pretty-printed. */
export function encodeManifest(m: Manifest): string {
  const o = ordered(m);
  o.integrity.manifestHash = manifestHash(o);
  return JSON.stringify(o, null, 2);
}

function isNat(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function exactKeys(o: unknown, keys: readonly string[], what: string): string | undefined {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return `${what} is not a JSON object`;
  const have = Object.keys(o);
  for (const k of have) if (!keys.includes(k)) return `unknown ${what} field ${JSON.stringify(k)}`;
  for (const k of keys) if (!have.includes(k)) return `${what} has no ${JSON.stringify(k)}`;
  return undefined;
}

/** Decode manifest.json: shape, types, fixed file paths, and the manifest hash. */
export function decodeManifest(text: string): Decoded<Manifest> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `manifest is not valid JSON: ${(err as Error).message}` };
  }
  const bad =
    exactKeys(o, ["schema", "storeVersion", "sessionId", "sourceFormat", "createdAt", "updatedAt", "head", "counters", "files", "integrity", "invariants"], "manifest") ??
    exactKeys((o as Manifest).head, ["segmentSeq", "entrySeq", "entryId"], "manifest head") ??
    exactKeys((o as Manifest).counters, ["entriesTotal", "messagesTotal", "branchesTotal", "compactionsTotal", "bytesTotal"], "manifest counters") ??
    exactKeys((o as Manifest).files, ["segmentDir", "segmentCount", "indexPath", "checkpointDir", "migrationLedgerPath"], "manifest files") ??
    exactKeys((o as Manifest).integrity, ["chainHash", "manifestHash", "lastCrc32c"], "manifest integrity") ??
    exactKeys((o as Manifest).invariants, INVARIANT_KEYS, "manifest invariants");
  if (bad) return { ok: false, message: bad };
  const m = o as Manifest;
  if (m.schema !== MANIFEST_SCHEMA) return { ok: false, message: `unsupported manifest schema ${JSON.stringify(m.schema)}` };
  if (m.storeVersion !== STORE_VERSION) return { ok: false, message: `unsupported storeVersion ${JSON.stringify(m.storeVersion)}` };
  if (typeof m.sessionId !== "string" || m.sessionId.length === 0) return { ok: false, message: "manifest sessionId is not a non-empty string" };
  if (!(SOURCE_FORMATS as readonly unknown[]).includes(m.sourceFormat)) return { ok: false, message: `unsupported sourceFormat ${JSON.stringify(m.sourceFormat)}` };
  for (const k of ["createdAt", "updatedAt"] as const) {
    if (typeof m[k] !== "string" || Number.isNaN(Date.parse(m[k]))) return { ok: false, message: `manifest ${k} is not a timestamp` };
  }
  if (!isNat(m.head.segmentSeq) || !isNat(m.head.entrySeq) || typeof m.head.entryId !== "string") return { ok: false, message: "manifest head has ill-typed fields" };
  for (const k of ["entriesTotal", "messagesTotal", "branchesTotal", "compactionsTotal", "bytesTotal"] as const) {
    if (!isNat(m.counters[k])) return { ok: false, message: `manifest counters.${k} is not a non-negative integer` };
  }
  if (!isNat(m.files.segmentCount)) return { ok: false, message: "manifest files.segmentCount is not a non-negative integer" };
  for (const [k, v] of Object.entries(MANIFEST_FILES)) {
    if (m.files[k as keyof ManifestFiles] !== v) return { ok: false, message: `manifest files.${k} is not ${JSON.stringify(v)}` };
  }
  if (!isLowerSha256Hex(m.integrity.chainHash)) return { ok: false, message: "manifest integrity.chainHash is not 64 lowercase hex digits" };
  if (!isLowerSha256Hex(m.integrity.manifestHash)) return { ok: false, message: "manifest integrity.manifestHash is not 64 lowercase hex digits" };
  if (!isUpperCrcHex(m.integrity.lastCrc32c)) return { ok: false, message: "manifest integrity.lastCrc32c is not 8 uppercase hex digits" };
  for (const k of INVARIANT_KEYS) if (typeof m.invariants[k] !== "boolean") return { ok: false, message: `manifest invariants.${k} is not a boolean` };
  const expected = manifestHash(m);
  if (m.integrity.manifestHash !== expected) {
    return { ok: false, message: `manifest hash mismatch: recorded ${m.integrity.manifestHash}, computed ${expected}` };
  }
  return { ok: true, value: ordered(m) };
}
