import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createV2SidecarFromJsonl,
  migrateJsonlToV2,
  migrationStatus,
  readHistory,
  readMigrationEvents,
  readQuarantine,
  recoverPartialMigration,
  verifyV2AgainstJsonl,
} from "../../src/index.js";
import { appendEntry, chain, copyFixture, HEADER, msg, sha256File, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();
const root = (f: string) => f.replace(/\.jsonl$/, ".v2");
const history = (f: string) => f.replace(/\.jsonl$/, ".v2.history.ndjson");
const UUID = "0194aaaa-0000-7000-8000-000000000001";

async function session(n = 6): Promise<string> {
  return writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(n)]);
}

async function expectVerified(f: string): Promise<void> {
  expect((await migrationStatus(f)).state).toBe("migrated");
  expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
}

describe("14.6 leftovers of interrupted migrations are removed or put back", () => {
  it("a staging directory is removed (its ledger kept in the history); --re-migrate then migrates", async () => {
    const f = await session();
    const staging = f.replace(/\.jsonl$/, `.v2.staging-${UUID}`);
    await createV2SidecarFromJsonl(f, { root: staging });
    const r = await recoverPartialMigration(f);
    expect(r).toMatchObject({ before: "partial", after: "unmigrated", ok: true });
    expect(r.actions[0]).toMatch(/removed s\.v2\.staging-.*the staging directory of an interrupted migration/);
    expect(existsSync(staging)).toBe(false);
    expect((await readHistory(history(f))).records[0]).toMatchObject({ action: "recover", migrationId: UUID });
    const again = await recoverPartialMigration(f, { reMigrate: true });
    expect(again).toMatchObject({ after: "migrated", ok: true, verified: true });
    await expectVerified(f);
  });

  it("the v2 layer's hidden staging directory is removed", async () => {
    const f = await session();
    const hidden = join(f, "..", ".s.v2.staging-a1b2c3");
    mkdirSync(join(hidden, "segments"), { recursive: true });
    const r = await recoverPartialMigration(f);
    expect(existsSync(hidden)).toBe(false);
    expect(r.after).toBe("unmigrated");
  });

  it("a rebuild cut between its two renames: the old sidecar is put back", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    const seg = sha256File(join(root(f), "segments", "0000000000000001.seg"));
    renameSync(root(f), f.replace(/\.jsonl$/, `.v2.staging-${UUID}.replaced`));
    expect((await migrationStatus(f)).state).toBe("partial");
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/put back .*previous sidecar is restored/);
    expect(sha256File(join(root(f), "segments", "0000000000000001.seg"))).toBe(seg);
    await expectVerified(f);
  });

  it("the replaced sidecar of a finished rebuild is removed", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    const aside = f.replace(/\.jsonl$/, `.v2.staging-${UUID}.replaced`);
    mkdirSync(join(aside, "segments"), { recursive: true });
    await recoverPartialMigration(f);
    expect(existsSync(aside)).toBe(false);
    await expectVerified(f);
  });

  it("a rollback cut after its rename is finished: history record written, directory removed", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    renameSync(root(f), f.replace(/\.jsonl$/, `.v2.staging-${UUID}.removed`));
    const r = await recoverPartialMigration(f);
    expect(r).toMatchObject({ after: "unmigrated", ok: true });
    const h = await readHistory(history(f));
    expect(h.records).toHaveLength(1);
    expect(h.records[0]).toMatchObject({ action: "rollback", migrationId: UUID });
    expect(h.records[0]!.ledger.map((e) => e.phase)).toEqual(["planned", "staging_copy", "integrity_check", "cutover_commit", "completed", "rollback"]);
    expect(readdirSync(join(f, "..")).sort()).toEqual(["s.jsonl", "s.v2.history.ndjson"]);
  });
});

describe("14.6 an interrupted write inside the sidecar is repaired and verified", () => {
  it("an empty sidecar directory (a creation cut short) is removed", async () => {
    const f = await session();
    mkdirSync(root(f));
    const r = await recoverPartialMigration(f);
    expect(r).toMatchObject({ before: "partial", after: "unmigrated" });
  });

  it("a missing index is rebuilt from the segments", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    rmSync(join(root(f), "index", "offsets.jsonl"));
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/rebuilt the index from the segments: 6 entries/);
    expect(r).toMatchObject({ after: "migrated", verified: true });
    await expectVerified(f);
  });

  it("a garbage index row is rebuilt away", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    const idx = join(root(f), "index", "offsets.jsonl");
    writeFileSync(idx, readFileSync(idx, "utf8").replace(/^.*$/m, "garbage"));
    expect((await migrationStatus(f)).state).toBe("corrupt");
    expect((await recoverPartialMigration(f)).after).toBe("migrated");
    await expectVerified(f);
  });

  it("a torn frame after the last indexed one (a sync cut short) is cut and the new lines are framed", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    appendEntry(f, msg("n1", "e6"));
    appendFileSync(join(root(f), "segments", "0000000000000001.seg"), '{"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":1,"fra');
    expect((await migrationStatus(f)).state).toBe("partial");
    const r = await recoverPartialMigration(f);
    expect(r.actions.join("\n")).toMatch(/repaired an interrupted sync .*cut .* unindexed bytes.*framed 1 new entries/);
    await expectVerified(f);
  });

  it("a torn last frame in a sidecar without an index is cut by the rebuild", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    rmSync(join(root(f), "index", "offsets.jsonl"));
    appendFileSync(join(root(f), "segments", "0000000000000001.seg"), '{"schema":"pi.sess');
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/cut a torn last frame/);
    await expectVerified(f);
  });

  it("a migration stopped before its completed event is verified and its recovery recorded", async () => {
    const f = await session();
    await expect(migrateJsonlToV2(f, { failAt: "completed" })).rejects.toThrow();
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/verified the sidecar \(6 entries match the JSONL\) after migration .* which stopped after its cutover_commit phase/);
    const phases = (await readMigrationEvents(f)).events.map((e) => e.phase);
    expect(phases.slice(-2)).toEqual(["integrity_check", "completed"]);
    await expectVerified(f);
  });

  it("a damaged ledger is moved aside with its bytes kept", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    appendFileSync(join(root(f), "migrations", "ledger.jsonl"), "torn{\n");
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/moved the damaged ledger aside to migrations\/ledger\.jsonl\.damaged-/);
    const aside = readdirSync(join(root(f), "migrations")).find((n) => n.startsWith("ledger.jsonl.damaged-"))!;
    expect(readFileSync(join(root(f), "migrations", aside), "utf8")).toMatch(/torn\{\n$/);
    await expectVerified(f);
  });

  it("a damaged quarantine is moved aside and refilled from the JSONL", async () => {
    const f = copyFixture(temp(), "corrupt-lines.jsonl");
    await migrateJsonlToV2(f, { skipInvalid: true });
    const q = join(root(f), "sessfmt-quarantine.jsonl");
    writeFileSync(q, readFileSync(q, "utf8").slice(0, 100) + "\n");
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/moved the damaged quarantine aside/);
    expect((await readQuarantine(root(f))).records).toHaveLength(6);
    await expectVerified(f);
  });
});

describe("14.6 a sidecar that does not verify is removed only when the JSONL provably holds it", () => {
  it("a changed frame with the JSONL's prefix intact: removed (recorded), then rebuilt with --re-migrate", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    const seg = join(root(f), "segments", "0000000000000001.seg");
    writeFileSync(seg, readFileSync(seg, "latin1").replace("message 3", "massage 3"), "latin1");
    const r = await recoverPartialMigration(f, { reMigrate: true });
    expect(r.actions[0]).toMatch(/removed the sidecar, which did not verify .*the JSONL still holds every line it was built from/);
    expect(r.actions[1]).toMatch(/re-migrated: created, 6 entries/);
    expect(r).toMatchObject({ before: "migrated", after: "migrated", ok: true });
    expect((await readHistory(history(f))).records.map((h) => h.action)).toEqual(["recover"]);
    await expectVerified(f);
  });

  it("a bad sidecar holding lines the JSONL lost is left in place and reported", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    writeLines(f, [HEADER, ...chain(3)]);
    const seg = join(root(f), "segments", "0000000000000001.seg");
    writeFileSync(seg, readFileSync(seg, "latin1").replace("message 1", "massage 1"), "latin1");
    const r = await recoverPartialMigration(f, { reMigrate: true });
    expect(r.ok).toBe(false);
    expect(r.actions.join("\n")).toMatch(/re-migration failed: E_SIDECAR_STALE: .*4 stored entries are not in the JSONL .*first: entrySeq 1, id "e1".*nothing was changed/);
    expect(existsSync(seg)).toBe(true);
  });

  it("a sidecar root that is a symbolic link is left alone", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(2)]);
    mkdirSync(join(d, "target"));
    symlinkSync(join(d, "target"), root(f));
    const r = await recoverPartialMigration(f, { reMigrate: true });
    expect(r.ok).toBe(false);
    expect(r.actions[0]).toMatch(/symbolic link; remove or move it yourself/);
    expect(existsSync(join(d, "target"))).toBe(true);
  });
});

describe("14.6 recover on a healthy or stale file", () => {
  it("verifies a migrated sidecar and changes nothing", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    const r = await recoverPartialMigration(f);
    expect(r).toMatchObject({ before: "migrated", after: "migrated", ok: true, verified: true });
  });

  it("leaves a stale sidecar stale; --re-migrate syncs it", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    appendEntry(f, msg("n", "e6"));
    expect(await recoverPartialMigration(f)).toMatchObject({ after: "stale", ok: true, actions: ["nothing to recover"] });
    const r = await recoverPartialMigration(f, { reMigrate: true });
    expect(r.migrated).toMatchObject({ action: "synced", entriesAdded: 1 });
    await expectVerified(f);
  });

  it("a corrupt record of a sync that failed after writing is cleared by a verification", async () => {
    const f = await session();
    await migrateJsonlToV2(f);
    appendEntry(f, msg("n", "e6"));
    await expect(migrateJsonlToV2(f, { failAt: "integrity_check" })).rejects.toThrow();
    expect((await migrationStatus(f)).state).toBe("corrupt");
    const r = await recoverPartialMigration(f);
    expect(r.actions[0]).toMatch(/which failed \(io_failure\); recorded the recovery/);
    await expectVerified(f);
  });
});
