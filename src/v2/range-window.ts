import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { SessfmtError, ioError } from "../format/errors.js";
import { preadAt } from "../format/small-io.js";

/** Bytes read per disk read when a range is not in the window. */
export const RANGE_WINDOW_BYTES = 4 << 20;

/**
 * Room kept before each read-ahead window for the part of a range that the previous
 * window holds (a line cut by the window's end): that part is copied in front of the new
 * window instead of reading it again. A longer cut range is read again from its start.
 */
export const RANGE_HEADROOM_BYTES = 64 << 10;

/** Which file was read: a later reader must find the same inode, at least this long. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * A window buffer left by a closed reader that reused its windows, for the next such
 * reader in this thread. A pass over an archive opens three such readers per file (its
 * lines, its segments twice), each with a window the size of the file: ~850 MB of fresh
 * Buffers for 2,000 small files, every page of them faulted in anew, and Buffer memory
 * that makes the collector run full collections. Readers that reuse windows promise that
 * a view is not used after the next read or close(), so a closed one's buffer is free.
 */
let recycled: Buffer | undefined;
const RECYCLE_MAX_BYTES = RANGE_WINDOW_BYTES + RANGE_HEADROOM_BYTES;

/** A window being read ahead: `want` bytes at `start`, read into `buf` after the headroom. */
interface Ahead {
  start: number;
  want: number;
  buf: Buffer;
  /** Bytes read, or the read's error (kept, so that an unused read-ahead never rejects unobserved). */
  done: Promise<number | { error: unknown }>;
}

/**
 * Reads byte ranges of one file that are asked for mostly in ascending order (the lines
 * of a JSONL session by their records, in file order; the frames of a segment by their
 * index rows) through one large window: a pass over the whole file costs one read per
 * 4 MiB instead of one per range. As soon as a window is read, the next one (the bytes
 * after it) is read ahead, so the disk read of window k+1 runs in the thread pool while
 * the caller works on window k: at most two windows are held (the current one and the
 * one being read), whatever the file's size. A range outside both starts a new window at
 * its first byte. Returned buffers are views into a window; every window is a fresh
 * buffer, so a view stays valid after later reads (unless reuseWindows is on).
 */
export class RangeWindowReader {
  private win: Buffer = Buffer.alloc(0);
  /** The buffer the current window is a view of. */
  private winBuf: Buffer = this.win;
  private winStart = 0;
  /** With reuseWindows: a buffer no window uses any more, to read the next window into. */
  private spare: Buffer | undefined;
  private reuse = false;
  private closed = false;
  private ahead: Ahead | undefined;
  /** Told of every run of bytes as it is read from the file (see observe). */
  private onBytes: ((start: number, bytes: Buffer) => void) | undefined;

  private constructor(
    readonly file: string,
    private readonly fd: number,
    /** Size at open: bounds the windows (small files get small buffers; no read-ahead past it). */
    readonly size: number,
    private readonly window: number,
  ) {}

  /**
   * Open `file` (never through a symbolic link at its last component). With `expect`, a
   * file that is not the one read before (another inode, or shorter) is E_SOURCE_CHANGED.
   */
  static async open(file: string, expect?: FileIdentity, window: number = RANGE_WINDOW_BYTES): Promise<RangeWindowReader> {
    // Opened and stat'ed synchronously: two system calls, not two thread-pool round trips.
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDONLY | NOFOLLOW);
    } catch (err) {
      throw ioError(err, file, "cannot open for reading");
    }
    try {
      const st = fstatSync(fd);
      if (expect && (st.ino !== expect.ino || st.dev !== expect.dev || st.size < expect.size)) {
        throw new SessfmtError("E_SOURCE_CHANGED", `the file was replaced or truncated since it was read (size ${expect.size} -> ${st.size}); read it again`, { file });
      }
      return RangeWindowReader.overFd(file, fd, st.size, window);
    } catch (err) {
      closeSync(fd);
      throw ioError(err, file, "cannot stat");
    }
  }

  /** A reader over a descriptor the caller has opened (and whose size it has read); close() closes it. */
  static overFd(file: string, fd: number, size: number, window: number = RANGE_WINDOW_BYTES): RangeWindowReader {
    return new RangeWindowReader(file, fd, size, window);
  }

  /**
   * Have `fn` see every run of bytes read from the file from now on, once, in the order
   * read (a pass that hashes the file as it reads its lines; a run may start before the
   * end of the previous one when a range is read again, or after it when ranges skip).
   */
  observe(fn: (start: number, bytes: Buffer) => void): void {
    this.onBytes = fn;
  }

  /**
   * From now on, a returned view is valid only until the next read or close(): the buffer
   * of a window left behind is read into again, instead of a new 4 MiB buffer for every
   * window, and at close() it is kept for the next such reader (for a pass that uses
   * each range before it reads the next, such as one that copies or compares it; it
   * spares the garbage collector the buffers' turnover).
   */
  reuseWindows(): this {
    this.reuse = true;
    return this;
  }

  /** Read the window at `offset` now (a pass that must see every byte from there on starts here). */
  async begin(offset: number): Promise<void> {
    await this.readUpTo(offset, 1);
  }

  /** `length` bytes at `offset` if the current window holds them (no await), else undefined. */
  peek(offset: number, length: number): Buffer | undefined {
    const s = offset - this.winStart;
    return s >= 0 && s + length <= this.win.length ? this.win.subarray(s, s + length) : undefined;
  }

  /** `length` bytes at `offset`; E_SOURCE_CHANGED when the file ends before them. */
  async read(offset: number, length: number): Promise<Buffer> {
    const got = await this.readUpTo(offset, length);
    if (got.length < length) {
      const end = offset + got.length;
      throw new SessfmtError("E_SOURCE_CHANGED", `the file ends at byte ${end}, before the ${length} bytes at ${offset} it held when it was read`, { file: this.file, offset: end });
    }
    return got;
  }

  /**
   * `length` bytes at `offset`, or fewer when the file ends before them (a view; the
   * file is read again from `offset` when the windows do not hold the range in full, so
   * a file that grew since it was opened is read to its current end).
   */
  async readUpTo(offset: number, length: number): Promise<Buffer> {
    const s = offset - this.winStart;
    if (s >= 0 && s + length <= this.win.length) return this.win.subarray(s, s + length);
    if (this.ahead && (await this.takeAhead(offset))) {
      if (length <= this.win.length) return this.win.subarray(0, length);
    }
    await this.settleAhead();
    const want = Math.max(length, Math.min(this.window, this.size - offset));
    const buf = this.alloc(want);
    const done = await this.fill(buf, 0, want, offset);
    this.retire(this.winBuf);
    this.winBuf = buf;
    this.win = buf.subarray(0, done);
    this.winStart = offset;
    this.onBytes?.(offset, this.win);
    this.readAhead();
    return this.win.subarray(0, Math.min(length, done));
  }

  /**
   * Make the read-ahead window (with the bytes from `offset` that the current window
   * holds in front of it) the current window, when the range at `offset` starts in it or
   * just before it. False when the read-ahead is of no use for `offset`.
   */
  private async takeAhead(offset: number): Promise<boolean> {
    const a = this.ahead as Ahead;
    const winEnd = this.winStart + this.win.length;
    const carried = a.start - offset;
    const joins = carried > 0 && carried <= RANGE_HEADROOM_BYTES && offset >= this.winStart && a.start === winEnd;
    if (!joins && !(offset >= a.start && offset < a.start + a.want)) return false;
    this.ahead = undefined;
    const r = await a.done;
    if (typeof r !== "number") throw r.error;
    this.onBytes?.(a.start, a.buf.subarray(RANGE_HEADROOM_BYTES, RANGE_HEADROOM_BYTES + r));
    if (!joins && offset >= a.start + r) {
      this.retire(a.buf);
      return false;
    }
    const left = this.winBuf;
    this.winBuf = a.buf;
    if (joins) {
      this.win.copy(a.buf, RANGE_HEADROOM_BYTES - carried, offset - this.winStart);
      this.win = a.buf.subarray(RANGE_HEADROOM_BYTES - carried, RANGE_HEADROOM_BYTES + r);
    } else {
      this.win = a.buf.subarray(RANGE_HEADROOM_BYTES + (offset - a.start), RANGE_HEADROOM_BYTES + r);
    }
    this.winStart = offset;
    this.retire(left);
    // A short read-ahead reached the end of the file: nothing after it to read ahead.
    if (r === a.want) this.readAhead();
    return true;
  }

  /** Start reading the window after the current one (up to the size at open). */
  private readAhead(): void {
    const start = this.winStart + this.win.length;
    if (start >= this.size || this.win.length === 0) return;
    const want = Math.min(this.window, this.size - start);
    const buf = this.alloc(RANGE_HEADROOM_BYTES + want);
    const done = this.fill(buf, RANGE_HEADROOM_BYTES, want, start).catch((error: unknown) => ({ error }));
    this.ahead = { start, want, buf, done };
  }

  /** Wait for a read-ahead nobody will use (no read runs on the handle when it closes). */
  private async settleAhead(): Promise<void> {
    const a = this.ahead;
    this.ahead = undefined;
    if (a) {
      await a.done;
      this.retire(a.buf);
    }
  }

  /** A buffer of at least `n` bytes: the spare one if it is large enough. */
  private alloc(n: number): Buffer {
    const b = this.spare;
    if (b && b.length >= n) {
      this.spare = undefined;
      return b;
    }
    const r = recycled;
    if (this.reuse && r && r.length >= n) {
      recycled = undefined;
      return r;
    }
    return Buffer.allocUnsafe(n);
  }

  /** A buffer no window uses any more (kept for the next window with reuseWindows). */
  private retire(b: Buffer): void {
    if (this.reuse && b.length > 0 && (!this.spare || this.spare.length < b.length)) this.spare = b;
  }

  /** Read up to `want` bytes at file position `pos` into buf[at..]; how many there were. */
  private async fill(buf: Buffer, at: number, want: number, pos: number): Promise<number> {
    let done = 0;
    while (done < want) {
      let n: number;
      try {
        n = await preadAt(this.fd, buf, at + done, want - done, pos + done);
      } catch (err) {
        throw ioError(err, this.file, `read failed at byte ${pos + done}`);
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  async close(): Promise<void> {
    await this.settleAhead();
    if (this.reuse) {
      for (const b of [this.winBuf, this.spare]) {
        if (b && b.length > (recycled?.length ?? 0) && b.length <= RECYCLE_MAX_BYTES) recycled = b;
      }
    }
    this.win = Buffer.alloc(0);
    this.winBuf = this.win;
    this.spare = undefined;
    // Once: a descriptor number closed twice may by then name another file.
    if (!this.closed) {
      this.closed = true;
      closeSync(this.fd);
    }
  }
}
