import { compileWasm, instantiateWasm, type WasmMemory } from "../format/wasm-api.js";
import type { SegmentFrameHead } from "./frame.js";
import type { OffsetIndexRow } from "./index-row.js";
import { HEAD_OUT, IN, IN_MAX, ROW_OUT } from "./fixed-fields-program.js";

/**
 * Running fixed-fields-program.ts: index rows and frame heads of the writer's shape read
 * by WebAssembly. Each reader returns undefined for anything else (or where WebAssembly is
 * unavailable): the caller then takes its JavaScript path, which decides.
 */

/** assembleModule(FIXED_FIELDS_FUNCTIONS, PAGES, [LITERALS at LITS]), base64 (a test checks the two agree). */
export const FIXED_FIELDS_WASM =
  "AGFzbQEAAAABLwdgAX8Bf2AEf39/fwF/YAR/f39/AX9gBH9/f38Bf2ACf38Bf2ACf38Bf2ABfwF/AwgHAAECAwQFBgUDAQABBzUIBm1lbW9yeQIAA3JvdwAAA2xpdAABA2ludAACA3N0cgADA2NyYwAEA3NoYQAFBGhlYWQABgrTCQfRAQECf0GACCAAaiECQYAIIAJBwAFBOxABIQEgASACQQBBABACIQEgASACQfsBQQsQASEBIAEgAkEoQQAQAyEBIAEgAkGGAkEOEAEhASABIAJBAEEIEAIhASABIAJBlAJBDBABIQEgASACQQBBEBACIQEgASACQaACQQ4QASEBIAEgAkEBQRgQAiEBIAEgAkGuAkEOEAEhASABIAJBAEEgEAIhASABIAJBvAJBChABIQFBMCABNgAAIAEgAhAEIQEgASACQcYCQRIQASEBIAEgAkYLTwEBf0F/IABOBEBBfw8LIAAgA2ogAUsEQEF/DwsCQANAIAQgA08NASAAIARqLQAAIAIgBGotAABHBEBBfw8LIARBAWohBAwACwsgACADagvMAQICfwF8QX8gAE4EQEF/DwsgACABTwRAQX8PCyAALQAAIQQgBEEwRgRAIAJBAEYEQEF/DwsgAEEBaiABSSAAQQFqLQAAQTBrQQpPQQBGcQRAQX8PCyADRAAAAAAAAAAAOQAAIABBAWoPCyAAIQUCQANAIAAgAU8NASAALQAAIQQgBEEwa0EKTw0BIAZEAAAAAAAAJECiIARBMGu4oCEGIABBAWohAAwACwsgACAFRgRAQX8PCyAAIAVrQQ9LBEBBfw8LIAMgBjkAACAAC6EBAQJ/QX8gAE4EQEF/DwsgACABTwRAQX8PCyAALQAAQSJHBEBBfw8LIABBAWohACAAIQUCQANAIAAgAU8NASAALQAAIQQgBEEiRg0BIARBIGtB3gBLBEBBfw8LIARB3ABGBEBBfw8LIABBAWohAAwACwsgACABTwRAQX8PCyAAIAVGIANBAEZxBEBBfw8LIAIgBTYAACACIAA2AAQgAEEBagt6AQJ/QX8gAE4EQEF/DwsgAEEKaiABSwRAQX8PCyAALQAAQSJHBEBBfw8LIAAtAAlBIkcEQEF/DwtBASECAkADQCACQQhLDQEgACACai0AACEDIANBMGtBCk8gA0HBAGtBBk9xBEBBfw8LIAJBAWohAgwACwsgAEEKagt9AQJ/QX8gAE4EQEF/DwsgAEHCAGogAUsEQEF/DwsgAC0AAEEiRwRAQX8PCyAALQBBQSJHBEBBfw8LQQEhAgJAA0AgAkHAAEsNASAAIAJqLQAAIQMgA0Ewa0EKTyADQeEAa0EGT3EEQEF/DwsgAkEBaiECDAALCyAAQcIAagvDAgECf0GACCAAaiECQYAIIAJB2AJBPhABIQEgASACQQBBwAAQAiEBIAEgAkGWA0EMEAEhASABIAJBAEHIABACIQEgASACQaIDQQwQASEBIAEgAkEAQdAAEAIhASABIAJBrgNBCxABIQEgASACQeAAQQAQAyEBQegAQQA2AABB7ABBADYAACABIAJBuQNBERABQX9HBEAgASACQbkDQREQASEBIAEgAkHoAEEAEAMhAQsgASACQcoDQQ0QASEBIAEgAkHwAEEAEAMhASABIAJB1wNBDRABIQEgASACQfgAQQEQAyEBIAEgAkHkA0EREAEhAUGAASABQQFqNgAAIAEgAhAFIQEgASACQfUDQRAQASEBIAEgAkEBQdgAEAIhAUF/IAFOBEBBAA8LIAEgAkGFBEELEAFBf0YEQEEADwsgAUGACGsLC9gCAQBBwAEL0AJ7InNjaGVtYSI6InBpLnNlc3Npb25fc3RvcmVfdjIub2Zmc2V0X2luZGV4LnYxIiwiZW50cnlTZXEiOiwiZW50cnlJZCI6LCJzZWdtZW50U2VxIjosImZyYW1lU2VxIjosImJ5dGVPZmZzZXQiOiwiYnl0ZUxlbmd0aCI6LCJjcmMzMmMiOiwic3RhdGUiOiJhY3RpdmUifXsic2NoZW1hIjoicGkuc2Vzc2lvbl9zdG9yZV92Mi5zZWdtZW50X2ZyYW1lLnYxIiwic2VnbWVudFNlcSI6LCJmcmFtZVNlcSI6LCJlbnRyeVNlcSI6LCJlbnRyeUlkIjosInBhcmVudEVudHJ5SWQiOiwiZW50cnlUeXBlIjosInRpbWVzdGFtcCI6LCJwYXlsb2FkU2hhMjU2IjosInBheWxvYWRCeXRlcyI6LCJwYXlsb2FkIjo=";

interface Reader {
  row: (len: number) => number;
  head: (len: number) => number;
  u8: Uint8Array;
  f64: Float64Array;
  i32: Int32Array;
}

/** null where WebAssembly is unavailable, undefined until first used. */
let reader: Reader | null | undefined;

function load(): Reader | null {
  const module = compileWasm(FIXED_FIELDS_WASM);
  if (!module) return null;
  try {
    const instance = instantiateWasm(module);
    const buffer = (instance.exports.memory as WasmMemory).buffer;
    return { row: instance.exports.row as Reader["row"], head: instance.exports.head as Reader["head"], u8: new Uint8Array(buffer), f64: new Float64Array(buffer, 0, IN / 8), i32: new Int32Array(buffer, 0, IN / 4) };
  } catch {
    return null;
  }
}

function ready(): Reader | null {
  if (reader === undefined) reader = load();
  return reader;
}

/** fastIndexRow's reading of b[0, end) by WebAssembly; undefined when it is not a row of the writer's shape, or where WebAssembly is unavailable (null). */
export function wasmIndexRow(b: Buffer, end: number): OffsetIndexRow | undefined | null {
  const w = ready();
  if (!w || end > IN_MAX) return null;
  w.u8.set(end === b.length ? b : b.subarray(0, end), IN);
  if (w.row(end) === 0) return undefined;
  const f = w.f64;
  const i = w.i32;
  const o = ROW_OUT >> 3;
  const crcAt = (i[(ROW_OUT + 48) >> 2] as number) - IN + 1;
  return {
    schema: "pi.session_store_v2.offset_index.v1",
    entrySeq: f[o] as number,
    entryId: b.toString("latin1", (i[(ROW_OUT + 40) >> 2] as number) - IN, (i[(ROW_OUT + 44) >> 2] as number) - IN),
    segmentSeq: f[o + 1] as number,
    frameSeq: f[o + 2] as number,
    byteOffset: f[o + 3] as number,
    byteLength: f[o + 4] as number,
    crc32c: b.toString("latin1", crcAt, crcAt + 8),
    state: "active",
  };
}

/** A frame head's fields as verify compares them (the frame's write time only when asked for). */
export type HeadFields = Pick<SegmentFrameHead, "segmentSeq" | "frameSeq" | "entrySeq" | "entryId" | "parentEntryId" | "entryType" | "payloadSha256" | "payloadBytes"> & { payloadStart: number; timestamp?: string };

/** Bytes of a frame copied in to read its head: a head of the writer's shape is a few hundred. */
const HEAD_BYTES = 2048;

/**
 * The head of a frame line (`bytes`, from its first byte), read as fastFrameHead reads it,
 * with payloadStart as decodeFrameHead gives it; undefined when the head is not of the
 * writer's shape, does not fit in its first HEAD_BYTES bytes, or WebAssembly is unavailable.
 */
export function wasmHeadFields(bytes: Buffer, withTimestamp = false): HeadFields | undefined {
  const w = ready();
  if (!w) return undefined;
  const n = Math.min(bytes.length, HEAD_BYTES);
  w.u8.set(n === bytes.length ? bytes : bytes.subarray(0, n), IN);
  const at = w.head(n);
  if (at === 0) return undefined;
  const f = w.f64;
  const i = w.i32;
  const o = HEAD_OUT >> 3;
  // The spans follow the four numbers: i32s from HEAD_OUT + 32.
  const s = (HEAD_OUT + 32) >> 2;
  const sha = (i[s + 8] as number) - IN;
  const head: HeadFields = {
    segmentSeq: f[o] as number,
    frameSeq: f[o + 1] as number,
    entrySeq: f[o + 2] as number,
    entryId: bytes.toString("latin1", (i[s] as number) - IN, (i[s + 1] as number) - IN),
    entryType: bytes.toString("latin1", (i[s + 4] as number) - IN, (i[s + 5] as number) - IN),
    payloadSha256: bytes.toString("latin1", sha, sha + 64),
    payloadBytes: f[o + 3] as number,
    payloadStart: at + 11,
  };
  const parentStart = i[s + 2] as number;
  if (parentStart !== 0) head.parentEntryId = bytes.toString("latin1", parentStart - IN, (i[s + 3] as number) - IN);
  if (withTimestamp) head.timestamp = bytes.toString("latin1", (i[s + 6] as number) - IN, (i[s + 7] as number) - IN);
  return head;
}
