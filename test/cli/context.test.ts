import { copyFileSync } from "node:fs";
import { basename, join } from "node:path";
import { SessionManager, buildSessionContext } from "@mariozechner/pi-coding-agent";
import { describe, expect, it } from "vitest";
import { FIXTURES, REAL_V1, branchedLines, runCli, useTempDir, writeSession } from "./harness.js";

const tmp = useTempDir();

/**
 * Fixtures whose context pi and sessfmt agree on. Left out on purpose: cycles.jsonl
 * (pi's walk never ends), bom.jsonl (pi cannot read the header), v1-skipped-line and
 * v1-index-zero (sessfmt maps firstKeptEntryIndex by physical line, pi does not).
 */
const AGREED = [
  "v1-legacy.jsonl",
  "v2-hook-message.jsonl",
  "v3-linear.jsonl",
  "v3-branched.jsonl",
  "labels.jsonl",
  "compaction.jsonl",
  "compaction-off-path.jsonl",
  "custom-entries.jsonl",
  "model-thinking.jsonl",
  "session-info.jsonl",
  "rust-dialect.jsonl",
  "unknown-types.jsonl",
  "corrupt-lines.jsonl",
  "truncated-tail-complete.jsonl",
  "orphans.jsonl",
  "duplicate-ids.jsonl",
  "crlf.jsonl",
  "unicode-separators.jsonl",
  "lone-surrogate.jsonl",
  "header-only.jsonl",
  "blank-lines.jsonl",
];

/** pi's SessionManager on a copy (pi rewrites legacy files when it opens them). */
function piOpen(file: string): SessionManager {
  const dir = tmp();
  const copy = join(dir, basename(file));
  copyFileSync(file, copy);
  return SessionManager.open(copy, dir);
}

async function contextOf(args: string[]): Promise<unknown> {
  const r = await runCli(["context", ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe("context prints exactly what pi's buildSessionContext builds", () => {
  it.each(AGREED)("%s at the current leaf", async (name) => {
    const file = join(FIXTURES, name);
    expect(JSON.stringify(await contextOf([file]))).toBe(JSON.stringify(piOpen(file).buildSessionContext()));
  });

  it("the real v1 session", async () => {
    const ours = await contextOf([REAL_V1, "--compact"]);
    const theirs = piOpen(REAL_V1).buildSessionContext();
    expect(theirs.messages.length).toBeGreaterThan(900);
    expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
  });

  it("at every entry of a branched session with --leaf", async () => {
    const file = join(FIXTURES, "v3-branched.jsonl");
    const entries = piOpen(file).getEntries();
    expect(entries.length).toBe(14);
    for (const e of entries) {
      expect(JSON.stringify(await contextOf([file, "--leaf", e.id, "--compact"])), e.id).toBe(JSON.stringify(buildSessionContext(entries, e.id)));
    }
  });
});

describe("context output is pretty JSON unless --compact; --json is accepted", () => {
  it("pretty-prints with two spaces by default and prints one line with --compact", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const pretty = await runCli(["context", file]);
    const compact = await runCli(["context", file, "--compact", "--json"]);
    const value = JSON.parse(pretty.stdout) as { messages: unknown[]; thinkingLevel: string; model: unknown };
    expect(pretty.stdout).toBe(JSON.stringify(value, null, 2) + "\n");
    expect(compact.stdout).toBe(JSON.stringify(value) + "\n");
    expect(Object.keys(value)).toEqual(["messages", "thinkingLevel", "model"]);
    expect(value.messages).toHaveLength(4);
  });
});

describe("context terminates on parent cycles and rejects unknown leaves", () => {
  it("builds the context of a file with parent cycles (pi would loop forever)", async () => {
    const ctx = (await contextOf([join(FIXTURES, "cycles.jsonl")])) as { messages: unknown[] };
    expect(ctx.messages.length).toBeGreaterThan(0);
  });

  it("exits 2 for an unknown --leaf instead of silently using the last entry", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["context", file, "--leaf", "nope"]);
    expect(r).toMatchObject({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(/^sessfmt: E_ENTRY_NOT_FOUND: /);
  });
});

describe("context output is byte for byte JSON.stringify's, written message by message", () => {
  it.each(["header-only.jsonl", "custom-entries.jsonl", "compaction.jsonl", "v3-linear.jsonl"])("%s, pretty and compact", async (name) => {
    const file = join(FIXTURES, name);
    const pretty = (await runCli(["context", file])).stdout;
    const compact = (await runCli(["context", file, "--compact"])).stdout;
    const value: unknown = JSON.parse(compact);
    expect(pretty).toBe(JSON.stringify(value, null, 2) + "\n");
    expect(compact).toBe(JSON.stringify(value) + "\n");
  });
});
