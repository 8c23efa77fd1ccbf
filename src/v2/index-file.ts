import { closeSync } from "node:fs";
import { SessfmtError } from "../format/errors.js";
import { writeFully } from "../format/atomic.js";
import { syncDirectory } from "../format/durability.js";
import { dirname } from "node:path";
import { decodeIndexRow, encodeIndexRow, type OffsetIndexRow } from "./index-row.js";
import { INDEX_FILE, inRoot } from "./layout.js";
import { createExclusive, lstatOrUndefined, openAppend, openReadSyncOrUndefined, writeFileAtomic } from "./fs-safe.js";
import { scanHandle } from "./scan-handle.js";
import { problem, type SidecarProblem } from "./problems.js";
import type { ReadObserver, ReadStats } from "./read-stats.js";

/** Longest index line accepted (a real row is a few hundred bytes). */
const MAX_INDEX_LINE = 1 << 20;

export interface IndexRead {
  /** False when index/offsets.jsonl does not exist. */
  exists: boolean;
  /** The rows that decode, in file order. */
  rows: OffsetIndexRow[];
  /** Index line (1-based) of each row in `rows`. */
  lines: number[];
  /** Byte offset of each row in `rows`. */
  offsets: number[];
  /** Rows that do not decode, and an unterminated last line. */
  problems: SidecarProblem[];
  size: number;
}

export interface IndexReadOptions {
  stats?: ReadStats;
  onRead?: ReadObserver;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Read every row of the index. Never throws for bad rows: they become problems. */
export async function readIndexFile(root: string, opts: IndexReadOptions = {}): Promise<IndexRead> {
  const path = inRoot(root, INDEX_FILE);
  const out: IndexRead = { exists: false, rows: [], lines: [], offsets: [], problems: [], size: 0 };
  // Opened synchronously (see fs-safe.ts); the reads are synchronous up to 1 MiB each.
  const opened = openReadSyncOrUndefined(path);
  if (!opened) return out;
  out.exists = true;
  try {
    out.size = await scanHandle(
      opened,
      path,
      (bytes, span) => {
        if (span.oversize) {
          out.problems.push(problem("index_row_invalid", `index line of ${span.length} bytes is longer than ${MAX_INDEX_LINE}`, { file: INDEX_FILE, line: span.line, offset: span.offset }));
          return;
        }
        if (span.eol === 0) {
          out.problems.push(problem("index_row_unterminated", "last index line has no line end (torn append)", { file: INDEX_FILE, line: span.line, offset: span.offset }));
          return;
        }
        if (bytes.every((b) => b === 0x20 || b === 0x09)) return; // blank lines are tolerated, as the Rust reader does
        const r = decodeIndexRow(bytes);
        if (!r.ok) {
          out.problems.push(problem("index_row_invalid", r.message, { file: INDEX_FILE, line: span.line, offset: span.offset }));
          return;
        }
        out.rows.push(r.value);
        out.lines.push(span.line);
        out.offsets.push(span.offset);
      },
      {
        maxLineBytes: MAX_INDEX_LINE,
        signal: opts.signal,
        onProgress: opts.onProgress,
        onChunk: (offset, n) => {
          if (opts.stats) opts.stats.indexBytes += n;
          opts.onRead?.(INDEX_FILE, offset, n);
        },
      },
    );
  } finally {
    closeSync(opened.fd);
  }
  return out;
}

/** The index as bytes. */
export function encodeIndex(rows: readonly OffsetIndexRow[]): Buffer {
  return Buffer.from(rows.map(encodeIndexRow).join(""), "utf8");
}

/** Replace the whole index atomically (temp in tmp/, fsync, rename, directory fsync); returns its size. */
export async function writeIndexFile(root: string, rows: readonly OffsetIndexRow[]): Promise<number> {
  const bytes = encodeIndex(rows);
  await writeFileAtomic(root, INDEX_FILE, bytes);
  return bytes.length;
}

/**
 * Append rows to the index (creating it if absent), then fsync. `expectedSize` guards
 * against appending after bytes no row describes (a torn earlier append).
 */
export async function appendIndexRows(root: string, rows: readonly OffsetIndexRow[], expectedSize: number, fsync = true): Promise<number> {
  const path = inRoot(root, INDEX_FILE);
  const exists = await lstatOrUndefined(path);
  const fh = exists ? await openAppend(path) : await createExclusive(path);
  try {
    const size = (await fh.stat()).size;
    if (size !== expectedSize) {
      throw new SessfmtError("E_SIDECAR_CORRUPT", `index is ${size} bytes, expected ${expectedSize}; run validate`, { file: path, offset: size });
    }
    const data = encodeIndex(rows);
    await writeFully(fh, data, path);
    if (fsync) await fh.sync();
    if (!exists && fsync) await syncDirectory(dirname(path));
    return size + data.length;
  } finally {
    await fh.close();
  }
}
