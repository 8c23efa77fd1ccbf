/**
 * SPEC 11.2, 11.4, 11.6, 11.7, 11.8: the record codecs, their schema ids, key order, and
 * that decoding what was encoded gives it back.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CHECKPOINT_SCHEMA,
  decodeCheckpoint,
  decodeFrame,
  decodeFrameHead,
  decodeIndexRow,
  decodeLedgerEvent,
  decodeManifest,
  encodeCheckpoint,
  encodeFrame,
  encodeIndexRow,
  encodeLedgerEvent,
  encodeManifest,
  GENESIS_CHAIN_HASH,
  MANIFEST_SCHEMA,
  makeCheckpoint,
  makeIndexRow,
  manifestHash,
  MIGRATION_EVENT_SCHEMA,
  OFFSET_INDEX_SCHEMA,
  payloadSha256,
  SEGMENT_FRAME_SCHEMA,
  type Manifest,
  type MigrationEvent,
} from "../../src/index.js";
import { createHash } from "node:crypto";

const id = fc.oneof(fc.stringMatching(/^[0-9a-f]{8}$/), fc.string({ minLength: 1, maxLength: 12 }));
const seq = fc.integer({ min: 1, max: 2 ** 40 });
const entryJson = fc.record({ type: fc.constantFrom("message", "label", "mode_change"), id, text: fc.string({ maxLength: 30 }) }).map((o) => Buffer.from(JSON.stringify(o)));

function keys(line: Buffer | string): string[] {
  return Object.keys(JSON.parse(line.toString()));
}

describe("11.2 Segment frames", () => {
  it("a frame is one line with the Rust port's keys in its order; parentEntryId is omitted for a root", () => {
    const payload = Buffer.from('{"type":"message","id":"a","parentId":null}');
    const root = encodeFrame({ segmentSeq: 1, frameSeq: 1, entrySeq: 1, entryId: "a", parentEntryId: null, entryType: "message", timestamp: "2025-01-01T00:00:00.000Z" }, payload);
    expect(root[root.length - 1]).toBe(0x0a);
    expect(root.subarray(0, -1).includes(0x0a)).toBe(false);
    expect(keys(root)).toEqual(["schema", "segmentSeq", "frameSeq", "entrySeq", "entryId", "entryType", "timestamp", "payloadSha256", "payloadBytes", "payload"]);
    const child = encodeFrame({ segmentSeq: 1, frameSeq: 2, entrySeq: 2, entryId: "b", parentEntryId: "a", entryType: "message", timestamp: "2025-01-01T00:00:00.000Z" }, payload);
    expect(keys(child)).toEqual(["schema", "segmentSeq", "frameSeq", "entrySeq", "entryId", "parentEntryId", "entryType", "timestamp", "payloadSha256", "payloadBytes", "payload"]);
    expect(JSON.parse(child.toString()).schema).toBe(SEGMENT_FRAME_SCHEMA);
    expect(SEGMENT_FRAME_SCHEMA).toBe("pi.session_store_v2.segment_frame.v1");
  });

  it("the payload is embedded verbatim: the frame holds the exact line bytes, and its hash and size are theirs", () => {
    fc.assert(
      fc.property(entryJson, seq, seq, seq, id, fc.option(id, { nil: null }), (payload, s, f, e, eid, pid) => {
        const line = encodeFrame({ segmentSeq: s, frameSeq: f, entrySeq: e, entryId: eid, parentEntryId: pid, entryType: "message", timestamp: "2025-01-01T00:00:00.000Z" }, payload);
        expect(line.includes(payload)).toBe(true);
        const d = decodeFrame(line.subarray(0, -1));
        expect(d.ok).toBe(true);
        if (!d.ok) return;
        expect(d.value.payload.equals(payload)).toBe(true);
        expect(d.value.payloadSha256).toBe(payloadSha256(payload));
        expect(d.value.payloadBytes).toBe(payload.length);
        expect([d.value.segmentSeq, d.value.frameSeq, d.value.entrySeq, d.value.entryId, d.value.parentEntryId ?? null]).toEqual([s, f, e, eid, pid]);
        // The whole line is ordinary JSON whose payload is the entry object.
        expect(JSON.parse(line.toString()).payload).toEqual(JSON.parse(payload.toString()));
      }),
      { numRuns: 200 },
    );
  });

  it("the fixed fields decode from the bytes before the payload alone", () => {
    const payload = Buffer.from(`{"type":"message","id":"x","text":"${"y".repeat(5000)}"}`);
    const line = encodeFrame({ segmentSeq: 3, frameSeq: 4, entrySeq: 9, entryId: "x", parentEntryId: "w", entryType: "message", timestamp: "2025-01-01T00:00:00.000Z" }, payload);
    const head = decodeFrameHead(line.subarray(0, 400));
    expect(head.ok && head.value.entrySeq).toBe(9);
    expect(head.ok && head.value.parentEntryId).toBe("w");
    expect(decodeFrameHead(line.subarray(0, 50))).toMatchObject({ ok: false, needMore: true });
  });

  it("frames with unknown fields, a wrong schema or ill-typed fields do not decode", () => {
    const good = JSON.parse(encodeFrame({ segmentSeq: 1, frameSeq: 1, entrySeq: 1, entryId: "a", entryType: "message", timestamp: "t" }, Buffer.from("{}")).toString());
    const variants = [{ ...good, extra: 1 }, { ...good, schema: "pi.session_store_v2.segment_frame.v2" }, { ...good, entrySeq: 0 }, { ...good, payloadSha256: "ABC" }, { ...good, entryId: "" }];
    for (const v of variants) expect(decodeFrame(Buffer.from(JSON.stringify(v))).ok).toBe(false);
    expect(decodeFrame(Buffer.from("not json")).ok).toBe(false);
  });
});

describe("11.4 Offset index", () => {
  it("rows have the Rust port's keys in order and decode to what was encoded", () => {
    fc.assert(
      fc.property(seq, id, seq, seq, fc.nat(), fc.integer({ min: 1, max: 2 ** 30 }), fc.stringMatching(/^[0-9A-F]{8}$/), (e, eid, s, f, off, len, crc) => {
        const row = makeIndexRow({ entrySeq: e, entryId: eid, segmentSeq: s, frameSeq: f, byteOffset: off, byteLength: len, crc32c: crc });
        const line = encodeIndexRow(row);
        expect(line.endsWith("\n")).toBe(true);
        expect(keys(line)).toEqual(["schema", "entrySeq", "entryId", "segmentSeq", "frameSeq", "byteOffset", "byteLength", "crc32c", "state"]);
        const d = decodeIndexRow(line.slice(0, -1));
        expect(d.ok && d.value).toEqual(row);
      }),
    );
    expect(OFFSET_INDEX_SCHEMA).toBe("pi.session_store_v2.offset_index.v1");
  });

  it("garbage rows do not decode", () => {
    const row = JSON.parse(encodeIndexRow(makeIndexRow({ entrySeq: 1, entryId: "a", segmentSeq: 1, frameSeq: 1, byteOffset: 0, byteLength: 10, crc32c: "00000000" })));
    for (const bad of [{ ...row, crc32c: "abcdef12" }, { ...row, state: "deleted" }, { ...row, byteLength: 0 }, { ...row, byteOffset: -1 }, { ...row, more: true }, [row], "x"]) {
      expect(decodeIndexRow(JSON.stringify(bad)).ok).toBe(false);
    }
  });
});

const manifestArb: fc.Arbitrary<Manifest> = fc.record({
  schema: fc.constant(MANIFEST_SCHEMA),
  storeVersion: fc.constant(2),
  sessionId: fc.uuid(),
  sourceFormat: fc.constantFrom("jsonl_v3", "native_v2", "sqlite_v1"),
  createdAt: fc.constant("2025-01-01T00:00:00.000Z"),
  updatedAt: fc.constant("2025-01-02T00:00:00.000Z"),
  head: fc.record({ segmentSeq: fc.nat(), entrySeq: fc.nat(), entryId: fc.string() }),
  counters: fc.record({ entriesTotal: fc.nat(), messagesTotal: fc.nat(), branchesTotal: fc.nat(), compactionsTotal: fc.nat(), bytesTotal: fc.nat() }),
  files: fc.record({ segmentDir: fc.constant("segments/"), segmentCount: fc.nat(), indexPath: fc.constant("index/offsets.jsonl"), checkpointDir: fc.constant("checkpoints/"), migrationLedgerPath: fc.constant("migrations/ledger.jsonl") }),
  integrity: fc.record({ chainHash: fc.stringMatching(/^[0-9a-f]{64}$/), manifestHash: fc.constant(""), lastCrc32c: fc.stringMatching(/^[0-9A-F]{8}$/) }),
  invariants: fc.record({
    parentLinksClosed: fc.boolean(),
    monotonicEntrySeq: fc.boolean(),
    monotonicSegmentSeq: fc.boolean(),
    indexWithinSegmentBounds: fc.boolean(),
    branchHeadsIndexed: fc.boolean(),
    checkpointsMonotonic: fc.boolean(),
    hashChainValid: fc.boolean(),
  }),
});

describe("11.6 Manifest", () => {
  it("is pretty-printed with keys in the Rust port's order, and manifestHash is SHA-256 of the compact form with an empty manifestHash", () => {
    fc.assert(
      fc.property(manifestArb, (m) => {
        const text = encodeManifest(m);
        expect(text.startsWith('{\n  "schema": "pi.session_store_v2.manifest.v1",\n  "storeVersion": 2,')).toBe(true);
        const o = JSON.parse(text);
        expect(Object.keys(o)).toEqual(["schema", "storeVersion", "sessionId", "sourceFormat", "createdAt", "updatedAt", "head", "counters", "files", "integrity", "invariants"]);
        expect(Object.keys(o.invariants)).toEqual(["parentLinksClosed", "monotonicEntrySeq", "monotonicSegmentSeq", "indexWithinSegmentBounds", "branchHeadsIndexed", "checkpointsMonotonic", "hashChainValid"]);
        const compact = JSON.stringify({ ...o, integrity: { ...o.integrity, manifestHash: "" } });
        expect(o.integrity.manifestHash).toBe(createHash("sha256").update(compact).digest("hex"));
        expect(manifestHash(o)).toBe(o.integrity.manifestHash);
        const d = decodeManifest(text);
        expect(d.ok && d.value).toEqual({ ...m, integrity: { ...m.integrity, manifestHash: o.integrity.manifestHash } });
      }),
      { numRuns: 50 },
    );
  });

  it("a manifest edited without recomputing its hash does not decode", () => {
    const text = encodeManifest(fc.sample(manifestArb, 1)[0] as Manifest);
    const edited = text.replace('"storeVersion": 2', '"storeVersion": 2 ').replace(/"entriesTotal": \d+/, '"entriesTotal": 999999');
    const d = decodeManifest(edited);
    expect(d.ok).toBe(false);
    expect(!d.ok && d.message).toMatch(/hash mismatch/);
  });
});

describe("11.7 Checkpoints (record)", () => {
  it("a checkpoint is pretty JSON with the Rust port's keys, snapshotRef naming its own file", () => {
    fc.assert(
      fc.property(seq, seq, id, fc.stringMatching(/^[0-9a-f]{64}$/), fc.constantFrom("periodic", "manual", "pre_migration", "post_migration", "recovery"), (cs, hs, hid, chain, reason) => {
        const c = makeCheckpoint({ checkpointSeq: cs, at: "2025-01-01T00:00:00.000Z", headEntrySeq: hs, headEntryId: hid, chainHash: chain, reason });
        const text = encodeCheckpoint(c);
        expect(Object.keys(JSON.parse(text))).toEqual(["schema", "checkpointSeq", "at", "headEntrySeq", "headEntryId", "snapshotRef", "compactedBeforeEntrySeq", "chainHash", "reason"]);
        expect(c.snapshotRef).toBe(`checkpoints/${String(cs).padStart(16, "0")}.json`);
        expect(decodeCheckpoint(text, cs)).toEqual({ ok: true, value: c });
        expect(decodeCheckpoint(text, cs + 1).ok).toBe(false);
      }),
      { numRuns: 50 },
    );
    expect(CHECKPOINT_SCHEMA).toBe("pi.session_store_v2.checkpoint.v1");
  });

  it("reasons outside the Rust port's list, and non-canonical snapshotRefs, do not decode", () => {
    const c = makeCheckpoint({ checkpointSeq: 1, at: "2025-01-01T00:00:00.000Z", headEntrySeq: 1, headEntryId: "a", chainHash: GENESIS_CHAIN_HASH, reason: "manual" });
    expect(decodeCheckpoint(JSON.stringify({ ...c, reason: "operator_note" }), 1).ok).toBe(false);
    expect(decodeCheckpoint(JSON.stringify({ ...c, snapshotRef: "checkpoints/../0000000000000001.json" }), 1).ok).toBe(false);
  });
});

describe("11.8 Migration ledger", () => {
  const event: MigrationEvent = {
    schema: MIGRATION_EVENT_SCHEMA,
    migrationId: "00000000-0000-4000-8000-000000000001",
    phase: "completed",
    at: "2025-01-01T00:00:00.000Z",
    sourcePath: "a.jsonl",
    targetPath: "a.v2",
    sourceFormat: "jsonl_v3",
    targetFormat: "native_v2",
    verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true },
    outcome: "ok",
    correlationId: "corr-0001",
  };

  it("events are one compact line with the Rust port's keys; errorClass only when there is one", () => {
    const line = encodeLedgerEvent(event);
    expect(keys(line)).toEqual(["schema", "migrationId", "phase", "at", "sourcePath", "targetPath", "sourceFormat", "targetFormat", "verification", "outcome", "correlationId"]);
    const failed = encodeLedgerEvent({ ...event, outcome: "fatal_error", errorClass: "io_failure" });
    expect(keys(failed)).toEqual(["schema", "migrationId", "phase", "at", "sourcePath", "targetPath", "sourceFormat", "targetFormat", "verification", "outcome", "errorClass", "correlationId"]);
    expect(decodeLedgerEvent(line.trim())).toEqual({ ok: true, value: event });
  });

  it("events outside the contract are refused (phase, formats, outcome, errorClass, UUID, correlation id)", () => {
    const bad: Partial<Record<keyof MigrationEvent, unknown>>[] = [
      { phase: "copying" },
      { sourceFormat: "pickle_v1" },
      { outcome: "maybe" },
      { errorClass: "unknown_failure" },
      { migrationId: "not-a-uuid" },
      { correlationId: "short" },
      { correlationId: "unsafe/path1" },
      { at: "yesterday" },
      { targetPath: "" },
    ];
    for (const b of bad) expect(decodeLedgerEvent(JSON.stringify({ ...event, ...b })).ok, JSON.stringify(b)).toBe(false);
  });
});
