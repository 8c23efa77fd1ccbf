import { stat } from "node:fs/promises";
import { basename } from "node:path";
import type { Session } from "../format/session.js";
import type { EntryRecord } from "../format/record.js";
import { isLowerSha256Hex } from "./hash.js";
import { inRoot, SOURCE_FILE } from "./layout.js";
import { readControlFileSync, writeFileAtomic } from "./fs-safe.js";
import { readHeaderLine, readRange, sha256OfRange } from "./source-file.js";
import { payloadSha256 } from "./hash.js";
import type { Decoded } from "./frame.js";

/**
 * The source fingerprint: sessfmt's record of which bytes of the JSONL the sidecar holds,
 * kept in `sessfmt-source.json` inside the root (never in a file the Rust port defines).
 * The indexed prefix is bytes [0, lastIndexedOffset) of the JSONL: every line up to the
 * last one that ends in "\n", or, when the file's last line has no "\n" but is a valid
 * entry (and so is in the sidecar), up to the end of that line's text (`openTail`).
 */
export const SOURCE_FINGERPRINT_SCHEMA = "sessfmt.v2_source_fingerprint.v1";
/** Bytes at the end of the prefix hashed separately for the quick freshness check. */
export const TAIL_HASH_BYTES = 64 * 1024;

export interface SourceFingerprint {
  schema: string;
  /** The session id from the header. */
  sessionId: string;
  /** File name of the JSONL (informational). */
  sourceFile: string;
  /** Size and mtime of the JSONL when it was last indexed. */
  sourceSize: number;
  sourceMtimeMs: number;
  /** SHA-256 of the header line's bytes. */
  headerSha256: string;
  /** End of the indexed prefix: the byte where the next unindexed line starts. */
  lastIndexedOffset: number;
  /** Physical line number of the last line inside the prefix. */
  lastIndexedLine: number;
  /** The prefix ends in the middle of a line: its text is indexed, its "\n" not yet written. */
  openTail: boolean;
  /** SHA-256 of bytes [0, lastIndexedOffset). */
  indexedSha256: string;
  /** SHA-256 of the last min(64 KiB, lastIndexedOffset) bytes of the prefix. */
  indexedTailSha256: string;
  /** Entries in the sidecar and the chain after the last one, when the fingerprint was written. */
  entryCount: number;
  chainHash: string;
  updatedAt: string;
}

const KEYS = [
  "schema",
  "sessionId",
  "sourceFile",
  "sourceSize",
  "sourceMtimeMs",
  "headerSha256",
  "lastIndexedOffset",
  "lastIndexedLine",
  "openTail",
  "indexedSha256",
  "indexedTailSha256",
  "entryCount",
  "chainHash",
  "updatedAt",
] as const;

export function encodeFingerprint(f: SourceFingerprint): string {
  const o: Record<string, unknown> = {};
  for (const k of KEYS) o[k] = f[k];
  return `${JSON.stringify(o, null, 2)}\n`;
}

export function decodeFingerprint(text: string): Decoded<SourceFingerprint> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `${SOURCE_FILE} is not valid JSON: ${(err as Error).message}` };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: `${SOURCE_FILE} is not a JSON object` };
  const f = o as Record<string, unknown>;
  if (f.schema !== SOURCE_FINGERPRINT_SCHEMA) return { ok: false, message: `unsupported schema ${JSON.stringify(f.schema)}` };
  for (const k of ["sourceSize", "sourceMtimeMs", "lastIndexedOffset", "lastIndexedLine", "entryCount"]) {
    if (typeof f[k] !== "number" || !Number.isFinite(f[k]) || (f[k] as number) < 0) return { ok: false, message: `${k} is not a non-negative number` };
  }
  for (const k of ["sessionId", "sourceFile", "updatedAt"]) if (typeof f[k] !== "string") return { ok: false, message: `${k} is not a string` };
  for (const k of ["headerSha256", "indexedSha256", "indexedTailSha256", "chainHash"]) if (!isLowerSha256Hex(f[k])) return { ok: false, message: `${k} is not a SHA-256 hex digest` };
  if (typeof f.openTail !== "boolean") return { ok: false, message: "openTail is not a boolean" };
  return { ok: true, value: f as unknown as SourceFingerprint };
}

export type FingerprintRead = { state: "missing" } | { state: "invalid"; message: string } | { state: "ok"; fingerprint: SourceFingerprint };

/** The fingerprint file's read limit: it holds a few hundred bytes. */
export const MAX_FINGERPRINT_BYTES = 1 << 20;

export async function readFingerprint(root: string): Promise<FingerprintRead> {
  return readFingerprintSync(root);
}

/** readFingerprint, synchronously (it is one small read; see fs-safe.ts). */
export function readFingerprintSync(root: string): FingerprintRead {
  const read = readControlFileSync(inRoot(root, SOURCE_FILE), MAX_FINGERPRINT_BYTES);
  if (read.state !== "ok") return read;
  const d = decodeFingerprint(read.text);
  return d.ok ? { state: "ok", fingerprint: d.value } : { state: "invalid", message: d.message };
}

export async function writeFingerprint(root: string, f: SourceFingerprint): Promise<void> {
  await writeFileAtomic(root, SOURCE_FILE, encodeFingerprint(f));
}

/** Where an indexed prefix ends, in the coordinates of the lines it was computed from. */
export interface PrefixEnd {
  /** First byte after the prefix. */
  end: number;
  /** Physical line of the last line in the prefix. */
  lastLine: number;
  openTail: boolean;
}

/** What prefixEnd needs to know about an opened run of lines. */
export interface LinesView {
  /** The records the sidecar holds (see linesOf). */
  records: readonly EntryRecord[];
  /** The first line (the header): where it is. */
  first: { line: number; offset: number; length: number; eol: number };
  /** Bytes scanned. */
  size: number;
  /** The last physical line seen, and whether it lacked a "\n" (its offset then). */
  lastLine: number;
  unterminated?: { line: number; offset: number };
}

/**
 * The LinesView of an opened session. Its records are the session's records, except a
 * last line without "\n" whose text ends in "\r": that is half of a "\r\n", so the line
 * is not final yet and is left for the next sync.
 */
export function linesOf(session: Session): LinesView {
  let lastLine = session.headerSpan.line;
  let records = session.records;
  const last = records[records.length - 1];
  if (last && last.eol === 0 && last.length > 0) {
    let cr = false;
    session.forEachRaw([last], (b) => {
      cr = b[b.length - 1] === 0x0d;
    });
    if (cr) records = records.slice(0, -1);
  }
  if (last && last.line > lastLine) lastLine = last.line;
  let unterminated: LinesView["unterminated"];
  for (const d of session.diagnostics.items) {
    if (d.line > lastLine) lastLine = d.line;
    if (d.code === "truncated_tail") unterminated = { line: d.line, offset: d.offset };
  }
  const s = session.headerSpan;
  const view: LinesView = { records, first: { line: s.line, offset: s.offset, length: s.length, eol: s.eol }, size: session.size, lastLine };
  if (unterminated) view.unterminated = unterminated;
  return view;
}

/**
 * The end of the prefix that holds the first `k` records (all of them by default). With
 * all records, the prefix takes every line that ends in "\n" (skipped and blank lines
 * included: they are final); a last line without "\n" is inside it only if it is a record.
 */
export function prefixEnd(v: LinesView, k: number = v.records.length): PrefixEnd {
  if (k < v.records.length) {
    if (k === 0) return { end: v.first.offset + v.first.length + v.first.eol, lastLine: v.first.line, openTail: v.first.eol === 0 };
    const r = v.records[k - 1] as EntryRecord;
    return { end: r.offset + r.length + r.eol, lastLine: r.line, openTail: false };
  }
  const u = v.unterminated;
  if (!u) return { end: v.size, lastLine: v.lastLine, openTail: false };
  const last = v.records[v.records.length - 1];
  if (last && last.offset === u.offset) return { end: last.offset + last.length, lastLine: u.line, openTail: true };
  if (v.first.offset === u.offset) return { end: v.first.offset + v.first.length, lastLine: u.line, openTail: true };
  return { end: u.offset, lastLine: u.line - 1, openTail: false };
}

/** Build the fingerprint of a JSONL file for a prefix that has been indexed. */
export async function fingerprintOf(
  file: string,
  p: PrefixEnd,
  facts: {
    sessionId: string;
    headerSha256: string;
    entryCount: number;
    chainHash: string;
    sourceSize: number;
    sourceMtimeMs: number;
    now: Date;
    /** SHA-256 of bytes [0, p.end), when the caller hashed them as it read them (else they are hashed here). */
    indexedSha256?: string;
    /** Likewise, SHA-256 of the prefix's last TAIL_HASH_BYTES. */
    indexedTailSha256?: string;
  },
  signal?: AbortSignal,
): Promise<SourceFingerprint> {
  const tailStart = Math.max(0, p.end - TAIL_HASH_BYTES);
  return {
    schema: SOURCE_FINGERPRINT_SCHEMA,
    sessionId: facts.sessionId,
    sourceFile: basename(file),
    sourceSize: facts.sourceSize,
    sourceMtimeMs: facts.sourceMtimeMs,
    headerSha256: facts.headerSha256,
    lastIndexedOffset: p.end,
    lastIndexedLine: p.lastLine,
    openTail: p.openTail,
    indexedSha256: facts.indexedSha256 ?? (await sha256OfRange(file, 0, p.end, signal)),
    indexedTailSha256: facts.indexedTailSha256 ?? (await sha256OfRange(file, tailStart, p.end, signal)),
    entryCount: facts.entryCount,
    chainHash: facts.chainHash,
    updatedAt: facts.now.toISOString(),
  };
}

/** How the JSONL relates to the sidecar. */
export type FreshnessState = "fresh" | "behind" | "stale" | "unknown";

export interface Freshness {
  /**
   * fresh: the sidecar holds every complete entry line of the JSONL.
   * behind: the JSONL grew by appends after the indexed prefix; sync frames only the new lines.
   * stale: the indexed prefix changed (rewritten, truncated, new header); a rebuild is needed.
   * unknown: no fingerprint (or no JSONL) to compare with.
   */
  state: FreshnessState;
  reason: string;
  /** Bytes of the JSONL after the indexed prefix. */
  newBytes?: number;
}

export type FreshnessCheck = "full" | "quick";

/**
 * Compare the JSONL with the fingerprint, reading nothing but the JSONL: "full" hashes
 * the whole indexed prefix, "quick" trusts an unchanged size and mtime and otherwise
 * hashes the header and the last 64 KiB of the prefix. No side effects.
 */
export async function checkFreshness(
  file: string | undefined,
  fp: SourceFingerprint | undefined,
  check: FreshnessCheck = "full",
  signal?: AbortSignal,
  /**
   * SHA-256 of bytes [0, end) of `file` as computed elsewhere (verify hashes it from the
   * bytes its comparison reads), or undefined to have it hashed here.
   */
  prefixSha256?: (end: number) => Promise<string | undefined>,
): Promise<Freshness> {
  if (!fp) return { state: "unknown", reason: `no ${SOURCE_FILE} in the sidecar` };
  if (!file) return { state: "unknown", reason: "no JSONL file to compare with" };
  let st;
  try {
    st = await stat(file);
  } catch {
    return { state: "unknown", reason: "the JSONL file is missing" };
  }
  const newBytes = st.size - fp.lastIndexedOffset;
  if (check === "quick" && st.size === fp.sourceSize && st.mtimeMs === fp.sourceMtimeMs) return { state: "fresh", reason: "size and mtime unchanged", newBytes };
  if (st.size < fp.lastIndexedOffset) return { state: "stale", reason: `the JSONL is ${st.size} bytes, shorter than the ${fp.lastIndexedOffset}-byte indexed prefix`, newBytes };
  let header;
  try {
    header = await readHeaderLine(file);
  } catch (err) {
    return { state: "stale", reason: `the JSONL header cannot be read: ${(err as Error).message}` };
  }
  if (payloadSha256(header.bytes) !== fp.headerSha256) return { state: "stale", reason: "the JSONL header changed", newBytes };
  if (check === "full") {
    const prefix = (await prefixSha256?.(fp.lastIndexedOffset)) ?? (await sha256OfRange(file, 0, fp.lastIndexedOffset, signal));
    if (prefix !== fp.indexedSha256) return { state: "stale", reason: "the indexed prefix of the JSONL changed", newBytes };
  } else {
    const start = Math.max(0, fp.lastIndexedOffset - TAIL_HASH_BYTES);
    if ((await sha256OfRange(file, start, fp.lastIndexedOffset, signal)) !== fp.indexedTailSha256) return { state: "stale", reason: "the end of the indexed prefix changed", newBytes };
  }
  if (fp.openTail && newBytes > 0) {
    // The open line may only be ended: "\n", "\r\n", or a lone "\r" so far.
    const next = await readRange(file, fp.lastIndexedOffset, 2);
    const ended = next[0] === 0x0a || (next[0] === 0x0d && (next[1] === 0x0a || next.length === 1));
    if (!ended) return { state: "stale", reason: "the last indexed line was extended instead of ended", newBytes };
  }
  if (st.size === fp.sourceSize && (st.mtimeMs === fp.sourceMtimeMs || newBytes === 0)) return { state: "fresh", reason: "nothing appended", newBytes };
  return { state: "behind", reason: `${newBytes} bytes after the indexed prefix`, newBytes };
}
