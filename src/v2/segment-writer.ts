import type { FileHandle } from "node:fs/promises";
import { SessfmtError } from "../format/errors.js";
import { writeFully } from "../format/atomic.js";
import { syncDirectory } from "../format/durability.js";
import { crc32cHex } from "./crc32c.js";
import { encodeFrameHead, writeFrameInto, type FrameFields } from "./frame.js";
import { chainStep, GENESIS_CHAIN_HASH, payloadSha256 } from "./hash.js";
import { makeIndexRow, type OffsetIndexRow } from "./index-row.js";
import { appendIndexRows } from "./index-file.js";
import { inRoot, SEGMENTS_DIR, segmentRelPath } from "./layout.js";
import { createExclusive, openAppend } from "./fs-safe.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./segment-reader.js";
import type { FrameHeadFacts } from "./facts.js";

/** Default segment size: 64 MiB. */
export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const FLUSH_BYTES = 4 << 20;

/** Where the next frame goes, and the running chain. */
export interface WriterState {
  nextEntrySeq: number;
  /** The segment frames are appended to (0: none yet). */
  segmentSeq: number;
  /** Next frameSeq in that segment. */
  nextFrameSeq: number;
  /** Bytes in that segment. */
  segmentBytes: number;
  chainHash: string;
  lastCrc32c: string;
  /** Bytes in index/offsets.jsonl. */
  indexBytes: number;
}

export function emptyWriterState(): WriterState {
  return { nextEntrySeq: 1, segmentSeq: 0, nextFrameSeq: 1, segmentBytes: 0, chainHash: GENESIS_CHAIN_HASH, lastCrc32c: "00000000", indexBytes: 0 };
}

export interface SegmentWriterOptions {
  /** Rotation size (default 64 MiB). */
  segmentBytes?: number;
  /** Longest frame line accepted (default 100 MiB, the Rust port's read limit). */
  maxFrameBytes?: number;
  /** Clock for frame timestamps (tests pin it). */
  now?: () => Date;
  /** fsync segments, index and directories at commit (default true). */
  fsync?: boolean;
}

export interface FrameInput {
  entryId: string;
  parentEntryId: string | null;
  entryType: string;
  /** The exact JSONL line bytes, line end excluded. */
  payload: Uint8Array;
  payloadSha256?: string;
}

interface Pending {
  segmentSeq: number;
  isNew: boolean;
  /** Size of the segment file before these bytes. */
  startSize: number;
  /** Frames not yet written, each encoded in place in the writer's buffer. */
  bytes: number;
  fh?: FileHandle;
}

/** First size of the frame buffer; it doubles as frames need, up to FLUSH_BYTES. */
const FIRST_BUFFER_BYTES = 64 << 10;

/**
 * Appends frames to segments and rows to the index. Frames are buffered and written
 * first; rows are appended to the index only at commit, after the frames are on disk
 * (fsynced), so a crash can leave frames without rows (detectable: the segment is longer
 * than its indexed frames) but never a row without its frame.
 *
 * Rotation: a frame goes into a new segment when the current one is non-empty and the
 * frame would take it past the segment size; a frame larger than the segment size goes
 * alone into an empty segment.
 */
export class SegmentWriter {
  readonly state: WriterState;
  /** Rows appended since construction (committed or not). */
  readonly rows: OffsetIndexRow[] = [];
  /** The fixed fields of the frames appended since construction. */
  readonly heads: FrameHeadFacts[] = [];
  private pendingRows: OffsetIndexRow[] = [];
  private pending: Pending | undefined;
  private readonly segmentBytes: number;
  private readonly maxFrameBytes: number;
  private readonly now: () => Date;
  private readonly fsync: boolean;
  private createdSegments = false;
  /** Encoded frames of the pending segment not yet written (pending.bytes of them). */
  private buf: Buffer = Buffer.alloc(0);
  /**
   * The buffer of the previous flush, while `writing` writes it: frames are encoded into
   * `buf` meanwhile, so the file write (in the thread pool) and the framing overlap, with
   * at most one write running and two buffers held.
   */
  private other: Buffer = Buffer.alloc(0);
  private writing: Promise<void> | undefined;

  constructor(
    readonly root: string,
    state: WriterState,
    opts: SegmentWriterOptions = {},
  ) {
    this.state = { ...state };
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(this.segmentBytes) || this.segmentBytes < 1) throw new SessfmtError("E_INVALID_ARGUMENT", `segment size ${this.segmentBytes} is not a positive integer`);
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.now = opts.now ?? (() => new Date());
    this.fsync = opts.fsync ?? true;
  }

  /** Frame one entry; returns its index row (on disk after commit()). */
  async append(input: FrameInput): Promise<OffsetIndexRow> {
    const s = this.state;
    const sha = input.payloadSha256 ?? payloadSha256(input.payload);
    const payloadBytes = input.payload.length;
    const fields: FrameFields = { segmentSeq: s.segmentSeq === 0 ? 1 : s.segmentSeq, frameSeq: s.segmentSeq === 0 ? 1 : s.nextFrameSeq, entrySeq: s.nextEntrySeq, entryId: input.entryId, parentEntryId: input.parentEntryId, entryType: input.entryType, timestamp: this.now().toISOString() };
    let used = s.segmentSeq === 0 ? 0 : s.segmentBytes;
    let head = encodeFrameHead(fields, sha, payloadBytes);
    let headBytes = Buffer.byteLength(head, "utf8");
    if (used > 0 && used + headBytes + payloadBytes + 2 > this.segmentBytes) {
      fields.segmentSeq += 1;
      fields.frameSeq = 1;
      used = 0;
      head = encodeFrameHead(fields, sha, payloadBytes);
      headBytes = Buffer.byteLength(head, "utf8");
    }
    const { segmentSeq, frameSeq } = fields;
    const length = headBytes + payloadBytes + 2;
    if (length > this.maxFrameBytes) {
      throw new SessfmtError("E_FRAME_TOO_LARGE", `entry ${JSON.stringify(input.entryId)} (entrySeq ${s.nextEntrySeq}) makes a ${length}-byte frame, over the ${this.maxFrameBytes}-byte limit`, {
        file: inRoot(this.root, segmentRelPath(segmentSeq)),
        data: { entrySeq: s.nextEntrySeq, entryId: input.entryId, frameBytes: length },
      });
    }
    if (this.pending && this.pending.segmentSeq !== segmentSeq) await this.closeSegment();
    if (!this.pending) this.pending = { segmentSeq, isNew: frameSeq === 1, startSize: used, bytes: 0 };
    const p = this.pending;
    // Frames are encoded straight into the buffer the segment is written from: no
    // per-frame buffer, no concatenation. A frame larger than FLUSH_BYTES gets its own.
    if (p.bytes + length > this.buf.length) {
      if (p.bytes > 0 && p.bytes + length > FLUSH_BYTES) await this.flush();
      this.grow(p.bytes + length);
    }
    const at = p.bytes;
    writeFrameInto(this.buf, at, head, headBytes, input.payload);
    const crc = crc32cHex(this.buf.subarray(at, at + length));
    const row = makeIndexRow({ entrySeq: s.nextEntrySeq, entryId: input.entryId, segmentSeq, frameSeq, byteOffset: used, byteLength: length, crc32c: crc });
    p.bytes += length;
    this.rows.push(row);
    this.pendingRows.push(row);
    const facts: FrameHeadFacts = { entrySeq: row.entrySeq, entryId: row.entryId, segmentSeq, frameSeq, entryType: input.entryType, payloadSha256: sha };
    if (input.parentEntryId !== null) facts.parentEntryId = input.parentEntryId;
    this.heads.push(facts);
    s.nextEntrySeq += 1;
    s.segmentSeq = segmentSeq;
    s.nextFrameSeq = frameSeq + 1;
    s.segmentBytes = used + length;
    s.chainHash = chainStep(s.chainHash, sha);
    s.lastCrc32c = crc;
    if (p.bytes >= FLUSH_BYTES) await this.flush();
    return row;
  }

  /** Make the frame buffer hold at least `need` bytes, keeping what it holds. */
  private grow(need: number): void {
    if (need <= this.buf.length) return;
    let size = Math.max(this.buf.length, FIRST_BUFFER_BYTES);
    while (size < need) size *= 2;
    if (need <= FLUSH_BYTES) size = Math.min(size, FLUSH_BYTES);
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pending?.bytes ?? 0);
    this.buf = next;
  }

  /** Write buffered frame bytes to the current segment file. */
  private async flush(): Promise<void> {
    const p = this.pending;
    if (!p || p.bytes === 0) return;
    const path = inRoot(this.root, segmentRelPath(p.segmentSeq));
    if (!p.fh) {
      if (p.isNew) {
        p.fh = await createExclusive(path);
        this.createdSegments = true;
      } else {
        p.fh = await openAppend(path);
      }
      const size = (await p.fh.stat()).size;
      if (size !== p.startSize) {
        throw new SessfmtError("E_SIDECAR_CORRUPT", `segment is ${size} bytes but its indexed frames end at ${p.startSize}; run validate or rebuild`, { file: path, offset: p.startSize });
      }
    }
    await this.settle();
    const written = this.buf;
    const write = writeFully(p.fh, written.subarray(0, p.bytes), path);
    write.catch(() => undefined); // awaited by settle(); the next flush or close reports it
    this.writing = write;
    p.startSize += p.bytes;
    p.bytes = 0;
    this.buf = this.other;
    this.other = written;
  }

  /** Wait for the write started by the last flush (and throw its error). */
  private async settle(): Promise<void> {
    const w = this.writing;
    if (!w) return;
    this.writing = undefined;
    await w;
    // A buffer grown past FLUSH_BYTES for one large frame is not kept.
    if (this.other.length > FLUSH_BYTES) this.other = Buffer.alloc(0);
  }

  private async closeSegment(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    await this.flush();
    await this.settle();
    this.pending = undefined;
    if (p.fh) {
      try {
        if (this.fsync) await p.fh.sync();
      } finally {
        await p.fh.close();
      }
    }
  }

  /** Put every appended frame on disk, then its index rows. */
  async commit(): Promise<OffsetIndexRow[]> {
    await this.closeSegment();
    if (this.createdSegments && this.fsync) await syncDirectory(inRoot(this.root, SEGMENTS_DIR));
    this.createdSegments = false;
    const rows = this.pendingRows;
    this.pendingRows = [];
    this.state.indexBytes = await appendIndexRows(this.root, rows, this.state.indexBytes, this.fsync);
    return rows;
  }

  /** Drop buffered frames and close (after a failure; written bytes stay, unindexed). */
  async abandon(): Promise<void> {
    const fh = this.pending?.fh;
    this.pending = undefined;
    await this.settle().catch(() => undefined);
    await fh?.close().catch(() => undefined);
  }
}

/** Where appends continue after the given rows (the chain comes from the caller's record of it). */
export function writerStateAfter(rows: readonly OffsetIndexRow[], indexBytes: number, chainHash: string): WriterState {
  const last = rows[rows.length - 1];
  if (!last) return { ...emptyWriterState(), indexBytes };
  return {
    nextEntrySeq: last.entrySeq + 1,
    segmentSeq: last.segmentSeq,
    nextFrameSeq: last.frameSeq + 1,
    segmentBytes: last.byteOffset + last.byteLength,
    chainHash,
    lastCrc32c: last.crc32c,
    indexBytes,
  };
}
