import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSession } from "../../src/index.js";
import { FIXTURES, branchedLines, runCli, useTempDir, writeSession } from "./harness.js";

const tmp = useTempDir();

const note = (text: string): string => JSON.stringify({ type: "custom", customType: "note", data: { text } });
const ask = (text: string): string => JSON.stringify({ type: "message", message: { role: "user", content: text, timestamp: 1 } });

describe("append adds entries as a chain under the file's last entry and prints their ids", () => {
  it("fills id, parentId and timestamp for each --entry and prints one id per line", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["append", file, "--entry", note("one"), "--entry", ask("two?")]);
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.trimEnd().split("\n");
    expect(ids).toHaveLength(2);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}$/);
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    const [first, second] = ids.map((id) => s.entry(id));
    expect(first).toMatchObject({ type: "custom", parentId: "b2", data: { text: "one" } });
    expect(second).toMatchObject({ type: "message", parentId: ids[0] });
    expect(Number.isNaN(Date.parse(String(first!.timestamp)))).toBe(false);
    expect(s.leafId).toBe(ids[1]);
    const ctx = JSON.parse((await runCli(["context", file])).stdout) as { messages: { content: unknown }[] };
    expect(ctx.messages.at(-1)!.content).toBe("two?");
  });

  it("reads one entry per stdin line with -, skipping blank lines", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["append", file, "-"], { stdin: `${note("a")}\n\n${note("b")}\r\n${note("c")}` });
    expect(r.code, r.stderr).toBe(0);
    const ids = r.stdout.trimEnd().split("\n");
    expect(ids).toHaveLength(3);
    const s = await openSession(file);
    expect(s.branch().slice(-3).map((e) => (e.data as { text: string }).text)).toEqual(["a", "b", "c"]);
    expect((await runCli(["append", file, "--entry", "-"], { stdin: note("d") })).code).toBe(0);
  });
});

describe("append checks all input first: bad input exits 2 naming the line, and nothing is appended", () => {
  it.each([
    [`${note("ok")}\n{"type":\n`, /^sessfmt: E_INVALID_ENTRY: stdin line 2: invalid JSON: /],
    [`${note("ok")}\n\n[1,2]\n`, /^sessfmt: E_INVALID_ENTRY: stdin line 3: an entry must be an object/],
    [`${note("ok")}\n{"type":"custom","id":"x"}\n`, /^sessfmt: E_INVALID_ENTRY: stdin line 2: "id" is assigned by the writer/],
    [`{"customType":"no type"}\n`, /^sessfmt: E_INVALID_ENTRY: stdin line 1: an entry needs a non-empty string "type"/],
    [`${note("ok")}\n{"type":"message","message":{}}\n`, /^sessfmt: E_INVALID_ENTRY: stdin line 2: a message entry needs/],
  ])("%j", async (stdin, message) => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const before = readFileSync(file);
    const r = await runCli(["append", file, "-"], { stdin });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it("names the bad --entry by its position", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["append", file, "--entry", note("ok"), "--entry", "nope"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_INVALID_ENTRY: --entry #2: invalid JSON/);
  });
});

describe("append refuses what it cannot do safely", () => {
  it("refuses a legacy file until it is upgraded", async () => {
    const file = join(tmp(), "v1.jsonl");
    copyFileSync(join(FIXTURES, "v1-legacy.jsonl"), file);
    const before = readFileSync(file);
    const r = await runCli(["append", file, "--entry", note("x")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_UNSUPPORTED_VERSION: .*sessfmt upgrade/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect((await runCli(["upgrade", file, "--no-backup"])).code).toBe(0);
    expect((await runCli(["append", file, "--entry", note("x")])).code).toBe(0);
  });

  it.each([
    [["--durability", "fast", "--entry", "{}"], /Invalid values/],
    [[], /no entries/],
    [["extra"], /unexpected argument "extra"/],
  ])("usage error for %j", async (args, message) => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["append", file, ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("accepts every durability mode", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    for (const mode of ["strict", "balanced", "throughput"]) {
      expect((await runCli(["append", file, "--durability", mode, "--entry", note(mode)])).code).toBe(0);
    }
    expect((await openSession(file)).records).toHaveLength(10);
  });
});
