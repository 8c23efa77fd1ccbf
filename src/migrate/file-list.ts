import type { DiscoveredFile } from "./archive.js";

/**
 * The files of an archive run, packed into shared memory once for every worker thread:
 * the paths' UTF-8 bytes end to end plus a table of where each one ends and its size.
 * Structured-cloning the list into each worker would copy every path per worker; this is
 * one allocation, read in place.
 */
export interface SharedFileList {
  /** UTF-8 of every path, back to back. */
  paths: SharedArrayBuffer;
  /** Float64: the end offset of path i in `paths` at 2i, its size in bytes at 2i + 1. */
  table: SharedArrayBuffer;
  count: number;
}

export function packFileList(files: readonly DiscoveredFile[]): SharedFileList {
  const encoded = files.map((f) => Buffer.from(f.file, "utf8"));
  const paths = new SharedArrayBuffer(encoded.reduce((n, b) => n + b.length, 0));
  const table = new SharedArrayBuffer(Float64Array.BYTES_PER_ELEMENT * 2 * files.length);
  const bytes = new Uint8Array(paths);
  const rows = new Float64Array(table);
  let end = 0;
  encoded.forEach((b, i) => {
    bytes.set(b, end);
    end += b.length;
    rows[2 * i] = end;
    rows[2 * i + 1] = (files[i] as DiscoveredFile).bytes;
  });
  return { paths, table, count: files.length };
}

/** Reads entries of a packed list (in any thread). */
export class FileListReader {
  private readonly rows: Float64Array;

  constructor(private readonly list: SharedFileList) {
    this.rows = new Float64Array(list.table);
  }

  at(i: number): DiscoveredFile {
    const start = i === 0 ? 0 : (this.rows[2 * i - 2] as number);
    const end = this.rows[2 * i] as number;
    return { file: Buffer.from(this.list.paths, start, end - start).toString("utf8"), bytes: this.rows[2 * i + 1] as number };
  }
}
