import { rmSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { migrateDryRun, migrateJsonlToV2, type DryRunResult, type MigrateResult } from "../../src/index.js";
import { appendEntry, chain, copyFixture, generateArchive, HEADER, msg, snapshotTree, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();

/** The parts of a dry run that must equal what migrate then reports. */
function prediction(d: DryRunResult) {
  return {
    action: d.action === "create" ? "created" : d.action === "sync" ? "synced" : d.action === "rebuild" ? "rebuilt" : "none",
    entries: d.entries,
    entriesAdded: d.action === "none" ? 0 : d.plan.entries,
    segments: d.segments,
    bytes: d.sidecarBytes,
    chainHash: d.verification.chainHash,
    quarantined: d.action === "none" ? [] : d.invalidLines.map((l) => l.line),
    upgradedFrom: d.upgrade?.fromVersion,
  };
}

function outcome(m: MigrateResult) {
  return {
    action: m.action,
    entries: m.entries,
    entriesAdded: m.entriesAdded,
    segments: m.segments,
    bytes: m.bytes,
    chainHash: m.chainHash,
    quarantined: m.quarantined.map((l) => l.line),
    upgradedFrom: m.upgraded?.fromVersion,
  };
}

describe("14.3 a dry run predicts exactly what migrate then does", () => {
  it("for every damage kind of a generated archive (create), with skipInvalid and a small segment size", async () => {
    const root = temp();
    for (const { file } of generateArchive(root, 42, 3)) {
      const d = await migrateDryRun(file, { skipInvalid: true, segmentBytes: 1500 });
      expect(d.wouldSucceed, file).toBe(true);
      const m = await migrateJsonlToV2(file, { skipInvalid: true, segmentBytes: 1500 });
      expect(outcome(m), file).toEqual(prediction(d));
      expect(m.verification).toEqual({ entryCountMatch: true, hashChainMatch: true, indexConsistent: true });
    }
  });

  it("for random sessions and segment sizes, then for a sync of random appends (property)", async () => {
    const entry = fc.record({ text: fc.string({ maxLength: 300 }), branch: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { maxLength: 25 }), fc.array(entry, { minLength: 1, maxLength: 10 }), fc.integer({ min: 300, max: 4000 }), async (first, more, segmentBytes) => {
        const dir = temp();
        const f = join(dir, "s.jsonl");
        const lines = first.map((e, i) => msg(`a${i}`, i === 0 ? null : `a${e.branch ? 0 : i - 1}`, e.text));
        writeLines(f, [HEADER, ...lines]);
        const d1 = await migrateDryRun(f, { segmentBytes });
        expect(outcome(await migrateJsonlToV2(f, { segmentBytes }))).toEqual(prediction(d1));
        more.forEach((e, i) => appendEntry(f, msg(`b${i}`, i === 0 ? null : `b${i - 1}`, e.text)));
        const d2 = await migrateDryRun(f, { segmentBytes });
        expect(d2.action).toBe("sync");
        expect(outcome(await migrateJsonlToV2(f, { segmentBytes }))).toEqual(prediction(d2));
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 15 },
    );
  });

  it("for the upgrade of a version 1 file (planned on a private upgraded copy)", async () => {
    const f = copyFixture(temp(), "v1-legacy.jsonl");
    const d = await migrateDryRun(f);
    expect(d.upgrade).toMatchObject({ fromVersion: 1 });
    expect(outcome(await migrateJsonlToV2(f))).toEqual(prediction(d));
  });

  it("for a rebuild of a stale sidecar", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(5)]);
    await migrateJsonlToV2(f);
    writeLines(f, [{ ...HEADER, cwd: "/elsewhere" }, ...chain(5)]);
    const d = await migrateDryRun(f);
    expect(d.action).toBe("rebuild");
    expect(outcome(await migrateJsonlToV2(f))).toEqual(prediction(d));
  });

  it("for a fresh file: nothing", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(5)]);
    await migrateJsonlToV2(f);
    const d = await migrateDryRun(f);
    expect(d).toMatchObject({ action: "none", wouldSucceed: true, estimatedMs: 0 });
    expect(outcome(await migrateJsonlToV2(f))).toEqual(prediction(d));
  });
});

describe("14.3 a dry run predicts refusals with migrate's reason", () => {
  it("invalid lines without skipInvalid: refused with E_INVALID_LINES, lines listed", async () => {
    const f = copyFixture(temp(), "corrupt-lines.jsonl");
    const d = await migrateDryRun(f);
    expect(d).toMatchObject({ wouldSucceed: false, refusal: { code: "E_INVALID_LINES" } });
    expect(d.invalidLines.map((l) => [l.line, l.reason])).toEqual([
      [3, "bad_json"],
      [4, "not_object"],
      [6, "missing_field"],
      [7, "missing_field"],
      [8, "invalid_utf8"],
      [9, "invalid_field"],
    ]);
    await expect(migrateJsonlToV2(f)).rejects.toMatchObject({ code: d.refusal?.code });
  });

  it("a version 2 file with upgrade false: refused with E_UNSUPPORTED_VERSION", async () => {
    const f = copyFixture(temp(), "v2-hook-message.jsonl");
    const d = await migrateDryRun(f, { upgrade: false });
    expect(d.refusal?.code).toBe("E_UNSUPPORTED_VERSION");
    await expect(migrateJsonlToV2(f, { upgrade: false })).rejects.toMatchObject({ code: "E_UNSUPPORTED_VERSION" });
  });

  it("a stale sidecar holding an entry the JSONL lost: refused with E_SIDECAR_STALE", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    await migrateJsonlToV2(f);
    writeLines(f, [HEADER, ...chain(2)]);
    const d = await migrateDryRun(f);
    expect(d).toMatchObject({ action: "rebuild", wouldSucceed: false, refusal: { code: "E_SIDECAR_STALE" } });
    await expect(migrateJsonlToV2(f)).rejects.toMatchObject({ code: "E_SIDECAR_STALE" });
  });

  it("a partial file: refused with E_MIGRATION_PARTIAL (recover first)", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    await expect(migrateJsonlToV2(f, { failAt: "completed" })).rejects.toThrow();
    const d = await migrateDryRun(f);
    expect(d).toMatchObject({ action: "recover", wouldSucceed: false, refusal: { code: "E_MIGRATION_PARTIAL" } });
  });
});

describe("14.3 a dry run reports every diagnostic and writes nothing", () => {
  it("lists skipped lines, orphans, duplicates and cycles with their line numbers", async () => {
    const d = temp();
    const r = await migrateDryRun(copyFixture(d, "cycles.jsonl"));
    expect(r.diagnostics.filter((x) => x.code === "cycle").map((x) => x.line)).toEqual([4, 6]);
    const o = await migrateDryRun(copyFixture(d, "orphans.jsonl"));
    expect(o.diagnostics.find((x) => x.code === "orphaned_parent")).toMatchObject({ line: 4, entryId: "0f000003", missingParentId: "ffffffff" });
    const u = await migrateDryRun(copyFixture(d, "duplicate-ids.jsonl"));
    expect(u.diagnosticCounts).toEqual({ duplicate_id: 1 });
    const t = await migrateDryRun(copyFixture(d, "truncated-tail.jsonl"));
    expect(t.tornTailLine).toBe(4);
    expect(t.invalidLines).toEqual([]);
  });

  it("leaves the whole tree (bytes and mtimes) as it was, also for files it would upgrade", async () => {
    const root = temp();
    const files = generateArchive(root, 42, 5);
    await migrateJsonlToV2(files[0]!.file);
    appendEntry(files[0]!.file, msg("x", null));
    const before = snapshotTree(root);
    for (const { file } of files) await migrateDryRun(file, { skipInvalid: true });
    expect(snapshotTree(root)).toEqual(before);
  });

  it("estimates a time for work to do", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(50)]);
    const d = await migrateDryRun(f);
    expect(d.estimatedMs).toBeGreaterThan(0);
  });
});
