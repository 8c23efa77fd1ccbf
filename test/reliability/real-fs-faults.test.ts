/**
 * The same fault rules as faults.test.ts, on real file systems instead of injected
 * errors: a full tmpfs (ENOSPC) and a read-only bind mount (EROFS). Mounting needs
 * CAP_SYS_ADMIN, so these run only where a test mount succeeds (they are reported as
 * skipped elsewhere; the injected faults cover the same call sites everywhere).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SessfmtError, SessionWriter, createSession, openSession, upgradeSession } from "../../src/index.js";
import { listDir } from "../helpers/reliability/disk.js";
import { fileTally } from "../helpers/reliability/tally.js";

const tally = fileTally("real-fs-faults");
const V1 = fileURLToPath(new URL("../../fixtures/v1-legacy.jsonl", import.meta.url));
const V3 = fileURLToPath(new URL("../../fixtures/v3-branched.jsonl", import.meta.url));

function sh(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Whether this machine lets us mount (root with CAP_SYS_ADMIN, e.g. a privileged container). */
const base = mkdtempSync(join(tmpdir(), "sessfmt-realfs-"));
const probe = join(base, "probe");
mkdirSync(probe);
const canMount = process.platform === "linux" && sh("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]) && sh("umount", [probe]);

const mounts: string[] = [];
function mount(args: string[], at: string): void {
  mkdirSync(at, { recursive: true });
  execFileSync("mount", [...args, at]);
  mounts.push(at);
}

afterAll(() => {
  for (const m of mounts.reverse()) if (!sh("umount", [m])) sh("umount", ["-l", m]);
  rmSync(base, { recursive: true, force: true });
});

async function coded(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(SessfmtError);
    return err as SessfmtError;
  }
  throw new Error("expected a SessfmtError");
}

describe.runIf(canMount)("on a full file system (tmpfs, ENOSPC) every write fails cleanly", () => {
  let fs: string;
  beforeAll(() => {
    fs = join(base, "full");
    mount(["-t", "tmpfs", "-o", "size=256k", "tmpfs"], fs);
  });
  const fill = () => {
    // Take what is left, so the next data block cannot be allocated.
    try {
      writeFileSync(join(fs, "filler"), Buffer.alloc(512 * 1024));
    } catch {
      // ENOSPC: as intended, the filler holds whatever fitted
    }
  };

  it("an append that does not fit: E_IO, the file as it was, nothing left behind", async () => {
    const file = join(fs, "s.jsonl");
    copyFileSync(V3, file);
    fill();
    const before = readFileSync(file);
    const w = await SessionWriter.open(file, { durability: "strict" });
    const e = await coded(w.append({ type: "custom", customType: "big", data: "x".repeat(128 * 1024) }));
    tally.runs++;
    tally.faults++;
    expect(e.code).toBe("E_IO");
    expect(e.message).toMatch(/ENOSPC/);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(fs)).toEqual(["filler", "s.jsonl"]);
    rmSync(join(fs, "filler"));
    rmSync(file);
  });

  it("an upgrade whose new file does not fit: E_IO, the original untouched, no temp or backup", async () => {
    const file = join(fs, "s.jsonl");
    copyFileSync(V1, file);
    fill();
    const before = readFileSync(file);
    const e = await coded(upgradeSession(file));
    tally.runs++;
    tally.faults++;
    expect(e.code).toBe("E_IO");
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(fs)).toEqual(["filler", "s.jsonl"]);
    rmSync(join(fs, "filler"));
    rmSync(file);
  });

  it("creating a session that does not fit: E_IO, no file and no temp", async () => {
    fill();
    const e = await coded(createSession({ cwd: "/w", dir: fs }));
    tally.runs++;
    tally.faults++;
    expect(e.code).toBe("E_IO");
    expect(listDir(fs)).toEqual(["filler"]);
    rmSync(join(fs, "filler"));
  });
});

describe.runIf(canMount)("in a read-only directory (EROFS) writes are refused and reads still work", () => {
  let ro: string;
  beforeAll(() => {
    const src = join(base, "rw");
    mkdirSync(src);
    copyFileSync(V3, join(src, "s.jsonl"));
    copyFileSync(V1, join(src, "old.jsonl"));
    ro = join(base, "ro");
    mount(["--bind", src], ro);
    execFileSync("mount", ["-o", "remount,ro,bind", ro]);
  });

  it("append, upgrade and create fail with E_IO; open reads the file", async () => {
    const file = join(ro, "s.jsonl");
    const before = readFileSync(file);
    const w = await SessionWriter.open(file);
    expect((await coded(w.append({ type: "custom", customType: "x" }))).code).toBe("E_IO");
    expect((await coded(upgradeSession(join(ro, "old.jsonl")))).code).toBe("E_IO");
    expect((await coded(createSession({ cwd: "/w", dir: ro }))).code).toBe("E_IO");
    expect((await openSession(file)).records.length).toBeGreaterThan(0);
    tally.runs += 4;
    tally.faults += 3;
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(listDir(ro)).toEqual(["old.jsonl", "s.jsonl"]);
  });
});
