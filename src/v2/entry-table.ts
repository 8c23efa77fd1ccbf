import { crc32 } from "node:zlib";
import { SessfmtError } from "../format/errors.js";
import { encodeIndexRow, makeIndexRow, type OffsetIndexRow } from "./index-row.js";

/**
 * sessfmt's entry table, `index/sessfmt-entries.bin`: everything `index/offsets.jsonl`
 * says about each entry plus what the Rust-layout index leaves out — the parent (resolved
 * to an entrySeq), the entry type and a message's role — in fixed-width little-endian
 * columns that load without parsing. With it an open finds the active path and the few
 * frames the context needs without reading every index row or frame on the path.
 *
 * It is a cache: it says which `offsets.jsonl` it describes (byte size and exact last
 * row), is ignored when that no longer holds, and can always be made again from the
 * Rust-layout files (see `entry-table-io.ts`). The Rust port never reads it.
 *
 * Layout (offsets in bytes; n = entries):
 *
 *   header, 64 bytes
 *     0  magic "SFENTTBL"           8  u32 version (1)        12 u32 n
 *     16 f64 offsets.jsonl bytes    24 u32 ids blob bytes     28 u32 parent-ids blob bytes
 *     32 u32 flags (bit 0: every id is unique)                  36..59 zero
 *     60 u32 CRC-32 (zlib's) of bytes 0..59 and everything after the header
 *   columns, in this order: f64 byteOffset[n], i32 parentSeq[n], u32 segmentSeq[n],
 *     u32 frameSeq[n], u32 byteLength[n], u32 crc32c[n], u32 idEnd[n], u32 parentIdEnd[n],
 *     u8 typeCode[n], u8 roleCode[n], zero padding to a multiple of 8,
 *     ids blob (UTF-8, entry i = ids[idEnd[i-1] .. idEnd[i]]), parent-ids blob (likewise;
 *     empty for a root).
 *
 * parentSeq: 0 when the walk to the root stops at this entry (no parent, or the entry
 * names itself), -1 when the parent id is not in the store, else the entrySeq of the
 * parent (the later entry when ids repeat, as the store's id lookup does).
 */

export const ENTRY_TABLE_VERSION = 1;
const MAGIC = Buffer.from("SFENTTBL", "latin1");
const HEADER_BYTES = 64;
/** Bytes per entry in the fixed-width columns. */
const COLUMN_BYTES = 8 + 4 * 7 + 2;

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
const FLAG_UNIQUE_IDS = 1;

/** CRC-32 (zlib's, native) of the header before the CRC field and everything after the header. */
function tableChecksum(bytes: Buffer): number {
  return crc32(bytes.subarray(HEADER_BYTES), crc32(bytes.subarray(0, CRC_AT))) >>> 0;
}

function crcNumber(hex: string): number {
  return Number.parseInt(hex, 16) >>> 0;
}

function crcHex(n: number): string {
  return (n >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

/** The table's bytes for these rows (entrySeq 1..n in order) and their entries. */
export function encodeEntryTable(rows: readonly OffsetIndexRow[], entries: readonly EntryTableInput[], offsetsBytes: number): Buffer {
  const n = rows.length;
  if (entries.length !== n) throw new SessfmtError("E_INVALID_ARGUMENT", `entry table: ${n} rows but ${entries.length} entries`);
  rows.forEach((r, i) => {
    if (r.entrySeq !== i + 1) throw new SessfmtError("E_INVALID_ARGUMENT", `entry table: row ${i + 1} has entrySeq ${r.entrySeq}`);
    if ((entries[i] as EntryTableInput).id !== r.entryId) throw new SessfmtError("E_INVALID_ARGUMENT", `entry table: row ${i + 1} is ${r.entryId}, the entry is ${(entries[i] as EntryTableInput).id}`);
  });
  const ids = blob(entries.map((e) => e.id));
  const parents = blob(entries.map((e) => e.parentId ?? ""));
  const columns = COLUMN_BYTES * n;
  const padded = Math.ceil(columns / 8) * 8;
  const out = Buffer.alloc(HEADER_BYTES + padded + ids.bytes.length + parents.bytes.length);
  const body = new ArrayBuffer(padded);
  let at = 0;
  const col = <T>(make: (b: ArrayBuffer, o: number, n: number) => T, width: number): T => {
    const c = make(body, at, n);
    at += width * n;
    return c;
  };
  const byteOffset = col((b, o, k) => new Float64Array(b, o, k), 8);
  const parentSeq = col((b, o, k) => new Int32Array(b, o, k), 4);
  const segmentSeq = col((b, o, k) => new Uint32Array(b, o, k), 4);
  const frameSeq = col((b, o, k) => new Uint32Array(b, o, k), 4);
  const byteLength = col((b, o, k) => new Uint32Array(b, o, k), 4);
  const crc = col((b, o, k) => new Uint32Array(b, o, k), 4);
  const idEnd = col((b, o, k) => new Uint32Array(b, o, k), 4);
  const parentIdEnd = col((b, o, k) => new Uint32Array(b, o, k), 4);
  const typeCode = col((b, o, k) => new Uint8Array(b, o, k), 1);
  const roleCode = col((b, o, k) => new Uint8Array(b, o, k), 1);
  const resolved = resolveParents(entries);
  parentSeq.set(resolved.parents);
  idEnd.set(ids.ends);
  parentIdEnd.set(parents.ends);
  rows.forEach((r, i) => {
    const e = entries[i] as EntryTableInput;
    byteOffset[i] = r.byteOffset;
    segmentSeq[i] = r.segmentSeq;
    frameSeq[i] = r.frameSeq;
    byteLength[i] = r.byteLength;
    crc[i] = crcNumber(r.crc32c);
    typeCode[i] = typeCodeOf(e.type);
    roleCode[i] = roleCodeOf(e.type, e.role);
  });
  Buffer.from(body).copy(out, HEADER_BYTES);
  ids.bytes.copy(out, HEADER_BYTES + padded);
  parents.bytes.copy(out, HEADER_BYTES + padded + ids.bytes.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(ENTRY_TABLE_VERSION, 8);
  out.writeUInt32LE(n, 12);
  out.writeDoubleLE(offsetsBytes, 16);
  out.writeUInt32LE(ids.bytes.length, 24);
  out.writeUInt32LE(parents.bytes.length, 28);
  out.writeUInt32LE(resolved.uniqueIds ? FLAG_UNIQUE_IDS : 0, 32);
  out.writeUInt32LE(tableChecksum(out), CRC_AT);
  return out;
}

/** A decoded entry table. Index i is entrySeq i + 1. */
export class EntryTable {
  readonly count: number;
  /** Size of the offsets.jsonl this table describes. */
  readonly offsetsBytes: number;
  /** No two entries share an id (so the first match found is the only one). */
  readonly uniqueIds: boolean;
  readonly parentSeq: Int32Array;
  readonly typeCode: Uint8Array;
  readonly roleCode: Uint8Array;
  private readonly byteOffset: Float64Array;
  private readonly segmentSeq: Uint32Array;
  private readonly frameSeq: Uint32Array;
  private readonly byteLength: Uint32Array;
  private readonly crc: Uint32Array;
  private readonly idEnd: Uint32Array;
  private readonly parentIdEnd: Uint32Array;
  private readonly ids: Buffer;
  private readonly parentIds: Buffer;
  private frameBytes = 0;
  private readonly ends = new Map<number, number>();

  /** Decode and check a table's bytes; EntryTableError says what is wrong. */
  constructor(bytes: Buffer) {
    if (bytes.length < HEADER_BYTES || !bytes.subarray(0, 8).equals(MAGIC)) throw invalid("not an entry table (bad magic)");
    const version = bytes.readUInt32LE(8);
    if (version !== ENTRY_TABLE_VERSION) throw invalid(`entry table version ${version} is not ${ENTRY_TABLE_VERSION}`);
    const n = bytes.readUInt32LE(12);
    this.count = n;
    this.offsetsBytes = bytes.readDoubleLE(16);
    const idsBytes = bytes.readUInt32LE(24);
    const parentBytes = bytes.readUInt32LE(28);
    const padded = Math.ceil((COLUMN_BYTES * n) / 8) * 8;
    if (bytes.length !== HEADER_BYTES + padded + idsBytes + parentBytes) throw invalid(`entry table is ${bytes.length} bytes, its header says ${HEADER_BYTES + padded + idsBytes + parentBytes}`);
    if (!Number.isSafeInteger(this.offsetsBytes) || this.offsetsBytes < 0) throw invalid("entry table header names an impossible index size");
    if (tableChecksum(bytes) !== bytes.readUInt32LE(CRC_AT)) throw invalid("entry table checksum does not match");
    this.uniqueIds = (bytes.readUInt32LE(32) & FLAG_UNIQUE_IDS) !== 0;
    // Columns are read in place when the bytes are 8-byte aligned (a file read whole is).
    const aligned = (bytes.byteOffset + HEADER_BYTES) % 8 === 0;
    const body = aligned ? bytes.buffer : bytes.buffer.slice(bytes.byteOffset + HEADER_BYTES, bytes.byteOffset + HEADER_BYTES + padded);
    let at = aligned ? bytes.byteOffset + HEADER_BYTES : 0;
    const take = <T>(make: (b: ArrayBufferLike, o: number, k: number) => T, width: number): T => {
      const c = make(body, at, n);
      at += width * n;
      return c;
    };
    this.byteOffset = take((b, o, k) => new Float64Array(b, o, k), 8);
    this.parentSeq = take((b, o, k) => new Int32Array(b, o, k), 4);
    this.segmentSeq = take((b, o, k) => new Uint32Array(b, o, k), 4);
    this.frameSeq = take((b, o, k) => new Uint32Array(b, o, k), 4);
    this.byteLength = take((b, o, k) => new Uint32Array(b, o, k), 4);
    this.crc = take((b, o, k) => new Uint32Array(b, o, k), 4);
    this.idEnd = take((b, o, k) => new Uint32Array(b, o, k), 4);
    this.parentIdEnd = take((b, o, k) => new Uint32Array(b, o, k), 4);
    this.typeCode = take((b, o, k) => new Uint8Array(b, o, k), 1);
    this.roleCode = take((b, o, k) => new Uint8Array(b, o, k), 1);
    const blobs = HEADER_BYTES + padded;
    this.ids = bytes.subarray(blobs, blobs + idsBytes);
    this.parentIds = bytes.subarray(blobs + idsBytes, blobs + idsBytes + parentBytes);
    this.checkColumns(idsBytes, parentBytes);
  }

  /**
   * Every value in range, so no later read can go out of bounds or loop; the same pass
   * sums the frame bytes and finds where each segment's frames end.
   */
  private checkColumns(idsBytes: number, parentBytes: number): void {
    let idPrev = 0;
    let parentPrev = 0;
    let seg = 0;
    let max = 0;
    for (let i = 0; i < this.count; i++) {
      const p = this.parentSeq[i] as number;
      const idE = this.idEnd[i] as number;
      const parentE = this.parentIdEnd[i] as number;
      const off = this.byteOffset[i] as number;
      if (p < -1 || p > this.count) throw invalid(`entry ${i + 1} has parentSeq ${p}`);
      if (idE <= idPrev || idE > idsBytes) throw invalid(`entry ${i + 1} has a bad id span`);
      if (parentE < parentPrev || parentE > parentBytes) throw invalid(`entry ${i + 1} has a bad parent id span`);
      if (!Number.isSafeInteger(off) || off < 0) throw invalid(`entry ${i + 1} has byteOffset ${off}`);
      const s = this.segmentSeq[i] as number;
      const len = this.byteLength[i] as number;
      if (s < 1 || (this.frameSeq[i] as number) < 1 || len < 1) throw invalid(`entry ${i + 1} has a zero segment, frame or length`);
      idPrev = idE;
      parentPrev = parentE;
      this.frameBytes += len;
      // Frames come in runs per segment: touch the map once per run.
      if (s !== seg) {
        this.noteSegmentEnd(seg, max);
        seg = s;
        max = 0;
      }
      if (off + len > max) max = off + len;
    }
    this.noteSegmentEnd(seg, max);
    if (idPrev !== idsBytes || parentPrev !== parentBytes) throw invalid("entry table blobs have bytes no entry uses");
  }

  private noteSegmentEnd(seg: number, end: number): void {
    if (seg !== 0 && end > (this.ends.get(seg) ?? 0)) this.ends.set(seg, end);
  }

  private idStart(i: number): number {
    return i === 0 ? 0 : (this.idEnd[i - 1] as number);
  }

  /** The id of entry index i (entrySeq i + 1). */
  id(i: number): string {
    return this.ids.toString("utf8", this.idStart(i), this.idEnd[i]);
  }

  /** Whether entry index i has this id (UTF-8 bytes), without decoding it. */
  idEquals(i: number, utf8: Uint8Array): boolean {
    const s = this.idStart(i);
    const len = (this.idEnd[i] as number) - s;
    if (len !== utf8.length) return false;
    // Ids are short: a byte loop beats a native compare call per entry.
    const ids = this.ids;
    for (let k = 0; k < len; k++) if (ids[s + k] !== utf8[k]) return false;
    return true;
  }

  /** The parent id entry index i names (null for a root). */
  parentId(i: number): string | null {
    const s = i === 0 ? 0 : (this.parentIdEnd[i - 1] as number);
    const e = this.parentIdEnd[i] as number;
    return e === s ? null : this.parentIds.toString("utf8", s, e);
  }

  /** The entry type by code, or undefined for a type the table does not know by code. */
  type(i: number): string | undefined {
    const c = this.typeCode[i] as number;
    return c === 0 ? undefined : TYPES[c];
  }

  /** The index row of entry index i, as offsets.jsonl holds it. */
  row(i: number): OffsetIndexRow {
    return makeIndexRow({
      entrySeq: i + 1,
      entryId: this.id(i),
      segmentSeq: this.segmentSeq[i] as number,
      frameSeq: this.frameSeq[i] as number,
      byteOffset: this.byteOffset[i] as number,
      byteLength: this.byteLength[i] as number,
      crc32c: crcHex(this.crc[i] as number),
    });
  }

  /** Every index row, in entrySeq order. */
  rows(): OffsetIndexRow[] {
    const out = new Array<OffsetIndexRow>(this.count);
    for (let i = 0; i < this.count; i++) out[i] = this.row(i);
    return out;
  }

  /** The table's inputs back (for a table made from this one plus new entries). */
  inputs(): EntryTableInput[] {
    const out = new Array<EntryTableInput>(this.count);
    for (let i = 0; i < this.count; i++) {
      const type = this.type(i);
      const e: EntryTableInput = { id: this.id(i), parentId: this.parentId(i), type: type ?? "" };
      const role = this.roleCode[i] as number;
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
    const utf8 = Buffer.from(id, "utf8");
    for (let i = this.count - 1; i >= 0; i--) if (this.idEquals(i, utf8)) return i + 1;
    return 0;
  }

  /**
   * The entrySeqs from the root to `leafSeq`, root first. The walk stops at a root, a
   * self-parent and a missing parent; a cycle is cut at its member with the lowest
   * entrySeq, exactly as the store's frame-by-frame walk and the tree cut it.
   */
  pathSeqs(leafSeq: number): Int32Array {
    const seen = new Uint8Array(this.count + 1);
    const walked = new Int32Array(this.count);
    const parent = this.parentSeq;
    let n = 0;
    let seq = leafSeq;
    while (seq > 0 && seen[seq] === 0) {
      seen[seq] = 1;
      walked[n++] = seq;
      seq = parent[seq - 1] as number;
    }
    if (seq > 0) {
      // A cycle: it runs from the first visit of `seq` to the end of the walk.
      const at = walked.indexOf(seq);
      let breaker = at;
      for (let k = at; k < n; k++) if ((walked[k] as number) < (walked[breaker] as number)) breaker = k;
      n = breaker + 1;
    }
    return walked.subarray(0, n).reverse();
  }
}
