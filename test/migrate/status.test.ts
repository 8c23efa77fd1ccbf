import { appendFileSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, migrateJsonlToV2, migrationStatus, rollbackV2Sidecar } from "../../src/index.js";
import { appendEntry, chain, copyFixture, generateArchive, HEADER, msg, snapshotTree, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();

async function migrated(n = 5): Promise<string> {
  const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(n)]);
  await migrateJsonlToV2(f);
  return f;
}

describe("14.1 states: unmigrated, migrated, stale", () => {
  it("a file without a sidecar is unmigrated and migrate would create one", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    const s = await migrationStatus(f);
    expect(s).toMatchObject({ state: "unmigrated", action: "create", version: 3, reason: "no sidecar" });
  });

  it("a version 1 file is unmigrated and the reason says migrate upgrades it first", async () => {
    const f = copyFixture(temp(), "v1-legacy.jsonl");
    const s = await migrationStatus(f);
    expect(s.state).toBe("unmigrated");
    expect(s.version).toBe(1);
    expect(s.reason).toMatch(/version 1: migrate upgrades it to version 3 first/);
  });

  it("a freshly migrated file is migrated, with the sidecar's counts and its last migration", async () => {
    const f = await migrated(5);
    const s = await migrationStatus(f);
    expect(s).toMatchObject({ state: "migrated", action: "none", sidecar: { entries: 5, segments: 1, ledgerEvents: 5 } });
    expect(s.lastMigration?.phase).toBe("completed");
  });

  it("appending to the JSONL makes it stale, and migrate would sync", async () => {
    const f = await migrated(3);
    appendEntry(f, msg("new1", "e3"));
    const s = await migrationStatus(f);
    expect(s).toMatchObject({ state: "stale", action: "sync" });
    expect(s.reason).toMatch(/grew/);
  });

  it("rewriting the indexed prefix makes it stale, and migrate would rebuild", async () => {
    const f = await migrated(3);
    writeFileSync(f, readFileSync(f, "utf8").replace("message 2", "MESSAGE 2"));
    const s = await migrationStatus(f);
    expect(s).toMatchObject({ state: "stale", action: "rebuild" });
    expect(s.reason).toMatch(/prefix/);
  });

  it("a sidecar without sessfmt's fingerprint (another tool's) is stale: freshness unknown", async () => {
    const f = await migrated(3);
    rmSync(f.replace(/\.jsonl$/, ".v2/sessfmt-source.json"));
    const s = await migrationStatus(f);
    expect(s).toMatchObject({ state: "stale", action: "rebuild" });
    expect(s.reason).toMatch(/freshness unknown/);
  });

  it("the quick check trusts an unchanged size and mtime", async () => {
    const f = await migrated(3);
    expect((await migrationStatus(f, { check: "quick" })).state).toBe("migrated");
  });
});

describe("14.1 states: partial (an interruption) and corrupt (damage)", () => {
  it("a staging directory beside the JSONL is partial", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    await createV2SidecarFromJsonl(f, { root: f.replace(/\.jsonl$/, ".v2.staging-0000") });
    const s = await migrationStatus(f);
    expect(s).toMatchObject({ state: "partial", action: "recover" });
    expect(s.leftovers.map((l) => l.kind)).toEqual(["staging"]);
  });

  it("the v2 layer's own hidden staging directory is partial too", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    mkdirSync(f.replace(/s\.jsonl$/, ".s.v2.staging-abcdef"));
    expect((await migrationStatus(f)).state).toBe("partial");
  });

  it("a sidecar directory without an index is partial", async () => {
    const f = await migrated(3);
    rmSync(f.replace(/\.jsonl$/, ".v2/index/offsets.jsonl"));
    const s = await migrationStatus(f);
    expect(s.state).toBe("partial");
    expect(s.reason).toMatch(/no index/);
  });

  it("frames after the last indexed one (an interrupted sync) are partial", async () => {
    const f = await migrated(3);
    appendFileSync(f.replace(/\.jsonl$/, ".v2/segments/0000000000000001.seg"), '{"schema":"pi.session_store_v2.segment_frame.v1"');
    const s = await migrationStatus(f);
    expect(s.state).toBe("partial");
    expect(s.reason).toMatch(/after the last indexed frame/);
  });

  it("a torn last index line is partial", async () => {
    const f = await migrated(3);
    appendFileSync(f.replace(/\.jsonl$/, ".v2/index/offsets.jsonl"), '{"schema":"pi.session');
    expect((await migrationStatus(f)).reason).toMatch(/torn/);
  });

  it("a migration whose ledger stops before completed is partial", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    await expect(migrateJsonlToV2(f, { failAt: "completed" })).rejects.toThrow(/injected/);
    const s = await migrationStatus(f);
    expect(s.state).toBe("partial");
    expect(s.reason).toMatch(/stopped after its cutover_commit phase/);
  });

  it("an index line that does not decode is corrupt, with the line in the reason", async () => {
    const f = await migrated(3);
    const idx = f.replace(/\.jsonl$/, ".v2/index/offsets.jsonl");
    const lines = readFileSync(idx, "utf8").split("\n");
    lines[1] = "garbage";
    writeFileSync(idx, lines.join("\n"));
    const s = await migrationStatus(f);
    expect(s.state).toBe("corrupt");
    expect(s.reason).toMatch(/index line 2 does not decode/);
  });

  it("a row that points past the end of its segment is corrupt", async () => {
    const f = await migrated(3);
    const seg = f.replace(/\.jsonl$/, ".v2/segments/0000000000000001.seg");
    truncateSync(seg, 100);
    const s = await migrationStatus(f);
    expect(s.state).toBe("corrupt");
    expect(s.reason).toMatch(/ends at byte/);
  });

  it("a damaged ledger line is corrupt", async () => {
    const f = await migrated(3);
    appendFileSync(f.replace(/\.jsonl$/, ".v2/migrations/ledger.jsonl"), "not json\n");
    expect((await migrationStatus(f)).state).toBe("corrupt");
  });

  it("a sidecar root that is a symbolic link is corrupt and never followed", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(3)]);
    mkdirSync(join(d, "elsewhere"));
    symlinkSync(join(d, "elsewhere"), join(d, "s.v2"));
    const s = await migrationStatus(f);
    expect(s.state).toBe("corrupt");
    expect(s.reason).toMatch(/symbolic link/);
  });

  it("a file that is not a session is an error naming the file", async () => {
    const f = copyFixture(temp(), "bad-header-not-session.jsonl");
    await expect(migrationStatus(f)).rejects.toMatchObject({ code: "E_HEADER_INVALID", file: f });
  });
});

describe("14.1 status is strictly read-only", () => {
  it("leaves every byte and mtime of a damaged, partly migrated archive as it was", async () => {
    const root = temp();
    const files = generateArchive(root, 42, 11);
    // Every kind of sidecar state in one tree.
    await migrateJsonlToV2(files[0]!.file);
    await migrateJsonlToV2(files[1]!.file, { skipInvalid: true });
    await migrateJsonlToV2(files[2]!.file, { skipInvalid: true });
    appendEntry(files[2]!.file, msg("later", null));
    await expect(migrateJsonlToV2(files[3]!.file, { failAt: "completed", skipInvalid: true })).rejects.toThrow();
    await createV2SidecarFromJsonl(files[6]!.file, { root: files[6]!.file.replace(/\.jsonl$/, ".v2.staging-1234") }).catch(() => undefined);
    await migrateJsonlToV2(files[7]!.file, { skipInvalid: true });
    appendFileSync(files[7]!.file.replace(/\.jsonl$/, ".v2/index/offsets.jsonl"), "garbage\n");
    const before = snapshotTree(root);
    const states = new Set<string>();
    for (const { file } of files) states.add((await migrationStatus(file)).state);
    for (const { file } of files) states.add((await migrationStatus(file, { check: "quick" })).state);
    expect(snapshotTree(root)).toEqual(before);
    expect([...states].sort()).toEqual(["corrupt", "migrated", "partial", "stale", "unmigrated"]);
  });
});

describe("14.5 status shows a rollback afterwards", () => {
  it("reports unmigrated with the rollback from the history file", async () => {
    const f = await migrated(3);
    await rollbackV2Sidecar(f);
    const s = await migrationStatus(f);
    expect(s.state).toBe("unmigrated");
    expect(s.history).toMatchObject({ action: "rollback", outcome: "ok" });
    expect(s.reason).toMatch(/rolled back/);
  });

  it("reports a migration that failed before its sidecar existed", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(2)]);
    await expect(migrateJsonlToV2(f, { failAt: "integrity_check" })).rejects.toThrow();
    const s = await migrationStatus(f);
    expect(s.state).toBe("unmigrated");
    expect(s.history).toMatchObject({ action: "migration_failed" });
    expect(s.reason).toMatch(/last migration failed/);
  });
});
