/**
 * SPEC 11.9 (source fingerprint) and 11.13 (sync).
 */
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, openSidecar, readFingerprint, sidecarInfo, syncSidecar, validateSidecar } from "../../src/index.js";
import fc from "fast-check";
import { readManifestFile } from "../../src/v2/artifacts.js";
import { EntryTable, encodeEntryTable } from "../../src/v2/entry-table.js";
import { readEntryTable } from "../../src/v2/entry-table-io.js";
import { collectStoreFacts, extendStoreFacts } from "../../src/v2/facts.js";
import { readIndexFile } from "../../src/v2/index-file.js";
import { GrowingPrefixHash } from "../../src/v2/source-file.js";
import type { OffsetIndexRow } from "../../src/v2/index-row.js";
import { copyFixture, fixedClock, HEADER, linear, msg, rejectsWith, Scratch, writeSession, fileHashes } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

const propertyRuns = (n: number): number => Number(process.env.SESSFMT_V2_RUNS) || n;
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

describe("11.9 Source fingerprint", () => {
  it("records the JSONL's size, mtime, header hash and the hash, end and last line of the indexed prefix", async () => {
    const dir = scratch.sub();
    const file = copyFixture(dir, "v3-branched.jsonl");
    const r = await createV2SidecarFromJsonl(file);
    const fp = await readFingerprint(r.root);
    expect(fp.state).toBe("ok");
    if (fp.state !== "ok") return;
    const bytes = readFileSync(file);
    const f = fp.fingerprint;
    expect(f.sourceSize).toBe(bytes.length);
    expect(f.sourceMtimeMs).toBe(statSync(file).mtimeMs);
    expect(f.headerSha256).toBe(sha(bytes.subarray(0, bytes.indexOf(0x0a))));
    expect(f.lastIndexedOffset).toBe(bytes.length);
    expect(f.lastIndexedLine).toBe(bytes.toString().split("\n").length - 1);
    expect(f.indexedSha256).toBe(sha(bytes));
    expect(f.openTail).toBe(false);
    expect(f.entryCount).toBe(14);
    expect(f.chainHash).toBe(r.manifest.integrity.chainHash);
    expect(f.sessionId).toBe(r.sessionId);
    expect(readdirSync(r.root)).toContain("sessfmt-source.json");
  });

  it("stops before a torn last line, and inside a complete last line that lacks its line end", async () => {
    const dir = scratch.sub();
    const torn = copyFixture(dir, "truncated-tail.jsonl");
    await createV2SidecarFromJsonl(torn);
    const t = await readFingerprint(join(dir, "truncated-tail.v2"));
    const tb = readFileSync(torn);
    expect(t.state === "ok" && [t.fingerprint.lastIndexedOffset, t.fingerprint.openTail]).toEqual([tb.lastIndexOf(0x0a) + 1, false]);
    const complete = copyFixture(dir, "truncated-tail-complete.jsonl");
    await createV2SidecarFromJsonl(complete);
    const c = await readFingerprint(join(dir, "truncated-tail-complete.v2"));
    expect(c.state === "ok" && [c.fingerprint.lastIndexedOffset, c.fingerprint.openTail, c.fingerprint.entryCount]).toEqual([readFileSync(complete).length, true, 3]);
  });

  it("freshness: fresh, behind after appends, stale after a rewrite, unknown without a fingerprint; checking writes nothing", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(5)]);
    const r = await createV2SidecarFromJsonl(file);
    const before = fileHashes(r.root);
    expect((await sidecarInfo(file)).freshness.state).toBe("fresh");
    appendFileSync(file, `${JSON.stringify(msg("e6", "e5"))}\n`);
    expect((await sidecarInfo(file)).freshness).toMatchObject({ state: "behind" });
    const text = readFileSync(file, "utf8").replace("text", "TEXT");
    writeFileSync(file, text);
    expect((await sidecarInfo(file)).freshness.state).toBe("stale");
    expect(fileHashes(r.root)).toEqual(before);
    const { rmSync } = await import("node:fs");
    rmSync(join(r.root, "sessfmt-source.json"));
    expect((await sidecarInfo(file)).freshness.state).toBe("unknown");
  });

  it("the quick check hashes only the header and the prefix's last 64 KiB; the full check sees a change anywhere", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...Array.from({ length: 400 }, (_, i) => msg(`q${i}`, i ? `q${i - 1}` : null, "p".repeat(300)))]);
    await createV2SidecarFromJsonl(file);
    const bytes = readFileSync(file);
    const at = bytes.indexOf("pppp", 2000);
    bytes[at] = "P".charCodeAt(0);
    writeFileSync(file, bytes);
    // An in-place change in the middle of the prefix is what the quick check cannot see.
    expect((await sidecarInfo(file, { check: "quick" })).freshness.state).toBe("fresh");
    expect((await sidecarInfo(file, { check: "full" })).freshness.state).toBe("stale");
    bytes[bytes.length - 10] = "X".charCodeAt(0);
    writeFileSync(file, bytes);
    expect((await sidecarInfo(file, { check: "quick" })).freshness.state).toBe("stale");
  });
});

describe("11.13 Sync", () => {
  it("frames only the lines appended since the last sync: earlier frames and rows are untouched", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(5)]);
    const r = await createV2SidecarFromJsonl(file, { segmentBytes: 1000 });
    const seg = join(r.root, "segments");
    const before = Object.fromEntries(readdirSync(seg).map((f) => [f, readFileSync(join(seg, f))]));
    const index = readFileSync(join(r.root, "index/offsets.jsonl"));
    appendFileSync(file, `${[msg("e6", "e5"), msg("e7", "e6")].map((m) => JSON.stringify(m)).join("\n")}\n{broken\n`);
    const rep = await syncSidecar(file, { segmentBytes: 1000 });
    expect(rep).toMatchObject({ action: "appended", appended: 2, skippedLines: 1, entries: 7, repaired: [] });
    for (const [f, b] of Object.entries(before)) expect(readFileSync(join(seg, f)).subarray(0, b.length).equals(b), f).toBe(true);
    expect(readFileSync(join(r.root, "index/offsets.jsonl")).subarray(0, index.length).equals(index)).toBe(true);
    expect((await validateSidecar(file)).ok).toBe(true);
    expect(await syncSidecar(file)).toMatchObject({ action: "none", appended: 0 });
  });

  it("a changed prefix is reported stale and nothing is written; with rebuild the sidecar is rebuilt from the JSONL", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(4)]);
    const r = await createV2SidecarFromJsonl(file);
    writeFileSync(file, readFileSync(file, "utf8").replace('"e2"', '"E2"').replace('"e2"', '"E2"'));
    const before = fileHashes(r.root);
    const rep = await syncSidecar(file);
    expect(rep.action).toBe("stale");
    expect(rep.freshness.reason).toMatch(/prefix/);
    expect(fileHashes(r.root)).toEqual(before);
    const rebuilt = await syncSidecar(file, { rebuild: true });
    expect(rebuilt).toMatchObject({ action: "rebuilt", entries: 4 });
    const store = await openSidecar(file);
    expect(store.records.map((x) => x.id)).toEqual(["e1", "E2", "e3", "e4"]);
    await store.close();
    truncateSync(file, 50);
    expect((await syncSidecar(file)).action).toBe("stale");
  });

  it("a sync after a crash between frames and rows removes the unindexed frame bytes, says so, and continues", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const r = await createV2SidecarFromJsonl(file);
    const seg = join(r.root, "segments/0000000000000001.seg");
    appendFileSync(seg, '{"schema":"pi.session_store_v2.segment_frame.v1","segme');
    expect((await validateSidecar(file)).problems.map((p) => p.code)).toContain("segment_unindexed_bytes");
    appendFileSync(file, `${JSON.stringify(msg("e4", "e3"))}\n`);
    const rep = await syncSidecar(file);
    expect(rep.action).toBe("appended");
    expect(rep.repaired.join()).toMatch(/unindexed bytes/);
    expect((await validateSidecar(file)).ok).toBe(true);
  });

  it("a sync after a crash between rows and fingerprint cuts back to the fingerprint and frames the lines again", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const now = fixedClock();
    const r = await createV2SidecarFromJsonl(file, { now, segmentBytes: 700 });
    const fp = readFileSync(join(r.root, "sessfmt-source.json"));
    appendFileSync(file, `${[msg("e4", "e3"), msg("e5", "e4")].map((m) => JSON.stringify(m)).join("\n")}\n`);
    await syncSidecar(file, { now, segmentBytes: 700 });
    writeFileSync(join(r.root, "sessfmt-source.json"), fp); // as if the fingerprint write never happened
    const rep = await syncSidecar(file, { now, segmentBytes: 700 });
    expect(rep).toMatchObject({ action: "appended", appended: 2, entries: 5 });
    expect(rep.repaired.join()).toMatch(/removed 2 index rows/);
    const once = scratch.sub();
    copyFileSync(file, join(once, "s.jsonl"));
    const fresh = await createV2SidecarFromJsonl(join(once, "s.jsonl"), { now, segmentBytes: 700 });
    const a = fileHashes(r.root);
    const b = fileHashes(fresh.root);
    delete a["sessfmt-source.json"];
    delete b["sessfmt-source.json"];
    // Moved-aside segments aside, the store is byte for byte the one a single creation writes.
    expect(Object.fromEntries(Object.entries(a).filter(([k]) => !k.endsWith(".bak")))).toEqual(b);
  });

  it("sync of a sidecar that does not exist is E_SIDECAR_MISSING (or a creation, with rebuild)", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(2)]);
    await rejectsWith(syncSidecar(file), "E_SIDECAR_MISSING");
    expect(await syncSidecar(file, { rebuild: true })).toMatchObject({ action: "rebuilt", entries: 2 });
  });
});

describe("11.13 Sync: the manifest after an append", () => {
  /** Entries with repeated ids and parents of every kind, compactions and messages; the first `k` are created, the rest synced. */
  const specArb = fc
    .array(
      fc.record({
        id: fc.nat({ max: 30 }),
        parent: fc.oneof(
          { weight: 6, arbitrary: fc.constant<"prev">("prev") },
          { weight: 2, arbitrary: fc.nat({ max: 30 }) },
          { weight: 1, arbitrary: fc.constantFrom<"null" | "self" | "missing">("null", "self", "missing") },
        ),
        compaction: fc.boolean(),
      }),
      { minLength: 1, maxLength: 40 },
    )
    .chain((spec) => fc.tuple(fc.constant(spec), fc.nat({ max: spec.length }), fc.integer({ min: 300, max: 2000 })));

  it("carries the previous manifest's facts forward when they describe the old rows, giving the facts a full count gives", async () => {
    let carried = 0;
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(specArb, async ([spec, k, segmentBytes]) => {
        tried++;
        const lines = spec.map((s, i) => {
          const id = `i${s.id}`;
          const parentId = s.parent === "null" ? null : s.parent === "self" ? id : s.parent === "missing" ? "gone" : s.parent === "prev" ? (i === 0 ? null : `i${(spec[i - 1] as { id: number }).id}`) : `i${s.parent}`;
          return s.compaction ? { type: "compaction", id, parentId, timestamp: "2025-01-01T00:00:01.000Z", summary: "s", firstKeptEntryId: id, tokensBefore: 1 } : msg(id, parentId, `t${i}`, i % 2 ? "assistant" : "user");
        });
        const file = writeSession(scratch.sub(), [HEADER, ...lines.slice(0, k)]);
        const created = await createV2SidecarFromJsonl(file, { segmentBytes, verify: false });
        const root = created.root;
        const prev = await readManifestFile(root);
        const oldRows = (await readIndexFile(root)).rows;
        const table = (await readEntryTable(root)).table;
        const fp = await readFingerprint(root);
        appendFileSync(file, lines.slice(k).map((l) => `${JSON.stringify(l)}\n`).join(""));
        await syncSidecar(file, { segmentBytes });
        const allRows = (await readIndexFile(root)).rows;
        const written = await readManifestFile(root);
        if (prev.state !== "ok" || written.state !== "ok" || fp.state !== "ok" || !table) throw new Error("the store did not read back");
        const m = written.manifest;
        const full = await collectStoreFacts(root, allRows, { expectedChain: m.integrity.chainHash });
        // What sync wrote is what counting everything again gives.
        expect({ counters: m.counters, segmentCount: m.files.segmentCount, head: m.head, chainHash: m.integrity.chainHash, lastCrc32c: m.integrity.lastCrc32c, invariants: m.invariants }).toEqual({
          counters: full.counters,
          segmentCount: full.segmentCount,
          head: full.head,
          chainHash: full.chainHash,
          lastCrc32c: full.lastCrc32c,
          invariants: full.invariants,
        });
        const ext = await extendStoreFacts(root, { prev: prev.manifest, oldRows, table, oldChain: fp.fingerprint.chainHash, newRows: allRows.slice(oldRows.length), expectedChain: m.integrity.chainHash });
        if (ext) {
          carried++;
          expect(ext).toEqual(full);
        } else {
          // Declined only for a store whose facts cannot be carried: an invariant broken (a missing parent aside) or an id used twice.
          const ids = allRows.map((r) => r.entryId);
          const { parentLinksClosed: _, ...others } = prev.manifest.invariants;
          expect(Object.values(others).every(Boolean) && new Set(ids).size === ids.length).toBe(false);
        }
      }),
      { numRuns: propertyRuns(40), seed: 20261121 },
    );
    expect(carried).toBeGreaterThan(tried / 4);
  });

  it("does not carry facts a previous manifest got wrong or that describe other rows: they are counted again", async () => {
    const file = writeSession(scratch.sub(), [HEADER, ...linear(6)]);
    const { root } = await createV2SidecarFromJsonl(file, { verify: false });
    const prev = await readManifestFile(root);
    const rows = (await readIndexFile(root)).rows;
    const table = (await readEntryTable(root)).table;
    if (prev.state !== "ok" || !table) throw new Error("the store did not read back");
    const m = prev.manifest;
    const base = { oldRows: rows.slice(0, 5), table: EntryTable.fromBytes(encodeEntryTable(rows.slice(0, 5), table.inputs().slice(0, 5), 1)), newRows: rows.slice(5), expectedChain: m.integrity.chainHash };
    const prev5 = { ...m, counters: { ...m.counters, entriesTotal: 5, bytesTotal: m.counters.bytesTotal - (rows[5] as OffsetIndexRow).byteLength, messagesTotal: 5 }, head: { ...m.head, entrySeq: 5, entryId: "e5" }, integrity: { ...m.integrity, chainHash: "c".repeat(64), lastCrc32c: (rows[4] as OffsetIndexRow).crc32c } };
    const ok = await extendStoreFacts(root, { ...base, prev: prev5, oldChain: "c".repeat(64) });
    expect(ok?.counters).toEqual(m.counters);
    expect(ok?.invariants.hashChainValid).toBe(false); // the chain was continued from the (made-up) old one
    expect(await extendStoreFacts(root, { ...base, prev: { ...prev5, invariants: { ...m.invariants, hashChainValid: false } }, oldChain: "c".repeat(64) })).toBeUndefined();
    expect(await extendStoreFacts(root, { ...base, prev: { ...prev5, counters: { ...prev5.counters, entriesTotal: 4 } }, oldChain: "c".repeat(64) })).toBeUndefined();
    expect(await extendStoreFacts(root, { ...base, prev: prev5, oldChain: "d".repeat(64) })).toBeUndefined();
    expect(await extendStoreFacts(root, { ...base, prev: { ...prev5, head: { ...prev5.head, entryId: "e4" } }, oldChain: "c".repeat(64) })).toBeUndefined();
  });

  it("counts an entry that names itself as its parent among that id's children, as a full count does", async () => {
    const file = writeSession(scratch.sub(), [HEADER, msg("a", null), msg("b", "b"), msg("c", "a")]);
    await createV2SidecarFromJsonl(file, { verify: false });
    appendFileSync(file, `${JSON.stringify(msg("d", "b"))}\n${JSON.stringify(msg("e", "a"))}\n`);
    const rep = await syncSidecar(file);
    const m = await readManifestFile(rep.root);
    // b: itself and d; a: c and e.
    expect(m.state === "ok" && m.manifest.counters.branchesTotal).toBe(2);
    expect(m.state === "ok" && m.manifest.invariants.parentLinksClosed).toBe(true);
  });

  it("an old segment that lost bytes since the last manifest: the facts are counted again, not carried", async () => {
    const file = writeSession(scratch.sub(), [HEADER, ...linear(30)]);
    const { root } = await createV2SidecarFromJsonl(file, { verify: false, segmentBytes: 1200 });
    const segs = readdirSync(join(root, "segments")).sort();
    expect(segs.length).toBeGreaterThan(2);
    const first = join(root, "segments", segs[0] as string);
    truncateSync(first, statSync(first).size - 10);
    appendFileSync(file, `${JSON.stringify(msg("n1", "e30"))}\n`);
    const rep = await syncSidecar(file, { segmentBytes: 1200 });
    expect(rep.action).toBe("appended");
    const m = await readManifestFile(root);
    const full = await collectStoreFacts(root, (await readIndexFile(root)).rows, { expectedChain: rep.chainHash });
    expect(m.state === "ok" && m.manifest.invariants).toEqual(full.invariants);
    expect(full.invariants.indexWithinSegmentBounds).toBe(false);
    expect(full.invariants.branchHeadsIndexed).toBe(false);
  });

  it("ids with a lone surrogate, which the entry table's UTF-8 cannot hold: no table, and every sync appends", async () => {
    const table = (root: string) => existsSync(join(root, "index", "sessfmt-entries.bin"));
    const plain = writeSession(scratch.sub(), [HEADER, msg("a", null), msg("b", "a")]);
    const made = await createV2SidecarFromJsonl(plain, { verify: false });
    expect(table(made.root)).toBe(true);
    // The first sync to meet such an id removes the table; the ones after it keep going without.
    for (const [id, parent] of [["c", "b"], ["\ud800", "c"], ["d", "\ud800"]] as const) {
      appendFileSync(plain, `${JSON.stringify(msg(id, parent))}\n`);
      const rep = await syncSidecar(plain);
      expect(rep.appended).toBe(1);
      expect(table(made.root)).toBe(id === "c");
    }
    expect((await validateSidecar(plain)).problems.filter((p) => p.severity === "error")).toEqual([]);
    const file = writeSession(scratch.sub(), [HEADER, msg("a", null), msg("\ud800", "a"), msg("b", "\ud800")]);
    const { root } = await createV2SidecarFromJsonl(file, { verify: false });
    expect(table(root)).toBe(false);
    appendFileSync(file, `${JSON.stringify(msg("c", "b"))}\n`);
    expect((await syncSidecar(file)).appended).toBe(1);
    expect((await validateSidecar(file)).problems.filter((p) => p.severity === "error")).toEqual([]);
    const store = await openSidecar(file, { mode: "active" });
    expect(store.records.map((r) => r.id)).toEqual(["a", "\ud800", "b", "c"]);
    await store.close();
  });

  it("a parent missing before the append: the old entries that name it count as its children, whether it stays missing or arrives", async () => {
    for (const [added, branches, closed] of [
      [[msg("c", "gone")], 1, false],
      [[msg("gone", "a"), msg("d", "gone")], 1, true],
      [[msg("gone", "a")], 0, true],
    ] as const) {
      const file = writeSession(scratch.sub(), [HEADER, msg("a", null), msg("b", "gone")]);
      await createV2SidecarFromJsonl(file, { verify: false });
      appendFileSync(file, added.map((l) => `${JSON.stringify(l)}\n`).join(""));
      const rep = await syncSidecar(file);
      const m = await readManifestFile(rep.root);
      const full = await collectStoreFacts(rep.root, (await readIndexFile(rep.root)).rows, { expectedChain: rep.chainHash });
      expect(m.state === "ok" && [m.manifest.counters.branchesTotal, m.manifest.invariants.parentLinksClosed]).toEqual([branches, closed]);
      expect([full.counters.branchesTotal, full.invariants.parentLinksClosed]).toEqual([branches, closed]);
    }
  });

  it("after an append, the fingerprint records the hash of the whole synced file (the checked prefix continued with the framed lines)", async () => {
    const file = writeSession(scratch.sub(), [HEADER, ...linear(50)]);
    await createV2SidecarFromJsonl(file, { verify: false });
    appendFileSync(file, `${JSON.stringify(msg("n1", "e50"))}\n`);
    const rep = await syncSidecar(file);
    expect(rep.appended).toBe(1);
    const fp = await readFingerprint(rep.root);
    expect(fp.state === "ok" && fp.fingerprint.indexedSha256).toBe(sha(readFileSync(file)));
  });
});

describe("11.13 Sync: the prefix hash", () => {
  it("hashes a growing prefix from the bytes fed and the file, each byte once; the tail is the prefix's last bytes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 3000 }), fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 6 }), async (data, steps) => {
        const file = join(scratch.sub(), "g.bin");
        writeFileSync(file, data);
        const g = new GrowingPrefixHash(file, 100);
        let pos = 0;
        for (const [gap, len, digest] of steps) {
          const start = Math.min(data.length, pos + (gap % 50));
          const end = Math.min(data.length, start + (len % 400));
          if (digest) {
            expect(await g.digestTo(end)).toBe(sha(Buffer.from(data.subarray(0, end))));
          } else {
            // Fed bytes are hashed as given, not read: a changed copy shows in the hash.
            await g.feed(start, Buffer.from(data.subarray(start, end)));
          }
          pos = end;
        }
        expect(await g.digestTo(data.length)).toBe(sha(Buffer.from(data)));
        expect(g.tailDigest()).toBe(sha(Buffer.from(data.subarray(Math.max(0, data.length - 100)))));
      }),
      { numRuns: 100 },
    );
  });

  it("hashes what was fed, not what the file holds now; refuses to go back; is unusable after a failed read", async () => {
    const file = join(scratch.sub(), "g.bin");
    writeFileSync(file, "abcdef");
    const g = new GrowingPrefixHash(file);
    await g.feed(0, Buffer.from("ABC"));
    expect(await g.digestTo(4)).toBe(sha("ABCd"));
    await rejectsWith(g.digestTo(2), "E_INVALID_ARGUMENT");
    const h = new GrowingPrefixHash(file);
    await rejectsWith(h.digestTo(100), "E_SOURCE_CHANGED");
    await rejectsWith(h.digestTo(100), "E_INVALID_ARGUMENT");
  });
});

describe("11.9 sidecarInfo", () => {
  it("reports counts, segments, head, recorded chains and freshness without reading a frame", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(6)]);
    expect((await sidecarInfo(file)).exists).toBe(false);
    const r = await createV2SidecarFromJsonl(file, { segmentBytes: 900 });
    const info = await sidecarInfo(file);
    expect(info).toMatchObject({ exists: true, entries: 6, bytes: r.bytes, head: { entrySeq: 6, entryId: "e6" }, manifestState: "ok", fingerprintState: "ok", checkpoints: 0, ledgerEvents: 0, problems: [] });
    expect(info.chain).toEqual({ manifest: r.chainHash, fingerprint: r.chainHash });
    expect(info.segments.reduce((n, s) => n + s.frames, 0)).toBe(6);
    expect(info.segments.map((s) => s.segmentSeq)).toEqual(info.segments.map((_, i) => i + 1));
    expect(info.freshness.state).toBe("fresh");
  });
});

describe("11.18 Errors", () => {
  it("long operations stop on an aborted signal with E_ABORTED", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    await createV2SidecarFromJsonl(file);
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(validateSidecar(file, { signal: ac.signal }), "E_ABORTED");
    appendFileSync(file, `${JSON.stringify(msg("e4", "e3"))}\n`);
    await rejectsWith(syncSidecar(file, { signal: ac.signal }), "E_ABORTED");
    expect((await syncSidecar(file)).appended).toBe(1);
  });
});
