import { closeSync, fstatSync, lstatSync, openSync, readdirSync, readSync, realpathSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { SessfmtError, ioError } from "./errors.js";

/**
 * Finding session files in an archive: files named on the command line are taken as
 * they are (so a missing or broken one is reported by whoever opens it), directories
 * are walked for `*.jsonl` files that start with a session header.
 *
 * Every file-system call of the walk is synchronous (a listing, an lstat an entry, a
 * 64 KiB probe of each `*.jsonl`): each takes microseconds, where an awaited call is a
 * round trip through libuv's thread pool that costs more than the call; a walk of a
 * 2,000-file archive made ~12,000 of them (see format/small-io.ts). The walk still
 * yields to its consumer between files.
 */

export interface FindSessionFilesOptions {
  /** Enter symlinked directories while walking (default false; cycles are still cut). */
  followSymlinks?: boolean;
  signal?: AbortSignal;
  /** Where "-" reads its newline-separated paths from (default process.stdin). */
  stdin?: AsyncIterable<string | Buffer>;
  /**
   * Called for a directory that cannot be read during a walk; the walk goes on.
   * Without it the error is thrown and the walk stops.
   */
  onError?: (err: SessfmtError) => void;
  /** Called for each `*.jsonl` file a walk passed over because it is not a session. */
  onSkip?: (file: string, reason: string) => void;
}

/** Bytes read to decide whether a file starts with a session header. */
export const HEADER_PROBE_BYTES = 64 * 1024;

/**
 * Session files under `paths`, each once, in a stable order (arguments in order,
 * directory entries sorted by name). `-` reads more paths from stdin, one a line.
 * Iterative, so directory depth is not limited by the call stack.
 */
export async function* findSessionFiles(paths: readonly string[], opts: FindSessionFilesOptions = {}): AsyncGenerator<string> {
  const seen = new Set<string>();
  let stdinUsed = false;
  for (const p of paths) {
    checkAbort(opts.signal);
    if (p === "-") {
      if (stdinUsed) throw new SessfmtError("E_INVALID_ARGUMENT", '"-" (paths from stdin) may be given only once');
      stdinUsed = true;
      for await (const q of readPathLines(opts.stdin ?? process.stdin)) yield* given(q, seen, opts);
    } else {
      yield* given(p, seen, opts);
    }
  }
}

/** A path named by the user: a directory is walked, anything else is taken as-is. */
async function* given(p: string, seen: Set<string>, opts: FindSessionFilesOptions): AsyncGenerator<string> {
  let isDir = false;
  try {
    isDir = statSync(p).isDirectory();
  } catch {
    // Missing or unreadable: the caller's open reports it with the right code.
  }
  if (!isDir) {
    const key = resolve(p);
    if (!seen.has(key)) {
      seen.add(key);
      yield p;
    }
    return;
  }
  yield* walk(p, seen, opts);
}

async function* walk(root: string, seen: Set<string>, opts: FindSessionFilesOptions): AsyncGenerator<string> {
  // Directories already entered, by real path: stops symlink loops and double visits.
  const entered = new Set<string>();
  // One listing per open directory; entries are visited in name order and a
  // subdirectory is entered where its name falls, so the output is in path order.
  const stack: { dir: string; names: string[]; next: number }[] = [];
  const enter = (dir: string): void => {
    try {
      const real = realpathSync(dir);
      if (entered.has(real)) return;
      entered.add(real);
      stack.push({ dir, names: readdirSync(dir).sort(), next: 0 });
    } catch (err) {
      const e = ioError(err, dir, "cannot read directory");
      if (!opts.onError) throw e;
      opts.onError(e);
    }
  };
  enter(root);
  while (stack.length > 0) {
    checkAbort(opts.signal);
    const top = stack[stack.length - 1] as { dir: string; names: string[]; next: number };
    if (top.next >= top.names.length) {
      stack.pop();
      continue;
    }
    const name = top.names[top.next++] as string;
    const full = join(top.dir, name);
    const kind = entryKind(full, opts.followSymlinks === true);
    if (kind === "dir") {
      // A sidecar (`<stem>.v2`) or its staging and aside copies hold sessfmt's own
      // *.jsonl records (index, ledger), never sessions.
      if (!isSidecarDirName(name)) enter(full);
    } else if (kind === "file" && name.endsWith(".jsonl")) {
      const key = resolve(full);
      if (seen.has(key)) continue;
      const verdict = probeSessionHeaderSync(full);
      if (verdict === true) {
        seen.add(key);
        yield full;
      } else {
        opts.onSkip?.(full, verdict);
      }
    }
  }
}

/** `<stem>.v2`, `<stem>.v2.staging-<id>` and other `<stem>.v2.<suffix>` directories. */
export function isSidecarDirName(name: string): boolean {
  return /\.v2(\.[^/\\]+)?$/.test(name);
}

/**
 * "dir", "file" or "other". Symlinked directories count as directories only when
 * following; symlinked files are taken (reading them cannot change anything).
 */
function entryKind(full: string, follow: boolean): "dir" | "file" | "other" {
  try {
    const l = lstatSync(full);
    if (l.isDirectory()) return "dir";
    if (l.isFile()) return "file";
    if (!l.isSymbolicLink()) return "other";
    const t = statSync(full);
    if (t.isDirectory()) return follow ? "dir" : "other";
    return t.isFile() ? "file" : "other";
  } catch {
    return "other"; // vanished, or a dangling symlink
  }
}

/**
 * True when the file's first line is a session header; otherwise why not. Reads at
 * most HEADER_PROBE_BYTES: a header longer than that is recognised by its prefix.
 */
export async function probeSessionHeader(file: string): Promise<true | string> {
  return probeSessionHeaderSync(file);
}

/** One buffer for every probe of a walk's thread: each is used up before the next read. */
let probeBuffer: Buffer | undefined;

/** probeSessionHeader with synchronous calls (an open, an fstat, a read of at most 64 KiB). */
function probeSessionHeaderSync(file: string): true | string {
  let buf: Buffer;
  let size: number;
  try {
    const fd = openSync(file, "r");
    try {
      size = fstatSync(fd).size;
      probeBuffer ??= Buffer.allocUnsafe(HEADER_PROBE_BYTES);
      buf = probeBuffer.subarray(0, Math.min(HEADER_PROBE_BYTES, size));
      let done = 0;
      while (done < buf.length) {
        const bytesRead = readSync(fd, buf, done, buf.length - done, done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      buf = buf.subarray(0, done);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    return `cannot read: ${(err as Error).message}`;
  }
  return isSessionHeaderPrefix(buf, size <= HEADER_PROBE_BYTES);
}

/**
 * Header check on the first bytes of a file. Leading blank lines and a UTF-8 BOM are
 * allowed, as the reader allows them. `complete` says the buffer is the whole file.
 */
export function isSessionHeaderPrefix(buf: Buffer, complete: boolean): true | string {
  let start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl === -1 ? buf.length : nl;
    const line = buf.subarray(start, end).toString("utf8").trim();
    if (line.length > 0 || nl === -1) {
      if (line.length === 0) return "empty file";
      if (nl === -1 && !complete) {
        // The first line does not fit the probe: judge by its opening bytes.
        return /^\{[^]*"type"\s*:\s*"session"/.test(line) ? true : "first line is not a session header";
      }
      return parsesAsHeader(line) ? true : "first line is not a session header";
    }
    start = nl + 1;
  }
}

function parsesAsHeader(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return v !== null && typeof v === "object" && (v as { type?: unknown }).type === "session";
  } catch {
    return false;
  }
}

/** Lines of a text stream, without line ends, blank lines dropped. */
async function* readPathLines(input: AsyncIterable<string | Buffer>): AsyncGenerator<string> {
  let carry = "";
  const decoder = new TextDecoder();
  for await (const chunk of input) {
    carry += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = carry.indexOf("\n")) !== -1) {
      const line = carry.slice(0, nl).replace(/\r$/, "");
      carry = carry.slice(nl + 1);
      if (line.trim().length > 0) yield line;
    }
  }
  carry += decoder.decode();
  const last = carry.replace(/\r$/, "");
  if (last.trim().length > 0) yield last;
}

function checkAbort(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new SessfmtError("E_ABORTED", "search for session files aborted", { cause: signal.reason });
}
