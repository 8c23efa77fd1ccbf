import { statSync } from "node:fs";
import { rename, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SessfmtError, defaultSessionsRoot, isSessfmtError, openSession, withLock } from "../format/index.js";
import { ioError } from "../format/errors.js";
import { CATALOG_FILE, ensureCatalogSchema } from "./catalog-schema.js";
import { scanCatalogRoot, type ScannedFile } from "./catalog-scan.js";
import { DEFAULT_BUSY_TIMEOUT_MS, isCorruptionError, openSqlite, sqliteError, useWal, type SqliteDb } from "./sqlite.js";
import type { CatalogSidecarStatus } from "./sidecar-status.js";
import { UPSERT, rowToSession, rowValues, whereClause, type Parsed, type Row } from "./catalog-rows.js";
import { summarizeSession } from "./summary.js";

export interface CatalogOptions {
  /** The catalog file (default `<root>/session-index.sqlite`). */
  file?: string;
  /** Longest wait for another process's write lock (default 10 000 ms). */
  busyTimeoutMs?: number;
}

export interface CatalogRefreshOptions {
  /** Read every file again, whatever its size and mtime. */
  full?: boolean;
  signal?: AbortSignal;
  /** Files read so far and files to read. */
  onProgress?: (done: number, total: number) => void;
}

export interface CatalogRefreshReport {
  /** `*.jsonl` files under the root. */
  files: number;
  added: number;
  updated: number;
  unchanged: number;
  removed: number;
  /** Files read in this refresh that are not readable sessions (rows with `error`). */
  failed: number;
  /** Files that changed while being read; the next refresh reads them again. */
  changing: number;
  /** Where a corrupt catalog file was moved before it was rebuilt. */
  movedAside?: string;
}

/** One session as the catalog lists it. */
export interface CatalogSession {
  /** Relative to the root, "/"-separated. */
  path: string;
  /** Absolute path. */
  file: string;
  id: string;
  cwd: string;
  name?: string;
  autoName?: string;
  parentSession?: string;
  version: number;
  dialect: string;
  created?: string;
  modified: string;
  size: number;
  entryCount: number;
  messageCount: number;
  tokensIn: number;
  tokensOut: number;
  cacheRead: number;
  cacheWrite: number;
  cost: number;
  models: string[];
  branchCount: number;
  labelCount: number;
  sidecar: CatalogSidecarStatus;
  diagnostics: number;
  archived: boolean;
}

export interface CatalogQuery {
  /** Sessions whose cwd is this directory or lies under it. */
  cwd?: string;
  /** Case-insensitive substring of the name (or, without one, the auto name). */
  name?: string;
  /** Modified at or after / at or before. */
  since?: Date | string;
  until?: Date | string;
  /** Case-insensitive substring of a "provider/model" the session used. */
  model?: string;
  /** Default "exclude". */
  archived?: "exclude" | "include" | "only";
  limit?: number;
}

/** Totals of a group of sessions. Tokens and cost come from assistant messages. */
export interface CatalogTotals {
  sessions: number;
  messages: number;
  tokensIn: number;
  tokensOut: number;
  cost: number;
}

export interface CatalogStats {
  totals: CatalogTotals;
  /** Per "provider/model"; messages = that model's replies. */
  byModel: (CatalogTotals & { model: string })[];
  /** Per "YYYY-MM" of message time; messages of every role. */
  byMonth: (CatalogTotals & { month: string })[];
}


/** Results written per transaction: the write lock is held only briefly. */
const WRITE_BATCH = 100;

/**
 * The archive catalog `session-index.sqlite` at a sessions root: one row per `*.jsonl`
 * file, refreshed incrementally (only files whose size or mtime changed are read;
 * rows of removed files are deleted). Several processes may refresh at once: reads
 * happen outside transactions, writes in short BEGIN IMMEDIATE transactions that
 * re-check each file's size and mtime, with a busy timeout. It is a cache: `full`
 * rebuilds it from the files, and a corrupt catalog file is moved aside and rebuilt.
 */
export class SessionCatalog {
  readonly root: string;
  readonly file: string;
  private db: SqliteDb;
  private readonly busyTimeoutMs: number;
  private movedAside: string | undefined;

  private constructor(root: string, file: string, db: SqliteDb, busyTimeoutMs: number, movedAside: string | undefined) {
    this.root = root;
    this.file = file;
    this.db = db;
    this.busyTimeoutMs = busyTimeoutMs;
    this.movedAside = movedAside;
  }

  /** Open (creating it if needed) the catalog of `root` (default defaultSessionsRoot()). */
  static async open(root: string = defaultSessionsRoot(), opts: CatalogOptions = {}): Promise<SessionCatalog> {
    const absRoot = resolve(root);
    try {
      if (!(await stat(absRoot)).isDirectory()) throw new SessfmtError("E_NOT_A_FILE", "the sessions root is not a directory", { file: absRoot });
    } catch (err) {
      if (isSessfmtError(err)) throw err;
      throw new SessfmtError("E_NOT_FOUND", "no sessions root here", { file: absRoot, cause: err });
    }
    const file = resolve(opts.file ?? join(absRoot, CATALOG_FILE));
    const busy = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
    try {
      return new SessionCatalog(absRoot, file, connect(file, busy), busy, undefined);
    } catch (err) {
      if (!isCorruptionError(err)) throw err;
      const aside = await moveAsideIfCorrupt(file, busy);
      return new SessionCatalog(absRoot, file, connect(file, busy), busy, aside);
    }
  }

  /** Bring the catalog up to date with the files. A corrupt catalog is rebuilt, never fatal. */
  async refresh(opts: CatalogRefreshOptions = {}): Promise<CatalogRefreshReport> {
    let report: CatalogRefreshReport;
    try {
      report = await this.refreshOnce(opts);
    } catch (err) {
      if (!isCorruptionError(err)) throw err;
      await this.recover();
      report = await this.refreshOnce(opts);
    }
    if (this.movedAside !== undefined) {
      report.movedAside = this.movedAside;
      this.movedAside = undefined;
    }
    return report;
  }

  /** Sessions matching the query, most recently modified first (then by path). */
  list(q: CatalogQuery = {}): CatalogSession[] {
    const { where, params } = whereClause(q);
    const limit = q.limit !== undefined ? ` LIMIT ${Math.max(0, Math.floor(q.limit))}` : "";
    try {
      const rows = this.db.prepare(`SELECT * FROM sessions s WHERE ${where} ORDER BY s.modified DESC, s.path ASC${limit}`).all(...params) as Row[];
      return rows.map((r) => rowToSession(this.root, r));
    } catch (err) {
      throw sqliteError(err, this.file, "cannot query the catalog");
    }
  }

  /** Files the catalog holds as unreadable, with why. */
  failures(): { path: string; error: string }[] {
    return this.db.prepare("SELECT path, error FROM sessions WHERE error IS NOT NULL ORDER BY path").all() as { path: string; error: string }[];
  }

  /** Totals, per model and per month, over the sessions the query selects. */
  stats(q: CatalogQuery = {}): CatalogStats {
    const { where, params } = whereClause(q);
    const sums = "SUM(u.messages) AS messages, SUM(u.tokens_in) AS tokensIn, SUM(u.tokens_out) AS tokensOut, SUM(u.cost) AS cost";
    try {
      const totals = this.db
        .prepare(
          `SELECT COUNT(*) AS sessions, COALESCE(SUM(message_count), 0) AS messages, COALESCE(SUM(tokens_in), 0) AS tokensIn,
                  COALESCE(SUM(tokens_out), 0) AS tokensOut, COALESCE(SUM(cost), 0) AS cost FROM sessions s WHERE ${where}`,
        )
        .get(...params) as CatalogTotals;
      const byModel = this.db
        .prepare(
          `SELECT u.provider || '/' || u.model AS model, COUNT(DISTINCT u.path) AS sessions, ${sums}
           FROM session_usage u JOIN sessions s ON s.path = u.path WHERE ${where} AND u.model != ''
           GROUP BY u.provider, u.model ORDER BY cost DESC, model ASC`,
        )
        .all(...params) as CatalogStats["byModel"];
      const byMonth = this.db
        .prepare(
          `SELECT u.month AS month, COUNT(DISTINCT u.path) AS sessions, ${sums}
           FROM session_usage u JOIN sessions s ON s.path = u.path WHERE ${where}
           GROUP BY u.month ORDER BY u.month ASC`,
        )
        .all(...params) as CatalogStats["byMonth"];
      return { totals, byModel, byMonth };
    } catch (err) {
      throw sqliteError(err, this.file, "cannot query the catalog");
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  // ---- refresh ----

  private async refreshOnce(opts: CatalogRefreshOptions): Promise<CatalogRefreshReport> {
    const scanned = await scanCatalogRoot(this.root, opts.signal);
    const known = new Map((this.db.prepare("SELECT path, size, mtime_ms AS mtimeMs, sidecar FROM sessions").all() as Known[]).map((k) => [k.path, k]));
    const report: CatalogRefreshReport = { files: scanned.length, added: 0, updated: 0, unchanged: 0, removed: 0, failed: 0, changing: 0 };
    const stale = scanned.filter((s) => opts.full || !sameFingerprint(known.get(s.path), s));
    const current = this.db.prepare("SELECT size, mtime_ms AS mtimeMs FROM sessions WHERE path = ?");
    let batch: Parsed[] = [];
    let done = 0;
    opts.onProgress?.(0, stale.length);
    for (const s of stale) {
      if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "catalog refresh aborted", { file: this.root, cause: opts.signal.reason });
      // Another process may have indexed this very version of the file meanwhile.
      if (!opts.full && sameFingerprint(current.get(s.path) as Known | undefined, s)) {
        report.unchanged++;
      } else {
        batch.push(await readForCatalog(s, opts.signal));
        if (batch.length >= WRITE_BATCH) {
          this.writeBatch(batch, known, report);
          batch = [];
        }
      }
      opts.onProgress?.(++done, stale.length);
    }
    this.writeBatch(batch, known, report);
    report.unchanged += scanned.length - stale.length;
    this.finishRefresh(scanned, known, report);
    return report;
  }

  /** Store read results, each only if its file still has the size and mtime it was read at. */
  private writeBatch(batch: Parsed[], known: Map<string, Known>, report: CatalogRefreshReport): void {
    if (batch.length === 0) return;
    const now = new Date().toISOString();
    const del = this.db.prepare("DELETE FROM session_usage WHERE path = ?");
    const upsert = this.db.prepare(UPSERT);
    const usage = this.db.prepare(
      "INSERT INTO session_usage (path, month, provider, model, messages, tokens_in, tokens_out, cache_read, cache_write, cost) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    this.write(() => {
      for (const p of batch) {
        if (!stillSame(p.scan)) {
          report.changing++;
          continue;
        }
        upsert.run(rowValues(p, now));
        del.run(p.scan.path);
        for (const u of p.summary?.usage ?? []) {
          usage.run(p.scan.path, u.month, u.provider, u.model, u.messages, u.tokensIn, u.tokensOut, u.cacheRead, u.cacheWrite, u.cost);
        }
        if (known.has(p.scan.path)) report.updated++;
        else report.added++;
        if (p.error !== undefined) report.failed++;
      }
    });
  }

  /** Sidecar statuses that changed without their file, rows of removed files, refresh time. */
  private finishRefresh(scanned: ScannedFile[], known: Map<string, Known>, report: CatalogRefreshReport): void {
    const present = new Set(scanned.map((s) => s.path));
    const setSidecar = this.db.prepare("UPDATE sessions SET sidecar = ? WHERE path = ? AND sidecar != ?");
    const delRow = this.db.prepare("DELETE FROM sessions WHERE path = ?");
    const delUsage = this.db.prepare("DELETE FROM session_usage WHERE path = ?");
    this.write(() => {
      for (const s of scanned) {
        const k = known.get(s.path);
        if (k && k.sidecar !== s.sidecar) setSidecar.run(s.sidecar, s.path, s.sidecar);
      }
      for (const path of known.keys()) {
        if (present.has(path)) continue;
        // Another process may have seen it appear after this scan: delete only what is gone.
        if (existsSync(join(this.root, path))) continue;
        report.removed += delRow.run(path).changes;
        delUsage.run(path);
      }
      this.db.prepare("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('refreshed_at', ?)").run(new Date().toISOString());
      this.db.prepare("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('root', ?)").run(this.root);
    });
  }

  private write(fn: () => void): void {
    try {
      this.db.transaction(fn).immediate();
    } catch (err) {
      throw sqliteError(err, this.file, "cannot write the catalog");
    }
  }

  /** The catalog file went bad while open: move it aside and start a new one. */
  private async recover(): Promise<void> {
    this.close();
    this.movedAside = (await moveAsideIfCorrupt(this.file, this.busyTimeoutMs)) ?? this.movedAside;
    this.db = connect(this.file, this.busyTimeoutMs);
  }
}

interface Known {
  path: string;
  size: number;
  mtimeMs: number;
  sidecar: string;
}

function sameFingerprint(k: { size: number; mtimeMs: number } | undefined, s: ScannedFile): boolean {
  return k !== undefined && k.size === s.size && k.mtimeMs === s.mtimeMs;
}

function stillSame(s: ScannedFile): boolean {
  try {
    const st = statSync(s.file);
    return st.size === s.size && st.mtimeMs === s.mtimeMs;
  } catch {
    return false;
  }
}

function existsSync(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Open and summarise one file; a file that is not a readable session becomes an error row. */
async function readForCatalog(scan: ScannedFile, signal: AbortSignal | undefined): Promise<Parsed> {
  try {
    const session = await openSession(scan.file, { signal });
    return { scan, summary: summarizeSession(session, new Date(scan.mtimeMs)) };
  } catch (err) {
    if (!isSessfmtError(err) || err.code === "E_ABORTED") throw err;
    return { scan, error: `${err.code}: ${err.message}` };
  }
}

/** Open the catalog: WAL, busy timeout, tables of this version. Throws corruption errors as they are. */
function connect(file: string, busyTimeoutMs: number): SqliteDb {
  const db = openSqlite(file, { busyTimeoutMs });
  try {
    useWal(db, file);
    ensureCatalogSchema(db);
    return db;
  } catch (err) {
    db.close();
    if (isCorruptionError(err)) throw err;
    throw sqliteError(err, file, "cannot open the catalog");
  }
}

/**
 * Move a corrupt catalog (and its -wal/-shm) to `<file>.corrupt-<time>-<pid>`, under a
 * lock so that concurrent processes move it once: whoever comes second finds a good
 * file (the first one's new catalog) and leaves it. Returns where it went, if moved.
 */
async function moveAsideIfCorrupt(file: string, busyTimeoutMs: number): Promise<string | undefined> {
  return withLock(
    file,
    async () => {
      try {
        connect(file, busyTimeoutMs).close();
        return undefined;
      } catch (err) {
        if (!isCorruptionError(err)) throw err;
      }
      const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}-${process.pid}`;
      for (const suffix of ["", "-wal", "-shm"]) {
        await rename(`${file}${suffix}`, `${aside}${suffix}`).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw ioError(err, `${file}${suffix}`, "cannot move the corrupt catalog aside");
        });
      }
      return aside;
    },
    { timeoutMs: busyTimeoutMs },
  );
}
