import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MIGRATION_EVENT_SCHEMA, HISTORY_SCHEMA, QUARANTINE_SCHEMA } from "../../src/index.js";
import { decodeHistoryRecord, encodeHistoryRecord, type HistoryRecord } from "../../src/migrate/history.js";
import { classifyLeftover, isSidecarDirName } from "../../src/migrate/names.js";
import { decodeQuarantineRecord, encodeQuarantineRecord, sha256, type QuarantineRecord } from "../../src/migrate/quarantine.js";

const reason = fc.constantFrom("bad_json", "not_object", "missing_field", "invalid_field", "invalid_utf8", "line_too_long", "extra_header" as const);

describe("14.3 quarantine records round-trip any bytes", () => {
  it("encode/decode is the identity, and the stored bytes are checked against length and sha256", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.nat(), reason, fc.string(), fc.constantFrom("", "\n", "\r\n" as const), (bytes, line, offset, why, message, eol) => {
        const b = Buffer.from(bytes);
        const rec: QuarantineRecord = { schema: QUARANTINE_SCHEMA, line, offset, length: b.length, eol, reason: why, message, sha256: sha256(b), base64: b.toString("base64"), at: "2025-01-01T00:00:00.000Z" };
        const text = encodeQuarantineRecord(rec);
        expect(text.endsWith("\n")).toBe(true);
        expect(text.slice(0, -1).includes("\n")).toBe(false);
        const d = decodeQuarantineRecord(text.slice(0, -1));
        expect(d).toEqual({ ok: true, value: rec });
        expect(Buffer.from((d as { value: QuarantineRecord }).value.base64, "base64").equals(b)).toBe(true);
      }),
    );
  });

  it("a record whose bytes do not match its sha256 or length does not decode", () => {
    const b = Buffer.from("{oops");
    const rec: QuarantineRecord = { schema: QUARANTINE_SCHEMA, line: 3, offset: 10, length: 5, eol: "\n", reason: "bad_json", message: "", sha256: sha256(b), base64: b.toString("base64"), at: "x" };
    expect(decodeQuarantineRecord(encodeQuarantineRecord({ ...rec, sha256: "0".repeat(64) }).trim())).toMatchObject({ ok: false });
    expect(decodeQuarantineRecord(encodeQuarantineRecord({ ...rec, length: 4 }).trim())).toMatchObject({ ok: false });
  });
});

describe("14.5 history records round-trip and carry valid ledger events only", () => {
  const event = {
    schema: MIGRATION_EVENT_SCHEMA,
    migrationId: "0194aaaa-0000-7000-8000-000000000001",
    phase: "rollback" as const,
    at: "2025-01-01T00:00:00.000Z",
    sourcePath: "/a/s.jsonl",
    targetPath: "/a/s.v2",
    sourceFormat: "jsonl_v3" as const,
    targetFormat: "native_v2" as const,
    verification: { entryCountMatch: false, hashChainMatch: false, indexConsistent: false },
    outcome: "ok" as const,
    correlationId: "sessfmt-rollback:x1234567",
  };
  it("encode/decode is the identity for any message and sidecar summary", () => {
    fc.assert(
      fc.property(fc.string(), fc.option(fc.record({ entries: fc.nat(), segments: fc.nat(), bytes: fc.nat() }), { nil: undefined }), fc.constantFrom("rollback", "migration_failed", "recover" as const), (message, sidecar, action) => {
        const r: HistoryRecord = { schema: HISTORY_SCHEMA, at: event.at, action, migrationId: event.migrationId, sourcePath: "/a/s.jsonl", targetPath: "/a/s.v2", outcome: "ok", message, ledger: [event], ...(sidecar ? { sidecar } : {}) };
        expect(decodeHistoryRecord(encodeHistoryRecord(r).trim())).toEqual({ ok: true, value: r });
      }),
    );
  });

  it("a record holding a ledger event that breaks the contract does not decode", () => {
    const r = { schema: HISTORY_SCHEMA, at: event.at, action: "rollback", migrationId: event.migrationId, sourcePath: "a", targetPath: "b", outcome: "ok", message: "", ledger: [{ ...event, phase: "exploded" }] };
    expect(decodeHistoryRecord(JSON.stringify(r))).toMatchObject({ ok: false, message: expect.stringMatching(/phase/) });
  });
});

describe("14.1 leftover names", () => {
  it("classifies staging, replaced and removed directories of a stem, and nothing of another stem", () => {
    expect(classifyLeftover("s", "s.v2.staging-abc")).toMatchObject({ kind: "staging", migrationId: "abc" });
    expect(classifyLeftover("s", "s.v2.staging-abc.replaced")).toMatchObject({ kind: "replaced", migrationId: "abc" });
    expect(classifyLeftover("s", "s.v2.staging-abc.removed")).toMatchObject({ kind: "removed", migrationId: "abc" });
    expect(classifyLeftover("s", ".s.v2.staging-123")).toMatchObject({ kind: "staging" });
    expect(classifyLeftover("s", ".s.v2.old-123")).toMatchObject({ kind: "replaced" });
    expect(classifyLeftover("s", "s.v2.staging-abc.lock")).toBeUndefined();
    expect(classifyLeftover("s", "s2.v2.staging-abc")).toBeUndefined();
    expect(classifyLeftover("s", "s.v2")).toBeUndefined();
  });

  it("recognises sidecar directory names, which archive walks do not enter", () => {
    for (const n of ["s.v2", "s.v2.staging-1", ".s.v2.staging-1", ".s.v2.old-2"]) expect(isSidecarDirName(n), n).toBe(true);
    for (const n of ["--home-user--", "v2", "s.v3"]) expect(isSidecarDirName(n), n).toBe(false);
  });
});
