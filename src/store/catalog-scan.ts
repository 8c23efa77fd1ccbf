import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { SessfmtError } from "../format/index.js";
import { ioError } from "../format/errors.js";
import { ARCHIVE_DIR } from "./file-layout.js";
import { catalogSidecarStatus, type CatalogSidecarStatus } from "./sidecar-status.js";

/** A `*.jsonl` file under a catalog root, as a refresh sees it before reading it. */
export interface ScannedFile {
  /** Relative to the root, "/"-separated. */
  path: string;
  file: string;
  size: number;
  mtimeMs: number;
  archived: boolean;
  sidecar: CatalogSidecarStatus;
}

/** Sidecar dirs hold no sessions (their index files are .jsonl): never walked. */
function isSidecarDir(name: string): boolean {
  return name.endsWith(".v2") || name.includes(".v2.staging-");
}

/**
 * Every regular `*.jsonl` file under `root` with its size, mtime and sidecar status,
 * from directory listings and stats only (no file is read). Symlinks are not followed;
 * files under `<root>/.archive/` are marked archived. Iterative, in path order.
 */
export async function scanCatalogRoot(root: string, signal?: AbortSignal): Promise<ScannedFile[]> {
  const out: ScannedFile[] = [];
  const stack: { dir: string; rel: string }[] = [{ dir: root, rel: "" }];
  while (stack.length > 0) {
    if (signal?.aborted) throw new SessfmtError("E_ABORTED", "catalog refresh aborted", { file: root, cause: signal.reason });
    const { dir, rel } = stack.pop() as { dir: string; rel: string };
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      // The root must be readable; a subdirectory that vanished meanwhile is simply gone.
      if (rel !== "" && (err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw ioError(err, dir, "cannot read directory");
    }
    const names = entries.map((e) => e.name);
    const subdirs: { dir: string; rel: string }[] = [];
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const childRel = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!isSidecarDir(e.name)) subdirs.push({ dir: join(dir, e.name), rel: childRel });
        continue;
      }
      if (!e.isFile() || !e.name.endsWith(".jsonl")) continue;
      const file = join(dir, e.name);
      let st;
      try {
        st = await stat(file);
      } catch {
        continue; // removed between the listing and the stat
      }
      out.push({
        path: childRel,
        file,
        size: st.size,
        mtimeMs: st.mtimeMs,
        archived: childRel.startsWith(`${ARCHIVE_DIR}/`),
        sidecar: await catalogSidecarStatus(file, names),
      });
    }
    // Reversed so the stack pops them in name order.
    for (const s of subdirs.reverse()) stack.push(s);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
