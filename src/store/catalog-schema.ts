import type { SqliteDb } from "./sqlite.js";

/** File name of the archive catalog at a sessions root. */
export const CATALOG_FILE = "session-index.sqlite";

/** Bumped whenever the tables change; a catalog of another version is rebuilt from the files. */
export const CATALOG_SCHEMA_VERSION = "1";

/**
 * The archive catalog: a cache over the session files under a root, never the source of
 * truth. `path` is relative to the root with "/" separators, so a root can move. A row
 * whose file could not be read as a session has `error` set and no session fields.
 */
const TABLES = `
CREATE TABLE catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
  path TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  mtime_ms REAL NOT NULL,
  archived INTEGER NOT NULL,
  sidecar TEXT NOT NULL,
  error TEXT,
  id TEXT,
  cwd TEXT,
  name TEXT,
  auto_name TEXT,
  parent_session TEXT,
  version INTEGER,
  dialect TEXT,
  created TEXT,
  modified TEXT,
  entry_count INTEGER,
  message_count INTEGER,
  tokens_in INTEGER,
  tokens_out INTEGER,
  cache_read INTEGER,
  cache_write INTEGER,
  cost REAL,
  models TEXT,
  branch_count INTEGER,
  label_count INTEGER,
  diagnostics INTEGER,
  indexed_at TEXT NOT NULL
);
CREATE INDEX sessions_modified ON sessions (modified);
CREATE INDEX sessions_id ON sessions (id);
CREATE TABLE session_usage (
  path TEXT NOT NULL,
  month TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  messages INTEGER NOT NULL,
  tokens_in INTEGER NOT NULL,
  tokens_out INTEGER NOT NULL,
  cache_read INTEGER NOT NULL,
  cache_write INTEGER NOT NULL,
  cost REAL NOT NULL,
  PRIMARY KEY (path, month, provider, model)
);
`;

/**
 * Create the tables, or drop and recreate them when they are of another version, in
 * one IMMEDIATE transaction (several processes may open a new catalog at once).
 */
export function ensureCatalogSchema(db: SqliteDb): void {
  db.transaction(() => {
    const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'catalog_meta'").get() !== undefined;
    const version = hasMeta ? (db.prepare("SELECT value FROM catalog_meta WHERE key = 'schema_version'").pluck().get() as string | undefined) : undefined;
    if (version === CATALOG_SCHEMA_VERSION) return;
    for (const t of ["session_usage", "sessions", "catalog_meta"]) db.exec(`DROP TABLE IF EXISTS ${t}`);
    db.exec(TABLES);
    db.prepare("INSERT INTO catalog_meta (key, value) VALUES ('schema_version', ?)").run(CATALOG_SCHEMA_VERSION);
  }).immediate();
}
