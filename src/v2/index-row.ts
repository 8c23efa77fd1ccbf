import { isUpperCrcHex } from "./hash.js";
import type { Decoded } from "./frame.js";
import { fastIndexRow } from "./index-row-fast.js";

/**
 * Offset index codec: `index/offsets.jsonl`, one row per frame, in entrySeq order:
 *
 *   {"schema":"pi.session_store_v2.offset_index.v1","entrySeq":E,"entryId":"…",
 *    "segmentSeq":S,"frameSeq":F,"byteOffset":O,"byteLength":L,"crc32c":"XXXXXXXX",
 *    "state":"active"}\n
 *
 * byteLength counts the frame's "\n"; crc32c is CRC-32C over those byteLength bytes.
 */

export const OFFSET_INDEX_SCHEMA = "pi.session_store_v2.offset_index.v1";

export interface OffsetIndexRow {
  schema: string;
  entrySeq: number;
  entryId: string;
  segmentSeq: number;
  frameSeq: number;
  byteOffset: number;
  byteLength: number;
  crc32c: string;
  state: string;
}

const ROW_KEYS = ["schema", "entrySeq", "entryId", "segmentSeq", "frameSeq", "byteOffset", "byteLength", "crc32c", "state"];
const ROW_KEY_SET = new Set(ROW_KEYS);

export function makeIndexRow(r: Omit<OffsetIndexRow, "schema" | "state">): OffsetIndexRow {
  return {
    schema: OFFSET_INDEX_SCHEMA,
    entrySeq: r.entrySeq,
    entryId: r.entryId,
    segmentSeq: r.segmentSeq,
    frameSeq: r.frameSeq,
    byteOffset: r.byteOffset,
    byteLength: r.byteLength,
    crc32c: r.crc32c,
    state: "active",
  };
}

/** One index line, "\n" included, keys in the canonical order. */
export function encodeIndexRow(r: OffsetIndexRow): string {
  return (
    `{"schema":${JSON.stringify(r.schema)},"entrySeq":${r.entrySeq},"entryId":${JSON.stringify(r.entryId)}` +
    `,"segmentSeq":${r.segmentSeq},"frameSeq":${r.frameSeq},"byteOffset":${r.byteOffset},"byteLength":${r.byteLength}` +
    `,"crc32c":${JSON.stringify(r.crc32c)},"state":${JSON.stringify(r.state)}}\n`
  );
}

function nat(v: unknown, min: number): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= min;
}

/** Decode one index line (without "\n"), checking every field's type and range. */
export function decodeIndexRow(line: Uint8Array | string): Decoded<OffsetIndexRow> {
  if (typeof line !== "string") {
    // Rows as the writer makes them are read without JSON.parse (a pass reads one per entry).
    const fast = fastIndexRow(Buffer.isBuffer(line) ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength));
    if (fast) return { ok: true, value: fast };
  }
  let o: unknown;
  try {
    o = JSON.parse(typeof line === "string" ? line : Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("utf8"));
  } catch (err) {
    return { ok: false, message: `index row is not valid JSON: ${(err as Error).message}` };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: "index row is not a JSON object" };
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!ROW_KEY_SET.has(k)) return { ok: false, message: `unknown index row field ${JSON.stringify(k)}` };
  if (r.schema !== OFFSET_INDEX_SCHEMA) return { ok: false, message: `unsupported index row schema ${JSON.stringify(r.schema)}` };
  if (!nat(r.entrySeq, 1)) return { ok: false, message: "index row entrySeq is not a positive integer" };
  if (typeof r.entryId !== "string" || r.entryId.length === 0) return { ok: false, message: "index row entryId is not a non-empty string" };
  if (!nat(r.segmentSeq, 1)) return { ok: false, message: "index row segmentSeq is not a positive integer" };
  if (!nat(r.frameSeq, 1)) return { ok: false, message: "index row frameSeq is not a positive integer" };
  if (!nat(r.byteOffset, 0)) return { ok: false, message: "index row byteOffset is not a non-negative integer" };
  if (!nat(r.byteLength, 1)) return { ok: false, message: "index row byteLength is not a positive integer" };
  if (!isUpperCrcHex(r.crc32c)) return { ok: false, message: "index row crc32c is not 8 uppercase hex digits" };
  if (r.state !== "active") return { ok: false, message: `unsupported index row state ${JSON.stringify(r.state)}` };
  return { ok: true, value: r as unknown as OffsetIndexRow };
}
