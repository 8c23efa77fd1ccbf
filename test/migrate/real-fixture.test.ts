import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  migrateDryRun,
  migrateJsonlToV2,
  migrationStatus,
  openSessionSync,
  readMigrationEvents,
  rollbackV2Sidecar,
  verifyV2AgainstJsonl,
} from "../../src/index.js";
import { appendEntry, copyFixture, msg, sha256File, useTempDirs } from "./helpers.js";

/** The whole life cycle on a copy of the real pi session (a version 1 file of 1,018 entries). */

const temp = useTempDirs();

describe("14 the real fixture through its whole life cycle", () => {
  it("dry-run predicts migrate; verify is clean; an append is synced; rollback leaves the JSONL untouched", async () => {
    const f = copyFixture(temp(), "real/large-session.jsonl", "large-session.jsonl");
    const original = readFileSync(f);

    const dry = await migrateDryRun(f, { segmentBytes: 256 * 1024 });
    expect(dry).toMatchObject({ state: "unmigrated", action: "create", wouldSucceed: true, version: 1, entries: 1018, upgrade: { fromVersion: 1 } });
    expect(readFileSync(f).equals(original)).toBe(true);

    const m = await migrateJsonlToV2(f, { segmentBytes: 256 * 1024 });
    expect(m).toMatchObject({ action: "created", entries: dry.entries, segments: dry.segments, bytes: dry.sidecarBytes, chainHash: dry.verification.chainHash });
    expect(m.segments).toBeGreaterThan(1);
    expect(readFileSync(`${f}.bak`).equals(original)).toBe(true);
    expect(openSessionSync(f).records).toHaveLength(1018);

    const v = await verifyV2AgainstJsonl(f);
    expect(v).toMatchObject({ ok: true, entries: { jsonl: 1018, sidecar: 1018 }, verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true } });

    const leaf = openSessionSync(f).leafId;
    appendEntry(f, msg("feedbeef", leaf, "one more question"));
    expect((await migrationStatus(f)).state).toBe("stale");
    const dry2 = await migrateDryRun(f, { segmentBytes: 256 * 1024 });
    const s = await migrateJsonlToV2(f, { segmentBytes: 256 * 1024 });
    expect(s).toMatchObject({ action: "synced", entriesAdded: 1, entries: 1019, chainHash: dry2.verification.chainHash, segments: dry2.segments, bytes: dry2.sidecarBytes });
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
    expect((await readMigrationEvents(f)).events.map((e) => e.phase)).toEqual([
      "planned",
      "staging_copy",
      "integrity_check",
      "cutover_commit",
      "completed",
      "planned",
      "staging_copy",
      "integrity_check",
      "completed",
    ]);

    const before = sha256File(f);
    await rollbackV2Sidecar(f);
    expect(sha256File(f)).toBe(before);
    const st = await migrationStatus(f);
    expect(st).toMatchObject({ state: "unmigrated", history: { action: "rollback" } });
  });
});
