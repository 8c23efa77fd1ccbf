import { closeSync, fstatSync, openSync, statSync } from "node:fs";
import { preadAt } from "../format/small-io.js";
import { SessfmtError, ioError } from "../format/errors.js";
import type { SessionDiagnostic, SkipReason } from "../format/diagnostics.js";
import type { EntryRecord } from "../format/record.js";
import { openSession } from "../format/read.js";
import type { Session } from "../format/session.js";
import { CURRENT_SESSION_VERSION } from "../format/types.js";
import { readRange } from "../v2/source-file.js";
import { RangeWindowReader, type FileIdentity } from "../v2/range-window.js";

/**
 * What a migration needs to know about a JSONL session: which lines become frames, which
 * lines are invalid (and so stop a migration, or go to the quarantine), and every open
 * diagnostic for the report.
 */

/** A line the reader could not take as an entry. */
export interface InvalidLine {
  /** 1-based physical line. */
  line: number;
  /** Byte offset of the line's first byte. */
  offset: number;
  /** Bytes of the line without its terminator. */
  length: number;
  reason: SkipReason;
  message: string;
}

export interface SourceScan {
  file: string;
  session: Session;
  version: number;
  sessionId: string;
  /** The entries a sidecar of this file holds, in file order (see `pendingTail`). */
  records: readonly EntryRecord[];
  /** Invalid lines that end in "\n" (final: they will never become entries). */
  invalid: InvalidLine[];
  /**
   * A last line without "\n" that is not a valid entry: a writer may still be finishing
   * it, so it is neither framed nor quarantined; the next sync looks at it again.
   */
  tornTail?: InvalidLine;
  /** A last entry line without "\n" whose text ends in "\r" (half a "\r\n"): left for the next sync. */
  pendingTail?: { line: number; offset: number };
  /** Every open diagnostic, by line. */
  diagnostics: SessionDiagnostic[];
  size: number;
  /** The file that was scanned: line bytes are read again only from this inode. */
  identity: FileIdentity;
}

/** Open a JSONL session for migration (never retaining entries: only the index is kept). */
export async function scanSource(file: string, opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}): Promise<SourceScan> {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    throw ioError(err, file, "cannot open session");
  }
  const session = await openSession(file, { retainEntries: false, signal: opts.signal, onProgress: opts.onProgress });
  let records = session.records;
  let pendingTail: SourceScan["pendingTail"];
  const last = records[records.length - 1];
  if (last && last.eol === 0 && last.length > 0) {
    let cr = false;
    session.forEachRaw([last], (b) => {
      cr = b[b.length - 1] === 0x0d;
    });
    if (cr) {
      records = records.slice(0, -1);
      pendingTail = { line: last.line, offset: last.offset };
    }
  }
  const torn = session.diagnostics.truncatedTail;
  const invalid: InvalidLine[] = [];
  let tornTail: InvalidLine | undefined;
  for (const s of session.diagnostics.skippedEntries) {
    const l: InvalidLine = { line: s.line, offset: s.offset, length: s.length, reason: s.reason, message: s.message };
    if (torn && torn.line === s.line) tornTail = l;
    else invalid.push(l);
  }
  invalid.sort((a, b) => a.line - b.line);
  const scan: SourceScan = {
    file,
    session,
    version: session.version,
    sessionId: session.id,
    records,
    invalid,
    diagnostics: session.diagnostics.sorted(),
    size: session.size,
    identity: { dev: st.dev, ino: st.ino, size: session.size },
  };
  if (tornTail) scan.tornTail = tornTail;
  if (pendingTail) scan.pendingTail = pendingTail;
  return scan;
}

/** The exact bytes of a physical line: its text and its terminator ("\n", "\r\n" or none). */
export async function readLineBytes(file: string, l: { offset: number; length: number }): Promise<{ text: Buffer; eol: "" | "\n" | "\r\n" }> {
  const buf = await readRange(file, l.offset, l.length + 2, { noFollow: true });
  const text = buf.subarray(0, Math.min(l.length, buf.length));
  if (text.length < l.length) throw new SessfmtError("E_SOURCE_CHANGED", `line at byte ${l.offset} is shorter than when it was read`, { file, offset: l.offset });
  const rest = buf.subarray(l.length);
  const eol = rest[0] === 0x0a ? "\n" : rest[0] === 0x0d && rest[1] === 0x0a ? "\r\n" : "";
  return { text: Buffer.from(text), eol };
}

export interface HeaderFacts {
  version: number;
  sessionId: string;
}

/**
 * The header's version and id from the file's first non-blank line, without reading the
 * rest of the file (status must stay cheap on large archives).
 */
export async function readHeaderFacts(file: string): Promise<HeaderFacts> {
  // Synchronous open, stat and (small) reads: see format/small-io.ts.
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw ioError(err, file, "cannot open session");
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) throw new SessfmtError("E_EMPTY_FILE", "file is empty", { file });
    const limit = Math.min(size, 64 << 20);
    let pos = 0;
    let carry = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(64 * 1024);
    while (pos < limit) {
      const bytesRead = await preadAt(fd, chunk, 0, Math.min(chunk.length, limit - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      carry = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      for (;;) {
        const nl = carry.indexOf(0x0a);
        const complete = nl >= 0 || pos >= size;
        if (!complete) break;
        const line = carry.subarray(0, nl >= 0 ? nl : carry.length).toString("utf8").replace(/^\uFEFF/, "").trim();
        if (line.length > 0) return parseHeader(file, line);
        if (nl < 0) break;
        carry = carry.subarray(nl + 1);
      }
    }
    throw new SessfmtError("E_HEADER_INVALID", "no session header in the first 64 MiB", { file, line: 1 });
  } catch (err) {
    throw ioError(err, file, "cannot read the session header");
  } finally {
    closeSync(fd);
  }
}

function parseHeader(file: string, line: string): HeaderFacts {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    throw new SessfmtError("E_HEADER_INVALID", "first line is not JSON", { file, line: 1 });
  }
  const o = h as { type?: unknown; id?: unknown; version?: unknown } | null;
  if (o === null || typeof o !== "object" || o.type !== "session" || typeof o.id !== "string") {
    throw new SessfmtError("E_HEADER_INVALID", "first line is not a session header", { file, line: 1 });
  }
  const version = o.version === undefined ? 1 : typeof o.version === "number" ? o.version : NaN;
  if (!Number.isInteger(version) || version < 1) throw new SessfmtError("E_HEADER_INVALID", `invalid header version ${JSON.stringify(o.version)}`, { file, line: 1 });
  return { version, sessionId: o.id };
}

export function needsUpgrade(version: number): boolean {
  return version < CURRENT_SESSION_VERSION;
}

/**
 * Calls `fn` with the exact bytes of each record's line (line end excluded), in order,
 * reading the scanned file sequentially in large windows. The bytes are views: `fn` must
 * copy what it keeps beyond the pass.
 */
export async function forEachLine(src: SourceScan, records: readonly EntryRecord[], fn: (bytes: Buffer, r: EntryRecord) => void): Promise<void> {
  const reader = await RangeWindowReader.open(src.file, src.identity);
  try {
    for (const r of records) fn(await reader.read(r.offset, r.length), r);
  } finally {
    await reader.close();
  }
}
