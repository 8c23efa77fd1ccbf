import { randomUUID } from "node:crypto";
import { withLock } from "../format/lock.js";
import type { MigrationEvent } from "../v2/index.js";
import { exists, removeTree, renameDurably } from "./fs.js";
import { appendHistory, HISTORY_SCHEMA, readHistory, type HistoryAction } from "./history.js";
import { makeEvent, NO_VERIFICATION, readLedgerEvents, type EventContext } from "./ledger.js";
import { removedPath, sessionPaths, type Leftover, type SessionPaths } from "./names.js";
import { statusDetail } from "./status.js";
import type { MigrationState } from "./state.js";

export interface SidecarRollbackOptions {
  signal?: AbortSignal;
  now?: () => Date;
  /** Longest wait for the migration lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Test hook: called after the sidecar has been renamed aside, before its record is written. */
  onRemoved?: (aside: string) => void | Promise<void>;
}

export interface SidecarRollbackResult {
  file: string;
  root: string;
  /** A sidecar (or leftovers of one) was removed. */
  removed: boolean;
  before: MigrationState;
  after: MigrationState;
  /** The id of this rollback in the history file. */
  rollbackId?: string;
  /** What the removed sidecar held, as its index said. */
  sidecar?: { entries: number; segments: number; bytes: number; chainHash?: string };
  /** Leftover directories removed with it (staging, replaced, removed). */
  leftoversRemoved: string[];
  /** Ledger events carried into the history record. */
  ledgerEvents: number;
  /** Where the durable record of the rollback is. */
  historyPath?: string;
  durationMs: number;
}

/**
 * Remove a JSONL session's V2 sidecar (SPEC 14.5). The JSONL is never opened for writing.
 * The sidecar is first renamed aside (so it disappears at once), then its ledger, with a
 * `rollback` event added, is written to `<stem>.v2.history.ndjson` beside the JSONL, and
 * only then is the renamed directory deleted. Leftovers of interrupted migrations go too.
 */
export async function rollbackV2Sidecar(file: string, opts: SidecarRollbackOptions = {}): Promise<SidecarRollbackResult> {
  const started = Date.now();
  const p = sessionPaths(file);
  return withLock(
    p.migrationLockTarget,
    async () => {
      const d = await statusDetail(p.file, { check: "quick", ownsLock: true });
      const rollbackId = randomUUID();
      const now = opts.now ?? (() => new Date());
      const result: SidecarRollbackResult = { file: p.file, root: p.root, removed: false, before: d.status.state, after: "unmigrated", leftoversRemoved: [], ledgerEvents: 0, durationMs: 0 };
      const hasRoot = d.facts.kind !== "absent";
      if (!hasRoot && d.leftovers.length === 0) {
        result.durationMs = Date.now() - started;
        return result;
      }
      const retired = await retireSidecar(p, {
        action: "rollback",
        id: rollbackId,
        now,
        message: hasRoot ? "sidecar removed by rollback; the JSONL was not touched" : "leftovers of interrupted migrations removed by rollback; the JSONL was not touched",
        leftovers: d.leftovers,
        ...(d.status.sidecar ? { sidecar: { entries: d.status.sidecar.entries, segments: d.status.sidecar.segments, bytes: d.status.sidecar.bytes, ...(d.status.sidecar.chainHash ? { chainHash: d.status.sidecar.chainHash } : {}) } } : {}),
        ...(opts.onRemoved ? { onRemoved: opts.onRemoved } : {}),
      });
      result.removed = true;
      result.rollbackId = rollbackId;
      result.leftoversRemoved = retired.leftoversRemoved;
      result.ledgerEvents = retired.ledgerEvents;
      result.historyPath = p.history;
      if (d.status.sidecar) {
        result.sidecar = { entries: d.status.sidecar.entries, segments: d.status.sidecar.segments, bytes: d.status.sidecar.bytes };
        if (d.status.sidecar.chainHash) result.sidecar.chainHash = d.status.sidecar.chainHash;
      }
      result.durationMs = Date.now() - started;
      return result;
    },
    {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.lockTimeoutMs !== undefined ? { timeoutMs: opts.lockTimeoutMs } : {}),
    },
  );
}

export interface RetireOptions {
  action: HistoryAction;
  id: string;
  now: () => Date;
  message: string;
  /** Leftovers to remove with the root (their ledgers are recorded too). */
  leftovers: readonly Leftover[];
  sidecar?: { entries: number; segments: number; bytes: number; chainHash?: string };
  onRemoved?: (aside: string) => void | Promise<void>;
}

/**
 * Take a sidecar (and leftovers) away for good, durably recorded: rename the root aside
 * under the sidecar's lock, write one history record holding every ledger event of the
 * directories being removed plus a `rollback` event, then delete them. Caller holds the
 * migration lock.
 */
export async function retireSidecar(p: SessionPaths, o: RetireOptions): Promise<{ leftoversRemoved: string[]; ledgerEvents: number }> {
  const dirs: string[] = [];
  if (await exists(p.root)) {
    const aside = removedPath(p, o.id);
    await withLock(p.root, () => renameDurably(p.root, aside));
    dirs.push(aside);
    await o.onRemoved?.(aside);
  }
  const leftoversRemoved: string[] = [];
  for (const l of o.leftovers) {
    dirs.push(l.path);
    leftoversRemoved.push(l.path);
  }
  const events: MigrationEvent[] = [];
  for (const dir of dirs) events.push(...(await readLedgerEvents(dir).catch(() => ({ events: [] as MigrationEvent[] }))).events);
  const ctx: EventContext = { migrationId: o.id, sourcePath: p.file, targetPath: p.root, correlationId: `sessfmt-${o.action}:${o.id}`, now: o.now };
  const marker = makeEvent(ctx, "rollback", "ok", NO_VERIFICATION);
  await appendHistory(p.history, {
    schema: HISTORY_SCHEMA,
    at: marker.at,
    action: o.action,
    migrationId: o.id,
    sourcePath: p.file,
    targetPath: p.root,
    outcome: "ok",
    message: o.message,
    ...(o.sidecar ? { sidecar: o.sidecar } : {}),
    ledger: [...events, marker],
  });
  for (const dir of dirs) await removeTree(dir);
  return { leftoversRemoved, ledgerEvents: events.length };
}

/**
 * Finish a rollback that was interrupted after its rename (a `<stem>.v2.staging-<id>.removed`
 * directory): write its history record if the crash came before it, then delete it.
 */
export async function finishRemoval(p: SessionPaths, l: Leftover, now: () => Date): Promise<string> {
  const id = l.migrationId ?? randomUUID();
  const hist = await readHistory(p.history);
  if (!hist.records.some((r) => r.migrationId === id)) {
    const { events } = await readLedgerEvents(l.path).catch(() => ({ events: [] as MigrationEvent[] }));
    const ctx: EventContext = { migrationId: id, sourcePath: p.file, targetPath: p.root, correlationId: `sessfmt-rollback:${id}`, now };
    const marker = makeEvent(ctx, "rollback", "ok", NO_VERIFICATION);
    await appendHistory(p.history, {
      schema: HISTORY_SCHEMA,
      at: marker.at,
      action: "rollback",
      migrationId: id,
      sourcePath: p.file,
      targetPath: p.root,
      outcome: "ok",
      message: "sidecar removed by rollback (its removal was finished by recover)",
      ledger: [...events, marker],
    });
  }
  await removeTree(l.path);
  return `finished an interrupted rollback: removed ${l.name}`;
}

