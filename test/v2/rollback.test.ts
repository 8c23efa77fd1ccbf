/**
 * SPEC 11.7 (checkpoints) and 11.16 (rollback to a checkpoint).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  appendMigrationEvent,
  checkLedgerEvent,
  createCheckpoint,
  createV2SidecarFromJsonl,
  listCheckpoints,
  readMigrationEvents,
  readManifest,
  rollbackToCheckpoint,
  sidecarInfo,
  syncSidecar,
  validateSidecar,
} from "../../src/index.js";
import { HEADER, linear, msg, rejectsWith, Scratch, writeSession, fileHashes } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

async function grow(file: string, from: number, to: number): Promise<void> {
  const lines: string[] = [];
  for (let i = from; i <= to; i++) lines.push(JSON.stringify(msg(`e${i}`, `e${i - 1}`)));
  appendFileSync(file, `${lines.join("\n")}\n`);
  await syncSidecar(file, { segmentBytes: 900 });
}

describe("11.7 Checkpoints", () => {
  it("record the head and the chain recomputed from the payloads, numbered from 1, immutable", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const r = await createV2SidecarFromJsonl(file);
    const c1 = await createCheckpoint(file);
    expect(c1).toMatchObject({ checkpointSeq: 1, headEntrySeq: 3, headEntryId: "e3", chainHash: r.chainHash, reason: "manual", snapshotRef: "checkpoints/0000000000000001.json", compactedBeforeEntrySeq: 0 });
    const text = readFileSync(join(r.root, "checkpoints/0000000000000001.json"), "utf8");
    await rejectsWith(createCheckpoint(file, { checkpointSeq: 1 }), "E_EXISTS");
    expect(readFileSync(join(r.root, "checkpoints/0000000000000001.json"), "utf8")).toBe(text);
    await grow(file, 4, 5);
    const c2 = await createCheckpoint(file, { reason: "periodic" });
    expect(c2).toMatchObject({ checkpointSeq: 2, headEntrySeq: 5 });
    expect((await listCheckpoints(file)).checkpoints.map((c) => c.checkpointSeq)).toEqual([1, 2]);
    expect((await validateSidecar(file)).ok).toBe(true);
  });

  it("refuse a reason outside the Rust port's list, an empty store, a damaged store, and a checkpoint that would go backwards", async () => {
    const dir = scratch.sub();
    const empty = writeSession(dir, [HEADER], "empty.jsonl");
    await createV2SidecarFromJsonl(empty);
    await rejectsWith(createCheckpoint(empty), "E_INVALID_ARGUMENT");
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    await createV2SidecarFromJsonl(file);
    await rejectsWith(createCheckpoint(file, { reason: "whenever" as "manual" }), "E_INVALID_ARGUMENT");
    await createCheckpoint(file, { checkpointSeq: 5 });
    await grow(file, 4, 4);
    const err = await rejectsWith(createCheckpoint(file, { checkpointSeq: 2 }), "E_INVALID_ARGUMENT");
    expect(err.message).toMatch(/ahead of the later checkpoint 5/);
    const seg = join(dir, "s.v2/segments/0000000000000001.seg");
    const b = readFileSync(seg);
    b[b.indexOf("text")] = 0x54;
    writeFileSync(seg, b);
    await rejectsWith(createCheckpoint(file), "E_SIDECAR_CORRUPT");
  });
});

describe("11.16 Rollback to a checkpoint", () => {
  it("cuts the store back to the checkpoint, moves later segments and checkpoints aside, verifies, and records the event", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const created = await createV2SidecarFromJsonl(file, { segmentBytes: 900 });
    const c1 = await createCheckpoint(file);
    await grow(file, 4, 9);
    await createCheckpoint(file);
    const rep = await rollbackToCheckpoint(file, 1, { migrationId: "00000000-0000-4000-8000-00000000abcd", correlationId: "test-rollback-1" });
    expect(rep).toMatchObject({ entriesBefore: 9, entriesAfter: 3, verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true }, fingerprint: "rewritten" });
    expect(rep.quarantined).toEqual(expect.arrayContaining(["checkpoints/0000000000000002.json.bak"]));
    expect(rep.quarantined.some((q) => /^segments\/\d{16}\.seg\.bak$/.test(q))).toBe(true);
    for (const q of rep.quarantined) expect(existsSync(join(created.root, q))).toBe(true);
    expect(rep.event).toMatchObject({ phase: "rollback", outcome: "ok", sourcePath: "checkpoints/0000000000000001.json", sourceFormat: "native_v2", targetFormat: "native_v2", migrationId: "00000000-0000-4000-8000-00000000abcd", correlationId: "test-rollback-1" });
    expect(checkLedgerEvent(rep.event).ok).toBe(true);
    expect((await readMigrationEvents(file)).events).toEqual([rep.event]);
    const m = await readManifest(created.root);
    expect(m.state === "ok" && [m.manifest.counters.entriesTotal, m.manifest.integrity.chainHash]).toEqual([3, c1.chainHash]);
    const v = await validateSidecar(file);
    expect(v.ok).toBe(true);
    expect(v.chainHash).toBe(c1.chainHash);
    // The JSONL still has 9 entries: the sidecar is behind, and a sync brings it back.
    expect((await sidecarInfo(file)).freshness.state).toBe("behind");
    expect(await syncSidecar(file, { segmentBytes: 900 })).toMatchObject({ action: "appended", appended: 6, entries: 9 });
    expect((await validateSidecar(file)).ok).toBe(true);
  });

  it("refuses before changing anything when the retained frames do not verify, and records nothing", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(4)]);
    const r = await createV2SidecarFromJsonl(file, { segmentBytes: 900 });
    await createCheckpoint(file);
    await grow(file, 5, 6);
    const seg = join(r.root, "segments/0000000000000001.seg");
    const b = readFileSync(seg);
    b[b.indexOf("text")] = 0x54;
    writeFileSync(seg, b);
    const before = fileHashes(r.root);
    const err = await rejectsWith(rollbackToCheckpoint(file, 1), "E_SIDECAR_CORRUPT");
    expect(err.message).toMatch(/refused before any change: segments\/0000000000000001\.seg:byte \d+ \(entrySeq 1\): \[frame_crc_mismatch\]/);
    expect(fileHashes(r.root)).toEqual(before);
    expect((await readMigrationEvents(file)).events).toEqual([]);
  });

  it("refuses a checkpoint whose chain is not the stored frames' chain, and an unknown checkpoint", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const r = await createV2SidecarFromJsonl(file);
    await createCheckpoint(file);
    const cp = join(r.root, "checkpoints/0000000000000001.json");
    writeFileSync(cp, readFileSync(cp, "utf8").replace(/"chainHash": "[0-9a-f]{64}"/, `"chainHash": "${"f".repeat(64)}"`));
    const err = await rejectsWith(rollbackToCheckpoint(file, 1), "E_SIDECAR_CORRUPT");
    expect((err.data as { problems: { code: string }[] }).problems.map((p) => p.code)).toEqual(["chain_mismatch"]);
    await rejectsWith(rollbackToCheckpoint(file, 7), "E_CHECKPOINT_NOT_FOUND");
  });
});

describe("11.8 Migration ledger (file)", () => {
  const event = {
    schema: "pi.session_store_v2.migration_event.v1",
    migrationId: "00000000-0000-4000-8000-000000000001",
    phase: "completed" as const,
    at: "2025-01-01T00:00:00.000Z",
    sourcePath: "s.jsonl",
    targetPath: "s.v2",
    sourceFormat: "jsonl_v3" as const,
    targetFormat: "native_v2" as const,
    verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true },
    outcome: "ok" as const,
    correlationId: "ledger-test-1",
  };

  it("appends valid events durably and reads them back; refuses events outside the contract and damaged ledgers without writing", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(2)]);
    const r = await createV2SidecarFromJsonl(file);
    await appendMigrationEvent(file, event);
    await appendMigrationEvent(file, { ...event, phase: "failed", outcome: "fatal_error", errorClass: "io_failure" });
    expect((await readMigrationEvents(file)).events.map((e) => e.phase)).toEqual(["completed", "failed"]);
    const ledger = join(r.root, "migrations/ledger.jsonl");
    const before = readFileSync(ledger);
    await rejectsWith(appendMigrationEvent(file, { ...event, phase: "copying" as "completed" }), "E_INVALID_ARGUMENT");
    writeFileSync(ledger, Buffer.concat([before, Buffer.from('{"half an event')]));
    const damaged = readFileSync(ledger);
    await rejectsWith(appendMigrationEvent(file, event), "E_SIDECAR_CORRUPT");
    expect(readFileSync(ledger).equals(damaged)).toBe(true);
    expect((await readMigrationEvents(file)).problems.map((p) => p.code)).toEqual(["ledger_invalid"]);
  });
});
