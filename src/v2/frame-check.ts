import { crc32cHex } from "./crc32c.js";
import { isUtf8 } from "node:buffer";
import { F_ID, F_LABEL, F_MESSAGE, F_MESSAGE_ROLE, F_NAME, F_PARENT_ID, F_TARGET_ID, F_TIMESTAMP, F_TYPE, K_ABSENT, K_NULL, K_OBJECT, K_STRING, LineFields, ObjectFields, SCAN_CERTAIN, scanLine, type FieldView } from "../format/fast-fields.js";
import { wasmHeadFields } from "./fixed-fields.js";
import { decodeFrame, decodeFrameFields, PAYLOAD_MARK, parseFrameHead, SEGMENT_FRAME_SCHEMA, type Decoded, type DecodedFrame, type FieldsFrame, type SegmentFrame } from "./frame.js";
import { isLowerSha256Hex, payloadSha256 } from "./hash.js";
import type { OffsetIndexRow } from "./index-row.js";
import { segmentRelPath } from "./layout.js";
import { problem, type SidecarProblem } from "./problems.js";
import type { EntryRecord } from "../format/record.js";
import { utf8Text } from "../format/text-slice.js";
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

let lastSegmentSeq = -1;
let lastSegmentFile = "";

/**
 * segmentRelPath of the segment the previous call asked for, remembered: passes over a
 * sidecar name the same segment for thousands of rows in a row.
 */
export function segmentFile(segmentSeq: number): string {
  if (segmentSeq !== lastSegmentSeq) {
    lastSegmentFile = segmentRelPath(segmentSeq);
    lastSegmentSeq = segmentSeq;
  }
  return lastSegmentFile;
}

export interface CheckedFrame {
  /** The decoded frame (absent when it does not decode). */
  frame?: DecodedFrame;
  /** SHA-256 of the payload as stored, when the payload hash was checked. */
  actualPayloadSha256?: string;
  problems: SidecarProblem[];
}

/** Check a row's frame bytes (byteLength bytes, "\n" included); collects every problem. */
export function checkIndexedFrame(bytes: Buffer, row: OffsetIndexRow, checks: FrameChecks): CheckedFrame {
  return checkWith(bytes, row, checks, decodeFrame);
}

export interface CheckedFrameFields {
  /** The decoded frame, its payload's fields unparsed (absent when it does not decode). */
  frame?: FieldsFrame;
  actualPayloadSha256?: string;
  problems: SidecarProblem[];
}

/**
 * checkIndexedFrame for validation: the same checks and problems, but the payload is
 * checked with the validating scanner instead of being parsed into an object.
 */
export function checkIndexedFrameFields(bytes: Buffer, row: OffsetIndexRow, checks: FrameChecks): CheckedFrameFields {
  return checkWith(bytes, row, checks, fieldsOfFrame);
}

/** The scanner state of fieldsOfFrame's common case (its view is short-lived, as decodeFrameFields's). */
const scanned = new LineFields();

/**
 * decodeFrameFields, with the common case first: a head of the writer's shape read by
 * WebAssembly (as fastFrameHead reads it), a frame ending in "}" after a payload the
 * scanner is certain of. That frame is what decodeFrameFields makes of it, field for field;
 * anything else goes to decodeFrameFields, which decides and words the problem.
 */
export function fieldsOfFrame(line: Buffer): Decoded<FieldsFrame> {
  const h = wasmHeadFields(line, true);
  if (h && line[line.length - 1] === 0x7d && h.payloadStart < line.length - 1) {
    const payload = line.subarray(h.payloadStart, line.length - 1);
    if (isUtf8(payload) && scanLine(payload, scanned) === SCAN_CERTAIN) {
      const f: FieldsFrame = {
        schema: SEGMENT_FRAME_SCHEMA,
        segmentSeq: h.segmentSeq,
        frameSeq: h.frameSeq,
        entrySeq: h.entrySeq,
        entryId: h.entryId,
        entryType: h.entryType,
        timestamp: h.timestamp as string,
        payloadSha256: h.payloadSha256,
        payloadBytes: h.payloadBytes,
        payload,
        fields: scanned,
        isObject: true,
      };
      if (h.parentEntryId !== undefined) f.parentEntryId = h.parentEntryId;
      return { ok: true, value: f };
    }
  }
  return decodeFrameFields(line);
}

function checkWith<F extends SegmentFrame>(bytes: Buffer, row: OffsetIndexRow, checks: FrameChecks, decode: (line: Buffer) => Decoded<F>): { frame?: F; actualPayloadSha256?: string; problems: SidecarProblem[] } {
  // Built only for a problem: most frames have none.
  const where = () => ({ file: segmentFile(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq, entryId: row.entryId });
  const problems: SidecarProblem[] = [];
  if (checks.crc) {
    const crc = crc32cHex(bytes);
    if (crc !== row.crc32c) problems.push(problem("frame_crc_mismatch", `CRC-32C of the frame is ${crc}, the index says ${row.crc32c}`, where()));
  }
  const terminated = bytes.length > 0 && bytes[bytes.length - 1] === 0x0a;
  if (!terminated) problems.push(problem("frame_unterminated", "the row's byte range does not end with a line end", where()));
  const d = decode(terminated ? bytes.subarray(0, bytes.length - 1) : bytes);
  if (!d.ok) {
    problems.push(problem("frame_invalid", d.message, where()));
    return { problems };
  }
  const f = d.value;
  const diffs: string[] = [];
  if (f.entrySeq !== row.entrySeq) diffs.push(`entrySeq ${f.entrySeq} != ${row.entrySeq}`);
  if (f.entryId !== row.entryId) diffs.push(`entryId ${JSON.stringify(f.entryId)} != ${JSON.stringify(row.entryId)}`);
  if (f.segmentSeq !== row.segmentSeq) diffs.push(`segmentSeq ${f.segmentSeq} != ${row.segmentSeq}`);
  if (f.frameSeq !== row.frameSeq) diffs.push(`frameSeq ${f.frameSeq} != ${row.frameSeq}`);
  if (diffs.length > 0) problems.push(problem("frame_row_mismatch", `frame and index row disagree: ${diffs.join(", ")}`, where()));
  if (f.payloadBytes !== f.payload.length) problems.push(problem("payload_size_mismatch", `payload is ${f.payload.length} bytes, the frame says ${f.payloadBytes}`, where()));
  if (checks.payloadHash) {
    const sha = payloadSha256(f.payload);
    if (sha !== f.payloadSha256) problems.push(problem("payload_hash_mismatch", `payload SHA-256 is ${sha}, the frame says ${f.payloadSha256}`, where()));
    return { frame: f, actualPayloadSha256: sha, problems };
  }
  return { frame: f, problems };
}

/**
 * The entry of a row's frame when every check checkIndexedFrame (with CHEAP_CHECKS) and
 * recordFromFrame make passes; undefined when any would fail (the caller then runs them:
 * they word the problem). The same checks in one function, with nothing built per frame
 * but the entry: an active open's context decodes its frames (143 at 1 GB) in a process
 * that has just started, where the engine still interprets this code, so its length is
 * its cost.
 */
export function entryIfSound(bytes: Buffer, row: OffsetIndexRow): SessionEntry | undefined {
  // A frame line: head, payload, "}" and "\n".
  const close = bytes.length - 2;
  if (close < 1 || bytes[close + 1] !== 0x0a || bytes[close] !== 0x7d) return undefined;
  const at = bytes.indexOf(PAYLOAD_MARK);
  if (at < 0) return undefined;
  const start = at + PAYLOAD_MARK.length;
  if (start >= close) return undefined;
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(utf8Text(bytes, start, close)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) return undefined;
  const { type, id, parentId } = v;
  if (typeof type !== "string" || type.length === 0 || typeof id !== "string" || id !== row.entryId || id.length === 0) return undefined;
  if (typeof v.timestamp !== "string") return undefined;
  // recordFromFields: a missing, null or empty parentId is a root.
  const parent = parentId === undefined || parentId === null || parentId === "" ? null : typeof parentId === "string" ? parentId : undefined;
  if (parent === undefined) return undefined;
  return headSays(bytes, at, row, type, parent, close - start) ? (v as unknown as SessionEntry) : undefined;
}

const SHA_KEY = '","payloadSha256":"';
/** A JSON string's content without escapes (any such text is a valid string). */
const PLAIN_STRING = /^[^"\\\u0000-\u001f]*$/;

/**
 * The frame's head (its bytes before `,"payload":`) decodes and says what the row and the
 * payload say. The head as the writer spells it is compared as text: the fields the row
 * and the payload know, written as the writer writes them, then any plain timestamp, a
 * lowercase hash and the payload's size; a head that reads the same as JSON must then be
 * exactly these values. Any other spelling goes to JSON.parse and the field checks.
 */
function headSays(bytes: Buffer, at: number, row: OffsetIndexRow, type: string, parent: string | null, payloadBytes: number): boolean {
  const text = utf8Text(bytes, 0, at);
  const seqs = isSeq(row.segmentSeq) && isSeq(row.frameSeq) && isSeq(row.entrySeq);
  const lead = `{"schema":"${SEGMENT_FRAME_SCHEMA}","segmentSeq":${row.segmentSeq},"frameSeq":${row.frameSeq},"entrySeq":${row.entrySeq},"entryId":${JSON.stringify(row.entryId)}${parent === null ? "" : `,"parentEntryId":${JSON.stringify(parent)}`},"entryType":${JSON.stringify(type)},"timestamp":"`;
  const tail = `","payloadBytes":${payloadBytes}`;
  const sha = text.length - tail.length - 64;
  if (seqs && sha - SHA_KEY.length >= lead.length && text.startsWith(lead) && text.endsWith(tail) && text.startsWith(SHA_KEY, sha - SHA_KEY.length)) {
    if (isLowerSha256Hex(text.slice(sha, sha + 64)) && PLAIN_STRING.test(text.slice(lead.length, sha - SHA_KEY.length))) return true;
  }
  const h = parseFrameHead(bytes, at);
  if (!h.ok) return false;
  const f = h.value;
  return f.entrySeq === row.entrySeq && f.entryId === row.entryId && f.segmentSeq === row.segmentSeq && f.frameSeq === row.frameSeq && f.payloadBytes === payloadBytes && f.entryType === type && (f.parentEntryId ?? null) === parent;
}

function isSeq(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
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
  const v = frame.payloadValue;
  const isObject = v !== null && typeof v === "object" && !Array.isArray(v);
  const out = recordFromFields(frame, isObject ? new ObjectFields(v as Record<string, unknown>) : undefined, row);
  return out.record ? { record: out.record, value: v as SessionEntry, problems: [] } : out;
}

/**
 * recordFromFrame from the payload's fields as the scanner (or ObjectFields) sees them;
 * `fields` undefined: the payload is not a JSON object.
 */
export function recordFromFields(frame: SegmentFrame, fields: FieldView | undefined, row: OffsetIndexRow): { record?: SidecarRecord; problems: SidecarProblem[] } {
  // Built only for a problem: most frames have none.
  const where = () => ({ file: segmentFile(row.segmentSeq), offset: row.byteOffset, entrySeq: row.entrySeq, entryId: row.entryId });
  if (!fields) return { problems: [problem("payload_invalid", "payload is not a JSON object", where())] };
  const bad: string[] = [];
  const type = fields.kind(F_TYPE) === K_STRING ? fields.str(F_TYPE) : undefined;
  const id = fields.kind(F_ID) === K_STRING ? fields.str(F_ID) : undefined;
  const parentKind = fields.kind(F_PARENT_ID);
  if (type === undefined || type.length === 0) bad.push('"type" is not a non-empty string');
  if (id === undefined || id.length === 0) bad.push('"id" is not a non-empty string');
  if (fields.kind(F_TIMESTAMP) !== K_STRING) bad.push('"timestamp" is not a string');
  if (parentKind !== K_ABSENT && parentKind !== K_NULL && parentKind !== K_STRING) bad.push('"parentId" is neither a string nor null');
  if (bad.length > 0) return { problems: [problem("payload_invalid", `payload is not a session entry: ${bad.join("; ")}`, where())] };
  const rawParent = parentKind === K_STRING ? fields.str(F_PARENT_ID) : "";
  const parentId = rawParent !== "" ? rawParent : null;
  const diffs: string[] = [];
  if (id !== frame.entryId) diffs.push(`id ${JSON.stringify(id)} != entryId ${JSON.stringify(frame.entryId)}`);
  if (type !== frame.entryType) diffs.push(`type ${JSON.stringify(type)} != entryType ${JSON.stringify(frame.entryType)}`);
  if (parentId !== (frame.parentEntryId ?? null)) diffs.push(`parentId ${JSON.stringify(parentId)} != parentEntryId ${JSON.stringify(frame.parentEntryId ?? null)}`);
  if (diffs.length > 0) return { problems: [problem("payload_field_mismatch", `payload and frame disagree: ${diffs.join(", ")}`, where())] };
  // The frame's strings, equal to the payload's here: a pass keeps the record, and one copy
  // of each string is less for the collector to carry than two.
  const r: SidecarRecord = {
    index: row.entrySeq - 1,
    line: row.entrySeq,
    offset: row.byteOffset,
    length: frame.payload.length,
    eol: 1,
    type: frame.entryType,
    id: frame.entryId,
    parentId: frame.parentEntryId ?? null,
    timestamp: fields.str(F_TIMESTAMP),
    entrySeq: row.entrySeq,
    segmentSeq: row.segmentSeq,
    frameSeq: row.frameSeq,
    byteOffset: row.byteOffset,
    byteLength: row.byteLength,
  };
  if (r.type === "message") {
    if (fields.kind(F_MESSAGE) === K_OBJECT && fields.kind(F_MESSAGE_ROLE) === K_STRING) r.role = fields.str(F_MESSAGE_ROLE);
  } else if (r.type === "label") {
    if (fields.kind(F_TARGET_ID) === K_STRING) r.targetId = fields.str(F_TARGET_ID);
    if (fields.kind(F_LABEL) === K_STRING) r.label = fields.str(F_LABEL);
  } else if (r.type === "session_info") {
    if (fields.kind(F_NAME) === K_STRING) r.name = fields.str(F_NAME);
  }
  return { record: r, problems: [] };
}
