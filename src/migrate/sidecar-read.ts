import { closeSync, constants, fstatSync, openSync, readdirSync } from "node:fs";
import { preadAt } from "../format/small-io.js";
import { join } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { INDEX_FILE, decodeIndexRow, segmentRelPath, type OffsetIndexRow } from "../v2/index.js";
import { RangeWindowReader } from "../v2/range-window.js";
import { lstatMaybe } from "./fs.js";

/**
 * Reading a sidecar's index and segments directly with the v2 codecs, independently of
 * the v2 store's own reader: status and verify must not trust the code they check.
 */

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export type IndexLine =
  | { ok: true; row: OffsetIndexRow; line: number; offset: number }
  | { ok: false; line: number; offset: number; message: string; unterminated: boolean };

/** Every line of `index/offsets.jsonl`, decoded, streamed in pieces (no whole-file string). */
export async function* indexLines(root: string, signal?: AbortSignal): AsyncGenerator<IndexLine> {
  for await (const batch of indexLineBatches(root, signal)) yield* batch;
}

/**
 * indexLines a 1 MiB read at a time: the lines each read completes, decoded, as one array
 * (a pass over many rows awaits once per read, not once per row).
 */
export async function* indexLineBatches(root: string, signal?: AbortSignal): AsyncGenerator<IndexLine[]> {
  const path = join(root, ...INDEX_FILE.split("/"));
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    throw ioError(err, path, "cannot open the index");
  }
  try {
    // No larger than the index: a fixed 1 MiB per small store was most of an archive run's
    // Buffer memory, and the collector runs full collections for Buffer memory too.
    const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(1 << 20, fstatSync(fd).size + 1)));
    let carry: Buffer = Buffer.alloc(0);
    let pos = 0;
    let lineStart = 0;
    let lineNo = 0;
    for (;;) {
      if (signal?.aborted) throw new SessfmtError("E_ABORTED", "reading the index aborted", { file: path, cause: signal.reason });
      const bytesRead = await preadAt(fd, chunk, 0, chunk.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      carry = carry.length === 0 ? Buffer.from(chunk.subarray(0, bytesRead)) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      const batch: IndexLine[] = [];
      let start = 0;
      for (;;) {
        const nl = carry.indexOf(0x0a, start);
        if (nl < 0) break;
        lineNo++;
        const bytes = carry.subarray(start, nl);
        if (!isBlank(bytes)) batch.push(decodeLine(bytes, lineNo, lineStart));
        lineStart += nl + 1 - start;
        start = nl + 1;
      }
      carry = carry.subarray(start);
      if (batch.length > 0) yield batch;
    }
    if (carry.length > 0 && !isBlank(carry)) {
      yield [{ ok: false, line: lineNo + 1, offset: lineStart, message: "last index line has no line end (torn append)", unterminated: true }];
    }
  } finally {
    closeSync(fd);
  }
}

function isBlank(b: Buffer): boolean {
  for (const c of b) if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  return true;
}

function decodeLine(bytes: Buffer, line: number, offset: number): IndexLine {
  const d = decodeIndexRow(bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, -1) : bytes);
  return d.ok ? { ok: true, row: d.value, line, offset } : { ok: false, line, offset, message: d.message, unterminated: false };
}

/** `segments/<16 digits>.seg` files and their sizes (symlinks are reported, never followed). */
export async function segmentSizes(root: string): Promise<{ sizes: Map<number, number>; symlinks: string[] }> {
  const dir = join(root, "segments");
  const sizes = new Map<number, number>();
  const symlinks: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { sizes, symlinks };
    throw ioError(err, dir, "cannot list segments");
  }
  for (const name of names) {
    const m = /^([0-9]{16})\.seg$/.exec(name);
    if (!m) continue;
    const st = await lstatMaybe(join(dir, name));
    if (!st) continue;
    if (st.isSymbolicLink()) symlinks.push(`segments/${name}`);
    else if (st.isFile()) sizes.set(Number(m[1]), st.size);
  }
  return { sizes, symlinks };
}

/** Bytes read per disk read when the next frame is not in the window. */
export const FRAME_WINDOW_BYTES = 4 << 20;

/**
 * Reads frames by row, one open handle per segment at a time. Rows in file order (as the
 * index lists them) are served from one large window per 4 MiB of segment instead of one
 * awaited read per frame, and the next window is read ahead while the caller checks the
 * frames of this one (RangeWindowReader); a row outside the windows starts a new window at
 * its first byte. The returned bytes are a view into a window: every window is a fresh
 * buffer, so a view stays valid after later reads.
 */
export class FrameReader {
  private seg: RangeWindowReader | undefined;
  private seq = 0;

  constructor(
    private readonly root: string,
    private readonly window: number = FRAME_WINDOW_BYTES,
    /** Reuse window buffers (RangeWindowReader.reuseWindows): a frame's bytes are then valid only until the next read. */
    private readonly reuse = false,
  ) {}

  /** The row's bytes when the current window holds them (no await), else undefined: read() them. */
  peek(row: OffsetIndexRow): Buffer | undefined {
    return this.seq === row.segmentSeq ? this.seg?.peek(row.byteOffset, row.byteLength) : undefined;
  }

  /** The row's bytes, or an error message when they cannot be read in full. */
  async read(row: OffsetIndexRow): Promise<{ ok: true; bytes: Buffer } | { ok: false; message: string }> {
    if (this.seq !== row.segmentSeq || !this.seg) {
      await this.close();
      const path = join(this.root, ...segmentRelPath(row.segmentSeq).split("/"));
      // Opened synchronously: two system calls, not two thread-pool round trips.
      let fd: number | undefined;
      try {
        fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
        this.seg = RangeWindowReader.overFd(path, fd, fstatSync(fd).size, this.window);
        if (this.reuse) this.seg.reuseWindows();
      } catch (err) {
        if (fd !== undefined && !this.seg) closeSync(fd);
        return { ok: false, message: `segment ${row.segmentSeq} cannot be opened: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
      }
      this.seq = row.segmentSeq;
    }
    // A range the windows do not hold in full is read again from its first byte: the
    // segment may have grown since it was opened (a sync appending meanwhile), so a short
    // window proves nothing.
    let bytes: Buffer;
    try {
      bytes = await this.seg.readUpTo(row.byteOffset, row.byteLength);
    } catch (err) {
      return { ok: false, message: `read failed: ${(err as Error).message}` };
    }
    if (bytes.length < row.byteLength) return { ok: false, message: `row ends at byte ${row.byteOffset + row.byteLength} but the segment ends at ${row.byteOffset + bytes.length}` };
    return { ok: true, bytes };
  }

  async close(): Promise<void> {
    const seg = this.seg;
    this.seg = undefined;
    this.seq = 0;
    await seg?.close();
  }
}
