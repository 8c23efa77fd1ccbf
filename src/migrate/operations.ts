import { SessfmtError, isSessfmtError } from "../format/errors.js";
import type { FreshnessCheck, MigrationPhase } from "../v2/index.js";
import { migrateDryRun, type DryRunResult } from "./dry-run.js";
import { migrateJsonlToV2, type MigrateResult } from "./migrate.js";
import { recoverPartialMigration, type RecoverResult } from "./recover.js";
import { rollbackV2Sidecar, type SidecarRollbackResult } from "./rollback.js";
import { migrationStatus } from "./status.js";
import type { MigrationStatus } from "./state.js";
import { verifyV2AgainstJsonl, type VerifyReport } from "./verify.js";

/**
 * The per-file operations an archive run applies, by name, with options that survive a
 * trip to a worker thread (plain data only: no functions, no signals).
 */

export const ARCHIVE_OPERATIONS = ["status", "dry-run", "migrate", "verify", "rollback", "recover"] as const;
export type ArchiveOperation = (typeof ARCHIVE_OPERATIONS)[number];

export interface OperationOptions {
  skipInvalid?: boolean;
  segmentBytes?: number;
  upgrade?: boolean;
  check?: FreshnessCheck;
  reMigrate?: boolean;
  maxMismatches?: number;
  lockTimeoutMs?: number;
  /** Test hook of migrate (see MigrateOptions.failAt). */
  failAt?: MigrationPhase;
  /**
   * Whether verify and migrate's integrity check may validate in a second thread. An
   * archive run with more than one job sets "never": its jobs already use the cores.
   */
  validationThread?: "auto" | "never";
}

export type OperationResult = MigrationStatus | DryRunResult | MigrateResult | VerifyReport | SidecarRollbackResult | RecoverResult;

export interface FileOutcome {
  file: string;
  /** Size of the JSONL when the run found it. */
  bytes: number;
  /** The operation succeeded for this file (see SPEC 14.8 for what counts per command). */
  ok: boolean;
  /** What happened, in one word: the state, the action, "verified", "mismatch", "failed", ... */
  outcome: string;
  result?: OperationResult;
  error?: { code: string; message: string };
  durationMs: number;
}

/** Run one operation on one file; errors become a failed outcome, never a throw. */
export async function runOperation(
  op: ArchiveOperation,
  file: string,
  bytes: number,
  options: OperationOptions,
  signal?: AbortSignal,
  onProgress?: (done: number, total: number) => void,
): Promise<FileOutcome> {
  const started = Date.now();
  const common = { ...(signal ? { signal } : {}), ...(onProgress ? { onProgress } : {}) };
  const done = (ok: boolean, outcome: string, result: OperationResult): FileOutcome => ({ file, bytes, ok, outcome, result, durationMs: Date.now() - started });
  try {
    switch (op) {
      case "status": {
        const r = await migrationStatus(file, { ...(options.check ? { check: options.check } : {}), ...(signal ? { signal } : {}) });
        return done(r.state !== "partial" && r.state !== "corrupt", r.state, r);
      }
      case "dry-run": {
        const r = await migrateDryRun(file, { ...planOptions(options), ...common });
        return done(r.wouldSucceed, !r.wouldSucceed ? "refused" : r.action === "none" ? "unchanged" : r.action, r);
      }
      case "migrate": {
        const r = await migrateJsonlToV2(file, { ...planOptions(options), ...common, ...(options.failAt ? { failAt: options.failAt } : {}), ...lockOptions(options), ...threadOptions(options) });
        return done(true, r.action === "none" ? "unchanged" : r.action, r);
      }
      case "verify": {
        const r = await verifyV2AgainstJsonl(file, { ...(options.maxMismatches !== undefined ? { maxMismatches: options.maxMismatches } : {}), ...common, ...threadOptions(options) });
        return done(r.ok, r.ok ? "verified" : "mismatch", r);
      }
      case "rollback": {
        const r = await rollbackV2Sidecar(file, { ...(signal ? { signal } : {}), ...lockOptions(options) });
        return done(true, r.removed ? "removed" : "nothing", r);
      }
      case "recover": {
        const r = await recoverPartialMigration(file, { ...planOptions(options), ...common, ...(options.reMigrate ? { reMigrate: true } : {}), ...lockOptions(options) });
        return done(r.ok, r.after, r);
      }
    }
  } catch (err) {
    const e = isSessfmtError(err) ? err : new SessfmtError("E_IO", `internal error: ${(err as Error)?.message ?? String(err)}`, { file, cause: err });
    return { file, bytes, ok: false, outcome: "failed", error: { code: e.code, message: e.message }, durationMs: Date.now() - started };
  }
}

function planOptions(o: OperationOptions) {
  return {
    ...(o.skipInvalid ? { skipInvalid: true } : {}),
    ...(o.segmentBytes !== undefined ? { segmentBytes: o.segmentBytes } : {}),
    ...(o.upgrade === false ? { upgrade: false } : {}),
    ...(o.check ? { check: o.check } : {}),
  };
}

function threadOptions(o: OperationOptions) {
  return o.validationThread ? { validationThread: o.validationThread } : {};
}

function lockOptions(o: OperationOptions) {
  return o.lockTimeoutMs !== undefined ? { lockTimeoutMs: o.lockTimeoutMs } : {};
}
