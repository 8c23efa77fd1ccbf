import { createHash, type Hash } from "node:crypto";
import { closeSync, constants, openSync } from "node:fs";
import { SessfmtError, ioError } from "../format/errors.js";
import { preadAt } from "../format/small-io.js";

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/** Open for reading, synchronously (one system call, not a thread-pool round trip). */
function openForReading(file: string, action: string): number {
  try {
    return openSync(file, "r");
  } catch (err) {
    throw ioError(err, file, action);
  }
}

/**
 * Byte-level helpers over the JSONL source: its header line and hashes of byte ranges,
 * without opening (parsing) the whole session.
 */

export interface HeaderLine {
  /** The header line's bytes, line end excluded (a leading BOM included, as on disk). */
  bytes: Buffer;
  offset: number;
  /** 1-based physical line. */
  line: number;
}

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

/**
 * The first non-blank line of a file (the session header), read in chunks that start at
 * 1 KiB (a header is a few hundred bytes) and double up to 1 MiB.
 */
export async function readHeaderLine(file: string, limit = 64 << 20): Promise<HeaderLine> {
  const fd = openForReading(file, "cannot open session");
  try {
    let carry = Buffer.alloc(0);
    let pos = 0;
    let lineStart = 0;
    let lineNo = 1;
    let size = 1024;
    for (;;) {
      const chunk = Buffer.allocUnsafe(size);
      const bytesRead = await preadAt(fd, chunk, 0, size, pos);
      const eof = bytesRead === 0;
      carry = carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      pos += bytesRead;
      size = Math.min(2 * size, 1 << 20);
      for (;;) {
        const nl = carry.indexOf(0x0a);
        if (nl < 0) break;
        const line = carry.subarray(0, nl);
        if (!isBlank(line)) {
          const content = line.length > 0 && line[line.length - 1] === 0x0d ? line.subarray(0, line.length - 1) : line;
          return { bytes: Buffer.from(content), offset: lineStart, line: lineNo };
        }
        lineStart += nl + 1;
        lineNo++;
        carry = carry.subarray(nl + 1);
      }
      if (eof) {
        if (carry.length > 0 && !isBlank(carry)) return { bytes: Buffer.from(carry), offset: lineStart, line: lineNo };
        throw new SessfmtError("E_EMPTY_FILE", "no session header", { file });
      }
      if (carry.length > limit) throw new SessfmtError("E_HEADER_INVALID", `header line longer than ${limit} bytes`, { file, line: lineNo, offset: lineStart });
    }
  } finally {
    closeSync(fd);
  }
}

/** SHA-256 (hex) of bytes [start, end) of a file; E_SOURCE_CHANGED if the file is shorter. */
export async function sha256OfRange(file: string, start: number, end: number, signal?: AbortSignal): Promise<string> {
  const h = createHash("sha256");
  await hashRange(h, file, start, end, signal);
  return h.digest("hex");
}

/**
 * SHA-256 of bytes [0, end) of a file, computed from the runs of bytes a pass over the
 * file reads anyway (`feed`, e.g. from RangeWindowReader.observe): bytes are hashed as
 * they arrive, so the pass needs no second read of the file. What the runs did not cover
 * (the bytes after the last run) is read by `digest`; a run that skips bytes makes
 * `digest` hash the whole range again from the file. Either way the result is the hash
 * of [0, end).
 */
export class PrefixHasher {
  private readonly h = createHash("sha256");
  private pos = 0;
  private skipped = false;

  constructor(
    readonly file: string,
    readonly end: number,
  ) {}

  feed(start: number, bytes: Buffer): void {
    if (this.skipped || this.pos >= this.end) return;
    if (start > this.pos) {
      this.skipped = true;
      return;
    }
    const from = this.pos - start;
    const to = Math.min(bytes.length, this.end - start);
    if (to <= from) return;
    this.h.update(bytes.subarray(from, to));
    this.pos = start + to;
  }

  /** The hash of [0, end); E_SOURCE_CHANGED if the file is shorter. */
  async digest(signal?: AbortSignal): Promise<string> {
    if (this.skipped) return sha256OfRange(this.file, 0, this.end, signal);
    if (this.pos < this.end) await hashRange(this.h, this.file, this.pos, this.end, signal);
    this.pos = this.end;
    return this.h.digest("hex");
  }
}

/**
 * SHA-256 of a prefix of a file that grows, each byte hashed once: a sync hashes the
 * indexed prefix to check it (digestTo), feeds in the new bytes as it reads them to frame
 * them (feed), and records the hash of the longer prefix, and of its last `tailBytes`,
 * from those same bytes. A second read of the file could see bytes that changed after the
 * check or the framing, and record hashes the sidecar does not match. Bytes no caller fed
 * are read from the file. After a failed read the state is lost and every call throws.
 */
export class GrowingPrefixHash {
  private readonly h = createHash("sha256");
  private pos = 0;
  /** The last tailBytes (or fewer) of the bytes hashed. */
  private tail = Buffer.alloc(0);
  private failed = false;
  private readonly sink = { update: (b: Buffer) => this.take(b) };

  constructor(
    readonly file: string,
    private readonly tailBytes = 0,
  ) {}

  /** Bytes hashed so far: the prefix [0, hashed). */
  get hashed(): number {
    return this.pos;
  }

  private take(b: Buffer): void {
    this.h.update(b);
    if (this.tailBytes === 0) return;
    // A copy of at most tailBytes: the tail never holds on to a whole piece read.
    this.tail = b.length >= this.tailBytes ? Buffer.from(b.subarray(b.length - this.tailBytes)) : Buffer.concat([this.tail, b]).subarray(Math.max(0, this.tail.length + b.length - this.tailBytes));
  }

  private async guarded<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.failed) throw new SessfmtError("E_INVALID_ARGUMENT", "the prefix hash is unusable after a failed read", { file: this.file });
    try {
      return await fn();
    } catch (err) {
      this.failed = true;
      throw err;
    }
  }

  /** Bytes at `start` of the file, as read by the caller: hashed after [hashed, start), which is read from the file. */
  feed(start: number, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    return this.guarded(async () => {
      if (start < this.pos) throw new SessfmtError("E_INVALID_ARGUMENT", `cannot hash bytes at ${start} after [0, ${this.pos})`, { file: this.file });
      if (start > this.pos) await hashRange(this.sink, this.file, this.pos, start, signal);
      this.take(bytes);
      this.pos = start + bytes.length;
    });
  }

  /** The hash of [0, end); `end` may not be below the bytes already hashed. */
  digestTo(end: number, signal?: AbortSignal): Promise<string> {
    return this.guarded(async () => {
      if (end < this.pos) throw new SessfmtError("E_INVALID_ARGUMENT", `cannot hash [0, ${end}) after [0, ${this.pos})`, { file: this.file });
      if (end > this.pos) await hashRange(this.sink, this.file, this.pos, end, signal);
      this.pos = end;
      return this.h.copy().digest("hex");
    });
  }

  /** The hash of the last min(tailBytes, hashed) bytes hashed. */
  tailDigest(): string {
    return createHash("sha256").update(this.tail).digest("hex");
  }
}

/** Add bytes [start, end) of a file to `h`. */
async function hashRange(h: Pick<Hash, "update"> | { update(b: Buffer): void }, file: string, start: number, end: number, signal?: AbortSignal): Promise<void> {
  const fd = openForReading(file, "cannot open");
  // Two buffers: the next 4 MiB is read (in the thread pool) while this one is hashed.
  const size = Math.max(1, Math.min(4 << 20, end - start));
  const bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const readAt = (pos: number, k: number) => {
    const buf = bufs[k % 2] as Buffer;
    return preadAt(fd, buf, 0, Math.min(buf.length, end - pos), pos).then(
      (n) => ({ buf, n }),
      (error: unknown) => ({ buf, n: -1, error }),
    );
  };
  let next = start < end ? readAt(start, 0) : undefined;
  try {
    let pos = start;
    for (let k = 1; pos < end; k++) {
      const got = await (next as ReturnType<typeof readAt>);
      next = undefined;
      if (got.n < 0) throw ioError((got as { error: unknown }).error, file, `read failed at byte ${pos}`);
      if (got.n === 0) throw new SessfmtError("E_SOURCE_CHANGED", `file ended at byte ${pos}, before ${end}`, { file, offset: pos });
      pos += got.n;
      if (signal?.aborted) throw new SessfmtError("E_ABORTED", "aborted", { file, cause: signal.reason });
      if (pos < end) next = readAt(pos, k);
      h.update(got.buf.subarray(0, got.n));
    }
  } finally {
    if (next) await next;
    closeSync(fd);
  }
}

/**
 * Bytes [start, start + length) of a file (fewer at the end of the file); with `noFollow`,
 * never through a symlink (the migration's own files).
 */
export async function readRange(file: string, start: number, length: number, opts: { noFollow?: boolean } = {}): Promise<Buffer> {
  const what = `cannot read ${length} bytes at byte ${start}`;
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | (opts.noFollow ? NOFOLLOW : 0));
  } catch (err) {
    throw ioError(err, file, what);
  }
  try {
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const bytesRead = await preadAt(fd, buf, done, length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  } catch (err) {
    throw ioError(err, file, what);
  } finally {
    closeSync(fd);
  }
}
