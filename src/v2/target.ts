import { lstatSync, readdirSync, type Dirent } from "node:fs";
import { resolve } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { jsonlFileFor, ROOT_DIRS, inRoot } from "./layout.js";
import { sidecarPath } from "../format/paths.js";
import { checkRealDirSync } from "./fs-safe.js";

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
    const st = lstatSync(p);
    if (st.isSymbolicLink() && p.endsWith(".v2")) throw new SessfmtError("E_PATH_UNSAFE", "sidecar root is a symbolic link; refusing to follow it", { file: p });
    isDir = st.isDirectory();
  } catch (err) {
    if (err instanceof SessfmtError) throw err;
  }
  if (isDir) return { root: p, file: jsonlFileFor(p) };
  return { root: sidecarPath(p), file: p };
}

/**
 * Throw E_SIDECAR_MISSING unless the root exists; refuse symlinked directories anywhere in it.
 * Synchronous (see fs-safe.ts): an lstat of the root, then one listing of it gives the kind
 * of each of its directories (Node falls back to lstat where the file system does not say).
 */
export async function requireRoot(t: SidecarTarget): Promise<void> {
  if (!checkRealDirSync(t.root)) throw new SessfmtError("E_SIDECAR_MISSING", "no V2 sidecar here", { file: t.root });
  let listing: Dirent[];
  try {
    listing = readdirSync(t.root, { withFileTypes: true });
  } catch (err) {
    throw ioError(err, t.root, "cannot list the sidecar root");
  }
  const present = new Set<string>();
  const wanted = new Set<string>(ROOT_DIRS);
  for (const d of listing) {
    if (!wanted.has(d.name)) continue;
    const path = inRoot(t.root, d.name);
    if (d.isSymbolicLink()) throw new SessfmtError("E_PATH_UNSAFE", "sidecar directory is a symbolic link; refusing to follow it", { file: path });
    if (!d.isDirectory()) throw new SessfmtError("E_NOT_A_FILE", "expected a directory", { file: path });
    present.add(d.name);
  }
  if (!present.has("segments") && !present.has("index")) {
    throw new SessfmtError("E_SIDECAR_MISSING", "not a V2 sidecar (no segments/ and no index/ directory)", { file: t.root });
  }
}
