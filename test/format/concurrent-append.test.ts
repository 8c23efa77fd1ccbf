import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createSession, openSession } from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";

const run = promisify(execFile);
const APPENDER = fileURLToPath(new URL("../helpers/appender.ts", import.meta.url));

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-concurrent-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => tmp.cleanup());

async function appendFromProcesses(file: string, workers: { durability: string; parent: string }[], count: number): Promise<string[][]> {
  return Promise.all(
    workers.map(async (w, n) => {
      const { stdout } = await run(process.execPath, ["--import", "tsx", APPENDER, file, String(count), `w${n}`, w.durability, w.parent], {
        cwd: fileURLToPath(new URL("../..", import.meta.url)),
        timeout: 120_000,
      });
      return JSON.parse(stdout) as string[];
    }),
  );
}

describe("concurrent appends from several processes never tear, interleave or lose an entry", () => {
  it("4 processes x 50 appends with parent 'fileTail' build one chain of exactly 200 new entries", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const first = await w.append({ type: "custom", customType: "seed" });
    await w.close();
    const workers = [
      { durability: "strict", parent: "fileTail" },
      { durability: "balanced", parent: "fileTail" },
      { durability: "throughput", parent: "fileTail" },
      { durability: "throughput", parent: "fileTail" },
    ];
    const perWorker = await appendFromProcesses(w.file, workers, 50);

    const s = await openSession(w.file);
    expect(s.diagnostics.count).toBe(0); // no torn, interleaved, duplicate or orphaned line
    expect(s.records).toHaveLength(201);
    const ids = s.records.map((r) => r.id);
    expect(new Set(ids).size).toBe(201);
    expect(new Set(ids.slice(1))).toEqual(new Set(perWorker.flat()));
    // fileTail: each entry's parent is the entry before it in the file, so every parent resolves.
    s.records.forEach((r, i) => expect(r.parentId).toBe(i === 0 ? null : ids[i - 1]));
    expect(ids[0]).toBe(first);
    // Each process's entries appear in the order it appended them.
    for (const [n, mine] of perWorker.entries()) {
      const order = s.records.filter((r) => mine.includes(r.id)).map((r) => (s.entry(r) as { data: { tag: string; i: number } }).data);
      expect(order).toEqual(mine.map((_, i) => ({ tag: `w${n}`, i })));
    }
    const lines = readFileSync(w.file, "utf8").split("\n");
    expect(lines.at(-1)).toBe("");
    for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
    expect(existsSync(`${w.file}.torn`)).toBe(false);
    expect(existsSync(`${w.file}.lock`)).toBe(false);
  });

  it("writers in 'leaf' mode each grow their own branch, and still never tear a line", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const root = await w.append({ type: "custom", customType: "seed" });
    await w.close();
    const perWorker = await appendFromProcesses(
      w.file,
      [
        { durability: "throughput", parent: "leaf" },
        { durability: "throughput", parent: "leaf" },
      ],
      30,
    );
    const s = await openSession(w.file);
    expect(s.diagnostics.count).toBe(0);
    expect(s.records).toHaveLength(61);
    for (const mine of perWorker) {
      // The first parent is the file's last entry when the process opened it (the seed, or
      // an entry of the other process); after that each process chains onto its own leaf.
      const others = new Set([root, ...perWorker.flat().filter((id) => !mine.includes(id))]);
      expect(others.has(s.record(mine[0] as string)?.parentId as string)).toBe(true);
      mine.slice(1).forEach((id, i) => expect(s.record(id)?.parentId).toBe(mine[i]));
    }
  });
});
