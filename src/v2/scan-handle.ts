import { fstatSync } from "node:fs";
import { SessfmtError, ioError } from "../format/errors.js";
import { preadAt } from "../format/small-io.js";
import { LineSplitter, type LineHandler } from "../format/scan.js";

export interface HandleScanOptions {
  chunkSize?: number;
  maxLineBytes?: number;
  /** Stop after this many bytes (default: the size at start). */
  end?: number;
  signal?: AbortSignal;
  onChunk?: (offset: number, bytes: number) => void;
  onProgress?: (done: number, total: number) => void;
}

/** Split an already opened file into lines (format/scan's splitter over a FileHandle). */
export async function scanHandle(fh: { fd: number }, file: string, onLine: LineHandler, opts: HandleScanOptions = {}): Promise<number> {
  const size = opts.end ?? fstatSync(fh.fd).size;
  const buf = Buffer.allocUnsafe(Math.max(1, Math.min(opts.chunkSize ?? 4 << 20, Math.max(size, 1))));
  const splitter = new LineSplitter(onLine, opts.maxLineBytes);
  let pos = 0;
  while (pos < size) {
    if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "aborted", { file, cause: opts.signal.reason });
    let n: number;
    try {
      n = await preadAt(fh.fd, buf, 0, Math.min(buf.length, size - pos), pos);
    } catch (err) {
      throw ioError(err, file, `read failed at byte ${pos}`);
    }
    if (n === 0) break;
    opts.onChunk?.(pos, n);
    splitter.push(buf.subarray(0, n));
    pos += n;
    opts.onProgress?.(pos, size);
  }
  splitter.end();
  return pos;
}
