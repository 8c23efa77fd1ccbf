import { join, resolve } from "node:path";
import type { CatalogQuery, CatalogSession } from "./catalog.js";
import { timeBound } from "./list-query.js";
import type { CatalogSidecarStatus } from "./sidecar-status.js";
import type { SessionSummary } from "./summary.js";
import type { ScannedFile } from "./catalog-scan.js";

/** How catalog rows are written from summaries, read back, and selected by a query. */

/** A file as read for the catalog: its summary, or why it is not a readable session. */
export interface Parsed {
  scan: ScannedFile;
  summary?: SessionSummary;
  error?: string;
}

export interface Row {
  path: string;
  size: number;
  mtime_ms: number;
  archived: number;
  sidecar: string;
  error: string | null;
  id: string | null;
  cwd: string | null;
  name: string | null;
  auto_name: string | null;
  parent_session: string | null;
  version: number | null;
  dialect: string | null;
  created: string | null;
  modified: string | null;
  entry_count: number | null;
  message_count: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  cache_read: number | null;
  cache_write: number | null;
  cost: number | null;
  models: string | null;
  branch_count: number | null;
  label_count: number | null;
  diagnostics: number | null;
}

const COLUMNS = [
  "path",
  "size",
  "mtime_ms",
  "archived",
  "sidecar",
  "error",
  "id",
  "cwd",
  "name",
  "auto_name",
  "parent_session",
  "version",
  "dialect",
  "created",
  "modified",
  "entry_count",
  "message_count",
  "tokens_in",
  "tokens_out",
  "cache_read",
  "cache_write",
  "cost",
  "models",
  "branch_count",
  "label_count",
  "diagnostics",
  "indexed_at",
] as const;

export const UPSERT = `INSERT OR REPLACE INTO sessions (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`;

export function rowValues(p: Parsed, indexedAt: string): Record<(typeof COLUMNS)[number], string | number | null> {
  const s = p.summary;
  return {
    path: p.scan.path,
    size: p.scan.size,
    mtime_ms: p.scan.mtimeMs,
    archived: p.scan.archived ? 1 : 0,
    sidecar: p.scan.sidecar,
    error: p.error ?? null,
    id: s?.id ?? null,
    cwd: s?.cwd ?? null,
    name: s?.name ?? null,
    auto_name: s?.autoName ?? null,
    parent_session: s?.parentSession ?? null,
    version: s?.version ?? null,
    dialect: s?.dialect ?? null,
    created: s?.created ?? null,
    modified: s?.modified ?? null,
    entry_count: s?.entryCount ?? null,
    message_count: s?.messageCount ?? null,
    tokens_in: s?.tokensIn ?? null,
    tokens_out: s?.tokensOut ?? null,
    cache_read: s?.cacheRead ?? null,
    cache_write: s?.cacheWrite ?? null,
    cost: s?.cost ?? null,
    models: s ? JSON.stringify(s.models) : null,
    branch_count: s?.branchCount ?? null,
    label_count: s?.labelCount ?? null,
    diagnostics: s?.diagnostics ?? null,
    indexed_at: indexedAt,
  };
}

export function rowToSession(root: string, r: Row): CatalogSession {
  const s: CatalogSession = {
    path: r.path,
    file: join(root, ...r.path.split("/")),
    id: r.id ?? "",
    cwd: r.cwd ?? "",
    version: r.version ?? 0,
    dialect: r.dialect ?? "ts",
    modified: r.modified ?? "",
    size: r.size,
    entryCount: r.entry_count ?? 0,
    messageCount: r.message_count ?? 0,
    tokensIn: r.tokens_in ?? 0,
    tokensOut: r.tokens_out ?? 0,
    cacheRead: r.cache_read ?? 0,
    cacheWrite: r.cache_write ?? 0,
    cost: r.cost ?? 0,
    models: r.models ? (JSON.parse(r.models) as string[]) : [],
    branchCount: r.branch_count ?? 0,
    labelCount: r.label_count ?? 0,
    sidecar: r.sidecar as CatalogSidecarStatus,
    diagnostics: r.diagnostics ?? 0,
    archived: r.archived === 1,
  };
  if (r.name !== null) s.name = r.name;
  if (r.auto_name !== null) s.autoName = r.auto_name;
  if (r.parent_session !== null) s.parentSession = r.parent_session;
  if (r.created !== null) s.created = r.created;
  return s;
}

export function whereClause(q: CatalogQuery): { where: string; params: (string | number)[] } {
  const parts = ["s.error IS NULL"];
  const params: (string | number)[] = [];
  const archived = q.archived ?? "exclude";
  if (archived === "exclude") parts.push("s.archived = 0");
  if (archived === "only") parts.push("s.archived = 1");
  if (q.cwd !== undefined) {
    const dir = resolve(q.cwd);
    const prefix = dir.endsWith("/") ? dir : `${dir}/`;
    parts.push("(s.cwd = ? OR substr(s.cwd, 1, ?) = ?)");
    params.push(dir, prefix.length, prefix);
  }
  if (q.name !== undefined) {
    parts.push("instr(lower(coalesce(s.name, s.auto_name, '')), lower(?)) > 0");
    params.push(q.name);
  }
  if (q.model !== undefined) {
    parts.push("instr(lower(s.models), lower(?)) > 0");
    params.push(q.model);
  }
  const since = timeBound(q.since, "since");
  const until = timeBound(q.until, "until");
  if (since !== undefined) {
    parts.push("s.modified >= ?");
    params.push(new Date(since).toISOString());
  }
  if (until !== undefined) {
    parts.push("s.modified <= ?");
    params.push(new Date(until).toISOString());
  }
  return { where: parts.join(" AND "), params };
}
