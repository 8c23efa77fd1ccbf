import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encodeCwd } from "../../src/index.js";
import { JsonlSessionStore, SqliteSessionStore } from "../../src/store/index.js";
import { makeTempDir, userMessage } from "../helpers/session-files.js";

let tmp: ReturnType<typeof makeTempDir>;
let root: string;
let store: JsonlSessionStore;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-layout-");
  root = join(realpathSync(tmp.dir), "sessions");
  store = new JsonlSessionStore({ root, durability: "throughput" });
});
afterEach(async () => {
  await store.close();
  tmp.cleanup();
});

describe("the JSONL store writes pi's layout, which pi itself reads", () => {
  it("puts a session at <root>/<encodeCwd>/<timestamp>_<id>.jsonl, listed by pi", async () => {
    const info = await store.create({ cwd: "/home/u/app", id: "0197-x", now: new Date("2025-02-03T04:05:06.789Z") });
    expect(relative(root, info.location)).toBe(join(encodeCwd("/home/u/app"), "2025-02-03T04-05-06-789Z_0197-x.jsonl"));
    await store.appendMessage(info.id, userMessage("hello pi"));
    const listed = await SessionManager.list("/home/u/app", join(root, encodeCwd("/home/u/app")));
    expect(listed.map((s) => [s.id, s.firstMessage])).toEqual([["0197-x", "hello pi"]]);
  });

  it("finds sessions other processes wrote, whatever their file names", async () => {
    const dir = join(root, "--elsewhere--");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "odd-name.jsonl"), '{"type":"session","version":3,"id":"foreign","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/x"}\n');
    expect((await store.load("foreign")).header.cwd).toBe("/x");
  });
});

describe("archive moves a session and its sidecar under <root>/.archive/; delete removes both", () => {
  it("moves the file and the sidecar dirs to the same relative place, and back", async () => {
    const info = await store.create({ cwd: "/w", id: "s1" });
    const stem = info.location.replace(/\.jsonl$/, "");
    mkdirSync(`${stem}.v2`);
    writeFileSync(join(`${stem}.v2`, "manifest.json"), "{}");
    await store.archive("s1");
    const rel = relative(root, info.location);
    expect(existsSync(info.location)).toBe(false);
    expect(existsSync(join(root, ".archive", rel))).toBe(true);
    expect(existsSync(join(root, ".archive", `${rel.replace(/\.jsonl$/, "")}.v2`, "manifest.json"))).toBe(true);
    // pi lists one directory level per project: it never sees the archive.
    expect(await SessionManager.list("/w", join(root, encodeCwd("/w")))).toEqual([]);
    await store.unarchive("s1");
    expect(existsSync(info.location)).toBe(true);
    expect(existsSync(join(`${stem}.v2`, "manifest.json"))).toBe(true);
  });

  it("refuses to move onto an existing archived copy (E_EXISTS) and loses nothing", async () => {
    const info = await store.create({ cwd: "/w", id: "s2" });
    const target = join(root, ".archive", relative(root, info.location));
    mkdirSync(join(target, ".."), { recursive: true });
    writeFileSync(target, "someone else's file");
    await expect(store.archive("s2")).rejects.toMatchObject({ code: "E_EXISTS" });
    expect(existsSync(info.location)).toBe(true);
  });

  it("delete removes the file and its sidecar and staging dirs", async () => {
    const info = await store.create({ cwd: "/w", id: "s3" });
    const stem = info.location.replace(/\.jsonl$/, "");
    mkdirSync(`${stem}.v2`);
    mkdirSync(`${stem}.v2.staging-1`);
    await store.delete("s3");
    expect(readdirSync(join(info.location, ".."))).toEqual([]);
  });
});

describe("the SQLite store uses the same layout with .sqlite files", () => {
  it("creates <root>/<encodeCwd>/<timestamp>_<id>.sqlite and archives it with its WAL files", async () => {
    const sq = new SqliteSessionStore({ root, durable: false });
    const info = await sq.create({ cwd: "/w", id: "q1", now: new Date("2025-02-03T04:05:06.789Z") });
    expect(relative(root, info.location)).toBe(join("--w--", "2025-02-03T04-05-06-789Z_q1.sqlite"));
    await sq.archive("q1");
    // Its -wal and -shm files (when a reader left them) go along.
    expect(readdirSync(join(root, ".archive", "--w--")).filter((n) => !/-(wal|shm)$/.test(n))).toEqual(["2025-02-03T04-05-06-789Z_q1.sqlite"]);
    expect(readdirSync(join(root, "--w--"))).toEqual([]);
    expect((await sq.load("q1")).id).toBe("q1");
    await sq.close();
  });
});
