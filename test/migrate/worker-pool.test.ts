import { describe, expect, it } from "vitest";
import type { DiscoveredFile } from "../../src/migrate/archive.js";
import { FileListReader, packFileList } from "../../src/migrate/file-list.js";
import type { FileOutcome } from "../../src/migrate/operations.js";
import { WorkerPool } from "../../src/migrate/worker-pool.js";

/**
 * The worker pool of archive runs (14.7), with a stand-in worker script (pool-worker.mjs:
 * the real protocol, outcomes decided by the file names): every file delivered once,
 * crashes fail only the file in flight, a thread taking files beside the workers, stops.
 */

const SCRIPT = new URL("./pool-worker.mjs", import.meta.url);
const BROKEN = new URL("./pool-worker-broken.mjs", import.meta.url);

const names = (n: number, special: Record<number, string> = {}): DiscoveredFile[] =>
  Array.from({ length: n }, (_, i) => ({ file: `/archive/${special[i] ?? "ok"}-${i}-ü.jsonl`, bytes: 1000 + i }));

async function runPool(files: DiscoveredFile[], opts: { workers: number; takeHere?: boolean; stopWhenHanging?: number; script?: URL }) {
  const pool = new WorkerPool("verify", {}, opts.workers, { script: opts.script ?? SCRIPT });
  let hanging = 0;
  const onProgress = () => {
    if (++hanging === opts.stopWhenHanging) pool.stop();
  };
  const got = new Map<number, FileOutcome>();
  const deliver = (i: number, o: FileOutcome) => {
    expect(got.has(i), `file ${i} delivered twice`).toBe(false);
    got.set(i, o);
  };
  const here: number[] = [];
  const lane = async () => {
    for (let i = pool.take(); i !== undefined; i = pool.take()) {
      here.push(i);
      await new Promise((r) => setTimeout(r, 1));
      deliver(i, { file: (files[i] as DiscoveredFile).file, bytes: 0, ok: true, outcome: "here", durationMs: 0 });
    }
  };
  try {
    const running = pool.runFiles(files, opts.workers, { deliver, onProgress });
    await Promise.all([running, opts.takeHere ? lane() : undefined]);
    return { got, here, pool, left: [...Array(files.length).keys()].filter((i) => !got.has(i)) };
  } finally {
    await pool.dispose();
  }
}

describe("14.7 the shared file list", () => {
  it("gives back every path (any UTF-8) and size, in any order", () => {
    const files = [...names(5), { file: "/a/日本語 ☃/x.jsonl", bytes: 0 }, { file: "", bytes: 7 }];
    const reader = new FileListReader(packFileList(files));
    for (const i of [6, 0, 5, 3, 1, 4, 2]) expect(reader.at(i)).toEqual(files[i]);
  });
});

describe("14.7 the worker pool", () => {
  it("runs every file exactly once across the workers", async () => {
    const files = names(200);
    const { got, left } = await runPool(files, { workers: 3 });
    expect(left).toEqual([]);
    for (const [i, o] of got) expect(o).toMatchObject({ file: files[i]!.file, bytes: files[i]!.bytes, outcome: "verified" });
  });

  it("shares the files with a thread that takes them too", async () => {
    const { got, here, left } = await runPool(names(300), { workers: 1, takeHere: true });
    expect(left).toEqual([]);
    expect(here.length).toBeGreaterThan(0);
    expect([...got.values()].filter((o) => o.outcome === "here").length).toBe(here.length);
  });

  it("a crashed or exited worker fails only the file it was running; a fresh one runs the rest", async () => {
    const files = names(60, { 5: "crash", 17: "exit", 18: "crash", 40: "exit" });
    const { got, left } = await runPool(files, { workers: 2 });
    expect(left).toEqual([]);
    const failed = [...got].filter(([, o]) => o.outcome === "failed").map(([i, o]) => [i, o.error?.code]);
    expect(failed.sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual([
      [5, "E_IO"],
      [17, "E_IO"],
      [18, "E_IO"],
      [40, "E_IO"],
    ]);
    expect(got.get(5)?.error?.message).toMatch(/crash-5-ü\.jsonl: worker thread failed: crashed on/);
    expect(got.get(17)?.error?.message).toMatch(/worker thread failed: exited with code 3/);
  });

  it("workers that die before taking a file are not started again; the files stay for the caller", async () => {
    const { got, left, pool } = await runPool(names(10), { workers: 2, script: BROKEN });
    expect(got.size).toBe(0);
    expect(left).toEqual([...Array(10).keys()]);
    expect(pool.take()).toBe(0);
    expect(pool.lastCrash).toMatch(/cannot start/);
  });

  it("stop aborts the files in flight and starts no more", async () => {
    const files = names(50, { 3: "hang", 4: "hang" });
    const { got, left } = await runPool(files, { workers: 2, stopWhenHanging: 2 });
    expect([0, 1, 2, 3, 4].map((i) => got.get(i)?.outcome)).toEqual(["verified", "verified", "verified", "aborted", "aborted"]);
    expect(left).toEqual([...Array(50).keys()].slice(5));
  });
});
