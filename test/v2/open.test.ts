/**
 * SPEC 11.11 (opening) and 11.12 (reading).
 */
import { mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, openSession, openSidecar, validateSidecar, type ReadStats } from "../../src/index.js";
import { copyFixture, HEADER, linear, rejectsWith, Scratch, writeSession } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

async function sidecarFixture(name: string, segmentBytes = 1200): Promise<string> {
  const file = copyFixture(scratch.sub(), name);
  await createV2SidecarFromJsonl(file, { segmentBytes, verify: false });
  return file;
}

describe("11.11 Opening", () => {
  it("without the entry table, an active-path open of a 100 000-entry session reads the index and the path's frames, nothing else", async () => {
    const dir = scratch.sub();
    const n = 100_000;
    // Entry i's parent is entry i/2 (a binary heap): every path is about 17 entries long.
    const parts = [JSON.stringify(HEADER)];
    for (let i = 1; i <= n; i++) {
      parts.push(`{"type":"message","id":"n${i}","parentId":${i === 1 ? "null" : `"n${Math.floor(i / 2)}"`},"timestamp":"2025-01-01T00:00:00.000Z","message":{"role":"user","content":"entry ${i}"}}`);
    }
    const file = join(dir, "big.jsonl");
    writeFileSync(file, `${parts.join("\n")}\n`);
    const created = await createV2SidecarFromJsonl(file, { verify: false, segmentBytes: 4 << 20 });
    expect(created.entries).toBe(n);
    expect(created.segments).toBeGreaterThan(1);

    const reads: [string, number, number][] = [];
    const store = await openSidecar(file, { mode: "active", entryTable: false, onRead: (f, o, b) => reads.push([f, o, b]) });
    const pathIds: string[] = [];
    for (let i = n; i >= 1; i = Math.floor(i / 2)) pathIds.unshift(`n${i}`);
    expect(store.records.map((r) => r.id)).toEqual(pathIds);
    const pathRows = pathIds.map((id) => store.rowById(id));
    const indexSize = statSync(join(created.root, "index/offsets.jsonl")).size;
    const stats: ReadStats = store.stats;
    expect(stats.framesParsed).toBe(pathIds.length);
    expect(stats.indexBytes).toBe(indexSize);
    expect(stats.segmentBytes).toBe(pathRows.reduce((sum, r) => sum + (r?.byteLength ?? 0), 0));
    const frameReads = reads.filter(([f]) => f.startsWith("segments/"));
    expect(frameReads.map(([, o, b]) => [o, b]).sort()).toEqual(pathRows.map((r) => [r?.byteOffset, r?.byteLength]).sort());
    expect(store.entryCount).toBe(n);
    expect(store.buildContext().messages.map((m) => (m as { content: string }).content)).toEqual(pathIds.map((id) => `entry ${id.slice(1)}`));
    await store.close();
  });

  it("open does not re-hash: a payload edited in place opens; validate and a verifying open catch it", async () => {
    const file = await sidecarFixture("v3-linear.jsonl");
    const seg = join(file.replace(/\.jsonl$/, ".v2"), "segments/0000000000000001.seg");
    const bytes = readFileSync(seg);
    const at = bytes.indexOf("content");
    bytes[at] = "C".charCodeAt(0); // still valid JSON, same length
    writeFileSync(seg, bytes);
    const store = await openSidecar(file);
    expect(store.entries().some((e) => JSON.stringify(e).includes('"Content"'))).toBe(true);
    await store.close();
    const report = await validateSidecar(file);
    expect(report.problems.map((p) => p.code)).toEqual(expect.arrayContaining(["frame_crc_mismatch", "payload_hash_mismatch"]));
    const err = await rejectsWith(openSidecar(file, { verify: true }), "E_SIDECAR_CORRUPT");
    expect(err.message).toMatch(/segments\/0000000000000001\.seg:byte \d+/);
  });

  it("modes: full loads every frame, tail:N the last N, active the path to the leaf (or to a given leafId)", async () => {
    const file = await sidecarFixture("v3-branched.jsonl");
    const session = await openSession(file);
    const full = await openSidecar(file, { mode: "full" });
    expect(full.records.map((r) => r.id)).toEqual(session.records.map((r) => r.id));
    expect(full.stats.framesParsed).toBe(session.records.length);
    const tail = await openSidecar(file, { mode: "tail:3" });
    expect(tail.records.map((r) => r.id)).toEqual(session.records.slice(-3).map((r) => r.id));
    expect(tail.stats.framesParsed).toBe(3);
    const active = await openSidecar(file, { mode: "active" });
    expect(active.records.map((r) => r.id).sort()).toEqual(session.tree.pathToRoot(session.leafId).map((r) => r.id).sort());
    expect(active.leafId).toBe(session.leafId);
    const other = session.records[4]?.id as string;
    const at = await openSidecar(file, { mode: "active", leafId: other });
    expect(at.leafId).toBe(other);
    expect(JSON.stringify(at.buildContext())).toBe(JSON.stringify(session.buildContext(other)));
    for (const s of [full, tail, active, at]) await s.close();
    await rejectsWith(openSidecar(file, { mode: "tail:x" as "full" }), "E_INVALID_ARGUMENT");
    await rejectsWith(openSidecar(file, { mode: "active", leafId: "nope" }), "E_ENTRY_NOT_FOUND");
  });

  it("a missing sidecar is E_SIDECAR_MISSING; a missing or garbage index is E_SIDECAR_CORRUPT with the problems", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    await rejectsWith(openSidecar(file), "E_SIDECAR_MISSING");
    await createV2SidecarFromJsonl(file);
    const index = join(dir, "s.v2/index/offsets.jsonl");
    const good = readFileSync(index);
    writeFileSync(index, Buffer.concat([good, Buffer.from("garbage\n")]));
    const err = await rejectsWith(openSidecar(file), "E_SIDECAR_CORRUPT");
    expect((err.data as { problems: { code: string; line: number }[] }).problems[0]).toMatchObject({ code: "index_row_invalid", line: 4 });
    rmSync(index);
    const err2 = await rejectsWith(openSidecar(file), "E_SIDECAR_CORRUPT");
    expect((err2.data as { problems: { code: string }[] }).problems.map((p) => p.code)).toContain("index_missing");
  });

  it("reads manifest.json and sessfmt-source.json on first use: missing or invalid is undefined, a symlink throws there", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const created = await createV2SidecarFromJsonl(file);
    const manifestPath = join(created.root, "manifest.json");
    const sourcePath = join(created.root, "sessfmt-source.json");
    const manifest = readFileSync(manifestPath);
    const source = readFileSync(sourcePath);

    // Changed after the open, before first use: the store sees the files as they are then.
    const store = await openSidecar(file, { mode: "active" });
    writeFileSync(manifestPath, "{ not json");
    rmSync(sourcePath);
    expect(store.buildContext().messages.length).toBe(3);
    expect(store.manifest).toBeUndefined();
    expect(store.fingerprint).toBeUndefined();
    // Read once: later changes are not seen.
    writeFileSync(manifestPath, manifest);
    writeFileSync(sourcePath, source);
    expect(store.manifest).toBeUndefined();
    await store.close();

    const fresh = await openSidecar(file);
    expect(fresh.manifest?.head.entrySeq).toBe(3);
    expect(fresh.fingerprint?.entryCount).toBe(3);
    await fresh.close();

    // Over the size limit: invalid, nothing parsed.
    writeFileSync(manifestPath, Buffer.alloc((1 << 20) + 1, 0x20));
    const big = await openSidecar(file);
    expect(big.manifest).toBeUndefined();
    await big.close();

    // A symlink is never followed: the open works, the first use refuses it.
    const outside = join(dir, "outside.json");
    writeFileSync(outside, manifest);
    rmSync(manifestPath);
    symlinkSync(outside, manifestPath);
    const linked = await openSidecar(file, { mode: "active" });
    expect(linked.buildContext().messages.length).toBe(3);
    expect(() => linked.manifest).toThrow(expect.objectContaining({ code: "E_PATH_UNSAFE" }));
    await linked.close();
    // A directory in its place is not a file.
    rmSync(sourcePath);
    mkdirSync(sourcePath);
    const dirred = await openSidecar(file);
    expect(() => dirred.fingerprint).toThrow(expect.objectContaining({ code: "E_NOT_A_FILE" }));
    await dirred.close();
  });
});

describe("11.12 Reading", () => {
  it("by entrySeq, by id, the active path, the tail and everything read the same entries the tree holds", async () => {
    const file = await sidecarFixture("v3-branched.jsonl");
    const session = await openSession(file);
    const store = await openSidecar(file, { mode: "active" });
    for (const [i, r] of session.records.entries()) {
      const bySeq = await store.readBySeq(i + 1);
      expect(bySeq.record.id).toBe(r.id);
      expect(bySeq.raw.equals(session.raw(r))).toBe(true);
      expect(bySeq.entry).toEqual(session.entry(r));
      expect((await store.readById(r.id)).record.entrySeq).toBe(i + 1);
      expect((await store.readActivePath(r.id)).map((e) => e.record.id)).toEqual(session.tree.pathToRoot(r.id).map((x) => x.id));
      expect(JSON.stringify(await store.contextAt(r.id))).toBe(JSON.stringify(session.buildContext(r.id)));
    }
    expect((await store.readTail(2)).map((e) => e.record.id)).toEqual(session.records.slice(-2).map((r) => r.id));
    expect((await store.readAll()).map((e) => e.entry)).toEqual(session.entries());
    await rejectsWith(store.readBySeq(999), "E_ENTRY_NOT_FOUND");
    await rejectsWith(store.readById("zzz"), "E_ENTRY_NOT_FOUND");
    await store.close();
  });

  it("active-path reads stop at cycles, self-parents and missing parents where the tree's walk stops", async () => {
    for (const name of ["cycles.jsonl", "orphans.jsonl", "duplicate-ids.jsonl"]) {
      const file = await sidecarFixture(name);
      const session = await openSession(file);
      const store = await openSidecar(file, { mode: "active" });
      for (const r of session.records) {
        expect((await store.readActivePath(r.id)).map((e) => e.record.id), `${name} ${r.id}`).toEqual(session.tree.pathToRoot(r.id).map((x) => x.id));
      }
      await store.close();
    }
  });

  it("an active store builds contexts only where it has the path; contextAt and loadPath fetch more", async () => {
    const file = await sidecarFixture("v3-branched.jsonl");
    const session = await openSession(file);
    const store = await openSidecar(file, { mode: "active" });
    expect(JSON.stringify(store.buildContext())).toBe(JSON.stringify(session.buildContext()));
    expect(store.buildContext(null)).toEqual({ messages: [], thinkingLevel: "off", model: null });
    const offPath = session.records.find((r) => !store.record(r.id));
    expect(offPath).toBeDefined();
    expect(() => store.buildContext(offPath?.id)).toThrow(/not loaded in active mode/);
    await store.loadPath(offPath?.id as string);
    expect(JSON.stringify(store.buildContext(offPath?.id))).toBe(JSON.stringify(session.buildContext(offPath?.id)));
    expect(store.leafId).toBe(session.leafId);
    expect(JSON.stringify(store.buildContext("no-such-id"))).toBe(JSON.stringify(session.buildContext("no-such-id")));
    await store.close();
  });
});
