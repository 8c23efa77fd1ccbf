import type { Freshness, MigrationErrorClass, MigrationOutcome, MigrationPhase } from "../v2/index.js";
import type { HistoryAction } from "./history.js";
import type { LeftoverKind } from "./names.js";

/**
 * Where a JSONL session stands in its migration to a V2 sidecar (SPEC 14.1):
 *
 * - `unmigrated`: no sidecar (and nothing left of one);
 * - `migrated`: a sidecar that holds every complete entry line of the JSONL (fresh);
 * - `stale`: a sidecar that is behind the JSONL (lines appended: a sync frames them) or
 *   whose source no longer matches (rewritten, or no fingerprint: a rebuild is needed);
 * - `partial`: an interrupted migration or sync: staging leftovers, no index, a torn
 *   index line, frames after the last indexed one, a migration without its last event;
 * - `corrupt`: damage that is not the trace of an interruption (`reason` says what).
 */
export type MigrationState = "unmigrated" | "migrated" | "stale" | "partial" | "corrupt";
export const MIGRATION_STATES: readonly MigrationState[] = ["unmigrated", "migrated", "stale", "partial", "corrupt"];

/** What `migrate` does with a file in a given state. */
export type MigrationAction =
  /** Build a new sidecar (staged, verified, renamed into place). */
  | "create"
  /** Frame the lines appended to the JSONL since the last sync. */
  | "sync"
  /** Build a new sidecar from the JSONL and swap it for the stale one. */
  | "rebuild"
  /** Nothing: the sidecar is fresh. */
  | "none"
  /** Nothing until `recover` has dealt with the interruption or damage. */
  | "recover";

export interface LastMigration {
  migrationId: string;
  /** The last phase recorded. */
  phase: MigrationPhase;
  outcome: MigrationOutcome;
  errorClass?: MigrationErrorClass;
  at: string;
}

export interface LastHistory {
  action: HistoryAction;
  at: string;
  outcome: MigrationOutcome;
  message: string;
  migrationId: string;
}

export interface MigrationStatus {
  file: string;
  root: string;
  state: MigrationState;
  /** One line: why this state. */
  reason: string;
  /** What `migrate` would do now. */
  action: MigrationAction;
  /** JSONL header version as found (migrate upgrades 1 and 2 to 3 first). */
  version: number;
  sessionId: string;
  /** Size of the JSONL. */
  bytes: number;
  /** A migration, rollback or recover holds the migration lock right now. */
  inProgress: boolean;
  leftovers: { kind: LeftoverKind; path: string }[];
  /** The sidecar, when there is one with an index. */
  sidecar?: {
    entries: number;
    segments: number;
    /** Frame bytes (sum of the rows' byteLength). */
    bytes: number;
    freshness: Freshness;
    /** The chain the manifest records. */
    chainHash?: string;
    checkpoints: number;
    ledgerEvents: number;
    quarantinedLines: number;
  };
  /** The sidecar ledger's last migration. */
  lastMigration?: LastMigration;
  /** The last record of `<stem>.v2.history.ndjson` (e.g. a rollback). */
  history?: LastHistory;
}
