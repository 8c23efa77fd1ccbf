import { copyFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { SessfmtError, isSessfmtError } from "../format/errors.js";
import type { DiagnosticCode, SessionDiagnostic } from "../format/diagnostics.js";
import type { EntryRecord } from "../format/record.js";
import { upgradeSession } from "../format/upgrade.js";
import type { MigrationVerification } from "../v2/index.js";
import { checkContainment } from "./containment.js";
import { removeTree } from "./fs.js";
import { invalidLinesError, checkSegmentBytes, progressStep, type MigrationPlanOptions } from "./options.js";
import { EMPTY_START, FramePlanner, startAfter, type FramePlan } from "./plan.js";
import { statusDetail } from "./status.js";
import { scanSource, type InvalidLine, type SourceScan } from "./source.js";
import type { MigrationAction, MigrationState } from "./state.js";

export interface DryRunOptions extends MigrationPlanOptions {
  /** Where a version 1/2 file is copied to be upgraded for planning (default the OS temp dir). */
  tempDir?: string;
}

export interface DryRunResult {
  file: string;
  root: string;
  state: MigrationState;
  reason: string;
  /** What migrate would do. */
  action: MigrationAction;
  /** migrate would succeed (with the same options, if nothing changes meanwhile). */
  wouldSucceed: boolean;
  /** Why migrate would refuse (its error code and message). */
  refusal?: { code: string; message: string };
  /** JSONL header version; migrate upgrades 1 and 2 to 3 first (`upgrade`). */
  version: number;
  upgrade?: { fromVersion: number; bytesBefore: number; bytesAfter: number };
  /** Size of the JSONL. */
  bytes: number;
  /** Entries in the JSONL that the sidecar holds after the migration. */
  entries: number;
  /** Frames that would be written (all of them for create/rebuild; the new ones for sync). */
  plan: FramePlan;
  /** Segments of the sidecar afterwards. */
  segments: number;
  /** Frame bytes of the sidecar afterwards. */
  sidecarBytes: number;
  /** Invalid lines: quarantined with skipInvalid, otherwise they stop the migration. */
  invalidLines: InvalidLine[];
  /** A last line without "\n" that is not an entry: neither framed nor quarantined (next sync). */
  tornTailLine?: number;
  /** Every open diagnostic of the JSONL (skipped lines, orphans, duplicates, cycles, ...). */
  diagnostics: SessionDiagnostic[];
  diagnosticCounts: Partial<Record<DiagnosticCode, number>>;
  /** What the integrity check would find: entries, the chain recomputed from the JSONL. */
  verification: MigrationVerification & { entries: number; chainHash: string };
  /** A rough estimate of migrate's time for this file (from this dry run's own reading and hashing). */
  estimatedMs: number;
  durationMs: number;
}

/**
 * How much longer a migration takes than its dry run: the dry run reads and hashes the
 * JSONL once; migrate also writes and fsyncs the frames, validates them and verifies them
 * against the JSONL (about 4x for a 30 MB session on ext4; small files are dominated by
 * the fixed cost below).
 */
export const MIGRATE_COST_FACTOR = 4;
/** What migrate spends per file whatever its size (fsyncs of a dozen files and directories, locks). */
export const MIGRATE_FIXED_MS = 60;

/**
 * Plan a migration without writing anything (a version 1/2 file is upgraded in a temp
 * copy to plan its frames): the action, the frames and segments the writer would produce
 * (with its own codec and rotation rule), the chain the integrity check would find, every
 * diagnostic, and whether migrate would refuse and why.
 */
export async function migrateDryRun(file: string, opts: DryRunOptions = {}): Promise<DryRunResult> {
  checkSegmentBytes(opts.segmentBytes);
  const started = Date.now();
  const d = await statusDetail(file, { check: opts.check ?? "full", ...(opts.signal ? { signal: opts.signal } : {}) });
  const s = d.status;
  const out: DryRunResult = {
    file: s.file,
    root: s.root,
    state: s.state,
    reason: s.reason,
    action: s.action,
    wouldSucceed: true,
    version: s.version,
    bytes: s.bytes,
    entries: d.facts.rows.length,
    plan: { entries: 0, bytes: 0, indexBytes: 0, segments: [], chainHash: d.facts.fingerprint.state === "ok" ? d.facts.fingerprint.fingerprint.chainHash : "", largestFrame: 0 },
    segments: d.facts.segments,
    sidecarBytes: d.facts.frameBytes,
    invalidLines: [],
    diagnostics: [],
    diagnosticCounts: {},
    verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true, entries: d.facts.rows.length, chainHash: "" },
    estimatedMs: 0,
    durationMs: 0,
  };
  out.verification.chainHash = out.plan.chainHash;
  // The first reason is the one migrate would stop at (the checks run in migrate's order).
  const refuse = (err: SessfmtError) => {
    out.wouldSucceed = false;
    out.refusal ??= { code: err.code, message: err.message };
  };
  if (s.action === "recover") {
    refuse(new SessfmtError("E_MIGRATION_PARTIAL", `${s.state}: ${s.reason}; run "sessfmt recover" first`, { file: s.file }));
    return finish(out, started);
  }
  if (s.action === "none") return finish(out, started);

  let temp: string | undefined;
  try {
    let src = await scanSource(s.file, { ...(opts.signal ? { signal: opts.signal } : {}), ...(progressStep(opts, 0, 500) ? { onProgress: progressStep(opts, 0, 500) } : {}) });
    if (src.version < 3) {
      if (opts.upgrade === false) {
        refuse(new SessfmtError("E_UNSUPPORTED_VERSION", `session version ${src.version}: migrate --no-upgrade refuses it (without --no-upgrade it is upgraded to version 3 first)`, { file: s.file }));
        describeSource(out, src, src.invalid);
        return finish(out, started);
      }
      // migrate refuses before upgrading: the original's line numbers are the ones it reports.
      if (src.invalid.length > 0 && !opts.skipInvalid) refuse(invalidLinesError(s.file, src.invalid));
      // Plan on the file as the upgrade would write it: upgrade a private copy.
      temp = await mkdtemp(join(opts.tempDir ?? tmpdir(), "sessfmt-dry-run-"));
      const copy = join(temp, basename(s.file));
      await copyFile(s.file, copy);
      const up = await upgradeSession(copy, { backup: false, durable: false, ...(opts.signal ? { signal: opts.signal } : {}) });
      out.upgrade = { fromVersion: src.version, bytesBefore: up.bytesBefore, bytesAfter: up.bytesAfter };
      src = await scanSource(copy, opts.signal ? { signal: opts.signal } : {});
    }
    const fp = d.facts.fingerprint.state === "ok" ? d.facts.fingerprint.fingerprint : undefined;
    const sync = s.action === "sync" && fp !== undefined;
    const invalid = sync ? src.invalid.filter((l) => l.offset >= (fp?.lastIndexedOffset ?? 0)) : src.invalid;
    describeSource(out, src, invalid);
    if (s.action === "rebuild") {
      const c = await checkContainment(s.root, src, opts.signal);
      if (!c.proven) refuse(new SessfmtError("E_SIDECAR_STALE", `the sidecar is stale and holds data the JSONL does not (${c.reason}); migrate would change nothing`, { file: s.root }));
    }
    if (invalid.length > 0 && !opts.skipInvalid) refuse(invalidLinesError(s.file, invalid));
    const last = d.facts.rows[d.facts.rows.length - 1];
    const planner = new FramePlanner(sync ? startAfter(last, fp?.chainHash ?? "") : EMPTY_START, opts.segmentBytes, undefined, s.file);
    const records = sync ? src.records.filter((r) => r.offset >= (fp?.lastIndexedOffset ?? 0)) : src.records;
    try {
      planRecords(planner, src, records, opts.signal);
    } catch (err) {
      if (!isSessfmtError(err) || err.code === "E_ABORTED") throw err;
      refuse(err);
    }
    out.plan = planner.result();
    const segs = new Set<number>(sync ? d.facts.rows.map((r) => r.segmentSeq) : []);
    for (const g of out.plan.segments) segs.add(g.segmentSeq);
    out.segments = segs.size;
    out.entries = (sync ? d.facts.rows.length : 0) + out.plan.entries;
    out.sidecarBytes = (sync ? d.facts.frameBytes : 0) + out.plan.bytes;
    out.verification = { entryCountMatch: true, hashChainMatch: true, indexConsistent: true, entries: out.entries, chainHash: out.plan.chainHash };
    if (!out.wouldSucceed) out.verification = { ...out.verification, entryCountMatch: false, hashChainMatch: false, indexConsistent: false };
  } finally {
    if (temp) await removeTree(temp).catch(() => undefined);
  }
  finish(out, started);
  out.estimatedMs = out.action === "none" ? 0 : Math.round(out.durationMs * MIGRATE_COST_FACTOR + MIGRATE_FIXED_MS);
  return out;
}

function planRecords(planner: FramePlanner, src: SourceScan, records: readonly EntryRecord[], signal?: AbortSignal): void {
  const BATCH = 512;
  for (let i = 0; i < records.length; i += BATCH) {
    if (signal?.aborted) throw new SessfmtError("E_ABORTED", "dry run aborted", { file: src.file, cause: signal.reason });
    src.session.forEachRaw(records.slice(i, i + BATCH), (bytes, r) => planner.add(r, bytes));
  }
}

function describeSource(out: DryRunResult, src: SourceScan, invalid: InvalidLine[]): void {
  out.invalidLines = invalid;
  out.diagnostics = src.diagnostics;
  out.diagnosticCounts = src.session.diagnostics.summary();
  if (src.tornTail) out.tornTailLine = src.tornTail.line;
}

function finish(out: DryRunResult, started: number): DryRunResult {
  out.durationMs = Date.now() - started;
  return out;
}
