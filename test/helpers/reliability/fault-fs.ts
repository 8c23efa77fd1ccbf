/**
 * Fault injection for node:fs and node:fs/promises, per call site. A test file mocks the
 * two modules with the wrappers below (they pass every call through untouched until a
 * fault is armed):
 *
 *   vi.mock("node:fs/promises", async (orig) => (await import("../helpers/reliability/fault-fs.js")).mockFsPromises(await orig()));
 *   vi.mock("node:fs", async (orig) => (await import("../helpers/reliability/fault-fs.js")).mockFs(await orig()));
 *
 * then arms faults around one operation: `await withFaults([{ op: "fh.write", path: /s\.jsonl$/, errno: "ENOSPC" }], () => ...)`.
 * This module must not import node:fs itself (it would receive its own mock).
 */

/** Calls that can be made to fail. `fh.*` are FileHandle methods (matched on the path the handle was opened with). */
export type FaultOp =
  | "open"
  | "rename"
  | "link"
  | "copyFile"
  | "unlink"
  | "mkdir"
  | "readdir"
  | "stat"
  | "realpath"
  | "fh.write"
  | "fh.read"
  | "fh.sync"
  | "fh.datasync"
  | "fh.truncate"
  | "fh.stat"
  | "fh.chmod"
  | "openSync"
  | "readSync"
  | "statSync"
  | "readdirSync";

export interface Fault {
  op: FaultOp;
  /** Which path(s): matched against the first path argument (for rename/link: either). */
  path?: RegExp;
  /** errno code to fail with (e.g. "ENOSPC"); omitted = no failure, only `before` runs. */
  errno?: string;
  /** Let this many matching calls through before the fault applies (default 0). */
  skip?: number;
  /** How many matching calls fail (default 1; Infinity for all). */
  times?: number;
  /** fh.write only: the first failing call instead writes this many bytes (a short write). */
  shortWrite?: number;
  /** Runs before a matching call that the fault applies to (e.g. replace the file under the caller). */
  before?: () => void | Promise<void>;
  /** Calls this fault was applied to (tests assert it fired). */
  hits?: number;
}

let armed: Fault[] = [];
const ERRNO: Record<string, number> = { ENOSPC: -28, EACCES: -13, EIO: -5, EROFS: -30, EXDEV: -18, EPERM: -1, EMFILE: -24, ENOENT: -2, EEXIST: -17, ELOOP: -40 };

function injected(f: Fault, path: string): NodeJS.ErrnoException {
  const code = f.errno as string;
  const err = new Error(`${code}: injected fault, ${f.op.replace(/^fh\./, "")} '${path}'`) as NodeJS.ErrnoException;
  err.code = code;
  err.errno = ERRNO[code] ?? -1;
  err.syscall = f.op.replace(/^fh\./, "");
  err.path = path;
  return err;
}

/** The armed fault that applies to this call, if any (counting skips and times). */
function match(op: FaultOp, paths: string[]): Fault | undefined {
  for (const f of armed) {
    if (f.op !== op) continue;
    if (f.path && !paths.some((p) => (f.path as RegExp).test(p))) continue;
    const seen = ((f as { seen?: number }).seen = ((f as { seen?: number }).seen ?? 0) + 1);
    const skip = f.skip ?? 0;
    if (seen <= skip) continue;
    if (seen > skip + (f.times ?? 1)) continue;
    f.hits = (f.hits ?? 0) + 1;
    return f;
  }
  return undefined;
}

/** Arm `faults` while `fn` runs (the hit counts stay readable on the fault objects). */
export async function withFaults<T>(faults: Fault[], fn: () => Promise<T> | T): Promise<T> {
  for (const f of faults) {
    f.hits = 0;
    (f as { seen?: number }).seen = 0;
  }
  armed = faults;
  try {
    return await fn();
  } finally {
    armed = [];
  }
}

function pathOf(p: unknown): string {
  if (typeof p === "string") return p;
  if (p instanceof URL) return p.pathname;
  if (Buffer.isBuffer(p)) return p.toString();
  return String(p);
}

async function guardAsync<T>(op: FaultOp, paths: string[], call: () => Promise<T>): Promise<T> {
  const f = match(op, paths);
  if (f) {
    await f.before?.();
    if (f.errno) throw injected(f, paths[0] as string);
  }
  return call();
}

function guardSync<T>(op: FaultOp, paths: string[], call: () => T): T {
  const f = match(op, paths);
  if (f) {
    runSyncHook(f);
    if (f.errno) throw injected(f, paths[0] as string);
  }
  return call();
}

function runSyncHook(f: Fault): void {
  const r = f.before?.();
  if (r && typeof (r as Promise<void>).then === "function") throw new Error("sync fault hooks cannot be async");
}

type AnyFn = (...args: unknown[]) => unknown;

/**
 * Paths of the descriptors of FileHandles opened through the mock: `fh.write` and
 * `fh.datasync` faults also apply to writeSync/fdatasyncSync on `fh.fd` (the writer's
 * strict appends write and flush synchronously through the handle's descriptor).
 */
const handlePaths = new Map<number, string>();

/** A short write for a fault that asks for one (once); undefined when the fault fails the call instead. */
function shortLength(f: Fault, length: number): number | undefined {
  if (f.shortWrite === undefined) return undefined;
  const n = Math.min(f.shortWrite, length);
  f.shortWrite = undefined; // only once; later matching calls fail with errno
  return n;
}

const HANDLE_OPS = new Set(["write", "read", "sync", "datasync", "truncate", "stat", "chmod"]);

function wrapHandle<H extends object>(fh: H, path: string): H {
  return new Proxy(fh, {
    get(target, prop, _receiver) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== "function") return v;
      const fn = v as AnyFn;
      if (typeof prop !== "string" || !HANDLE_OPS.has(prop)) return fn.bind(target);
      const op = `fh.${prop}` as FaultOp;
      return async (...args: unknown[]) => {
        const f = match(op, [path]);
        if (f) {
          await f.before?.();
          if (op === "fh.write" && f.shortWrite !== undefined && Buffer.isBuffer(args[0])) {
            // A short write: part of the buffer goes down, the caller sees fewer bytes written.
            const [buf, offset = 0, length = (args[0] as Buffer).length - (offset as number), position = null] = args as [Buffer, number?, number?, (number | null)?];
            return fn.call(target, buf, offset, shortLength(f, length as number), position);
          }
          if (f.errno) throw injected(f, path);
        }
        return fn.apply(target, args);
      };
    },
  });
}

/** node:fs/promises with fault points. */
export function mockFsPromises<M extends Record<string, unknown>>(orig: M): M {
  const o = orig as unknown as Record<string, AnyFn>;
  const wrapped: Record<string, AnyFn> = {
    open: (async (p: unknown, ...rest: unknown[]) => {
      const path = pathOf(p);
      const fh = await guardAsync("open", [path], () => o.open!(p, ...rest) as Promise<{ fd: number }>);
      handlePaths.set(fh.fd, path);
      return wrapHandle(fh, path);
    }) as AnyFn,
  };
  for (const name of ["rename", "link", "copyFile", "unlink", "mkdir", "readdir", "stat", "realpath"] as const) {
    const real = o[name] as AnyFn;
    wrapped[name] = ((...args: unknown[]) => {
      const paths = name === "rename" || name === "link" || name === "copyFile" ? [pathOf(args[0]), pathOf(args[1])] : [pathOf(args[0])];
      return guardAsync(name, paths, () => real(...args) as Promise<unknown>);
    }) as AnyFn;
  }
  const def = (orig as { default?: Record<string, unknown> }).default ?? orig;
  return { ...orig, ...wrapped, default: { ...def, ...wrapped } } as M;
}

/** node:fs with fault points on the synchronous calls the reader uses. */
export function mockFs<M extends Record<string, unknown>>(orig: M): M {
  const o = orig as unknown as Record<string, AnyFn>;
  const fdPaths = new Map<number, string>();
  const wrapped: Record<string, AnyFn> = {
    openSync: ((p: unknown, ...rest: unknown[]) => {
      const path = pathOf(p);
      const fd = guardSync("openSync", [path], () => o.openSync!(p, ...rest) as number);
      fdPaths.set(fd, path);
      return fd;
    }) as AnyFn,
    readSync: ((fd: unknown, ...rest: unknown[]) => guardSync("readSync", [fdPaths.get(fd as number) ?? `fd:${String(fd)}`], () => o.readSync!(fd, ...rest))) as AnyFn,
    statSync: ((p: unknown, ...rest: unknown[]) => guardSync("statSync", [pathOf(p)], () => o.statSync!(p, ...rest))) as AnyFn,
    readdirSync: ((p: unknown, ...rest: unknown[]) => guardSync("readdirSync", [pathOf(p)], () => o.readdirSync!(p, ...rest))) as AnyFn,
    writeSync: ((fd: unknown, buf: unknown, offset?: unknown, length?: unknown, ...rest: unknown[]) => {
      const path = handlePaths.get(fd as number);
      const f = path === undefined ? undefined : match("fh.write", [path]);
      if (f) runSyncHook(f);
      if (f && Buffer.isBuffer(buf)) {
        const short = shortLength(f, (length as number | undefined) ?? buf.length - ((offset as number | undefined) ?? 0));
        if (short !== undefined) return o.writeSync!(fd, buf, offset ?? 0, short, ...rest);
        if (f.errno) throw injected(f, path as string);
      }
      return o.writeSync!(fd, buf, offset, length, ...rest);
    }) as AnyFn,
    fdatasyncSync: ((fd: unknown) => {
      const path = handlePaths.get(fd as number);
      const f = path === undefined ? undefined : match("fh.datasync", [path]);
      if (f) runSyncHook(f);
      if (f?.errno) throw injected(f, path as string);
      return o.fdatasyncSync!(fd);
    }) as AnyFn,
    closeSync: ((fd: unknown) => {
      fdPaths.delete(fd as number);
      return o.closeSync!(fd);
    }) as AnyFn,
  };
  const def = (orig as { default?: Record<string, unknown> }).default ?? orig;
  return { ...orig, ...wrapped, default: { ...def, ...wrapped } } as M;
}
