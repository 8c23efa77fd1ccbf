import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { migrateJsonlToV2, migrationStatus, recoverPartialMigration, verifyV2AgainstJsonl, type MigrationPhase } from "../../src/index.js";
import { ageMigrationLock, appendEntry, assertBuilt, chain, copyFixture, HEADER, msg, runCrashChild, sha256File, useTempDirs, writeLines } from "./helpers.js";

/**
 * Real interruptions: a child process running the built package is SIGKILLed (no cleanup
 * of any kind) right before each phase of a migration, and recover must bring the file to
 * a verified sidecar (or, without --re-migrate, to a state it can explain).
 */

const temp = useTempDirs();
beforeAll(assertBuilt);

const PHASES: MigrationPhase[] = ["planned", "staging_copy", "integrity_check", "cutover_commit", "completed"];

function sessionWithInvalidLine(): string {
  return writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(300).slice(0, 150), "{not json", ...chain(300).slice(150)]);
}

async function killedAt(f: string, phase: string): Promise<void> {
  const r = await runCrashChild(["migrate", f, phase]);
  expect(r.signal, r.stderr).toBe("SIGKILL");
  ageMigrationLock(f); // as if the crashed process's lock had gone stale
}

describe("14.6 a migration killed before any phase is recovered to a verified sidecar", () => {
  for (const phase of PHASES) {
    it(`killed before ${phase}: never a half cutover; recover --re-migrate verifies`, async () => {
      const f = sessionWithInvalidLine();
      const sha = sha256File(f);
      await killedAt(f, phase);
      const s = await migrationStatus(f);
      // The cutover is one rename: before it there is no sidecar, after it a verified one.
      if (phase === "completed") {
        expect(s.state).toBe("partial");
        expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
      } else expect(existsSync(f.replace(/\.jsonl$/, ".v2"))).toBe(false);
      if (phase === "integrity_check" || phase === "cutover_commit") expect(s.leftovers.map((l) => l.kind)).toEqual(["staging"]);
      const r = await recoverPartialMigration(f, { reMigrate: true, skipInvalid: true });
      expect(r, JSON.stringify(r.actions)).toMatchObject({ after: "migrated", ok: true, verified: true });
      expect(await migrationStatus(f)).toMatchObject({ state: "migrated", leftovers: [] });
      expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
      expect(sha256File(f)).toBe(sha);
    });
  }

  it("killed in the middle of the staging copy (the v2 layer's own staging half written)", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(1500)]);
    const r = await runCrashChild(["migrate-progress", f, "300"]);
    expect(r.signal).toBe("SIGKILL");
    ageMigrationLock(f);
    const names = readdirSync(join(f, ".."));
    expect(names.some((n) => n.startsWith(".s.v2.staging-"))).toBe(true);
    expect((await migrationStatus(f)).state).toBe("partial");
    const rec = await recoverPartialMigration(f);
    expect(rec).toMatchObject({ after: "unmigrated", ok: true });
    expect(readdirSync(join(f, "..")).sort()).toEqual(["s.jsonl", "s.v2.history.ndjson"]);
  });

  it("the real fixture (a version 1 file: upgraded first) killed before its cutover", async () => {
    const f = copyFixture(temp(), "real/large-session.jsonl", "large-session.jsonl");
    await killedAt(f, "cutover_commit");
    expect(existsSync(`${f}.bak`)).toBe(true);
    const r = await recoverPartialMigration(f, { reMigrate: true });
    expect(r).toMatchObject({ after: "migrated", ok: true });
    expect((await verifyV2AgainstJsonl(f)).entries).toEqual({ jsonl: 1018, sidecar: 1018 });
  });
});

describe("14.6 a sync killed in any phase is recovered", () => {
  for (const phase of ["staging_copy", "integrity_check", "completed"] as const) {
    it(`sync killed before ${phase}`, async () => {
      const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(20)]);
      await migrateJsonlToV2(f);
      appendEntry(f, msg("n1", "e20"));
      appendEntry(f, msg("n2", "n1"));
      await killedAt(f, phase);
      const r = await recoverPartialMigration(f, { reMigrate: true });
      expect(r, JSON.stringify(r.actions)).toMatchObject({ after: "migrated", ok: true });
      expect((await verifyV2AgainstJsonl(f)).entries).toEqual({ jsonl: 22, sidecar: 22 });
    });
  }
});

describe("14.6 a rollback killed after its rename is finished by recover", () => {
  it("the sidecar is gone at once; recover writes the record and deletes the directory", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(5)]);
    await migrateJsonlToV2(f);
    const sha = sha256File(f);
    const r = await runCrashChild(["rollback", f]);
    expect(r.signal).toBe("SIGKILL");
    ageMigrationLock(f);
    expect(existsSync(f.replace(/\.jsonl$/, ".v2"))).toBe(false);
    expect((await migrationStatus(f)).state).toBe("partial");
    const rec = await recoverPartialMigration(f);
    expect(rec).toMatchObject({ after: "unmigrated", ok: true });
    const s = await migrationStatus(f);
    expect(s.history?.action).toBe("rollback");
    expect(sha256File(f)).toBe(sha);
  });
});
