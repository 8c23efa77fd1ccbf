import { resolve, sep } from "node:path";
import { SessfmtError } from "../format/index.js";
import type { SessionListQuery, StoredSessionInfo } from "./types.js";

/** A time bound as epoch ms; undefined when absent. Throws E_INVALID_ARGUMENT for garbage. */
export function timeBound(v: Date | string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = v instanceof Date ? v.getTime() : Date.parse(v);
  if (Number.isNaN(ms)) throw new SessfmtError("E_INVALID_ARGUMENT", `${what} is not a date: ${JSON.stringify(String(v))}`);
  return ms;
}

/** True when `cwd` is `dir` or lies under it (plain string paths, as headers hold them). */
export function cwdMatches(cwd: string, dir: string): boolean {
  const d = dir.length > 1 && (dir.endsWith("/") || dir.endsWith(sep)) ? dir.slice(0, -1) : dir;
  return cwd === d || cwd.startsWith(d.endsWith("/") ? d : `${d}/`) || (sep !== "/" && cwd.startsWith(`${d}${sep}`));
}

/** Apply a SessionListQuery to summaries (the in-process stores' list()). */
export function applyListQuery(items: StoredSessionInfo[], q: SessionListQuery = {}): StoredSessionInfo[] {
  const since = timeBound(q.since, "since");
  const until = timeBound(q.until, "until");
  const archived = q.archived ?? "exclude";
  const needle = q.name?.toLowerCase();
  const dir = q.cwd === undefined ? undefined : resolve(q.cwd);
  const out = items.filter((s) => {
    if (archived === "exclude" && s.archived) return false;
    if (archived === "only" && !s.archived) return false;
    if (dir !== undefined && !cwdMatches(s.cwd, dir)) return false;
    if (needle !== undefined && !(s.name ?? s.autoName ?? "").toLowerCase().includes(needle)) return false;
    const t = Date.parse(s.modified);
    if (since !== undefined && t < since) return false;
    if (until !== undefined && t > until) return false;
    return true;
  });
  const sort = q.sort ?? "modified";
  const dirSign = (q.order ?? "desc") === "desc" ? -1 : 1;
  const key = (s: StoredSessionInfo): string => (sort === "name" ? (s.name ?? s.autoName ?? "").toLowerCase() : sort === "created" ? (s.created ?? "") : s.modified);
  out.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return (ka < kb ? -1 : 1) * dirSign;
    return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * dirSign;
  });
  return q.limit !== undefined ? out.slice(0, Math.max(0, q.limit)) : out;
}
