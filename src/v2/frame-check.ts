import { crc32cHex } from "./crc32c.js";
import { decodeFrame, type DecodedFrame } from "./frame.js";
import { payloadSha256 } from "./hash.js";
import type { OffsetIndexRow } from "./index-row.js";
import { segmentRelPath } from "./layout.js";
import { problem, type SidecarProblem } from "./problems.js";
import type { EntryRecord } from "../format/record.js";
import type { SessionEntry } from "../format/types.js";

/**
 * The checks between an index row and the bytes it points at. Open runs the cheap ones
 * (the frame decodes and agrees with its row, the payload size is right); validate and
 * export add the CRC-32C and the payload SHA-256.
 */
export interface FrameChecks {
  crc: boolean;
  payloadHash: boolean;
}

export const CHEAP_CHECKS: FrameChecks = { crc: false, payloadHash: false };
export const FULL_CHECKS: FrameChecks = { crc: true, payloadHash: true };

export interface CheckedFrame {
  /** The decoded frame (absent when it does not decode). */
  frame?: DecodedFrame;
  /** SHA-256 of the payload as stored, when the payload hash was checked. */
  actualPayloadSha256?: string;
  problems: SidecarProblem[];
}

/** Check a row's frame bytes (byteLength bytes, "\n" included); collects every problem. */
export function checkIndexedFrame(bytes: Buffer, row: OffsetIndexRow, checks: FrameChecks): CheckedFrame {
  const file = segmentRelPath(row.segmentSeq);
  const where = { file, offset: row.byteOffset, entrySeq: row.entrySeq, entryId: row.entryId };
  const problems: SidecarProblem[] = [];
  if (checks.crc) {
    const crc = crc32cHex(bytes);
    if (crc !== row.crc32c) problems.push(problem("frame_crc_mismatch", `CRC-32C of the frame is ${crc}, the index says ${row.crc32c}`, where));
  }
  const terminated = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;
  if (!terminated) problems.push(problem("frame_unterminated", "the row's byte range does not end with a line end", where));
  const d = decodeFrame(terminated ? bytes.subarray(0, bytes.length - 1) : bytes);
  if (!d.ok) {
    problems.push(problem("frame_invalid", d.message, where));
    return { problems };
  }
  const f = d.value;
  const diffs: string[] = [];
  if (f.entrySeq !== row.entrySeq) diffs.push(`entrySeq ${f.entrySeq} != ${row.entrySeq}`);
  if (f.entryId !== row.entryId) diffs.push(`entryId ${JSON.stringify(f.entryId)} != ${JSON.stringify(row.entryId)}`);
  if (f.segmentSeq !== row.segmentSeq) diffs.push(`segmentSeq ${f.segmentSeq} != ${row.segmentSeq}`);
  if (f.frameSeq !== row.frameSeq) diffs.push(`frameSeq ${f.frameSeq} != ${row.frameSeq}`);
  if (diffs.length > 0) problems.push(problem("frame_row_mismatch", `frame and index row disagree: ${diffs.join(", ")}`, where));
  if (f.payloadBytes !== f.payload.length) problems.push(problem("payload_size_mismatch", `payload is ${f.payload.length} bytes, the frame says ${f.payloadBytes}`, where));
  if (checks.payloadHash) {
    const sha = payloadSha256(f.payload);
    if (sha !== f.payloadSha256) problems.push(problem("payload_hash_mismatch", `payload SHA-256 is ${sha}, the frame says ${f.payloadSha256}`, where));
    return { frame: f, actualPayloadSha256: sha, problems };
  }
  return { frame: f, problems };
}

/** An entry read from the sidecar: an EntryRecord (so SessionTree can use it) plus where its frame is. */
export interface SidecarRecord extends EntryRecord {
  entrySeq: number;
  segmentSeq: number;
  frameSeq: number;
  /** Byte offset and length of the frame line in its segment. */
  byteOffset: number;
  byteLength: number;
}

/**
 * The EntryRecord for a frame, from its payload exactly as the JSONL reader builds one from
 * a line: `index` is entrySeq - 1 (position in file order) and, since the sidecar does not
 * know JSONL line numbers, `line` is the entrySeq; `offset`/`length` locate the payload's frame.
 */
export function recordFromFrame(frame: DecodedFrame, row: OffsetIndexRow): { record?: SidecarRecord; value?: SessionEntry; problems: SidecarProblem[] } {
  const where = { file: segmentRelPath(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq, entryId: row.entryId };
  const v = frame.payloadValue;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { problems: [problem("payload_invalid", "payload is not a JSON object", where)] };
  const o = v as Record<string, unknown>;
  const bad: string[] = [];
  if (typeof o.type !== "string" || o.type.length === 0) bad.push('"type" is not a non-empty string');
  if (typeof o.id !== "string" || o.id.length === 0) bad.push('"id" is not a non-empty string');
  if (typeof o.timestamp !== "string") bad.push('"timestamp" is not a string');
  if (o.parentId !== undefined && o.parentId !== null && typeof o.parentId !== "string") bad.push('"parentId" is neither a string nor null');
  if (bad.length > 0) return { problems: [problem("payload_invalid", `payload is not a session entry: ${bad.join("; ")}`, where)] };
  const parentId = typeof o.parentId === "string" && o.parentId !== "" ? o.parentId : null;
  const diffs: string[] = [];
  if (o.id !== frame.entryId) diffs.push(`id ${JSON.stringify(o.id)} != entryId ${JSON.stringify(frame.entryId)}`);
  if (o.type !== frame.entryType) diffs.push(`type ${JSON.stringify(o.type)} != entryType ${JSON.stringify(frame.entryType)}`);
  if (parentId !== (frame.parentEntryId ?? null)) diffs.push(`parentId ${JSON.stringify(parentId)} != parentEntryId ${JSON.stringify(frame.parentEntryId ?? null)}`);
  if (diffs.length > 0) return { problems: [problem("payload_field_mismatch", `payload and frame disagree: ${diffs.join(", ")}`, where)] };
  const r: SidecarRecord = {
    index: row.entrySeq - 1,
    line: row.entrySeq,
    offset: row.byteOffset,
    length: frame.payload.length,
    eol: 1,
    type: o.type as string,
    id: o.id as string,
    parentId,
    timestamp: o.timestamp as string,
    entrySeq: row.entrySeq,
    segmentSeq: row.segmentSeq,
    frameSeq: row.frameSeq,
    byteOffset: row.byteOffset,
    byteLength: row.byteLength,
  };
  if (r.type === "message") {
    const m = o.message as { role?: unknown } | null | undefined;
    if (m && typeof m === "object" && typeof m.role === "string") r.role = m.role;
  } else if (r.type === "label") {
    if (typeof o.targetId === "string") r.targetId = o.targetId;
    if (typeof o.label === "string") r.label = o.label;
  } else if (r.type === "session_info") {
    if (typeof o.name === "string") r.name = o.name;
  }
  return { record: r, value: o as SessionEntry, problems: [] };
}
