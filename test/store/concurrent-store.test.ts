import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JsonlSessionStore, SqliteSessionStore, type SessionStore } from "../../src/store/index.js";
import { makeTempDir } from "../helpers/session-files.js";

const run = promisify(execFile);
const APPENDER = join(import.meta.dirname, "helpers", "store-appender.ts");

let tmp: ReturnType<typeof makeTempDir>;
let root: string;
beforeEach(() => {
  tmp = makeTempDir("sessfmt-store-conc-");
  root = join(realpathSync(tmp.dir), "root");
});
afterEach(() => tmp.cleanup());

describe("appends from several processes to one session form one chain", () => {
  it.each([
    ["sqlite", (r: string): SessionStore => new SqliteSessionStore({ root: r, durable: false })],
    ["jsonl", (r: string): SessionStore => new JsonlSessionStore({ root: r, durability: "throughput" })],
  ] as const)("%s", async (kind, make) => {
    const store = make(root);
    const { id } = await store.create({ cwd: "/w", id: "shared" });
    await store.close();
    const per = 25;
    await Promise.all(["a", "b", "c"].map((tag) => run(process.execPath, ["--import", "tsx", APPENDER, kind, root, id, String(per), tag], { timeout: 50_000 })));
    const reader = make(root);
    const s = await reader.load(id);
    await reader.close();
    expect(s.records).toHaveLength(3 * per);
    expect(s.diagnostics.count).toBe(0);
    // Each append's parent was the last entry when it committed: no forks, no lost entries.
    expect(s.tree.branchPoints()).toEqual([]);
    expect(s.records.every((r, i) => r.parentId === (i === 0 ? null : s.records[i - 1]!.id))).toBe(true);
    for (const tag of ["a", "b", "c"]) {
      const mine = s.entries().filter((e) => (e.data as { tag: string }).tag === tag);
      expect(mine.map((e) => (e.data as { i: number }).i)).toEqual([...Array(per).keys()]);
    }
  }, 60_000);
});
