import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc32cHex, decodeManifest, encodeManifest, migrateJsonlToV2, verifyV2AgainstJsonl, type VerifyMismatchCode } from "../../src/index.js";
import { appendEntry, chain, copyFixture, HEADER, msg, useTempDirs, writeLines } from "./helpers.js";
import { chainOf, payloadSha256 } from "../../src/v2/hash.js";

const temp = useTempDirs();
const seg = (f: string, n = 1) => f.replace(/\.jsonl$/, `.v2/segments/${String(n).padStart(16, "0")}.seg`);
const idx = (f: string) => f.replace(/\.jsonl$/, ".v2/index/offsets.jsonl");

async function migrated(n = 6, extra: Record<string, unknown>[] = []): Promise<string> {
  const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(n), ...extra]);
  await migrateJsonlToV2(f);
  return f;
}

const codes = (r: { mismatches: { code: VerifyMismatchCode }[] }) => [...new Set(r.mismatches.map((m) => m.code))].sort();

/** Replace `from` by `to` (same length) in a file's bytes. */
function patch(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const text = readFileSync(file, "latin1");
  expect(text.includes(from)).toBe(true);
  writeFileSync(file, Buffer.from(text.replace(from, to), "latin1"));
}

describe("14.4 a faithful sidecar verifies clean", () => {
  it("reports entries, the chain recomputed from the JSONL, and the verification triple", async () => {
    const f = await migrated(12);
    const r = await verifyV2AgainstJsonl(f);
    expect(r).toMatchObject({ ok: true, entries: { jsonl: 12, sidecar: 12 }, behind: 0, mismatchCount: 0, verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true } });
    expect(r.chain.jsonl).toBe(r.chain.manifest);
    expect(r.chain.jsonl).toBe(r.chain.frames);
  });

  it("the chain it reports is the chain over the JSONL lines' hashes, clean or not", async () => {
    const linesChain = (f: string) => chainOf(readFileSync(f, "utf8").split("\n").slice(1).filter((l) => l.length > 0).map((l) => payloadSha256(Buffer.from(l, "utf8"))));
    const clean = await migrated(9);
    expect((await verifyV2AgainstJsonl(clean)).chain.jsonl).toBe(linesChain(clean));
    // A changed payload (the frames' chain differs from the fourth entry on), a lost index
    // row, a frame that records another hash: the lines' chain is still reported.
    const changed = await migrated(9);
    patch(seg(changed), "message 4", "massage 4");
    const rc = await verifyV2AgainstJsonl(changed);
    expect(rc.chain.jsonl).toBe(linesChain(changed));
    expect(rc.chain.frames).not.toBe(rc.chain.jsonl);
    const lost = await migrated(9);
    writeFileSync(idx(lost), readFileSync(idx(lost), "utf8").split("\n").slice(0, 7).join("\n") + "\n");
    expect((await verifyV2AgainstJsonl(lost)).chain.jsonl).toBe(linesChain(lost));
    const rehashed = await migrated(9);
    const text = readFileSync(seg(rehashed), "latin1");
    const at = text.indexOf('"payloadSha256":"') + 17;
    writeFileSync(seg(rehashed), Buffer.from(text.slice(0, at) + (text[at] === "0" ? "1" : "0") + text.slice(at + 1), "latin1"));
    const rr = await verifyV2AgainstJsonl(rehashed);
    expect(rr.ok).toBe(false);
    expect(rr.chain.jsonl).toBe(linesChain(rehashed));
  });

  it("clean for every kind of tolerated damage in the JSONL (orphans, cycles, duplicates, CRLF, BOM, unknown types)", async () => {
    const d = temp();
    for (const name of ["orphans.jsonl", "cycles.jsonl", "duplicate-ids.jsonl", "crlf.jsonl", "bom.jsonl", "unknown-types.jsonl", "unicode-separators.jsonl", "truncated-tail.jsonl", "truncated-tail-complete.jsonl", "lone-surrogate.jsonl", "blank-lines.jsonl"]) {
      const f = copyFixture(d, name);
      await migrateJsonlToV2(f);
      expect((await verifyV2AgainstJsonl(f)).ok, name).toBe(true);
    }
  });

  it("lines appended after the last sync are 'behind', not mismatches", async () => {
    const f = await migrated(3);
    appendEntry(f, msg("later", "e3"));
    const r = await verifyV2AgainstJsonl(f);
    expect(r).toMatchObject({ ok: true, behind: 1, entries: { jsonl: 3, sidecar: 3 } });
    expect(r.freshness.state).toBe("behind");
  });

  it("throws E_SIDECAR_MISSING for a file without a sidecar", async () => {
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(2)]);
    await expect(verifyV2AgainstJsonl(f)).rejects.toMatchObject({ code: "E_SIDECAR_MISSING" });
  });
});

describe("14.4 every mismatch is reported with its entry id and JSONL line", () => {
  it("a changed payload byte in a segment: CRC, payload and hash mismatches at that entry", async () => {
    const f = await migrated(6);
    patch(seg(f), "message 4", "massage 4");
    const r = await verifyV2AgainstJsonl(f);
    expect(r.ok).toBe(false);
    expect(codes(r)).toEqual(["crc_mismatch", "payload_mismatch"]);
    for (const m of r.mismatches) expect(m).toMatchObject({ entryId: "e4", line: 5, entrySeq: 4 });
    expect(r.verification.indexConsistent).toBe(false);
    expect(r.validation.errors).toBeGreaterThan(0);
  });

  it("a frame rewritten consistently (CRC fixed) is still caught against the JSONL", async () => {
    const f = await migrated(4);
    patch(seg(f), "message 2", "MESSAGE 2");
    // Re-seal the row's CRC so that only the comparison with the JSONL can notice.
    const rows = readFileSync(idx(f), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
    const bytes = readFileSync(seg(f));
    for (const row of rows) row.crc32c = crc32cHex(bytes.subarray(row.byteOffset as number, (row.byteOffset as number) + (row.byteLength as number)));
    writeFileSync(idx(f), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const r = await verifyV2AgainstJsonl(f);
    expect(codes(r)).toEqual(["payload_mismatch"]);
    expect(r.mismatches[0]).toMatchObject({ entryId: "e2", line: 3 });
  });

  it("a different entry id, parent or type in a frame is named", async () => {
    const f = await migrated(5);
    patch(seg(f), '"entryId":"e3","parentEntryId":"e2"', '"entryId":"e9","parentEntryId":"e1"');
    const r = await verifyV2AgainstJsonl(f);
    expect(codes(r)).toEqual(expect.arrayContaining(["entry_id_mismatch", "parent_mismatch", "index_mismatch", "crc_mismatch"]));
    expect(r.mismatches.find((m) => m.code === "parent_mismatch")).toMatchObject({ entryId: "e3", line: 4 });
  });

  it("an index row that does not decode is reported with its place", async () => {
    const f = await migrated(4);
    const lines = readFileSync(idx(f), "utf8").split("\n");
    lines[2] = "{not a row}";
    writeFileSync(idx(f), lines.join("\n"));
    const r = await verifyV2AgainstJsonl(f);
    expect(codes(r)).toContain("index_row_invalid");
    expect(r.verification.indexConsistent).toBe(false);
  });

  it("missing and extra entries: the sidecar cut short, and a JSONL cut short", async () => {
    const f = await migrated(5);
    const lines = readFileSync(idx(f), "utf8").trimEnd().split("\n");
    writeFileSync(idx(f), lines.slice(0, 3).join("\n") + "\n");
    let r = await verifyV2AgainstJsonl(f);
    expect(r.mismatches.filter((m) => m.code === "entry_missing").map((m) => [m.entryId, m.line])).toEqual([
      ["e4", 5],
      ["e5", 6],
    ]);
    expect(r.verification.entryCountMatch).toBe(false);

    const g = await migrated(5);
    writeFileSync(g, readFileSync(g, "utf8").split("\n").slice(0, 4).join("\n") + "\n");
    r = await verifyV2AgainstJsonl(g);
    expect(codes(r)).toEqual(expect.arrayContaining(["entry_extra", "prefix_changed"]));
    expect(r.mismatches.filter((m) => m.code === "entry_extra").map((m) => m.entrySeq)).toEqual([4, 5]);
  });

  it("a JSONL line edited in place: the prefix changed and the payload no longer matches", async () => {
    const f = await migrated(4);
    patch(f, "message 3", "messagE 3");
    const r = await verifyV2AgainstJsonl(f);
    expect(codes(r)).toEqual(["chain_mismatch", "payload_hash_mismatch", "payload_mismatch", "prefix_changed"]);
    expect(r.mismatches.find((m) => m.code === "payload_mismatch")).toMatchObject({ entryId: "e3", line: 4 });
    expect(r.verification.hashChainMatch).toBe(false);
  });

  it("a well-formed manifest that records another chain is a chain mismatch", async () => {
    const f = await migrated(3);
    const path = f.replace(/\.jsonl$/, ".v2/manifest.json");
    const d = decodeManifest(readFileSync(path, "utf8"));
    if (!d.ok) throw new Error(d.message);
    d.value.integrity.chainHash = "0".repeat(64);
    writeFileSync(path, encodeManifest(d.value));
    const r = await verifyV2AgainstJsonl(f);
    expect(r.mismatches.find((m) => m.code === "chain_mismatch")).toMatchObject({ file: "manifest.json" });
    expect(r.verification.hashChainMatch).toBe(false);
  });
});

describe("14.4 the quarantine must hold exactly the invalid lines", () => {
  it("a quarantine line removed, or an extra one added, is a mismatch naming the JSONL line", async () => {
    const f = copyFixture(temp(), "corrupt-lines.jsonl");
    await migrateJsonlToV2(f, { skipInvalid: true });
    const q = f.replace(/\.jsonl$/, ".v2/sessfmt-quarantine.jsonl");
    const lines = readFileSync(q, "utf8").trimEnd().split("\n");
    writeFileSync(q, [...lines.slice(1), lines[0]!.replace('"offset":327', '"offset":1')].join("\n") + "\n");
    const r = await verifyV2AgainstJsonl(f);
    expect(r.mismatches.filter((m) => m.code.startsWith("quarantine")).map((m) => [m.code, m.line])).toEqual([
      ["quarantine_missing", 3],
      ["quarantine_extra", 3],
    ]);
  });

  it("a sidecar made without a quarantine counts the invalid lines as unquarantined, not as mismatches", async () => {
    const f = copyFixture(temp(), "corrupt-lines.jsonl");
    await migrateJsonlToV2(f, { skipInvalid: true });
    rmSync(f.replace(/\.jsonl$/, ".v2/sessfmt-quarantine.jsonl"));
    const r = await verifyV2AgainstJsonl(f);
    expect(r).toMatchObject({ ok: true, unquarantined: 6, quarantine: { present: false } });
  });

  it("bytes appended to the quarantine that do not decode are reported", async () => {
    const f = copyFixture(temp(), "corrupt-lines.jsonl");
    await migrateJsonlToV2(f, { skipInvalid: true });
    appendFileSync(f.replace(/\.jsonl$/, ".v2/sessfmt-quarantine.jsonl"), "junk\n");
    expect(codes(await verifyV2AgainstJsonl(f))).toContain("quarantine_invalid");
  });
});
