import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, migrateJsonlToV2, migrationStatus, readHistory, readMigrationEvents, rollbackV2Sidecar } from "../../src/index.js";
import { chain, HEADER, sha256File, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();
const history = (f: string) => f.replace(/\.jsonl$/, ".v2.history.ndjson");

describe("14.5 rollback removes the sidecar and never touches the JSONL", () => {
  it("removes the root; the JSONL's bytes and mtime are unchanged; status is unmigrated", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(7)]);
    await migrateJsonlToV2(f);
    const sha = sha256File(f);
    const r = await rollbackV2Sidecar(f);
    expect(r).toMatchObject({ removed: true, before: "migrated", after: "unmigrated", sidecar: { entries: 7 } });
    expect(sha256File(f)).toBe(sha);
    expect(readdirSync(d).sort()).toEqual(["s.jsonl", "s.v2.history.ndjson"]);
    expect((await migrationStatus(f)).state).toBe("unmigrated");
  });

  it("a file without a sidecar: nothing to do, nothing written", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(2)]);
    expect(await rollbackV2Sidecar(f)).toMatchObject({ removed: false });
    expect(readdirSync(d)).toEqual(["s.jsonl"]);
  });

  it("also removes the leftovers of interrupted migrations", async () => {
    const d = temp();
    const f = writeLines(join(d, "s.jsonl"), [HEADER, ...chain(2)]);
    await createV2SidecarFromJsonl(f, { root: join(d, "s.v2.staging-0123") });
    const r = await rollbackV2Sidecar(f);
    expect(r.leftoversRemoved).toEqual([join(d, "s.v2.staging-0123")]);
    expect(readdirSync(d).sort()).toEqual(["s.jsonl", "s.v2.history.ndjson"]);
  });
});

describe("14.5 rollback leaves a durable record that keeps the sidecar's ledger", () => {
  it("appends one history record: the removed sidecar's ledger, then a rollback event", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    await migrateJsonlToV2(f);
    const ledger = (await readMigrationEvents(f)).events;
    const r = await rollbackV2Sidecar(f);
    const h = await readHistory(history(f));
    expect(h.problems).toEqual([]);
    expect(h.records).toHaveLength(1);
    const rec = h.records[0]!;
    expect(rec).toMatchObject({ action: "rollback", migrationId: r.rollbackId, outcome: "ok", sidecar: { entries: 3 } });
    expect(rec.ledger.slice(0, -1)).toEqual(ledger);
    expect(rec.ledger.at(-1)).toMatchObject({ phase: "rollback", migrationId: r.rollbackId, outcome: "ok" });
  });

  it("migrate, rollback, migrate, rollback: the history accumulates, one record per rollback", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    for (let i = 0; i < 2; i++) {
      await migrateJsonlToV2(f);
      await rollbackV2Sidecar(f);
    }
    expect((await readHistory(history(f))).records.map((r) => r.action)).toEqual(["rollback", "rollback"]);
  });

  it("a torn last history line (a crash mid-append) is not glued to: the next record starts on its own line", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(3)]);
    writeFileSync(history(f), '{"schema":"sessfmt.migration_history.v1","at":');
    await migrateJsonlToV2(f);
    await rollbackV2Sidecar(f);
    const h = await readHistory(history(f));
    expect(h.records.map((r) => r.action)).toEqual(["rollback"]);
    expect(h.problems).toHaveLength(1);
    expect(existsSync(f.replace(/\.jsonl$/, ".v2"))).toBe(false);
  });
});
