import { isLowerSha256Hex } from "./hash.js";
import { checkpointRelPath } from "./layout.js";
import type { Decoded } from "./frame.js";

/**
 * Checkpoint codec: `checkpoints/<16-digit seq>.json`, pretty-printed JSON (two-space
 * indent, no final newline, as serde_json's to_vec_pretty writes it), keys in this order.
 */

export const CHECKPOINT_SCHEMA = "pi.session_store_v2.checkpoint.v1";
/** The reasons the Rust port accepts. */
export const CHECKPOINT_REASONS = ["periodic", "manual", "pre_migration", "post_migration", "recovery"] as const;
export type CheckpointReason = (typeof CHECKPOINT_REASONS)[number];

export interface Checkpoint {
  schema: string;
  checkpointSeq: number;
  /** When it was taken (RFC 3339, ms, UTC). */
  at: string;
  headEntrySeq: number;
  headEntryId: string;
  /** Always `checkpoints/<16-digit checkpointSeq>.json`. */
  snapshotRef: string;
  /** Always 0: the store never compacts frames away. */
  compactedBeforeEntrySeq: number;
  /** The chain value after headEntrySeq. */
  chainHash: string;
  reason: string;
}

const KEYS = ["schema", "checkpointSeq", "at", "headEntrySeq", "headEntryId", "snapshotRef", "compactedBeforeEntrySeq", "chainHash", "reason"];

export function makeCheckpoint(c: Omit<Checkpoint, "schema" | "snapshotRef" | "compactedBeforeEntrySeq">): Checkpoint {
  return {
    schema: CHECKPOINT_SCHEMA,
    checkpointSeq: c.checkpointSeq,
    at: c.at,
    headEntrySeq: c.headEntrySeq,
    headEntryId: c.headEntryId,
    snapshotRef: checkpointRelPath(c.checkpointSeq),
    compactedBeforeEntrySeq: 0,
    chainHash: c.chainHash,
    reason: c.reason,
  };
}

export function encodeCheckpoint(c: Checkpoint): string {
  const ordered: Record<string, unknown> = {};
  for (const k of KEYS) ordered[k] = c[k as keyof Checkpoint];
  return JSON.stringify(ordered, null, 2);
}

export function isCheckpointReason(r: unknown): r is CheckpointReason {
  return typeof r === "string" && (CHECKPOINT_REASONS as readonly string[]).includes(r);
}

/** Decode a checkpoint file; `expectedSeq` is the sequence its file name says. */
export function decodeCheckpoint(text: string, expectedSeq: number): Decoded<Checkpoint> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `checkpoint is not valid JSON: ${(err as Error).message}` };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: "checkpoint is not a JSON object" };
  const c = o as Record<string, unknown>;
  for (const k of Object.keys(c)) if (!KEYS.includes(k)) return { ok: false, message: `unknown checkpoint field ${JSON.stringify(k)}` };
  if (c.schema !== CHECKPOINT_SCHEMA) return { ok: false, message: `unsupported checkpoint schema ${JSON.stringify(c.schema)}` };
  if (c.checkpointSeq !== expectedSeq) return { ok: false, message: `checkpointSeq ${JSON.stringify(c.checkpointSeq)} does not match the file name (${expectedSeq})` };
  if (typeof c.at !== "string" || Number.isNaN(Date.parse(c.at))) return { ok: false, message: "checkpoint at is not a timestamp" };
  if (typeof c.headEntrySeq !== "number" || !Number.isSafeInteger(c.headEntrySeq) || c.headEntrySeq < 1) {
    return { ok: false, message: "checkpoint headEntrySeq is not a positive integer" };
  }
  if (typeof c.headEntryId !== "string" || c.headEntryId.length === 0) return { ok: false, message: "checkpoint headEntryId is not a non-empty string" };
  if (c.snapshotRef !== checkpointRelPath(expectedSeq)) return { ok: false, message: `checkpoint snapshotRef ${JSON.stringify(c.snapshotRef)} is not ${checkpointRelPath(expectedSeq)}` };
  if (typeof c.compactedBeforeEntrySeq !== "number" || !Number.isSafeInteger(c.compactedBeforeEntrySeq) || c.compactedBeforeEntrySeq < 0 || c.compactedBeforeEntrySeq > c.headEntrySeq) {
    return { ok: false, message: "checkpoint compactedBeforeEntrySeq is out of range" };
  }
  if (!isLowerSha256Hex(c.chainHash)) return { ok: false, message: "checkpoint chainHash is not 64 lowercase hex digits" };
  if (!isCheckpointReason(c.reason)) return { ok: false, message: `unsupported checkpoint reason ${JSON.stringify(c.reason)}` };
  return { ok: true, value: c as unknown as Checkpoint };
}
