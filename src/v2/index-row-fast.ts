import { compileWasm, instantiateWasm, type WasmMemory } from "../format/wasm-api.js";
import { Cursor } from "./byte-cursor.js";
import type { OffsetIndexRow } from "./index-row.js";
import { ROW_IN, ROW_MAX, ROW_OUT } from "./index-row-program.js";

/**
 * Fast path of decodeIndexRow: an index row exactly as encodeIndexRow writes it (keys in
 * the canonical order, no white space, integers of at most 15 digits without a leading
 * zero, an entry id of printable ASCII without escapes, 8 uppercase hex digits, state
 * "active") is read in one pass over its bytes, with no string built for the whole row
 * and no JSON.parse. Anything else returns undefined and goes to JSON.parse and the field
 * checks, which decide and word the problem. So the fast path only ever accepts rows the
 * slow path accepts, with the same values (test/v2/index-row-fast.test.ts).
 *
 * The reading is done by WebAssembly (index-row-program.ts: the same grammar, the numbers
 * parsed there; JavaScript makes the id and CRC strings and the row); where WebAssembly is
 * unavailable, by the byte cursor below, with the same results.
 */

/** assembleModule(ROW_FUNCTIONS, ROW_PAGES, [the literals at ROW_LITS]), base64 (a test checks the two agree). */
export const ROW_WASM =
  "AGFzbQEAAAABIwVgAX8Bf2AEf39/fwF/YAR/f39/AX9gA39/fwF/YAJ/fwF/AwYFAAECAwQFAwEAAQcqBgZtZW1vcnkCAAVwYXJzZQAAA2xpdAABA2ludAACA3N0cgADA2NyYwAECogGBc8BAQJ/QYAIIABqIQJBgAggAkHAAEE7EAEhASABIAJBAEEAEAIhASABIAJB+wBBCxABIQEgASACQSgQAyEBIAEgAkGGAUEOEAEhASABIAJBAEEIEAIhASABIAJBlAFBDBABIQEgASACQQBBEBACIQEgASACQaABQQ4QASEBIAEgAkEBQRgQAiEBIAEgAkGuAUEOEAEhASABIAJBAEEgEAIhASABIAJBvAFBChABIQFBMCABNgAAIAEgAhAEIQEgASACQcYBQRIQASEBIAEgAkYLTwEBf0F/IABOBEBBfw8LIAAgA2ogAUsEQEF/DwsCQANAIAQgA08NASAAIARqLQAAIAIgBGotAABHBEBBfw8LIARBAWohBAwACwsgACADagvMAQICfwF8QX8gAE4EQEF/DwsgACABTwRAQX8PCyAALQAAIQQgBEEwRgRAIAJBAEYEQEF/DwsgAEEBaiABSSAAQQFqLQAAQTBrQQpPQQBGcQRAQX8PCyADRAAAAAAAAAAAOQAAIABBAWoPCyAAIQUCQANAIAAgAU8NASAALQAAIQQgBEEwa0EKTw0BIAZEAAAAAAAAJECiIARBMGu4oCEGIABBAWohAAwACwsgACAFRgRAQX8PCyAAIAVrQQ9LBEBBfw8LIAMgBjkAACAAC5sBAQJ/QX8gAE4EQEF/DwsgACABTwRAQX8PCyAALQAAQSJHBEBBfw8LIABBAWohACAAIQQCQANAIAAgAU8NASAALQAAIQMgA0EiRg0BIANBIGtB3gBLBEBBfw8LIANB3ABGBEBBfw8LIABBAWohAAwACwsgACABTwRAQX8PCyAAIARGBEBBfw8LIAIgBDYAACACIAA2AAQgAEEBagt6AQJ/QX8gAE4EQEF/DwsgAEEKaiABSwRAQX8PCyAALQAAQSJHBEBBfw8LIAAtAAlBIkcEQEF/DwtBASECAkADQCACQQhLDQEgACACai0AACEDIANBMGtBCk8gA0HBAGtBBk9xBEBBfw8LIAJBAWohAgwACwsgAEEKagsLoAEBAEHAAAuYAXsic2NoZW1hIjoicGkuc2Vzc2lvbl9zdG9yZV92Mi5vZmZzZXRfaW5kZXgudjEiLCJlbnRyeVNlcSI6LCJlbnRyeUlkIjosInNlZ21lbnRTZXEiOiwiZnJhbWVTZXEiOiwiYnl0ZU9mZnNldCI6LCJieXRlTGVuZ3RoIjosImNyYzMyYyI6LCJzdGF0ZSI6ImFjdGl2ZSJ9";

interface RowWasm {
  parse: (len: number) => number;
  u8: Uint8Array;
  f64: Float64Array;
  i32: Int32Array;
}

/** null where WebAssembly is unavailable, undefined until first used. */
let rowWasm: RowWasm | null | undefined;

function loadWasm(): RowWasm | null {
  const module = compileWasm(ROW_WASM);
  if (!module) return null;
  try {
    const instance = instantiateWasm(module);
    const buffer = (instance.exports.memory as WasmMemory).buffer;
    return { parse: instance.exports.parse as RowWasm["parse"], u8: new Uint8Array(buffer), f64: new Float64Array(buffer, ROW_OUT, 5), i32: new Int32Array(buffer, ROW_OUT + 40, 3) };
  } catch {
    return null;
  }
}

const SCHEMA_OPEN = Buffer.from('{"schema":"pi.session_store_v2.offset_index.v1","entrySeq":', "latin1");
const K_ENTRY_ID = Buffer.from(',"entryId":', "latin1");
const K_SEGMENT_SEQ = Buffer.from(',"segmentSeq":', "latin1");
const K_FRAME_SEQ = Buffer.from(',"frameSeq":', "latin1");
const K_BYTE_OFFSET = Buffer.from(',"byteOffset":', "latin1");
const K_BYTE_LENGTH = Buffer.from(',"byteLength":', "latin1");
const K_CRC = Buffer.from(',"crc32c":', "latin1");
const STATE_CLOSE = Buffer.from(',"state":"active"}', "latin1");

/** The row in b[0, end), or undefined to take the slow path. */
export function fastIndexRow(b: Buffer, end: number = b.length): OffsetIndexRow | undefined {
  if (rowWasm === undefined) rowWasm = loadWasm();
  const w = rowWasm;
  if (!w || end > ROW_MAX) return cursorIndexRow(b, end);
  w.u8.set(end === b.length ? b : b.subarray(0, end), ROW_IN);
  if (w.parse(end) === 0) return undefined;
  const f = w.f64;
  const i = w.i32;
  const crcAt = (i[2] as number) - ROW_IN + 1;
  return {
    schema: "pi.session_store_v2.offset_index.v1",
    entrySeq: f[0] as number,
    entryId: b.toString("latin1", (i[0] as number) - ROW_IN, (i[1] as number) - ROW_IN),
    segmentSeq: f[1] as number,
    frameSeq: f[2] as number,
    byteOffset: f[3] as number,
    byteLength: f[4] as number,
    crc32c: b.toString("latin1", crcAt, crcAt + 8),
    state: "active",
  };
}

/** fastIndexRow with the byte cursor (what runs where WebAssembly is unavailable; tests compare the two). */
export function cursorIndexRow(b: Buffer, end: number = b.length): OffsetIndexRow | undefined {
  const c = new Cursor(b, end);
  c.lit(SCHEMA_OPEN);
  const entrySeq = c.int(false);
  c.lit(K_ENTRY_ID);
  const entryId = c.str(false);
  c.lit(K_SEGMENT_SEQ);
  const segmentSeq = c.int(false);
  c.lit(K_FRAME_SEQ);
  const frameSeq = c.int(false);
  c.lit(K_BYTE_OFFSET);
  const byteOffset = c.int(true);
  c.lit(K_BYTE_LENGTH);
  const byteLength = c.int(false);
  c.lit(K_CRC);
  const crc32c = c.crc();
  c.lit(STATE_CLOSE);
  if (c.pos !== end || entryId === undefined || crc32c === undefined) return undefined;
  return { schema: "pi.session_store_v2.offset_index.v1", entrySeq, entryId, segmentSeq, frameSeq, byteOffset, byteLength, crc32c, state: "active" };
}
