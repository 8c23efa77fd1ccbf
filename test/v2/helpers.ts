import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync, readFileSync, copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { openSessionSync, isSessfmtError, type SessfmtErrorCode } from "../../src/index.js";
import { expect } from "vitest";

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");

/** A temp directory per test file; subdirectories per case. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), "sessfmt-v2-"));
  private n = 0;
  sub(): string {
    const d = join(this.dir, String(this.n++));
    mkdirSync(d);
    return d;
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Write a session from objects (strings are written as given); returns the path. */
export function writeSession(dir: string, lines: (object | string)[], name = "s.jsonl", eol = "\n"): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join(eol) + eol);
  return file;
}

export function copyFixture(dir: string, name: string): string {
  const file = join(dir, basename(name));
  copyFileSync(join(FIXTURES, name), file);
  return file;
}

/** A clock that stands still (frames and manifests become deterministic). */
export function fixedClock(iso = "2025-06-01T12:00:00.000Z"): () => Date {
  return () => new Date(iso);
}

/** What export must give for a file: its header and its valid entry lines, each with "\n". */
export function expectedExport(file: string): Buffer {
  const s = openSessionSync(file);
  const parts: Buffer[] = [s.rawHeader(), Buffer.from("\n")];
  s.forEachRaw(s.records, (b) => parts.push(Buffer.from(b), Buffer.from("\n")));
  return Buffer.concat(parts);
}

export const HEADER = { type: "session", version: 3, id: "01946a2e-5c00-7000-8000-0000000000aa", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" };

let counter = 0;
/** A simple message entry. */
export function msg(id: string, parentId: string | null, text = `text ${++counter}`, role = "user"): Record<string, unknown> {
  return { type: "message", id, parentId, timestamp: "2025-01-01T00:00:01.000Z", message: { role, content: text, timestamp: 1 } };
}

/** A linear session of n entries. */
export function linear(n: number, prefix = "e"): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 1; i <= n; i++) out.push(msg(`${prefix}${i}`, i === 1 ? null : `${prefix}${i - 1}`));
  return out;
}

/** Expect a promise to reject with a SessfmtError of this code; returns it. */
export async function rejectsWith(p: Promise<unknown>, code: SessfmtErrorCode): Promise<import("../../src/index.js").SessfmtError> {
  try {
    await p;
  } catch (err) {
    if (!isSessfmtError(err)) throw err;
    expect(err.code).toBe(code);
    return err;
  }
  throw new Error(`expected rejection with ${code}`);
}

export function read(file: string): Buffer {
  return readFileSync(file);
}

/** SHA-256 of every file under `root`, by root-relative path: a store's bytes, to compare. */
export function fileHashes(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out[relative(root, p)] = createHash("sha256").update(readFileSync(p)).digest("hex");
    }
  };
  walk(root);
  return out;
}
