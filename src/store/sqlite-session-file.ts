import { randomBytes } from "node:crypto";
import { chmod, link, open, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SessfmtError, openSessionFromBuffer, scanBuffer, type Session } from "../format/index.js";
import { ioError } from "../format/errors.js";
import { syncDirectory } from "../format/durability.js";
import { SQLITE_MAGIC, openSqlite, sqliteError, useWal, type SqliteDb } from "./sqlite.js";
import type { AppendPlan } from "./append-plan.js";

/**
 * SQLite session files: the Rust port's three tables, which it reads as they are, plus
 * `sessfmt_lines`, the physical layout of the JSONL form, so a JSONL file converts to
 * SQLite and back byte for byte (invalid lines, blank lines, CRLF, a BOM and a torn
 * last line included):
 *
 *   pi_session_header(id TEXT PRIMARY KEY, json TEXT NOT NULL)  the header line's exact text
 *   pi_session_entries(seq INTEGER PRIMARY KEY, json TEXT NOT NULL)  each entry line's exact text, file order from 1
 *   pi_session_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)  message_count, name (as the Rust port keeps them), sessfmt_layout
 *   sessfmt_lines(line INTEGER PRIMARY KEY, seq INTEGER, eol INTEGER NOT NULL, raw BLOB)
 *     one row per physical line: seq 0 = the header, n = entry n, NULL = not an entry;
 *     eol 0 none / 1 "\n" / 2 "\r\n"; raw = the line's exact bytes whenever they are not
 *     the referenced json text (lines that are not entries; a header after a BOM).
 *
 * Entries the Rust port appends (no layout row) follow the laid-out lines in seq order.
 */

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pi_session_header (id TEXT PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pi_session_entries (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pi_session_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessfmt_lines (line INTEGER PRIMARY KEY, seq INTEGER, eol INTEGER NOT NULL, raw BLOB);
`;

/** Version of the sessfmt_lines layout, in pi_session_meta under "sessfmt_layout". */
export const SQLITE_LAYOUT_VERSION = "1";

const EOL = [Buffer.alloc(0), Buffer.from("\n"), Buffer.from("\r\n")] as const;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

interface LayoutRow {
  line: number;
  seq: number | null;
  eol: 0 | 1 | 2;
  raw: Buffer | null;
}

/** True when the file starts with SQLite's magic bytes. */
export async function isSqliteFile(file: string): Promise<boolean> {
  try {
    const fh = await open(file, "r");
    try {
      const buf = Buffer.alloc(SQLITE_MAGIC.length);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      return bytesRead === buf.length && buf.equals(SQLITE_MAGIC);
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}

/**
 * Create a SQLite session file holding exactly the given JSONL bytes. The database is
 * built under a temp name in the same directory and hard-linked into place, so the file
 * appears complete or not at all, and an existing file is never replaced (E_EXISTS).
 * Throws what openSession would for bytes that are not a session (E_HEADER_INVALID, ...).
 */
export async function createSqliteSessionFile(file: string, jsonl: Buffer, opts: { durable?: boolean } = {}): Promise<{ lines: number; entries: number; session: Session }> {
  const session = openSessionFromBuffer(jsonl, { name: file });
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  let lines = 0;
  try {
    const db = openSqlite(temp);
    try {
      db.exec(SCHEMA);
      lines = fill(db, jsonl, session, file);
      useWal(db, temp);
    } catch (err) {
      throw sqliteError(err, file, "cannot write the SQLite session");
    } finally {
      db.close(); // the last close checkpoints the WAL into the file and removes it
    }
    await chmod(temp, 0o600).catch((err: unknown) => Promise.reject(ioError(err, temp, "cannot chmod")));
    if (opts.durable ?? true) await syncFileAt(temp);
    try {
      await link(temp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new SessfmtError("E_EXISTS", "file already exists; not overwritten", { file, cause: err });
      throw ioError(err, file, "cannot create");
    }
    if (opts.durable ?? true) await syncDirectory(dirname(file));
  } finally {
    for (const p of [temp, `${temp}-wal`, `${temp}-shm`, `${temp}-journal`]) await unlink(p).catch(() => undefined);
  }
  return { lines, entries: session.records.length, session };
}

async function syncFileAt(file: string): Promise<void> {
  try {
    const fh = await open(file, "r+");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw ioError(err, file, "cannot fsync");
  }
}

/** Insert every physical line of `jsonl` (in one transaction); returns the line count. */
function fill(db: SqliteDb, jsonl: Buffer, session: Session, file: string): number {
  const recordAt = new Map<number, number>();
  session.records.forEach((r, i) => recordAt.set(r.line, i + 1));
  const headerLine = session.headerSpan.line;
  const insHeader = db.prepare("INSERT INTO pi_session_header (id, json) VALUES (?, ?)");
  const insEntry = db.prepare("INSERT INTO pi_session_entries (seq, json) VALUES (?, ?)");
  const insLine = db.prepare("INSERT INTO sessfmt_lines (line, seq, eol, raw) VALUES (?, ?, ?, ?)");
  const insMeta = db.prepare("INSERT OR REPLACE INTO pi_session_meta (key, value) VALUES (?, ?)");
  let count = 0;
  db.transaction(() => {
    scanBuffer(jsonl, (bytes, span) => {
      if (span.oversize) {
        throw new SessfmtError("E_INVALID_ARGUMENT", `line ${span.line} is too long to store in SQLite`, { file, line: span.line, offset: span.offset });
      }
      count++;
      if (span.line === headerLine) {
        const bom = bytes.subarray(0, 3).equals(BOM);
        insHeader.run(session.id, bytes.subarray(bom ? 3 : 0).toString("utf8"));
        insLine.run(span.line, 0, span.eol, bom ? Buffer.from(bytes) : null);
        return;
      }
      const seq = recordAt.get(span.line);
      if (seq !== undefined) {
        insEntry.run(seq, bytes.toString("utf8"));
        insLine.run(span.line, seq, span.eol, null);
      } else {
        insLine.run(span.line, null, span.eol, Buffer.from(bytes));
      }
    });
    insMeta.run("message_count", String(session.messageCount));
    insMeta.run("name", session.name ?? "");
    insMeta.run("sessfmt_layout", SQLITE_LAYOUT_VERSION);
  })();
  return count;
}

/** The session's JSONL bytes, rebuilt from the tables. */
export function readSqliteSessionFile(file: string): Buffer {
  const db = openSqlite(file, { readonly: true });
  try {
    return jsonlOf(db, file);
  } catch (err) {
    throw sqliteError(err, file, "cannot read the SQLite session");
  } finally {
    db.close();
  }
}

/** The session id a SQLite session file holds, or undefined when it is not one. */
export function readSqliteSessionId(file: string): string | undefined {
  let db: SqliteDb | undefined;
  try {
    db = openSqlite(file, { readonly: true });
    const row = db.prepare("SELECT id FROM pi_session_header LIMIT 1").get() as { id?: unknown } | undefined;
    return typeof row?.id === "string" && row.id.length > 0 ? row.id : undefined;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

function hasLayoutTable(db: SqliteDb): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sessfmt_lines'").get() !== undefined;
}

function layoutRows(db: SqliteDb): LayoutRow[] {
  return hasLayoutTable(db) ? (db.prepare("SELECT line, seq, eol, raw FROM sessfmt_lines ORDER BY line").all() as LayoutRow[]) : [];
}

/**
 * Lines in order: laid-out lines by line number, then entries without a layout row by
 * seq (a file the Rust port wrote or appended to). Without a header row in the layout,
 * the header comes first.
 */
function jsonlOf(db: SqliteDb, file: string): Buffer {
  const header = db.prepare("SELECT id, json FROM pi_session_header LIMIT 1").get() as { id: string; json: string } | undefined;
  if (!header) throw new SessfmtError("E_STORE_CORRUPT", "SQLite session has no header row (pi_session_header is empty)", { file });
  const entries = new Map<number, string>();
  for (const row of db.prepare("SELECT seq, json FROM pi_session_entries ORDER BY seq").iterate() as IterableIterator<{ seq: number; json: string }>) {
    entries.set(row.seq, row.json);
  }
  const layout = layoutRows(db);
  const parts: Buffer[] = [];
  let lastEol: 0 | 1 | 2 = 1;
  const push = (bytes: Buffer, eol: 0 | 1 | 2): void => {
    // A line after a last line without terminator would glue onto it.
    if (lastEol === 0) parts.push(EOL[1]);
    parts.push(bytes, EOL[eol]);
    lastEol = eol;
  };
  if (!layout.some((r) => r.seq === 0)) push(Buffer.from(header.json, "utf8"), 1);
  const laidOut = new Set<number>();
  for (const r of layout) {
    if (r.raw !== null) {
      push(Buffer.from(r.raw), r.eol);
    } else if (r.seq === 0) {
      push(Buffer.from(header.json, "utf8"), r.eol);
    } else {
      const json = r.seq === null ? undefined : entries.get(r.seq);
      if (json === undefined) {
        throw new SessfmtError("E_STORE_CORRUPT", `layout line ${r.line} refers to entry seq ${r.seq}, which pi_session_entries does not have`, { file });
      }
      push(Buffer.from(json, "utf8"), r.eol);
    }
    if (r.seq !== null) laidOut.add(r.seq);
  }
  for (const [seq, json] of entries) if (!laidOut.has(seq)) push(Buffer.from(json, "utf8"), 1);
  return Buffer.concat(parts);
}

/**
 * Append to a SQLite session file in one IMMEDIATE transaction: the session is read
 * inside it (so no other writer slips in between), `plan` decides the entries, and they
 * are stored with layout rows and fresh meta counts. Entries the Rust port added without
 * layout rows get them first; a last line without terminator gets "\n" (as the JSONL
 * writer restores it), so the new lines start on a line of their own.
 */
export function appendToSqliteSessionFile(file: string, plan: (session: Session) => AppendPlan): AppendPlan {
  const db = openSqlite(file, { mustExist: true });
  try {
    useWal(db, file);
    db.exec(SCHEMA);
    return db
      .transaction(() => {
        const session = openSessionFromBuffer(jsonlOf(db, file), { name: file });
        const p = plan(session);
        const lastLine = (): { line: number; eol: number } | undefined =>
          db.prepare("SELECT line, eol FROM sessfmt_lines ORDER BY line DESC LIMIT 1").get() as { line: number; eol: number } | undefined;
        const torn = lastLine();
        if (torn && torn.eol === 0) db.prepare("UPDATE sessfmt_lines SET eol = 1 WHERE line = ?").run(torn.line);
        adoptUnlaidEntries(db);
        let line = lastLine()?.line ?? 0;
        let seq = (db.prepare("SELECT COALESCE(MAX(seq), 0) AS m FROM pi_session_entries").get() as { m: number }).m;
        const insEntry = db.prepare("INSERT INTO pi_session_entries (seq, json) VALUES (?, ?)");
        const insLine = db.prepare("INSERT INTO sessfmt_lines (line, seq, eol, raw) VALUES (?, ?, 1, NULL)");
        for (const text of p.lines) {
          insEntry.run(++seq, text);
          insLine.run(++line, seq);
        }
        const meta = db.prepare("INSERT OR REPLACE INTO pi_session_meta (key, value) VALUES (?, ?)");
        meta.run("message_count", String(p.messageCount));
        meta.run("name", p.name ?? "");
        meta.run("sessfmt_layout", SQLITE_LAYOUT_VERSION);
        return p;
      })
      .immediate();
  } catch (err) {
    throw sqliteError(err, file, "cannot append to the SQLite session");
  } finally {
    db.close();
  }
}

/** Give layout rows to the header and entries that have none, in the order jsonlOf reads them. */
function adoptUnlaidEntries(db: SqliteDb): void {
  const layout = layoutRows(db);
  const laidOut = new Set(layout.filter((r) => r.seq !== null).map((r) => r.seq as number));
  let line = layout.length > 0 ? (layout[layout.length - 1] as LayoutRow).line : 0;
  const ins = db.prepare("INSERT INTO sessfmt_lines (line, seq, eol, raw) VALUES (?, ?, 1, NULL)");
  if (!laidOut.has(0)) {
    if (line > 0) {
      // The header is the first line. Shifted in two steps: line is the primary key.
      db.prepare("UPDATE sessfmt_lines SET line = -line - 1").run();
      db.prepare("UPDATE sessfmt_lines SET line = -line").run();
    }
    ins.run(1, 0);
    line += 1;
  }
  const unlaid = db.prepare("SELECT seq FROM pi_session_entries ORDER BY seq").pluck().all() as number[];
  for (const seq of unlaid) if (!laidOut.has(seq)) ins.run(++line, seq);
}
