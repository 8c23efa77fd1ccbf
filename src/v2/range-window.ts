import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { SessfmtError, ioError } from "../format/errors.js";

/** Bytes read per disk read when a range is not in the window. */
export const RANGE_WINDOW_BYTES = 4 << 20;

/** Which file was read: a later reader must find the same inode, at least this long. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

/**
 * Reads byte ranges of one file that are asked for mostly in ascending order (the lines
 * of a JSONL session by their records, in file order) through one large read-ahead
 * window: a pass over the whole file costs one read per 4 MiB instead of one per line.
 * A range outside the window starts a new window at its first byte. Returned buffers are
 * views into the window; every window is a fresh buffer, so a view stays valid after
 * later reads.
 */
export class RangeWindowReader {
  private win: Buffer = Buffer.alloc(0);
  private winStart = 0;

  private constructor(
    readonly file: string,
    private readonly fh: FileHandle,
    /** Size at open: bounds the window (small files get small buffers). */
    private readonly size: number,
    private readonly window: number,
  ) {}

  /**
   * Open `file` (never through a symbolic link at its last component). With `expect`, a
   * file that is not the one read before (another inode, or shorter) is E_SOURCE_CHANGED.
   */
  static async open(file: string, expect?: FileIdentity, window: number = RANGE_WINDOW_BYTES): Promise<RangeWindowReader> {
    let fh: FileHandle;
    try {
      fh = await open(file, constants.O_RDONLY | NOFOLLOW);
    } catch (err) {
      throw ioError(err, file, "cannot open for reading");
    }
    try {
      const st = await fh.stat();
      if (expect && (st.ino !== expect.ino || st.dev !== expect.dev || st.size < expect.size)) {
        throw new SessfmtError("E_SOURCE_CHANGED", `the file was replaced or truncated since it was read (size ${expect.size} -> ${st.size}); read it again`, { file });
      }
      return new RangeWindowReader(file, fh, st.size, window);
    } catch (err) {
      await fh.close().catch(() => undefined);
      throw ioError(err, file, "cannot stat");
    }
  }

  /** `length` bytes at `offset`; E_SOURCE_CHANGED when the file ends before them. */
  async read(offset: number, length: number): Promise<Buffer> {
    const start = offset - this.winStart;
    if (start >= 0 && start + length <= this.win.length) return this.win.subarray(start, start + length);
    const want = Math.max(length, Math.min(this.window, this.size - offset));
    const buf = Buffer.allocUnsafe(want);
    let done = 0;
    while (done < want) {
      let n: number;
      try {
        ({ bytesRead: n } = await this.fh.read(buf, done, want - done, offset + done));
      } catch (err) {
        throw ioError(err, this.file, `read failed at byte ${offset + done}`);
      }
      if (n === 0) break;
      done += n;
    }
    this.win = buf.subarray(0, done);
    this.winStart = offset;
    if (done < length) {
      throw new SessfmtError("E_SOURCE_CHANGED", `the file ends at byte ${offset + done}, before the ${length} bytes at ${offset} it held when it was read`, { file: this.file, offset: offset + done });
    }
    return this.win.subarray(0, length);
  }

  async close(): Promise<void> {
    this.win = Buffer.alloc(0);
    await this.fh.close().catch(() => undefined);
  }
}
