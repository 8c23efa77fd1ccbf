import { basename, dirname, join } from "node:path";
import { SessfmtError } from "../format/errors.js";
import { childPath, sidecarPath } from "../format/paths.js";

/**
 * Where everything lives inside a sidecar root. Every path is built from fixed names and
 * zero-padded numbers, never from entry ids or file contents, so nothing a session holds
 * can steer a write outside the root.
 */

export const SEGMENTS_DIR = "segments";
export const INDEX_DIR = "index";
export const CHECKPOINTS_DIR = "checkpoints";
export const MIGRATIONS_DIR = "migrations";
export const TMP_DIR = "tmp";
export const ROOT_DIRS = [SEGMENTS_DIR, INDEX_DIR, CHECKPOINTS_DIR, MIGRATIONS_DIR, TMP_DIR] as const;

export const INDEX_FILE = "index/offsets.jsonl";
/** sessfmt's own entry table (parents, types, locations in binary columns); the Rust port never reads it. */
export const ENTRY_TABLE_FILE = "index/sessfmt-entries.bin";
export const MANIFEST_FILE = "manifest.json";
export const LEDGER_FILE = "migrations/ledger.jsonl";
/** sessfmt's own state (the source fingerprint); the Rust port never reads it. */
export const SOURCE_FILE = "sessfmt-source.json";

/** Largest sequence number a 16-digit name can hold and a JS number represents exactly. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

function seqName(seq: number, ext: string, what: string): string {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) {
    throw new SessfmtError("E_INVALID_ARGUMENT", `${what} sequence ${seq} is not a positive integer`);
  }
  return `${String(seq).padStart(16, "0")}${ext}`;
}

/** `0000000000000001.seg` */
export function segmentFileName(segmentSeq: number): string {
  return seqName(segmentSeq, ".seg", "segment");
}

/** `segments/0000000000000001.seg` (relative to the root). */
export function segmentRelPath(segmentSeq: number): string {
  return `${SEGMENTS_DIR}/${segmentFileName(segmentSeq)}`;
}

/** `0000000000000001.json` */
export function checkpointFileName(checkpointSeq: number): string {
  return seqName(checkpointSeq, ".json", "checkpoint");
}

/** `checkpoints/0000000000000001.json`: also the checkpoint's canonical snapshotRef. */
export function checkpointRelPath(checkpointSeq: number): string {
  return `${CHECKPOINTS_DIR}/${checkpointFileName(checkpointSeq)}`;
}

/** Parse a 16-digit sequence file name (`<digits><ext>`), or undefined. */
export function parseSeqName(name: string, ext: string): number | undefined {
  if (!name.endsWith(ext)) return undefined;
  const stem = name.slice(0, -ext.length);
  if (!/^[0-9]{16}$/.test(stem)) return undefined;
  const n = Number(stem);
  return n >= 1 && Number.isSafeInteger(n) ? n : undefined;
}

/** Absolute path of a root-relative path made of the fixed names above. */
export function inRoot(root: string, rel: string): string {
  let p = root;
  for (const part of rel.split("/")) p = childPath(p, part);
  return p;
}

/** The sidecar root of a JSONL session file (`<dir>/<stem>.v2`). */
export function sidecarRootFor(jsonlFile: string): string {
  return sidecarPath(jsonlFile);
}

/** The JSONL file a root `<dir>/<stem>.v2` belongs to (`<dir>/<stem>.jsonl`), when the name says. */
export function jsonlFileFor(root: string): string | undefined {
  const name = basename(root);
  if (!name.endsWith(".v2") || name.length <= 3) return undefined;
  return join(dirname(root), `${name.slice(0, -3)}.jsonl`);
}
