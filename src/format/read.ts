import { statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { SessfmtError, ioError } from "./errors.js";
import { SessionOpenDiagnostics, diagnosticError, type SkipReason } from "./diagnostics.js";
import { scanBuffer, scanFile, scanFileSync, type LineSpan, type ScanOptions } from "./scan.js";
import { KNOWN_ENTRY_TYPES, type SessionDialect, type SessionHeader } from "./types.js";
import type { EntryRecord } from "./record.js";
import { applyLegacyPatch, upgradeV1Records, type V1Facts } from "./legacy.js";
import { hasLoneSurrogate, mayHaveLoneSurrogate } from "./surrogates.js";
import { BufferSource, FileSource, type FileIdentity } from "./source.js";
import { SessionTree } from "./tree.js";
import { Session } from "./session.js";

export interface OpenOptions {
  /** Throw the first diagnostic as a SessfmtError instead of collecting it. */
  strict?: boolean;
  /**
   * Keep every parsed entry in memory (fast repeated access). Default: true for files up
   * to 64 MiB; larger files keep only the index and re-read entries when asked.
   */
  retainEntries?: boolean;
  /** Longest line accepted (default just under V8's string limit). */
  maxLineBytes?: number;
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

const RETAIN_LIMIT = 64 * 1024 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/** Open a session file (lenient by default). Never modifies the file. */
export async function openSession(file: string, opts: OpenOptions = {}): Promise<Session> {
  const identity = await identify(file);
  const loader = new SessionLoader(file, opts, identity.size);
  const scanned = await scanFile(file, loader.onLine, scanOptions(opts, identity.size));
  return loader.finish(new FileSource(file, { ...identity, size: scanned }), scanned);
}

/** Synchronous openSession. */
export function openSessionSync(file: string, opts: OpenOptions = {}): Session {
  const identity = identifySync(file);
  const loader = new SessionLoader(file, opts, identity.size);
  const scanned = scanFileSync(file, loader.onLine, scanOptions(opts, identity.size));
  return loader.finish(new FileSource(file, { ...identity, size: scanned }), scanned);
}

/** Open a session held in memory (`name` is used in messages only). */
export function openSessionFromBuffer(data: Buffer | string, opts: OpenOptions & { name?: string } = {}): Session {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const loader = new SessionLoader(opts.name, opts, buf.length);
  scanBuffer(buf, loader.onLine, { maxLineBytes: opts.maxLineBytes, chunkSize: opts.chunkSize });
  return loader.finish(new BufferSource(buf), buf.length);
}

function scanOptions(opts: OpenOptions, size: number): ScanOptions {
  return {
    endOffset: size,
    chunkSize: opts.chunkSize,
    maxLineBytes: opts.maxLineBytes,
    signal: opts.signal,
    onProgress: opts.onProgress,
  };
}

async function identify(file: string): Promise<FileIdentity> {
  try {
    return checkIdentity(file, await stat(file));
  } catch (err) {
    throw ioError(err, file, "cannot open session");
  }
}

function identifySync(file: string): FileIdentity {
  try {
    return checkIdentity(file, statSync(file));
  } catch (err) {
    throw ioError(err, file, "cannot open session");
  }
}

function checkIdentity(file: string, st: import("node:fs").Stats): FileIdentity {
  if (!st.isFile()) throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file });
  if (st.size === 0) throw new SessfmtError("E_EMPTY_FILE", "empty file: no session header", { file });
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

function isBlank(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

type Parsed = { ok: true; value: Record<string, unknown>; text: string } | { ok: false; reason: SkipReason; message: string };

/** Decode and parse one line; never throws. */
function parseLine(bytes: Buffer, span: LineSpan): Parsed {
  if (span.oversize) {
    return { ok: false, reason: "line_too_long", message: `line of ${span.length} bytes is longer than the limit` };
  }
  if (!isUtf8(bytes)) return { ok: false, reason: "invalid_utf8", message: "line is not valid UTF-8" };
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: "bad_json", message: `invalid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return { ok: false, reason: "not_object", message: `line is JSON ${Array.isArray(value) ? "array" : value === null ? "null" : typeof value}, not an object` };
  }
  return { ok: true, value: value as Record<string, unknown>, text };
}

/** Turns scanned lines into a header, entry records and diagnostics. */
class SessionLoader {
  private header: SessionHeader | undefined;
  private headerSpan: LineSpan | undefined;
  private version = 3;
  private dialect: SessionDialect = "ts";
  private readonly records: EntryRecord[] = [];
  private readonly v1Facts = new Map<EntryRecord, V1Facts>();
  private readonly diagnostics = new SessionOpenDiagnostics();
  private readonly retain: boolean;
  private lastSpan: LineSpan | undefined;
  private lastSkipped = false;

  constructor(
    private readonly file: string | undefined,
    private readonly opts: OpenOptions,
    size: number,
  ) {
    this.retain = opts.retainEntries ?? size <= RETAIN_LIMIT;
  }

  readonly onLine = (bytes: Buffer, span: LineSpan): void => {
    this.lastSpan = span;
    this.lastSkipped = false;
    if (!this.header) {
      this.readHeader(bytes, span);
      return;
    }
    if (!span.oversize && isBlank(bytes)) {
      // The empty remainder after a final "\n" never reaches here; only real blank lines do.
      this.diagnostics.add({ code: "blank_line", line: span.line, offset: span.offset, message: "blank line" });
      return;
    }
    this.readEntry(bytes, span);
  };

  private readHeader(bytes: Buffer, span: LineSpan): void {
    if (!span.oversize && isBlank(bytes)) {
      this.diagnostics.add({ code: "blank_line", line: span.line, offset: span.offset, message: "blank line before the header" });
      return;
    }
    let body = bytes;
    if (span.line === 1 && bytes.length >= 3 && UTF8_BOM.every((b, i) => bytes[i] === b)) body = bytes.subarray(3);
    const parsed = parseLine(body, span);
    if (!parsed.ok) {
      throw new SessfmtError("E_HEADER_INVALID", `session header is unreadable (${parsed.reason}): ${parsed.message}`, {
        file: this.file,
        line: span.line,
        offset: span.offset,
      });
    }
    const h = parsed.value;
    if (h.type !== "session") {
      throw new SessfmtError("E_HEADER_INVALID", `first line is not a session header (type ${JSON.stringify(h.type)})`, {
        file: this.file,
        line: span.line,
        offset: span.offset,
      });
    }
    if (typeof h.id !== "string" || h.id.length === 0) {
      throw new SessfmtError("E_HEADER_INVALID", "session header has no string id", { file: this.file, line: span.line, offset: span.offset });
    }
    if (h.version !== undefined && (typeof h.version !== "number" || !Number.isInteger(h.version) || h.version < 1)) {
      throw new SessfmtError("E_HEADER_INVALID", `session header has an invalid version ${JSON.stringify(h.version)}`, {
        file: this.file,
        line: span.line,
        offset: span.offset,
      });
    }
    for (const key of ["cwd", "timestamp"] as const) {
      if (typeof h[key] !== "string") {
        this.diagnostics.add({
          code: "header_field",
          line: span.line,
          offset: span.offset,
          message: `session header field ${key} is ${h[key] === undefined ? "missing" : "not a string"}`,
        });
      }
    }
    if (typeof h.version === "number" && h.version > 3) {
      this.diagnostics.add({
        code: "header_field",
        line: span.line,
        offset: span.offset,
        message: `session version ${h.version} is newer than 3; read as version 3`,
      });
    }
    this.header = h as SessionHeader;
    this.headerSpan = span;
    this.version = typeof h.version === "number" ? h.version : 1;
    if (typeof h.branchedFrom === "string" && h.parentSession === undefined) this.dialect = "rust";
  }

  private skip(span: LineSpan, reason: SkipReason, message: string): void {
    this.lastSkipped = true;
    this.diagnostics.skip(span.line, span.offset, span.length, reason, message);
  }

  private readEntry(bytes: Buffer, span: LineSpan): void {
    const parsed = parseLine(bytes, span);
    if (!parsed.ok) {
      this.skip(span, parsed.reason, parsed.message);
      return;
    }
    const o = parsed.value;
    const type = o.type;
    if (typeof type !== "string" || type.length === 0) {
      this.skip(span, type === undefined ? "missing_field" : "invalid_field", `entry has ${type === undefined ? "no" : "an invalid"} "type"`);
      return;
    }
    if (type === "session") {
      this.skip(span, "extra_header", "a second session header inside the file");
      return;
    }
    const legacyV1 = this.version < 2;
    let id = "";
    let parentId: string | null = null;
    if (!legacyV1) {
      if (typeof o.id !== "string" || o.id.length === 0) {
        this.skip(span, o.id === undefined ? "missing_field" : "invalid_field", `entry has ${o.id === undefined ? "no" : "an invalid"} "id"`);
        return;
      }
      id = o.id;
      const p = o.parentId;
      if (p === undefined) {
        this.dialect = "rust"; // the Rust writer omits a null parentId
      } else if (p !== null && typeof p !== "string") {
        this.skip(span, "invalid_field", `entry ${JSON.stringify(id)} has a parentId that is neither a string nor null`);
        return;
      } else {
        parentId = p === "" ? null : p;
      }
    }
    if (typeof o.timestamp !== "string") {
      this.skip(span, o.timestamp === undefined ? "missing_field" : "invalid_field", `entry has ${o.timestamp === undefined ? "no" : "an invalid"} "timestamp"`);
      return;
    }
    const r: EntryRecord = {
      index: this.records.length,
      line: span.line,
      offset: span.offset,
      length: span.length,
      eol: span.eol,
      type,
      id,
      parentId,
      timestamp: o.timestamp,
    };
    if (!this.typeFields(o, r, span)) return;
    if (mayHaveLoneSurrogate(parsed.text) && hasLoneSurrogate(o)) {
      this.diagnostics.add({
        code: "lone_surrogate",
        line: span.line,
        offset: span.offset,
        entryId: id || undefined,
        message: "a string holds an unpaired UTF-16 surrogate escape; kept as written",
      });
    }
    if (!KNOWN_ENTRY_TYPES.has(type)) {
      this.diagnostics.add({
        code: "unknown_type",
        line: span.line,
        offset: span.offset,
        entryId: id || undefined,
        entryType: type,
        message: `unknown entry type ${JSON.stringify(type)}; kept`,
      });
    }
    if (this.version < 3 && type === "message" && r.role === "hookMessage") {
      r.legacy = { assignIds: false, dropFirstKeptEntryIndex: false, hookMessage: true };
    }
    if (legacyV1 && type === "compaction" && typeof o.firstKeptEntryIndex === "number") {
      this.v1Facts.set(r, { firstKeptEntryIndex: o.firstKeptEntryIndex });
    }
    if (this.retain) r.value = o as EntryRecord["value"];
    this.records.push(r);
  }

  /** Per-type checks for fields whose absence would break tree or context building. */
  private typeFields(o: Record<string, unknown>, r: EntryRecord, span: LineSpan): boolean {
    switch (r.type) {
      case "message": {
        const m = o.message;
        if (m === null || typeof m !== "object" || Array.isArray(m) || typeof (m as { role?: unknown }).role !== "string") {
          this.skip(span, m === undefined ? "missing_field" : "invalid_field", 'message entry has no "message" object with a string "role"');
          return false;
        }
        r.role = (m as { role: string }).role;
        return true;
      }
      case "label":
        if (typeof o.targetId !== "string") {
          this.skip(span, o.targetId === undefined ? "missing_field" : "invalid_field", 'label entry has no string "targetId"');
          return false;
        }
        r.targetId = o.targetId;
        if (typeof o.label === "string") r.label = o.label;
        return true;
      case "session_info":
        if (typeof o.name === "string") r.name = o.name;
        return true;
      default:
        return true;
    }
  }

  finish(source: FileSource | BufferSource, size: number): Session {
    if (!this.header || !this.headerSpan) {
      throw new SessfmtError("E_EMPTY_FILE", "no session header: the file holds only blank lines", { file: this.file });
    }
    const last = this.lastSpan;
    if (last && last.eol === 0) {
      this.diagnostics.add({
        code: "truncated_tail",
        line: last.line,
        offset: last.offset,
        message: this.lastSkipped
          ? `last line (${last.length} bytes) has no line end and is incomplete; skipped`
          : `last line has no line end; its ${last.length} bytes parse and were kept`,
      });
    }
    if (this.version < 2) {
      for (const d of upgradeV1Records(this.header.id, this.records, this.v1Facts, this.headerSpan.line)) this.diagnostics.add(d);
    }
    if (this.retain && this.version < 3) {
      for (const r of this.records) if (r.legacy && r.value) r.value = applyLegacyPatch(r.value as Record<string, unknown>, r);
    }
    const tree = new SessionTree(this.records);
    for (const { record, first } of tree.duplicates) {
      this.diagnostics.add({
        code: "duplicate_id",
        line: record.line,
        offset: record.offset,
        entryId: record.id,
        firstLine: first.line,
        message: `id ${JSON.stringify(record.id)} was already used on line ${first.line}; the later entry wins`,
      });
    }
    for (const { record, missingParentId } of tree.orphans) {
      this.diagnostics.orphan(record.id, missingParentId, record.line, record.offset);
    }
    for (const ids of tree.cycles) {
      const first = ids.map((id) => tree.get(id) as EntryRecord).sort((a, b) => a.index - b.index)[0] as EntryRecord;
      this.diagnostics.add({
        code: "cycle",
        line: first.line,
        offset: first.offset,
        entryId: first.id,
        cycleIds: ids,
        message: `parent links form a cycle (${ids.join(" -> ")}); entry ${JSON.stringify(first.id)} is treated as a root`,
      });
    }
    this.diagnostics.items.sort((a, b) => a.line - b.line || a.offset - b.offset);
    if (this.opts.strict && this.diagnostics.count > 0) {
      throw diagnosticError(this.diagnostics.items[0] as NonNullable<(typeof this.diagnostics.items)[0]>, this.file, this.diagnostics);
    }
    return new Session({
      source,
      header: this.header,
      headerSpan: this.headerSpan,
      version: this.version,
      dialect: this.dialect,
      records: this.records,
      tree,
      diagnostics: this.diagnostics,
      size,
    });
  }
}
