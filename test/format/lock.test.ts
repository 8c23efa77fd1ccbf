import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import lockfile from "proper-lockfile";
import { acquireLock, createSession, isSessfmtError, lockPathFor, openSession, SessfmtError, withLock } from "../../src/index.js";
import type { LockHandle, LockOptions } from "../../src/format/lock.js";
import { makeTempDir } from "../helpers/session-files.js";

/** Lets a test make the next lock a writer takes report itself lost, before or after the write. */
const lockControl = vi.hoisted(() => ({
  next: "normal" as "normal" | "lostBeforeWrite" | "lostAfterWrite" | "lostOnDemand",
  /** For "lostOnDemand": makes the handle report itself lost from now on. */
  lose: () => {},
}));

vi.mock("../../src/format/lock.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../src/format/lock.js")>();
  const acquireLock = async (file: string, opts?: LockOptions): Promise<LockHandle> => {
    const handle = await real.acquireLock(file, opts);
    const mode = lockControl.next;
    lockControl.next = "normal";
    if (mode === "normal") return handle;
    const { SessfmtError: Err } = await import("../../src/format/errors.js");
    const lost = new Err("E_LOCK_COMPROMISED", "simulated: the lock was taken over", { file: handle.file });
    let isLost = mode === "lostBeforeWrite";
    if (mode === "lostOnDemand") lockControl.lose = () => (isLost = true);
    return {
      file: handle.file,
      lockPath: handle.lockPath,
      get compromised() {
        return isLost ? lost : undefined;
      },
      assertHeld() {
        if (isLost) throw lost;
      },
      async release() {
        await handle.release();
        if (mode === "lostAfterWrite") isLost = true;
      },
      abandon: () => handle.abandon(),
    };
  };
  return { ...real, acquireLock };
});

let tmp: ReturnType<typeof makeTempDir>;
let file: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-lock-");
  file = join(realpathSync(tmp.dir), "s.jsonl");
  writeFileSync(file, "{}\n");
});
afterEach(() => tmp.cleanup());

async function rejection(p: Promise<unknown>): Promise<InstanceType<typeof SessfmtError>> {
  try {
    await p;
  } catch (err) {
    if (isSessfmtError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

describe("the lock is the directory <file>.lock, held only while the operation runs", () => {
  it("creates <file>.lock while held and removes it on release", async () => {
    const lock = await acquireLock(file);
    expect(lock.lockPath).toBe(lockPathFor(lock.file));
    expect(existsSync(`${file}.lock`)).toBe(true);
    await lock.release();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it("withLock releases when the function throws, and passes its error through", async () => {
    await expect(
      withLock(file, () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(existsSync(`${file}.lock`)).toBe(false);
    const again = await acquireLock(file, { timeoutMs: 50 });
    await again.release();
  });

  it("withLock returns the function's result", async () => {
    expect(await withLock(file, async (lock) => lock.file)).toBe(file);
  });
});

describe("a lock held by another holder fails with E_LOCKED after the bounded wait", () => {
  it("rejects with E_LOCKED naming the file when the holder keeps it", async () => {
    const release = await lockfile.lock(file, { realpath: false, lockfilePath: `${file}.lock` });
    try {
      const err = await rejection(acquireLock(file, { timeoutMs: 150 }));
      expect(err.code).toBe("E_LOCKED");
      expect(err.file).toBe(file);
      expect(err.message).toContain(file);
      expect(err.message).toContain(".lock");
    } finally {
      await release();
    }
  });

  it("gets the lock once the holder releases it within the wait", async () => {
    const first = await acquireLock(file);
    const second = acquireLock(file, { timeoutMs: 5_000 });
    await first.release();
    const lock = await second;
    expect(lock.compromised).toBeUndefined();
    await lock.release();
  });

  it("stops waiting with E_ABORTED when the signal aborts", async () => {
    const holder = await acquireLock(file);
    try {
      const ac = new AbortController();
      const p = acquireLock(file, { timeoutMs: 60_000, signal: ac.signal });
      ac.abort();
      expect((await rejection(p)).code).toBe("E_ABORTED");
    } finally {
      await holder.release();
    }
  });
});

describe("a stale lock (its holder died) is taken over", () => {
  it("takes a lock directory whose mtime is older than staleMs", async () => {
    mkdirSync(`${file}.lock`);
    const old = new Date(Date.now() - 60_000);
    utimesSync(`${file}.lock`, old, old);
    const lock = await acquireLock(file, { timeoutMs: 200, staleMs: 2_000 });
    expect(existsSync(`${file}.lock`)).toBe(true);
    await lock.release();
  });

  it("does not take a fresh lock directory", async () => {
    mkdirSync(`${file}.lock`);
    const err = await rejection(acquireLock(file, { timeoutMs: 100, staleMs: 60_000 }));
    expect(err.code).toBe("E_LOCKED");
    rmdirSync(`${file}.lock`);
  });
});

describe("a compromised lock never crashes the process; the operation holding it fails with E_LOCK_COMPROMISED", () => {
  it("records the compromise on the handle and rejects withLock", async () => {
    const p = withLock(
      file,
      async (lock) => {
        // Someone removes our lock; proper-lockfile notices on its next refresh (>= 1 s).
        rmdirSync(lock.lockPath);
        while (!lock.compromised) await new Promise((r) => setTimeout(r, 50));
        expect(() => lock.assertHeld()).toThrow(/lost while held/);
        return "done";
      },
      { staleMs: 2_000 },
    );
    const err = await rejection(p);
    expect(err.code).toBe("E_LOCK_COMPROMISED");
    expect(err.message).toContain(file);
  });
});

describe("a writer whose lock is lost fails the operation that held it, or the next one, and writes nothing unlocked", () => {
  it("lost before the write: that append fails with E_LOCK_COMPROMISED and writes nothing", async () => {
    const w = await createSession({ cwd: "/w", dir: tmp.dir });
    const before = readFileSync(w.file);
    lockControl.next = "lostBeforeWrite";
    expect((await rejection(w.append({ type: "custom" }))).code).toBe("E_LOCK_COMPROMISED");
    expect(readFileSync(w.file).equals(before)).toBe(true);
    expect(w.leafId).toBeNull();
    const id = await w.append({ type: "custom" });
    await w.close();
    expect((await openSession(w.file)).records.map((r) => r.id)).toEqual([id]);
  });

  it("lost after the write (found on release): that append stands, the next one fails with E_LOCK_COMPROMISED, the one after works", async () => {
    // No lease: the lock is released after every batch, so the loss shows on that release.
    const w = await createSession({ cwd: "/w", dir: tmp.dir, writer: { lockIdleMs: 0 } });
    lockControl.next = "lostAfterWrite";
    const a = await w.append({ type: "custom" });
    expect((await rejection(w.append({ type: "custom" }))).code).toBe("E_LOCK_COMPROMISED");
    const c = await w.append({ type: "custom" });
    await w.close();
    const s = await openSession(w.file);
    expect(s.records.map((r) => r.id)).toEqual([a, c]);
    expect(s.record(c)?.parentId).toBe(a);
  });

  it("lost while a lease holds it between appends: the next append fails with E_LOCK_COMPROMISED and writes nothing, the one after takes a new lock", async () => {
    const w = await createSession({ cwd: "/w", dir: tmp.dir, writer: { lockIdleMs: 60_000 } });
    lockControl.next = "lostOnDemand";
    const a = await w.append({ type: "custom" });
    expect(existsSync(`${w.file}.lock`), "the lease keeps the lock after the append").toBe(true);
    lockControl.lose();
    const before = readFileSync(w.file);
    expect((await rejection(w.append({ type: "custom" }))).code).toBe("E_LOCK_COMPROMISED");
    expect(readFileSync(w.file).equals(before)).toBe(true);
    const c = await w.append({ type: "custom" });
    await w.close();
    const s = await openSession(w.file);
    expect(s.records.map((r) => r.id)).toEqual([a, c]);
    expect(s.record(c)?.parentId).toBe(a);
  });
});
