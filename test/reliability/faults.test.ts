/**
 * Fault injection (SPEC 13): file-system calls made to fail at one call site each (the
 * tests run as root, so permissions cannot produce EACCES; node:fs and node:fs/promises
 * are wrapped instead). Every case checks: a SessfmtError with the expected code that
 * names the file; the session file's bytes unchanged (for appends: the old content plus
 * only whole lines); no temp, backup or lock file left; and that the fault really fired.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("node:fs/promises", async (importOriginal) => (await import("../helpers/reliability/fault-fs.js")).mockFsPromises(await importOriginal()));
vi.mock("node:fs", async (importOriginal) => (await import("../helpers/reliability/fault-fs.js")).mockFs(await importOriginal()));

import { appendFileSync, copyFileSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AutosaveQueue,
  SessfmtError,
  SessionWriter,
  acquireLock,
  createBranchedSession,
  createSession,
  findSessionFiles,
  openSession,
  openSessionSync,
  upgradeSession,
  withLock,
  type SessfmtErrorCode,
} from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { withFaults, type Fault } from "../helpers/reliability/fault-fs.js";
import { badCompleteLines, fileLines, listDir, tornRecords } from "../helpers/reliability/disk.js";
import { sleep } from "../helpers/reliability/child.js";
import { fileTally } from "../helpers/reliability/tally.js";

const tally = fileTally("faults");
const V1 = fileURLToPath(new URL("../../fixtures/v1-legacy.jsonl", import.meta.url));
const V3 = fileURLToPath(new URL("../../fixtures/v3-branched.jsonl", import.meta.url));

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let file: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-faults-");
  dir = realpathSync(tmp.dir);
  file = join(dir, "s.jsonl");
  copyFileSync(V3, file);
});
afterEach(() => tmp.cleanup());

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** The session file itself (not its .torn, .lock, .bak or temp files). */
const SESSION = () => new RegExp(`${esc(file)}$`);
const TEMP = /\.tmp$/;

/** Run `op` with `faults` armed; it must reject with a SessfmtError of `code` (or one of them) that names `names`. */
async function failsWith(faults: Fault[], op: () => Promise<unknown> | unknown, code: SessfmtErrorCode | SessfmtErrorCode[], names = basename(file)): Promise<SessfmtError> {
  let err: unknown;
  await withFaults(faults, async () => {
    try {
      await op();
    } catch (e) {
      err = e;
    }
  });
  tally.runs++;
  tally.faults += faults.filter((f) => f.errno || f.before).length;
  for (const f of faults) expect(f.hits, `the fault on ${f.op} ${String(f.path ?? "")} never fired`).toBeGreaterThan(0);
  expect(err, "the operation did not fail").toBeInstanceOf(SessfmtError);
  const e = err as SessfmtError;
  expect(Array.isArray(code) ? code : [code], e.message).toContain(e.code);
  expect(e.message).toContain(names);
  return e;
}

/** The file is `before` plus zero or more whole, parseable lines. */
function expectOldPlusWholeLines(before: Buffer): void {
  const now = readFileSync(file);
  expect(now.subarray(0, before.length).equals(before), "the old content changed").toBe(true);
  const added = fileLines(now.subarray(before.length));
  expect(added.fragment.length, "a partial line was left behind").toBe(0);
  expect(badCompleteLines(added)).toEqual([]);
}

function writeTorn(extra: string): Buffer {
  appendFileSync(file, extra);
  return readFileSync(file);
}

describe("a failed append leaves the file as it was, or the old content plus whole lines", () => {
  for (const durability of ["strict", "balanced", "throughput"] as const) {
    it(`ENOSPC on the write of a batch (${durability}): E_IO, file unchanged, the next append works`, async () => {
      const w = await SessionWriter.open(file, { durability });
      const before = readFileSync(file);
      await failsWith([{ op: "fh.write", path: SESSION(), errno: "ENOSPC" }], () => w.appendMany([{ type: "custom", customType: "a" }, { type: "custom", customType: "b" }]), "E_IO");
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(listDir(dir)).toEqual(["s.jsonl"]);
      await w.append({ type: "custom", customType: "after" });
      await w.close();
      expectOldPlusWholeLines(before);
      expect((await openSession(file)).diagnostics.count).toBe(0);
    });
  }

  it("a short write followed by ENOSPC: the partial batch is cut off again", async () => {
    const w = await SessionWriter.open(file, { durability: "strict" });
    const before = readFileSync(file);
    await failsWith([{ op: "fh.write", path: SESSION(), shortWrite: 37, errno: "ENOSPC", times: 2 }], () => w.append({ type: "custom", customType: "x", data: "y".repeat(500) }), "E_IO");
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("a short write whose cut-back fails too: the next append quarantines the partial line", async () => {
    const w = await SessionWriter.open(file, { durability: "strict" });
    const before = readFileSync(file);
    await failsWith(
      [
        { op: "fh.write", path: SESSION(), shortWrite: 37, errno: "ENOSPC", times: 2 },
        { op: "fh.truncate", path: SESSION(), errno: "EIO" },
      ],
      () => w.append({ type: "custom", customType: "x", data: "y".repeat(500) }),
      "E_IO",
    );
    const torn = readFileSync(file);
    expect(torn.length).toBe(before.length + 37);
    await w.append({ type: "custom", customType: "after" });
    expectOldPlusWholeLines(before);
    const q = tornRecords(file);
    expect(q.badLines).toEqual([]);
    expect(q.records.map((r) => r.bytes.toString())).toEqual([torn.subarray(before.length).toString()]);
    expect(w.diagnostics.map((d) => d.code)).toEqual(["truncated_tail"]);
  });

  it("EIO on the fsync of a strict append: E_IO, and the entries are in the file as whole lines", async () => {
    const w = await SessionWriter.open(file, { durability: "strict" });
    const before = readFileSync(file);
    await failsWith([{ op: "fh.datasync", path: SESSION(), errno: "EIO" }], () => w.append({ type: "custom", customType: "x" }), "E_IO");
    expectOldPlusWholeLines(before);
    expect(readFileSync(file).length).toBeGreaterThan(before.length);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
    await w.append({ type: "custom", customType: "after" });
    expect((await openSession(file)).diagnostics.count).toBe(0);
  });

  it("a failed background fsync (balanced) is reported by the next append, which writes nothing", async () => {
    const w = await SessionWriter.open(file, { durability: "balanced", syncIntervalMs: 5 });
    const fault: Fault = { op: "fh.datasync", path: SESSION(), errno: "EIO" };
    let afterFirst = Buffer.alloc(0);
    await failsWith(
      [fault],
      async () => {
        await w.append({ type: "custom", customType: "first" });
        afterFirst = readFileSync(file);
        while (!fault.hits) await sleep(5); // the background sync runs (hang guard: the test timeout)
        await w.append({ type: "custom", customType: "second" });
      },
      "E_IO",
    );
    expect(readFileSync(file).equals(afterFirst)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("EACCES opening the file for appending: E_IO, nothing written, the lock released", async () => {
    const w = await SessionWriter.open(file);
    const before = readFileSync(file);
    await failsWith([{ op: "open", path: SESSION(), errno: "EACCES" }], () => w.append({ type: "custom", customType: "x" }), "E_IO");
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("EIO reading what another writer appended: E_IO, nothing written", async () => {
    const w = await SessionWriter.open(file);
    const other = await SessionWriter.open(file, { durability: "throughput" });
    await other.append({ type: "custom", customType: "other" });
    const before = readFileSync(file);
    await failsWith([{ op: "fh.read", path: SESSION(), errno: "EIO" }], () => w.append({ type: "custom", customType: "x" }), "E_IO");
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("the file replaced by another session under the writer: E_SOURCE_CHANGED, the new file untouched", async () => {
    const w = await SessionWriter.open(file);
    const other = join(dir, "other.jsonl");
    copyFileSync(V1, other);
    renameSync(other, file);
    const before = readFileSync(file);
    await failsWith([], () => w.append({ type: "custom", customType: "x" }), "E_SOURCE_CHANGED");
    tally.faults++;
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("the file rewritten without the writer's leaf, or cut shorter: E_SOURCE_CHANGED or E_ENTRY_NOT_FOUND, nothing written", async () => {
    for (const how of ["rewritten", "cut"] as const) {
      copyFileSync(V3, file);
      const w = await SessionWriter.open(file);
      const lines = readFileSync(file, "utf8").split("\n");
      const shorter = `${lines.slice(0, -2).join("\n")}\n`;
      if (how === "rewritten") {
        writeFileSync(join(dir, "new.jsonl"), shorter);
        renameSync(join(dir, "new.jsonl"), file);
      } else {
        truncateSync(file, Buffer.byteLength(shorter));
      }
      const before = readFileSync(file);
      // The append's parent (the old leaf) is gone: refused, whichever check sees it first.
      await failsWith([], () => w.append({ type: "custom", customType: "x" }), ["E_SOURCE_CHANGED", "E_ENTRY_NOT_FOUND"]);
      tally.faults++;
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(listDir(dir)).toEqual(["s.jsonl"]);
    }
  });

  it("a lock that cannot be created (name too long for the lock directory): E_IO, nothing written", async () => {
    const long = join(dir, `${"a".repeat(246)}.jsonl`); // 252 bytes: fits, but "<name>.lock" does not
    copyFileSync(V3, long);
    rmSync(file);
    const before = readFileSync(long);
    const w = await SessionWriter.open(long);
    await failsWith([], () => w.append({ type: "custom", customType: "x" }), "E_IO", basename(long));
    tally.faults++;
    expect(readFileSync(long).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual([basename(long)]);
  });

  it("a lock held by a live writer: E_LOCKED after the wait, nothing written", async () => {
    const lock = await acquireLock(file);
    try {
      const w = await SessionWriter.open(file, { lockTimeoutMs: 200 });
      const before = readFileSync(file);
      await failsWith([], () => w.append({ type: "custom", customType: "x" }), "E_LOCKED");
      expect(readFileSync(file).equals(before)).toBe(true);
    } finally {
      await lock.release();
    }
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("a lock lost while held (its directory removed): E_LOCK_COMPROMISED", async () => {
    await failsWith(
      [],
      () =>
        withLock(
          file,
          async (lock) => {
            rmSync(lock.lockPath, { recursive: true });
            while (!lock.compromised) await sleep(20); // the holder's refresh notices (hang guard: the test timeout)
          },
          { staleMs: 2000 },
        ),
      "E_LOCK_COMPROMISED",
    );
    tally.faults++;
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });
});

describe("a failed torn-tail repair never loses the torn bytes and never glues a quarantine record", () => {
  it("ENOSPC while quarantining: E_IO, the torn bytes stay in place, the partial record is taken back", async () => {
    const torn = writeTorn('{"type":"custom","id":"torn0001","parentId":null,"timestam');
    const w = await SessionWriter.open(file);
    await failsWith([{ op: "fh.write", path: /\.torn$/, errno: "ENOSPC", skip: 1 }], () => w.append({ type: "custom", customType: "x" }), "E_IO", "s.jsonl.torn");
    expect(readFileSync(file).equals(torn)).toBe(true);
    expect(readFileSync(`${file}.torn`).length).toBe(0);
    await w.append({ type: "custom", customType: "after" });
    const q = tornRecords(file);
    expect(q.badLines, "quarantine lines that are not whole records").toEqual([]);
    const fragment = torn.subarray(torn.lastIndexOf(0x0a) + 1);
    expect(q.records.map((r) => r.bytes.toString())).toEqual([fragment.toString()]);
    expectOldPlusWholeLines(torn.subarray(0, torn.lastIndexOf(0x0a) + 1));
  });

  it("a quarantine record left incomplete by a killed writer does not swallow the next record", async () => {
    const torn = writeTorn('{"type":"custom","id":"torn0004","par');
    const incomplete = '{"offset":1,"length":9,"line":2,"at":"2025-01-01T00:00:00.000Z","base64":"eyJ0eX'; // killed mid-record
    // What the check below tells apart: a last record cut short is incomplete, not glued;
    // a record written straight after one cut short is glued.
    writeFileSync(`${file}.torn`, `${incomplete}{"offset":5,"length":1,"line":3,"at":"2025-01-01T00:00:00.000Z","base64":"eA=="}\n`);
    expect(tornRecords(file).glued).toHaveLength(1);
    writeFileSync(`${file}.torn`, incomplete);
    expect(tornRecords(file)).toMatchObject({ glued: [], badLines: [expect.stringMatching(/^\(no line end\)/)] });
    const w = await SessionWriter.open(file);
    await w.append({ type: "custom", customType: "after" });
    tally.runs++;
    tally.faults++;
    const q = tornRecords(file);
    expect(q.glued, "a record glued onto the incomplete one").toEqual([]);
    expect(q.badLines).toHaveLength(1);
    expect(q.records.map((r) => r.bytes.toString())).toEqual([torn.subarray(torn.lastIndexOf(0x0a) + 1).toString()]);
  });

  it("EIO cutting the torn tail after it was quarantined: E_IO, the bytes are in both places", async () => {
    const torn = writeTorn('{"type":"custom","id":"torn0002"');
    const w = await SessionWriter.open(file);
    await failsWith([{ op: "fh.truncate", path: SESSION(), errno: "EIO" }], () => w.append({ type: "custom", customType: "x" }), "E_IO");
    expect(readFileSync(file).equals(torn)).toBe(true);
    expect(tornRecords(file).records).toHaveLength(1);
    await w.append({ type: "custom", customType: "after" });
    const q = tornRecords(file);
    expect(q.badLines).toEqual([]);
    expect(q.records).toHaveLength(2);
    expect((await openSession(file)).diagnostics.count).toBe(0);
  });

  it("ENOSPC on the quarantine's fsync: E_IO, the session file untouched", async () => {
    const torn = writeTorn('{"type":"custom","id":"torn0003"');
    const w = await SessionWriter.open(file);
    await failsWith([{ op: "fh.sync", path: /\.torn$/, errno: "EIO" }], () => w.append({ type: "custom", customType: "x" }), "E_IO", "s.jsonl.torn");
    expect(readFileSync(file).equals(torn)).toBe(true);
  });
});

describe("a failed upgrade leaves the original file untouched and no temp or backup behind", () => {
  beforeEach(() => copyFileSync(V1, file));

  const cases: { name: string; faults: () => Fault[] }[] = [
    { name: "ENOSPC writing the temp file", faults: () => [{ op: "fh.write", path: TEMP, errno: "ENOSPC" }] },
    { name: "EIO on the temp file's fsync", faults: () => [{ op: "fh.sync", path: TEMP, errno: "EIO" }] },
    { name: "EACCES creating the temp file", faults: () => [{ op: "open", path: TEMP, errno: "EACCES" }] },
    { name: "EROFS creating the temp file (read-only directory)", faults: () => [{ op: "open", path: TEMP, errno: "EROFS" }] },
    { name: "EIO on the rename into place", faults: () => [{ op: "rename", path: SESSION(), errno: "EIO" }] },
    { name: "EXDEV on the rename into place", faults: () => [{ op: "rename", path: SESSION(), errno: "EXDEV" }] },
    { name: "EIO creating the backup link", faults: () => [{ op: "link", path: /\.bak$/, errno: "EIO" }] },
    // The original is read with synchronous reads (SPEC 5.1: in windows, entries by offset).
    { name: "EIO reading the original", faults: () => [{ op: "readSync", path: SESSION(), errno: "EIO" }] },
  ];
  for (const c of cases) {
    it(`${c.name}: E_IO`, async () => {
      const before = readFileSync(file);
      await failsWith(c.faults(), () => upgradeSession(file), "E_IO");
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(listDir(dir)).toEqual(["s.jsonl"]);
    });
  }

  it("the file appended to while it was being upgraded (a writer ignoring the lock): E_SOURCE_CHANGED, the new bytes kept", async () => {
    const extra = '{"type":"message","timestamp":"2025-01-10T10:00:00.000Z","message":{"role":"user","content":"late","timestamp":1}}\n';
    const before = readFileSync(file);
    await failsWith([{ op: "open", path: TEMP, before: () => appendFileSync(file, extra) }], () => upgradeSession(file), "E_SOURCE_CHANGED");
    expect(readFileSync(file).equals(Buffer.concat([before, Buffer.from(extra)]))).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("hard links not supported (EPERM): the backup is copied instead and the upgrade completes", async () => {
    const before = readFileSync(file);
    const fault: Fault = { op: "link", path: /\.bak$/, errno: "EPERM" };
    const report = await withFaults([fault], () => upgradeSession(file));
    tally.runs++;
    tally.faults++;
    expect(fault.hits).toBe(1);
    expect(report.upgraded).toBe(true);
    expect(readFileSync(`${file}.bak`).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl", "s.jsonl.bak"]);
  });

  it("EIO on the directory fsync after the rename: E_IO, but the file is already the whole upgraded one, with its backup", async () => {
    const before = readFileSync(file);
    const context = JSON.stringify((await openSession(file)).buildContext());
    await failsWith([{ op: "fh.sync", path: new RegExp(`^${esc(dir)}$`), errno: "EIO" }], () => upgradeSession(file), "E_IO", dir);
    const s = await openSession(file);
    expect(s.version).toBe(3);
    expect(JSON.stringify(s.buildContext())).toBe(context);
    expect(readFileSync(`${file}.bak`).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl", "s.jsonl.bak"]);
  });
});

describe("a reader that meets a failing or changing file throws a coded error or reads a consistent prefix", () => {
  // openSession reads a file it keeps whole (up to 64 MiB, SPEC 5.1) with the same
  // synchronous calls as openSessionSync, so the faults below are injected into those.
  it("EIO on read: E_IO naming the file and the byte offset (async and sync)", async () => {
    const e1 = await failsWith([{ op: "readSync", path: SESSION(), errno: "EIO" }], () => openSession(file), "E_IO");
    expect(e1.message).toMatch(/byte \d+/);
    const e2 = await failsWith([{ op: "readSync", path: SESSION(), errno: "EIO" }], () => openSessionSync(file), "E_IO");
    expect(e2.message).toMatch(/byte \d+/);
  });

  it("EACCES on open: E_IO (async and sync)", async () => {
    await failsWith([{ op: "openSync", path: SESSION(), errno: "EACCES" }], () => openSession(file), "E_IO");
    await failsWith([{ op: "openSync", path: SESSION(), errno: "EACCES" }], () => openSessionSync(file), "E_IO");
  });

  it("the file replaced or cut under a session that reads entries lazily: E_SOURCE_CHANGED", async () => {
    for (const how of ["replaced", "cut"] as const) {
      copyFileSync(V3, file);
      const s = await openSession(file, { retainEntries: false });
      if (how === "replaced") {
        copyFileSync(V1, join(dir, "other.jsonl"));
        renameSync(join(dir, "other.jsonl"), file);
      } else {
        truncateSync(file, 200);
      }
      await failsWith([], () => s.entry(s.records.at(-1)!), "E_SOURCE_CHANGED");
      await failsWith([], () => s.buildContext(), "E_SOURCE_CHANGED");
      tally.faults++;
    }
  });

  const original = () => readFileSync(V3);
  const prefixOf = (s: { records: readonly { offset: number; length: number }[] }, bytes: Buffer) =>
    s.records.every((r) => bytes.subarray(r.offset, r.offset + r.length).equals(original().subarray(r.offset, r.offset + r.length)));

  // The change lands between the reader's stat and its first read (for small files the only read).
  it("the file cut while it is being read: the entries read are a prefix, with at most a torn last line", async () => {
    for (const sync of [false, true]) {
      copyFileSync(V3, file);
      const cutAt = 1500;
      const fault: Fault = { op: "readSync", path: SESSION(), before: () => truncateSync(file, cutAt) };
      const s = await withFaults([fault], () => (sync ? openSessionSync(file, { chunkSize: 512 }) : openSession(file, { chunkSize: 512 })));
      tally.runs++;
      tally.faults++;
      expect(fault.hits).toBe(1);
      expect(prefixOf(s, original())).toBe(true);
      expect(s.records.length).toBeGreaterThan(0);
      expect(s.records.every((r) => r.offset + r.length <= cutAt)).toBe(true);
      expect(s.diagnostics.items.every((d) => d.code === "truncated_tail" || (d.code === "skipped" && d.offset >= s.records.at(-1)!.offset))).toBe(true);
    }
  });

  it("the file growing while it is being read: exactly the entries that were there at open", async () => {
    const s0 = await openSession(file);
    const fault: Fault = { op: "readSync", path: SESSION(), before: () => appendFileSync(file, '{"type":"custom","id":"late0001","parentId":null,"timestamp":"t"}\n') };
    const s = await withFaults([fault], () => openSession(file, { chunkSize: 512 }));
    tally.runs++;
    tally.faults++;
    expect(fault.hits).toBe(1);
    expect(s.records.map((r) => r.id)).toEqual(s0.records.map((r) => r.id));
    expect(s.diagnostics.count).toBe(0);
  });

  it("the file replaced between stat and open: the session is one whole file, never a mix", async () => {
    const fault: Fault = {
      op: "openSync",
      path: SESSION(),
      before: () => {
        copyFileSync(V1, join(dir, "other.jsonl"));
        renameSync(join(dir, "other.jsonl"), file);
      },
    };
    let s: Awaited<ReturnType<typeof openSession>> | undefined;
    let err: unknown;
    await withFaults([fault], async () => {
      try {
        s = await openSession(file);
      } catch (e) {
        err = e;
      }
    });
    tally.runs++;
    tally.faults++;
    expect(fault.hits).toBe(1);
    if (err) expect(err).toBeInstanceOf(SessfmtError);
    else {
      const ids = s!.records.map((r) => r.id);
      const v1 = (await openSession(V1)).records.map((r) => r.id);
      const v3 = (await openSession(V3)).records.map((r) => r.id);
      expect([JSON.stringify(v1), JSON.stringify(v3)]).toContain(JSON.stringify(ids));
    }
  });
});

describe("a failed create or fork leaves no file and no temp file", () => {
  const sessions = () => join(dir, "sessions");

  it("ENOSPC writing the new header: E_IO, no session file, no temp", async () => {
    mkdirSync(sessions());
    await failsWith([{ op: "fh.write", path: TEMP, errno: "ENOSPC" }], () => createSession({ cwd: "/w", dir: sessions() }), "E_IO", sessions());
    expect(listDir(sessions())).toEqual([]);
  });

  it("EIO linking the new file into place: E_IO, no session file, no temp", async () => {
    mkdirSync(sessions());
    await failsWith([{ op: "link", path: /\.jsonl$/, errno: "EIO" }], () => createSession({ cwd: "/w", dir: sessions() }), "E_IO", sessions());
    expect(listDir(sessions())).toEqual([]);
  });

  it("EACCES creating the session directory: E_IO", async () => {
    await failsWith([{ op: "mkdir", errno: "EACCES" }], () => createSession({ cwd: "/w", sessionsRoot: sessions() }), "E_IO", sessions());
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });

  it("ENOSPC writing a branched session: E_IO, the source untouched, no new file", async () => {
    const before = readFileSync(file);
    const s = await openSession(file);
    await failsWith([{ op: "fh.write", path: TEMP, errno: "ENOSPC" }], () => createBranchedSession(s, s.leafId as string), "E_IO", dir);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(dir)).toEqual(["s.jsonl"]);
  });
});

describe("a strict autosave queue whose flush fails keeps every entry until it is written", () => {
  it("ENOSPC on the flush: E_FLUSH_FAILED, nothing written, the entries kept and written by the next flush", async () => {
    const before = readFileSync(file);
    const q = await AutosaveQueue.open(file, { durability: "strict", intervalMs: 0 });
    const ids = [await q.append({ type: "custom", customType: "a" }), await q.append({ type: "custom", customType: "b" })];
    await failsWith([{ op: "fh.write", path: SESSION(), errno: "ENOSPC" }], () => q.flush(), "E_FLUSH_FAILED");
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(q.unwritten().map((e) => e.id)).toEqual(ids);
    await q.flush();
    await q.close();
    const s = await openSession(file);
    expect(ids.every((id) => s.record(id))).toBe(true);
    expect(s.diagnostics.count).toBe(0);
    tally.entriesChecked += ids.length;
  });
});

describe("a directory walk reports an unreadable directory with a code", () => {
  it("EACCES on one subdirectory: reported through onError and the walk goes on; without onError, E_IO", async () => {
    for (const sub of ["a", "b"]) {
      mkdirSync(join(dir, sub));
      copyFileSync(V3, join(dir, sub, "x.jsonl"));
    }
    const errors: SessfmtError[] = [];
    const found: string[] = [];
    // The walk lists directories synchronously (format/walk.ts).
    const fault: Fault = { op: "readdirSync", path: /\/a$/, errno: "EACCES" };
    await withFaults([fault], async () => {
      for await (const f of findSessionFiles([dir], { onError: (e) => errors.push(e) })) found.push(f);
    });
    expect(fault.hits).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(["E_IO"]);
    expect(found).toEqual([join(dir, "b", "x.jsonl"), file]);
    await failsWith(
      [{ op: "readdirSync", path: /\/a$/, errno: "EACCES" }],
      async () => {
        for await (const _ of findSessionFiles([dir])) void _;
      },
      "E_IO",
      join(dir, "a"),
    );
  });
});
