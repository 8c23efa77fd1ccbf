import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  createCheckpoint,
  migrateJsonlToV2,
  migrationStatus,
  openSessionSync,
  readHistory,
  readMigrationEvents,
  readQuarantine,
  sidecarInfo,
  verifyV2AgainstJsonl,
  type MigrationPhase,
} from "../../src/index.js";
import { appendEntry, chain, copyFixture, HEADER, msg, sha256File, snapshotTree, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();
const root = (f: string) => f.replace(/\.jsonl$/, ".v2");
const history = (f: string) => f.replace(/\.jsonl$/, ".v2.history.ndjson");
const STAGED: MigrationPhase[] = ["planned", "staging_copy", "integrity_check", "cutover_commit"];

describe("14.2 a new sidecar is staged, verified and renamed into place", () => {
  it("records planned, staging_copy, integrity_check, cutover_commit, completed under one migration id", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(20)]);
    const before = sha256File(f);
    const r = await migrateJsonlToV2(f, { segmentBytes: 2048 });
    expect(r).toMatchObject({ action: "created", before: "unmigrated", after: "migrated", entries: 20, entriesAdded: 20 });
    expect(r.phases).toEqual([...STAGED, "completed"]);
    const { events } = await readMigrationEvents(f);
    expect(events.map((e) => e.phase)).toEqual(r.phases);
    expect(new Set(events.map((e) => e.migrationId))).toEqual(new Set([r.migrationId]));
    expect(events.find((e) => e.phase === "integrity_check")?.verification).toEqual({ entryCountMatch: true, hashChainMatch: true, indexConsistent: true });
    expect(sha256File(f)).toBe(before);
    expect(readdirSync(join(f, "..")).sort()).toEqual(["s.jsonl", "s.v2"]);
  });

  it("reports what the sidecar holds: entries, segments, bytes and chain", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(30)]);
    const r = await migrateJsonlToV2(f, { segmentBytes: 2048 });
    const info = await sidecarInfo(f);
    expect(r.segments).toBe(info.segments.length);
    expect(r.segments).toBeGreaterThan(1);
    expect(r.bytes).toBe(info.bytes);
    expect(r.chainHash).toBe(info.chain.manifest);
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });

  it("migrates a header-only session to an empty sidecar", async () => {
    const f = copyFixture(temp(), "header-only.jsonl");
    const r = await migrateJsonlToV2(f);
    expect(r).toMatchObject({ action: "created", entries: 0, segments: 0 });
    expect((await migrationStatus(f)).state).toBe("migrated");
  });

  it("two migrations of one file at once: one creates, the other finds it migrated", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(10)]);
    const rs = await Promise.all([migrateJsonlToV2(f), migrateJsonlToV2(f)]);
    expect(rs.map((r) => r.action).sort()).toEqual(["created", "none"]);
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });
});

describe("14.2 invalid lines stop the migration unless skipInvalid; then the quarantine keeps them", () => {
  it("refuses a file with invalid lines, naming them, and writes nothing", async () => {
    const d = temp();
    const f = copyFixture(d, "corrupt-lines.jsonl");
    const before = snapshotTree(d);
    const err = await migrateJsonlToV2(f).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_INVALID_LINES", file: f, line: 3 });
    expect((err as Error).message).toMatch(/line 3 \(bad_json\), line 4 \(not_object\)/);
    expect(snapshotTree(d)).toEqual(before);
  });

  it("with skipInvalid the quarantine holds every invalid line's exact bytes, line number and offset", async () => {
    const f = copyFixture(temp(), "corrupt-lines.jsonl");
    const r = await migrateJsonlToV2(f, { skipInvalid: true });
    const s = openSessionSync(f);
    expect(r.quarantined.map((l) => l.line)).toEqual(s.diagnostics.skippedEntries.map((x) => x.line));
    const q = await readQuarantine(root(f));
    const bytes = readFileSync(f);
    expect(q.records).toHaveLength(6);
    for (const rec of q.records) {
      const original = bytes.subarray(rec.offset, rec.offset + rec.length);
      expect(Buffer.from(rec.base64, "base64").equals(original)).toBe(true);
      expect(bytes.subarray(0, rec.offset).toString("latin1").split("\n").length).toBe(rec.line);
    }
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });

  it("sidecar frames plus quarantine account for every non-blank line after the header", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, msg("a", null), "{oops", Buffer.from([0xc3, 0x28]), msg("b", "a"), "", "[1]", msg("c", "b")]);
    await migrateJsonlToV2(f, { skipInvalid: true });
    const q = await readQuarantine(root(f));
    const s = openSessionSync(f);
    const fromSidecar = new Map<number, Buffer>();
    s.forEachRaw(s.records, (b, rec) => fromSidecar.set(rec.line, Buffer.from(b)));
    for (const rec of q.records) fromSidecar.set(rec.line, Buffer.from(rec.base64, "base64"));
    const lines = readFileSync(f).toString("latin1").split("\n").slice(1, -1);
    lines.forEach((l, i) => {
      if (l.trim() === "") return;
      expect(fromSidecar.get(i + 2)?.toString("latin1")).toBe(l);
    });
  });
});

describe("14.2 a migrated, fresh file is left alone", () => {
  it("changes no byte and no mtime on a second run", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(5)]);
    await migrateJsonlToV2(f);
    const before = snapshotTree(d);
    const r = await migrateJsonlToV2(f);
    expect(r).toMatchObject({ action: "none", before: "migrated", after: "migrated", entries: 5, entriesAdded: 0 });
    expect(snapshotTree(d)).toEqual(before);
  });
});

describe("14.2 a stale sidecar is synced", () => {
  it("frames only the appended entries, quarantines new invalid lines, records and verifies", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(5)]);
    await migrateJsonlToV2(f, { skipInvalid: true });
    appendEntry(f, msg("n1", "e5"));
    writeFileSync(f, "{broken\n", { flag: "a" });
    appendEntry(f, msg("n2", "n1"));
    const r = await migrateJsonlToV2(f, { skipInvalid: true });
    expect(r).toMatchObject({ action: "synced", before: "stale", after: "migrated", entries: 7, entriesAdded: 2 });
    expect(r.quarantined.map((l) => l.line)).toEqual([8]);
    expect(r.phases).toEqual(["planned", "staging_copy", "integrity_check", "completed"]);
    expect((await readQuarantine(root(f))).records.map((q) => q.line)).toEqual([8]);
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });

  it("stops at a new invalid line without skipInvalid and changes nothing", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(3)]);
    await migrateJsonlToV2(f);
    writeFileSync(f, "{broken\n", { flag: "a" });
    const before = snapshotTree(d);
    await expect(migrateJsonlToV2(f)).rejects.toMatchObject({ code: "E_INVALID_LINES", line: 5 });
    expect(snapshotTree(d)).toEqual(before);
  });
});

describe("14.2 a sidecar whose source changed is rebuilt only if the JSONL holds all it stored", () => {
  it("rebuilds when every stored entry is still in the JSONL, keeping the ledger and matching checkpoints", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(6)]);
    const first = await migrateJsonlToV2(f);
    await createCheckpoint(f, { reason: "manual" });
    // A line inserted after the 4th entry: the prefix changed, nothing was lost.
    const lines = readFileSync(f, "utf8").split("\n");
    lines.splice(5, 0, JSON.stringify(msg("ins", "e4")));
    writeFileSync(f, lines.join("\n"));
    expect((await migrationStatus(f)).action).toBe("rebuild");
    const r = await migrateJsonlToV2(f);
    expect(r).toMatchObject({ action: "rebuilt", entries: 7, after: "migrated" });
    expect(r.checkpoints).toEqual({ kept: [], dropped: [1] });
    const { events } = await readMigrationEvents(f);
    expect(events.filter((e) => e.migrationId === first.migrationId).map((e) => e.phase)).toEqual([...STAGED, "completed"]);
    expect(events.filter((e) => e.migrationId === r.migrationId).map((e) => e.phase)).toEqual([...STAGED, "completed"]);
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });

  it("keeps a checkpoint that still describes a prefix of the rebuilt store", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(6)]);
    await migrateJsonlToV2(f);
    await createCheckpoint(f, { reason: "manual" });
    writeFileSync(f, readFileSync(f, "utf8") + JSON.stringify(msg("x", "e6")) + "\n");
    // Same prefix plus a line: a changed header forces a rebuild, the checkpoint's head is unchanged.
    writeFileSync(f, readFileSync(f, "utf8").replace('"cwd":"/w"', '"cwd":"/w2"'));
    const r = await migrateJsonlToV2(f);
    expect(r.action).toBe("rebuilt");
    expect(r.checkpoints).toEqual({ kept: [1], dropped: [] });
  });

  it("refuses, changing nothing, when the sidecar holds an entry the JSONL lost", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(4)]);
    await migrateJsonlToV2(f);
    writeFileSync(f, readFileSync(f, "utf8").replace("message 3", "message three"));
    const before = snapshotTree(d);
    const err = await migrateJsonlToV2(f).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_SIDECAR_STALE" });
    expect((err as Error).message).toMatch(/entrySeq 3, id "e3"/);
    expect(snapshotTree(d)).toEqual(before);
  });
});

describe("14.2 version 1 and 2 files are upgraded first (backup kept) unless upgrade is false", () => {
  it("upgrades a v1 file atomically with a .bak holding the original bytes, then migrates it", async () => {
    const f = copyFixture(temp(), "v1-legacy.jsonl");
    const original = readFileSync(f);
    const r = await migrateJsonlToV2(f);
    expect(r.upgraded).toEqual({ fromVersion: 1, backupPath: `${f}.bak` });
    expect(readFileSync(`${f}.bak`).equals(original)).toBe(true);
    expect(openSessionSync(f).version).toBe(3);
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });

  it("with upgrade false refuses the file and writes nothing", async () => {
    const d = temp();
    const f = copyFixture(d, "v2-hook-message.jsonl");
    const before = snapshotTree(d);
    await expect(migrateJsonlToV2(f, { upgrade: false })).rejects.toMatchObject({ code: "E_UNSUPPORTED_VERSION" });
    expect(snapshotTree(d)).toEqual(before);
  });

  it("does not upgrade a file it would then refuse for invalid lines", async () => {
    const d = temp();
    const f = copyFixture(d, "v1-skipped-line.jsonl");
    const before = snapshotTree(d);
    await expect(migrateJsonlToV2(f)).rejects.toMatchObject({ code: "E_INVALID_LINES" });
    expect(snapshotTree(d)).toEqual(before);
  });
});

describe("14.2 a failure in any phase before the cutover leaves no sidecar and a durable record", () => {
  for (const phase of STAGED) {
    it(`failure before ${phase}: no sidecar, no staging, JSONL unchanged, failed event in the history file`, async () => {
      const d = temp();
      const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(8)]);
      const before = sha256File(f);
      const err = await migrateJsonlToV2(f, { failAt: phase }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "E_IO", data: { failedPhase: phase } });
      expect(readdirSync(d).sort()).toEqual(["s.jsonl", "s.v2.history.ndjson"]);
      expect(sha256File(f)).toBe(before);
      const h = await readHistory(history(f));
      expect(h.records).toHaveLength(1);
      const rec = h.records[0]!;
      expect(rec).toMatchObject({ action: "migration_failed", errorClass: "io_failure", outcome: "recoverable_error" });
      expect(rec.ledger.map((e) => e.phase)).toEqual([...STAGED.slice(0, STAGED.indexOf(phase)), "failed"]);
      expect((await migrationStatus(f)).state).toBe("unmigrated");
    });
  }

  it("failure after the cutover (before completed): the verified sidecar stays, status is partial", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(4)]);
    await expect(migrateJsonlToV2(f, { failAt: "completed" })).rejects.toMatchObject({ data: { failedPhase: "completed" } });
    expect((await migrationStatus(f)).state).toBe("partial");
    expect((await verifyV2AgainstJsonl(f)).ok).toBe(true);
  });

  it("a failed rebuild leaves the old sidecar in place and records the attempt in its ledger", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(4)]);
    await migrateJsonlToV2(f);
    writeFileSync(f, readFileSync(f, "utf8").replace('"cwd":"/w"', '"cwd":"/x"'));
    const segBefore = sha256File(join(root(f), "segments", "0000000000000001.seg"));
    await expect(migrateJsonlToV2(f, { failAt: "cutover_commit" })).rejects.toThrow(/injected/);
    expect(sha256File(join(root(f), "segments", "0000000000000001.seg"))).toBe(segBefore);
    const { events } = await readMigrationEvents(f);
    expect(events.at(-1)).toMatchObject({ phase: "failed", outcome: "recoverable_error" });
    expect((await migrationStatus(f)).state).toBe("stale");
  });

  it("a sync that fails before it writes is recoverable; after it wrote, the sidecar is corrupt until recovered", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(4)]);
    await migrateJsonlToV2(f);
    appendEntry(f, msg("n", "e4"));
    await expect(migrateJsonlToV2(f, { failAt: "staging_copy" })).rejects.toThrow(/injected/);
    expect((await migrationStatus(f)).state).toBe("stale");
    await expect(migrateJsonlToV2(f, { failAt: "integrity_check" })).rejects.toThrow(/injected/);
    const s = await migrationStatus(f);
    expect(s.state).toBe("corrupt");
    expect(s.lastMigration).toMatchObject({ phase: "failed", outcome: "fatal_error" });
  });
});

describe("14.2 an abort abandons the file cleanly", () => {
  it("aborted before it starts: E_ABORTED and nothing on disk", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(4)]);
    const ac = new AbortController();
    ac.abort();
    await expect(migrateJsonlToV2(f, { signal: ac.signal })).rejects.toMatchObject({ code: "E_ABORTED" });
    expect(readdirSync(d)).toEqual(["s.jsonl"]);
  });

  it("aborted during the staging copy: the staging directory is removed, no sidecar", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(1500)]);
    const ac = new AbortController();
    const err = await migrateJsonlToV2(f, {
      signal: ac.signal,
      onProgress: (done) => {
        if (done > 200) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "E_ABORTED" });
    expect(readdirSync(d).filter((n) => n !== "s.v2.history.ndjson")).toEqual(["s.jsonl"]);
    expect(existsSync(root(f))).toBe(false);
  });
});

describe("14.2 partial and corrupt files are refused", () => {
  it("refuses a partial file with E_MIGRATION_PARTIAL pointing at recover", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    await expect(migrateJsonlToV2(f, { failAt: "completed" })).rejects.toThrow();
    await expect(migrateJsonlToV2(f)).rejects.toMatchObject({ code: "E_MIGRATION_PARTIAL", message: expect.stringMatching(/sessfmt recover/) });
  });
});
