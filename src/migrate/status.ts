import { join } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { DEFAULT_LOCK_STALE_MS } from "../format/lock.js";
import {
  INDEX_FILE,
  checkFreshness,
  listCheckpoints,
  readFingerprint,
  readManifest,
  type Freshness,
  type FreshnessCheck,
  type Manifest,
  type MigrationEvent,
  type OffsetIndexRow,
  type SourceFingerprint,
} from "../v2/index.js";
import { lstatMaybe, statMaybe } from "./fs.js";
import { readHistory } from "./history.js";
import { isTerminal, lastMigration, readLedgerEvents } from "./ledger.js";
import { findLeftovers, sessionPaths, type Leftover, type SessionPaths } from "./names.js";
import { readQuarantine } from "./quarantine.js";
import { indexLines, segmentSizes } from "./sidecar-read.js";
import { needsUpgrade, readHeaderFacts } from "./source.js";
import type { LastHistory, LastMigration, MigrationAction, MigrationState, MigrationStatus } from "./state.js";

export interface StatusOptions {
  /**
   * How the JSONL is compared with the sidecar's fingerprint: "full" (default) hashes the
   * indexed prefix; "quick" trusts an unchanged size and mtime (SPEC 11.9).
   */
  check?: FreshnessCheck;
  signal?: AbortSignal;
  /** The caller holds the migration lock itself (so a held lock does not mean "in progress"). */
  ownsLock?: boolean;
}

/** What a read-only look at a sidecar root finds (no frame is read, nothing is written). */
export interface SidecarFacts {
  kind: "absent" | "symlink" | "not_dir" | "present";
  hasIndex: boolean;
  hasSegmentsDir: boolean;
  rows: OffsetIndexRow[];
  /** Index lines that do not decode (garbage) and a torn last line. */
  garbageRows: { line: number; message: string }[];
  tornIndexLine?: { line: number };
  /** Rows that contradict each other or the segments (not the trace of an interruption). */
  damage: string[];
  /** Frames written after the last indexed one: bytes at the end of the last segment, whole new segments. */
  unindexed: string[];
  segments: number;
  frameBytes: number;
  manifest: { state: "missing" } | { state: "invalid"; message: string } | { state: "ok"; manifest: Manifest };
  fingerprint: { state: "missing" } | { state: "invalid"; message: string } | { state: "ok"; fingerprint: SourceFingerprint };
  freshness: Freshness;
  ledger: { events: MigrationEvent[]; damaged: number };
  checkpoints: number;
  checkpointProblems: number;
  quarantine: { lines: number; damaged: number };
}

function emptyFacts(): SidecarFacts {
  return {
    kind: "absent",
    hasIndex: false,
    hasSegmentsDir: false,
    rows: [],
    garbageRows: [],
    damage: [],
    unindexed: [],
    segments: 0,
    frameBytes: 0,
    manifest: { state: "missing" },
    fingerprint: { state: "missing" },
    freshness: { state: "unknown", reason: "no sidecar" },
    ledger: { events: [], damaged: 0 },
    checkpoints: 0,
    checkpointProblems: 0,
    quarantine: { lines: 0, damaged: 0 },
  };
}

/** Inspect a sidecar root without reading frames or writing anything. */
export async function inspectSidecar(p: SessionPaths, opts: StatusOptions = {}): Promise<SidecarFacts> {
  const facts = emptyFacts();
  const st = await lstatMaybe(p.root);
  if (!st) return facts;
  if (st.isSymbolicLink()) return { ...facts, kind: "symlink" };
  if (!st.isDirectory()) return { ...facts, kind: "not_dir" };
  facts.kind = "present";
  for (const d of ["segments", "index", "checkpoints", "migrations", "tmp"]) {
    if ((await lstatMaybe(join(p.root, d)))?.isSymbolicLink()) facts.damage.push(`${d}/ is a symbolic link`);
  }
  if (facts.damage.length > 0) return facts;
  facts.hasSegmentsDir = (await lstatMaybe(join(p.root, "segments")))?.isDirectory() === true;
  const indexSt = await lstatMaybe(join(p.root, ...INDEX_FILE.split("/")));
  facts.hasIndex = indexSt?.isFile() === true;
  if (indexSt && !indexSt.isFile()) facts.damage.push(`${INDEX_FILE} is not a regular file`);
  const ledger = await readLedgerEvents(p.root);
  facts.ledger = { events: ledger.events, damaged: ledger.damaged };
  if (!facts.hasIndex) return facts;

  for await (const l of indexLines(p.root, opts.signal)) {
    if (l.ok) facts.rows.push(l.row);
    else if (l.unterminated) facts.tornIndexLine = { line: l.line };
    else facts.garbageRows.push({ line: l.line, message: l.message });
  }
  const { sizes, symlinks } = await segmentSizes(p.root);
  for (const s of symlinks) facts.damage.push(`${s} is a symbolic link`);
  facts.segments = sizes.size;
  const ends = new Map<number, number>();
  let expectSeq = 1;
  for (const r of facts.rows) {
    if (r.entrySeq !== expectSeq) {
      facts.damage.push(`index row ${expectSeq} has entrySeq ${r.entrySeq}`);
      break;
    }
    expectSeq++;
    facts.frameBytes += r.byteLength;
    const size = sizes.get(r.segmentSeq);
    const end = r.byteOffset + r.byteLength;
    if (size === undefined) {
      facts.damage.push(`entrySeq ${r.entrySeq} is in segment ${r.segmentSeq}, which does not exist`);
      break;
    }
    if (end > size) {
      facts.damage.push(`entrySeq ${r.entrySeq} ends at byte ${end} of segment ${r.segmentSeq}, which has ${size} bytes`);
      break;
    }
    if (r.byteOffset !== (ends.get(r.segmentSeq) ?? 0)) {
      facts.damage.push(`entrySeq ${r.entrySeq} starts at byte ${r.byteOffset} of segment ${r.segmentSeq}, not where the previous frame ended`);
      break;
    }
    ends.set(r.segmentSeq, end);
  }
  const lastSeg = facts.rows[facts.rows.length - 1]?.segmentSeq ?? 0;
  for (const [seq, size] of [...sizes].sort((a, b) => a[0] - b[0])) {
    const end = ends.get(seq);
    if (end === undefined) {
      if (seq > lastSeg) facts.unindexed.push(`segment ${seq} (${size} bytes) has no index rows`);
      else facts.damage.push(`segment ${seq} has no index rows but later segments do`);
    } else if (size > end) {
      if (seq === lastSeg) facts.unindexed.push(`${size - end} bytes after the last indexed frame of segment ${seq}`);
      else facts.damage.push(`${size - end} bytes after the last indexed frame of segment ${seq}, which is not the last`);
    }
  }
  facts.manifest = await readManifest(p.root);
  facts.fingerprint = await readFingerprint(p.root);
  facts.freshness = await checkFreshness(p.file, facts.fingerprint.state === "ok" ? facts.fingerprint.fingerprint : undefined, opts.check ?? "full", opts.signal);
  const cps = await listCheckpoints(p.root);
  facts.checkpoints = cps.checkpoints.length;
  facts.checkpointProblems = cps.problems.length;
  const q = await readQuarantine(p.root);
  facts.quarantine = { lines: q.records.length, damaged: q.problems.length };
  return facts;
}

/** A lock directory whose holder is alive (refreshed within the stale window). */
export async function lockIsLive(lockDir: string): Promise<boolean> {
  const st = await statMaybe(lockDir);
  return st !== undefined && Date.now() - st.mtimeMs < DEFAULT_LOCK_STALE_MS;
}

/** Everything status knows about one file, for migrate and recover to decide on. */
export interface StatusDetail {
  status: MigrationStatus;
  paths: SessionPaths;
  facts: SidecarFacts;
  leftovers: Leftover[];
}

/**
 * The migration state of a JSONL session (SPEC 14.1). Strictly read-only: it lists the
 * directory, reads the JSONL's header and (for the freshness check) its indexed prefix,
 * and reads the sidecar's index, manifest, fingerprint, ledger, checkpoints and
 * quarantine; it never reads a frame, takes a lock or writes.
 */
export async function migrationStatus(file: string, opts: StatusOptions = {}): Promise<MigrationStatus> {
  return (await statusDetail(file, opts)).status;
}

export async function statusDetail(file: string, opts: StatusOptions = {}): Promise<StatusDetail> {
  const p = sessionPaths(file);
  const st = await statMaybe(p.file);
  if (!st) throw new SessfmtError("E_NOT_FOUND", "no such file", { file: p.file });
  if (!st.isFile()) throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file: p.file });
  const header = await readHeaderFacts(p.file);
  const leftovers = await findLeftovers(p);
  const inProgress = !opts.ownsLock && (await lockIsLive(`${p.migrationLockTarget}.lock`));
  const hist = await readHistory(p.history);
  const lastHist = hist.records[hist.records.length - 1];
  let facts: SidecarFacts;
  try {
    facts = await inspectSidecar(p, opts);
  } catch (err) {
    if (!(err instanceof SessfmtError) || err.code === "E_ABORTED") throw err;
    facts = { ...emptyFacts(), kind: "present", damage: [err.message] };
  }

  const status: MigrationStatus = {
    file: p.file,
    root: p.root,
    state: "unmigrated",
    reason: "",
    action: "create",
    version: header.version,
    sessionId: header.sessionId,
    bytes: st.size,
    inProgress,
    leftovers: leftovers.map((l) => ({ kind: l.kind, path: l.path })),
  };
  if (lastHist) {
    const h: LastHistory = { action: lastHist.action, at: lastHist.at, outcome: lastHist.outcome, message: lastHist.message, migrationId: lastHist.migrationId };
    status.history = h;
  }
  const last = lastMigration(facts.ledger.events);
  const lastEvent = last[last.length - 1];
  if (lastEvent) {
    const lm: LastMigration = { migrationId: lastEvent.migrationId, phase: lastEvent.phase, outcome: lastEvent.outcome, at: lastEvent.at };
    if (lastEvent.errorClass) lm.errorClass = lastEvent.errorClass;
    status.lastMigration = lm;
  }
  if (facts.kind === "present" && facts.hasIndex) {
    status.sidecar = {
      entries: facts.rows.length,
      segments: facts.segments,
      bytes: facts.frameBytes,
      freshness: facts.freshness,
      checkpoints: facts.checkpoints,
      ledgerEvents: facts.ledger.events.length,
      quarantinedLines: facts.quarantine.lines,
    };
    if (facts.manifest.state === "ok") status.sidecar.chainHash = facts.manifest.manifest.integrity.chainHash;
  }
  const [state, reason, action] = classify(status, facts, leftovers, inProgress);
  status.state = state;
  status.reason = reason;
  status.action = action;
  return { status, paths: p, facts, leftovers };
}

function classify(s: MigrationStatus, f: SidecarFacts, leftovers: Leftover[], inProgress: boolean): [MigrationState, string, MigrationAction] {
  const upgradeNote = needsUpgrade(s.version) ? `; version ${s.version}: migrate upgrades it to version 3 first, keeping a backup` : "";
  if (inProgress) return ["partial", "a migration, rollback or recover of this file is in progress: its lock is held", "recover"];
  if (leftovers.length > 0) {
    const names = leftovers.map((l) => l.name).join(", ");
    return ["partial", `leftovers of an interrupted migration: ${names}`, "recover"];
  }
  if (f.kind === "absent") {
    const h = s.history ? `; ${historyNote(s.history)}` : "";
    return ["unmigrated", `no sidecar${upgradeNote}${h}`, "create"];
  }
  if (f.kind === "symlink") return ["corrupt", "the sidecar root is a symbolic link (never followed)", "recover"];
  if (f.kind === "not_dir") return ["corrupt", "the sidecar root is not a directory", "recover"];
  if (f.garbageRows.length > 0) {
    const g = f.garbageRows[0] as { line: number; message: string };
    return ["corrupt", `index line ${g.line} does not decode${f.garbageRows.length > 1 ? ` (and ${f.garbageRows.length - 1} more)` : ""}: ${g.message}`, "recover"];
  }
  if (f.damage.length > 0) return ["corrupt", f.damage[0] as string, "recover"];
  if (!f.hasIndex) {
    return ["partial", f.hasSegmentsDir ? "the sidecar has no index: a creation cut short before its index was written" : "the sidecar directory holds no segments and no index", "recover"];
  }
  if (f.ledger.damaged > 0) return ["corrupt", `the migration ledger has ${f.ledger.damaged} damaged line(s)`, "recover"];
  if (f.manifest.state === "invalid") return ["corrupt", `manifest.json is invalid: ${f.manifest.message}`, "recover"];
  if (f.fingerprint.state === "invalid") return ["corrupt", `sessfmt-source.json is invalid: ${f.fingerprint.message}`, "recover"];
  if (f.checkpointProblems > 0) return ["corrupt", `${f.checkpointProblems} checkpoint problem(s)`, "recover"];
  if (f.quarantine.damaged > 0) return ["corrupt", `the quarantine has ${f.quarantine.damaged} damaged line(s)`, "recover"];
  if (f.tornIndexLine) return ["partial", "the last index line is torn: an interrupted sync", "recover"];
  if (f.unindexed.length > 0) return ["partial", `frames written after the last indexed one, an interrupted sync: ${f.unindexed.join("; ")}`, "recover"];
  const last = lastMigration(f.ledger.events);
  const lastEvent = last[last.length - 1];
  if (lastEvent && !isTerminal(lastEvent.phase)) return ["partial", `migration ${lastEvent.migrationId} stopped after its ${lastEvent.phase} phase`, "recover"];
  if (lastEvent && lastEvent.phase === "failed" && lastEvent.outcome === "fatal_error") {
    return ["corrupt", `migration ${lastEvent.migrationId} changed the sidecar and then failed: ${lastEvent.errorClass ?? "unknown error"}`, "recover"];
  }
  if (f.manifest.state === "missing") return ["partial", "the sidecar has no manifest.json: interrupted before it was written", "recover"];
  if (f.fingerprint.state === "missing") return ["stale", "no sessfmt-source.json, perhaps built by another tool: freshness unknown; migrate rebuilds it", "rebuild"];
  if (f.fingerprint.fingerprint.entryCount !== f.rows.length) {
    return ["partial", `the fingerprint counts ${f.fingerprint.fingerprint.entryCount} entries, the index ${f.rows.length}: an interrupted sync`, "recover"];
  }
  switch (f.freshness.state) {
    case "fresh":
      return ["migrated", `${f.rows.length} entries, fresh`, "none"];
    case "behind":
      return ["stale", `the JSONL grew: ${f.freshness.reason}`, "sync"];
    case "stale":
      return ["stale", `${f.freshness.reason}; migrate rebuilds the sidecar`, "rebuild"];
    default:
      return ["stale", `freshness unknown: ${f.freshness.reason}; migrate rebuilds the sidecar`, "rebuild"];
  }
}

export function historyNote(h: LastHistory): string {
  switch (h.action) {
    case "rollback":
      return `rolled back ${h.at}`;
    case "migration_failed":
      return `last migration failed ${h.at}: ${h.message}`;
    default:
      return `recovered ${h.at}: ${h.message}`;
  }
}

/** Wrap anything status throws for one file so callers can report it. */
export function statusError(err: unknown, file: string): SessfmtError {
  return err instanceof SessfmtError ? err : ioError(err, file, "status failed");
}
