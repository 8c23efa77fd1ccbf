import { endianness } from "node:os";
import { crc32 } from "node:zlib";
import { SessfmtError } from "../format/errors.js";
import { encodeIndexRow, makeIndexRow, type OffsetIndexRow } from "./index-row.js";
import type { PathFromLeaf } from "./path-from-leaf.js";
import { walkPath, type WalkSpace } from "./path-walk.js";

/**
 * sessfmt's entry table, `index/sessfmt-entries.bin`: everything `index/offsets.jsonl`
 * says about each entry plus what the Rust-layout index leaves out — the parent (resolved
 * to an entrySeq), the entry type and a message's role — in fixed-width little-endian
 * records that load without parsing. With it an open finds the active path and the few
 * frames the context needs without reading every index row or frame on the path.
 *
 * It is a cache: it says which `offsets.jsonl` it describes (byte size and exact last
 * row), is ignored when that no longer holds, and can always be made again from the
 * Rust-layout files (see `entry-table-io.ts`). The Rust port never reads it.
 *
 * Two parts. The head is what walking a path and choosing a context needs (~6 bytes an
 * entry), in blocks of BLOCK_ENTRIES entries that each have their own CRC, so that an open
 * reads only the blocks its walk from the leaf reaches (the last one or two for the context
 * of a long session); the rest holds each entry's location and id, read only for the
 * entries used (or whole, when every row is wanted). Layout (offsets in bytes; n entries,
 * b = ceil(n / BLOCK_ENTRIES) blocks):
 *
 *   header, 64 bytes
 *     0  magic "SFENTTBL"           8  u32 version (2)        12 u32 n
 *     16 f64 offsets.jsonl bytes    24 u32 ids blob bytes     28 u32 parent-ids blob bytes
 *     32 u32 flags (bit 0: every id is unique)                36 u32 segments s
 *     40 f64 bytes of all frames    48 u32 CRC-32 of the rest  52..59 zero
 *     60 u32 CRC-32 (zlib's) of bytes 0..59 and the directory after the header
 *   directory, after the header: s x (f64 segmentSeq, f64 end of its last frame),
 *     segmentSeq increasing; u32 CRC-32 of each block; zero padding to a multiple of 8
 *   columns: i32 parentSeq[n]; u8 typeCode[n]; u8 roleCode[n]; zero padding to a multiple
 *     of 8. Block k is entries k * BLOCK_ENTRIES up to the next block; its CRC-32 runs over
 *     its parentSeq bytes, then its typeCode bytes, then its roleCode bytes.
 *   rest: n x 32-byte rows (f64 byteOffset, u32 segmentSeq, u32 frameSeq, u32 byteLength,
 *     u32 crc32c, u32 idEnd, u32 parentIdEnd); the ids blob (UTF-8, entry i's id is
 *     ids[idEnd of i - 1 .. idEnd of i]); the parent-ids blob (likewise; empty for a root)
 *
 * parentSeq: 0 when the walk to the root stops at this entry (no parent, or the entry
 * names itself), -1 when the parent id is not in the store, else the entrySeq of the
 * parent (the later entry when ids repeat, as the store's id lookup does).
 */

export const ENTRY_TABLE_VERSION = 2;
const MAGIC = Buffer.from("SFENTTBL", "latin1");
const HEADER_BYTES = 64;
const LITTLE_ENDIAN = endianness() === "LE";
/** Bytes per segment in the segment list. */
const SEGMENT_BYTES = 16;
/** Bytes per entry in the head's columns, and per row in the rest. */
const HEAD_COLUMN_BYTES = 4 + 1 + 1;
const ROW_BYTES = 32;
/** prefetch reads wanted rows at most this many rows apart together (see there). */
const RUN_GAP = 8;
const RUN_MAX_ROWS = 4096;
const RUN_MAX_ID_BYTES = 1 << 20;

/**
 * Entries per block of the head's columns. 4096 entries are 24 KB of columns: the context
 * of a long session is usually within the last block or two, and a table of a 1 GB session
 * (~270k entries) has 66 block CRCs in its directory.
 */
export const BLOCK_ENTRIES = 4096;

function padded(bytes: number): number {
  return Math.ceil(bytes / 8) * 8;
}

/** Blocks of the head's columns for n entries. */
export function blockCountFor(n: number): number {
  return Math.ceil(n / BLOCK_ENTRIES);
}

/** Where the directory ends (the columns start) for n entries and s segments. */
export function directoryBytesFor(n: number, s: number): number {
  return padded(HEADER_BYTES + SEGMENT_BYTES * s + 4 * blockCountFor(n));
}

/** Where the head ends (the rest starts) for n entries and s segments. */
export function headBytesFor(n: number, s: number): number {
  return directoryBytesFor(n, s) + padded(HEAD_COLUMN_BYTES * n);
}

/** Entry types the table knows by code (0: any other type). */
const TYPES = ["", "message", "thinking_level_change", "model_change", "compaction", "branch_summary", "custom_message", "custom", "label", "session_info"] as const;
/** Message roles the table knows by code (0: not a message, or another role). */
const ROLES = ["", "user", "assistant", "toolResult", "bashExecution", "custom", "branchSummary", "compactionSummary"] as const;
const TYPE_CODE = new Map<string, number>(TYPES.map((t, i) => [t, i]));
const ROLE_CODE = new Map<string, number>(ROLES.map((r, i) => [r, i]));

export const TYPE_MESSAGE = 1;
export const TYPE_THINKING_LEVEL_CHANGE = 2;
export const TYPE_MODEL_CHANGE = 3;
export const TYPE_COMPACTION = 4;
export const TYPE_BRANCH_SUMMARY = 5;
export const TYPE_CUSTOM_MESSAGE = 6;
export const ROLE_ASSISTANT = 2;

/** The table's code for an entry type (0: a type it does not know by code). */
export function typeCodeOf(type: string): number {
  return TYPE_CODE.get(type) ?? 0;
}

/** The table's code for an entry's message role (0: not a message, or another role). */
export function roleCodeOf(type: string, role: string | undefined): number {
  return type === "message" && role !== undefined ? (ROLE_CODE.get(role) ?? 0) : 0;
}

/** What the table needs of each entry beyond its index row. */
export interface EntryTableInput {
  id: string;
  /** Normalised: null for a root. */
  parentId: string | null;
  type: string;
  /** message entries: message.role. */
  role?: string;
}

/** Why a table on disk cannot be used (it is then ignored, never trusted). */
export class EntryTableError extends Error {}

const ENTRY_TABLE_NAME = "index/sessfmt-entries.bin";

function isCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

function invalid(message: string): EntryTableError {
  return new EntryTableError(message);
}

/** Parents resolved as the store resolves them: by id, the later entry winning. */
function resolveParents(entries: readonly EntryTableInput[]): { parents: Int32Array; uniqueIds: boolean } {
  const seqOf = new Map<string, number>();
  for (let i = 0; i < entries.length; i++) seqOf.set((entries[i] as EntryTableInput).id, i + 1);
  const parents = new Int32Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as EntryTableInput;
    if (e.parentId === null || e.parentId === e.id) parents[i] = 0;
    else parents[i] = seqOf.get(e.parentId) ?? -1;
  }
  return { parents, uniqueIds: seqOf.size === entries.length };
}

function blob(strings: readonly string[]): { bytes: Buffer; ends: Uint32Array } {
  const parts = strings.map((s) => Buffer.from(s, "utf8"));
  const ends = new Uint32Array(parts.length);
  let at = 0;
  parts.forEach((p, i) => {
    at += p.length;
    ends[i] = at;
  });
  return { bytes: Buffer.concat(parts, at), ends };
}

const CRC_AT = 60;
const REST_CRC_AT = 48;
const FLAG_UNIQUE_IDS = 1;

/** CRC-32 (zlib's, native) of the header before the CRC field and the directory after the header. */
function directoryChecksum(dir: Buffer): number {
  return crc32(dir.subarray(HEADER_BYTES), crc32(dir.subarray(0, CRC_AT))) >>> 0;
}

/** CRC-32 of block entries lo..hi of the columns: its parentSeq, typeCode and roleCode bytes. */
function blockChecksum(parent: Uint8Array, types: Uint8Array, roles: Uint8Array): number {
  return crc32(roles, crc32(types, crc32(parent))) >>> 0;
}

/** Where each segment's frames end, and all frame bytes, from the rows. */
function segmentEnds(rows: readonly OffsetIndexRow[]): { ends: [number, number][]; total: number } {
  const ends = new Map<number, number>();
  let total = 0;
  for (const r of rows) {
    total += r.byteLength;
    const end = r.byteOffset + r.byteLength;
    if (end > (ends.get(r.segmentSeq) ?? 0)) ends.set(r.segmentSeq, end);
  }
  return { ends: [...ends].sort((a, b) => a[0] - b[0]), total };
}

function crcNumber(hex: string): number {
  return Number.parseInt(hex, 16) >>> 0;
}

function crcHex(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

/** A table's contents before they are laid out (see assembleEntryTable). */
interface TableParts {
  n: number;
  parents: Int32Array;
  types: Uint8Array;
  roles: Uint8Array;
  /** The rest: n rows, the ids blob, the parent-ids blob. */
  rest: Buffer;
  idsBytes: number;
  parentBytes: number;
  uniqueIds: boolean;
  /** Each segment's end, segmentSeq increasing. */
  ends: [number, number][];
  frameBytes: number;
  offsetsBytes: number;
}

/**
 * A number made of an id's length and a hash (32-bit FNV-1a) of its bytes: lastSeqsOf
 * compares ids by it first. All the bytes, not a prefix: ids often share their first
 * bytes ("msg_0001", "msg_0002"), and a prefix would put them all in one bucket.
 */
function idKey(b: Uint8Array, at: number, len: number): number {
  let h = 0x811c9dc5;
  for (let j = 0; j < len; j++) h = Math.imul(h ^ (b[at + j] as number), 0x01000193);
  return len * 0x1_0000_0000 + (h >>> 0);
}

/** lastSeqsOf compares bytes with at most this many wanted ids per key. */
const MAX_SAME_KEY = 8;

/** Write row fields at `at` of the rest. */
function writeRow(rest: Buffer, at: number, r: OffsetIndexRow, idEnd: number, parentIdEnd: number): void {
  rest.writeDoubleLE(r.byteOffset, at);
  rest.writeUInt32LE(r.segmentSeq, at + 8);
  rest.writeUInt32LE(r.frameSeq, at + 12);
  rest.writeUInt32LE(r.byteLength, at + 16);
  rest.writeUInt32LE(crcNumber(r.crc32c), at + 20);
  rest.writeUInt32LE(idEnd, at + 24);
  rest.writeUInt32LE(parentIdEnd, at + 28);
}

/** The file's bytes: header, directory and columns, checksums, then the rest. */
function assembleEntryTable(p: TableParts): Buffer {
  const { n, ends } = p;
  const cols = directoryBytesFor(n, ends.length);
  const head = Buffer.alloc(headBytesFor(n, ends.length));
  ends.forEach(([seq, end], k) => {
    head.writeDoubleLE(seq, HEADER_BYTES + SEGMENT_BYTES * k);
    head.writeDoubleLE(end, HEADER_BYTES + SEGMENT_BYTES * k + 8);
  });
  // parentSeq is little-endian on disk: copied whole on a little-endian host, else value by value.
  if (LITTLE_ENDIAN) Buffer.from(p.parents.buffer, p.parents.byteOffset, 4 * n).copy(head, cols);
  else for (let i = 0; i < n; i++) head.writeInt32LE(p.parents[i] as number, cols + 4 * i);
  head.set(p.types.subarray(0, n), cols + 4 * n);
  head.set(p.roles.subarray(0, n), cols + 5 * n);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(ENTRY_TABLE_VERSION, 8);
  head.writeUInt32LE(n, 12);
  head.writeDoubleLE(p.offsetsBytes, 16);
  head.writeUInt32LE(p.idsBytes, 24);
  head.writeUInt32LE(p.parentBytes, 28);
  head.writeUInt32LE(p.uniqueIds ? FLAG_UNIQUE_IDS : 0, 32);
  head.writeUInt32LE(ends.length, 36);
  head.writeDoubleLE(p.frameBytes, 40);
  const crcsAt = HEADER_BYTES + SEGMENT_BYTES * ends.length;
  for (let k = 0; k < blockCountFor(n); k++) {
    const lo = k * BLOCK_ENTRIES;
    const hi = Math.min(n, lo + BLOCK_ENTRIES);
    const crc = blockChecksum(head.subarray(cols + 4 * lo, cols + 4 * hi), head.subarray(cols + 4 * n + lo, cols + 4 * n + hi), head.subarray(cols + 5 * n + lo, cols + 5 * n + hi));
    head.writeUInt32LE(crc, crcsAt + 4 * k);
  }
  head.writeUInt32LE(crc32(p.rest) >>> 0, REST_CRC_AT);
  head.writeUInt32LE(directoryChecksum(head.subarray(0, cols)), CRC_AT);
  return Buffer.concat([head, p.rest]);
}

const SURROGATE = /[\ud800-\udfff]/;

/**
 * Whether the table can hold these entries' ids and parent ids: its blobs are UTF-8, which
 * has no lone surrogate (it would be stored, and read back, as U+FFFD: another id).
 */
export function holdsIds(entries: readonly EntryTableInput[]): boolean {
  const exact = (id: string) => !SURROGATE.test(id) || Buffer.from(id, "utf8").toString("utf8") === id;
  return entries.every((e) => exact(e.id) && (e.parentId === null || exact(e.parentId)));
}

/** Rows and entries agree, and are entrySeq first..first + n - 1 in order. */
function checkInputs(rows: readonly OffsetIndexRow[], entries: readonly EntryTableInput[], first: number): void {
  if (entries.length !== rows.length) throw new SessfmtError("E_INVALID_ARGUMENT", `entry table: ${rows.length} rows but ${entries.length} entries`);
  rows.forEach((r, i) => {
    if (r.entrySeq !== first + i) throw new SessfmtError("E_INVALID_ARGUMENT", `entry table: row ${first + i} has entrySeq ${r.entrySeq}`);
    if ((entries[i] as EntryTableInput).id !== r.entryId) throw new SessfmtError("E_INVALID_ARGUMENT", `entry table: row ${first + i} is ${r.entryId}, the entry is ${(entries[i] as EntryTableInput).id}`);
  });
}

/** The table's bytes for these rows (entrySeq 1..n in order) and their entries. */
export function encodeEntryTable(rows: readonly OffsetIndexRow[], entries: readonly EntryTableInput[], offsetsBytes: number): Buffer {
  checkInputs(rows, entries, 1);
  const n = rows.length;
  const ids = blob(entries.map((e) => e.id));
  const parentIds = blob(entries.map((e) => e.parentId ?? ""));
  const rest = Buffer.alloc(ROW_BYTES * n + ids.bytes.length + parentIds.bytes.length);
  const types = new Uint8Array(n);
  const roles = new Uint8Array(n);
  rows.forEach((r, i) => {
    const e = entries[i] as EntryTableInput;
    types[i] = typeCodeOf(e.type);
    roles[i] = roleCodeOf(e.type, e.role);
    writeRow(rest, ROW_BYTES * i, r, ids.ends[i] as number, parentIds.ends[i] as number);
  });
  ids.bytes.copy(rest, ROW_BYTES * n);
  parentIds.bytes.copy(rest, ROW_BYTES * n + ids.bytes.length);
  const resolved = resolveParents(entries);
  const segs = segmentEnds(rows);
  return assembleEntryTable({
    n,
    parents: resolved.parents,
    types,
    roles,
    rest,
    idsBytes: ids.bytes.length,
    parentBytes: parentIds.bytes.length,
    uniqueIds: resolved.uniqueIds,
    ends: segs.ends,
    frameBytes: segs.total,
    offsetsBytes,
  });
}

/**
 * Reads byte ranges of the rest (offsets relative to the rest's start), synchronously.
 * `batch` runs its callback with the source open, so a run of reads opens the file once.
 */
export interface RestSource {
  readonly size: number;
  batch<T>(fn: (read: (offset: number, length: number) => Buffer) => T): T;
  /** Release what the source holds open. */
  close?(): void;
}

/** A rest held in memory (a table built or read whole). */
export function restInMemory(rest: Buffer): RestSource {
  return { size: rest.length, batch: (fn) => fn((offset, length) => rest.subarray(offset, offset + length)) };
}

/** One entry's row, from the rest. */
interface Row {
  byteOffset: number;
  segmentSeq: number;
  frameSeq: number;
  byteLength: number;
  crc: number;
  idStart: number;
  idEnd: number;
  id: Buffer;
}

/**
 * Reads `into.length` bytes at byte `offset` of the table file into `into`; returns the
 * bytes read (fewer only at the end of the file).
 */
export type ColumnReader = (offset: number, into: Uint8Array) => number;

/** A decoded entry table. Index i is entrySeq i + 1. */
export class EntryTable {
  readonly count: number;
  /** Size of the offsets.jsonl this table describes. */
  readonly offsetsBytes: number;
  /** No two entries share an id (so the first match found is the only one). */
  readonly uniqueIds: boolean;
  private readonly parents: Int32Array;
  private readonly types: Uint8Array;
  private readonly roles: Uint8Array;
  /** Each block's CRC, from the directory. */
  private readonly blockCrcs: Uint32Array;
  /** 1 for a block whose columns are present and checked. */
  private readonly blockLoaded: Uint8Array;
  private blocksLeft: number;
  /** Where the columns start in the file. */
  private readonly columnsAt: number;
  /** Reads column bytes (a head read alone); undefined when the columns came with the head. */
  private readonly columns: ColumnReader | undefined;
  /** The WebAssembly memory the parent column lies in, if it was read there (entry-table-io.ts). */
  private readonly space: WalkSpace | undefined;
  private damagedValue = false;
  private readonly frameBytes: number;
  private readonly ends = new Map<number, number>();
  private readonly idsBytes: number;
  private readonly parentBytes: number;
  private readonly restCrc: number;
  private readonly rest: RestSource;
  /** The whole rest, once something needed every row. */
  private all: Buffer | undefined;
  /** Rows read one by one. */
  private readonly cache = new Map<number, Row>();
  /** Names the table in errors. */
  private readonly file: string;

  /**
   * Decode the head: the header, sizes, directory CRC and segment list (nothing per entry,
   * so this costs the same for any size), and the columns when `head` holds them (every
   * block checked now). Given only the directory and `opts.columns`, a block of the columns
   * is read and checked when an entry in it is first used. The rest is read as it is used:
   * rows one by one for the entries a reader touches, checked where they are used (and
   * against their frames by the readers of those), or whole, checked by its CRC, by every*
   * method. EntryTableError says what is wrong with the head.
   */
  constructor(head: Buffer, rest: RestSource, file = ENTRY_TABLE_NAME, opts: { columns?: ColumnReader; space?: WalkSpace } = {}) {
    this.file = file;
    if (head.length < HEADER_BYTES || !head.subarray(0, 8).equals(MAGIC)) throw invalid("not an entry table (bad magic)");
    const version = head.readUInt32LE(8);
    if (version !== ENTRY_TABLE_VERSION) throw invalid(`entry table version ${version} is not ${ENTRY_TABLE_VERSION}`);
    const n = head.readUInt32LE(12);
    this.count = n;
    this.offsetsBytes = head.readDoubleLE(16);
    this.idsBytes = head.readUInt32LE(24);
    this.parentBytes = head.readUInt32LE(28);
    const segCount = head.readUInt32LE(36);
    this.frameBytes = head.readDoubleLE(40);
    this.restCrc = head.readUInt32LE(REST_CRC_AT);
    const dirSize = directoryBytesFor(n, segCount);
    const headSize = headBytesFor(n, segCount);
    const lazy = opts.columns !== undefined;
    const want = lazy ? dirSize : headSize;
    if (head.length !== want) throw invalid(`entry table ${lazy ? "directory" : "head"} is ${head.length} bytes, its header says ${want}`);
    if (rest.size !== ROW_BYTES * n + this.idsBytes + this.parentBytes) throw invalid(`entry table rest is ${rest.size} bytes, its header says ${ROW_BYTES * n + this.idsBytes + this.parentBytes}`);
    if (directoryChecksum(head.subarray(0, dirSize)) !== head.readUInt32LE(CRC_AT)) throw invalid("entry table checksum does not match");
    if (!isCount(this.offsetsBytes) || !isCount(this.frameBytes)) throw invalid("entry table header names an impossible size");
    this.uniqueIds = (head.readUInt32LE(32) & FLAG_UNIQUE_IDS) !== 0;
    let prev = 0;
    for (let k = 0; k < segCount; k++) {
      const seq = head.readDoubleLE(HEADER_BYTES + SEGMENT_BYTES * k);
      const end = head.readDoubleLE(HEADER_BYTES + SEGMENT_BYTES * k + 8);
      if (!isCount(seq) || seq <= prev || !isCount(end)) throw invalid(`entry table segment ${k + 1} is impossible`);
      this.ends.set(seq, end);
      prev = seq;
    }
    const blocks = blockCountFor(n);
    const crcsAt = HEADER_BYTES + SEGMENT_BYTES * segCount;
    this.blockCrcs = new Uint32Array(blocks);
    for (let k = 0; k < blocks; k++) this.blockCrcs[k] = head.readUInt32LE(crcsAt + 4 * k);
    this.blockLoaded = new Uint8Array(blocks);
    this.blocksLeft = blocks;
    this.columnsAt = dirSize;
    this.columns = opts.columns;
    this.space = opts.space;
    this.rest = rest;
    if (lazy) {
      this.parents = opts.space && opts.space.count === n ? opts.space.parents : new Int32Array(n);
      this.types = new Uint8Array(n);
      this.roles = new Uint8Array(n);
      return;
    }
    // The columns came with the head: used in place (parentSeq when it is 4-byte aligned,
    // as a head read into its own buffer is), every block checked now.
    const at = head.byteOffset + dirSize;
    this.parents = at % 4 === 0 ? new Int32Array(head.buffer, at, n) : new Int32Array(head.buffer.slice(at, at + 4 * n));
    this.types = head.subarray(dirSize + 4 * n, dirSize + 5 * n);
    this.roles = head.subarray(dirSize + 5 * n, dirSize + 6 * n);
    for (let k = 0; k < blocks; k++) if (!this.blockSound(k)) throw invalid(`entry table block ${k + 1} does not match its checksum`);
    this.blockLoaded.fill(1);
    this.blocksLeft = 0;
  }

  /** Whether a read of the columns found a block that does not match its CRC (opens then do without the table). */
  get damaged(): boolean {
    return this.damagedValue;
  }

  /** Entries lo..hi (exclusive) of block k. */
  private blockSpan(k: number): [number, number] {
    const lo = k * BLOCK_ENTRIES;
    return [lo, Math.min(this.count, lo + BLOCK_ENTRIES)];
  }

  /** Whether block k's columns, as they are in memory, match its CRC. */
  private blockSound(k: number): boolean {
    const [lo, hi] = this.blockSpan(k);
    const parent = new Uint8Array(this.parents.buffer, this.parents.byteOffset + 4 * lo, 4 * (hi - lo));
    return blockChecksum(parent, this.types.subarray(lo, hi), this.roles.subarray(lo, hi)) === this.blockCrcs[k];
  }

  private blockDamaged(k: number): SessfmtError {
    this.damagedValue = true;
    const [lo, hi] = this.blockSpan(k);
    return new SessfmtError("E_SIDECAR_CORRUPT", `entry table entries ${lo + 1}-${hi} do not match their checksum; rebuild the index to remake it`, { file: this.file });
  }

  /** Read `length` column bytes at `offset` (from the columns' start) into `into`; false when the file is shorter. */
  private readColumn(offset: number, into: Uint8Array): boolean {
    return (this.columns as ColumnReader)(this.columnsAt + offset, into) === into.length;
  }

  /** Block k's columns present and checked: read now (three reads) if they were not. */
  private loadBlock(k: number): void {
    if (this.blockLoaded[k] === 1) return;
    const [lo, hi] = this.blockSpan(k);
    const n = this.count;
    const parent = new Uint8Array(this.parents.buffer, this.parents.byteOffset + 4 * lo, 4 * (hi - lo));
    const read = this.readColumn(4 * lo, parent) && this.readColumn(4 * n + lo, this.types.subarray(lo, hi)) && this.readColumn(5 * n + lo, this.roles.subarray(lo, hi));
    if (!read || !this.blockSound(k)) throw this.blockDamaged(k);
    this.blockLoaded[k] = 1;
    this.blocksLeft--;
  }

  /** Every block present and checked: the columns not yet read are read whole (three reads). */
  private loadColumns(): void {
    if (this.blocksLeft === 0) return;
    const n = this.count;
    const parent = new Uint8Array(this.parents.buffer, this.parents.byteOffset, 4 * n);
    // Blocks read before are read again with the rest (the file does not change under an
    // open descriptor: it is only ever replaced) and checked once more.
    if (!(this.readColumn(0, parent) && this.readColumn(4 * n, this.types) && this.readColumn(5 * n, this.roles))) throw this.blockDamaged(this.blockLoaded.indexOf(0));
    for (let k = 0; k < this.blockLoaded.length; k++) if (!this.blockSound(k)) throw this.blockDamaged(k);
    this.blockLoaded.fill(1);
    this.blocksLeft = 0;
  }

  /** Entry index i's block present and checked. */
  private loadBlockOf(i: number): void {
    const k = Math.floor(i / BLOCK_ENTRIES);
    if (this.blockLoaded[k] !== 1) this.loadBlock(k);
  }

  /** typeCode of entry index i (its block read if it was not). */
  typeOf(i: number): number {
    this.loadBlockOf(i);
    return this.types[i] as number;
  }

  /** roleCode of entry index i (its block read if it was not). */
  roleOf(i: number): number {
    this.loadBlockOf(i);
    return this.roles[i] as number;
  }

  /**
   * Walk from entrySeq `seq` towards the root, appending each entrySeq visited to `out`:
   * `steps` entries, then up to `more` entries as long as their blocks have been read
   * already (free steps, so that a caller asking for one more entry at a time does not
   * call in for each); stops after an entry whose parent is not at a lower entrySeq (the
   * caller decides what such a step means). Returns the next entrySeq the walk would visit
   * (outside 1..count at a root or a missing parent). Blocks are read as reached.
   */
  walkBack(seq: number, steps: number, more: number, out: number[]): number {
    const count = this.count;
    const parents = this.parents;
    const loaded = this.blockLoaded;
    for (let left = steps; left > -more && seq >= 1 && seq <= count; left--) {
      const k = Math.floor((seq - 1) / BLOCK_ENTRIES);
      if (loaded[k] !== 1) {
        if (left <= 0) break;
        this.loadBlock(k);
      }
      out.push(seq);
      const parent = parents[seq - 1] as number;
      if (parent >= seq) return parent;
      seq = parent;
    }
    return seq;
  }

  /**
   * @internal The typeCode and roleCode columns as they are in memory: an entry's values are
   * there once its block was read (walkBack reads the block of every entry it visits),
   * zero before.
   */
  columnsInPlace(): { types: Uint8Array; roles: Uint8Array } {
    return { types: this.types, roles: this.roles };
  }

  /** Every entry's parentSeq (all blocks read). */
  get parentSeq(): Int32Array {
    this.loadColumns();
    return this.parents;
  }

  /** Every entry's typeCode (all blocks read). */
  get typeCode(): Uint8Array {
    this.loadColumns();
    return this.types;
  }

  /** Every entry's roleCode (all blocks read). */
  get roleCode(): Uint8Array {
    this.loadColumns();
    return this.roles;
  }

  /** A table from its whole bytes (as encodeEntryTable makes them). */
  static fromBytes(bytes: Buffer, file = ENTRY_TABLE_NAME): EntryTable {
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 8).equals(MAGIC)) throw invalid("not an entry table (bad magic)");
    const head = headBytesFor(bytes.readUInt32LE(12), bytes.readUInt32LE(36));
    if (head > bytes.length) throw invalid(`entry table is ${bytes.length} bytes, its head alone ${head}`);
    return new EntryTable(Buffer.from(bytes.subarray(0, head)), restInMemory(bytes.subarray(head)), file);
  }

  private corrupt(i: number, what: string): SessfmtError {
    return new SessfmtError("E_SIDECAR_CORRUPT", `entry table entry ${i + 1} ${what}; rebuild the index to remake it`, { file: this.file });
  }

  /** Read the whole rest (once) and check it against its CRC. */
  private whole(): Buffer {
    if (!this.all) {
      const bytes = this.rest.batch((read) => read(0, this.rest.size));
      if (bytes.length !== this.rest.size || crc32(bytes) >>> 0 !== this.restCrc) {
        throw new SessfmtError("E_SIDECAR_CORRUPT", "the entry table's rows do not match their checksum; rebuild the index to remake it", { file: this.file });
      }
      this.all = bytes;
    }
    return this.all;
  }

  private rowFrom(i: number, rec: Buffer, at: number, idStart: number, ids: (s: number, e: number) => Buffer): Row {
    const byteOffset = rec.readDoubleLE(at);
    const segmentSeq = rec.readUInt32LE(at + 8);
    const frameSeq = rec.readUInt32LE(at + 12);
    const byteLength = rec.readUInt32LE(at + 16);
    const idEnd = rec.readUInt32LE(at + 24);
    if (!isCount(byteOffset) || segmentSeq < 1 || frameSeq < 1 || byteLength < 1) throw this.corrupt(i, "has an impossible location");
    if (!(idEnd > idStart && idEnd <= this.idsBytes)) throw this.corrupt(i, "has a bad id span");
    return { byteOffset, segmentSeq, frameSeq, byteLength, crc: rec.readUInt32LE(at + 20), idStart, idEnd, id: ids(idStart, idEnd) };
  }

  /**
   * Read the rows of these entry indexes (the file opened once), unless already read.
   * Wanted entries at most RUN_GAP rows apart are read as one run: one read for their rows
   * (and the row before the first, whose idEnd is where its id starts) and one for their
   * ids. A path is mostly consecutive entrySeqs, so a walk along it costs a couple of reads
   * per block instead of two per entry.
   */
  prefetch(indexes: Iterable<number>): void {
    if (this.all) return;
    const want = [...new Set(indexes)].filter((i) => Number.isInteger(i) && i >= 0 && i < this.count && !this.cache.has(i)).sort((a, b) => a - b);
    if (want.length === 0) return;
    this.rest.batch((read) => {
      for (let a = 0; a < want.length; ) {
        let b = a;
        while (b + 1 < want.length && (want[b + 1] as number) - (want[b] as number) <= RUN_GAP && (want[b + 1] as number) - (want[a] as number) < RUN_MAX_ROWS) b++;
        this.readRun(read, want.slice(a, b + 1));
        a = b + 1;
      }
    });
  }

  /** One run of prefetch: `run` ascending, close together. */
  private readRun(read: (offset: number, length: number) => Buffer, run: number[]): void {
    const lo = run[0] as number;
    const hi = run[run.length - 1] as number;
    const first = lo === 0 ? 0 : lo - 1;
    const rec = read(ROW_BYTES * first, ROW_BYTES * (hi - first + 1));
    if (rec.length < ROW_BYTES * (hi - first + 1)) throw this.corrupt(hi, "is beyond the end of the table");
    const idStartOf = (i: number): number => (i === 0 ? 0 : rec.readUInt32LE(ROW_BYTES * (i - 1 - first) + 24));
    const idsAt = ROW_BYTES * this.count;
    // The run's ids in one read when their spans are sane; rowFrom checks each entry's own
    // span before its id is taken, and a span outside the read is read on its own.
    const s0 = idStartOf(lo);
    const e1 = rec.readUInt32LE(ROW_BYTES * (hi - first) + 24);
    const ids = s0 <= e1 && e1 <= this.idsBytes && e1 - s0 <= RUN_MAX_ID_BYTES ? read(idsAt + s0, e1 - s0) : undefined;
    for (const i of run) {
      const take = (s: number, e: number): Buffer => (ids && s >= s0 && e <= s0 + ids.length ? ids.subarray(s - s0, e - s0) : Buffer.from(read(idsAt + s, e - s)));
      this.cache.set(i, this.rowFrom(i, rec, ROW_BYTES * (i - first), idStartOf(i), take));
    }
  }

  private rowAt(i: number): Row {
    if (!(Number.isInteger(i) && i >= 0 && i < this.count)) throw this.corrupt(i, "does not exist");
    if (this.all) {
      const all = this.all;
      const idStart = i === 0 ? 0 : all.readUInt32LE(ROW_BYTES * (i - 1) + 24);
      const idsAt = ROW_BYTES * this.count;
      return this.rowFrom(i, all, ROW_BYTES * i, idStart, (s, e) => all.subarray(idsAt + s, idsAt + e));
    }
    let r = this.cache.get(i);
    if (!r) {
      this.prefetch([i]);
      r = this.cache.get(i) as Row;
    }
    return r;
  }

  /** Release the file the rows are read from (a table read with keepOpen). */
  close(): void {
    this.rest.close?.();
  }

  /** Read every row now (one read of the rest, checked by its CRC): for readers of many rows. */
  loadAll(): void {
    this.whole();
  }

  /**
   * Every entry's values in range and consistent with the header (validate's check; a
   * reader checks the entries it uses). Returns what is wrong, or undefined.
   */
  checkAll(): string | undefined {
    let all: Buffer;
    try {
      all = this.whole();
    } catch (err) {
      return (err as Error).message;
    }
    let idPrev = 0;
    let parentPrev = 0;
    let total = 0;
    const ends = new Map<number, number>();
    let parents: Int32Array;
    try {
      parents = this.parentSeq;
    } catch (err) {
      return (err as Error).message;
    }
    for (let i = 0; i < this.count; i++) {
      const at = ROW_BYTES * i;
      const p = parents[i] as number;
      const off = all.readDoubleLE(at);
      const seg = all.readUInt32LE(at + 8);
      const len = all.readUInt32LE(at + 16);
      const idE = all.readUInt32LE(at + 24);
      const parentE = all.readUInt32LE(at + 28);
      if (p < -1 || p > this.count) return `entry ${i + 1} has parentSeq ${p}`;
      if (idE <= idPrev || idE > this.idsBytes) return `entry ${i + 1} has a bad id span`;
      if (parentE < parentPrev || parentE > this.parentBytes) return `entry ${i + 1} has a bad parent id span`;
      if (!isCount(off) || seg < 1 || all.readUInt32LE(at + 12) < 1 || len < 1) return `entry ${i + 1} has an impossible location`;
      idPrev = idE;
      parentPrev = parentE;
      total += len;
      if (off + len > (ends.get(seg) ?? 0)) ends.set(seg, off + len);
    }
    if (idPrev !== this.idsBytes || parentPrev !== this.parentBytes) return "the id blobs have bytes no entry uses";
    if (total !== this.frameBytes) return `the header counts ${this.frameBytes} frame bytes, the entries ${total}`;
    if (ends.size !== this.ends.size || [...ends].some(([seg, end]) => this.ends.get(seg) !== end)) return "the segment list does not match the entries";
    return undefined;
  }

  /** The id of entry index i (entrySeq i + 1). */
  id(i: number): string {
    return this.rowAt(i).id.toString("utf8");
  }

  /** Whether entry index i has this id (UTF-8 bytes), without decoding it. */
  idEquals(i: number, utf8: Uint8Array): boolean {
    const id = this.rowAt(i).id;
    const len = id.length;
    if (len !== utf8.length) return false;
    // Ids are short: a byte loop beats a native compare call per entry.
    for (let k = 0; k < len; k++) if (id[k] !== utf8[k]) return false;
    return true;
  }

  /**
   * Whether entry index i's row says what this offsets.jsonl row says (validate compares
   * every row: this reads the fields in place instead of making the row). Reads the rest
   * whole. `row.crc32c` is 8 hex digits, as a decoded row's always is.
   */
  rowEquals(i: number, row: OffsetIndexRow): boolean {
    const all = this.whole();
    const at = ROW_BYTES * i;
    if (all.readDoubleLE(at) !== row.byteOffset || all.readUInt32LE(at + 8) !== row.segmentSeq || all.readUInt32LE(at + 12) !== row.frameSeq) return false;
    if (all.readUInt32LE(at + 16) !== row.byteLength || all.readUInt32LE(at + 20) !== crcNumber(row.crc32c)) return false;
    const s = i === 0 ? 0 : all.readUInt32LE(at - ROW_BYTES + 24);
    const e = all.readUInt32LE(at + 24);
    const idsAt = ROW_BYTES * this.count;
    if (!(e >= s && e <= this.idsBytes)) return false;
    // An ASCII id is compared byte by byte (no string per row); any other is decoded.
    const id = row.entryId;
    if (id.length === e - s) {
      let k = 0;
      while (k < id.length) {
        const c = id.charCodeAt(k);
        if (c >= 0x80 || all[idsAt + s + k] !== c) break;
        k++;
      }
      if (k === id.length) return true;
      if (id.charCodeAt(k) < 0x80 && (all[idsAt + s + k] as number) < 0x80) return false;
    }
    return all.toString("utf8", idsAt + s, idsAt + e) === id;
  }

  /** The parent id entry index i names (null for a root). */
  parentId(i: number): string | null {
    const all = this.whole();
    const s = i === 0 ? 0 : all.readUInt32LE(ROW_BYTES * (i - 1) + 28);
    const e = all.readUInt32LE(ROW_BYTES * i + 28);
    if (!(e >= s && e <= this.parentBytes)) throw this.corrupt(i, "has a bad parent id span");
    const at = ROW_BYTES * this.count + this.idsBytes;
    return e === s ? null : all.toString("utf8", at + s, at + e);
  }

  /** The entry type by code, or undefined for a type the table does not know by code. */
  type(i: number): string | undefined {
    const c = this.typeOf(i);
    return c === 0 ? undefined : TYPES[c];
  }

  /** The index row of entry index i, as offsets.jsonl holds it. */
  row(i: number): OffsetIndexRow {
    const r = this.rowAt(i);
    return makeIndexRow({
      entrySeq: i + 1,
      entryId: r.id.toString("utf8"),
      segmentSeq: r.segmentSeq,
      frameSeq: r.frameSeq,
      byteOffset: r.byteOffset,
      byteLength: r.byteLength,
      crc32c: crcHex(r.crc),
    });
  }

  /** Every index row, in entrySeq order. */
  rows(): OffsetIndexRow[] {
    this.whole();
    const out = new Array<OffsetIndexRow>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.row(i);
    return out;
  }

  /** The table's inputs back (for a table made from this one plus new entries). */
  inputs(): EntryTableInput[] {
    this.whole();
    const out = new Array<EntryTableInput>(this.count);
    for (let i = 0; i < this.count; i++) {
      const type = this.type(i);
      const e: EntryTableInput = { id: this.id(i), parentId: this.parentId(i), type: type ?? "" };
      const role = this.roleOf(i);
      if (role !== 0) e.role = ROLES[role];
      out[i] = e;
    }
    return out;
  }

  /** The last row encoded exactly as offsets.jsonl ends (empty for an empty store). */
  lastRowLine(): string {
    return this.count === 0 ? "" : encodeIndexRow(this.row(this.count - 1));
  }

  /** Bytes of all frames. */
  totalFrameBytes(): number {
    return this.frameBytes;
  }

  /** For each segment, the end of its last frame (what the segment file must hold). */
  segmentEnds(): ReadonlyMap<number, number> {
    return this.ends;
  }

  /** The entrySeq of the last entry with this id, or 0. */
  lastSeqOf(id: string): number {
    this.whole();
    const utf8 = Buffer.from(id, "utf8");
    for (let i = this.count - 1; i >= 0; i--) if (this.idEquals(i, utf8)) return i + 1;
    return 0;
  }

  /**
   * The entrySeq of the last entry with each of these ids (0: none), in one pass over the
   * ids blob. Ids are compared by length and hash (idKey) before their bytes are, and none
   * is decoded, so the pass costs about the same for one id or a thousand. Undefined when
   * an id has a lone surrogate or U+FFFD, which the blob's UTF-8 cannot tell apart.
   */
  lastSeqsOf(ids: Iterable<string>, maxSameKey = MAX_SAME_KEY): Map<string, number> | undefined {
    const all = this.whole();
    const out = new Map<string, number>();
    const byKey = new Map<number, { id: string; utf8: Buffer }[]>();
    for (const id of ids) {
      out.set(id, 0);
      const utf8 = Buffer.from(id, "utf8");
      // A lone surrogate has no UTF-8: the blob holds U+FFFD for it, so bytes cannot tell
      // such an id from one with a real U+FFFD, which the table's strings did.
      if (id.includes("\uFFFD") || utf8.toString("utf8") !== id) return undefined;
      const key = idKey(utf8, 0, utf8.length);
      const same = byKey.get(key);
      if (same) same.push({ id, utf8 });
      else byKey.set(key, [{ id, utf8 }]);
    }
    if (byKey.size === 0) return out;
    const idsAt = ROW_BYTES * this.count;
    let s = 0;
    // Many wanted ids with one key (made so on purpose: the hash is not keyed) would make
    // each entry compare against all of them; decoding every id is slower but never that.
    if ([...byKey.values()].some((same) => same.length > maxSameKey)) {
      for (let i = 0; i < this.count; i++) {
        const e = all.readUInt32LE(ROW_BYTES * i + 24);
        const id = all.toString("utf8", idsAt + s, idsAt + e);
        if (out.has(id)) out.set(id, i + 1);
        s = e;
      }
      return out;
    }
    for (let i = 0; i < this.count; i++) {
      const e = all.readUInt32LE(ROW_BYTES * i + 24);
      const cands = byKey.get(idKey(all, idsAt + s, e - s));
      if (cands) {
        for (const c of cands) {
          if (c.utf8.length === e - s && all.compare(c.utf8, 0, c.utf8.length, idsAt + s, idsAt + e) === 0) out.set(c.id, i + 1);
        }
      }
      s = e;
    }
    return out;
  }

  /** The parent ids no entry has (of the entries whose parentSeq is -1), each with how many entries name it. */
  missingParents(): Map<string, number> {
    const parents = this.parentSeq;
    const out = new Map<string, number>();
    for (let i = 0; i < this.count; i++) {
      if (parents[i] !== -1) continue;
      const p = this.parentId(i) as string;
      out.set(p, (out.get(p) ?? 0) + 1);
    }
    return out;
  }

  /** How many entries have each of these entrySeqs as their parentSeq (all blocks read). */
  childCounts(seqs: ReadonlySet<number>): Map<number, number> {
    const parents = this.parentSeq;
    const out = new Map<number, number>();
    for (const s of seqs) out.set(s, 0);
    if (seqs.size === 0) return out;
    for (let i = 0; i < this.count; i++) {
      const p = parents[i] as number;
      if (p > 0 && seqs.has(p)) out.set(p, (out.get(p) as number) + 1);
    }
    return out;
  }

  /**
   * This table with entries appended (rows entrySeq count + 1 on, in order), without
   * resolving the old entries' parents again: the same bytes encodeEntryTable makes from
   * all entries. Undefined when the new entries would change an old entry's parentSeq — a
   * new id equal to an old one (the later entry wins), or to the missing parent of an old
   * entry — or when a new id or parent id has a lone surrogate or U+FFFD (see lastSeqsOf);
   * the whole table has to be made again then.
   */
  appended(rows: readonly OffsetIndexRow[], entries: readonly EntryTableInput[], offsetsBytes: number): Buffer | undefined {
    checkInputs(rows, entries, this.count + 1);
    const n0 = this.count;
    const all = this.whole();
    const oldParents = this.parentSeq;
    const newSeqOf = new Map<string, number>();
    entries.forEach((e, j) => newSeqOf.set(e.id, n0 + j + 1));
    // An old entry whose parent is missing would find it in a new entry of that id.
    const missing = oldParents.includes(-1) ? this.missingParents() : undefined;
    if (missing && [...newSeqOf.keys()].some((id) => missing.has(id))) return undefined;
    const wanted = new Set<string>(newSeqOf.keys());
    for (const e of entries) if (e.parentId !== null && !newSeqOf.has(e.parentId)) wanted.add(e.parentId);
    const oldSeqOf = this.lastSeqsOf(wanted);
    if (!oldSeqOf) return undefined;
    for (const id of newSeqOf.keys()) if ((oldSeqOf.get(id) as number) > 0) return undefined;

    const n = n0 + rows.length;
    const parents = new Int32Array(n);
    parents.set(oldParents.subarray(0, n0));
    const types = new Uint8Array(n);
    types.set(this.types.subarray(0, n0));
    const roles = new Uint8Array(n);
    roles.set(this.roles.subarray(0, n0));
    const ids = blob(entries.map((e) => e.id));
    const parentIds = blob(entries.map((e) => e.parentId ?? ""));
    const rest = Buffer.alloc(all.length + ROW_BYTES * rows.length + ids.bytes.length + parentIds.bytes.length);
    const rowsEnd = ROW_BYTES * n;
    all.copy(rest, 0, 0, ROW_BYTES * n0);
    all.copy(rest, rowsEnd, ROW_BYTES * n0, ROW_BYTES * n0 + this.idsBytes);
    ids.bytes.copy(rest, rowsEnd + this.idsBytes);
    const parentsAt = rowsEnd + this.idsBytes + ids.bytes.length;
    all.copy(rest, parentsAt, ROW_BYTES * n0 + this.idsBytes);
    parentIds.bytes.copy(rest, parentsAt + this.parentBytes);
    const ends = new Map(this.ends);
    let frameBytes = this.frameBytes;
    rows.forEach((r, j) => {
      const e = entries[j] as EntryTableInput;
      const i = n0 + j;
      parents[i] = e.parentId === null || e.parentId === e.id ? 0 : (newSeqOf.get(e.parentId) ?? oldSeqOf.get(e.parentId) ?? 0) || -1;
      types[i] = typeCodeOf(e.type);
      roles[i] = roleCodeOf(e.type, e.role);
      writeRow(rest, ROW_BYTES * i, r, this.idsBytes + (ids.ends[j] as number), this.parentBytes + (parentIds.ends[j] as number));
      frameBytes += r.byteLength;
      const end = r.byteOffset + r.byteLength;
      if (end > (ends.get(r.segmentSeq) ?? 0)) ends.set(r.segmentSeq, end);
    });
    return assembleEntryTable({
      n,
      parents,
      types,
      roles,
      rest,
      idsBytes: this.idsBytes + ids.bytes.length,
      parentBytes: this.parentBytes + parentIds.bytes.length,
      uniqueIds: this.uniqueIds && newSeqOf.size === entries.length,
      ends: [...ends].sort((a, b) => a[0] - b[0]),
      frameBytes,
      offsetsBytes,
    });
  }

  /**
   * How many steps back from the leaf lies the first entry of `path` (counting from the
   * root) with this id, among the entries more than `after` steps back; -1 when there is
   * none. With unique ids the only match is searched from `after` backwards, where a
   * compaction's kept entry usually is (a few entries back), reading rows in blocks that
   * grow fourfold from 16: a near entry costs a few rows (and the walk a few steps), a far
   * one a few reads.
   */
  findBack(path: PathFromLeaf, after: number, id: string): number {
    const want = Buffer.from(id, "utf8");
    if (!this.uniqueIds) {
      this.whole();
      const seqs = path.all();
      const last = seqs.length - 1;
      for (let k = 0; k < last - after; k++) if (this.idEquals((seqs[k] as number) - 1, want)) return last - k;
      return -1;
    }
    let block = 16;
    for (let lo = after + 1; ; lo += block, block = Math.min(4 * block, 4096)) {
      const hi = Math.min(path.reach(lo + block), lo + block);
      if (hi <= lo) return -1;
      const idx: number[] = [];
      for (let d = lo; d < hi; d++) idx.push(path.at(d) - 1);
      this.prefetch(idx);
      for (let d = lo; d < hi; d++) if (this.idEquals(path.at(d) - 1, want)) return d;
    }
  }

  /**
   * The entrySeqs from the root to `leafSeq`, root first. The walk stops at a root, a
   * self-parent and a missing parent; a cycle is cut at its member with the lowest
   * entrySeq, exactly as the store's frame-by-frame walk and the tree cut it.
   */
  pathSeqs(leafSeq: number): Int32Array {
    const parent = this.parentSeq;
    const fast = leafSeq >= 1 && leafSeq <= this.count ? (this.space?.walkOnce(parent, leafSeq) ?? walkPath(parent, leafSeq)) : undefined;
    if (fast) return fast;
    const count = this.count;
    const walked = new Int32Array(count);
    let n = 0;
    let seq = leafSeq;
    // A walk longer than the table has entries has met a cycle; only then track visits.
    while (seq > 0 && seq <= count && n < count) {
      walked[n++] = seq;
      seq = parent[seq - 1] as number;
    }
    if (seq > 0 && seq <= count) n = this.cutCycle(leafSeq, walked);
    return walked.subarray(0, n).reverse();
  }

  /** The walk again with visits tracked, cut inside its cycle at the lowest entrySeq; its length. */
  private cutCycle(leafSeq: number, walked: Int32Array): number {
    const seen = new Uint8Array(this.count + 1);
    let n = 0;
    let seq = leafSeq;
    while (seq > 0 && seq <= this.count && seen[seq] === 0) {
      seen[seq] = 1;
      walked[n++] = seq;
      seq = this.parents[seq - 1] as number;
    }
    if (!(seq > 0 && seq <= this.count)) return n;
    // The cycle runs from the first visit of `seq` to the end of the walk.
    const at = walked.subarray(0, n).indexOf(seq);
    let breaker = at;
    for (let k = at; k < n; k++) if ((walked[k] as number) < (walked[breaker] as number)) breaker = k;
    return breaker + 1;
  }

}
