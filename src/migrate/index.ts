// Migration of JSONL sessions to V2 sidecars: status, dry run, migrate, verify, rollback
// and recover, for one file or a whole archive. See SPEC.md section 14.
export type { MigrationState, MigrationAction, MigrationStatus, LastMigration, LastHistory } from "./state.js";
export { MIGRATION_STATES } from "./state.js";
export { migrationStatus, type StatusOptions } from "./status.js";
export { migrateDryRun, MIGRATE_COST_FACTOR, MIGRATE_FIXED_MS, type DryRunOptions, type DryRunResult } from "./dry-run.js";
export { migrateJsonlToV2, type MigrateResult } from "./migrate.js";
export type { MigrateOptions, MigrationPlanOptions, PhaseContext } from "./options.js";
export { verifyV2AgainstJsonl, type VerifyOptions, type VerifyReport, type VerifyMismatch, type VerifyMismatchCode } from "./verify.js";
export { rollbackV2Sidecar, type SidecarRollbackOptions, type SidecarRollbackResult } from "./rollback.js";
export { recoverPartialMigration, type RecoverOptions, type RecoverResult } from "./recover.js";
export { FramePlanner, EMPTY_START, type FramePlan, type PlannedSegment, type PlanStart } from "./plan.js";
export { QUARANTINE_SCHEMA, readQuarantine, type QuarantineRecord, type QuarantineRead } from "./quarantine.js";
export { HISTORY_SCHEMA, readHistory, type HistoryRecord, type HistoryRead, type HistoryAction } from "./history.js";
export { sessionPaths, findLeftovers, QUARANTINE_FILE, HISTORY_SUFFIX, type SessionPaths, type Leftover, type LeftoverKind } from "./names.js";
export type { InvalidLine } from "./source.js";
export { discoverSessionFiles, type DiscoveredFile, type DiscoverOptions } from "./archive.js";
export { ARCHIVE_OPERATIONS, runOperation, type ArchiveOperation, type OperationOptions, type OperationResult, type FileOutcome } from "./operations.js";
export { runArchive, workerAvailable, type ArchiveRunOptions, type ArchiveProgress, type ArchiveSummary } from "./runner.js";
