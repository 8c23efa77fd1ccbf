import { constants, lstatSync, statSync, type Stats } from "node:fs";
import { mkdir, open, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { syncDirectory } from "../format/durability.js";

/** File-system steps of the migration layer; every failure is a SessfmtError naming the path. */

const NOFOLLOW = constants.O_NOFOLLOW ?? 0;

export async function exists(path: string): Promise<boolean> {
  return (await lstatMaybe(path)) !== undefined;
}

/**
 * lstat, or undefined when nothing is there. Made synchronously: it is one system call
 * of microseconds, where an awaited call is a round trip through libuv's thread pool that
 * costs more (an archive run makes a few dozen per file).
 */
export async function lstatMaybe(path: string): Promise<Stats | undefined> {
  return orMissing(() => lstatSync(path), path);
}

/** stat (following a symlink), or undefined when nothing is there; synchronously as lstatMaybe. */
export async function statMaybe(path: string): Promise<Stats | undefined> {
  return orMissing(() => statSync(path), path);
}

function orMissing(fn: () => Stats, path: string): Stats | undefined {
  try {
    return fn();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw ioError(err, path, "cannot stat");
  }
}

/**
 * Append `data` to `file` durably: created (mode 0600, exclusively) if absent, never
 * through a symlink, fsynced, and its directory fsynced when the file is new.
 */
export async function appendDurably(file: string, data: Buffer | string): Promise<void> {
  let fh: FileHandle;
  let created = false;
  try {
    fh = await open(file, constants.O_WRONLY | constants.O_APPEND | NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw ioError(err, file, "cannot open for appending");
    try {
      fh = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
      created = true;
    } catch (err2) {
      throw ioError(err2, file, "cannot create");
    }
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SessfmtError("E_NOT_A_FILE", "not a regular file", { file });
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, null);
      done += bytesWritten;
    }
    await fh.sync();
  } catch (err) {
    throw ioError(err, file, "cannot append");
  } finally {
    await fh.close().catch(() => undefined);
  }
  if (created) await syncDirectory(dirname(file));
}

/** Create a new file exclusively with `data`, fsynced (mode 0600). */
export async function writeNewFile(file: string, data: Buffer | string): Promise<void> {
  let fh: FileHandle;
  try {
    fh = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new SessfmtError("E_EXISTS", "file already exists; not overwritten", { file, cause: err });
    throw ioError(err, file, "cannot create");
  }
  try {
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    let done = 0;
    while (done < buf.length) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, null);
      done += bytesWritten;
    }
    await fh.sync();
  } catch (err) {
    throw ioError(err, file, "cannot write");
  } finally {
    await fh.close().catch(() => undefined);
  }
  await syncDirectory(dirname(file));
}

/** Rename and make the rename durable (fsync of the directories involved). */
export async function renameDurably(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    throw ioError(err, from, `cannot rename to ${to}`);
  }
  await syncDirectory(dirname(to));
  if (dirname(from) !== dirname(to)) await syncDirectory(dirname(from));
}

/** Claim a directory name exclusively (mode 0700): E_EXISTS when it is taken. */
export async function mkdirExclusive(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") throw new SessfmtError("E_EXISTS", "already exists", { file: path, cause: err });
    throw ioError(err, path, "cannot create directory");
  }
}

/** Remove a directory tree we own (never follows symlinks: rm removes links, not targets). */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    throw ioError(err, path, "cannot remove");
  }
  await syncDirectory(dirname(path)).catch(() => undefined);
}
