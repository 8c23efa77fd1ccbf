/**
 * SPEC 11.21: sessfmt's entry table (index/sessfmt-entries.bin) — what it holds, when it
 * is used, and that every open through it equals the open without it.
 */
import { appendFileSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { createCheckpoint, createV2SidecarFromJsonl, openSession, openSidecar, rebuildSidecarIndex, rollbackToCheckpoint, sidecarInfo, syncSidecar, validateSidecar } from "../../src/index.js";
import { BLOCK_ENTRIES, directoryBytesFor, EntryTable, encodeEntryTable, headBytesFor, restInMemory, type EntryTableInput } from "../../src/v2/entry-table.js";
import { readEntryTable } from "../../src/v2/entry-table-io.js";
import { PathFromLeaf } from "../../src/v2/path-from-leaf.js";
import { makeIndexRow, type OffsetIndexRow } from "../../src/v2/index-row.js";
import { HEADER, Scratch, writeSession } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

const TABLE = "index/sessfmt-entries.bin";
const T0 = Date.UTC(2025, 0, 1);

function entry(i: number, id: string, parentId: string | null, kind: number, extra = ""): Record<string, unknown> {
  const base = { type: "message", id, parentId, timestamp: new Date(T0 + i * 1000).toISOString() };
  switch (kind % 8) {
    case 0:
      return { ...base, message: { role: "user", content: `u${i}${extra}`, timestamp: T0 + i } };
    case 1:
      return { ...base, message: { role: "assistant", content: [{ type: "text", text: `a${i}` }], provider: "p", model: `m${i}`, usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0 }, stopReason: "stop", timestamp: T0 + i } };
    case 2:
      return { ...base, type: "model_change", provider: "q", modelId: `mc${i}` };
    case 3:
      return { ...base, type: "thinking_level_change", thinkingLevel: ["low", "high"][i % 2] };
    case 4:
      return { ...base, type: "compaction", summary: `s${i}`, firstKeptEntryId: extra || id, tokensBefore: i };
    case 5:
      return { ...base, type: "branch_summary", fromId: id, summary: `b${i}` };
    case 6:
      return { ...base, type: "custom_message", customType: "c", content: `cm${i}`, display: true };
    default:
      return { ...base, type: "label", targetId: id, label: `l${i}` };
  }
}

/** Tables of the store as offsets.jsonl and the frames describe it. */
async function storeOf(lines: (object | string)[], segmentBytes = 1500): Promise<string> {
  const file = writeSession(scratch.sub(), lines);
  await createV2SidecarFromJsonl(file, { segmentBytes, verify: false });
  return file;
}

describe("11.21 Entry table: codec", () => {
  it("round-trips rows and entries; resolves parents as the store does (later id wins, self and missing parents stop)", () => {
    const inputs: EntryTableInput[] = [
      { id: "a", parentId: null, type: "message", role: "user" },
      { id: "b", parentId: "a", type: "message", role: "assistant" },
      { id: "c", parentId: "c", type: "compaction" },
      { id: "d", parentId: "zz", type: "mode_change" },
      { id: "a", parentId: "b", type: "label" },
      { id: "é😀", parentId: "a", type: "message", role: "weird" },
    ];
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1 + (i >> 1), frameSeq: 1 + (i & 1), byteOffset: i * 1000 + 2 ** 40, byteLength: 100 + i, crc32c: "E3069283" }));
    const t = EntryTable.fromBytes(encodeEntryTable(rows, inputs, 4242));
    expect(t.count).toBe(6);
    expect(t.offsetsBytes).toBe(4242);
    expect(t.rows()).toEqual(rows);
    rows.forEach((r, i) => expect(t.rowEquals(i, r)).toBe(true));
    for (const other of ["f", "é", "é😀x", "e😀", "é😁", "a", ""]) expect(t.rowEquals(5, { ...(rows[5] as OffsetIndexRow), entryId: other })).toBe(false);
    expect(t.rowEquals(0, { ...(rows[0] as OffsetIndexRow), entryId: "é" })).toBe(false);
    expect(t.rowEquals(1, { ...(rows[1] as OffsetIndexRow), crc32c: "E3069284" })).toBe(false);
    // "b" names "a": the later "a" (entry 5), which names "b": a cycle, cut at entry 2.
    expect(Array.from(t.parentSeq)).toEqual([0, 5, 0, -1, 2, 5]);
    expect(t.inputs()).toEqual(inputs.map((e) => (e.role === "weird" ? { id: e.id, parentId: e.parentId, type: e.type } : e.type === "mode_change" ? { ...e, type: "" } : e)));
    expect(t.lastSeqOf("a")).toBe(5);
    expect(t.lastSeqOf("nope")).toBe(0);
    expect(Array.from(t.pathSeqs(6))).toEqual([2, 5, 6]);
    expect(Array.from(t.pathSeqs(4))).toEqual([4]);
    expect(Array.from(t.pathSeqs(3))).toEqual([3]);
  });

  it("cuts a cycle at its member with the lowest entrySeq", () => {
    const inputs: EntryTableInput[] = [
      { id: "x", parentId: "z", type: "message" },
      { id: "y", parentId: "x", type: "message" },
      { id: "z", parentId: "y", type: "message" },
      { id: "w", parentId: "z", type: "message" },
    ];
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "00000000" }));
    const t = EntryTable.fromBytes(encodeEntryTable(rows, inputs, 1));
    expect(Array.from(t.pathSeqs(4))).toEqual([1, 2, 3, 4]);
    expect(Array.from(t.pathSeqs(2))).toEqual([1, 2]);
  });

  it("findBack finds an id further back than a position, near or far, reading only the rows from there back to it", () => {
    const n = 6000;
    const inputs: EntryTableInput[] = Array.from({ length: n }, (_, i) => ({ id: `e${i + 1}`, parentId: i === 0 ? null : `e${i}`, type: "message", role: "user" }));
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 100, byteLength: 100, crc32c: "E3069283" }));
    const bytes = encodeEntryTable(rows, inputs, 1);
    const head = headBytesFor(n, 1);
    const rest = bytes.subarray(head);
    let rowsRead = 0;
    const fresh = () =>
      new EntryTable(Buffer.from(bytes.subarray(0, head)), {
        size: rest.length,
        batch: (fn) =>
          fn((offset, length) => {
            if (offset < 32 * n) rowsRead += length / 32;
            return Buffer.from(rest.subarray(offset, offset + length));
          }),
      });
    // The entry 1000 steps back from the leaf (entrySeq 5000) is where the search starts.
    const after = 999;
    for (const back of [1, 2, 15, 16, 17, 80, 81, 400, 1365, 4999, 5000]) {
      rowsRead = 0;
      const t = fresh();
      const d = t.findBack(new PathFromLeaf(t, n), after, `e${n - after - back}`);
      expect(d).toBe(after + back);
      // Blocks of 16, 64, 256, ... (each read with the row before it): about five times the
      // distance at most, and no more than one block for a near entry.
      expect(rowsRead).toBeLessThanOrEqual(Math.max(17, 5 * back + 4));
    }
    // Not further back than the position: at or before it, or nowhere.
    for (const id of [`e${n - after}`, `e${n}`, "nope"]) {
      const t = fresh();
      expect(t.findBack(new PathFromLeaf(t, n), after, id)).toBe(-1);
    }
  });

  it("rows read on demand, in runs of nearby entries, equal the rows read whole; a run costs two reads", () => {
    const idArb = fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom("é😀", "x"));
    fc.assert(
      fc.property(fc.array(idArb, { minLength: 1, maxLength: 200 }), fc.array(fc.nat(), { maxLength: 60 }), (ids, picks) => {
        const inputs: EntryTableInput[] = ids.map((id, i) => ({ id, parentId: i === 0 ? null : (ids[i - 1] as string), type: "message", role: "user" }));
        const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 100, byteLength: 100, crc32c: "E3069283" }));
        const bytes = encodeEntryTable(rows, inputs, 1);
        const head = headBytesFor(ids.length, 1);
        const rest = bytes.subarray(head);
        let reads = 0;
        const t = new EntryTable(Buffer.from(bytes.subarray(0, head)), {
          size: rest.length,
          batch: (fn) =>
            fn((offset, length) => {
              reads++;
              return Buffer.from(rest.subarray(offset, offset + length));
            }),
        });
        const want = picks.map((p) => p % ids.length);
        t.prefetch(want);
        const distinct = [...new Set(want)].sort((a, b) => a - b);
        let runs = 0;
        for (let k = 0; k < distinct.length; k++) if (k === 0 || (distinct[k] as number) - (distinct[k - 1] as number) > 8) runs++;
        expect(reads).toBeLessThanOrEqual(2 * runs);
        // Every wanted row was read by the prefetch: asking for them reads nothing more.
        const before = reads;
        for (const i of want) expect(t.row(i)).toEqual(rows[i]);
        expect(reads).toBe(before);
        for (let i = 0; i < ids.length; i++) expect(t.row(i)).toEqual(rows[i]);
        expect(t.id(ids.length - 1)).toBe(ids[ids.length - 1]);
      }),
      { numRuns: 150 },
    );
  });

  it("finds damage: a changed byte in the head is refused when the table is read, one in the rows when they are read whole; a cut table is refused", () => {
    const inputs: EntryTableInput[] = [
      { id: "a", parentId: null, type: "message", role: "user" },
      { id: "b", parentId: "a", type: "compaction" },
    ];
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "0000ABCD" }));
    const good = encodeEntryTable(rows, inputs, 99);
    const head = headBytesFor(2, 1);
    const columnsEnd = directoryBytesFor(2, 1) + 6 * 2;
    for (let at = 0; at < good.length; at++) {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] as number) ^ 0x40;
      if (at >= 52 && at < 60) continue; // reserved header bytes are not read
      if (at >= columnsEnd && at < head) continue; // nor is the padding after the columns
      if (at < head) expect(() => EntryTable.fromBytes(bad), `byte ${at}`).toThrow();
      else expect(EntryTable.fromBytes(bad).checkAll(), `byte ${at}`).toMatch(/checksum/);
    }
    for (let len = 0; len < good.length; len++) expect(() => EntryTable.fromBytes(good.subarray(0, len))).toThrow();
  });
});

/** A table read lazily from its bytes (only its directory up front), counting the column bytes read. */
function lazyTable(bytes: Buffer): { table: EntryTable; columnBytes: () => number } {
  const n = bytes.readUInt32LE(12);
  const segs = bytes.readUInt32LE(36);
  const dir = directoryBytesFor(n, segs);
  const head = headBytesFor(n, segs);
  const rest = bytes.subarray(head);
  let read = 0;
  const columns = (offset: number, into: Uint8Array): number => {
    const part = bytes.subarray(offset, Math.min(offset + into.length, head));
    into.set(part);
    read += part.length;
    return part.length;
  };
  const table = new EntryTable(Buffer.from(bytes.subarray(0, dir)), restInMemory(rest), TABLE, { columns });
  return { table, columnBytes: () => read };
}

describe("11.21 Entry table: blocks of the columns", () => {
  // Parents: mostly the entry before (long chains across blocks), sometimes a jump back,
  // a root, a missing parent, itself, or a later entry (which can close a cycle).
  const parentArb = fc.oneof(
    { weight: 30, arbitrary: fc.constant({ kind: "prev" as const, at: 0 }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("back" as const), at: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constantFrom("root" as const, "missing" as const, "self" as const), at: fc.constant(0) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("later" as const), at: fc.nat() }) },
  );
  const tableArb = fc.integer({ min: 1, max: 3 * BLOCK_ENTRIES + 100 }).chain((n) =>
    fc.tuple(fc.constant(n), fc.array(fc.tuple(fc.nat({ max: n - 1 }), parentArb), { maxLength: 12 }), fc.array(fc.nat({ max: n - 1 }), { minLength: 1, maxLength: 4 })),
  );

  it("the walk from a leaf, as far as it is asked for, is the whole walk's start; it reads only the blocks it reaches", () => {
    fc.assert(
      fc.property(tableArb, ([n, odd, leaves]) => {
        const parentOf = Array.from({ length: n }, (_, i) => (i === 0 ? null : `e${i}`));
        for (const [i, p] of odd) {
          const id = `e${i + 1}`;
          parentOf[i] = p.kind === "prev" ? (i === 0 ? null : `e${i}`) : p.kind === "back" ? `e${(p.at % (i + 1)) + 1}` : p.kind === "root" ? null : p.kind === "missing" ? "gone" : p.kind === "self" ? id : `e${i + 1 + (p.at % (n - i))}`;
        }
        const inputs: EntryTableInput[] = parentOf.map((parentId, i) => ({ id: `e${i + 1}`, parentId, type: "message", role: "user" }));
        const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "00000000" }));
        const bytes = encodeEntryTable(rows, inputs, 1);
        const whole = EntryTable.fromBytes(bytes);
        for (const leaf of leaves) {
          const want = Array.from(whole.pathSeqs(leaf + 1)).reverse(); // leaf first
          const { table, columnBytes } = lazyTable(bytes);
          const path = new PathFromLeaf(table, leaf + 1);
          // Asked for a few entries at a time, as the context asks.
          for (let d = 0; d < want.length + 3; d += 7) {
            const known = path.reach(d + 7);
            expect(known).toBe(Math.min(known, want.length));
            expect(known >= Math.min(d + 7, want.length)).toBe(true);
            for (let k = d; k < Math.min(d + 7, known); k++) expect(path.at(k)).toBe(want[k]);
            // Until the whole walk was needed, only the blocks the steps reached were read.
            if (columnBytes() < 6 * n) {
              const blocks = new Set(want.slice(0, known).map((seq) => Math.floor((seq - 1) / BLOCK_ENTRIES)));
              expect(columnBytes()).toBeLessThanOrEqual(6 * BLOCK_ENTRIES * blocks.size);
            }
          }
          expect(Array.from(path.all())).toEqual(Array.from(whole.pathSeqs(leaf + 1)));
        }
      }),
      { numRuns: 40 },
    );
  });

  it("a changed byte in a block is refused when that block is read: whole at once, lazily when reached", () => {
    const n = 2 * BLOCK_ENTRIES + 10;
    const inputs: EntryTableInput[] = Array.from({ length: n }, (_, i) => ({ id: `e${i + 1}`, parentId: i === 0 ? null : `e${i}`, type: "message", role: i % 2 ? "assistant" : "user" }));
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "00000000" }));
    const good = encodeEntryTable(rows, inputs, 1);
    const cols = directoryBytesFor(n, 1);
    // A byte of each column of the first block: a parentSeq, a typeCode, a roleCode.
    for (const at of [cols + 4 * 5, cols + 4 * n + 5, cols + 5 * n + 5]) {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] as number) ^ 0x02;
      expect(() => EntryTable.fromBytes(bad)).toThrow(/block 1 does not match/);
      const { table } = lazyTable(bad);
      // The last blocks are sound: a walk that stays in them is fine.
      const path = new PathFromLeaf(table, n);
      expect(path.reach(BLOCK_ENTRIES)).toBe(BLOCK_ENTRIES + 10); // and on to the end of the sound blocks, for free
      expect(table.damaged).toBe(false);
      // Reaching the first block (or asking for a whole column) finds the damage.
      expect(() => path.all()).toThrow(expect.objectContaining({ code: "E_SIDECAR_CORRUPT", file: TABLE }));
      expect(table.damaged).toBe(true);
      expect(() => lazyTable(bad).table.typeOf(0)).toThrow(/entries 1-4096 do not match their checksum/);
      expect(lazyTable(bad).table.checkAll()).toMatch(/do not match their checksum/);
    }
  });

  it("an open whose walk meets a damaged block does without the table; one that does not uses it", async () => {
    const n = BLOCK_ENTRIES + 200;
    const lines: object[] = [HEADER];
    for (let i = 1; i <= n; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : `e${i - 1}`, i === n - 50 ? 3 : i === n - 20 ? 4 : i % 2, i === n - 20 ? `e${n - 25}` : ""));
    const file = await storeOf(lines, 1 << 20);
    const root = file.replace(/\.jsonl$/, ".v2");
    const expected = (await openSession(file)).buildContext();
    const tablePath = join(root, TABLE);
    const good = readFileSync(tablePath);
    const cols = directoryBytesFor(n + 0, good.readUInt32LE(36));
    const later = new Date(Date.now() + 60_000);
    const damage = (at: number) => {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] as number) ^ 0x01;
      writeFileSync(tablePath, bad);
      utimesSync(tablePath, later, later);
    };
    // The last block (the context's): the open falls back to offsets.jsonl.
    damage(cols + 4 * (n - 3));
    const a = await openSidecar(file, { mode: "active" });
    expect(a.stats.indexBytes).toBeGreaterThan(0);
    expect(a.buildContext()).toEqual(expected);
    expect(a.records.length).toBe(n);
    await a.close();
    // The first block (not on the context's part of the path): the open uses the table and
    // builds the context; what needs the whole path is refused, naming the table.
    damage(cols + 4 * 3);
    const b = await openSidecar(file, { mode: "active" });
    expect(b.stats.indexBytes).toBe(0);
    expect(b.buildContext()).toEqual(expected);
    expect(() => b.records).toThrow(expect.objectContaining({ code: "E_SIDECAR_CORRUPT", file: TABLE }));
    await b.close();
    // Read whole (validate, sync, info), the table is not used at all.
    expect((await readEntryTable(root)).reason).toMatch(/block 1 does not match/);
    writeFileSync(tablePath, good);
    utimesSync(tablePath, later, later);
    const c = await openSidecar(file, { mode: "active" });
    expect(c.stats.indexBytes).toBe(0);
    expect(c.records.length).toBe(n);
    await c.close();
  });
});

describe("11.21 Entry table: values checked where they are used", () => {
  it("a table whose CRC matches but whose values are impossible is refused by checkAll and by the readers of those values", () => {
    const inputs: EntryTableInput[] = [
      { id: "a", parentId: null, type: "message", role: "user" },
      { id: "b", parentId: "a", type: "message", role: "assistant" },
    ];
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "00000000" }));
    const good = encodeEntryTable(rows, inputs, 50);
    expect(EntryTable.fromBytes(good).checkAll()).toBeUndefined();
    const segs = good.readUInt32LE(36);
    const columns = directoryBytesFor(2, segs);
    const head = headBytesFor(2, segs);
    // Every checksum made to match the forged bytes: the rest's, the one block's (its two
    // parentSeqs, typeCodes and roleCodes), the directory's.
    const forge = (edit: (b: Buffer) => void): EntryTable => {
      const b = Buffer.from(good);
      edit(b);
      b.writeUInt32LE(crc32(b.subarray(head)) >>> 0, 48);
      const block = crc32(b.subarray(columns + 10, columns + 12), crc32(b.subarray(columns + 8, columns + 10), crc32(b.subarray(columns, columns + 8))));
      b.writeUInt32LE(block >>> 0, 64 + 16 * segs);
      b.writeUInt32LE(crc32(b.subarray(64, columns), crc32(b.subarray(0, 60))) >>> 0, 60);
      return EntryTable.fromBytes(b);
    };
    // byteOffset of entry 2 (the first field of its 32-byte row) made negative.
    const badOffset = forge((b) => b.writeDoubleLE(-5, head + 32));
    expect(badOffset.checkAll()).toMatch(/entry 2 has an impossible location/);
    expect(() => badOffset.row(1)).toThrow(/entry 2 has an impossible location/);
    expect(badOffset.row(0).byteOffset).toBe(0);
    // parentSeq of entry 2 pointing past the table: the walk stops there.
    const badParent = forge((b) => b.writeInt32LE(99, columns + 4));
    expect(badParent.checkAll()).toMatch(/parentSeq 99/);
    expect(Array.from(badParent.pathSeqs(2))).toEqual([2]);
  });
});

describe("11.21 Entry table: the active open", () => {
  it("an active open + context reads the table, the index's last row and the context's frames only", async () => {
    const n = 5000;
    const lines: object[] = [HEADER];
    // The context's user messages are 20 KB each: its frames are more than one 64 KB window.
    const big = (i: number) => (i > n - 10 ? "x".repeat(20_000) : "");
    // A thinking-level change 30 entries from the end: the walk back for the context stops there.
    for (let i = 1; i <= n; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : `e${i - 1}`, i === n - 30 ? 3 : i % 2, big(i)));
    // A compaction near the end keeps the last 10 entries before it.
    lines.push(entry(n + 1, "comp", `e${n}`, 4, `e${n - 9}`));
    for (let i = n + 2; i <= n + 6; i++) lines.push(entry(i, `e${i}`, i === n + 2 ? "comp" : `e${i - 1}`, i % 2, big(i)));
    const file = await storeOf(lines, 4 << 20);
    const root = file.replace(/\.jsonl$/, ".v2");
    const reads: string[] = [];
    const store = await openSidecar(file, { mode: "active", onRead: (f) => reads.push(f) });
    const ctx = store.buildContext();
    expect(ctx).toEqual((await openSession(file)).buildContext());
    expect(store.stats.indexBytes).toBe(0);
    // The table's directory, the last block of its columns (the walk back from the leaf
    // ends within it) and the rows of the entries used: less than its head alone.
    expect(store.stats.tableBytes).toBeLessThan(headBytesFor(n + 6, 1));
    expect(store.stats.tableBytes).toBeGreaterThan(6 * (n + 6 - BLOCK_ENTRIES));
    // compaction + the 10 kept + the 5 after it + the thinking-level change; the model comes
    // from the last assistant among those.
    expect(store.stats.framesParsed).toBe(17);
    expect(new Set(reads.filter((f) => !f.startsWith("segments/")))).toEqual(new Set([TABLE, "index/offsets.jsonl"]));
    // The compaction's frame, then the 15 frames from its first kept entry on (~160 KB) in one read.
    expect(reads.filter((f) => f.startsWith("segments/")).length).toBe(2);
    // The path's length needs the whole walk: the rest of the columns, read now.
    const before = store.stats.tableBytes;
    expect(store.loadedCount).toBe(n + 6);
    expect(store.stats.tableBytes - before).toBeGreaterThanOrEqual(6 * (n + 6));
    // Records and the tree are there on request, read from the path's frames.
    expect(store.records.length).toBe(n + 6);
    expect(store.tree.leafId).toBe(`e${n + 6}`);
    expect(store.buildContext()).toEqual(ctx);
    await store.close();
  });

  it("a head read for an open walks in place once; every later walk leaves the paths handed out as they were", async () => {
    const lines: object[] = [HEADER];
    // Two branches off e10, so leaves have paths of different lengths.
    for (let i = 1; i <= 60; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : i === 31 ? "e10" : `e${i - 1}`, i % 2));
    const file = await storeOf(lines);
    const root = file.replace(/\.jsonl$/, ".v2");
    const kept = (await readEntryTable(root, { keepOpen: true })).table as EntryTable;
    const whole = (await readEntryTable(root)).table as EntryTable;
    const paths = [60, 30, 60, 5, 31].map((leaf) => ({ leaf, path: kept.pathSeqs(leaf) }));
    for (const { leaf, path } of paths) expect(Array.from(path)).toEqual(Array.from(whole.pathSeqs(leaf)));
    expect(Array.from((paths[0] as { path: Int32Array }).path)).toEqual([...Array.from({ length: 10 }, (_, k) => k + 1), ...Array.from({ length: 30 }, (_, k) => k + 31)]);
    kept.close();
  });

  it("is ignored, and the open still right, when the index changed after it or it is damaged or missing", async () => {
    const lines: object[] = [HEADER];
    for (let i = 1; i <= 40; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : `e${i - 1}`, i));
    const file = await storeOf(lines);
    const root = file.replace(/\.jsonl$/, ".v2");
    const expected = (await openSession(file)).buildContext();
    const viaTable = await openSidecar(file, { mode: "active" });
    expect(viaTable.stats.indexBytes).toBe(0);
    await viaTable.close();

    const check = async (why: string) => {
      const s = await openSidecar(file, { mode: "active" });
      expect(s.stats.indexBytes, why).toBeGreaterThan(0);
      expect(s.buildContext(), why).toEqual(expected);
      await s.close();
    };
    const index = join(root, "index/offsets.jsonl");
    const later = new Date(Date.now() + 60_000);
    utimesSync(index, later, later);
    expect((await readEntryTable(root)).reason).toMatch(/changed after/);
    await check("index touched");
    const tablePath = join(root, TABLE);
    utimesSync(tablePath, later, later);
    expect((await readEntryTable(root)).table).toBeDefined();
    const good = readFileSync(tablePath);
    // A byte of a parent id (in the rows part): an open reads only the rows it uses, and
    // those it checks against their frames; read whole, the table is refused.
    const restDamaged = Buffer.from(good);
    restDamaged[good.length - 3] = (restDamaged[good.length - 3] as number) ^ 1;
    writeFileSync(tablePath, restDamaged);
    utimesSync(tablePath, later, later);
    expect((await readEntryTable(root)).reason).toMatch(/checksum/);
    const kept = await readEntryTable(root, { keepOpen: true });
    expect(kept.table).toBeDefined();
    kept.table?.close();
    const s = await openSidecar(file, { mode: "active" });
    expect(s.buildContext()).toEqual(expected);
    await s.close();
    // A byte of the head: the table is refused at once, and the open reads offsets.jsonl.
    const headDamaged = Buffer.from(good);
    headDamaged[70] = (headDamaged[70] as number) ^ 1;
    writeFileSync(tablePath, headDamaged);
    utimesSync(tablePath, later, later);
    expect((await readEntryTable(root, { keepOpen: true })).reason).toMatch(/checksum/);
    await check("table damaged");
    rmSync(tablePath);
    expect((await readEntryTable(root)).reason).toMatch(/no entry table/);
    await check("table missing");
  });

  it("sync keeps it current, fills it in when it is missing, and rebuild remakes it", async () => {
    const lines: object[] = [HEADER];
    for (let i = 1; i <= 30; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : `e${i - 1}`, i));
    const file = await storeOf(lines);
    const root = file.replace(/\.jsonl$/, ".v2");
    const more: string[] = [];
    for (let i = 31; i <= 45; i++) more.push(JSON.stringify(entry(i, `e${i}`, i === 40 ? "e3" : `e${i - 1}`, i)));
    appendFileSync(file, `${more.join("\n")}\n`);
    expect((await syncSidecar(file)).action).toBe("appended");
    const expectCurrent = async () => {
      const t = await readEntryTable(root);
      expect(t.reason).toBeUndefined();
      const s = await openSidecar(file, { mode: "active" });
      expect(s.stats.indexBytes).toBe(0);
      expect(s.buildContext()).toEqual((await openSession(file)).buildContext());
      const session = await openSession(file);
      const path = session.tree.pathToRoot(session.leafId).map((r) => r.id);
      expect(path.length).toBe(9); // e1..e3, then e40..e45 (e40 branches off e3)
      expect(s.records.map((r) => r.id).sort()).toEqual(path.sort());
      await s.close();
    };
    await expectCurrent();
    expect((await sidecarInfo(file)).entryTable).toEqual({ state: "current" });
    rmSync(join(root, TABLE));
    expect((await sidecarInfo(file)).entryTable).toEqual({ state: "not used", reason: "no entry table" });
    expect((await syncSidecar(file)).action).toBe("none");
    await expectCurrent();
    rmSync(join(root, TABLE));
    await rebuildSidecarIndex(root);
    await expectCurrent();
  });
});

describe("11.21 Entry table: validate", () => {
  it("checks a current table against the index and the frames; reports one that is not used", async () => {
    const lines: object[] = [HEADER];
    for (let i = 1; i <= 12; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : `e${i - 1}`, i));
    const file = await storeOf(lines);
    const root = file.replace(/\.jsonl$/, ".v2");
    const codes = async () => (await validateSidecar(file)).problems.map((p) => p.code).filter((c) => c.startsWith("entry_table"));
    expect(await codes()).toEqual([]);
    const tablePath = join(root, TABLE);
    const later = new Date(Date.now() + 60_000);
    // A table that decodes and is current, but names another parent for entry 5.
    const t = (await readEntryTable(root)).table as EntryTable;
    const inputs = t.inputs();
    (inputs[4] as EntryTableInput).parentId = "e1";
    writeFileSync(tablePath, encodeEntryTable(t.rows(), inputs, t.offsetsBytes));
    utimesSync(tablePath, later, later);
    const report = await validateSidecar(file);
    expect(report.ok).toBe(false);
    expect(report.problems.find((p) => p.code === "entry_table_mismatch")).toMatchObject({ severity: "error", entrySeq: 5, file: TABLE });
    await rebuildSidecarIndex(root);
    expect(await codes()).toEqual([]);
    // Rows that say another location, CRC or id than offsets.jsonl, one field at a time.
    const fresh = (await readEntryTable(root)).table as EntryTable;
    const changes: ((r: OffsetIndexRow) => OffsetIndexRow)[] = [
      (r) => ({ ...r, byteOffset: r.byteOffset + 1 }),
      (r) => ({ ...r, byteLength: r.byteLength + 1 }),
      (r) => ({ ...r, frameSeq: r.frameSeq + 1 }),
      (r) => ({ ...r, segmentSeq: r.segmentSeq + 1 }),
      (r) => ({ ...r, crc32c: r.crc32c === "00000000" ? "00000001" : "00000000" }),
    ];
    for (const change of changes) {
      const rows = fresh.rows();
      rows[6] = change(rows[6] as OffsetIndexRow);
      writeFileSync(tablePath, encodeEntryTable(rows, fresh.inputs(), fresh.offsetsBytes));
      utimesSync(tablePath, later, later);
      const r = await validateSidecar(file);
      expect(r.problems.find((p) => p.code === "entry_table_mismatch" && /row differs/.test(p.message))).toMatchObject({ entrySeq: 7 });
    }
    await rebuildSidecarIndex(root);
    expect(await codes()).toEqual([]);
    // A damaged table is not used: a warning, and the store is still fine.
    const bytes = readFileSync(tablePath);
    bytes[70] = (bytes[70] as number) ^ 1;
    writeFileSync(tablePath, bytes);
    utimesSync(tablePath, later, later);
    const stale = await validateSidecar(file);
    expect(stale.ok).toBe(true);
    expect(stale.problems.filter((p) => p.code.startsWith("entry_table")).map((p) => [p.code, p.severity])).toEqual([["entry_table_stale", "warning"]]);
  });
});

describe("11.21 Entry table: rollback", () => {
  it("a rollback to a checkpoint leaves the table describing the kept entries", async () => {
    const lines: object[] = [HEADER];
    for (let i = 1; i <= 20; i++) lines.push(entry(i, `e${i}`, i === 1 ? null : `e${i - 1}`, i));
    const file = await storeOf(lines, 700);
    const root = file.replace(/\.jsonl$/, ".v2");
    const cp = await createCheckpoint(file);
    const more: string[] = [];
    for (let i = 21; i <= 35; i++) more.push(JSON.stringify(entry(i, `e${i}`, `e${i - 1}`, i)));
    appendFileSync(file, `${more.join("\n")}\n`);
    await syncSidecar(file);
    expect((await readEntryTable(root)).table?.count).toBe(35);
    await rollbackToCheckpoint(file, cp.checkpointSeq);
    const t = await readEntryTable(root);
    expect(t.table?.count).toBe(20);
    const a = await openSidecar(file, { mode: "active" });
    const b = await openSidecar(file, { mode: "active", entryTable: false });
    expect(a.stats.indexBytes).toBe(0);
    expect(a.leafId).toBe("e20");
    expect(a.buildContext()).toEqual(b.buildContext());
    await a.close();
    await b.close();
  });
});

/** A random store with duplicate ids, self-parents, missing and forward parents (cycles). */
const storeArb = fc.array(
  fc.record({
    id: fc.nat({ max: 14 }),
    parent: fc.oneof(fc.constant<"null">("null"), fc.constant<"self">("self"), fc.constant<"missing">("missing"), fc.constant<"prev">("prev"), fc.nat({ max: 14 })),
    kind: fc.nat({ max: 7 }),
    kept: fc.nat({ max: 14 }),
  }),
  { minLength: 1, maxLength: 30 },
);

describe("11.21 Entry table: property", () => {
  it("an active open through the table equals the frame-by-frame open, at every leaf, and the JSONL reader when ids are unique", async () => {
    await fc.assert(
      fc.asyncProperty(storeArb, async (spec) => {
        const lines: object[] = [HEADER];
        spec.forEach((s, i) => {
          const id = `i${s.id}`;
          const parentId = s.parent === "null" ? null : s.parent === "self" ? id : s.parent === "missing" ? "gone" : s.parent === "prev" ? (i === 0 ? null : `i${(spec[i - 1] as { id: number }).id}`) : `i${s.parent}`;
          lines.push(entry(i + 1, id, parentId, s.kind, `i${s.kept}`));
        });
        const file = await storeOf(lines, 800);
        const unique = new Set(spec.map((s) => s.id)).size === spec.length;
        const session = unique ? await openSession(file) : undefined;
        for (const leafId of [undefined, ...new Set(spec.map((s) => `i${s.id}`))]) {
          const a = await openSidecar(file, { mode: "active", ...(leafId ? { leafId } : {}) });
          const b = await openSidecar(file, { mode: "active", entryTable: false, ...(leafId ? { leafId } : {}) });
          expect(a.stats.indexBytes).toBe(0);
          expect(a.leafId).toBe(b.leafId);
          expect(a.buildContext()).toEqual(b.buildContext());
          expect(a.records.map((r) => r.entrySeq)).toEqual(b.records.map((r) => r.entrySeq));
          expect((await a.readActivePath(leafId)).map((e) => e.record.entrySeq)).toEqual((await b.readActivePath(leafId)).map((e) => e.record.entrySeq));
          if (session) expect(a.buildContext()).toEqual(session.buildContext(leafId ?? session.records[session.records.length - 1]?.id));
          await a.close();
          await b.close();
        }
      }),
      { numRuns: 60, seed: 20261121 },
    );
  });
});

describe("11.21 Entry table: appending", () => {
  /** Entries with ids from a small set (repeats), and parents of every kind; cut into old and new at `k`. */
  const appendArb = fc
    .array(
      fc.record({
        id: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 40 }).map((n) => `i${n}`) }, { weight: 1, arbitrary: fc.constantFrom("é😀", "x", "\ud800", "\uFFFD") }),
        parent: fc.oneof(
          { weight: 6, arbitrary: fc.constant<"prev">("prev") },
          { weight: 2, arbitrary: fc.nat({ max: 40 }).map((n) => `i${n}`) },
          { weight: 1, arbitrary: fc.constantFrom<"null" | "self" | "missing">("null", "self", "missing") },
        ),
        kind: fc.nat({ max: 7 }),
      }),
      { minLength: 1, maxLength: 60 },
    )
    .chain((spec) => fc.tuple(fc.constant(spec), fc.nat({ max: spec.length })));

  it("gives the bytes encoding every entry at once gives, and declines only when an old entry's parent could change", () => {
    let taken = 0;
    let runs = 0;
    fc.assert(
      fc.property(appendArb, ([spec, k]) => {
        runs++;
        const inputs: EntryTableInput[] = spec.map((s, i) => {
          const parentId = s.parent === "null" ? null : s.parent === "self" ? s.id : s.parent === "missing" ? "gone" : s.parent === "prev" ? (i === 0 ? null : (spec[i - 1] as { id: string }).id) : s.parent;
          const type = ["message", "compaction", "model_change", "label"][s.kind % 4] as string;
          return type === "message" ? { id: s.id, parentId, type, role: ["user", "assistant"][s.kind % 2] as string } : { id: s.id, parentId, type };
        });
        const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1 + Math.floor(i / 7), frameSeq: 1 + (i % 7), byteOffset: (i % 7) * 50, byteLength: 50, crc32c: "E3069283" }));
        const old = EntryTable.fromBytes(encodeEntryTable(rows.slice(0, k), inputs.slice(0, k), 10 * k));
        const out = old.appended(rows.slice(k), inputs.slice(k), 10 * spec.length);
        const oldIds = new Set(inputs.slice(0, k).map((e) => e.id));
        const oldMissing = new Set(inputs.slice(0, k).flatMap((e) => (e.parentId !== null && e.parentId !== e.id && !oldIds.has(e.parentId) ? [e.parentId] : [])));
        const collides = inputs.slice(k).some((e) => oldIds.has(e.id) || oldMissing.has(e.id));
        // Ids the blob's UTF-8 cannot tell apart ("\ud800" is stored as U+FFFD) are left to the whole encoding.
        const ambiguous = inputs.slice(k).some((e) => [e.id, e.parentId ?? ""].some((id) => id.includes("\uFFFD") || id.includes("\ud800")));
        expect(out === undefined).toBe(collides || ambiguous);
        if (out) {
          taken++;
          expect(out.equals(encodeEntryTable(rows, inputs, 10 * spec.length))).toBe(true);
        }
      }),
      { numRuns: 300, seed: 20261121 },
    );
    // The fast path is the common one, not a corner the property never reaches.
    expect(taken).toBeGreaterThan(runs / 4);
  });

  it("finds the last entry of each id, comparing bytes by key or decoding every id, with the same result", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom<string>("a", "b", "é😀", "msg_0001", "msg_0002", "x"), { minLength: 1, maxLength: 40 }), fc.subarray(["a", "b", "é😀", "msg_0001", "msg_0002", "nope", ""]), (ids, wanted) => {
        const inputs: EntryTableInput[] = ids.map((id) => ({ id, parentId: null, type: "label" }));
        const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "0000ABCD" }));
        const t = EntryTable.fromBytes(encodeEntryTable(rows, inputs, 1));
        const want = new Map(wanted.map((id) => [id, ids.lastIndexOf(id) + 1]));
        expect(t.lastSeqsOf(wanted)).toEqual(want);
        expect(t.lastSeqsOf(wanted, 0)).toEqual(want);
      }),
      { numRuns: 200 },
    );
    const t = EntryTable.fromBytes(encodeEntryTable([makeIndexRow({ entrySeq: 1, entryId: "a", segmentSeq: 1, frameSeq: 1, byteOffset: 0, byteLength: 10, crc32c: "0000ABCD" })], [{ id: "a", parentId: null, type: "label" }], 1));
    // Ids its UTF-8 blob cannot tell apart are not looked up at all.
    expect(t.lastSeqsOf(["a", "\ud800"])).toBeUndefined();
    expect(t.lastSeqsOf(["\uFFFD"])).toBeUndefined();
  });

  it("refuses rows that do not continue the table", () => {
    const inputs: EntryTableInput[] = [
      { id: "a", parentId: null, type: "message", role: "user" },
      { id: "b", parentId: "a", type: "message", role: "assistant" },
    ];
    const rows = inputs.map((e, i) => makeIndexRow({ entrySeq: i + 1, entryId: e.id, segmentSeq: 1, frameSeq: i + 1, byteOffset: i * 10, byteLength: 10, crc32c: "0000ABCD" }));
    const t = EntryTable.fromBytes(encodeEntryTable(rows.slice(0, 1), inputs.slice(0, 1), 1));
    expect(() => t.appended([{ ...(rows[1] as OffsetIndexRow), entrySeq: 3 }], inputs.slice(1), 2)).toThrow(/entrySeq/);
    expect(() => t.appended(rows.slice(1), [{ ...(inputs[1] as EntryTableInput), id: "c" }], 2)).toThrow(/the entry is c/);
  });
});
