import { readdir } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ioError } from "../format/errors.js";
import { childPath, sidecarPath } from "../format/paths.js";

/**
 * Every name a migration uses beside a JSONL session `<dir>/<stem>.jsonl`. All of them
 * start with `<stem>.v2` so a directory listing shows what belongs to which session, and
 * every transient directory starts with `<stem>.v2.staging-` so that tools that only know
 * that prefix (the archive catalog) see it as an unfinished sidecar.
 *
 *   <stem>.v2/                              the sidecar (SPEC 11)
 *   <stem>.v2.staging-<migrationId>/        a sidecar being built
 *   <stem>.v2.staging-<migrationId>.replaced/  the old sidecar while a rebuild swaps it out
 *   <stem>.v2.staging-<migrationId>.removed/   a sidecar being removed by rollback
 *   <stem>.v2.migration.lock/               held by migrate, rollback and recover
 *   <stem>.v2.history.ndjson                what happened to sidecars that no longer exist
 *
 * The v2 layer's own transient names (`.<stem>.v2.staging-*`, `.<stem>.v2.old-*`) are
 * recognised too: they are what an interrupted createV2SidecarFromJsonl leaves.
 */

export const STAGING_MARK = ".v2.staging-";
export const REPLACED_SUFFIX = ".replaced";
export const REMOVED_SUFFIX = ".removed";
export const HISTORY_SUFFIX = ".v2.history.ndjson";
/** The sessfmt-owned quarantine of invalid JSONL lines, inside the sidecar root. */
export const QUARANTINE_FILE = "sessfmt-quarantine.jsonl";

/** `<stem>` of `<dir>/<stem>.jsonl`. */
export function stemOf(file: string): string {
  const base = basename(file);
  return base.endsWith(".jsonl") ? base.slice(0, -".jsonl".length) : base;
}

export interface SessionPaths {
  /** The JSONL file (absolute). */
  file: string;
  dir: string;
  stem: string;
  /** `<stem>.v2` */
  root: string;
  /** `<stem>.v2.history.ndjson` */
  history: string;
  /** What withLock is given for the migration lock (`<stem>.v2.migration`, lock dir `<stem>.v2.migration.lock`). */
  migrationLockTarget: string;
  /** The sidecar root's own lock directory (held by v2 mutations such as sync). */
  rootLockDir: string;
}

export function sessionPaths(file: string): SessionPaths {
  const abs = resolve(file);
  const dir = dirname(abs);
  const stem = stemOf(abs);
  const root = sidecarPath(abs);
  return {
    file: abs,
    dir,
    stem,
    root,
    history: childPath(dir, `${stem}${HISTORY_SUFFIX}`),
    migrationLockTarget: childPath(dir, `${stem}.v2.migration`),
    rootLockDir: `${root}.lock`,
  };
}

export function stagingPath(p: SessionPaths, migrationId: string): string {
  return childPath(p.dir, `${p.stem}${STAGING_MARK}${migrationId}`);
}

export function replacedPath(p: SessionPaths, migrationId: string): string {
  return childPath(p.dir, `${p.stem}${STAGING_MARK}${migrationId}${REPLACED_SUFFIX}`);
}

export function removedPath(p: SessionPaths, migrationId: string): string {
  return childPath(p.dir, `${p.stem}${STAGING_MARK}${migrationId}${REMOVED_SUFFIX}`);
}

export type LeftoverKind =
  /** A sidecar that was being built (ours or the v2 layer's). Never promoted: its build did not finish verification. */
  | "staging"
  /** An old sidecar moved aside by a rebuild's swap. */
  | "replaced"
  /** A sidecar moved aside by rollback, not yet deleted. */
  | "removed";

export interface Leftover {
  kind: LeftoverKind;
  path: string;
  name: string;
  /** The migration id in the name, for our own leftovers. */
  migrationId?: string;
}

/** Classify one directory-entry name as a leftover of `stem`'s sidecar, or undefined. */
export function classifyLeftover(stem: string, name: string): Omit<Leftover, "path"> | undefined {
  const ours = `${stem}${STAGING_MARK}`;
  if (name.startsWith(ours)) {
    const rest = name.slice(ours.length);
    if (rest.endsWith(REPLACED_SUFFIX)) return { kind: "replaced", name, migrationId: rest.slice(0, -REPLACED_SUFFIX.length) };
    if (rest.endsWith(REMOVED_SUFFIX)) return { kind: "removed", name, migrationId: rest.slice(0, -REMOVED_SUFFIX.length) };
    if (rest.endsWith(".lock")) return undefined; // a lock directory, not a sidecar
    return { kind: "staging", name, migrationId: rest };
  }
  // The v2 layer's own staging (`.<stem>.v2.staging-<random>`, also nested under ours) and swap names.
  if (name.startsWith(`.${stem}${STAGING_MARK}`)) return { kind: "staging", name };
  if (name.startsWith(`.${stem}.v2.old-`)) return { kind: "replaced", name };
  return undefined;
}

/** The leftovers of `p`'s sidecar in its directory, by name. Reads the directory only. */
export async function findLeftovers(p: SessionPaths): Promise<Leftover[]> {
  let names: string[];
  try {
    names = await readdir(p.dir);
  } catch (err) {
    throw ioError(err, p.dir, "cannot list the session's directory");
  }
  const out: Leftover[] = [];
  for (const name of names.sort()) {
    const c = classifyLeftover(p.stem, name);
    if (c) out.push({ ...c, path: join(p.dir, name) });
  }
  return out;
}

/**
 * True for a directory name that belongs to a sidecar (root or transient): archive walks
 * do not look for sessions inside them (their index and ledger files are `.jsonl` too).
 */
export function isSidecarDirName(name: string): boolean {
  return name.endsWith(".v2") || name.includes(STAGING_MARK) || /\.v2\.old-/.test(name);
}
