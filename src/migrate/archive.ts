import { statSync } from "node:fs";
import { resolve, sep } from "node:path";
import type { SessfmtError } from "../format/errors.js";
import { findSessionFiles } from "../format/walk.js";
import { isSidecarDirName } from "./names.js";

/**
 * The session files of an archive: files, directories (recursive) and `-` (paths on
 * stdin), as findSessionFiles finds them, minus anything inside a sidecar or a staging
 * directory (their index and ledger files are `.jsonl` too, never sessions).
 */

export interface DiscoverOptions {
  followSymlinks?: boolean;
  stdin?: AsyncIterable<string | Buffer>;
  signal?: AbortSignal;
  /** A directory that could not be read (the walk goes on). */
  onError?: (err: SessfmtError) => void;
  /** Each session file as it is found (its size may not be known yet). */
  onFound?: (file: DiscoveredFile) => void;
  /** A `*.jsonl` file that is not a session (outside sidecar directories). */
  onSkip?: (file: string, reason: string) => void;
}

export interface DiscoveredFile {
  file: string;
  /** Size when found (0 when it cannot be stat'ed: the operation reports why). */
  bytes: number;
}

/** True when a directory between one of `roots` (the paths given) and `file` is a sidecar's. */
export function insideSidecar(file: string, roots: readonly string[] = []): boolean {
  const abs = resolve(file);
  let base = "";
  for (const r of roots) {
    const rr = resolve(r);
    if ((abs.startsWith(rr + sep) || abs === rr) && rr.length > base.length) base = rr;
  }
  const parts = abs.slice(base.length).split(sep);
  parts.pop();
  return parts.some((d) => d.length > 0 && isSidecarDirName(d));
}

export async function discoverSessionFiles(paths: readonly string[], opts: DiscoverOptions = {}): Promise<DiscoveredFile[]> {
  const out: DiscoveredFile[] = [];
  const roots = paths.filter((x) => x !== "-");
  const files = findSessionFiles(paths, {
    followSymlinks: opts.followSymlinks === true,
    ...(opts.stdin ? { stdin: opts.stdin } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onError ? { onError: opts.onError } : {}),
    onSkip: (file, reason) => {
      if (!insideSidecar(file, roots)) opts.onSkip?.(file, reason);
    },
  });
  for await (const file of files) {
    if (insideSidecar(file, roots)) continue;
    const found: DiscoveredFile = { file, bytes: sizeOf(file) };
    out.push(found);
    opts.onFound?.(found);
  }
  return out;
}

/** The file's size (a synchronous stat, as the walk's own calls: see format/walk.ts); 0 when it cannot be read. */
function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // reported by the operation that opens it
  }
}
