import { constants, type Stats } from "node:fs";
import { copyFile, link, lstat, open, readdir, realpath, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, resolve } from "node:path";
import { SessfmtError, ioError } from "./errors.js";
import { syncDirectory } from "./durability.js";

/**
 * Whole-file writes that never leave a half-written file under the real name: the bytes
 * go to a temp file in the same directory (so the final rename cannot cross filesystems),
 * created exclusively with mode 0600 and O_NOFOLLOW (a symlink planted at the temp name
 * makes the open fail instead of redirecting the write), fsynced, then renamed (or linked)
 * into place and the directory fsynced. On any failure the temp file is removed.
 */

/** Where the caller writes the new content. */
export interface AtomicOutput {
  write(data: Uint8Array | string): Promise<void>;
  /** Bytes accepted so far. */
  readonly bytesWritten: number;
}

export interface RewriteOptions {
  /**
   * Keep the original: true (default) = `<file>.bak`, or `<file>.bak.N` with the first
   * free N; a string = that path (must not exist); false = no backup.
   */
  backup?: boolean | string;
  /** Refuse (E_SOURCE_CHANGED) if the original no longer matches what the caller read. */
  expect?: { size: number; mtimeMs?: number; ino?: number; dev?: number };
  /** fsync the temp file and the directory (default true). */
  durable?: boolean;
  signal?: AbortSignal;
}

export interface RewriteResult {
  /** The rewritten file (symlinks resolved). */
  file: string;
  /** Where the original was kept, when a backup was made. */
  backupPath?: string;
  bytes: number;
}

const FLUSH_AT = 1 << 20;
const TEMP_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | (constants.O_NOFOLLOW ?? 0);

class BufferedOutput implements AtomicOutput {
  bytesWritten = 0;
  private chunks: Buffer[] = [];
  private pending = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly file: string,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async write(data: Uint8Array | string): Promise<void> {
    if (this.signal?.aborted) throw aborted(this.file, this.signal);
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length === 0) return;
    // Copy small chunks: callers may reuse their buffers after write() resolves.
    this.chunks.push(buf.length < FLUSH_AT ? Buffer.from(buf) : buf);
    this.pending += buf.length;
    this.bytesWritten += buf.length;
    if (this.pending >= FLUSH_AT) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.pending === 0) return;
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.pending);
    this.chunks = [];
    this.pending = 0;
    await writeFully(this.fh, all, this.file);
  }
}

/** write() until every byte is down (regular files rarely write short, but may). */
export async function writeFully(fh: FileHandle, buf: Buffer, file: string, position: number | null = null): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      ({ bytesWritten: n } = await fh.write(buf, done, buf.length - done, position === null ? null : position + done));
    } catch (err) {
      throw ioError(err, file, "write failed");
    }
    if (n === 0) throw new SessfmtError("E_IO", "write made no progress", { file });
    done += n;
  }
}

function aborted(file: string, signal: AbortSignal): SessfmtError {
  return new SessfmtError("E_ABORTED", "write aborted", { file, cause: signal.reason });
}

/** `.<name>.<pid>.<random>.tmp` beside `target`, created exclusively. */
async function createTemp(target: string, mode: number): Promise<{ path: string; fh: FileHandle }> {
  const dir = dirname(target);
  for (let attempt = 0; ; attempt++) {
    const path = resolve(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
    try {
      return { path, fh: await open(path, TEMP_FLAGS, mode) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST" && attempt < 10) continue;
      throw ioError(err, path, "cannot create temp file");
    }
  }
}

/**
 * Remove temp files of `target` left by processes that no longer exist (a rewrite killed
 * before its rename). Only names of the exact form createTemp makes are considered, and
 * only when their pid is not a live process on this machine; anything else is left alone.
 * Best effort: a failure here never fails the rewrite.
 */
async function removeStaleTemps(target: string): Promise<void> {
  const dir = dirname(target);
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[1]))) continue;
    const path = resolve(dir, name);
    try {
      if ((await lstat(path)).isFile()) await unlink(path);
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function canonical(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    return resolve(file);
  }
}

async function statOrUndefined(file: string): Promise<Stats | undefined> {
  try {
    return await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw ioError(err, file, "cannot stat");
  }
}

/** Make `dest` a copy of `src` without ever replacing an existing `dest`. */
async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await link(src, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV" && code !== "EOPNOTSUPP") throw err;
    // Filesystems without hard links (and backups on another device): copy, exclusively.
    await copyFile(src, dest, constants.COPYFILE_EXCL);
    const fh = await open(dest, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}

async function makeBackup(target: string, backup: true | string): Promise<string> {
  if (typeof backup === "string") {
    const dest = resolve(backup);
    try {
      await linkOrCopy(target, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new SessfmtError("E_EXISTS", `backup path ${dest} already exists`, { file: target, cause: err });
      }
      throw ioError(err, dest, "cannot create backup");
    }
    return dest;
  }
  for (let n = 0; n < 10_000; n++) {
    const dest = n === 0 ? `${target}.bak` : `${target}.bak.${n}`;
    try {
      await linkOrCopy(target, dest);
      return dest;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw ioError(err, dest, "cannot create backup");
    }
  }
  throw new SessfmtError("E_EXISTS", "no free backup name (.bak .. .bak.9999 all exist)", { file: target });
}

function sameFile(st: Stats, expect: NonNullable<RewriteOptions["expect"]>): boolean {
  return (
    st.size === expect.size &&
    (expect.mtimeMs === undefined || st.mtimeMs === expect.mtimeMs) &&
    (expect.ino === undefined || st.ino === expect.ino) &&
    (expect.dev === undefined || st.dev === expect.dev)
  );
}

/**
 * Replace `file`'s content with what `write` produces, atomically: readers see the old
 * file or the new one, never a mix. The new file keeps the original's permission bits
 * (0600 for a new file). A symlink at `file` is followed: its target is rewritten. On
 * failure (including one thrown by `write`) the temp file and any backup made are
 * removed and the original is untouched. Temp files of this target left by a process
 * that was killed mid-rewrite are removed after the next successful rewrite.
 */
export async function rewriteFileAtomic(
  file: string,
  write: (out: AtomicOutput) => Promise<void> | void,
  opts: RewriteOptions = {},
): Promise<RewriteResult> {
  const target = await canonical(file);
  const original = await statOrUndefined(target);
  if (original && !original.isFile()) throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file: target });
  const durable = opts.durable ?? true;
  const { path: temp, fh } = await createTemp(target, 0o600);
  let backupPath: string | undefined;
  let renamed = false;
  let closed = false;
  try {
    const out = new BufferedOutput(fh, temp, opts.signal);
    await write(out);
    await out.flush();
    if (original) await fh.chmod(original.mode & 0o7777);
    if (durable) await fh.sync();
    await fh.close();
    closed = true;
    if (opts.signal?.aborted) throw aborted(target, opts.signal);
    if (opts.expect) {
      const now = await statOrUndefined(target);
      if (!now || !sameFile(now, opts.expect)) {
        throw new SessfmtError("E_SOURCE_CHANGED", `the file changed while it was being rewritten (size ${opts.expect.size} -> ${now?.size ?? "gone"}); nothing was replaced`, {
          file: target,
        });
      }
    }
    const backup = opts.backup ?? true;
    if (original && backup !== false) backupPath = await makeBackup(target, backup);
    try {
      await rename(temp, target);
    } catch (err) {
      throw ioError(err, target, "cannot rename the rewritten file into place");
    }
    renamed = true;
    if (durable) {
      await syncDirectory(dirname(target));
      if (backupPath && dirname(backupPath) !== dirname(target)) await syncDirectory(dirname(backupPath));
    }
    await removeStaleTemps(target);
    const result: RewriteResult = { file: target, bytes: out.bytesWritten };
    if (backupPath) result.backupPath = backupPath;
    return result;
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    if (!renamed) {
      await unlink(temp).catch(() => undefined);
      if (backupPath) await unlink(backupPath).catch(() => undefined);
    }
    if (err instanceof SessfmtError) throw err;
    throw ioError(err, target, "rewrite failed");
  }
}

export interface ExclusiveWriteOptions {
  /** Mode of the new file (default 0600). */
  mode?: number;
  /** fsync the file and the directory (default true). */
  durable?: boolean;
  signal?: AbortSignal;
}

/**
 * Create `file` with the content `write` produces, failing with E_EXISTS if the name is
 * taken. The content is written and fsynced under a temp name and then hard-linked to the
 * final name (link never replaces), so the file appears complete or not at all. Where
 * hard links are not supported, falls back to an exclusive copy.
 */
export async function writeFileExclusive(
  file: string,
  write: (out: AtomicOutput) => Promise<void> | void,
  opts: ExclusiveWriteOptions = {},
): Promise<{ file: string; bytes: number }> {
  const target = resolve(file);
  const durable = opts.durable ?? true;
  const mode = opts.mode ?? 0o600;
  const { path: temp, fh } = await createTemp(target, mode);
  let closed = false;
  try {
    const out = new BufferedOutput(fh, temp, opts.signal);
    await write(out);
    await out.flush();
    await fh.chmod(mode); // the umask may have cleared bits the caller asked for
    if (durable) await fh.sync();
    await fh.close();
    closed = true;
    if (opts.signal?.aborted) throw aborted(target, opts.signal);
    try {
      await linkOrCopy(temp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new SessfmtError("E_EXISTS", "file already exists; not overwritten", { file: target, cause: err });
      }
      throw ioError(err, target, "cannot create");
    }
    await unlink(temp).catch(() => undefined);
    if (durable) await syncDirectory(dirname(target));
    return { file: target, bytes: out.bytesWritten };
  } catch (err) {
    if (!closed) await fh.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    if (err instanceof SessfmtError) throw err;
    throw ioError(err, target, "exclusive write failed");
  }
}
