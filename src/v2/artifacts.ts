import { readdirSync } from "node:fs";
import { dirname } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { syncDirectory } from "../format/durability.js";
import { writeFully } from "../format/atomic.js";
import { decodeCheckpoint, type Checkpoint } from "./checkpoint.js";
import { decodeLedgerEvent, checkLedgerEvent, encodeLedgerEvent, type MigrationEvent } from "./ledger.js";
import { decodeManifest, encodeManifest, type Manifest } from "./manifest.js";
import { CHECKPOINTS_DIR, checkpointRelPath, inRoot, LEDGER_FILE, MANIFEST_FILE, parseSeqName, SEGMENTS_DIR, segmentRelPath } from "./layout.js";
import { checkRealDir, checkRealDirSync, createExclusive, lstatOrUndefined, lstatOrUndefinedSync, openAppend, readControlFileSync, readSmallFileSync, writeFileAtomic } from "./fs-safe.js";
import { problem, type SidecarProblem } from "./problems.js";

/** Reading and writing the small files of a root: manifest, checkpoints, ledger, segment list. */

/** A small control file's text (synchronous reads: see fs-safe.ts); E_NOT_FOUND when it is gone. */
function readSmall(path: string, limit: number): string {
  const bytes = readSmallFileSync(path, limit);
  if (bytes === undefined) throw new SessfmtError("E_NOT_FOUND", "file vanished while being read", { file: path });
  return bytes.toString("utf8");
}

/** The Rust port's read limits for the control files. */
export const MAX_MANIFEST_BYTES = 1 << 20;
export const MAX_CHECKPOINT_BYTES = 1 << 20;

export type ManifestRead = { state: "missing" } | { state: "invalid"; message: string } | { state: "ok"; manifest: Manifest };

export async function readManifestFile(root: string): Promise<ManifestRead> {
  return readManifestFileSync(root);
}

/** readManifestFile, synchronously (it is one small read; see fs-safe.ts). */
export function readManifestFileSync(root: string): ManifestRead {
  const read = readControlFileSync(inRoot(root, MANIFEST_FILE), MAX_MANIFEST_BYTES);
  if (read.state !== "ok") return read;
  const d = decodeManifest(read.text);
  return d.ok ? { state: "ok", manifest: d.value } : { state: "invalid", message: d.message };
}

/** Write manifest.json atomically (temp + fsync + rename + directory fsync). */
export async function writeManifestFile(root: string, m: Manifest): Promise<string> {
  const text = encodeManifest(m);
  await writeFileAtomic(root, MANIFEST_FILE, text);
  return text;
}

export interface SegmentFile {
  segmentSeq: number;
  /** Root-relative path. */
  file: string;
  size: number;
}

/**
 * The `<16 digits>.seg` files of segments/, by sequence (other names, e.g. `.bak`, ignored).
 * A readdir and an lstat a segment, made synchronously (see fs-safe.ts).
 */
export async function listSegmentFiles(root: string): Promise<SegmentFile[]> {
  const dir = inRoot(root, SEGMENTS_DIR);
  if (!checkRealDirSync(dir)) return [];
  const out: SegmentFile[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw ioError(err, dir, "cannot list the directory");
  }
  for (const name of names) {
    const seq = parseSeqName(name, ".seg");
    if (seq === undefined) continue;
    const size = segmentSize(inRoot(root, segmentRelPath(seq)));
    if (size !== undefined) out.push({ segmentSeq: seq, file: segmentRelPath(seq), size });
  }
  return out.sort((a, b) => a.segmentSeq - b.segmentSeq);
}

/**
 * The sizes of these segments (by sequence) that exist, each found with one lstat; the same
 * refusals as listSegmentFiles for a segment that is a symlink or not a regular file.
 */
export function segmentSizes(root: string, seqs: Iterable<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const seq of seqs) {
    const size = segmentSize(inRoot(root, segmentRelPath(seq)));
    if (size !== undefined) out.set(seq, size);
  }
  return out;
}

function segmentSize(path: string): number | undefined {
  const st = lstatOrUndefinedSync(path);
  if (!st) return undefined;
  if (st.isSymbolicLink()) throw new SessfmtError("E_PATH_UNSAFE", "segment is a symbolic link; refusing to follow it", { file: path });
  if (!st.isFile()) throw new SessfmtError("E_NOT_A_FILE", "segment is not a regular file", { file: path });
  return st.size;
}

export interface CheckpointsRead {
  /** Valid checkpoints, by checkpointSeq. */
  checkpoints: Checkpoint[];
  /** Files that do not decode, and order violations. */
  problems: SidecarProblem[];
  /** The sequence numbers of every checkpoint file (valid or not). */
  seqs: number[];
}

/** Read checkpoints/: every `<16 digits>.json`, checked and ordered. */
export async function readCheckpoints(root: string): Promise<CheckpointsRead> {
  const out: CheckpointsRead = { checkpoints: [], problems: [], seqs: [] };
  const dir = inRoot(root, CHECKPOINTS_DIR);
  if (!checkRealDirSync(dir)) return out;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw ioError(err, dir, "cannot list the directory");
  }
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const seq = parseSeqName(name, ".json");
    if (seq === undefined) {
      out.problems.push(problem("checkpoint_invalid", `checkpoint file name ${JSON.stringify(name)} is not <16 digits>.json`, { file: `${CHECKPOINTS_DIR}/${name}` }));
      continue;
    }
    out.seqs.push(seq);
    const rel = checkpointRelPath(seq);
    let text: string;
    try {
      text = readSmall(inRoot(root, rel), MAX_CHECKPOINT_BYTES);
    } catch (err) {
      if (err instanceof SessfmtError && (err.code === "E_SIDECAR_CORRUPT" || err.code === "E_PATH_UNSAFE" || err.code === "E_NOT_A_FILE")) {
        out.problems.push(problem("checkpoint_invalid", err.message, { file: rel }));
        continue;
      }
      throw err;
    }
    const d = decodeCheckpoint(text, seq);
    if (!d.ok) out.problems.push(problem("checkpoint_invalid", d.message, { file: rel }));
    else out.checkpoints.push(d.value);
  }
  out.seqs.sort((a, b) => a - b);
  out.checkpoints.sort((a, b) => a.checkpointSeq - b.checkpointSeq);
  for (let i = 1; i < out.checkpoints.length; i++) {
    const prev = out.checkpoints[i - 1] as Checkpoint;
    const c = out.checkpoints[i] as Checkpoint;
    if (c.headEntrySeq < prev.headEntrySeq || c.compactedBeforeEntrySeq < prev.compactedBeforeEntrySeq) {
      out.problems.push(problem("checkpoint_order", `checkpoint ${c.checkpointSeq} is behind checkpoint ${prev.checkpointSeq} (head ${c.headEntrySeq} < ${prev.headEntrySeq})`, { file: checkpointRelPath(c.checkpointSeq) }));
    }
  }
  return out;
}

export interface LedgerRead {
  events: MigrationEvent[];
  problems: SidecarProblem[];
}

/** Read migrations/ledger.jsonl; lines that do not decode become problems. */
export async function readLedger(root: string): Promise<LedgerRead> {
  const out: LedgerRead = { events: [], problems: [] };
  const path = inRoot(root, LEDGER_FILE);
  // A few KB (an event a migration step): read with synchronous calls (see fs-safe.ts).
  const bytes = readSmallFileSync(path, Number.MAX_SAFE_INTEGER);
  if (bytes === undefined) return out;
  const text = bytes.toString("utf8");
  const lines = text.split("\n");
  let offset = 0;
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    if (last && line === "") return;
    if (last) out.problems.push(problem("ledger_invalid", "last ledger line has no line end", { file: LEDGER_FILE, line: i + 1, offset }));
    else if (line.trim() !== "") {
      const d = decodeLedgerEvent(line.endsWith("\r") ? line.slice(0, -1) : line);
      if (d.ok) out.events.push(d.value);
      else out.problems.push(problem("ledger_invalid", d.message, { file: LEDGER_FILE, line: i + 1, offset }));
    }
    offset += Buffer.byteLength(line, "utf8") + 1;
  });
  return out;
}

/**
 * Append one event to the ledger durably. The ledger is evidence: an event that breaks
 * the contract, or a ledger that is already damaged, is refused without writing.
 */
export async function appendLedgerEvent(root: string, event: MigrationEvent): Promise<void> {
  const c = checkLedgerEvent(JSON.parse(encodeLedgerEvent(event)));
  const path = inRoot(root, LEDGER_FILE);
  if (!c.ok) throw new SessfmtError("E_INVALID_ARGUMENT", `migration event refused: ${c.message}`, { file: path });
  const existing = await readLedger(root);
  if (existing.problems.length > 0) {
    throw new SessfmtError("E_SIDECAR_CORRUPT", `the ledger is damaged (${existing.problems[0]?.message}); not appending`, { file: path, data: { problems: existing.problems } });
  }
  await checkRealDir(dirname(path));
  const exists = await lstatOrUndefined(path);
  const fh = exists ? await openAppend(path) : await createExclusive(path);
  try {
    await writeFully(fh, Buffer.from(encodeLedgerEvent(event), "utf8"), path);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await syncDirectory(dirname(path));
}
