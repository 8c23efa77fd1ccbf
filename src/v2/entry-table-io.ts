import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { unlink } from "node:fs/promises";
import { SessfmtError, ioError } from "../format/errors.js";
import { CHEAP_CHECKS, checkIndexedFrame, recordFromFrame, type SidecarRecord } from "./frame-check.js";
import { directoryBytesFor, EntryTable, EntryTableError, encodeEntryTable, headBytesFor, holdsIds, restInMemory, roleCodeOf, typeCodeOf, type EntryTableInput, type RestSource } from "./entry-table.js";
import { readIndexFile } from "./index-file.js";
import type { OffsetIndexRow } from "./index-row.js";
import { ENTRY_TABLE_FILE, INDEX_FILE, inRoot } from "./layout.js";
import { WalkSpace } from "./path-walk.js";
import { lstatOrUndefinedSync, openReadSyncOrUndefined, writeFileAtomic } from "./fs-safe.js";
import { problem, type SidecarProblem } from "./problems.js";
import type { ReadObserver, ReadStats } from "./read-stats.js";
import { corrupt, SegmentReader } from "./segment-reader.js";

/**
 * Reading, writing and remaking the entry table (entry-table.ts). Every writer of
 * offsets.jsonl keeps the table in step or removes it first; a reader uses it only when it
 * describes the offsets.jsonl that is there now, and otherwise falls back to the index.
 */

export type EntryTableRead = { table: EntryTable; reason?: undefined } | { table?: undefined; reason: string };

export interface EntryTableReadOptions {
  stats?: ReadStats;
  onRead?: ReadObserver;
  /**
   * Read only the table's head now and keep the file open for the rows read later (the
   * caller must close() the table). Default: read the whole table and close the file.
   */
  keepOpen?: boolean;
}

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

function readFully(fd: number, path: string, length: number, position: number, into?: Buffer): Buffer {
  const buf = into ?? Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = readSync(fd, buf, done, length - done, position + done);
    } catch (err) {
      throw ioError(err, path, `read failed at byte ${position + done}`);
    }
    if (got === 0) break;
    done += got;
  }
  return buf.subarray(0, done);
}

/** The rows part of a table read from an open descriptor, counted in the stats. */
function restOnDisk(fd: number, path: string, start: number, size: number, opts: EntryTableReadOptions): RestSource {
  let open = true;
  return {
    size,
    batch: (fn) =>
      fn((offset, length) => {
        if (!open) throw new SessfmtError("E_CLOSED", "the entry table was closed", { file: path });
        const bytes = readFully(fd, path, Math.max(0, Math.min(length, size - offset)), start + offset);
        if (opts.stats) opts.stats.tableBytes += bytes.length;
        opts.onRead?.(ENTRY_TABLE_FILE, start + offset, bytes.length);
        return bytes;
      }),
    close: () => {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** Decode a table from an open descriptor (the header and directory now; the columns and the rest now or later). */
function decodeTable(fd: number, path: string, size: number, opts: EntryTableReadOptions): EntryTable {
  const count = (bytes: Buffer, offset: number): void => {
    if (opts.stats) opts.stats.tableBytes += bytes.length;
    opts.onRead?.(ENTRY_TABLE_FILE, offset, bytes.length);
  };
  if (!opts.keepOpen) {
    // Read whole: the columns and rows are checked against their CRCs now.
    const bytes = readFully(fd, path, size, 0);
    count(bytes, 0);
    if (bytes.length < 64) throw new EntryTableError(`entry table of ${size} bytes is shorter than its header`);
    const headSize = headBytesFor(bytes.readUInt32LE(12), bytes.readUInt32LE(36));
    if (headSize > bytes.length) throw new EntryTableError(`entry table is ${size} bytes, its head alone ${headSize}`);
    return new EntryTable(bytes.subarray(0, headSize), restInMemory(bytes.subarray(headSize)), ENTRY_TABLE_FILE);
  }
  const header = readFully(fd, path, Math.min(size, 64), 0);
  if (header.length < 64) throw new EntryTableError(`entry table of ${size} bytes is shorter than its header`);
  const n = header.readUInt32LE(12);
  const segs = header.readUInt32LE(36);
  const headSize = headBytesFor(n, segs);
  if (headSize > size) throw new EntryTableError(`entry table is ${size} bytes, its head alone ${headSize}`);
  const dirSize = directoryBytesFor(n, segs);
  const dir = Buffer.allocUnsafe(dirSize);
  header.copy(dir);
  readFully(fd, path, dirSize - 64, 64, dir.subarray(64));
  count(dir, 0);
  // The parent column is read straight into the memory the path walk runs in (path-walk.ts).
  const space = WalkSpace.create(n);
  const columns = (offset: number, into: Uint8Array): number => {
    const got = readFully(fd, path, into.length, offset, Buffer.from(into.buffer, into.byteOffset, into.length));
    count(got, offset);
    return got.length;
  };
  return new EntryTable(dir, restOnDisk(fd, path, headSize, size - headSize, opts), ENTRY_TABLE_FILE, { columns, ...(space ? { space } : {}) });
}

/** `length` bytes at `offset` of a regular file (fewer at its end), without following a symlink. */
function readAt(path: string, offset: number, length: number): Buffer {
  const opened = openReadSyncOrUndefined(path);
  if (opened === undefined) throw new SessfmtError("E_NOT_FOUND", "file vanished while being read", { file: path });
  const { fd } = opened;
  try {
    return readFully(fd, path, length, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * The table, when it is current: it decodes and checks, it was written no earlier than
 * offsets.jsonl was last changed, offsets.jsonl has the size the table names, and ends
 * with exactly the table's last row. Otherwise the reason it is not used. With keepOpen
 * the caller closes the table.
 */
export async function readEntryTable(root: string, opts: EntryTableReadOptions = {}): Promise<EntryTableRead> {
  const path = inRoot(root, ENTRY_TABLE_FILE);
  const indexPath = inRoot(root, INDEX_FILE);
  // Synchronous calls throughout: each is cheaper than a thread-pool round trip (fs-safe.ts).
  const st = lstatOrUndefinedSync(path);
  if (!st) return { reason: "no entry table" };
  if (!st.isFile()) return { reason: "the entry table is not a regular file" };
  const indexSt = lstatOrUndefinedSync(indexPath);
  if (!indexSt?.isFile()) return { reason: "no index to check the entry table against" };
  if (indexSt.mtimeMs > st.mtimeMs) return { reason: "the index changed after the entry table was written" };
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    throw ioError(err, path, "cannot open the entry table");
  }
  let table: EntryTable | undefined;
  let handedOver = false;
  try {
    const fst = fstatSync(fd);
    if (!fst.isFile()) return { reason: "the entry table is not a regular file" };
    try {
      table = decodeTable(fd, path, fst.size, opts);
    } catch (err) {
      if (err instanceof EntryTableError) return { reason: err.message };
      throw err;
    }
    // Read whole, the rows are checked against their CRC now (E_SIDECAR_CORRUPT: not used).
    if (!opts.keepOpen) table.loadAll();
    if (table.offsetsBytes !== indexSt.size) return { reason: `the entry table describes a ${table.offsetsBytes}-byte index, the index has ${indexSt.size} bytes` };
    const last = Buffer.from(table.lastRowLine(), "utf8");
    if (last.length > indexSt.size) return { reason: "the index is shorter than the entry table's last row" };
    // The last row plus the byte before it, which must end the previous row.
    const from = indexSt.size - last.length - (indexSt.size > last.length ? 1 : 0);
    const tail = readAt(indexPath, from, indexSt.size - from);
    if (opts.stats) opts.stats.tableBytes += tail.length;
    opts.onRead?.(INDEX_FILE, from, tail.length);
    const lead = tail.length - last.length;
    if (!tail.subarray(lead).equals(last) || (lead === 1 && tail[0] !== 0x0a)) return { reason: "the index does not end with the entry table's last row" };
    handedOver = true;
    return { table };
  } catch (err) {
    // A row that cannot be used makes the table unusable, not the store.
    if (!(err instanceof SessfmtError) || err.code !== "E_SIDECAR_CORRUPT") throw err;
    return { reason: err.message };
  } finally {
    // With keepOpen a decoded table owns the descriptor; otherwise it is done with here.
    if (opts.keepOpen && table) {
      if (!handedOver) table.close();
    } else closeSync(fd);
  }
}

/**
 * Write the table for these rows and entries (atomically; the index must be on disk
 * already). Entries with an id the table cannot hold (holdsIds) get no table: any old one
 * is removed, and readers use offsets.jsonl.
 */
export async function writeEntryTable(root: string, rows: readonly OffsetIndexRow[], entries: readonly EntryTableInput[], indexBytes: number): Promise<void> {
  if (!holdsIds(entries)) await removeEntryTable(root);
  else await writeEntryTableBytes(root, encodeEntryTable(rows, entries, indexBytes));
}

/** Write a table already encoded (atomically; the index must be on disk already). */
export async function writeEntryTableBytes(root: string, bytes: Buffer): Promise<void> {
  await writeFileAtomic(root, ENTRY_TABLE_FILE, bytes);
}

/** Remove the table (before offsets.jsonl is rewritten in a way the table cannot follow). */
export async function removeEntryTable(root: string): Promise<void> {
  const path = inRoot(root, ENTRY_TABLE_FILE);
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(err, path, "cannot remove the entry table");
  }
}

/** What the table needs of each row, read from the frames themselves. */
export async function entryInputsFromFrames(root: string, rows: readonly OffsetIndexRow[], signal?: AbortSignal): Promise<EntryTableInput[]> {
  const reader = new SegmentReader(root, { window: 4 << 20 });
  const out: EntryTableInput[] = [];
  try {
    for (const row of rows) {
      if (signal?.aborted) signal.throwIfAborted();
      const checked = checkIndexedFrame(await reader.read(row), row, CHEAP_CHECKS);
      const rec = checked.frame ? recordFromFrame(checked.frame, row) : undefined;
      if (!rec?.record) throw corrupt(root, checked.problems[0] ?? rec?.problems[0] ?? problem("frame_invalid", "frame does not decode", { entrySeq: row.entrySeq }));
      const r = rec.record;
      out.push(r.role === undefined ? { id: r.id, parentId: r.parentId, type: r.type } : { id: r.id, parentId: r.parentId, type: r.type, role: r.role });
    }
  } finally {
    await reader.close();
  }
  return out;
}

/**
 * Make the table again from offsets.jsonl and the frames (a sidecar written by the Rust
 * port or an older sessfmt, or after a rebuild). Returns false, leaving no table, when the
 * index or a frame cannot be read cleanly: the table never describes a damaged store.
 */
export async function remakeEntryTable(root: string, signal?: AbortSignal): Promise<boolean> {
  await removeEntryTable(root);
  const idx = await readIndexFile(root, signal ? { signal } : {});
  if (!idx.exists || idx.problems.length > 0) return false;
  if (idx.rows.some((r, i) => r.entrySeq !== i + 1)) return false;
  let inputs: EntryTableInput[];
  try {
    inputs = await entryInputsFromFrames(root, idx.rows, signal);
  } catch (err) {
    if ((err as { code?: string }).code === "E_SIDECAR_CORRUPT") return false;
    throw err;
  }
  await writeEntryTable(root, idx.rows, inputs, idx.size);
  return true;
}

/** Mismatches reported one by one before the rest are summed up. */
const MISMATCH_REPORTS = 10;

/**
 * What validate finds wrong with the entry table, given the index rows and the records of
 * the frames it decoded: a table that is there but not current (a warning: opens do not use
 * it, a sync remakes it), or a current table that disagrees with offsets.jsonl or a frame
 * (an error: opens would use it).
 */
export async function entryTableProblems(root: string, rows: readonly OffsetIndexRow[], records: readonly SidecarRecord[]): Promise<SidecarProblem[]> {
  const read = await readEntryTable(root);
  if (!read.table) {
    return read.reason === "no entry table" ? [] : [problem("entry_table_stale", `the entry table is not used: ${read.reason}; a sync remakes it`, { file: ENTRY_TABLE_FILE })];
  }
  const t = read.table;
  const out: SidecarProblem[] = [];
  const broken = t.checkAll();
  if (broken !== undefined) return [problem("entry_table_mismatch", `the entry table is inconsistent: ${broken}; rebuild the index to remake it`, { file: ENTRY_TABLE_FILE })];
  let more = 0;
  const mismatch = (entrySeq: number, what: string): void => {
    if (out.length < MISMATCH_REPORTS) out.push(problem("entry_table_mismatch", `the entry table ${what}; rebuild the index to remake it`, { file: ENTRY_TABLE_FILE, entrySeq }));
    else more++;
  };
  if (t.count !== rows.length) mismatch(Math.min(t.count, rows.length) + 1, `has ${t.count} entries, the index ${rows.length}`);
  const n = Math.min(t.count, rows.length);
  for (let i = 0; i < n; i++) {
    if (!t.rowEquals(i, rows[i] as OffsetIndexRow)) mismatch(i + 1, "row differs from offsets.jsonl");
  }
  for (const r of records) {
    const i = r.entrySeq - 1;
    if (i >= t.count) continue;
    if (t.parentId(i) !== r.parentId) mismatch(r.entrySeq, `says parent ${JSON.stringify(t.parentId(i))}, the frame ${JSON.stringify(r.parentId)}`);
    else if (t.typeCode[i] !== typeCodeOf(r.type) || t.roleCode[i] !== roleCodeOf(r.type, r.role)) mismatch(r.entrySeq, "has another type or role than the frame");
  }
  if (more > 0) out.push(problem("entry_table_mismatch", `${more} more entry table mismatches`, { file: ENTRY_TABLE_FILE }));
  return out;
}
