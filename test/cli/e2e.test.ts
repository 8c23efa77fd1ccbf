import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { openSession } from "../../src/index.js";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FIXTURES, PROJECT, branchedLines, header, runCli, useTempDir, user, writeChain, writeSession } from "./harness.js";
import { BIN, assertBuilt, runBin } from "./process.js";

const tmp = useTempDir();
beforeAll(assertBuilt);

describe("the built sessfmt binary sets its exit status as main returns it", () => {
  it("prints the version and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")) as { version: string };
    expect(await runBin(["--version"])).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });

  it("exits 0, 1 and 2 from validate like the in-process main", async () => {
    const dir = tmp();
    const clean = writeSession(dir, "clean.jsonl", branchedLines());
    const damaged = writeSession(dir, "damaged.jsonl", [header(), user("a", null, "x", 1), "{"]);
    for (const [args, code] of [
      [[clean], 0],
      [[clean, damaged], 1],
      [[damaged, join(dir, "missing.jsonl")], 2],
    ] as const) {
      const real = await runBin(["validate", ...args]);
      expect(real.code).toBe(code);
      expect(real.stdout).toBe((await runCli(["validate", ...args])).stdout);
    }
  });

  it("reports a usage error in one line without a stack", async () => {
    const r = await runBin(["tree", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^sessfmt: E_INVALID_ARGUMENT: /);
  });

  it("reads paths from a real stdin pipe with -", async () => {
    const r = await runBin(["validate", "-", "--json"], { stdin: `${join(FIXTURES, "v3-linear.jsonl")}\n${join(FIXTURES, "orphans.jsonl")}\n` });
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(3);
  });

  it("exits quietly when the reader of its output goes away (EPIPE)", async () => {
    const file = writeChain(tmp(), "deep.jsonl", 50_000);
    const child = spawn(process.execPath, [BIN, "tree", file], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const firstChunk = await new Promise<string>((res) => child.stdout.once("data", (d: Buffer) => res(d.toString())));
    child.stdout.destroy();
    const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    expect(firstChunk.startsWith("• e0 user: q0")).toBe(true);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

describe("concurrent sessfmt append processes build one valid chain", () => {
  it("4 processes started together, 10 entries each, give exactly 40 new entries in one chain", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const input = (w: number): string =>
      Array.from({ length: 10 }, (_, i) => JSON.stringify({ type: "custom", customType: "load", data: { w, i } })).join("\n") + "\n";
    const results = await Promise.all([0, 1, 2, 3].map((w) => runBin(["append", file, "-", "--durability", "throughput"], { stdin: input(w) })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const printed = results.map((r) => r.stdout.trimEnd().split("\n"));
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    const added = s.records.slice(7);
    expect(added).toHaveLength(40);
    // One chain: every new entry is the child of the entry before it in the file.
    let parent = "b2";
    for (const r of added) {
      expect(r.parentId).toBe(parent);
      parent = r.id;
    }
    expect(s.leafId).toBe(parent);
    // Each process's entries are contiguous, in its input order, with the ids it printed.
    for (const ids of printed) {
      expect(ids).toHaveLength(10);
      const at = added.findIndex((r) => r.id === ids[0]);
      expect(added.slice(at, at + 10).map((r) => r.id)).toEqual(ids);
      expect(added.slice(at, at + 10).map((r) => (s.entry(r).data as { i: number }).i)).toEqual([...Array(10).keys()]);
    }
  });

  it("appends nothing when stdin holds bad JSON, naming the line", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const before = readFileSync(file);
    const r = await runBin(["append", file, "-"], { stdin: '{"type":"custom","customType":"a"}\n{"type": nope}\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_INVALID_ENTRY: stdin line 2: invalid JSON/);
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
