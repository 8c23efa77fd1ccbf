import { isUtf8 } from "node:buffer";
import { LineFields, ObjectFields, SCAN_CERTAIN, scanLine, type FieldView } from "../format/fast-fields.js";
import { fastFrameHead } from "./frame-head-fast.js";
import { isLowerSha256Hex } from "./hash.js";
import { payloadSha256 } from "./hash.js";

/**
 * Segment frame codec. A frame is one line of a segment file:
 *
 *   {"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":S,"frameSeq":F,
 *    "entrySeq":E,"entryId":"…","parentEntryId":"…"?,"entryType":"…","timestamp":"…",
 *    "payloadSha256":"…","payloadBytes":N,"payload":<the JSONL line, verbatim>}\n
 *
 * Keys in exactly this order (the Rust port's serde field order); `parentEntryId` is
 * omitted for a root. `payload` is the entry's JSONL line embedded as raw JSON text, so
 * the frame is lossless and payloadSha256 can be checked against the JSONL itself.
 * Because `payload` is the last key and a JSON string can never contain an unescaped
 * quote, the first `,"payload":` in a frame line is where the payload starts: the fixed
 * fields can be read without parsing (or even reading) the payload.
 */

export const SEGMENT_FRAME_SCHEMA = "pi.session_store_v2.segment_frame.v1";

export const PAYLOAD_MARK = Buffer.from(',"payload":', "latin1");
const FRAME_KEYS = new Set(["schema", "segmentSeq", "frameSeq", "entrySeq", "entryId", "parentEntryId", "entryType", "timestamp", "payloadSha256", "payloadBytes"]);

/** Every field of a frame except the payload. */
export interface SegmentFrameHead {
  schema: string;
  segmentSeq: number;
  frameSeq: number;
  entrySeq: number;
  entryId: string;
  /** Absent for a root entry. */
  parentEntryId?: string;
  entryType: string;
  /** When the frame was written (RFC 3339, milliseconds, UTC). */
  timestamp: string;
  payloadSha256: string;
  payloadBytes: number;
}

export interface SegmentFrame extends SegmentFrameHead {
  /** The payload text as stored (the JSONL line without its line end). */
  payload: Buffer;
}

export interface FrameFields {
  segmentSeq: number;
  frameSeq: number;
  entrySeq: number;
  entryId: string;
  parentEntryId?: string | null;
  entryType: string;
  timestamp: string;
  /** Computed from the payload when not given. */
  payloadSha256?: string;
}

/** The frame's fields as its head text: everything before the payload, `"payload":` included. */
export function encodeFrameHead(fields: FrameFields, payloadSha: string, payloadBytes: number): string {
  let head = `{"schema":"${SEGMENT_FRAME_SCHEMA}","segmentSeq":${fields.segmentSeq},"frameSeq":${fields.frameSeq},"entrySeq":${fields.entrySeq},"entryId":${JSON.stringify(fields.entryId)}`;
  if (fields.parentEntryId !== undefined && fields.parentEntryId !== null) head += `,"parentEntryId":${JSON.stringify(fields.parentEntryId)}`;
  return `${head},"entryType":${JSON.stringify(fields.entryType)},"timestamp":${JSON.stringify(fields.timestamp)},"payloadSha256":${JSON.stringify(payloadSha)},"payloadBytes":${payloadBytes},"payload":`;
}

/**
 * Write a frame line into `out` at `at`: its head (`headBytes` = Buffer.byteLength(head)),
 * the payload, "}" and "\n". Returns the frame's length.
 */
export function writeFrameInto(out: Buffer, at: number, head: string, headBytes: number, payload: Uint8Array): number {
  out.write(head, at, headBytes, "utf8");
  out.set(payload, at + headBytes);
  const end = at + headBytes + payload.length;
  out[end] = 0x7d; // }
  out[end + 1] = 0x0a; // \n
  return headBytes + payload.length + 2;
}

/** Encode a frame line, terminating "\n" included (the bytes the CRC and byteLength cover). */
export function encodeFrame(fields: FrameFields, payload: Uint8Array): Buffer {
  const head = encodeFrameHead(fields, fields.payloadSha256 ?? payloadSha256(payload), payload.length);
  const headBytes = Buffer.byteLength(head, "utf8");
  const out = Buffer.allocUnsafe(headBytes + payload.length + 2);
  writeFrameInto(out, 0, head, headBytes, payload);
  return out;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; message: string };

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
}

/** Check the parsed head object; the message says what is wrong. */
function checkHead(o: unknown): Decoded<SegmentFrameHead> {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: "frame is not a JSON object" };
  const f = o as Record<string, unknown>;
  for (const k of Object.keys(f)) if (!FRAME_KEYS.has(k)) return { ok: false, message: `unknown frame field ${JSON.stringify(k)}` };
  if (f.schema !== SEGMENT_FRAME_SCHEMA) return { ok: false, message: `unsupported frame schema ${JSON.stringify(f.schema)}` };
  for (const k of ["segmentSeq", "frameSeq", "entrySeq"] as const) {
    if (!isSeq(f[k])) return { ok: false, message: `frame ${k} is not a positive integer` };
  }
  if (typeof f.entryId !== "string" || f.entryId.length === 0) return { ok: false, message: "frame entryId is not a non-empty string" };
  if (f.parentEntryId === null) delete f.parentEntryId;
  if (f.parentEntryId !== undefined && (typeof f.parentEntryId !== "string" || f.parentEntryId.length === 0)) {
    return { ok: false, message: "frame parentEntryId is not a non-empty string" };
  }
  if (typeof f.entryType !== "string" || f.entryType.length === 0) return { ok: false, message: "frame entryType is not a non-empty string" };
  if (typeof f.timestamp !== "string") return { ok: false, message: "frame timestamp is not a string" };
  if (!isLowerSha256Hex(f.payloadSha256)) return { ok: false, message: "frame payloadSha256 is not 64 lowercase hex digits" };
  if (typeof f.payloadBytes !== "number" || !Number.isSafeInteger(f.payloadBytes) || f.payloadBytes < 0) {
    return { ok: false, message: "frame payloadBytes is not a non-negative integer" };
  }
  return { ok: true, value: f as unknown as SegmentFrameHead };
}

type HeadFailure = { ok: false; needMore?: true; message: string };

/** A frame line's head and where its payload starts (`buf` may be a prefix of the line). */
function headAndPayloadStart(buf: Buffer): { ok: true; head: SegmentFrameHead; payloadStart: number } | HeadFailure {
  const at = buf.indexOf(PAYLOAD_MARK);
  if (at < 0) return { ok: false, needMore: true, message: 'frame has no "payload" field' };
  const payloadStart = at + PAYLOAD_MARK.length;
  const fast = fastFrameHead(buf, at);
  if (fast) return { ok: true, head: fast, payloadStart };
  const head = parseFrameHead(buf, at);
  return head.ok ? { ok: true, head: head.value, payloadStart } : head;
}

/**
 * Decode the fixed fields from the start of a frame line. `bytes` may be a prefix of the
 * line; `needMore` means the payload marker was not in it (read more and try again).
 */
export function decodeFrameHead(bytes: Uint8Array): Decoded<SegmentFrameHead & { payloadStart: number }> | { ok: false; needMore: true; message: string } {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = headAndPayloadStart(buf);
  if (!h.ok) return h.needMore ? { ok: false, needMore: true, message: h.message } : { ok: false, message: h.message };
  // The head object is this frame's own (made by the fast path or JSON.parse): the field is added, not copied in.
  const value = h.head as SegmentFrameHead & { payloadStart: number };
  value.payloadStart = h.payloadStart;
  return { ok: true, value };
}

/**
 * The head in [0, at) decoded by JSON.parse and checked field by field: the definition
 * the fast path (frame-head-fast.ts) must agree with, and what words every problem.
 */
export function parseFrameHead(buf: Buffer, at: number): Decoded<SegmentFrameHead> {
  let o: unknown;
  try {
    o = JSON.parse(`${buf.subarray(0, at).toString("utf8")}}`);
  } catch (err) {
    return { ok: false, message: `frame fields are not valid JSON: ${(err as Error).message}` };
  }
  return checkHead(o);
}

/** A decoded frame and its payload parsed (so nobody parses it twice). */
export interface DecodedFrame extends SegmentFrame {
  payloadValue: unknown;
}

/** The head and payload bytes of a whole frame line (without its "\n"); the payload is not parsed. */
function splitFrame(buf: Buffer): Decoded<SegmentFrame> {
  const h = headAndPayloadStart(buf);
  if (!h.ok) return { ok: false, message: h.message };
  if (buf.length === 0 || buf[buf.length - 1] !== 0x7d) return { ok: false, message: "frame does not end with }" };
  if (h.payloadStart >= buf.length - 1) return { ok: false, message: "frame payload is empty" };
  // The head gains only `payload` (no field added and deleted again, which leaves the
  // object in V8's slow dictionary mode).
  const frame = h.head as SegmentFrameHead & { payload?: Buffer };
  frame.payload = buf.subarray(h.payloadStart, buf.length - 1);
  return { ok: true, value: frame as SegmentFrame };
}

function parsePayloadValue(payload: Buffer): Decoded<unknown> {
  try {
    return { ok: true, value: JSON.parse(payload.toString("utf8")) };
  } catch (err) {
    return { ok: false, message: `frame payload is not one JSON value: ${(err as Error).message}` };
  }
}

/**
 * Decode a whole frame line (without its "\n"): the fixed fields, and the payload as the
 * exact bytes stored, which must be one JSON value (so the line as a whole is JSON).
 * Whether the payload matches payloadSha256/payloadBytes is the caller's check (open does
 * not hash; validate does).
 */
export function decodeFrame(line: Uint8Array): Decoded<DecodedFrame> {
  const buf = Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  const split = splitFrame(buf);
  if (!split.ok) return split;
  const parsed = parsePayloadValue(split.value.payload);
  if (!parsed.ok) return parsed;
  const f = split.value as DecodedFrame;
  f.payloadValue = parsed.value;
  return { ok: true, value: f };
}

/** A decoded frame with the payload's entry fields (see FieldView), the payload left unparsed. */
export interface FieldsFrame extends SegmentFrame {
  /** The payload's top-level entry fields; valid until the next decodeFrameFields call. */
  fields: FieldView;
  /** The payload is a JSON object (otherwise `fields` sees no field). */
  isObject: boolean;
}

/** One scanner state for every call: decodeFrameFields is synchronous and its view short-lived. */
const scanned = new LineFields();

/**
 * decodeFrame for a caller that needs only the payload's entry fields (validation): the
 * payload's JSON is checked by the reader's validating scanner (the same grammar as
 * JSON.parse, no object built); only when the scanner is unsure is the payload parsed.
 * Accepts and refuses exactly the frames decodeFrame does, with the same messages.
 */
export function decodeFrameFields(line: Uint8Array): Decoded<FieldsFrame> {
  const buf = Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength);
  const split = splitFrame(buf);
  if (!split.ok) return split;
  const f = split.value as FieldsFrame;
  // The scanner assumes UTF-8; other bytes go through toString + JSON.parse, as in decodeFrame.
  if (isUtf8(f.payload) && scanLine(f.payload, scanned) === SCAN_CERTAIN) {
    f.fields = scanned;
    f.isObject = true;
    return { ok: true, value: f };
  }
  const parsed = parsePayloadValue(f.payload);
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  f.isObject = v !== null && typeof v === "object" && !Array.isArray(v);
  f.fields = new ObjectFields(f.isObject ? (v as Record<string, unknown>) : {});
  return { ok: true, value: f };
}

/** Parse a payload as the entry object it holds. */
export function parsePayload(payload: Uint8Array): Decoded<Record<string, unknown>> {
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8"));
  } catch (err) {
    return { ok: false, message: `payload is not valid JSON: ${(err as Error).message}` };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: "payload is not a JSON object" };
  return { ok: true, value: o as Record<string, unknown> };
}
