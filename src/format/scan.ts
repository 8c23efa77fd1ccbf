import { closeSync, openSync, readSync, fstatSync } from "node:fs";
import { open as openAsync } from "node:fs/promises";
import { SessfmtError, ioError } from "./errors.js";

/**
 * Byte-level line scanner. Splits on 0x0A only (U+2028/U+2029 inside strings are not
 * line ends), strips one trailing 0x0D, and never builds a string of the whole file, so
 * files larger than V8's maximum string length can be read. Each line is handed over as
 * a Buffer view that is valid only during the callback.
 */

/** Where a line sits in the file. */
export interface LineSpan {
  /** 1-based physical line number. */
  line: number;
  /** Byte offset of the first byte of the line. */
  offset: number;
  /** Bytes of the line content, without "\n" and without a trailing "\r". */
  length: number;
  /** Bytes of the terminator: 0 (last line without "\n"), 1 ("\n") or 2 ("\r\n"). */
  eol: 0 | 1 | 2;
  /** True when the line was longer than maxLineBytes; its bytes were not kept. */
  oversize: boolean;
}

/** Receives each line; `bytes` is empty for an oversize line. */
export type LineHandler = (bytes: Buffer, span: LineSpan) => void;

export interface ScanOptions {
  /** Bytes read per chunk (default 4 MiB). */
  chunkSize?: number;
  /**
   * Longest line kept in memory (default 512 MiB - 64, just under V8's string limit, so
   * a kept line can always be decoded). Longer lines are reported as oversize.
   */
  maxLineBytes?: number;
  /** Start scanning at this byte offset (must be the start of a line). */
  startOffset?: number;
  /** Line number of the line at startOffset (default 1). */
  startLine?: number;
  /** Stop after this many bytes of the file (default: the size at open). */
  endOffset?: number;
  signal?: AbortSignal;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
  /** scanBuffer: what to call the bytes in error messages (a file name). */
  name?: string;
}

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;
export const DEFAULT_MAX_LINE_BYTES = 0x1fffffe8 - 64;

/** Incremental splitter: feed chunks in order, then call end(). */
export class LineSplitter {
  private readonly onLine: LineHandler;
  private readonly maxLineBytes: number;
  private carry: Buffer[] = [];
  private carryBytes = 0;
  private oversize = false;
  /** Last byte kept for the current line (an oversize line drops its bytes but not this). */
  private lastByte = -1;
  private lineStart: number;
  private lineNo: number;

  constructor(onLine: LineHandler, maxLineBytes = DEFAULT_MAX_LINE_BYTES, startOffset = 0, startLine = 1) {
    this.onLine = onLine;
    this.maxLineBytes = maxLineBytes;
    this.lineStart = startOffset;
    this.lineNo = startLine;
  }

  /** Bytes consumed so far (offset of the line currently being assembled). */
  get pendingOffset(): number {
    return this.lineStart;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const nl = chunk.indexOf(0x0a, pos);
      if (nl === -1) {
        this.keep(chunk.subarray(pos));
        return;
      }
      let bytes: Buffer;
      if (this.carryBytes === 0 && !this.oversize) {
        bytes = chunk.subarray(pos, nl);
      } else {
        this.keep(chunk.subarray(pos, nl));
        bytes = this.oversize ? Buffer.alloc(0) : Buffer.concat(this.carry, this.carryBytes);
      }
      const total = this.oversize ? this.carryBytes : bytes.length;
      this.emit(bytes, total, 1);
      pos = nl + 1;
    }
  }

  end(): void {
    if (this.carryBytes === 0 && !this.oversize) return;
    const bytes = this.oversize ? Buffer.alloc(0) : Buffer.concat(this.carry, this.carryBytes);
    this.emit(bytes, this.carryBytes, 0);
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.lastByte = part[part.length - 1] as number;
    // One byte of slack: a final "\r" belongs to the line end and does not count (emit decides).
    if (!this.oversize && this.carryBytes + part.length > this.maxLineBytes + 1) {
      this.oversize = true;
      this.carry = [];
    }
    // Copy: the caller reuses its read buffer for the next chunk.
    if (!this.oversize) this.carry.push(Buffer.from(part));
    this.carryBytes += part.length;
  }

  private emit(bytes: Buffer, total: number, nl: 0 | 1): void {
    let length = total;
    let eol: 0 | 1 | 2 = nl;
    const last = this.oversize ? this.lastByte : bytes[total - 1];
    if (nl === 1 && total > 0 && last === 0x0d) {
      length -= 1;
      eol = 2;
    }
    // Checked here as well as in keep(): a line that fits in one chunk never goes through keep().
    const oversize = this.oversize || length > this.maxLineBytes;
    bytes = oversize ? Buffer.alloc(0) : bytes.subarray(0, length);
    const span: LineSpan = { line: this.lineNo, offset: this.lineStart, length, eol, oversize };
    this.lineNo += 1;
    this.lineStart += total + nl;
    this.carry = [];
    this.carryBytes = 0;
    this.oversize = false;
    this.lastByte = -1;
    this.onLine(bytes, span);
  }
}

export function checkAbort(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) throw new SessfmtError("E_ABORTED", "scan aborted", { file, cause: signal.reason });
}

/** Scan a file synchronously. Returns the file size that was scanned. */
export function scanFileSync(file: string, onLine: LineHandler, opts: ScanOptions = {}): number {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw ioError(err, file, "cannot open");
  }
  try {
    const size = opts.endOffset ?? fstatSync(fd).size;
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, Math.max(size, 1))));
    const splitter = new LineSplitter(onLine, opts.maxLineBytes, opts.startOffset ?? 0, opts.startLine ?? 1);
    let pos = opts.startOffset ?? 0;
    while (pos < size) {
      checkAbort(opts.signal, file);
      let n: number;
      try {
        n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
      } catch (err) {
        throw ioError(err, file, `read failed at byte ${pos}`);
      }
      if (n === 0) break; // file shrank under us: scan what was there
      splitter.push(buf.subarray(0, n));
      pos += n;
      opts.onProgress?.(pos, size);
    }
    splitter.end();
    return pos;
  } finally {
    closeSync(fd);
  }
}

/** Scan a file with asynchronous reads (yields to the event loop between chunks). */
export async function scanFile(file: string, onLine: LineHandler, opts: ScanOptions = {}): Promise<number> {
  let fh;
  try {
    fh = await openAsync(file, "r");
  } catch (err) {
    throw ioError(err, file, "cannot open");
  }
  try {
    const size = opts.endOffset ?? (await fh.stat()).size;
    const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    const buf = Buffer.allocUnsafe(Math.max(1, Math.min(chunkSize, Math.max(size, 1))));
    const splitter = new LineSplitter(onLine, opts.maxLineBytes, opts.startOffset ?? 0, opts.startLine ?? 1);
    let pos = opts.startOffset ?? 0;
    while (pos < size) {
      checkAbort(opts.signal, file);
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos));
      } catch (err) {
        throw ioError(err, file, `read failed at byte ${pos}`);
      }
      if (n === 0) break;
      splitter.push(buf.subarray(0, n));
      pos += n;
      opts.onProgress?.(pos, size);
    }
    splitter.end();
    return pos;
  } finally {
    await fh.close();
  }
}

/**
 * Scan an in-memory buffer. Chunked the same way as a file (default 4 MiB), so tests
 * exercise the carry path; a chunk size of the whole buffer hands every line over as a
 * view into `data`, with no copy.
 */
export function scanBuffer(data: Buffer, onLine: LineHandler, opts: ScanOptions = {}): number {
  const chunkSize = Math.max(1, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  const end = opts.endOffset ?? data.length;
  const splitter = new LineSplitter(onLine, opts.maxLineBytes, opts.startOffset ?? 0, opts.startLine ?? 1);
  for (let pos = opts.startOffset ?? 0; pos < end; pos += chunkSize) {
    checkAbort(opts.signal, opts.name ?? "<buffer>");
    splitter.push(data.subarray(pos, Math.min(end, pos + chunkSize)));
  }
  splitter.end();
  return end;
}

/** Bytes read per call when a file is read whole (progress and abort checks in between). */
const WHOLE_READ_PIECE = 8 * 1024 * 1024;

/**
 * Read the first `size` bytes of a file into one Buffer (fewer if the file is shorter
 * by now). For files small enough to keep: one allocation, then every line is a view.
 */
export function readFileBytesSync(
  file: string,
  size: number,
  opts: { signal?: AbortSignal; onProgress?: (bytesDone: number, bytesTotal: number) => void } = {},
): Buffer {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    throw ioError(err, file, "cannot open");
  }
  try {
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    while (pos < size) {
      checkAbort(opts.signal, file);
      let n: number;
      try {
        n = readSync(fd, buf, pos, Math.min(WHOLE_READ_PIECE, size - pos), pos);
      } catch (err) {
        throw ioError(err, file, `read failed at byte ${pos}`);
      }
      if (n === 0) break;
      pos += n;
      opts.onProgress?.(pos, size);
    }
    return pos === size ? buf : buf.subarray(0, pos);
  } finally {
    closeSync(fd);
  }
}
