/**
 * Crash consistency of the sidecar operations (SPEC 13.1, 14): migrate, sync, rollback and
 * recover run in a child process killed with SIGKILL at a random moment; the JSONL never
 * changes and recover always ends migrated (verified) or unmigrated (no sidecar).
 * Counts: SESSFMT_SIDECAR_KILLS (short by default, long with SESSFMT_SOAK=1); replay a
 * failing campaign with SESSFMT_CRASH_SEED=<seed printed in the failure>.
 * Also: two processes migrating one file at once.
 */
import { describe, expect, it } from "vitest";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { migrationStatus, verifyV2AgainstJsonl } from "../../src/index.js";
import { CHILD_OPERATIONS, Child } from "../helpers/reliability/child.js";
import { crashSeed, prng, runCrashCampaign } from "../helpers/reliability/crash-harness.js";
import { sidecarCrashCampaign, writeSession, type SidecarOp } from "../helpers/reliability/sidecar-crash.js";
import { hangGuardMs, sidecarScale } from "../helpers/reliability/sidecar-scale.js";
import { fileTally } from "../helpers/reliability/tally.js";
import { scratchRoot } from "../helpers/reliability/scratch-root.js";

const tally = fileTally("sidecar-crash");

const dirFor = scratchRoot("sessfmt-sidecar-crash-");

describe("a sidecar operation killed at any point leaves the JSONL untouched, and recover ends migrated or unmigrated", () => {
  const ops: { op: SidecarOp; seedOffset: number }[] = [
    { op: "migrate", seedOffset: 11 },
    { op: "sync", seedOffset: 12 },
    { op: "rollback", seedOffset: 13 },
    { op: "recover", seedOffset: 14 },
  ];
  for (const { op, seedOffset } of ops) {
    it.concurrent(
      `${op}: ${sidecarScale.kills} kills, each followed by recover and a verification`,
      async () => {
        const campaign = await sidecarCrashCampaign({
          op,
          dir: dirFor(op),
          runs: sidecarScale.kills,
          seed: crashSeed() + seedOffset,
          entries: sidecarScale.entries,
          segmentBytes: 4096,
          tally,
        });
        const { killed } = await runCrashCampaign(campaign);
        expect(killed, "no run was killed while it worked").toBeGreaterThan(0);
      },
      hangGuardMs(300_000, 3_600_000),
    );
  }
});

describe("two processes migrating one file at once", () => {
  it(`one creates the sidecar; the other finds nothing to do or reports E_LOCKED (${sidecarScale.races} races)`, async () => {
    const d = dirFor("race");
    const file = join(d, "s.jsonl");
    for (let run = 0; run < sidecarScale.races; run++) {
      rmSync(d, { recursive: true, force: true });
      mkdirSync(d, { recursive: true });
      writeSession(file, sidecarScale.entries, prng(crashSeed() + run));
      const jsonl = readFileSync(file);
      // Half the races with a short lock wait, so the loser may give up with E_LOCKED.
      const lockTimeoutMs = run % 2 === 0 ? 30_000 : 1;
      const children = [0, 1].map(
        () => new Child(CHILD_OPERATIONS, ["sidecar", JSON.stringify({ file, op: "migrate", segmentBytes: 4096, lockTimeoutMs, reportErrors: true })], { hangGuardMs: 60_000 }),
      );
      const results = await Promise.all(children.map((c) => c.result()));
      const outcomes = results.map((r) => {
        const done = r.lines.find((l) => l.startsWith("done "));
        expect(done, `${r.lines.join("\n")}\n${r.stderr}`).toBeDefined();
        return JSON.parse((done as string).slice(5)) as { action?: string; error?: string; message?: string };
      });
      const kinds = outcomes.map((x) => x.action ?? x.error).sort();
      expect(kinds.filter((k) => k === "created"), JSON.stringify(outcomes)).toHaveLength(1);
      expect(["none", "E_LOCKED"], JSON.stringify(outcomes)).toContain(kinds.find((k) => k !== "created"));
      tally.note(`sidecar race: loser ${kinds.find((k) => k !== "created")}`);
      expect(readFileSync(file).equals(jsonl)).toBe(true);
      expect((await migrationStatus(file)).state).toBe("migrated");
      expect((await verifyV2AgainstJsonl(file)).ok).toBe(true);
      tally.runs++;
      tally.entriesChecked += sidecarScale.entries;
    }
  }, hangGuardMs(120_000, 1_200_000));
});
