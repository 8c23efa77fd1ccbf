import { lstat, readdir } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { checkFreshness, INVARIANT_KEYS, readFingerprint, readManifest, type ManifestRead } from "../v2/index.js";

/**
 * The state of a session's V2 sidecar, as the catalog records it:
 * - none: no `<stem>.v2/` (and no staging dir);
 * - fresh: the sidecar holds every entry line of the JSONL;
 * - stale: the JSONL grew or changed since it was indexed, or that cannot be told (no
 *   fingerprint); `sessfmt sidecar sync` (with --rebuild when the JSONL changed) fixes it;
 * - partial: being built or left half-built (a `<stem>.v2.staging-*` dir, or a root
 *   without segments/ and index/ or without manifest.json);
 * - corrupt: the manifest does not decode or its hash does not match, it records a
 *   broken invariant, the fingerprint belongs to another session, or the root is a symlink.
 */
export type CatalogSidecarStatus = "none" | "fresh" | "stale" | "partial" | "corrupt";

/** Invariants whose `false` is a faithful copy of the JSONL (an orphaned parent), not damage. */
const SOURCE_DEFECT_INVARIANTS: ReadonlySet<string> = new Set(["parentLinksClosed"]);

/**
 * A session's sidecar status, cheaply: the directory listing, manifest.json, the
 * fingerprint and the quick freshness check (the JSONL's size and mtime; only if they
 * changed, its header and the last 64 KiB it indexed are hashed). No frame is read, so
 * damage inside a segment is `sessfmt sidecar validate`'s to find. Never throws.
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
    return await rootStatus(sessionFile, join(dir, `${stem}.v2`));
  } catch {
    // Unreadable files, a symlink inside the root (E_PATH_UNSAFE): the sidecar cannot be used.
    return "corrupt";
  }
}

async function rootStatus(sessionFile: string, root: string): Promise<CatalogSidecarStatus> {
  let st;
  try {
    st = await lstat(root);
  } catch {
    return "none"; // removed since the listing
  }
  if (st.isSymbolicLink() || !st.isDirectory()) return "corrupt";
  let mf: ManifestRead;
  try {
    mf = await readManifest(root);
  } catch (err) {
    if ((err as { code?: unknown }).code === "E_SIDECAR_MISSING") return "partial"; // neither segments/ nor index/
    throw err;
  }
  if (mf.state === "missing") return "partial";
  if (mf.state === "invalid") return "corrupt";
  const m = mf.manifest;
  if (INVARIANT_KEYS.some((k) => !m.invariants[k] && !SOURCE_DEFECT_INVARIANTS.has(k))) return "corrupt";
  const fp = await readFingerprint(root);
  if (fp.state !== "ok") return "stale";
  if (fp.fingerprint.sessionId !== m.sessionId) return "corrupt";
  // An interrupted sync: the next sync removes its leftovers.
  if (fp.fingerprint.entryCount !== m.counters.entriesTotal) return "stale";
  const freshness = await checkFreshness(sessionFile, fp.fingerprint, "quick");
  return freshness.state === "fresh" ? "fresh" : "stale";
}

/** The sidecar dirs (complete or staging) that belong to a session file, by path. */
export function sidecarDirs(sessionFile: string, names: readonly string[]): string[] {
  const dir = dirname(sessionFile);
  const base = basename(sessionFile);
  const stem = base.endsWith(".jsonl") ? base.slice(0, -".jsonl".length) : base;
  return names.filter((n) => n === `${stem}.v2` || n.startsWith(`${stem}.v2.staging-`)).map((n) => join(dir, n));
}
