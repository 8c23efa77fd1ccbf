import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { isSessfmtError } from "../format/errors.js";
import { withLock } from "../format/lock.js";
import {
  appendMigrationEvent,
  checkFreshness,
  rebuildSidecarIndex,
  syncSidecar,
  LEDGER_FILE,
  type MigrationEvent,
  type MigrationVerification,
} from "../v2/index.js";
import { checkContainment } from "./containment.js";
import { exists, removeTree, renameDurably } from "./fs.js";
import { appendHistory, HISTORY_SCHEMA } from "./history.js";
import { makeEvent, readLedgerEvents, type EventContext } from "./ledger.js";
import { migrateLocked, type MigrateResult } from "./migrate.js";
import { QUARANTINE_FILE, sessionPaths, type Leftover, type SessionPaths } from "./names.js";
import type { MigrateOptions } from "./options.js";
import { appendQuarantine, quarantineRecords, readQuarantine } from "./quarantine.js";
import { finishRemoval, retireSidecar } from "./rollback.js";
import { scanSource } from "./source.js";
import { statusDetail, type StatusDetail } from "./status.js";
import type { MigrationState } from "./state.js";
import { verifyV2AgainstJsonl, type VerifyReport } from "./verify.js";

export interface RecoverOptions extends Omit<MigrateOptions, "failAt" | "onPhase" | "correlationId"> {
  /** After repairing, migrate the file too: create, sync or rebuild until it is migrated and verified. */
  reMigrate?: boolean;
}

export interface RecoverResult {
  file: string;
  root: string;
  before: MigrationState;
  beforeReason: string;
  after: MigrationState;
  afterReason: string;
  /** What recover did, one line each, in order ("nothing to recover" when nothing). */
  actions: string[];
  /** The sidecar left behind was verified against the JSONL (absent when there is none). */
  verified?: boolean;
  verification?: MigrationVerification;
  /** The migration --re-migrate ran. */
  migrated?: MigrateResult;
  /** The file ended migrated (verified) or unmigrated, or stale when --re-migrate was not given. */
  ok: boolean;
  durationMs: number;
}

/**
 * Bring an interrupted or damaged migration to a verified sidecar or back to unmigrated
 * (SPEC 14.6), logging each step: leftovers of interrupted migrations are removed (a
 * swapped-out sidecar whose swap was cut short is put back), an interrupted rollback is
 * finished, a missing or damaged index is rebuilt from the segments (torn last frames cut),
 * an interrupted sync is repaired, and the result is verified. A sidecar that still does
 * not verify is removed (its ledger kept in the history file) only when the JSONL provably
 * holds everything it stores; with `reMigrate` a new one is then built.
 */
export async function recoverPartialMigration(file: string, opts: RecoverOptions = {}): Promise<RecoverResult> {
  const started = Date.now();
  const p = sessionPaths(file);
  return withLock(p.migrationLockTarget, () => recoverLocked(p, opts, started), {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}),
  });
}

async function recoverLocked(p: SessionPaths, opts: RecoverOptions, started: number): Promise<RecoverResult> {
  const now = opts.now ?? (() => new Date());
  const look = () => statusDetail(p.file, { check: "full", ownsLock: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  let d = await look();
  const result: RecoverResult = {
    file: p.file,
    root: p.root,
    before: d.status.state,
    beforeReason: d.status.reason,
    after: d.status.state,
    afterReason: d.status.reason,
    actions: [],
    ok: false,
    durationMs: 0,
  };
  const act = (s: string) => result.actions.push(s);

  // 1. Leftovers of interrupted migrations, rollbacks and swaps.
  for (const l of d.leftovers) act(await handleLeftover(p, l, now));
  if (d.leftovers.length > 0) d = await look();

  // 2. Targeted repairs of an interrupted write.
  if (d.facts.kind === "symlink" || d.facts.kind === "not_dir") {
    act(`left ${p.root} alone: it is ${d.facts.kind === "symlink" ? "a symbolic link" : "not a directory"}; remove or move it yourself`);
    return finish(result, d, started, opts);
  }
  if (d.facts.kind === "present") {
    if (!d.facts.hasIndex && !d.facts.hasSegmentsDir) {
      await retire(p, d, now, "removed a sidecar directory without segments or index (an interrupted creation)");
      act("removed a sidecar directory that held no segments and no index");
      d = await look();
    } else {
      if (d.facts.ledger.damaged > 0) {
        const moved = await moveAside(p.root, LEDGER_FILE, now);
        act(`moved the damaged ledger aside to ${moved} (its bytes are kept)`);
      }
      if (d.facts.quarantine.damaged > 0) {
        const moved = await moveAside(p.root, QUARANTINE_FILE, now);
        act(`moved the damaged quarantine aside to ${moved} (its bytes are kept; it is refilled from the JSONL)`);
        await refillQuarantine(p, now, true);
      }
      const indexBroken =
        !d.facts.hasIndex ||
        d.facts.garbageRows.length > 0 ||
        d.facts.tornIndexLine !== undefined ||
        d.facts.manifest.state !== "ok" ||
        d.facts.fingerprint.state === "invalid" ||
        d.facts.damage.length > 0;
      if (indexBroken) {
        try {
          const r = await rebuildSidecarIndex(p.root, { now });
          act(`rebuilt the index from the segments: ${r.entries} entries${r.truncated.length ? `, cut a torn last frame (${r.truncated.map((t) => `${t.bytes} bytes of ${t.file}`).join(", ")})` : ""}; fingerprint ${r.fingerprint}`);
        } catch (err) {
          if (!isSessfmtError(err) || err.code === "E_ABORTED") throw err;
          act(`could not rebuild the index: ${err.message}`);
        }
        d = await look();
      }
      if (d.facts.kind === "present" && d.facts.hasIndex && (d.facts.unindexed.length > 0 || (d.facts.fingerprint.state === "ok" && d.facts.fingerprint.fingerprint.entryCount !== d.facts.rows.length))) {
        try {
          const r = await syncSidecar(p.file, { now, check: "full" });
          act(`repaired an interrupted sync${r.repaired.length ? ` (${r.repaired.join("; ")})` : ""}${r.appended ? `, framed ${r.appended} new entries` : ""}`);
        } catch (err) {
          if (!isSessfmtError(err) || err.code === "E_ABORTED") throw err;
          act(`could not repair the interrupted sync: ${err.message}`);
        }
        d = await look();
      }
    }
  }

  // 3. Verify what is there; finish its record, or take it away if it cannot be trusted.
  if (d.facts.kind === "present" && d.facts.hasIndex && d.status.state !== "stale") {
    let report = await tryVerify(p, opts);
    if (report && !report.ok && report.quarantine.present && report.mismatches.every((m) => m.code === "quarantine_missing")) {
      const n = await refillQuarantine(p, now, false);
      act(`added ${n} missing line(s) to the quarantine`);
      report = await tryVerify(p, opts);
    }
    if (report?.ok) {
      result.verified = true;
      result.verification = report.verification;
      const last = d.status.lastMigration;
      if (last && (last.phase !== "completed" && last.phase !== "rollback" && !(last.phase === "failed" && last.outcome === "recoverable_error"))) {
        await recordRecovery(p, report.verification, now);
        const how = last.phase === "failed" ? `failed (${last.errorClass ?? "error"})` : `stopped after its ${last.phase} phase`;
        act(`verified the sidecar (${report.entries.sidecar} entries match the JSONL) after migration ${last.migrationId}, which ${how}; recorded the recovery in the ledger`);
      } else act(`verified the sidecar: ${report.entries.sidecar} entries match the JSONL`);
    } else {
      const why = report ? `${report.mismatchCount} mismatches, ${report.validation.errors} validation errors${report.mismatches[0] ? ` (first: ${report.mismatches[0].message})` : ""}` : "it cannot be read";
      const proof = await provenRedundant(p, opts.signal);
      if (!proof.proven) {
        act(`the sidecar does not verify (${why}) and was left in place: ${proof.reason}; roll it back to discard it`);
        return finish(result, await look(), started, opts);
      }
      await retire(p, await look(), now, `removed a sidecar that did not verify (${why}); ${proof.reason}`);
      act(`removed the sidecar, which did not verify (${why}); ${proof.reason}`);
    }
    d = await look();
  }

  // 4. With --re-migrate, migrate whatever is not migrated now.
  if (opts.reMigrate && d.status.state !== "migrated") {
    if (d.status.action === "recover") {
      act(`not re-migrated: still ${d.status.state} (${d.status.reason})`);
    } else {
      try {
        const m = await migrateLocked(p, opts);
        result.migrated = m;
        result.verified = true;
        if (m.verification) result.verification = m.verification;
        act(`re-migrated: ${m.action}, ${m.entries} entries${m.migrationId ? ` (migration ${m.migrationId})` : ""}`);
      } catch (err) {
        if (!isSessfmtError(err) || err.code === "E_ABORTED") throw err;
        act(`re-migration failed: ${err.code}: ${err.message}`);
      }
    }
    d = await look();
  }
  if (result.actions.length === 0) result.actions.push("nothing to recover");
  return finish(result, d, started, opts);
}

function finish(result: RecoverResult, d: StatusDetail, started: number, opts: RecoverOptions): RecoverResult {
  result.after = d.status.state;
  result.afterReason = d.status.reason;
  const s = d.status.state;
  result.ok = s === "migrated" || (!opts.reMigrate && (s === "unmigrated" || s === "stale"));
  result.durationMs = Date.now() - started;
  return result;
}

async function tryVerify(p: SessionPaths, opts: RecoverOptions): Promise<VerifyReport | undefined> {
  try {
    return await verifyV2AgainstJsonl(p.file, opts.signal ? { signal: opts.signal } : {});
  } catch (err) {
    if (!isSessfmtError(err) || err.code === "E_ABORTED" || err.code === "E_UNSUPPORTED_VERSION") throw err;
    return undefined;
  }
}

async function handleLeftover(p: SessionPaths, l: Leftover, now: () => Date): Promise<string> {
  if (l.kind === "removed") return finishRemoval(p, l, now);
  if (l.kind === "replaced") {
    if (!(await exists(p.root))) {
      await renameDurably(l.path, p.root);
      return `put back ${l.name}: a rebuild was cut short between its two renames, so the previous sidecar is restored`;
    }
    await removeTree(l.path);
    return `removed ${l.name}: the sidecar a finished rebuild replaced`;
  }
  const { events } = await readLedgerEvents(l.path).catch(() => ({ events: [] as MigrationEvent[] }));
  const last = events[events.length - 1];
  const id = l.migrationId && /^[0-9a-f-]{36}$/i.test(l.migrationId) ? l.migrationId : randomUUID();
  await appendHistory(p.history, {
    schema: HISTORY_SCHEMA,
    at: now().toISOString(),
    action: "recover",
    migrationId: id,
    sourcePath: p.file,
    targetPath: p.root,
    outcome: "recoverable_error",
    message: `removed ${l.name}, an interrupted migration${last ? ` that stopped after its ${last.phase} phase` : ""}`,
    ledger: events,
  });
  await removeTree(l.path);
  return `removed ${l.name}, the staging directory of an interrupted migration${last ? ` (it stopped after ${last.phase})` : ""}; the JSONL was not touched`;
}

/** Take the sidecar away with a history record (the JSONL is known to hold everything in it). */
async function retire(p: SessionPaths, d: StatusDetail, now: () => Date, message: string): Promise<void> {
  const s = d.status.sidecar;
  await retireSidecar(p, {
    action: "recover",
    id: randomUUID(),
    now,
    message,
    leftovers: [],
    ...(s ? { sidecar: { entries: s.entries, segments: s.segments, bytes: s.bytes, ...(s.chainHash ? { chainHash: s.chainHash } : {}) } } : {}),
  });
}

/**
 * The JSONL holds everything the sidecar stores: its fingerprint's prefix is unchanged
 * (hash-checked), or every stored payload is one of its lines.
 */
async function provenRedundant(p: SessionPaths, signal?: AbortSignal): Promise<{ proven: boolean; reason: string }> {
  const d = await statusDetail(p.file, { check: "full", ownsLock: true });
  if (d.facts.fingerprint.state === "ok") {
    const f = await checkFreshness(p.file, d.facts.fingerprint.fingerprint, "full", signal);
    if (f.state === "fresh" || f.state === "behind") return { proven: true, reason: "the JSONL still holds every line it was built from (its indexed prefix is unchanged)" };
  }
  if (!d.facts.hasIndex) return { proven: false, reason: "it has no index to compare with the JSONL" };
  const src = await scanSource(p.file, signal ? { signal } : {});
  const c = await checkContainment(p.root, src, signal);
  return { proven: c.proven, reason: c.proven ? `the JSONL holds all ${c.frames} entries it stored` : c.reason };
}

/** Record a recovery's verification as a migration of its own: integrity_check, completed. */
async function recordRecovery(p: SessionPaths, v: MigrationVerification, now: () => Date): Promise<void> {
  const id = randomUUID();
  const ctx: EventContext = { migrationId: id, sourcePath: p.file, targetPath: p.root, correlationId: `sessfmt-recover:${id}`, now };
  await appendMigrationEvent(p.root, makeEvent(ctx, "integrity_check", "ok", v));
  await appendMigrationEvent(p.root, makeEvent(ctx, "completed", "ok", v));
}

/** Rename a damaged sidecar file aside inside the root (`<name>.damaged-<time>`), keeping its bytes. */
async function moveAside(root: string, rel: string, now: () => Date): Promise<string> {
  const from = join(root, ...rel.split("/"));
  const stamp = now().toISOString().replace(/[:.]/g, "-");
  const to = `${from}.damaged-${stamp}`;
  await withLock(root, () => renameDurably(from, to));
  return `${rel}.damaged-${stamp}`;
}

/** Put every invalid line inside the indexed prefix into the quarantine (idempotent). */
async function refillQuarantine(p: SessionPaths, now: () => Date, create: boolean): Promise<number> {
  const q = await readQuarantine(p.root);
  if (!q.exists && !create) return 0;
  const d = await statusDetail(p.file, { check: "quick", ownsLock: true });
  const limit = d.facts.fingerprint.state === "ok" ? d.facts.fingerprint.fingerprint.lastIndexedOffset : Infinity;
  const src = await scanSource(p.file);
  const lines = src.invalid.filter((l) => l.offset < limit);
  const recs = await quarantineRecords(p.file, lines, now());
  const added = await withLock(p.root, () => appendQuarantine(p.root, recs));
  return added.length;
}

