import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { isUtf8 } from "node:buffer";
import { SessfmtError, ioError } from "./errors.js";
import { SessionOpenDiagnostics, diagnosticError, type SkipReason } from "./diagnostics.js";
import {
  DEFAULT_MAX_LINE_BYTES,
  LineSplitter,
  checkAbort,
  readFileBytesSync,
  scanBuffer,
  scanFile,
  scanFileSync,
  type LineSpan,
  type ScanOptions,
} from "./scan.js";
import { KNOWN_ENTRY_TYPES, type SessionDialect, type SessionHeader } from "./types.js";
import type { EntryRecord } from "./record.js";
import { applyLegacyPatch, upgradeV1Records, type V1Facts } from "./legacy.js";
import { hasLoneSurrogate, mayHaveLoneSurrogate } from "./surrogates.js";
import {
  F_FIRST_KEPT_ENTRY_INDEX,
  F_ID,
  F_LABEL,
  F_MESSAGE,
  F_MESSAGE_ROLE,
  F_NAME,
  F_PARENT_ID,
  F_TARGET_ID,
  F_TIMESTAMP,
  F_TYPE,
  K_ABSENT,
  K_NULL,
  K_NUMBER,
  K_OBJECT,
  K_STRING,
  KNOWN_NAMES,
  LineFields,
  ObjectFields,
  SCAN_CERTAIN,
  scanLine,
  type FieldView,
} from "./fast-fields.js";
import { LineBatch, R_ESCAPED, R_END, R_KINDS, R_NAMES, R_START, bufferReader, type WindowReader } from "./wasm-scanner.js";
import { DATA, ROWS, ROW_CONTENT_END, ROW_EOL, ROW_LINE_START, ROW_RESULT, ROW_RESULTS, ROW_SHIFT } from "./wasm-scanner-layout.js";
import { BufferSource, FileSource, type FileIdentity } from "./source.js";
import { SessionTree } from "./tree.js";
import { Session } from "./session.js";
import { latin1Text } from "./text-slice.js";

export interface OpenOptions {
  /** Throw the first diagnostic as a SessfmtError instead of collecting it. */
  strict?: boolean;
  /**
   * What stays in memory after open (SPEC 5.1). `true`: every entry, parsed at open.
   * Default: files up to 4 MiB as `true`; larger files only the index, each entry re-read
   * by offset and parsed the first time it is asked for. `false`: only the index,
   * whatever the size.
   */
  retainEntries?: boolean;
  /** Longest line accepted (default just under V8's string limit). */
  maxLineBytes?: number;
  /**
   * Bytes read at a time: the window of a file read in windows (default 1 MiB), the
   * chunk of a streamed one (default 4 MiB). Given for a buffer, or a file parsed whole,
   * lines are split and scanned one by one (what the batch reader is tested against).
   */
  chunkSize?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/**
 * Files up to this size whose entries are all parsed at open are read whole (the buffer
 * is kept); larger ones are streamed in chunks. Files whose entries are not parsed at
 * open are read in windows straight into the scanner at any size (only the index is
 * kept); openSession reads those up to this size without yielding to the event loop.
 */
const SYNC_READ_LIMIT = 64 * 1024 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf];
/** Bytes of a source put into the batch scanner per window. */
const WINDOW_BYTES = 1024 * 1024;
/** Largest window, whatever chunkSize asks for (the scanner's memory is twice the window). */
const MAX_WINDOW_BYTES = 16 * 1024 * 1024;

/** Where a scan through SessionLoader.scanWindows is, between calls. */
interface WindowScan {
  readonly batch: LineBatch;
  readonly read: WindowReader;
  /** Size of the source at open. */
  readonly size: number;
  /** Bytes per window (and per piece of a line read alone). */
  readonly window: number;
  /** Next line's offset and number. */
  pos: number;
  line: number;
  /** Where the source ends (less than size if it turned out shorter). */
  end: number;
  /** The window last seen, and whether its complete lines are valid UTF-8. */
  view: Buffer | undefined;
  utf8: boolean;
}

/** openSession yields to the event loop after this many windows of a large file (4 MiB by default). */
const YIELD_WINDOWS = 4;

/**
 * Files this size or smaller are parsed whole at open and every entry kept (unless
 * retainEntries is false): JSON.parse runs at full speed from the first byte, and a small
 * file's parsed entries cost little memory.
 */
const EAGER_PARSE_LIMIT = 4 * 1024 * 1024;

function parsesAll(opts: OpenOptions, size: number): boolean {
  return opts.retainEntries === true || (opts.retainEntries === undefined && size <= EAGER_PARSE_LIMIT);
}

/** Open a session file (lenient by default). Never modifies the file. */
export async function openSession(file: string, opts: OpenOptions = {}): Promise<Session> {
  // One stat: a system call of microseconds, not worth a thread-pool round trip.
  const identity = identifySync(file);
  if (identity.size <= SYNC_READ_LIMIT) {
    // Up to 64 MiB the file is read as openSessionSync reads it, without yielding: the
    // scan holds the thread longer than the reads would, and each asynchronous read is a
    // round trip through the thread pool (open, reads, close) whose wake-ups, on a busy
    // machine, cost more than reading the bytes.
    return openHere(file, opts, identity);
  }
  return openLarge(file, opts, identity);
}

/**
 * openSession for a file above 64 MiB, given the path's identity (exported for tests,
 * which use small files): read in windows, yielding to the event loop between them, or
 * streamed in chunks when every entry is parsed at open.
 */
export async function openLarge(file: string, opts: OpenOptions, identity: FileIdentity = identifySync(file)): Promise<Session> {
  const loader = new SessionLoader(file, opts, identity.size);
  if (!loader.retainAll) {
    const read = await loader.scanFileInWindowsAsync(file);
    if (read) return loader.finish(new FileSource(file, read.identity), read.identity.size);
  }
  const scanned = await scanFile(file, loader.onLine, scanOptions(opts, identity.size));
  return loader.finish(new FileSource(file, { ...identity, size: scanned }), scanned);
}

/** Synchronous openSession. */
export function openSessionSync(file: string, opts: OpenOptions = {}): Session {
  return openHere(file, opts, identifySync(file));
}

/** Open with synchronous reads, given the path's identity. */
function openHere(file: string, opts: OpenOptions, identity: FileIdentity): Session {
  const loader = new SessionLoader(file, opts, identity.size);
  if (!loader.retainAll) {
    const read = loader.scanFileInWindows(file);
    if (read) return loader.finish(new FileSource(file, read.identity), read.identity.size);
  } else if (identity.size <= SYNC_READ_LIMIT) {
    const data = readFileBytesSync(file, identity.size, opts);
    loader.scanHeld(data);
    return loader.finish(new BufferSource(data, file), data.length);
  }
  const scanned = scanFileSync(file, loader.onLine, scanOptions(opts, identity.size));
  return loader.finish(new FileSource(file, { ...identity, size: scanned }), scanned);
}

/** Open a session held in memory (`name` is used in messages only). */
export function openSessionFromBuffer(data: Buffer | string, opts: OpenOptions & { name?: string } = {}): Session {
  const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  const loader = new SessionLoader(opts.name, opts, buf.length);
  loader.scanHeld(buf);
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

/**
 * A record with its type's fields set in the literal: a field added after creation would
 * give every record an extra property store, which on a file of 10^6 entries is tens of MB.
 */
function newRecord(
  index: number,
  span: LineSpan,
  type: string,
  id: string,
  parentId: string | null,
  timestamp: string,
  role: string | undefined,
  targetId: string | undefined,
  label: string | undefined,
  name: string | undefined,
): EntryRecord {
  const { line, offset, length, eol } = span;
  if (role !== undefined) return { index, line, offset, length, eol, type, id, parentId, timestamp, role };
  if (targetId !== undefined) {
    return label !== undefined
      ? { index, line, offset, length, eol, type, id, parentId, timestamp, targetId, label }
      : { index, line, offset, length, eol, type, id, parentId, timestamp, targetId };
  }
  if (name !== undefined) return { index, line, offset, length, eol, type, id, parentId, timestamp, name };
  return { index, line, offset, length, eol, type, id, parentId, timestamp };
}

/** Entry types whose records commonRecord makes (label and session_info carry more fields). */
const COMMON_TYPES: ReadonlySet<string> = new Set([...KNOWN_ENTRY_TYPES].filter((t) => t !== "label" && t !== "session_info"));
/** By the scanner's name code (1-based index in KNOWN_NAMES): 1 for a type in COMMON_TYPES. */
const COMMON_TYPE_CODES = Uint8Array.from([0, ...KNOWN_NAMES.map((n) => (COMMON_TYPES.has(n) ? 1 : 0))]);
const MESSAGE_CODE = KNOWN_NAMES.indexOf("message") + 1;
/** Longest stretch of a line commonRow decodes for id, parentId and timestamp together. */
const JOINT_DECODE_LIMIT = 256;

/** Turns scanned lines into a header, entry records and diagnostics. */
class SessionLoader {
  private header: SessionHeader | undefined;
  private headerSpan: LineSpan | undefined;
  private version = 3;
  private dialect: SessionDialect = "ts";
  private readonly records: EntryRecord[] = [];
  private readonly v1Facts = new Map<EntryRecord, V1Facts>();
  private readonly diagnostics = new SessionOpenDiagnostics();
  /** Every entry is parsed at open and kept (retainEntries true, or a small file). */
  readonly retainAll: boolean;
  /** Bytes per window when lines are read in windows (chunkSize, within bounds). */
  private readonly window: number;
  private readonly lineFields = new LineFields();
  private lastSpan: LineSpan | undefined;
  private lastId: string | null = null;
  private lastSkipped = false;

  constructor(
    private readonly file: string | undefined,
    private readonly opts: OpenOptions,
    size: number,
  ) {
    this.retainAll = parsesAll(opts, size);
    this.window = Math.max(1, Math.min(opts.chunkSize ?? WINDOW_BYTES, MAX_WINDOW_BYTES, size));
  }

  /**
   * Every line of bytes held in memory (a file read whole, or a buffer). When the scanner
   * is used, lines go through it in batches (scanWindows); else line by line.
   */
  scanHeld(data: Buffer): void {
    const opts = this.opts;
    const batch = this.retainAll || opts.chunkSize !== undefined ? undefined : new LineBatch(this.window);
    if (!batch?.available) {
      scanBuffer(data, this.onLine, { maxLineBytes: opts.maxLineBytes, chunkSize: opts.chunkSize ?? Math.max(1, data.length), signal: opts.signal, name: this.file });
      return;
    }
    this.scanBufferInWindows(batch, data);
  }

  /**
   * Every line of a file whose entries are not all parsed at open, read in windows
   * (chunkSize, default 1 MiB) straight into the scanner's memory: no buffer of the
   * whole file is made (its fresh pages cost more to fault in than the reads), and only
   * the index is kept. Returns the identity of the file that was read (its descriptor's,
   * with the size scanned), or undefined where the scanner is unavailable (the caller
   * then reads line by line).
   */
  scanFileInWindows(file: string): { identity: FileIdentity } | undefined {
    const batch = new LineBatch(this.window);
    if (!batch.available) return undefined;
    return this.withFile(file, (read, identity) => {
      const scan = this.windowScan(batch, read, identity.size);
      this.scanWindows(scan, Infinity);
      return { identity: { ...identity, size: Math.min(scan.pos, scan.end) } };
    });
  }

  /**
   * scanFileInWindows for openSession's larger files: the same synchronous reads into the
   * scanner (a window is read from the page cache in well under a millisecond, less than
   * a round trip through the thread pool), yielding to the event loop every YIELD_WINDOWS
   * windows so that a long open does not hold it. Another open may use the shared
   * scanner meanwhile; the batch then reads its window again.
   */
  async scanFileInWindowsAsync(file: string): Promise<{ identity: FileIdentity } | undefined> {
    const batch = new LineBatch(this.window);
    if (!batch.available) return undefined;
    return this.withFile(file, async (read, identity) => {
      const scan = this.windowScan(batch, read, identity.size);
      for (;;) {
        this.scanWindows(scan, scan.pos + YIELD_WINDOWS * scan.window);
        if (scan.pos >= scan.end) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return { identity: { ...identity, size: Math.min(scan.pos, scan.end) } };
    });
  }

  /** Run `fn` with a reader of the open file and the identity of what was opened; closes it after (also after an async fn). */
  private withFile<T>(file: string, fn: (read: WindowReader, identity: FileIdentity) => T): T {
    let fd: number;
    try {
      fd = openSync(file, "r");
    } catch (err) {
      throw ioError(err, file, "cannot open");
    }
    let result: T;
    try {
      let st: import("node:fs").Stats;
      try {
        st = fstatSync(fd);
      } catch (err) {
        throw ioError(err, file, "cannot open session");
      }
      // The identity of the file actually read: one replaced after the path's stat is
      // read whole and, for later reads by offset, recognised as itself.
      const identity = checkIdentity(file, st);
      const read: WindowReader = (target, offset, length, position) => {
        try {
          return readSync(fd, target, offset, length, position);
        } catch (err) {
          throw ioError(err, file, `read failed at byte ${position}`);
        }
      };
      result = fn(read, identity);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    if (result instanceof Promise) return result.finally(() => closeSync(fd)) as T;
    closeSync(fd);
    return result;
  }

  /** The state of a scan through scanWindows, from the start of a source of `size` bytes. */
  private windowScan(batch: LineBatch, read: WindowReader, size: number): WindowScan {
    return { batch, read, size, window: this.window, pos: 0, line: 1, end: size, view: undefined, utf8: false };
  }

  /** Every line of bytes held in memory through the batch scanner. */
  private scanBufferInWindows(batch: LineBatch, data: Buffer): void {
    this.scanWindows(this.windowScan(batch, bufferReader(data), data.length), Infinity);
  }

  /**
   * The lines of a source through the batch scanner, window by window, from scan.pos
   * until the source ends or a window starts at or after `stopAt`; only the lines it is
   * not certain of, the header, and lines it cannot batch (longer than a window, or a
   * last line without "\n") take the line-by-line path. The source ends at scan.end
   * (less than its size if it turned out shorter). UTF-8 is checked once per window for
   * its complete lines: lines split at 0x0A (never part of a multi-byte sequence), so if
   * they are valid as a whole, each is.
   */
  private scanWindows(scan: WindowScan, stopAt: number): void {
    const opts = this.opts;
    const { batch, read, size, window } = scan;
    const maxLineBytes = opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    let { end, pos, line, view, utf8 } = scan;
    while (pos < end && pos < stopAt) {
      checkAbort(opts.signal, this.file ?? "<buffer>");
      const rows = batch.fillFrom(read, pos, end);
      end = batch.sourceEnd;
      if (rows === 0) {
        if (pos >= end) break;
        const alone = this.lineAlone(read, pos, line++, end, maxLineBytes, window);
        pos = alone.next;
        // No "\n" up to where the source ended: that was its last line (a file cut while it
        // is read may end before `end`, and before the window read earlier says).
        if (alone.last) end = pos;
        continue;
      }
      if (batch.view !== view) {
        view = batch.view;
        utf8 = isUtf8(view.subarray(0, view.lastIndexOf(0x0a) + 1));
        opts.onProgress?.(batch.windowStart + view.length, size);
      }
      const base = batch.windowStart;
      const u8 = batch.u8;
      const i32 = batch.i32;
      // Once the header is read (the first line, or the first after blank ones): a
      // version 3 file's rows may take commonRow.
      let common = this.header !== undefined && this.version >= 3;
      for (let k = 0; k < rows; k++) {
        const row = ROWS + (k << ROW_SHIFT);
        const lineStart = (i32[(row + ROW_LINE_START) >> 2] as number) - DATA;
        const contentEnd = (i32[(row + ROW_CONTENT_END) >> 2] as number) - DATA;
        if (
          common &&
          i32[(row + ROW_RESULT) >> 2] === SCAN_CERTAIN &&
          contentEnd - lineStart <= maxLineBytes &&
          (utf8 || isUtf8(view.subarray(lineStart, contentEnd)))
        ) {
          const eol = i32[(row + ROW_EOL) >> 2] as 1 | 2;
          const r = this.commonRow(u8, i32, row + ROW_RESULTS, view, lineStart, line, base + lineStart, contentEnd - lineStart, eol);
          if (r !== undefined) {
            this.records.push(r);
            this.lastSkipped = false;
            line++;
            pos = base + contentEnd + eol;
            continue;
          }
        }
        pos = this.batchRow(view, base, batch, k, line++, maxLineBytes, utf8);
        common = this.header !== undefined && this.version >= 3;
      }
    }
    scan.pos = pos;
    scan.line = line;
    scan.end = end;
    scan.view = view;
    scan.utf8 = utf8;
  }

  /**
   * The last line without "\n", or a line longer than the batch window: read in pieces
   * of a window and split alone. Returns where the next line starts, or where the source
   * ended (`last`: no "\n" came before it).
   */
  private lineAlone(read: WindowReader, pos: number, line: number, end: number, maxLineBytes: number, window: number): { next: number; last: boolean } {
    const splitter = new LineSplitter(this.onLine, maxLineBytes, pos, line);
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(window, end - pos)));
    let p = pos;
    while (p < end) {
      const n = read(buf, 0, Math.min(buf.length, end - p), p);
      if (n <= 0) break;
      const piece = buf.subarray(0, n);
      const nl = piece.indexOf(0x0a);
      if (nl >= 0) {
        splitter.push(piece.subarray(0, nl + 1));
        return { next: p + nl + 1, last: false };
      }
      splitter.push(piece);
      p += n;
    }
    splitter.end();
    return { next: p, last: true };
  }

  /** Row k of a batch (`view`: the window's bytes, from source offset `base`): its record from the scanner's results if it was certain, else the line-by-line path. Returns where the next line starts. */
  private batchRow(view: Buffer, base: number, batch: LineBatch, k: number, line: number, maxLineBytes: number, utf8: boolean): number {
    const start = batch.lineStart(k);
    const end = batch.contentEnd(k);
    const eol = batch.eol(k);
    const span: LineSpan = { line, offset: start, length: end - start, eol, oversize: end - start > maxLineBytes };
    if (span.oversize) {
      this.onLine(Buffer.alloc(0), span);
    } else if (this.header !== undefined && batch.result(k) === SCAN_CERTAIN && (utf8 || isUtf8(view.subarray(start - base, end - base)))) {
      batch.results(k, this.lineFields);
      this.certainEntry(span);
    } else {
      this.line(view.subarray(start - base, end - base), span, false);
    }
    return end + eol;
  }

  /**
   * The record of a batch row of the common shape (the shape commonRecord accepts, with
   * a known type and role written without escapes and an id, parentId and timestamp of
   * plain ASCII close together), read straight from the row's results in the scanner's
   * memory at `res`; undefined for any other line, which then takes the general path
   * (batchRow) and gets exactly the record or diagnostics it got before. Nearly every
   * line of a session is such a line, and in a fresh process this code mostly runs
   * before the engine optimises it: one function with no calls but the one decode keeps
   * it short.
   */
  private commonRow(u8: Uint8Array, i32: Int32Array, res: number, view: Buffer, lineStart: number, line: number, offset: number, length: number, eol: 1 | 2): EntryRecord | undefined {
    if (u8[res + R_KINDS + F_TYPE] !== K_STRING) return undefined;
    const typeCode = u8[res + R_NAMES] as number;
    if (COMMON_TYPE_CODES[typeCode] !== 1) return undefined;
    if (u8[res + R_KINDS + F_ID] !== K_STRING || u8[res + R_KINDS + F_TIMESTAMP] !== K_STRING) return undefined;
    let role: string | undefined;
    if (typeCode === MESSAGE_CODE) {
      if (u8[res + R_KINDS + F_MESSAGE] !== K_OBJECT || u8[res + R_KINDS + F_MESSAGE_ROLE] !== K_STRING) return undefined;
      const roleCode = u8[res + R_NAMES + 1] as number;
      if (roleCode === 0 || (u8[res + R_ESCAPED + F_MESSAGE_ROLE] as number) !== 0) return undefined;
      role = KNOWN_NAMES[roleCode - 1];
    }
    const pk = u8[res + R_KINDS + F_PARENT_ID];
    if (pk !== K_STRING && pk !== K_NULL) return undefined;
    // id, parentId and timestamp are decoded with one call, as plain ASCII (latin1 gives
    // the same text) when close together; creating a string is a runtime call that costs
    // far more than the few bytes it copies. Anything else: the general path.
    if ((u8[res + R_ESCAPED + F_ID] as number) !== 0 || (u8[res + R_ESCAPED + F_TIMESTAMP] as number) !== 0) return undefined;
    if (pk === K_STRING && (u8[res + R_ESCAPED + F_PARENT_ID] as number) !== 0) return undefined;
    const starts = (res + R_START) >> 2;
    const ends = (res + R_END) >> 2;
    const idStart = i32[starts + F_ID] as number;
    const idEnd = i32[ends + F_ID] as number;
    if (idEnd === idStart) return undefined;
    const tsStart = i32[starts + F_TIMESTAMP] as number;
    const tsEnd = i32[ends + F_TIMESTAMP] as number;
    const pStart = pk === K_STRING ? (i32[starts + F_PARENT_ID] as number) : idStart;
    const pEnd = pk === K_STRING ? (i32[ends + F_PARENT_ID] as number) : idEnd;
    const from = Math.min(idStart, tsStart, pStart);
    const to = Math.max(idEnd, tsEnd, pEnd);
    if (to - from > JOINT_DECODE_LIMIT) return undefined;
    const joint = latin1Text(view, lineStart + from, lineStart + to);
    const id = joint.slice(idStart - from, idEnd - from);
    let parentId: string | null = null;
    if (pk === K_STRING && pEnd > pStart) {
      const p = joint.slice(pStart - from, pEnd - from);
      // Most entries are children of the entry before them: share that id string.
      parentId = p === this.lastId ? this.lastId : p;
    }
    this.lastId = id;
    const timestamp = joint.slice(tsStart - from, tsEnd - from);
    const type = KNOWN_NAMES[typeCode - 1] as string;
    const index = this.records.length;
    return role !== undefined
      ? { index, line, offset, length, eol, type, id, parentId, timestamp, role }
      : { index, line, offset, length, eol, type, id, parentId, timestamp };
  }

  /** A line the scanner was certain of, its results in lineFields. */
  private certainEntry(span: LineSpan): void {
    this.lastSpan = span;
    this.lastSkipped = false;
    // A certain line has no surrogate escape, so no lone surrogate (raw ones are not UTF-8).
    const r = this.commonRecord(this.lineFields, span) ?? this.entryRecord(this.lineFields, span, false);
    if (r) this.records.push(r);
  }

  /**
   * The record of a certain line of the common shape, or undefined for any other line
   * (entryRecord then decides, with its diagnostics): a version 3 file, a known type
   * other than label and session_info, a non-empty id, a string or null parentId, a
   * string timestamp, and for a message a `message` object with a string role. Nearly
   * every line of a session is such a line; this small function is what runs for each,
   * cheap before the engine optimises it and quick to optimise.
   */
  private commonRecord(f: LineFields, span: LineSpan): EntryRecord | undefined {
    const type = f.knownName(F_TYPE);
    if (type === undefined || !COMMON_TYPES.has(type) || this.version < 3) return undefined;
    if (f.kind(F_ID) !== K_STRING || f.kind(F_TIMESTAMP) !== K_STRING) return undefined;
    let role: string | undefined;
    if (type === "message") {
      if (f.kind(F_MESSAGE) !== K_OBJECT || f.kind(F_MESSAGE_ROLE) !== K_STRING) return undefined;
      role = f.str(F_MESSAGE_ROLE);
    }
    const pk = f.kind(F_PARENT_ID);
    if (pk !== K_STRING && pk !== K_NULL) return undefined;
    f.prefetch(F_ID, F_TIMESTAMP, pk === K_STRING ? F_PARENT_ID : F_ID);
    const id = f.str(F_ID);
    if (id.length === 0) return undefined;
    let parentId: string | null = null;
    if (pk === K_STRING) {
      const p = f.str(F_PARENT_ID);
      // Most entries are children of the entry before them: share that id string.
      parentId = p === "" ? null : p === this.lastId ? this.lastId : p;
    }
    this.lastId = id;
    return newRecord(this.records.length, span, type, id, parentId, f.str(F_TIMESTAMP), role, undefined, undefined, undefined);
  }

  readonly onLine = (bytes: Buffer, span: LineSpan): void => {
    this.line(bytes, span, true);
  };

  /** One line; `scan`: whether the scanner may still be tried (false: it was, and was not certain). */
  private line(bytes: Buffer, span: LineSpan, scan: boolean): void {
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
    this.readEntry(bytes, span, scan);
  }

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

  private readEntry(bytes: Buffer, span: LineSpan, scan: boolean): void {
    if (span.oversize) {
      this.skip(span, "line_too_long", `line of ${span.length} bytes is longer than the limit`);
      return;
    }
    if (!isUtf8(bytes)) {
      this.skip(span, "invalid_utf8", "line is not valid UTF-8");
      return;
    }
    // Fast path: a grammar check and the few fields the index needs, no object built.
    // Pointless when every entry is parsed anyway.
    if (scan && !this.retainAll && scanLine(bytes, this.lineFields) === SCAN_CERTAIN) {
      this.certainEntry(span);
      return;
    }
    // Unsure (invalid JSON, not an object, escaped keys, surrogate escapes): JSON.parse
    // decides and words the diagnostics, exactly as if there were no fast path.
    const parsed = parseLine(bytes, span);
    if (!parsed.ok) {
      this.skip(span, parsed.reason, parsed.message);
      return;
    }
    const o = parsed.value;
    const r = this.entryRecord(new ObjectFields(o), span, mayHaveLoneSurrogate(parsed.text) && hasLoneSurrogate(o));
    if (!r) return;
    if (this.retainAll) r.value = o as EntryRecord["value"];
    this.records.push(r);
  }

  /** The record for a line that is a JSON object, or undefined (with a diagnostic) when it cannot be an entry. */
  private entryRecord(f: FieldView, span: LineSpan, loneSurrogate: boolean): EntryRecord | undefined {
    const typeKind = f.kind(F_TYPE);
    const type = typeKind === K_STRING ? f.str(F_TYPE) : "";
    if (type.length === 0) {
      const missing = typeKind === K_ABSENT;
      this.skip(span, missing ? "missing_field" : "invalid_field", `entry has ${missing ? "no" : "an invalid"} "type"`);
      return undefined;
    }
    if (type === "session") {
      this.skip(span, "extra_header", "a second session header inside the file");
      return undefined;
    }
    const legacyV1 = this.version < 2;
    let id = "";
    let parentId: string | null = null;
    let omitsParent = false;
    if (!legacyV1) {
      const idKind = f.kind(F_ID);
      if (idKind === K_STRING) id = f.str(F_ID);
      if (id.length === 0) {
        const missing = idKind === K_ABSENT;
        this.skip(span, missing ? "missing_field" : "invalid_field", `entry has ${missing ? "no" : "an invalid"} "id"`);
        return undefined;
      }
      const pk = f.kind(F_PARENT_ID);
      if (pk === K_ABSENT) {
        omitsParent = true;
      } else if (pk === K_STRING) {
        const p = f.str(F_PARENT_ID);
        parentId = p === "" ? null : p;
      } else if (pk !== K_NULL) {
        this.skip(span, "invalid_field", `entry ${JSON.stringify(id)} has a parentId that is neither a string nor null`);
        return undefined;
      }
    }
    const tk = f.kind(F_TIMESTAMP);
    if (tk !== K_STRING) {
      this.skip(span, tk === K_ABSENT ? "missing_field" : "invalid_field", `entry has ${tk === K_ABSENT ? "no" : "an invalid"} "timestamp"`);
      return undefined;
    }
    // Checks for fields whose absence would break tree or context building.
    let role: string | undefined;
    let targetId: string | undefined;
    let label: string | undefined;
    let name: string | undefined;
    if (type === "message") {
      if (f.kind(F_MESSAGE) !== K_OBJECT || f.kind(F_MESSAGE_ROLE) !== K_STRING) {
        this.skip(span, f.kind(F_MESSAGE) === K_ABSENT ? "missing_field" : "invalid_field", 'message entry has no "message" object with a string "role"');
        return undefined;
      }
      role = f.str(F_MESSAGE_ROLE);
    } else if (type === "label") {
      const k = f.kind(F_TARGET_ID);
      if (k !== K_STRING) {
        this.skip(span, k === K_ABSENT ? "missing_field" : "invalid_field", 'label entry has no string "targetId"');
        return undefined;
      }
      targetId = f.str(F_TARGET_ID);
      if (f.kind(F_LABEL) === K_STRING) label = f.str(F_LABEL);
    } else if (type === "session_info") {
      if (f.kind(F_NAME) === K_STRING) name = f.str(F_NAME);
    }
    // The Rust writer omits a null parentId; only a line that became an entry says so.
    if (omitsParent) this.dialect = "rust";
    // Most entries are children of the entry before them: share that id string.
    if (parentId !== null && parentId === this.lastId) parentId = this.lastId;
    this.lastId = id;
    const r = newRecord(this.records.length, span, type, id, parentId, f.str(F_TIMESTAMP), role, targetId, label, name);
    if (loneSurrogate) {
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
    if (legacyV1 && type === "compaction" && f.kind(F_FIRST_KEPT_ENTRY_INDEX) === K_NUMBER) {
      this.v1Facts.set(r, { firstKeptEntryIndex: f.num(F_FIRST_KEPT_ENTRY_INDEX) });
    }
    return r;
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
    if (this.retainAll && this.version < 3) {
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
