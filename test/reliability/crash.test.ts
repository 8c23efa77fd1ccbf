/**
 * Crash consistency (SPEC 13): child processes killed with SIGKILL at random points.
 * Counts: SESSFMT_KILLS / SESSFMT_UPGRADE_KILLS (short by default, long with SESSFMT_SOAK=1);
 * replay a failing campaign with SESSFMT_CRASH_SEED=<seed printed in the failure>.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { rewriteFileAtomic } from "../../src/index.js";
import { listDir } from "../helpers/reliability/disk.js";
import { appendCrashCampaign } from "../helpers/reliability/append-crash.js";
import { crashSeed, runCrashCampaign } from "../helpers/reliability/crash-harness.js";
import { upgradeCrashCampaign } from "../helpers/reliability/upgrade-crash.js";
import { hangGuardMs, scale } from "../helpers/reliability/scale.js";
import { fileTally } from "../helpers/reliability/tally.js";
import { scratchRoot } from "../helpers/reliability/scratch-root.js";

const tally = fileTally("crash");
const LARGE_V1 = fileURLToPath(new URL("../../fixtures/real/large-session.jsonl", import.meta.url));

const dirFor = scratchRoot("sessfmt-crash-");

describe("an append killed at any point loses nothing acknowledged and never glues a line", () => {
  const modes = [
    { mode: "strict", parent: "leaf", maxBatch: 3 },
    { mode: "balanced", parent: "fileTail", maxBatch: 4 },
    { mode: "throughput", parent: "leaf", maxBatch: 8 },
    { mode: "autosave", parent: "leaf", maxBatch: 6 },
  ] as const;
  for (const m of modes) {
    it.concurrent(
      `${m.mode === "autosave" ? "AutosaveQueue (strict)" : `SessionWriter, durability ${m.mode}`}, parent ${m.parent}: ${scale.appendKills} kills`,
      async () => {
        const campaign = appendCrashCampaign({
          name: `append/${m.mode}`,
          dir: dirFor(`append-${m.mode}`),
          runs: scale.appendKills,
          seed: crashSeed() + m.maxBatch,
          mode: m.mode,
          parent: m.parent,
          maxBatch: m.maxBatch,
          maxBytes: 512 * 1024,
          maxDelayMs: 120,
          tally,
        });
        const { killed } = await runCrashCampaign(campaign);
        // Most runs must really die mid-work, or the campaign proved nothing.
        expect(killed).toBeGreaterThan(scale.appendKills / 2);
      },
      hangGuardMs(120_000, 3_600_000),
    );
  }
});

describe("an upgrade killed at any point leaves the original or the upgraded file whole, with its backup", () => {
  it(
    `upgradeSession of the real v1 session: ${scale.upgradeKills} kills, each followed by a re-run`,
    async () => {
      const campaign = await upgradeCrashCampaign({
        name: "upgrade",
        dir: dirFor("upgrade"),
        source: LARGE_V1,
        runs: scale.upgradeKills,
        seed: crashSeed(),
        tally,
      });
      const { killed } = await runCrashCampaign(campaign);
      expect(killed).toBeGreaterThan(0);
    },
    hangGuardMs(120_000, 3_600_000),
  );
});

describe("temp files a killed rewrite left behind are removed by the next rewrite of that file, and nothing else is", () => {
  it("only regular temp files of this file whose process is gone", async () => {
    const d = dirFor("stale-temps");
    const file = join(d, "s.jsonl");
    writeFileSync(file, "v1\n");
    writeFileSync(join(d, "victim"), "keep\n");
    const dead = Number(execFileSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }));
    const planted = {
      dead: `.s.jsonl.${dead}.aaaaaaaaaaaa.tmp`,
      mine: `.s.jsonl.${process.pid}.bbbbbbbbbbbb.tmp`,
      init: `.s.jsonl.1.cccccccccccc.tmp`,
      otherForm: `.s.jsonl.${dead}.not-hex.tmp`,
      otherFile: `.t.jsonl.${dead}.dddddddddddd.tmp`,
    };
    for (const name of Object.values(planted)) writeFileSync(join(d, name), "partial");
    const link = `.s.jsonl.${dead}.eeeeeeeeeeee.tmp`;
    symlinkSync(join(d, "victim"), join(d, link));
    await rewriteFileAtomic(file, (out) => out.write("v2\n"), { backup: false });
    tally.runs++;
    // Gone: only the dead process's regular temp file of s.jsonl.
    expect(listDir(d)).toEqual([planted.mine, planted.init, planted.otherForm, planted.otherFile, link, "s.jsonl", "victim"].sort());
    expect(readFileSync(join(d, "victim"), "utf8")).toBe("keep\n");
  });
});
