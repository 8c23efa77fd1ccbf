import { randomUUID } from "node:crypto";
import { SessfmtError, isSessfmtError } from "../format/errors.js";
import type { DiagnosticCode } from "../format/diagnostics.js";
import { withLock } from "../format/lock.js";
import { upgradeSession } from "../format/upgrade.js";
import {
  appendMigrationEvent,
  listCheckpoints,
  readFingerprint,
  syncSidecar,
  type MigrationEvent,
  type MigrationPhase,
  type MigrationVerification,
} from "../v2/index.js";
import { checkContainment } from "./containment.js";
import { appendHistory } from "./history.js";
import { appendOwnLedger, errorClassOf, makeEvent, NO_VERIFICATION, type EventContext } from "./ledger.js";
import { stagingPath, sessionPaths, type SessionPaths } from "./names.js";
import { checkSegmentBytes, invalidLinesError, progressStep, PROGRESS_TOTAL, type MigrateOptions, type PhaseContext } from "./options.js";
import { appendQuarantine, quarantineRecords } from "./quarantine.js";
import { indexLines } from "./sidecar-read.js";
import { buildStaging, carryCheckpoints, carryLedger, commitNew, discardStaging, swapIn } from "./staging.js";
import { statusDetail, type StatusDetail } from "./status.js";
import { scanSource, type InvalidLine, type SourceScan } from "./source.js";
import type { MigrationState } from "./state.js";
import { prestartValidationThread, threadedValidationPays, validationThreadAvailable } from "./validate-thread.js";
import { verifyV2AgainstJsonl, type VerifyReport } from "./verify.js";

export interface MigrateResult {
  file: string;
  root: string;
  /** What was done: a new sidecar, new lines framed, a stale sidecar replaced, or nothing. */
  action: "created" | "synced" | "rebuilt" | "none";
  /** State before and after. */
  before: MigrationState;
  after: MigrationState;
  migrationId?: string;
  /** The JSONL was a version 1/2 file and was upgraded first (its original kept at backupPath). */
  upgraded?: { fromVersion: number; backupPath?: string };
  /** Entries in the sidecar afterwards, and how many this run framed. */
  entries: number;
  entriesAdded: number;
  segments: number;
  /** Frame bytes in the sidecar afterwards. */
  bytes: number;
  chainHash: string;
  /** Invalid lines this run put in the quarantine. */
  quarantined: InvalidLine[];
  /** A last line without "\n" that is not an entry yet: left for the next sync. */
  tornTailLine?: number;
  /** Open diagnostics of the JSONL, counted by code. */
  diagnostics: Partial<Record<DiagnosticCode, number>>;
  /** The integrity check's verdict (absent for "none"). */
  verification?: MigrationVerification;
  /** Ledger phases recorded, in order. */
  phases: MigrationPhase[];
  /** A rebuild's treatment of the old sidecar's checkpoints. */
  checkpoints?: { kept: number[]; dropped: number[] };
  durationMs: number;
}

/**
 * Migrate a JSONL session to its V2 sidecar (SPEC 14.2): create one (staged, verified,
 * renamed into place), sync a stale one, rebuild one whose source changed, or leave a
 * fresh one alone. Every step is recorded in the sidecar's ledger; a failure before the
 * cutover leaves the sidecar (or its absence) as it was, with the failure recorded.
 * Partial and corrupt states are refused: `recover` deals with those.
 */
export async function migrateJsonlToV2(file: string, opts: MigrateOptions = {}): Promise<MigrateResult> {
  checkSegmentBytes(opts.segmentBytes);
  const p = sessionPaths(file);
  return withLock(p.migrationLockTarget, () => migrateLocked(p, opts), {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}),
  });
}

/** migrateJsonlToV2 for a caller that holds the migration lock (recover --re-migrate). */
export async function migrateLocked(p: SessionPaths, opts: MigrateOptions): Promise<MigrateResult> {
  const started = Date.now();
  let d = await statusDetail(p.file, { check: opts.check ?? "full", ownsLock: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  const before = d.status.state;
  switch (d.status.action) {
    case "recover":
      throw new SessfmtError("E_MIGRATION_PARTIAL", `${d.status.state}: ${d.status.reason}; run "sessfmt recover" first`, { file: p.file, data: { status: d.status } });
    case "none":
      return {
        file: p.file,
        root: p.root,
        action: "none",
        before,
        after: before,
        entries: d.facts.rows.length,
        entriesAdded: 0,
        segments: d.facts.segments,
        bytes: d.facts.frameBytes,
        chainHash: d.facts.fingerprint.state === "ok" ? d.facts.fingerprint.fingerprint.chainHash : "",
        quarantined: [],
        diagnostics: {},
        phases: [],
        durationMs: Date.now() - started,
      };
  }
  let src = await scanSource(p.file, { ...(opts.signal ? { signal: opts.signal } : {}), ...(progressStep(opts, 0, 200) ? { onProgress: progressStep(opts, 0, 200) } : {}) });
  let upgraded: MigrateResult["upgraded"];
  if (src.version < 3) {
    if (opts.upgrade === false) {
      throw new SessfmtError("E_UNSUPPORTED_VERSION", `session version ${src.version}: the V2 sidecar holds version 3 lines; migrate without --no-upgrade upgrades the file first (its original kept as .bak)`, { file: p.file });
    }
    // Refuse before rewriting anything: a file that will not migrate is not upgraded either.
    if (src.invalid.length > 0 && !opts.skipInvalid) throw invalidLinesError(p.file, src.invalid);
    const up = await upgradeSession(p.file, { backup: true, ...(opts.signal ? { signal: opts.signal } : {}) });
    upgraded = { fromVersion: src.version, ...(up.backupPath ? { backupPath: up.backupPath } : {}) };
    src = await scanSource(p.file, opts.signal ? { signal: opts.signal } : {});
    d = await statusDetail(p.file, { check: "full", ownsLock: true });
  }
  const action = d.status.action;
  let result: MigrateResult;
  if (action === "sync") result = await syncPath(p, d, src, opts, started);
  else {
    if (action === "rebuild") {
      const c = await checkContainment(p.root, src, opts.signal);
      if (!c.proven) {
        throw new SessfmtError(
          "E_SIDECAR_STALE",
          `the sidecar is stale and holds data the JSONL does not (${c.reason}); nothing was changed. Roll it back (sessfmt rollback) to discard it, or export it first`,
          { file: p.root, data: { containment: c } },
        );
      }
    }
    if (src.invalid.length > 0 && !opts.skipInvalid) throw invalidLinesError(p.file, src.invalid);
    result = await stagedPath(p, src, opts, action === "rebuild" ? "rebuild" : "create", started);
  }
  if (upgraded) result.upgraded = upgraded;
  result.before = before;
  return result;
}

function injected(phase: MigrationPhase, file: string): SessfmtError {
  return new SessfmtError("E_IO", `injected failure before the ${phase} phase (failAt test hook)`, { file });
}

function eventContext(p: SessionPaths, opts: MigrateOptions, migrationId: string): EventContext {
  return { migrationId, sourcePath: p.file, targetPath: p.root, correlationId: opts.correlationId ?? `sessfmt:${migrationId}`, now: opts.now ?? (() => new Date()) };
}

function withMigration(err: unknown, migrationId: string, phase: MigrationPhase): unknown {
  if (isSessfmtError(err) && (err.data === undefined || (typeof err.data === "object" && err.data !== null))) {
    (err as { data: unknown }).data = { ...((err.data as object | undefined) ?? {}), migrationId, failedPhase: phase };
  }
  return err;
}

function baseResult(p: SessionPaths, src: SourceScan, migrationId: string, started: number): MigrateResult {
  const result: MigrateResult = {
    file: p.file,
    root: p.root,
    action: "none",
    before: "unmigrated",
    after: "migrated",
    migrationId,
    entries: 0,
    entriesAdded: 0,
    segments: 0,
    bytes: 0,
    chainHash: "",
    quarantined: [],
    diagnostics: src.session.diagnostics.summary(),
    phases: [],
    durationMs: Date.now() - started,
  };
  if (src.tornTail) result.tornTailLine = src.tornTail.line;
  return result;
}

/** Create or rebuild: build in staging, verify, cut over with one rename. */
async function stagedPath(p: SessionPaths, src: SourceScan, opts: MigrateOptions, kind: "create" | "rebuild", started: number): Promise<MigrateResult> {
  const migrationId = randomUUID();
  const ctx = eventContext(p, opts, migrationId);
  const staging = stagingPath(p, migrationId);
  const phaseCtx: PhaseContext = { file: p.file, root: p.root, migrationId, staging };
  const events: MigrationEvent[] = [];
  let current: MigrationPhase = "planned";
  let stagingMade = false;
  let verification = NO_VERIFICATION;
  const enter = async (phase: MigrationPhase) => {
    current = phase;
    if (opts.failAt === phase) throw injected(phase, p.file);
    await opts.onPhase?.(phase, phaseCtx);
  };
  const result = baseResult(p, src, migrationId, started);
  let report: VerifyReport | undefined;
  // The integrity check's validation thread, started now: its start-up overlaps the build.
  const mode = opts.validationThread ?? "auto";
  const idle = (mode === "always" && validationThreadAvailable()) || (mode === "auto" && threadedValidationPays(src.size)) ? prestartValidationThread() : undefined;
  try {
    await enter("planned");
    events.push(makeEvent(ctx, "planned"));
    await enter("staging_copy");
    stagingMade = true;
    const invalid = opts.skipInvalid ? src.invalid : [];
    const onBuild = progressStep(opts, 200, 600);
    const staged = await buildStaging(p.file, staging, invalid, {
      source: src,
      now: ctx.now,
      ...(opts.segmentBytes !== undefined ? { segmentBytes: opts.segmentBytes } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onBuild ? { onProgress: onBuild } : {}),
    });
    if (staged.built.entries !== src.records.length) {
      throw new SessfmtError("E_SOURCE_CHANGED", `the JSONL changed while it was read: ${src.records.length} entries planned, ${staged.built.entries} built`, { file: p.file });
    }
    if (kind === "rebuild") await carryLedger(p.root, staging);
    events.push(makeEvent(ctx, "staging_copy"));
    await appendOwnLedger(staging, events);
    result.quarantined = [...invalid];

    await enter("integrity_check");
    const old = kind === "rebuild" ? (await listCheckpoints(p.root).catch(() => ({ checkpoints: [] }))).checkpoints : [];
    const onVerify = progressStep(opts, 600, PROGRESS_TOTAL);
    // The check reuses the scan the build framed and the line hashes the build computed,
    // but reads the staged frames and the JSONL lines again and compares them byte for
    // byte (with every CRC), so a frame written wrong is still found.
    report = await verifyV2AgainstJsonl(p.file, {
      root: staging,
      source: src,
      lineHashes: staged.built.lineHashes,
      chainsAt: old.map((c) => c.headEntrySeq),
      ...(opts.validationThread ? { validationThread: opts.validationThread } : {}),
      ...(idle ? { idleThread: idle } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(onVerify ? { onProgress: onVerify } : {}),
    });
    await idle?.stop();
    verification = report.verification;
    if (!report.ok || report.entries.sidecar !== staged.built.entries) {
      const e = makeEvent(ctx, "integrity_check", "fatal_error", verification, "integrity_mismatch");
      events.push(e);
      await appendOwnLedger(staging, [e]).catch(() => undefined);
      const first = report.mismatches[0]?.message ?? report.validation.problems[0]?.message ?? "?";
      throw new SessfmtError("E_VERIFY_MISMATCH", `the staged sidecar does not match the JSONL (${report.mismatchCount} mismatches, ${report.validation.errors} validation errors; first: ${first}); nothing was changed`, {
        file: p.file,
        data: { verify: report },
      });
    }
    const ic = makeEvent(ctx, "integrity_check", "ok", verification);
    events.push(ic);
    await appendOwnLedger(staging, [ic]);
    if (kind === "rebuild") {
      const ids = new Map<number, string>();
      const wanted = new Set(old.map((c) => c.headEntrySeq));
      for await (const l of indexLines(staging)) if (l.ok && wanted.has(l.row.entrySeq)) ids.set(l.row.entrySeq, l.row.entryId);
      result.checkpoints = await carryCheckpoints(p.root, staging, report.chainsAt, ids);
    }

    await enter("cutover_commit");
    if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "migration aborted before its cutover; nothing was changed", { file: p.file, cause: opts.signal.reason });
    // Recorded inside the staging directory, so it becomes part of the sidecar with the rename.
    const cc = makeEvent(ctx, "cutover_commit", "ok", verification);
    events.push(cc);
    await appendOwnLedger(staging, [cc]);
    if (kind === "create") await commitNew(p, staging);
    else await swapIn(p, staging, migrationId, opts.signal);
    stagingMade = false;
    result.entries = staged.built.entries;
    result.entriesAdded = staged.built.entries;
    result.segments = staged.built.segments;
    result.bytes = staged.built.bytes;
    result.chainHash = staged.built.chainHash;
  } catch (err) {
    await idle?.stop();
    const failed = makeEvent(ctx, "failed", "recoverable_error", verification, errorClassOf(err));
    if (stagingMade) await discardStaging(p, staging).catch(() => undefined);
    try {
      if (kind === "create") {
        await appendHistory(p.history, {
          schema: "sessfmt.migration_history.v1",
          at: failed.at,
          action: "migration_failed",
          migrationId,
          sourcePath: p.file,
          targetPath: p.root,
          outcome: "recoverable_error",
          errorClass: failed.errorClass ?? "io_failure",
          message: `failed in its ${current} phase: ${(err as Error).message}`,
          ledger: [...events, failed],
        });
      } else {
        // The old sidecar is still in place: its ledger records the attempt.
        for (const e of [...events, failed]) await appendMigrationEvent(p.root, e);
      }
    } catch {
      // The original error matters more; a missing record is visible as a missing record.
    }
    throw withMigration(err, migrationId, current);
  }
  result.phases = events.map((e) => e.phase);
  // The sidecar is in place and verified. A failure from here on leaves a migration
  // without its completed event: status reports it as partial, recover finishes it.
  try {
    await enter("completed");
    await appendMigrationEvent(p.root, makeEvent(ctx, "completed", "ok", verification));
  } catch (err) {
    throw withMigration(err, migrationId, "completed");
  }
  result.phases.push("completed");
  result.action = kind === "create" ? "created" : "rebuilt";
  result.verification = verification;
  result.after = report && (report.behind > 0 || report.freshness.state === "behind") ? "stale" : "migrated";
  result.durationMs = Date.now() - started;
  return result;
}

/** Frame the appended lines in place (sync is crash-safe by itself, SPEC 11.13), then verify. */
async function syncPath(p: SessionPaths, d: StatusDetail, src: SourceScan, opts: MigrateOptions, started: number): Promise<MigrateResult> {
  const fp = d.facts.fingerprint.state === "ok" ? d.facts.fingerprint.fingerprint : undefined;
  if (!fp) throw new SessfmtError("E_MIGRATION_PARTIAL", "the sidecar has no source fingerprint to sync from", { file: p.root });
  const fresh = src.invalid.filter((l) => l.offset >= fp.lastIndexedOffset);
  if (fresh.length > 0 && !opts.skipInvalid) throw invalidLinesError(p.file, fresh);
  const migrationId = randomUUID();
  const ctx = eventContext(p, opts, migrationId);
  const phaseCtx: PhaseContext = { file: p.file, root: p.root, migrationId };
  const result = baseResult(p, src, migrationId, started);
  const phases: MigrationPhase[] = [];
  const record = async (e: MigrationEvent) => {
    await appendMigrationEvent(p.root, e);
    phases.push(e.phase);
  };
  let current: MigrationPhase = "planned";
  let changed = false;
  let verification = NO_VERIFICATION;
  const enter = async (phase: MigrationPhase) => {
    current = phase;
    if (opts.failAt === phase) throw injected(phase, p.file);
    await opts.onPhase?.(phase, phaseCtx);
  };
  let report: VerifyReport | undefined;
  try {
    await enter("planned");
    await record(makeEvent(ctx, "planned"));
    await enter("staging_copy");
    if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "migration aborted before its sync; nothing was changed", { file: p.file, cause: opts.signal.reason });
    changed = true;
    // No signal: a sync is short and stopping it halfway would leave frames without rows.
    const onSync = progressStep(opts, 200, 600);
    const rep = await syncSidecar(p.file, {
      now: ctx.now,
      check: "full",
      ...(opts.segmentBytes !== undefined ? { segmentBytes: opts.segmentBytes } : {}),
      ...(onSync ? { onProgress: onSync } : {}),
    });
    if (rep.action === "stale" || rep.action === "rebuilt") {
      throw new SessfmtError("E_SOURCE_CHANGED", `the JSONL changed while it was migrated (${rep.freshness.reason}); run migrate again`, { file: p.file });
    }
    changed = rep.action !== "none" || rep.repaired.length > 0;
    result.entriesAdded = rep.appended;
    if (opts.skipInvalid) {
      const now = await readFingerprint(p.root);
      const limit = now.state === "ok" ? now.fingerprint.lastIndexedOffset : 0;
      const scan = now.state === "ok" && now.fingerprint.sourceSize !== src.size ? await scanSource(p.file) : src;
      const lines = scan.invalid.filter((l) => l.offset < limit);
      const recs = await quarantineRecords(p.file, lines, ctx.now());
      const added = await withLock(p.root, () => appendQuarantine(p.root, recs));
      if (added.length > 0) changed = true;
      const addedOffsets = new Set(added.map((r) => r.offset));
      result.quarantined = lines.filter((l) => addedOffsets.has(l.offset));
    }
    await record(makeEvent(ctx, "staging_copy"));

    await enter("integrity_check");
    const onVerify = progressStep(opts, 600, PROGRESS_TOTAL);
    report = await verifyV2AgainstJsonl(p.file, { ...(opts.signal ? { signal: opts.signal } : {}), ...(onVerify ? { onProgress: onVerify } : {}) });
    verification = report.verification;
    if (!report.ok) {
      await record(makeEvent(ctx, "integrity_check", "fatal_error", verification, "integrity_mismatch")).catch(() => undefined);
      const first = report.mismatches[0]?.message ?? report.validation.problems[0]?.message ?? "?";
      throw new SessfmtError("E_VERIFY_MISMATCH", `the synced sidecar does not match the JSONL (${report.mismatchCount} mismatches, ${report.validation.errors} validation errors; first: ${first}); run "sessfmt recover"`, {
        file: p.file,
        data: { verify: report },
      });
    }
    await record(makeEvent(ctx, "integrity_check", "ok", verification));
  } catch (err) {
    const outcome = changed ? "fatal_error" : "recoverable_error";
    await record(makeEvent(ctx, "failed", outcome, verification, errorClassOf(err))).catch(() => undefined);
    throw withMigration(err, migrationId, current);
  }
  try {
    await enter("completed");
    await record(makeEvent(ctx, "completed", "ok", verification));
  } catch (err) {
    throw withMigration(err, migrationId, "completed");
  }
  result.phases = phases;
  result.action = "synced";
  if (!report) throw new SessfmtError("E_IO", "internal: no verification report", { file: p.file });
  result.entries = report.entries.sidecar;
  result.chainHash = report.chain.jsonl;
  let bytes = 0;
  const segs = new Set<number>();
  for await (const l of indexLines(p.root)) {
    if (!l.ok) continue;
    bytes += l.row.byteLength;
    segs.add(l.row.segmentSeq);
  }
  result.bytes = bytes;
  result.segments = segs.size;
  result.verification = verification;
  result.after = report.behind > 0 || report.freshness.state === "behind" ? "stale" : "migrated";
  result.durationMs = Date.now() - started;
  return result;
}
