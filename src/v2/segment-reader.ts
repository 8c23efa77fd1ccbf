import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { SessfmtError, ioError } from "../format/errors.js";
import { inRoot, segmentRelPath } from "./layout.js";
import { lstatOrUndefined, openRead, openReadSyncOrUndefined } from "./fs-safe.js";
import type { OffsetIndexRow } from "./index-row.js";
import { problem, type SidecarProblem } from "./problems.js";
import type { ReadObserver, ReadStats } from "./read-stats.js";
import { RangeWindowReader } from "./range-window.js";

/** The Rust port's absolute limit on one frame line (100 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 100 * 1024 * 1024;

export interface SegmentReaderOptions {
  stats?: ReadStats;
  onRead?: ReadObserver;
  /**
   * Read-ahead: bytes read per disk read when the next frame is not in the buffer
   * (default 1 MiB, good for sequential reads). 0 reads exactly the frame's bytes.
   */
  window?: number;
  maxFrameBytes?: number;
  /**
   * Return views into the read-ahead window instead of copies (default false). Only for
   * callers that drop each frame before the next read: a kept view keeps its whole
   * window in memory. Every window is a fresh buffer, so a view is never overwritten.
   */
  views?: boolean;
  /**
   * With views, for a pass that reads the rows in file order and drops each frame before
   * the next read: the next window is read ahead while this one's frames are checked, and
   * the window buffers are reused (a view is valid only until the next read). Async
   * reads only.
   */
  sequentialViews?: boolean;
}

/** A frame could not be read; `problem` says which check failed. */
export function corrupt(root: string, p: SidecarProblem): SessfmtError {
  return new SessfmtError("E_SIDECAR_CORRUPT", `${p.message} [${p.code}${p.entrySeq !== undefined ? `, entrySeq ${p.entrySeq}` : ""}]`, {
    file: p.file ? `${root}/${p.file}` : root,
    offset: p.offset,
    data: { problems: [p] },
  });
}

interface Open {
  seq: number;
  size: number;
  fh?: FileHandle;
  fd?: number;
  winStart: number;
  win: Buffer;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
/** The most readThrough reads at once. */
const READ_THROUGH_MAX = 16 * 1024 * 1024;

/** Reads frame bytes by index row, one segment file open at a time. */
export class SegmentReader {
  private asyncOpen: Open | undefined;
  /** The segment read through a RangeWindowReader (sequentialViews). */
  private windowed: { seq: number; size: number; reader: RangeWindowReader } | undefined;
  private syncOpen: Open | undefined;
  /** See readThrough. */
  private reach: { seq: number; from: number; to: number } | undefined;
  private readonly window: number;
  private readonly maxFrameBytes: number;

  constructor(
    readonly root: string,
    private readonly opts: SegmentReaderOptions = {},
  ) {
    this.window = opts.window ?? 1 << 20;
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  private check(row: OffsetIndexRow, size: number): void {
    // Every frame read passes here: the segment's name is made only for a problem.
    if (row.byteLength <= this.maxFrameBytes && row.byteOffset + row.byteLength <= size) return;
    const file = segmentRelPath(row.segmentSeq);
    if (row.byteLength > this.maxFrameBytes) {
      throw new SessfmtError("E_FRAME_TOO_LARGE", `frame of ${row.byteLength} bytes exceeds the ${this.maxFrameBytes}-byte frame limit (entrySeq ${row.entrySeq})`, {
        file: `${this.root}/${file}`,
        offset: row.byteOffset,
        data: { problems: [problem("frame_too_large", `frame of ${row.byteLength} bytes exceeds the limit`, { file, offset: row.byteOffset, entrySeq: row.entrySeq })] },
      });
    }
    if (row.byteOffset + row.byteLength > size) {
      throw corrupt(
        this.root,
        problem("row_out_of_bounds", `row ends at byte ${row.byteOffset + row.byteLength} but the segment has ${size} bytes`, {
          file,
          offset: row.byteOffset,
          entrySeq: row.entrySeq,
          entryId: row.entryId,
        }),
      );
    }
  }

  private missing(row: OffsetIndexRow): SessfmtError {
    return corrupt(this.root, problem("segment_missing", "the index names a segment file that does not exist", { file: segmentRelPath(row.segmentSeq), entrySeq: row.entrySeq, entryId: row.entryId }));
  }

  private count(row: OffsetIndexRow, offset: number, n: number, opened: boolean): void {
    const s = this.opts.stats;
    if (s) {
      s.segmentBytes += n;
      if (opened) s.segmentOpens++;
    }
    if (this.opts.onRead) this.opts.onRead(segmentRelPath(row.segmentSeq), offset, n);
  }

  private slice(o: Open, row: OffsetIndexRow): Buffer | undefined {
    const start = row.byteOffset - o.winStart;
    if (start >= 0 && start + row.byteLength <= o.win.length) return this.out(o.win.subarray(start, start + row.byteLength));
    return undefined;
  }

  private out(view: Buffer): Buffer {
    return this.opts.views ? view : Buffer.from(view);
  }

  private span(o: Open, row: OffsetIndexRow): number {
    let want = Math.max(row.byteLength, this.window);
    const reach = this.reach;
    if (reach && reach.seq === o.seq && reach.to > row.byteOffset && row.byteOffset >= reach.from) {
      want = Math.max(want, reach.to - row.byteOffset);
      this.reach = undefined;
    }
    return Math.min(want, o.size - row.byteOffset);
  }

  /**
   * The caller is about to read frames of segment `segmentSeq` lying in [from, to): the
   * first read there that misses the window reads on to `to`, so they cost one read (an
   * active open's context at 1 GB: 143 frames, ~620 KB, in one read instead of ten).
   * Capped at READ_THROUGH_MAX bytes; the read that uses it forgets it.
   */
  readThrough(segmentSeq: number, from: number, to: number): void {
    this.reach = to > from && to - from <= READ_THROUGH_MAX ? { seq: segmentSeq, from, to } : undefined;
  }

  /** The byteLength bytes of a row's frame ("\n" included), unverified. */
  async read(row: OffsetIndexRow): Promise<Buffer> {
    if (this.opts.sequentialViews && this.opts.views) return this.readAhead(row);
    let opened = false;
    if (this.asyncOpen?.seq !== row.segmentSeq) {
      await this.closeAsync();
      const path = inRoot(this.root, segmentRelPath(row.segmentSeq));
      if (!(await lstatOrUndefined(path))) throw this.missing(row);
      const fh = await openRead(path);
      this.asyncOpen = { seq: row.segmentSeq, size: (await fh.stat()).size, fh, winStart: 0, win: Buffer.alloc(0) };
      opened = true;
    }
    const o = this.asyncOpen;
    this.check(row, o.size);
    const hit = this.slice(o, row);
    if (hit) {
      if (opened) this.count(row, row.byteOffset, 0, true);
      return hit;
    }
    const n = this.span(o, row);
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      let got: number;
      try {
        ({ bytesRead: got } = await (o.fh as FileHandle).read(buf, done, n - done, row.byteOffset + done));
      } catch (err) {
        throw ioError(err, inRoot(this.root, segmentRelPath(row.segmentSeq)), `read failed at byte ${row.byteOffset + done}`);
      }
      if (got === 0) break;
      done += got;
    }
    this.count(row, row.byteOffset, done, opened);
    if (done < row.byteLength) throw corrupt(this.root, problem("row_out_of_bounds", "segment ended before the frame's last byte", { file: segmentRelPath(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq }));
    o.winStart = row.byteOffset;
    o.win = buf.subarray(0, done);
    return this.out(buf.subarray(0, row.byteLength));
  }

  /**
   * Synchronous read (lazy entry materialisation, frame heads). With `maxBytes`, only the
   * first min(maxBytes, byteLength) bytes are read and returned.
   */
  readSync(row: OffsetIndexRow, maxBytes?: number): Buffer {
    let opened = false;
    if (this.syncOpen?.seq !== row.segmentSeq) {
      this.closeSync();
      const path = inRoot(this.root, segmentRelPath(row.segmentSeq));
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw this.missing(row);
        throw ioError(err, path, "cannot open");
      }
      this.syncOpen = { seq: row.segmentSeq, size: fstatSync(fd).size, fd, winStart: 0, win: Buffer.alloc(0) };
      opened = true;
    }
    const o = this.syncOpen;
    this.check(row, o.size);
    const want = maxBytes === undefined ? row.byteLength : Math.min(maxBytes, row.byteLength);
    if (want < row.byteLength) {
      const buf = Buffer.allocUnsafe(want);
      let done = 0;
      while (done < want) {
        const got = readSync(o.fd as number, buf, done, want - done, row.byteOffset + done);
        if (got === 0) break;
        done += got;
      }
      this.count(row, row.byteOffset, done, opened);
      return buf.subarray(0, done);
    }
    const hit = this.slice(o, row);
    if (hit) return hit;
    const n = this.span(o, row);
    const buf = Buffer.allocUnsafe(n);
    let done = 0;
    while (done < n) {
      const got = readSync(o.fd as number, buf, done, n - done, row.byteOffset + done);
      if (got === 0) break;
      done += got;
    }
    this.count(row, row.byteOffset, done, opened);
    if (done < row.byteLength) throw corrupt(this.root, problem("row_out_of_bounds", "segment ended before the frame's last byte", { file: segmentRelPath(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq }));
    o.winStart = row.byteOffset;
    o.win = buf.subarray(0, done);
    return this.out(buf.subarray(0, row.byteLength));
  }

  /** read() through a read-ahead window reader that reuses its buffers. */
  private async readAhead(row: OffsetIndexRow): Promise<Buffer> {
    if (this.windowed?.seq !== row.segmentSeq) {
      await this.closeAsync();
      const file = segmentRelPath(row.segmentSeq);
      const path = inRoot(this.root, file);
      // Opened synchronously (see fs-safe.ts): two system calls, not three round trips.
      const opened = openReadSyncOrUndefined(path);
      if (!opened) throw this.missing(row);
      const size = opened.stats.size;
      const reader = RangeWindowReader.overFd(path, opened.fd, size, this.window).reuseWindows();
      reader.observe((offset, bytes) => {
        if (this.opts.stats) this.opts.stats.segmentBytes += bytes.length;
        this.opts.onRead?.(file, offset, bytes.length);
      });
      this.windowed = { seq: row.segmentSeq, size, reader };
      if (this.opts.stats) this.opts.stats.segmentOpens++;
    }
    const w = this.windowed;
    this.check(row, w.size);
    const bytes = await w.reader.readUpTo(row.byteOffset, row.byteLength);
    if (bytes.length < row.byteLength) throw corrupt(this.root, problem("row_out_of_bounds", "segment ended before the frame's last byte", { file: segmentRelPath(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq }));
    return bytes;
  }

  private async closeAsync(): Promise<void> {
    const w = this.windowed;
    this.windowed = undefined;
    await w?.reader.close();
    const fh = this.asyncOpen?.fh;
    this.asyncOpen = undefined;
    if (fh) await fh.close();
  }

  closeSync(): void {
    const fd = this.syncOpen?.fd;
    this.syncOpen = undefined;
    if (fd !== undefined) closeSync(fd);
  }

  async close(): Promise<void> {
    this.closeSync();
    await this.closeAsync();
  }
}
