/**
 * Running the CLI in-process with fake stdio, and building session files in temp dirs.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterEach } from "vitest";
import { main } from "../../src/cli/program.js";

export const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURES = join(PROJECT, "fixtures");
export const REAL_V1 = join(FIXTURES, "real", "large-session.jsonl");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Text on stdin (default: empty). */
  stdin?: string | Buffer;
  env?: Record<string, string | undefined>;
  isTTY?: boolean;
  columns?: number;
}

/** Call the CLI's main with fake stdio; never spawns a process. */
export async function runCli(argv: string[], opts: RunOptions = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    stdin: Readable.from(opts.stdin === undefined ? [] : [typeof opts.stdin === "string" ? Buffer.from(opts.stdin) : opts.stdin]),
    isTTY: opts.isTTY ?? false,
    env: opts.env ?? {},
    columns: opts.columns,
  });
  return { code, stdout, stderr };
}

/** A fresh temp dir per test, removed after it. */
export function useTempDir(): () => string {
  const made: string[] = [];
  afterEach(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), "sessfmt-cli-"));
    made.push(d);
    return d;
  };
}

type Obj = Record<string, unknown>;

export function header(extra: Obj = {}): Obj {
  return { type: "session", version: 3, id: "sess-0001", timestamp: "2025-03-01T10:00:00.000Z", cwd: "/home/u/proj", ...extra };
}

/** Entry timestamps one second apart from a fixed start, so child order is defined. */
export function at(n: number): string {
  return new Date(Date.UTC(2025, 2, 1, 10, 0, n)).toISOString();
}

export function user(id: string, parentId: string | null, text: string, n: number): Obj {
  return { type: "message", id, parentId, timestamp: at(n), message: { role: "user", content: text, timestamp: Date.parse(at(n)) } };
}

export function assistant(id: string, parentId: string | null, text: string, n: number, extra: Obj = {}): Obj {
  return {
    type: "message",
    id,
    parentId,
    timestamp: at(n),
    message: {
      role: "assistant",
      content: [{ type: "text", text }],
      api: "anthropic-messages",
      provider: "anthropic",
      model: "claude-sonnet-4-5",
      usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, totalTokens: 2 },
      stopReason: "stop",
      timestamp: Date.parse(at(n)) + 500,
      ...extra,
    },
  };
}

export function label(id: string, parentId: string, targetId: string, text: string | undefined, n: number): Obj {
  return { type: "label", id, parentId, timestamp: at(n), targetId, ...(text === undefined ? {} : { label: text }) };
}

/** Lines as written: objects are JSON-encoded, strings are taken verbatim. */
export function jsonl(lines: (Obj | string)[]): string {
  return lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
}

export function writeSession(dir: string, name: string, lines: (Obj | string)[]): string {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, jsonl(lines));
  return file;
}

/**
 * A small tree:
 *   a1 user -> a2 assistant -> b1 user -> b2 assistant (file's last entry: the leaf)
 *                           -> c1 user [label "retry"] -> c2 assistant
 * plus the label entry l1 hanging under c2.
 */
export function branchedLines(): (Obj | string)[] {
  return [
    header(),
    user("a1", null, "hello", 1),
    assistant("a2", "a1", "hi, how can I help?", 2),
    user("c1", "a2", "second try", 3),
    assistant("c2", "c1", "second answer", 4),
    label("l1", "c2", "c1", "retry", 5),
    user("b1", "a2", "first try", 6),
    assistant("b2", "b1", "first answer", 7),
  ];
}

/** A linear chain of `n` messages, written without building one giant string array twice. */
export function writeChain(dir: string, name: string, n: number): string {
  const parts: string[] = [JSON.stringify(header({ id: "deep" }))];
  for (let i = 0; i < n; i++) {
    const e = i % 2 === 0 ? user(`e${i}`, i === 0 ? null : `e${i - 1}`, `q${i}`, 1) : assistant(`e${i}`, `e${i - 1}`, `a${i}`, 1);
    parts.push(JSON.stringify(e));
  }
  const file = join(dir, name);
  writeFileSync(file, parts.join("\n") + "\n");
  return file;
}
