/**
 * Helpers of the migration tests: temp dirs, fixture copies, whole-tree snapshots (bytes
 * and mtimes, to prove an operation wrote nothing), a generated damaged archive, and a
 * child process that dies (SIGKILL) in a chosen migration phase.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";

export const PROJECT = join(dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = join(PROJECT, "fixtures");
export const REAL = join(FIXTURES, "real", "large-session.jsonl");
export const DIST_INDEX = join(PROJECT, "dist", "index.js");
export const CRASH_CHILD = join(PROJECT, "test", "migrate", "crash-child.mjs");

/** A fresh temp dir per call, all removed after each test. */
export function useTempDirs(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), "sessfmt-migrate-"));
    made.push(d);
    return d;
  };
}

export function copyFixture(dir: string, name: string, as = name.split("/").pop() as string): string {
  const to = join(dir, as);
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(join(FIXTURES, name), to);
  return to;
}

type Obj = Record<string, unknown>;

export const HEADER: Obj = { type: "session", version: 3, id: "01946a2e-5c00-7000-8000-00000000beef", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" };

export function msg(id: string, parentId: string | null, text = `text of ${id}`, role = "user"): Obj {
  return { type: "message", id, parentId, timestamp: "2025-01-01T00:00:01.000Z", message: { role, content: text, timestamp: 1735689601000 } };
}

/** A linear chain of n message entries (ids e1..en). */
export function chain(n: number, prefix = "e"): Obj[] {
  return Array.from({ length: n }, (_, i) => msg(`${prefix}${i + 1}`, i === 0 ? null : `${prefix}${i}`, `message ${i + 1} ${"x".repeat(i % 7)}`, i % 2 ? "assistant" : "user"));
}

/** Lines as written: objects JSON-encoded, strings and Buffers verbatim, each followed by eol. */
export function writeLines(file: string, lines: (Obj | string | Buffer)[], eol = "\n"): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, Buffer.concat(lines.map((l) => Buffer.concat([Buffer.isBuffer(l) ? l : Buffer.from(typeof l === "string" ? l : JSON.stringify(l)), Buffer.from(eol)]))));
  return file;
}

export function appendEntry(file: string, e: Obj): void {
  writeFileSync(file, JSON.stringify(e) + "\n", { flag: "a" });
}

export interface TreeEntry {
  kind: "file" | "dir" | "link";
  sha256?: string;
  mtimeMs: number;
  size: number;
}

/** Every path under `root` with its kind, content hash and mtime (symlinks not followed). */
export function snapshotTree(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      const rel = relative(root, p);
      if (st.isSymbolicLink()) out.set(rel, { kind: "link", mtimeMs: st.mtimeMs, size: st.size });
      else if (st.isDirectory()) {
        out.set(rel, { kind: "dir", mtimeMs: st.mtimeMs, size: 0 });
        walk(p);
      } else out.set(rel, { kind: "file", sha256: createHash("sha256").update(readFileSync(p)).digest("hex"), mtimeMs: st.mtimeMs, size: st.size });
    }
  };
  walk(root);
  return out;
}

export function sha256File(file: string): string {
  return createHash("sha256").update(readFileSync(file)).digest("hex");
}

/** Make a crashed process's migration lock look as old as a stale one (as if 8 s had passed). */
export function ageMigrationLock(file: string): void {
  const lock = file.replace(/\.jsonl$/, ".v2.migration.lock");
  if (existsSync(lock)) {
    const past = new Date(Date.now() - 60_000);
    utimesSync(lock, past, past);
  }
}

// ---------------------------------------------------------------- a damaged archive

/** Deterministic PRNG (mulberry32), so a generated archive is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Damage kinds of a generated session; `invalid` kinds hold lines migrate stops at without --skip-invalid. */
export const DAMAGE = [
  "clean",
  "bad_json",
  "not_object",
  "missing_id",
  "invalid_utf8",
  "extra_header",
  "torn_tail",
  "unterminated_tail",
  "cr_pending_tail",
  "orphan",
  "cycle",
  "self_parent",
  "duplicate_id",
  "blank_lines",
  "crlf",
  "unknown_type",
  "lone_surrogate",
  "unicode_separators",
  "bom",
  "header_only",
  "v1",
] as const;
export type DamageKind = (typeof DAMAGE)[number];
export const INVALID_KINDS: ReadonlySet<DamageKind> = new Set(["bad_json", "not_object", "missing_id", "invalid_utf8", "extra_header"]);

export interface GeneratedFile {
  file: string;
  kind: DamageKind;
}

/** Write one session with `kind` damage: n entries, some branching. */
export function writeDamaged(file: string, kind: DamageKind, n: number, r: () => number, sessionNo: number): void {
  const id = `01946a2e-5c00-7000-8000-${String(sessionNo).padStart(12, "0")}`;
  const header: Obj = { ...HEADER, id };
  const entries: Obj[] = [];
  for (let i = 1; i <= n; i++) {
    const parent = i === 1 ? null : r() < 0.2 ? `s${sessionNo}e${1 + Math.floor(r() * (i - 1))}` : `s${sessionNo}e${i - 1}`;
    entries.push(msg(`s${sessionNo}e${i}`, parent, `m${i} ${"y".repeat(Math.floor(r() * 40))}`, i % 2 ? "user" : "assistant"));
  }
  const lines: (Obj | string | Buffer)[] = [header, ...entries];
  const at = 1 + Math.floor(r() * n);
  let eol = "\n";
  let tail = "";
  switch (kind) {
    case "clean":
    case "header_only":
      if (kind === "header_only") lines.splice(1);
      break;
    case "bad_json":
      lines.splice(at, 0, '{"type":"message","id":"broken"');
      break;
    case "not_object":
      lines.splice(at, 0, "[1,2,3]");
      break;
    case "missing_id":
      lines.splice(at, 0, { type: "message", parentId: null, timestamp: "2025-01-01T00:00:02.000Z", message: { role: "user", content: "no id" } });
      break;
    case "invalid_utf8":
      lines.splice(at, 0, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
      break;
    case "extra_header":
      lines.splice(at, 0, { ...header, id: "another" });
      break;
    case "torn_tail":
      tail = '{"type":"message","id":"torn","parentId":nu';
      break;
    case "unterminated_tail":
      tail = JSON.stringify(msg(`s${sessionNo}tail`, `s${sessionNo}e${n}`));
      break;
    case "cr_pending_tail":
      tail = JSON.stringify(msg(`s${sessionNo}cr`, `s${sessionNo}e${n}`)) + "\r";
      break;
    case "orphan":
      (lines[at] as Obj).parentId = "ffffffff";
      break;
    case "cycle":
      if (n >= 2) {
        (lines[1] as Obj).parentId = `s${sessionNo}e2`;
        (lines[2] as Obj).parentId = `s${sessionNo}e1`;
      }
      break;
    case "self_parent":
      (lines[at] as Obj).parentId = (lines[at] as Obj).id;
      break;
    case "duplicate_id":
      lines.push({ ...msg(`s${sessionNo}e1`, `s${sessionNo}e${n}`, "again") });
      break;
    case "blank_lines":
      lines.splice(at, 0, "", "   ");
      break;
    case "crlf":
      eol = "\r\n";
      break;
    case "unknown_type":
      lines.splice(at, 0, { type: "mode_change", id: `s${sessionNo}mode`, parentId: null, timestamp: "2025-01-01T00:00:03.000Z", mode: "plan" });
      break;
    case "lone_surrogate":
      lines.splice(at, 0, `{"type":"message","id":"s${sessionNo}ls","parentId":null,"timestamp":"2025-01-01T00:00:04.000Z","message":{"role":"user","content":"\\ud83d"}}`);
      break;
    case "unicode_separators":
      lines.splice(at, 0, { ...msg(`s${sessionNo}u`, null, "a\u2028b\u2029c") });
      break;
    case "bom":
      lines[0] = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(header))]);
      break;
    case "v1": {
      const h: Obj = { type: "session", id, timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" };
      lines.splice(0, lines.length, h, ...entries.map((e) => ({ type: "message", timestamp: e.timestamp, message: e.message })));
      break;
    }
  }
  writeLines(file, lines, eol);
  if (tail) writeFileSync(file, tail, { flag: "a" });
}

/**
 * A pi-layout archive of `count` sessions under `root`, every damage kind in turn, plus a
 * `*.jsonl` that is not a session and an empty one (both skipped by the walk).
 */
export function generateArchive(root: string, count: number, seed = 7): GeneratedFile[] {
  const r = rng(seed);
  const out: GeneratedFile[] = [];
  for (let i = 0; i < count; i++) {
    const kind = DAMAGE[i % DAMAGE.length] as DamageKind;
    const project = `--home-user-p${i % 9}--`;
    const file = join(root, project, `2025-01-${String(1 + (i % 28)).padStart(2, "0")}T09-00-00-000Z_${String(i).padStart(6, "0")}.jsonl`);
    writeDamaged(file, kind, 1 + Math.floor(r() * 12), r, i);
    out.push({ file, kind });
  }
  writeLines(join(root, "--home-user-p0--", "notes.jsonl"), [{ not: "a session" }]);
  writeFileSync(join(root, "--home-user-p1--", "empty.jsonl"), "");
  return out.sort((a, b) => (a.file < b.file ? -1 : 1));
}

// ---------------------------------------------------------------- crashes

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run crash-child.mjs (against dist/) and wait for it to exit or be killed. */
export function runCrashChild(args: string[]): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CRASH_CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

export function assertBuilt(): void {
  if (!existsSync(DIST_INDEX)) throw new Error(`${DIST_INDEX} is missing: run "npm run build" before these tests`);
}
