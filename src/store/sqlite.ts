import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { SessfmtError } from "../format/index.js";

/** An open better-sqlite3 database. */
export type SqliteDb = Database.Database;

/** Longest wait for another connection's write lock before E_LOCKED (busy_timeout). */
export const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface OpenSqliteOptions {
  readonly?: boolean;
  /** Refuse to create the file (default true for readonly). */
  mustExist?: boolean;
  busyTimeoutMs?: number;
}

/** The first 16 bytes of every SQLite database file. */
export const SQLITE_MAGIC = Buffer.from("SQLite format 3\u0000", "latin1");

/** Open a database; every failure becomes a SessfmtError naming the file. */
export function openSqlite(file: string, opts: OpenSqliteOptions = {}): SqliteDb {
  const readonly = opts.readonly ?? false;
  const mustExist = opts.mustExist ?? readonly;
  if (mustExist && !existsSync(file)) throw new SessfmtError("E_NOT_FOUND", "cannot open: no such file", { file });
  try {
    return new Database(file, { readonly, fileMustExist: mustExist, timeout: opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (err) {
    throw sqliteError(err, file, "cannot open");
  }
}

/** Turn WAL on (it persists in the file). Another connection's lock is waited for, not fatal. */
export function useWal(db: SqliteDb, file: string): void {
  try {
    db.pragma("journal_mode = WAL");
  } catch (err) {
    throw sqliteError(err, file, "cannot switch to WAL");
  }
}

/** The SQLite result code of an error thrown by better-sqlite3 ("SQLITE_BUSY", ...). */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** True for errors that mean the file is not a usable database. */
export function isCorruptionError(err: unknown): boolean {
  const code = sqliteCode(err) ?? (err instanceof SessfmtError ? ((err.data as { sqliteCode?: string } | undefined)?.sqliteCode ?? "") : "");
  return code === "SQLITE_NOTADB" || code.startsWith("SQLITE_CORRUPT");
}

/**
 * Map a better-sqlite3 error: busy/locked -> E_LOCKED, not a database / corrupt ->
 * E_STORE_CORRUPT, cannot open -> E_IO, anything else -> E_SQLITE.
 * SessfmtErrors pass through. The SQLite code is kept in `data.sqliteCode`.
 */
export function sqliteError(err: unknown, file: string, action: string): SessfmtError {
  if (err instanceof SessfmtError) return err;
  const code = sqliteCode(err);
  const message = `${action}: ${code ? `${code}: ` : ""}${(err as Error)?.message ?? String(err)}`;
  const details = { file, cause: err, data: { sqliteCode: code } };
  if (code === "SQLITE_BUSY" || code?.startsWith("SQLITE_BUSY_") || code === "SQLITE_LOCKED") return new SessfmtError("E_LOCKED", message, details);
  if (isCorruptionError(err)) return new SessfmtError("E_STORE_CORRUPT", message, details);
  if (code === "SQLITE_CANTOPEN") return new SessfmtError("E_IO", message, details);
  return new SessfmtError("E_SQLITE", message, details);
}
