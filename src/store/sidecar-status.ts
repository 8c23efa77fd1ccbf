import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** What sits beside a JSONL session file of the V2 sidecar. */
export type CatalogSidecarStatus = "none" | "present" | "partial";

/**
 * A first look at a session's sidecar from the directory listing alone (no reading of
 * the sidecar): a `<stem>.v2.staging-*` dir, or a `<stem>.v2/` without manifest.json,
 * is "partial"; `<stem>.v2/manifest.json` is "present"; nothing is "none". The sidecar
 * store's own status (fresh, stale, corrupt) is finer and can replace this one.
 * `names`: the directory's entries, when the caller has listed it already.
 */
export async function catalogSidecarStatus(sessionFile: string, names?: readonly string[]): Promise<CatalogSidecarStatus> {
  const dir = dirname(sessionFile);
  const base = basename(sessionFile);
  const stem = base.endsWith(".jsonl") ? base.slice(0, -".jsonl".length) : base;
  let listing = names;
  if (listing === undefined) {
    try {
      listing = await readdir(dir);
    } catch {
      return "none";
    }
  }
  if (listing.some((n) => n.startsWith(`${stem}.v2.staging-`))) return "partial";
  if (!listing.includes(`${stem}.v2`)) return "none";
  try {
    return (await stat(join(dir, `${stem}.v2`, "manifest.json"))).isFile() ? "present" : "partial";
  } catch {
    return "partial";
  }
}

/** The sidecar dirs (complete or staging) that belong to a session file, by path. */
export function sidecarDirs(sessionFile: string, names: readonly string[]): string[] {
  const dir = dirname(sessionFile);
  const base = basename(sessionFile);
  const stem = base.endsWith(".jsonl") ? base.slice(0, -".jsonl".length) : base;
  return names.filter((n) => n === `${stem}.v2` || n.startsWith(`${stem}.v2.staging-`)).map((n) => join(dir, n));
}
