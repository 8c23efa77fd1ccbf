import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from "node:fs";
import { link, mkdir, open, rename, unlink, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { syncDirectory } from "../format/durability.js";
import { writeFully } from "../format/atomic.js";
import { inRoot, TMP_DIR } from "./layout.js";

/**
 * File operations of the sidecar: never follow a symlink (O_NOFOLLOW on the last
 * component, lstat on the directories), create new files exclusively with mode 0600 and
 * directories with 0700, and replace whole files only through temp + fsync + rename +
 * directory fsync.
 */

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

function unsafe(path: string, what: string, cause?: unknown): SessfmtError {
  return new SessfmtError("E_PATH_UNSAFE", `${what}; refusing to follow it`, { file: path, cause });
}

function wrap(err: unknown, path: string, action: string): SessfmtError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ELOOP" || code === "EMLINK") return unsafe(path, "is a symbolic link", err);
  return ioError(err, path, action);
}

function absentOr(err: unknown, path: string, action: string): undefined {
  if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
  throw ioError(err, path, action);
}

/** lstat, or undefined when the path does not exist. */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  // One system call of microseconds: made synchronously (see the twins below).
  return lstatOrUndefinedSync(path);
}

/*
 * The synchronous twins below are for reading a root's metadata (its directories, segment
 * sizes, manifest, fingerprint): each is one system call of microseconds, where the
 * asynchronous call is a round trip through libuv's thread pool that costs more than the
 * call itself (and the first one in a process starts the pool's threads). Opening a
 * sidecar makes some thirty of them before it reads a frame.
 */

/** lstat, or undefined when the path does not exist (synchronously). */
export function lstatOrUndefinedSync(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    return absentOr(err, path, "cannot stat");
  }
}

function realDir(st: Stats | undefined, path: string): boolean {
  if (!st) return false;
  if (st.isSymbolicLink()) throw unsafe(path, "sidecar directory is a symbolic link");
  if (!st.isDirectory()) throw new SessfmtError("E_NOT_A_FILE", "expected a directory", { file: path });
  return true;
}

/** Throw unless `path` is a real directory (not a symlink to one). Returns false when absent. */
export async function checkRealDir(path: string): Promise<boolean> {
  return realDir(await lstatOrUndefined(path), path);
}

/** checkRealDir, synchronously. */
export function checkRealDirSync(path: string): boolean {
  return realDir(lstatOrUndefinedSync(path), path);
}

/**
 * openRead, synchronously: a descriptor on a regular file and its fstat; undefined when it
 * does not exist.
 */
export function openReadSyncOrUndefined(path: string): { fd: number; stats: Stats } | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw wrap(err, path, "cannot open");
  }
  let stats: Stats | undefined;
  try {
    stats = fstatSync(fd);
  } catch (err) {
    throw ioError(err, path, "cannot stat");
  } finally {
    if (!stats?.isFile()) closeSync(fd);
  }
  if (!stats.isFile()) throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file: path });
  return { fd, stats };
}

/**
 * The whole of a small regular file (at most `limit` bytes), without following a symlink;
 * undefined when it does not exist. Over the limit: E_SIDECAR_CORRUPT.
 */
export function readSmallFileSync(path: string, limit: number): Buffer | undefined {
  const opened = openReadSyncOrUndefined(path);
  if (opened === undefined) return undefined;
  const { fd, stats: st } = opened;
  try {
    if (st.size > limit) throw new SessfmtError("E_SIDECAR_CORRUPT", `file is ${st.size} bytes, over the ${limit}-byte limit`, { file: path });
    // Room for one byte more than fstat said, so that reaching it shows the file grew.
    let buf = Buffer.allocUnsafe(Math.min(limit + 1, st.size + 1));
    let done = 0;
    for (;;) {
      if (done === buf.length) {
        if (done > limit) throw new SessfmtError("E_SIDECAR_CORRUPT", `file is over the ${limit}-byte limit`, { file: path });
        const grown = Buffer.allocUnsafe(Math.min(limit + 1, buf.length * 2));
        buf.copy(grown, 0, 0, done);
        buf = grown;
      }
      let got: number;
      try {
        got = readSync(fd, buf, done, buf.length - done, done);
      } catch (err) {
        throw ioError(err, path, `read failed at byte ${done}`);
      }
      if (got === 0) break;
      done += got;
    }
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/** A control file's text: missing, invalid (over its size limit), or read. */
export type ControlFileRead = { state: "missing" } | { state: "invalid"; message: string } | { state: "ok"; text: string };

/** readSmallFileSync for a root's control files (manifest, fingerprint), as a ControlFileRead. */
export function readControlFileSync(path: string, limit: number): ControlFileRead {
  let bytes: Buffer | undefined;
  try {
    bytes = readSmallFileSync(path, limit);
  } catch (err) {
    if (err instanceof SessfmtError && err.code === "E_SIDECAR_CORRUPT") return { state: "invalid", message: err.message };
    throw err;
  }
  return bytes ? { state: "ok", text: bytes.toString("utf8") } : { state: "missing" };
}

/** Create a directory with mode 0700; an existing real directory is fine. */
export async function mkdirPrivate(path: string, exclusive = false): Promise<void> {
  try {
    await mkdir(path, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      if (exclusive) throw new SessfmtError("E_EXISTS", "already exists", { file: path, cause: err });
      await checkRealDir(path);
      return;
    }
    throw ioError(err, path, "cannot create directory");
  }
}

/** Open an existing regular file for reading without following a symlink. */
export async function openRead(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | NOFOLLOW);
  } catch (err) {
    throw wrap(err, path, "cannot open");
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file: path });
  }
  return fh;
}

/** Create a new file (mode 0600) for writing; fails with E_EXISTS when the name is taken. */
export async function createExclusive(path: string): Promise<FileHandle> {
  try {
    const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | NOFOLLOW, FILE_MODE);
    await fh.chmod(FILE_MODE); // the umask may have cleared bits; never leave it wider either
    return fh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new SessfmtError("E_EXISTS", "file already exists; not overwritten", { file: path, cause: err });
    }
    throw wrap(err, path, "cannot create");
  }
}

/** Open an existing regular file for appending, without following a symlink. */
export async function openAppend(path: string): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_WRONLY | constants.O_APPEND | NOFOLLOW);
  } catch (err) {
    throw wrap(err, path, "cannot open for appending");
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file: path });
  }
  return fh;
}

/** Cut a file to `length` bytes and fsync it. */
export async function truncateFile(path: string, length: number): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_WRONLY | NOFOLLOW);
  } catch (err) {
    throw wrap(err, path, "cannot open for truncation");
  }
  try {
    await fh.truncate(length);
    await fh.sync();
  } catch (err) {
    throw ioError(err, path, `cannot truncate to ${length} bytes`);
  } finally {
    await fh.close();
  }
}

/** Write `data` to a new temp file in `<root>/tmp`, fsynced; returns its path. */
async function writeTemp(root: string, name: string, data: Buffer | string): Promise<string> {
  const tmp = inRoot(root, `${TMP_DIR}/${name}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await createExclusive(tmp);
  try {
    await writeFully(fh, typeof data === "string" ? Buffer.from(data, "utf8") : data, tmp);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  return tmp;
}

/**
 * Replace (or create) `<root>/<rel>` atomically: temp file in `<root>/tmp`, fsync, rename,
 * fsync of the target's directory. A symlink at the target is replaced, never followed.
 */
export async function writeFileAtomic(root: string, rel: string, data: Buffer | string): Promise<void> {
  const target = inRoot(root, rel);
  await checkRealDir(dirname(target));
  const tmp = await writeTemp(root, basename(target), data);
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw ioError(err, target, "cannot rename into place");
  }
  await syncDirectory(dirname(target));
}

/**
 * Publish `<root>/<rel>` only if the name is free (checkpoints are immutable): temp file,
 * fsync, hard link to the final name (link never replaces), remove the temp name.
 */
export async function writeFileNoReplace(root: string, rel: string, data: Buffer | string): Promise<void> {
  const target = inRoot(root, rel);
  await checkRealDir(dirname(target));
  const tmp = await writeTemp(root, basename(target), data);
  try {
    await link(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === "EEXIST") {
      throw new SessfmtError("E_EXISTS", "already exists; not replaced", { file: target, cause: err });
    }
    throw ioError(err, target, "cannot publish");
  }
  await unlink(tmp).catch(() => undefined);
  await syncDirectory(dirname(target));
}

/**
 * Move a file aside to `<name>.bak` (or `.bak.N`, the first free N) without replacing
 * anything; returns the new path. Used for segments and checkpoints a repair drops.
 */
export async function quarantineFile(path: string): Promise<string> {
  for (let n = 0; n < 10_000; n++) {
    const dest = n === 0 ? `${path}.bak` : `${path}.bak.${n}`;
    try {
      await link(path, dest);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw ioError(err, path, `cannot move aside to ${dest}`);
    }
    await unlink(path);
    await syncDirectory(dirname(path));
    return dest;
  }
  throw new SessfmtError("E_EXISTS", "no free quarantine name (.bak .. .bak.9999 all exist)", { file: path });
}
