import { lstat } from "node:fs/promises";
import { resolve } from "node:path";
import { SessfmtError } from "../format/errors.js";
import { jsonlFileFor, ROOT_DIRS, inRoot } from "./layout.js";
import { sidecarPath } from "../format/paths.js";
import { checkRealDir } from "./fs-safe.js";

/** A sidecar addressed by its JSONL file or by its root directory. */
export interface SidecarTarget {
  root: string;
  /** The JSONL session file, when known. */
  file: string | undefined;
}

/**
 * `x.jsonl` (or any path that is not a directory) means the sidecar `x.v2` beside it;
 * a directory is taken as the root itself, and `<stem>.v2` implies `<stem>.jsonl`.
 */
export async function resolveTarget(fileOrRoot: string): Promise<SidecarTarget> {
  const p = resolve(fileOrRoot);
  let isDir = false;
  try {
    const st = await lstat(p);
    if (st.isSymbolicLink() && p.endsWith(".v2")) throw new SessfmtError("E_PATH_UNSAFE", "sidecar root is a symbolic link; refusing to follow it", { file: p });
    isDir = st.isDirectory();
  } catch (err) {
    if (err instanceof SessfmtError) throw err;
  }
  if (isDir) return { root: p, file: jsonlFileFor(p) };
  return { root: sidecarPath(p), file: p };
}

/** Throw E_SIDECAR_MISSING unless the root exists; refuse symlinked directories anywhere in it. */
export async function requireRoot(t: SidecarTarget): Promise<void> {
  if (!(await checkRealDir(t.root))) throw new SessfmtError("E_SIDECAR_MISSING", "no V2 sidecar here", { file: t.root });
  const present = new Set<string>();
  for (const d of ROOT_DIRS) if (await checkRealDir(inRoot(t.root, d))) present.add(d);
  if (!present.has("segments") && !present.has("index")) {
    throw new SessfmtError("E_SIDECAR_MISSING", "not a V2 sidecar (no segments/ and no index/ directory)", { file: t.root });
  }
}
