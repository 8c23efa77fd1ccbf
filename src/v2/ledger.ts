import type { Decoded } from "./frame.js";

/**
 * Migration ledger codec: `migrations/ledger.jsonl`, one compact JSON event per line,
 * keys in this order; `errorClass` is omitted when there is none. Append-only.
 */

export const MIGRATION_EVENT_SCHEMA = "pi.session_store_v2.migration_event.v1";
export const MIGRATION_PHASES = ["planned", "staging_copy", "integrity_check", "cutover_commit", "rollback", "completed", "failed"] as const;
export const MIGRATION_OUTCOMES = ["ok", "recoverable_error", "fatal_error"] as const;
export const MIGRATION_ERROR_CLASSES = ["integrity_mismatch", "index_corruption", "io_failure", "atomicity_violation"] as const;
export const MIGRATION_FORMATS = ["jsonl_v3", "native_v2", "sqlite_v1"] as const;

export type MigrationPhase = (typeof MIGRATION_PHASES)[number];
export type MigrationOutcome = (typeof MIGRATION_OUTCOMES)[number];
export type MigrationErrorClass = (typeof MIGRATION_ERROR_CLASSES)[number];
export type MigrationFormat = (typeof MIGRATION_FORMATS)[number];

export interface MigrationVerification {
  entryCountMatch: boolean;
  hashChainMatch: boolean;
  indexConsistent: boolean;
}

export interface MigrationEvent {
  schema: string;
  /** A UUID. */
  migrationId: string;
  phase: MigrationPhase;
  at: string;
  sourcePath: string;
  targetPath: string;
  sourceFormat: MigrationFormat;
  targetFormat: MigrationFormat;
  verification: MigrationVerification;
  outcome: MigrationOutcome;
  errorClass?: MigrationErrorClass;
  /** 8 to 128 characters of [A-Za-z0-9._:-]. */
  correlationId: string;
}

const KEYS = ["schema", "migrationId", "phase", "at", "sourcePath", "targetPath", "sourceFormat", "targetFormat", "verification", "outcome", "errorClass", "correlationId"];
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const CORRELATION = /^[A-Za-z0-9._:-]{8,128}$/;

export function isUuid(s: unknown): s is string {
  return typeof s === "string" && UUID.test(s);
}

/** One ledger line, "\n" included, keys in the canonical order. */
export function encodeLedgerEvent(e: MigrationEvent): string {
  const o: Record<string, unknown> = {
    schema: e.schema,
    migrationId: e.migrationId,
    phase: e.phase,
    at: e.at,
    sourcePath: e.sourcePath,
    targetPath: e.targetPath,
    sourceFormat: e.sourceFormat,
    targetFormat: e.targetFormat,
    verification: {
      entryCountMatch: e.verification.entryCountMatch,
      hashChainMatch: e.verification.hashChainMatch,
      indexConsistent: e.verification.indexConsistent,
    },
    outcome: e.outcome,
  };
  if (e.errorClass !== undefined) o.errorClass = e.errorClass;
  o.correlationId = e.correlationId;
  return `${JSON.stringify(o)}\n`;
}

/** Check an event against the contract the Rust port enforces; the message says what fails. */
export function checkLedgerEvent(o: unknown): Decoded<MigrationEvent> {
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: "ledger event is not a JSON object" };
  const e = o as Record<string, unknown>;
  for (const k of Object.keys(e)) if (!KEYS.includes(k)) return { ok: false, message: `unknown ledger event field ${JSON.stringify(k)}` };
  if (e.schema !== MIGRATION_EVENT_SCHEMA) return { ok: false, message: `unsupported ledger event schema ${JSON.stringify(e.schema)}` };
  if (!isUuid(e.migrationId)) return { ok: false, message: "migrationId is not a UUID" };
  if (!(MIGRATION_PHASES as readonly unknown[]).includes(e.phase)) return { ok: false, message: `unsupported phase ${JSON.stringify(e.phase)}` };
  if (typeof e.at !== "string" || Number.isNaN(Date.parse(e.at))) return { ok: false, message: "ledger event at is not a timestamp" };
  if (typeof e.sourcePath !== "string" || e.sourcePath.length === 0 || typeof e.targetPath !== "string" || e.targetPath.length === 0) {
    return { ok: false, message: "sourcePath and targetPath must be non-empty strings" };
  }
  for (const k of ["sourceFormat", "targetFormat"] as const) {
    if (!(MIGRATION_FORMATS as readonly unknown[]).includes(e[k])) return { ok: false, message: `unsupported ${k} ${JSON.stringify(e[k])}` };
  }
  const v = e.verification as Record<string, unknown> | null;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return { ok: false, message: "verification is not an object" };
  for (const k of Object.keys(v)) if (!["entryCountMatch", "hashChainMatch", "indexConsistent"].includes(k)) return { ok: false, message: `unknown verification field ${JSON.stringify(k)}` };
  for (const k of ["entryCountMatch", "hashChainMatch", "indexConsistent"]) if (typeof v[k] !== "boolean") return { ok: false, message: `verification.${k} is not a boolean` };
  if (!(MIGRATION_OUTCOMES as readonly unknown[]).includes(e.outcome)) return { ok: false, message: `unsupported outcome ${JSON.stringify(e.outcome)}` };
  if (e.errorClass !== undefined && !(MIGRATION_ERROR_CLASSES as readonly unknown[]).includes(e.errorClass)) {
    return { ok: false, message: `unsupported errorClass ${JSON.stringify(e.errorClass)}` };
  }
  if (typeof e.correlationId !== "string" || !CORRELATION.test(e.correlationId)) return { ok: false, message: "correlationId is not 8-128 characters of [A-Za-z0-9._:-]" };
  return { ok: true, value: e as unknown as MigrationEvent };
}

export function decodeLedgerEvent(line: string): Decoded<MigrationEvent> {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (err) {
    return { ok: false, message: `ledger line is not valid JSON: ${(err as Error).message}` };
  }
  return checkLedgerEvent(o);
}
