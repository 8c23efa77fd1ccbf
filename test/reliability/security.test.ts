/**
 * Security (SPEC 13): names that come from data (session ids, entry ids, cwds, file
 * names) never move a write out of its directory; the files sessfmt creates next to a
 * session (temp, backup, lock, quarantine, new sessions) are created exclusively and a
 * symlink planted at their name is never followed; created files are private; directory
 * walks do not follow symlinked directories unless asked. Each test is named after the
 * attack it stops.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

// Temp names carry 6 random bytes; a test can decide the next ones to plant a file there first.
const planned = vi.hoisted(() => ({ tempRandom: [] as Buffer[] }));
vi.mock("node:crypto", async (importOriginal) => {
  const m = await importOriginal<typeof import("node:crypto")>();
  const randomBytes = ((n: number, ...rest: unknown[]) =>
    n === 6 && planned.tempRandom.length > 0 ? planned.tempRandom.shift() : (m.randomBytes as (...a: unknown[]) => Buffer)(n, ...rest)) as typeof m.randomBytes;
  return { ...m, randomBytes, default: { ...m, randomBytes } };
});

import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import {
  SessfmtError,
  SessionWriter,
  createBranchedSession,
  createSession,
  encodeCwd,
  findSessionFiles,
  lockPathFor,
  openSession,
  rewriteFileAtomic,
  sessionDirFor,
  sessionFileName,
  sidecarPath,
  upgradeSession,
} from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { listDir } from "../helpers/reliability/disk.js";
import { fcParams } from "../helpers/reliability/scale.js";
import { fileTally } from "../helpers/reliability/tally.js";

const tally = fileTally("security");
const V1 = fileURLToPath(new URL("../../fixtures/v1-legacy.jsonl", import.meta.url));
const V3 = fileURLToPath(new URL("../../fixtures/v3-branched.jsonl", import.meta.url));
const NOW = new Date("2025-06-01T12:00:00.000Z");

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let root: string;
let outside: string;
beforeEach(() => {
  tmp = makeTempDir("sessfmt-security-");
  dir = realpathSync(tmp.dir);
  root = join(dir, "sessions");
  outside = join(dir, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "victim"), "do not touch\n");
  planned.tempRandom = [];
});
afterEach(() => tmp.cleanup());

/** Nothing was created or changed outside the sessions root. */
function outsideUntouched(): void {
  expect(listDir(dir)).toEqual(["outside", "sessions"]);
  expect(listDir(outside)).toEqual(["victim"]);
  expect(readFileSync(join(outside, "victim"), "utf8")).toBe("do not touch\n");
}

async function coded(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SessfmtError);
    return err as SessfmtError;
  }
  throw new Error("expected a SessfmtError");
}

const HOSTILE_IDS = ["../../evil", "..", ".", "/etc/passwd", "a/../../b", "..\\..\\x", "C:\\Windows\\x", "x\u0000y", "%2e%2e%2f", "\u2028../", "~", "-rf", ".bak", "sessions/../../outside/victim"];
const HOSTILE_CWDS = ["..", "../..", "/../../..", "a/../../..", "C:\\..\\..", "\\\\server\\share\\..", "~", "", "/", "//", "./.", "/outside", "x\u2028y"];

describe("a session id cannot place a session file outside its directory", () => {
  for (const dialect of ["ts", "rust"] as const) {
    it(`hostile ids (${dialect} dialect): the file is created in <root>/<encodeCwd(cwd)>/, under a sanitised name`, async () => {
      for (const [i, id] of HOSTILE_IDS.entries()) {
        // Distinct times: several hostile ids sanitise to the same name (that would be E_EXISTS, below).
        const now = new Date(NOW.getTime() + i);
        const w = await createSession({ cwd: "/w", sessionsRoot: root, id, dialect, now, durability: "throughput" });
        tally.runs++;
        expect(dirname(w.file)).toBe(join(root, encodeCwd("/w", dialect)));
        expect(basename(w.file)).toMatch(/^[0-9T-]+Z_[A-Za-z0-9_-]+\.jsonl$/);
        expect((await openSession(w.file)).header.id).toBe(id);
        await w.close();
      }
      outsideUntouched();
    });
  }

  it("two ids that sanitise to the same name: the second is refused with E_EXISTS, the first untouched", async () => {
    const first = await createSession({ cwd: "/w", sessionsRoot: root, id: "../x", now: NOW });
    await first.append({ type: "custom", customType: "first" });
    await first.close();
    const before = readFileSync(first.file);
    expect((await coded(createSession({ cwd: "/w", sessionsRoot: root, id: "..:x", now: NOW }))).code).toBe("E_EXISTS");
    expect(readFileSync(first.file).equals(before)).toBe(true);
    expect(listDir(dirname(first.file))).toEqual([basename(first.file)]);
    tally.runs++;
  });

  it("any id and any cwd: created inside the root, or refused with a SessfmtError, never anything outside", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", minLength: 1, maxLength: 300 }), fc.string({ unit: "binary", maxLength: 300 }), fc.constantFrom("ts" as const, "rust" as const), async (id, cwd, dialect) => {
        tally.runs++;
        let w: SessionWriter | undefined;
        try {
          w = await createSession({ cwd, sessionsRoot: root, id, dialect, now: NOW, durability: "throughput" });
        } catch (err) {
          expect(err).toBeInstanceOf(SessfmtError);
          expect(["E_PATH_UNSAFE", "E_IO", "E_EXISTS"]).toContain((err as SessfmtError).code);
        }
        if (w) {
          expect(dirname(w.file)).toBe(sessionDirFor(root, cwd, dialect));
          expect(dirname(dirname(w.file))).toBe(root);
          await w.close();
        }
        outsideUntouched();
      }),
      fcParams(100),
    );
  });
});

describe("a cwd cannot name a directory outside the sessions root", () => {
  it("cwds with .., separators, drive letters and UNC prefixes map to one directory right under the root", async () => {
    for (const [i, cwd] of HOSTILE_CWDS.entries()) {
      for (const dialect of ["ts", "rust"] as const) {
        const now = new Date(NOW.getTime() + i);
        const w = await createSession({ cwd, sessionsRoot: root, dialect, now, durability: "throughput" });
        tally.runs++;
        expect(dirname(dirname(w.file))).toBe(root);
        expect(basename(dirname(w.file))).toMatch(/^--[^]*--$/);
        await w.close();
      }
    }
    outsideUntouched();
  });

  it("a cwd with a NUL byte is refused with E_PATH_UNSAFE", async () => {
    expect((await coded(createSession({ cwd: "/w\u0000/x", sessionsRoot: root }))).code).toBe("E_PATH_UNSAFE");
    outsideUntouched();
  });
});

describe("entry ids and header fields are data, never paths", () => {
  const hostileV2 = () =>
    [
      { type: "session", version: 2, id: "../../outside/victim", timestamp: "2025-01-01T00:00:00.000Z", cwd: "../../outside" },
      { type: "message", id: "../../outside/victim", parentId: null, timestamp: "2025-01-01T00:00:01.000Z", message: { role: "user", content: "hi", timestamp: 1 } },
      { type: "custom", id: "/etc/passwd", parentId: "../../outside/victim", timestamp: "2025-01-01T00:00:02.000Z", customType: "c" },
    ]
      .map((o) => JSON.stringify(o))
      .join("\n") + "\n";

  it("upgrading a file whose session and entry ids are paths writes only the file and its backup", async () => {
    const sdir = join(root, "--w--");
    mkdirSync(sdir);
    const file = join(sdir, "s.jsonl");
    writeFileSync(file, hostileV2());
    await upgradeSession(file);
    tally.runs++;
    expect(listDir(sdir)).toEqual(["s.jsonl", "s.jsonl.bak"]);
    outsideUntouched();
  });

  it("forking a file whose ids and cwd are paths writes one new file beside it, named from a fresh id", async () => {
    const sdir = join(root, "--w--");
    mkdirSync(sdir);
    const file = join(sdir, "s.jsonl");
    writeFileSync(file, hostileV2().replace('"version":2', '"version":3'));
    const s = await openSession(file);
    const fork = await createBranchedSession(s, "/etc/passwd");
    tally.runs++;
    expect(dirname(fork.file)).toBe(sdir);
    expect(basename(fork.file)).toMatch(/^[0-9T-]+Z_[0-9a-f-]+\.jsonl$/);
    expect(listDir(sdir)).toHaveLength(2);
    outsideUntouched();
  });

  it("appending entries whose ids are paths writes only the session file", async () => {
    const w = await createSession({ cwd: "/w", sessionsRoot: root, now: NOW });
    await w.appendPrepared([
      { type: "custom", id: "../../outside/victim", parentId: null, timestamp: "t", customType: "c" },
      { type: "custom", id: "/etc/passwd", parentId: "../../outside/victim", timestamp: "t", customType: "c" },
    ]);
    await w.close();
    tally.runs++;
    expect(listDir(dirname(w.file))).toEqual([basename(w.file)]);
    outsideUntouched();
  });

  it("names derived from a session file (lock, quarantine, backup, temp, sidecar) stay in its directory, whatever its name", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 1, maxLength: 60 }).filter((n) => !/[/\u0000]/.test(n) && n !== "." && n !== ".."), (name) => {
        const file = join(root, name);
        for (const derived of [lockPathFor(file), `${file}.torn`, `${file}.bak`, sidecarPath(file)]) expect(dirname(derived)).toBe(root);
        tally.runs++;
      }),
      fcParams(300),
    );
  });
});

describe("a symlink planted at a name sessfmt creates is never followed", () => {
  const sessionIn = (name = "s.jsonl", source = V1) => {
    const sdir = join(root, "--w--");
    mkdirSync(sdir, { recursive: true });
    const file = join(sdir, name);
    copyFileSync(source, file);
    return file;
  };
  const planTemp = (file: string, hex: string) => {
    planned.tempRandom.push(Buffer.from(hex, "hex"));
    return join(dirname(file), `.${basename(file)}.${process.pid}.${hex}.tmp`);
  };

  it("a symlink at the temp file's name: the rewrite takes another name and the target is untouched", async () => {
    const file = sessionIn();
    const temp = planTemp(file, "0123456789ab");
    symlinkSync(join(outside, "victim"), temp);
    const r = await upgradeSession(file);
    tally.runs++;
    tally.faults++;
    expect(r.upgraded).toBe(true);
    expect(planned.tempRandom).toEqual([]); // the planted name was tried first
    expect(lstatSync(temp).isSymbolicLink()).toBe(true);
    outsideUntouched();
  });

  it("a regular file at the temp file's name is neither truncated nor replaced", async () => {
    const file = sessionIn();
    const temp = planTemp(file, "ba9876543210");
    writeFileSync(temp, "someone else's\n");
    await rewriteFileAtomic(file, (out) => out.write("new\n"));
    tally.runs++;
    tally.faults++;
    expect(readFileSync(temp, "utf8")).toBe("someone else's\n");
    expect(readFileSync(file, "utf8")).toBe("new\n");
  });

  it("a symlink (or a dangling one) at the backup name: the backup goes to .bak.1 and the target is untouched", async () => {
    for (const dangling of [false, true]) {
      const file = sessionIn(dangling ? "d.jsonl" : "s.jsonl");
      const before = readFileSync(file);
      symlinkSync(dangling ? join(outside, "not-there") : join(outside, "victim"), `${file}.bak`);
      const r = await upgradeSession(file);
      tally.runs++;
      tally.faults++;
      expect(r.backupPath).toBe(`${file}.bak.1`);
      expect(readFileSync(`${file}.bak.1`).equals(before)).toBe(true);
      expect(lstatSync(`${file}.bak`).isSymbolicLink()).toBe(true);
      expect(existsSync(join(outside, "not-there"))).toBe(false);
    }
    outsideUntouched();
  });

  it("a symlink given as the explicit backup path is refused with E_EXISTS", async () => {
    const file = sessionIn();
    const before = readFileSync(file);
    const link = join(dirname(file), "keep.jsonl");
    symlinkSync(join(outside, "victim"), link);
    expect((await coded(upgradeSession(file, { backup: link }))).code).toBe("E_EXISTS");
    tally.faults++;
    expect(readFileSync(file).equals(before)).toBe(true);
    outsideUntouched();
  });

  for (const target of ["a fresh directory", "an old directory", "a file", "nothing (dangling)"] as const) {
    it(`a symlink at the lock name pointing to ${target}: the append is refused and nothing outside changes`, async () => {
      const file = sessionIn("s.jsonl", V3);
      const before = readFileSync(file);
      const dest = join(outside, target === "a file" ? "victim" : "lockdir");
      if (target.endsWith("directory")) mkdirSync(dest);
      const mtime = target === "an old directory" ? new Date(0) : undefined;
      if (mtime) (await import("node:fs")).utimesSync(dest, mtime, mtime);
      symlinkSync(dest, lockPathFor(file));
      const w = await SessionWriter.open(file, { lockTimeoutMs: 200 });
      const e = await coded(w.append({ type: "custom", customType: "x" }));
      tally.runs++;
      tally.faults++;
      expect(["E_LOCKED", "E_IO"]).toContain(e.code);
      expect(readFileSync(file).equals(before)).toBe(true);
      expect(lstatSync(lockPathFor(file)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(lockPathFor(file))).toBe(dest);
      if (target.endsWith("directory")) {
        expect(listDir(dest)).toEqual([]);
        if (mtime) expect(statSync(dest).mtimeMs).toBe(0);
      }
      expect(existsSync(join(outside, "victim"))).toBe(true);
      expect(readFileSync(join(outside, "victim"), "utf8")).toBe("do not touch\n");
    });
  }

  it("a symlink at the quarantine name: the torn-tail repair fails with E_IO, nothing is cut or written outside", async () => {
    const file = sessionIn("s.jsonl", V3);
    writeFileSync(file, `${readFileSync(file, "utf8")}{"type":"custom","id":"torn`);
    const before = readFileSync(file);
    symlinkSync(join(outside, "victim"), `${file}.torn`);
    const w = await SessionWriter.open(file);
    const e = await coded(w.append({ type: "custom", customType: "x" }));
    tally.runs++;
    tally.faults++;
    expect(e.code).toBe("E_IO");
    expect(readFileSync(file).equals(before)).toBe(true);
    outsideUntouched();
  });

  it("a dangling symlink at a new session's file name: E_EXISTS, the target is not created", async () => {
    const id = "0197d2a4-0000-7000-8000-000000000001";
    const sdir = sessionDirFor(root, "/w");
    mkdirSync(sdir, { recursive: true });
    symlinkSync(join(outside, "created-through-link"), join(sdir, sessionFileName(id, NOW.toISOString())));
    expect((await coded(createSession({ cwd: "/w", sessionsRoot: root, id, now: NOW }))).code).toBe("E_EXISTS");
    const src = sessionIn("src.jsonl", V3);
    const s = await openSession(src);
    const forkId = "0197d2a4-0000-7000-8000-000000000002";
    symlinkSync(join(outside, "fork-through-link"), join(dirname(src), sessionFileName(forkId, NOW.toISOString())));
    expect((await coded(createBranchedSession(s, s.leafId as string, { id: forkId, now: NOW }))).code).toBe("E_EXISTS");
    tally.runs += 2;
    tally.faults += 2;
    outsideUntouched();
    expect(listDir(sdir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("files sessfmt creates are private", () => {
  it("with umask 0: new sessions, forks and quarantine files are 0600, new directories 0700", async () => {
    const old = process.umask(0);
    try {
      const w = await createSession({ cwd: "/deep/er", sessionsRoot: join(root, "a", "b"), now: NOW });
      await w.close();
      expect(statSync(w.file).mode & 0o777).toBe(0o600);
      for (const d of [dirname(w.file), join(root, "a", "b"), join(root, "a")]) expect(statSync(d).mode & 0o777).toBe(0o700);
      const s = await openSession(w.file);
      const fork = await createBranchedSession(s, s.records[0]?.id ?? "", { dir: dirname(w.file) }).catch(() => undefined);
      if (fork) expect(statSync(fork.file).mode & 0o777).toBe(0o600);
      writeFileSync(w.file, `${readFileSync(w.file, "utf8")}{"type":"custom","id":"torn`, { mode: 0o600 });
      const w2 = await SessionWriter.open(w.file);
      await w2.append({ type: "custom", customType: "x" });
      expect(statSync(`${w.file}.torn`).mode & 0o777).toBe(0o600);
      // An upgrade keeps the mode the user gave the file; its backup is the same file.
      const legacy = join(dirname(w.file), "legacy.jsonl");
      copyFileSync(V1, legacy);
      (await import("node:fs")).chmodSync(legacy, 0o640);
      await upgradeSession(legacy);
      expect(statSync(legacy).mode & 0o777).toBe(0o640);
      expect(statSync(`${legacy}.bak`).mode & 0o777).toBe(0o640);
      tally.runs++;
    } finally {
      process.umask(old);
    }
  });
});

describe("directory walks do not follow symlinked directories unless asked", () => {
  it("a symlinked directory is skipped by default, entered with followSymlinks, and a symlink loop ends", async () => {
    mkdirSync(join(root, "a"));
    copyFileSync(V3, join(root, "a", "x.jsonl"));
    copyFileSync(V3, join(outside, "y.jsonl"));
    symlinkSync(outside, join(root, "link"));
    symlinkSync(root, join(root, "a", "loop"));
    const walk = async (followSymlinks: boolean) => {
      const out: string[] = [];
      for await (const f of findSessionFiles([root], { followSymlinks })) out.push(f);
      return out;
    };
    expect(await walk(false)).toEqual([join(root, "a", "x.jsonl")]);
    expect(await walk(true)).toEqual([join(root, "a", "x.jsonl"), join(root, "link", "y.jsonl")]);
    tally.runs += 2;
    tally.faults += 2;
  });
});
