/**
 * Child processes for the reliability suites. A child imports the library from the
 * built dist/ when it is up to date with src/ (fast start: hundreds of children are
 * spawned and killed; a private copy per test file), and from src/ through tsx otherwise,
 * so a stale build is never what gets tested. A child talks to its parent in lines on stdout, which are written
 * synchronously on Linux pipes: a line printed before a SIGKILL is always received.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

export const PROJECT = fileURLToPath(new URL("../../..", import.meta.url));
export const CHILD_OPERATIONS = join(PROJECT, "test", "helpers", "reliability", "child-operations.mjs");

function newestMtime(dir: string, ext: string): Map<string, number> {
  const out = new Map<string, number>();
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else if (ent.name.endsWith(ext) && !ent.name.endsWith(".d.ts")) out.set(p, statSync(p).mtimeMs);
    }
  }
  return out;
}

let runtime: { execArgv: string[]; lib: string; kind: "dist" | "src" } | undefined;

/** How children load sessfmt: the build when every src file has an up-to-date .js, else tsx + src. */
export function childRuntime(): { execArgv: string[]; lib: string; kind: "dist" | "src" } {
  if (runtime) return runtime;
  const forced = process.env.SESSFMT_CHILD_LIB;
  const distIndex = join(PROJECT, "dist", "index.js");
  let fresh = forced !== "src" && existsSync(distIndex);
  if (fresh && forced !== "dist") {
    for (const [src, mtime] of newestMtime(join(PROJECT, "src"), ".ts")) {
      const js = join(PROJECT, "dist", relative(join(PROJECT, "src"), src)).replace(/\.ts$/, ".js");
      if (!existsSync(js) || statSync(js).mtimeMs < mtime) {
        fresh = false;
        break;
      }
    }
  }
  runtime = fresh
    ? { execArgv: [], lib: snapshotDist(), kind: "dist" }
    : { execArgv: ["--import", "tsx"], lib: join(PROJECT, "src", "index.ts"), kind: "src" };
  return runtime;
}

/**
 * A private copy of dist/ for this test process's children, so a rebuild during a long
 * run cannot hand a child half-written modules. Dependencies resolve through a
 * node_modules link beside the copy. Removed when the process exits.
 */
function snapshotDist(): string {
  const dir = mkdtempSync(join(tmpdir(), "sessfmt-dist-"));
  cpSync(join(PROJECT, "dist"), join(dir, "dist"), { recursive: true, filter: (src) => !src.endsWith(".map") && !src.endsWith(".d.ts") });
  symlinkSync(join(PROJECT, "node_modules"), join(dir, "node_modules"));
  snapshots.push(dir);
  return join(dir, "dist", "index.js");
}

const snapshots: string[] = [];
afterAll(() => {
  for (const dir of snapshots.splice(0)) rmSync(dir, { recursive: true, force: true });
  runtime = undefined;
});

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Complete stdout lines, in order. */
  lines: string[];
  stderr: string;
  /** True when the parent delivered a SIGKILL while the child was still running. */
  killed: boolean;
}

/** A running child with line-oriented stdout. */
export class Child {
  readonly proc: ChildProcess;
  readonly lines: string[] = [];
  private stderr = "";
  private partial = "";
  private waiters: { match: (l: string) => boolean; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  private exited: Promise<ChildResult>;
  private killedByUs = false;
  private done = false;
  private readonly guard: NodeJS.Timeout;

  constructor(script: string, args: string[], opts: { hangGuardMs: number; env?: Record<string, string>; execArgv?: string[] }) {
    const rt = childRuntime();
    this.proc = spawn(process.execPath, [...rt.execArgv, ...(opts.execArgv ?? []), script, ...args], {
      cwd: PROJECT,
      env: { ...process.env, SESSFMT_LIB: rt.lib, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout?.setEncoding("utf8").on("data", (d: string) => this.onData(d));
    this.proc.stderr?.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    // Hang guard: a child that never finishes is killed and its test fails on the result.
    this.guard = setTimeout(() => {
      if (!this.done) this.proc.kill("SIGKILL");
    }, opts.hangGuardMs);
    this.exited = new Promise((resolve, reject) => {
      this.proc.on("error", reject);
      this.proc.on("close", (code, signal) => {
        this.done = true;
        clearTimeout(this.guard);
        if (this.partial) this.lines.push(this.partial);
        for (const w of this.waiters) w.reject(new Error(`child exited (${code ?? signal}) before the awaited line; stderr: ${this.stderr.slice(-2000)}`));
        this.waiters = [];
        resolve({ code, signal, lines: this.lines, stderr: this.stderr, killed: this.killedByUs });
      });
    });
  }

  private onData(d: string): void {
    const parts = (this.partial + d).split("\n");
    this.partial = parts.pop() as string;
    for (const line of parts) {
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.match(line)) return true;
        w.resolve(line);
        return false;
      });
    }
  }

  /** Resolves with the first line (already received or future) that matches. */
  waitFor(match: (line: string) => boolean): Promise<string> {
    const seen = this.lines.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    if (this.done) return Promise.reject(new Error(`child already exited; stderr: ${this.stderr.slice(-2000)}`));
    return new Promise((resolve, reject) => this.waiters.push({ match, resolve, reject }));
  }

  /** SIGKILL now (if still running), then the result. */
  async kill(): Promise<ChildResult> {
    if (!this.done && this.proc.exitCode === null && this.proc.signalCode === null) {
      this.killedByUs = this.proc.kill("SIGKILL");
    }
    return this.exited;
  }

  result(): Promise<ChildResult> {
    return this.exited;
  }
}

/** Run a child to completion (with a hang guard) and return its result. */
export function runChild(script: string, args: string[], opts: { hangGuardMs: number; env?: Record<string, string>; execArgv?: string[] }): Promise<ChildResult> {
  return new Child(script, args, opts).result();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
