import { createHash } from "node:crypto";
import { parseRecordObject } from "./record-line.js";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import type { SkipReason } from "../format/diagnostics.js";
import { appendDurably, exists, writeNewFile } from "./fs.js";
import { QUARANTINE_FILE } from "./names.js";
import { readLineBytes, type InvalidLine } from "./source.js";

/**
 * The quarantine: `sessfmt-quarantine.jsonl` inside the sidecar root, sessfmt's own file
 * (the Rust port never reads it). It keeps the exact bytes of every JSONL line a
 * `--skip-invalid` migration could not frame, with its line number and byte offset, so
 * the sidecar plus its quarantine account for every byte of the JSONL's lines.
 * One compact JSON record per line, in JSONL order; appended to by later syncs.
 */

export const QUARANTINE_SCHEMA = "sessfmt.quarantine_line.v1";
/** Lines longer than this are not quarantined (a migration with such a line fails). */
export const MAX_QUARANTINE_LINE_BYTES = 64 << 20;

export interface QuarantineRecord {
  schema: string;
  /** 1-based physical line in the JSONL. */
  line: number;
  /** Byte offset of the line in the JSONL. */
  offset: number;
  /** Bytes of the line's text (terminator excluded). */
  length: number;
  /** The line's terminator as it was: "\n", "\r\n", or "" for a last line without one. */
  eol: "" | "\n" | "\r\n";
  reason: SkipReason;
  message: string;
  /** SHA-256 (lowercase hex) of the line's text bytes. */
  sha256: string;
  /** The line's text bytes, base64 (they may not be UTF-8). */
  base64: string;
  /** When it was quarantined. */
  at: string;
}

const KEYS = ["schema", "line", "offset", "length", "eol", "reason", "message", "sha256", "base64", "at"] as const;

export function encodeQuarantineRecord(r: QuarantineRecord): string {
  const o: Record<string, unknown> = {};
  for (const k of KEYS) o[k] = r[k];
  return `${JSON.stringify(o)}\n`;
}

export function decodeQuarantineRecord(text: string): { ok: true; value: QuarantineRecord } | { ok: false; message: string } {
  const parsed = parseRecordObject(text, QUARANTINE_SCHEMA);
  if (!parsed.ok) return parsed;
  const r = parsed.value;
  for (const k of ["line", "offset", "length"]) if (typeof r[k] !== "number" || !Number.isSafeInteger(r[k]) || (r[k] as number) < 0) return { ok: false, message: `${k} is not a non-negative integer` };
  if (r.eol !== "" && r.eol !== "\n" && r.eol !== "\r\n") return { ok: false, message: "eol is not a line terminator" };
  for (const k of ["reason", "message", "sha256", "base64", "at"]) if (typeof r[k] !== "string") return { ok: false, message: `${k} is not a string` };
  const bytes = Buffer.from(r.base64 as string, "base64");
  if (bytes.length !== r.length) return { ok: false, message: `base64 holds ${bytes.length} bytes, length says ${String(r.length)}` };
  if (sha256(bytes) !== r.sha256) return { ok: false, message: "sha256 does not match the stored bytes" };
  return { ok: true, value: r as unknown as QuarantineRecord };
}

export function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

/** Build the records of `lines` from the JSONL's bytes. */
export async function quarantineRecords(file: string, lines: readonly InvalidLine[], now: Date): Promise<QuarantineRecord[]> {
  const out: QuarantineRecord[] = [];
  for (const l of lines) {
    if (l.length > MAX_QUARANTINE_LINE_BYTES) {
      throw new SessfmtError("E_INVALID_LINES", `line ${l.line} is ${l.length} bytes, too long to quarantine (limit ${MAX_QUARANTINE_LINE_BYTES})`, { file, line: l.line, offset: l.offset });
    }
    const { text, eol } = await readLineBytes(file, l);
    out.push({
      schema: QUARANTINE_SCHEMA,
      line: l.line,
      offset: l.offset,
      length: text.length,
      eol,
      reason: l.reason,
      message: l.message,
      sha256: sha256(text),
      base64: text.toString("base64"),
      at: now.toISOString(),
    });
  }
  return out;
}

export interface QuarantineRead {
  exists: boolean;
  records: QuarantineRecord[];
  /** Lines that do not decode (1-based line in the quarantine file). */
  problems: { line: number; message: string }[];
}

export async function readQuarantine(root: string): Promise<QuarantineRead> {
  const path = join(root, QUARANTINE_FILE);
  const out: QuarantineRead = { exists: false, records: [], problems: [] };
  if (!(await exists(path))) return out;
  out.exists = true;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw ioError(err, path, "cannot read the quarantine");
  }
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (i === lines.length - 1) {
      if (line !== "") out.problems.push({ line: i + 1, message: "last quarantine line has no line end" });
      return;
    }
    const d = decodeQuarantineRecord(line);
    if (d.ok) out.records.push(d.value);
    else out.problems.push({ line: i + 1, message: d.message });
  });
  return out;
}

/** Write the quarantine of a new (staged) sidecar; nothing is written for no records. */
export async function writeQuarantine(root: string, records: readonly QuarantineRecord[]): Promise<void> {
  if (records.length === 0) return;
  await writeNewFile(join(root, QUARANTINE_FILE), records.map(encodeQuarantineRecord).join(""));
}

/**
 * Add records to an existing sidecar's quarantine. Idempotent: a record whose JSONL
 * offset is already there is not written again (a retried sync). Returns those added.
 */
export async function appendQuarantine(root: string, records: readonly QuarantineRecord[]): Promise<QuarantineRecord[]> {
  const have = await readQuarantine(root);
  if (have.problems.length > 0) {
    throw new SessfmtError("E_SIDECAR_CORRUPT", `the quarantine is damaged (line ${have.problems[0]?.line}: ${have.problems[0]?.message}); not appending`, { file: join(root, QUARANTINE_FILE) });
  }
  const known = new Set(have.records.map((r) => r.offset));
  const fresh = records.filter((r) => !known.has(r.offset));
  if (fresh.length > 0) await appendDurably(join(root, QUARANTINE_FILE), fresh.map(encodeQuarantineRecord).join(""));
  return fresh;
}
