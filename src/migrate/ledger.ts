import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import {
  LEDGER_FILE,
  MIGRATION_EVENT_SCHEMA,
  checkLedgerEvent,
  decodeLedgerEvent,
  encodeLedgerEvent,
  type MigrationErrorClass,
  type MigrationEvent,
  type MigrationOutcome,
  type MigrationPhase,
  type MigrationVerification,
} from "../v2/index.js";
import { appendDurably, exists } from "./fs.js";

/**
 * Ledger events of a migration (SPEC 11.8 / 14.3). The sidecar's own ledger is appended
 * with the v2 layer's appendMigrationEvent, which takes the sidecar's lock; a staging
 * directory is private to one migration, so its ledger is written here without a lock.
 */

export const NO_VERIFICATION: MigrationVerification = { entryCountMatch: false, hashChainMatch: false, indexConsistent: false };

export interface EventContext {
  migrationId: string;
  sourcePath: string;
  targetPath: string;
  /** Correlates the events of one run (8-128 of [A-Za-z0-9._:-]). */
  correlationId: string;
  now: () => Date;
}

export function makeEvent(
  ctx: EventContext,
  phase: MigrationPhase,
  outcome: MigrationOutcome = "ok",
  verification: MigrationVerification = NO_VERIFICATION,
  errorClass?: MigrationErrorClass,
): MigrationEvent {
  const e: MigrationEvent = {
    schema: MIGRATION_EVENT_SCHEMA,
    migrationId: ctx.migrationId,
    phase,
    at: ctx.now().toISOString(),
    sourcePath: ctx.sourcePath,
    targetPath: ctx.targetPath,
    sourceFormat: "jsonl_v3",
    targetFormat: "native_v2",
    verification: { ...verification },
    outcome,
    correlationId: ctx.correlationId,
  };
  if (errorClass) e.errorClass = errorClass;
  return e;
}

/** Append events to the ledger of a root this process owns (a staging directory). */
export async function appendOwnLedger(root: string, events: readonly MigrationEvent[]): Promise<void> {
  const path = join(root, ...LEDGER_FILE.split("/"));
  for (const e of events) {
    const c = checkLedgerEvent(JSON.parse(encodeLedgerEvent(e)));
    if (!c.ok) throw new SessfmtError("E_INVALID_ARGUMENT", `migration event refused: ${c.message}`, { file: path });
  }
  await appendDurably(path, events.map(encodeLedgerEvent).join(""));
}

/** The ledger events of a root (lines that do not decode are skipped; validate reports them). */
export async function readLedgerEvents(root: string): Promise<{ events: MigrationEvent[]; damaged: number; raw: Buffer | undefined }> {
  const path = join(root, ...LEDGER_FILE.split("/"));
  if (!(await exists(path))) return { events: [], damaged: 0, raw: undefined };
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (err) {
    throw ioError(err, path, "cannot read the ledger");
  }
  const events: MigrationEvent[] = [];
  let damaged = 0;
  const lines = raw.toString("utf8").split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    if (i === lines.length - 1) {
      damaged++;
      return;
    }
    const d = decodeLedgerEvent(line.replace(/\r$/, ""));
    if (d.ok) events.push(d.value);
    else damaged++;
  });
  return { events, damaged, raw };
}

/** The events of the last migration in a ledger (by migrationId of the last event), in order. */
export function lastMigration(events: readonly MigrationEvent[]): MigrationEvent[] {
  const last = events[events.length - 1];
  if (!last) return [];
  return events.filter((e) => e.migrationId === last.migrationId);
}

/** Phases that end a migration's record. */
export function isTerminal(phase: MigrationPhase): boolean {
  return phase === "completed" || phase === "failed" || phase === "rollback";
}

/** How an error maps to the ledger's errorClass. */
export function errorClassOf(err: unknown): MigrationErrorClass {
  if (err instanceof SessfmtError) {
    switch (err.code) {
      case "E_VERIFY_MISMATCH":
      case "E_SOURCE_CHANGED":
      case "E_INVALID_LINES":
        return "integrity_mismatch";
      case "E_SIDECAR_CORRUPT":
        return "index_corruption";
      case "E_EXISTS":
      case "E_LOCK_COMPROMISED":
        return "atomicity_violation";
      default:
        return "io_failure";
    }
  }
  return "io_failure";
}
