import { SessfmtError } from "../format/errors.js";
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SEGMENT_BYTES,
  GENESIS_CHAIN_HASH,
  chainStep,
  encodeFrame,
  encodeIndexRow,
  makeIndexRow,
  payloadSha256,
  type OffsetIndexRow,
} from "../v2/index.js";

/**
 * The frame planner: what the segment writer would write for a run of entries, computed
 * in memory with the writer's own codec and rotation rule (SPEC 11.3), so a dry run
 * predicts segments, bytes and the chain exactly without writing anything.
 */

/** Where framing continues: after nothing, or after an existing sidecar's last row. */
export interface PlanStart {
  nextEntrySeq: number;
  /** 0: no segment yet. */
  segmentSeq: number;
  nextFrameSeq: number;
  segmentBytes: number;
  chainHash: string;
}

export const EMPTY_START: PlanStart = { nextEntrySeq: 1, segmentSeq: 0, nextFrameSeq: 1, segmentBytes: 0, chainHash: GENESIS_CHAIN_HASH };

export function startAfter(last: OffsetIndexRow | undefined, chainHash: string): PlanStart {
  if (!last) return { ...EMPTY_START };
  return { nextEntrySeq: last.entrySeq + 1, segmentSeq: last.segmentSeq, nextFrameSeq: last.frameSeq + 1, segmentBytes: last.byteOffset + last.byteLength, chainHash };
}

export interface PlannedSegment {
  segmentSeq: number;
  /** Frames this plan puts in it. */
  frames: number;
  /** Bytes this plan adds to it. */
  bytes: number;
  /** True when the segment file would be created (not appended to). */
  created: boolean;
}

export interface FramePlan {
  /** Frames planned. */
  entries: number;
  /** Frame bytes planned (the sum of the rows' byteLength). */
  bytes: number;
  /** Index bytes planned. */
  indexBytes: number;
  segments: PlannedSegment[];
  /** The chain after the last planned frame. */
  chainHash: string;
  /** The largest frame planned. */
  largestFrame: number;
}

/** A frame timestamp has this length for every year 0000-9999 (toISOString). */
const FIXED_TIMESTAMP = "2000-01-01T00:00:00.000Z";

export class FramePlanner {
  private readonly state: PlanStart;
  private readonly segments = new Map<number, PlannedSegment>();
  private entries = 0;
  private bytes = 0;
  private indexBytes = 0;
  private largest = 0;

  constructor(
    start: PlanStart,
    private readonly segmentBytes = DEFAULT_SEGMENT_BYTES,
    private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    private readonly file?: string,
  ) {
    this.state = { ...start };
  }

  /** Plan one frame, exactly as SegmentWriter.append would place it. */
  add(entry: { id: string; parentId: string | null; type: string }, payload: Uint8Array): void {
    const s = this.state;
    const sha = payloadSha256(payload);
    const fields = { entrySeq: s.nextEntrySeq, entryId: entry.id, parentEntryId: entry.parentId, entryType: entry.type, timestamp: FIXED_TIMESTAMP, payloadSha256: sha };
    let segmentSeq = s.segmentSeq === 0 ? 1 : s.segmentSeq;
    let frameSeq = s.segmentSeq === 0 ? 1 : s.nextFrameSeq;
    let used = s.segmentSeq === 0 ? 0 : s.segmentBytes;
    let length = encodeFrame({ ...fields, segmentSeq, frameSeq }, payload).length;
    if (used > 0 && used + length > this.segmentBytes) {
      segmentSeq += 1;
      frameSeq = 1;
      used = 0;
      length = encodeFrame({ ...fields, segmentSeq, frameSeq }, payload).length;
    }
    if (length > this.maxFrameBytes) {
      throw new SessfmtError("E_FRAME_TOO_LARGE", `entry ${JSON.stringify(entry.id)} (entrySeq ${s.nextEntrySeq}) makes a ${length}-byte frame, over the ${this.maxFrameBytes}-byte limit`, {
        ...(this.file ? { file: this.file } : {}),
        data: { entrySeq: s.nextEntrySeq, entryId: entry.id, frameBytes: length },
      });
    }
    let seg = this.segments.get(segmentSeq);
    if (!seg) {
      seg = { segmentSeq, frames: 0, bytes: 0, created: frameSeq === 1 };
      this.segments.set(segmentSeq, seg);
    }
    seg.frames += 1;
    seg.bytes += length;
    this.indexBytes += encodeIndexRow(makeIndexRow({ entrySeq: s.nextEntrySeq, entryId: entry.id, segmentSeq, frameSeq, byteOffset: used, byteLength: length, crc32c: "00000000" })).length;
    this.entries += 1;
    this.bytes += length;
    this.largest = Math.max(this.largest, length);
    s.nextEntrySeq += 1;
    s.segmentSeq = segmentSeq;
    s.nextFrameSeq = frameSeq + 1;
    s.segmentBytes = used + length;
    s.chainHash = chainStep(s.chainHash, sha);
  }

  result(): FramePlan {
    return {
      entries: this.entries,
      bytes: this.bytes,
      indexBytes: this.indexBytes,
      segments: [...this.segments.values()].sort((a, b) => a.segmentSeq - b.segmentSeq),
      chainHash: this.state.chainHash,
      largestFrame: this.largest,
    };
  }
}
