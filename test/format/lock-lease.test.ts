import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { acquireLock, createSession, isSessfmtError, openSession, SessfmtError, type Session } from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";

const run = promisify(execFile);
const APPENDER = fileURLToPath(new URL("../helpers/lease-appender.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-lease-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => tmp.cleanup());

interface ChildResult {
  ids: string[];
  ms: number;
}

function appendFromProcess(opts: Record<string, unknown>): Promise<ChildResult> {
  return run(process.execPath, ["--import", "tsx", APPENDER, JSON.stringify(opts)], { cwd: ROOT, timeout: 60_000 }).then(
    ({ stdout }) => JSON.parse(stdout) as ChildResult,
  );
}

async function rejection(p: Promise<unknown>): Promise<InstanceType<typeof SessfmtError>> {
  try {
    await p;
  } catch (err) {
    if (isSessfmtError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) return false;
    await sleep(2);
  }
  return true;
}

function tagsInFileOrder(s: Session): string[] {
  return s.records.map((r) => (s.entry(r) as { data?: { tag?: string } }).data?.tag ?? "");
}

describe("a writer leases the lock across a burst of appends and gives it up when idle", () => {
  it("keeps the lock between back-to-back appends (one lock directory for the burst) and releases it after the idle window", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockIdleMs: 50 } });
    const lock = `${w.file}.lock`;
    await w.append({ type: "custom" });
    const ino = statSync(lock).ino;
    for (let i = 0; i < 5; i++) await w.append({ type: "custom" });
    expect(statSync(lock).ino, "the same acquisition served the whole burst").toBe(ino);
    expect(await waitFor(() => !existsSync(lock), 2_000), "released once idle, without close()").toBe(true);
    // Another holder gets it at once now.
    const other = await acquireLock(w.file, { timeoutMs: 0 });
    await other.release();
    await w.close();
  });

  it("close() releases the lock before it resolves", async () => {
    const w = await createSession({ cwd: "/w", dir, durability: "strict", writer: { lockIdleMs: 60_000 } });
    await w.append({ type: "custom" });
    expect(existsSync(`${w.file}.lock`)).toBe(true);
    await w.close();
    expect(existsSync(`${w.file}.lock`)).toBe(false);
    const other = await acquireLock(w.file, { timeoutMs: 0 });
    await other.release();
  });

  it("lockIdleMs 0 releases after every append", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockIdleMs: 0 } });
    await w.append({ type: "custom" });
    expect(existsSync(`${w.file}.lock`)).toBe(false);
    await w.close();
  });

  it("a failed append gives the lock up at once", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockIdleMs: 60_000 } });
    await w.append({ type: "custom" });
    // A parent that is not in the file fails under the lock.
    await expect(w.appendPrepared([{ type: "custom", id: "x1", parentId: "nowhere", timestamp: "t" }])).rejects.toMatchObject({ code: "E_ENTRY_NOT_FOUND" });
    expect(existsSync(`${w.file}.lock`)).toBe(false);
    await w.close();
  });

  it("an in-process lock user waits for a busy writer only until its lease ends (max hold), not until it stops appending", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockMaxHoldMs: 40 } });
    let stop = false;
    let appended = 0;
    const appending = (async () => {
      while (!stop) {
        await w.append({ type: "custom" });
        appended++;
      }
    })();
    await waitFor(() => appended > 0, 5_000);
    const t0 = Date.now();
    const lock = await acquireLock(w.file, { timeoutMs: 5_000 });
    const waited = Date.now() - t0;
    const during = appended;
    await sleep(20);
    expect(appended, "the writer waits while the lock is held elsewhere").toBe(during);
    await lock.release();
    await waitFor(() => appended > during, 5_000);
    stop = true;
    await appending;
    await w.close();
    expect(waited).toBeLessThan(2_000);
    expect(appended).toBeGreaterThan(during);
  });
});

describe("a lock lost while leased is never written under", () => {
  it("removed between appends: the next append fails with E_LOCK_COMPROMISED and writes nothing; the one after takes a new lock", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockIdleMs: 60_000 } });
    const a = await w.append({ type: "custom" });
    rmdirSync(`${w.file}.lock`);
    const before = readFileSync(w.file);
    const err = await rejection(w.append({ type: "custom" }));
    expect(err.code).toBe("E_LOCK_COMPROMISED");
    expect(err.message).toContain(`${w.file}.lock`);
    expect(readFileSync(w.file).equals(before)).toBe(true);
    const c = await w.append({ type: "custom" });
    await w.close();
    const s = await openSession(w.file);
    expect(s.records.map((r) => r.id)).toEqual([a, c]);
  });

  it("replaced by another holder's lock between appends: the next append fails, and the other holder's directory is left alone", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockIdleMs: 60_000, lockTimeoutMs: 100 } });
    await w.append({ type: "custom" });
    const lock = `${w.file}.lock`;
    rmdirSync(lock);
    // Another file first, so the replacement cannot reuse the freed inode number.
    mkdirSync(`${lock}-spacer`);
    mkdirSync(lock);
    rmdirSync(`${lock}-spacer`);
    const before = readFileSync(w.file);
    expect((await rejection(w.append({ type: "custom" }))).code).toBe("E_LOCK_COMPROMISED");
    expect(existsSync(lock), "not removed: it is not this writer's").toBe(true);
    expect(readFileSync(w.file).equals(before)).toBe(true);
    // Still held by the other holder: the writer waits its bounded time and gives up.
    expect((await rejection(w.append({ type: "custom" }))).code).toBe("E_LOCKED");
    rmdirSync(lock);
    await w.append({ type: "custom" });
    await w.close();
    expect((await openSession(w.file)).records).toHaveLength(2);
  });
});

describe("other processes get the lock while a writer leases it", () => {
  it("a second process appends while this process holds an idle writer", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { parent: "fileTail" } });
    await w.append({ type: "custom", data: { tag: "main" } });
    const child = await appendFromProcess({ file: w.file, tag: "child", count: 3, lockTimeoutMs: 2_000 });
    expect(child.ids).toHaveLength(3);
    // The idle writer learns the child's lines under the lock and chains after them.
    const last = await w.append({ type: "custom", data: { tag: "main" } });
    await w.close();
    const s = await openSession(w.file);
    expect(s.diagnostics.count).toBe(0);
    expect(tagsInFileOrder(s)).toEqual(["main", "child", "child", "child", "main"]);
    expect(s.record(last)?.parentId).toBe(child.ids[2]);
  });

  it("a continuously appending process does not starve another: both finish, the second while the first still appends", { timeout: 120_000 }, async () => {
    const w = await createSession({ cwd: "/w", dir });
    await w.close();
    const stop = `${dir}/stop`;
    const busy = appendFromProcess({ file: w.file, tag: "busy", untilFile: stop, lockTimeoutMs: 10_000 });
    try {
      // Start the other one once the busy one is appending. Its pauses outlast the idle
      // window, so each of its appends has to win the lock from the busy one anew, within
      // its bounded wait (E_LOCKED otherwise).
      expect(await waitFor(() => statSync(w.file).size > 2_000, 60_000)).toBe(true);
      const other = await appendFromProcess({ file: w.file, tag: "other", count: 6, pauseMs: 20, lockTimeoutMs: 2_000 });
      expect(other.ids).toHaveLength(6);
      // The busy one goes on after it (it was not made to stop or wait for it to finish).
      const lastOther = other.ids[5] as string;
      expect(await waitFor(() => readFileSync(w.file, "utf8").lastIndexOf('"tag":"busy"') > readFileSync(w.file, "utf8").indexOf(lastOther), 30_000)).toBe(true);
    } finally {
      writeFileSync(stop, "");
    }
    const first = await busy;
    const s = await openSession(w.file);
    expect(s.diagnostics.count).toBe(0);
    const tags = tagsInFileOrder(s);
    expect(tags.filter((t) => t === "busy")).toHaveLength(first.ids.length);
    expect(tags.filter((t) => t === "other")).toHaveLength(6);
    expect(tags.indexOf("busy")).toBeLessThan(tags.indexOf("other"));
    expect(tags.lastIndexOf("busy")).toBeGreaterThan(tags.lastIndexOf("other"));
    expect(existsSync(`${w.file}.lock`)).toBe(false);
  });

  it("the lease never outlives the process: a writer left open, or process.exit() right after an append, leaves no lock", { timeout: 60_000 }, async () => {
    const w = await createSession({ cwd: "/w", dir });
    await w.close();
    for (const end of ["drop", "exit"]) {
      const r = await appendFromProcess({ file: w.file, tag: end, count: 5, durability: "strict", end });
      expect(r.ids).toHaveLength(5);
      expect(existsSync(`${w.file}.lock`), `after "${end}"`).toBe(false);
    }
    expect((await openSession(w.file)).records).toHaveLength(10);
  });
});
