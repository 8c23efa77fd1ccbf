/**
 * The upgrade crash campaign: a child runs upgradeSession on a copy of a legacy file and
 * is killed at a random moment (delays spread over the measured length of an upgrade).
 * After every kill the file is either the original bytes or exactly the upgraded bytes
 * (those of an uninterrupted upgrade: the upgrade is deterministic), a backup, if any,
 * holds the original bytes, and an upgraded file always has its backup. Then the upgrade
 * is run again in this process: it must finish the job (or find nothing to do) and leave
 * no temp file or lock behind.
 */
import { copyFileSync, existsSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { openSession, upgradeSession } from "../../../src/index.js";
import { CHILD_OPERATIONS, Child } from "./child.js";
import type { CrashCampaign, CrashRun } from "./crash-harness.js";
import { ageLock, isTempOf, listDir } from "./disk.js";
import type { Tally } from "./tally.js";

export interface UpgradeCampaignOptions {
  name: string;
  dir: string;
  /** The legacy (v1/v2) file to upgrade. */
  source: string;
  runs: number;
  seed: number;
  tally: Tally & { note(key: string, n?: number): void };
}

/** Run the upgrade child to completion a few times: how long an upgrade takes here, in ms after "ready". */
async function measureUpgrade(file: string, source: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    copyFileSync(source, file);
    for (const name of listDir(join(file, ".."))) if (name !== "s.jsonl") rmSync(join(file, "..", name), { recursive: true, force: true });
    const child = new Child(CHILD_OPERATIONS, ["upgrade", JSON.stringify({ file })], { hangGuardMs: 60_000 });
    await child.waitFor((l) => l === "ready");
    const start = performance.now();
    const result = await child.result();
    times.push(performance.now() - start);
    expect(result.lines.some((l) => l.startsWith("done "))).toBe(true);
  }
  return times.sort((a, b) => a - b)[1] as number;
}

export async function upgradeCrashCampaign(o: UpgradeCampaignOptions): Promise<CrashCampaign> {
  const file = join(o.dir, "s.jsonl");
  const original = readFileSync(o.source);
  // The reference: an uninterrupted upgrade of the same bytes.
  const upgradeMs = await measureUpgrade(file, o.source);
  const reference = readFileSync(file);
  const before = await openSession(o.source);
  const after = await openSession(file);
  expect(after.version).toBe(3);
  expect(JSON.stringify(after.buildContext())).toBe(JSON.stringify(before.buildContext()));
  expect(after.records.length).toBe(before.records.length);
  o.tally.note("upgrade length (ms, median of 3)", Math.round(upgradeMs));

  const clean = () => {
    for (const name of listDir(o.dir)) rmSync(join(o.dir, name), { recursive: true, force: true });
  };

  return {
    name: o.name,
    runs: o.runs,
    seed: o.seed,
    tally: o.tally,
    async prepare() {
      clean();
      copyFileSync(o.source, file);
      return { operation: "upgrade", options: { file } };
    },
    killDelay(_run, rand) {
      // Spread over the whole upgrade and a little past it (some runs must finish).
      return rand() * upgradeMs * 1.25;
    },
    async check(r: CrashRun) {
      const bytes = readFileSync(file);
      const isOriginal = bytes.equals(original);
      const isUpgraded = bytes.equals(reference);
      expect(isOriginal || isUpgraded, `after the kill the file is neither the original nor the upgraded file (${bytes.length} bytes)`).toBe(true);
      o.tally.entriesChecked += before.records.length;
      const names = listDir(o.dir);
      const backups = names.filter((n) => n === "s.jsonl.bak" || /^s\.jsonl\.bak\.\d+$/.test(n));
      for (const b of backups) expect(readFileSync(join(o.dir, b)).equals(original), `${b} does not hold the original bytes`).toBe(true);
      if (isUpgraded) expect(backups, "an upgraded file without its backup").not.toEqual([]);
      const temps = names.filter((n) => isTempOf("s.jsonl", n));
      const other = names.filter((n) => n !== "s.jsonl" && n !== "s.jsonl.lock" && !backups.includes(n) && !temps.includes(n));
      expect(other, "unexpected files after the kill").toEqual([]);
      o.tally.note(isUpgraded ? "kills after the upgrade was in place" : backups.length > 0 ? "kills between backup and rename" : "kills before anything was written");
      if (temps.length > 0) o.tally.note("kills that left a temp file");

      // Run it again: it completes (or has nothing to do) and cleans up after the killed run.
      if (ageLock(file)) o.tally.note("stale locks taken over");
      const report = await upgradeSession(file);
      expect(report.upgraded).toBe(!isUpgraded);
      expect(readFileSync(file).equals(reference), "the re-run upgrade differs from an uninterrupted one").toBe(true);
      const left = listDir(o.dir).filter((n) => n !== "s.jsonl" && !/^s\.jsonl\.bak(\.\d+)?$/.test(n));
      expect(left, "temp files or locks left after the re-run").toEqual([]);
      expect(existsSync(`${file}.bak`)).toBe(true);
      expect(statSync(file).size).toBe(reference.length);
    },
  };
}
