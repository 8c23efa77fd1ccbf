import { constants } from "node:fs";
import { copyFile, link, mkdir, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { SessfmtError, childPath, sanitizeFileComponent, sessionDirFor, sessionFileName, type SessionDialect } from "../format/index.js";
import { ioError } from "../format/errors.js";

/** Name of the archive folder at a store root. */
export const ARCHIVE_DIR = ".archive";

/** A session file of a file store and whether it is archived. */
export interface LaidOutFile {
  file: string;
  archived: boolean;
}

export interface FileLayoutOptions {
  /** Session file extension, with the dot: ".jsonl" or ".sqlite". */
  ext: string;
  /** The session id a file holds, or undefined when it is not a session file. */
  readId: (file: string) => Promise<string | undefined>;
  /** Paths that belong to a session file and move or go with it (sidecar dirs, -wal files). */
  companions: (file: string) => Promise<string[]>;
}

/**
 * pi's on-disk layout for a file store: `<root>/<encodeCwd(cwd)>/<timestamp>_<id><ext>`.
 * Archiving moves a session (with its companions) to the same relative place under
 * `<root>/.archive/`, where pi's own listing (one directory level) never looks;
 * unarchiving moves it back. Nothing is deleted except by remove().
 */
export class SessionFileLayout {
  readonly root: string;
  readonly archiveRoot: string;
  private readonly byId = new Map<string, LaidOutFile>();

  constructor(
    root: string,
    private readonly opts: FileLayoutOptions,
  ) {
    this.root = resolve(root);
    this.archiveRoot = join(this.root, ARCHIVE_DIR);
  }

  /** Where a new session's file goes (outside the archive). */
  newFile(id: string, timestamp: string, cwd: string, dialect: SessionDialect): string {
    const name = sessionFileName(id, timestamp, dialect).replace(/\.jsonl$/, this.opts.ext);
    return childPath(sessionDirFor(this.root, cwd, dialect), name);
  }

  /** Every session-looking file: `<root>/<dir>/*<ext>` and `<root>/.archive/<dir>/*<ext>`, sorted. */
  async files(): Promise<LaidOutFile[]> {
    const out: LaidOutFile[] = [];
    for (const [base, archived] of [
      [this.root, false],
      [this.archiveRoot, true],
    ] as const) {
      for (const dir of await subdirs(base)) {
        if (!archived && dir === ARCHIVE_DIR) continue;
        for (const name of await names(join(base, dir))) {
          if (name.endsWith(this.opts.ext) && !name.startsWith(".")) out.push({ file: join(base, dir, name), archived });
        }
      }
    }
    return out;
  }

  /** Remember where a session is (list() learns every location anyway). */
  remember(id: string, where: LaidOutFile): void {
    if (!this.byId.has(id)) this.byId.set(id, where);
  }

  forget(id: string): void {
    this.byId.delete(id);
  }

  /**
   * Find a session's file: the remembered place if it is still there, else the files
   * whose name carries the id, else every file's header. E_NOT_FOUND when none holds it.
   * When two files hold one id, the first in path order wins.
   */
  async find(id: string): Promise<LaidOutFile> {
    const known = this.byId.get(id);
    if (known && (await exists(known.file)) && (await this.opts.readId(known.file)) === id) return known;
    this.byId.delete(id);
    const all = await this.files();
    const suffix = `_${sanitizeFileComponent(id)}${this.opts.ext}`;
    const likely = all.filter((f) => basename(f.file).endsWith(suffix));
    for (const f of [...likely, ...all.filter((f) => !likely.includes(f))]) {
      const fileId = await this.opts.readId(f.file);
      if (fileId === undefined) continue;
      this.remember(fileId, f);
      if (fileId === id) return this.byId.get(id) as LaidOutFile;
    }
    throw new SessfmtError("E_NOT_FOUND", `no session with id ${JSON.stringify(id)} under the store root`, { file: this.root });
  }

  /** Move a session file and its companions into or out of the archive; returns the new path. */
  async move(id: string, from: LaidOutFile, toArchived: boolean): Promise<string> {
    const rel = relative(from.archived ? this.archiveRoot : this.root, from.file);
    if (rel.startsWith("..") || rel.split(sep).length !== 2) {
      throw new SessfmtError("E_PATH_UNSAFE", "session file is not in the store layout (<root>/<dir>/<file>); not moved", { file: from.file });
    }
    const target = join(toArchived ? this.archiveRoot : this.root, rel);
    const companions = await this.opts.companions(from.file);
    for (const p of [target, ...companions.map((c) => join(dirname(target), basename(c)))]) {
      if (await exists(p)) throw new SessfmtError("E_EXISTS", `${p} already exists; nothing moved`, { file: from.file });
    }
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(err, dirname(target), "cannot create the directory");
    }
    await moveNoReplace(from.file, target);
    for (const c of companions) {
      await rename(c, join(dirname(target), basename(c))).catch((err: unknown) => Promise.reject(ioError(err, c, "cannot move")));
    }
    this.byId.set(id, { file: target, archived: toArchived });
    return target;
  }

  /** Delete a session file and its companions. */
  async remove(id: string, where: LaidOutFile): Promise<void> {
    for (const c of await this.opts.companions(where.file)) {
      await rm(c, { recursive: true, force: true }).catch((err: unknown) => Promise.reject(ioError(err, c, "cannot delete")));
    }
    await unlink(where.file).catch((err: unknown) => Promise.reject(ioError(err, where.file, "cannot delete")));
    this.byId.delete(id);
  }
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw ioError(err, dir, "cannot read directory");
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw ioError(err, dir, "cannot read directory");
  }
}

export async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** rename() replaces silently; a hard link does not: link, then drop the old name. */
async function moveNoReplace(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new SessfmtError("E_EXISTS", `${to} already exists; nothing moved`, { file: from, cause: err });
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw ioError(err, from, "cannot move");
    await copyFile(from, to, constants.COPYFILE_EXCL).catch((e: unknown) => Promise.reject(ioError(e, to, "cannot copy")));
  }
  await unlink(from).catch((err: unknown) => Promise.reject(ioError(err, from, "cannot remove the old name")));
}
