/**
 * SegmentWriter (src/v2/segment-writer.ts) writes one buffer while it frames the next:
 * whatever the frame sizes (small ones, ones that fill several write buffers, one larger
 * than a write buffer) and the segment rotation, every segment holds exactly its frames,
 * in order, each matching its row's offset, length and CRC, and the index holds the rows.
 */
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { crc32cHex } from "../../src/v2/crc32c.js";
import { decodeFrame } from "../../src/v2/frame.js";
import { decodeIndexRow } from "../../src/v2/index-row.js";
import { segmentRelPath } from "../../src/v2/layout.js";
import { emptyWriterState, SegmentWriter } from "../../src/v2/segment-writer.js";
import { SegmentReader } from "../../src/v2/segment-reader.js";
import type { OffsetIndexRow } from "../../src/v2/index-row.js";
import type { ReadStats } from "../../src/v2/read-stats.js";
import { fixedClock, Scratch } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

function payload(i: number, size: number): Buffer {
  const head = `{"type":"message","id":"e${i}","text":"`;
  return Buffer.from(`${head}${"x".repeat(Math.max(0, size - head.length - 2))}"}`, "utf8");
}

describe("SegmentWriter", () => {
  it("puts every frame where its row says, across write buffers and segments", async () => {
    const root = scratch.sub();
    for (const d of ["segments", "index"]) mkdirSync(join(root, d));
    const w = new SegmentWriter(root, emptyWriterState(), { segmentBytes: 7 << 20, now: fixedClock() });
    const sizes = [...Array.from({ length: 300 }, (_, i) => 1000 + ((i * 7919) % 40000)), 5 << 20, 300, ...Array.from({ length: 200 }, () => 30000), 9 << 20, 10];
    const payloads = sizes.map((n, i) => payload(i + 1, n));
    for (let i = 0; i < payloads.length; i++) {
      await w.append({ entryId: `e${i + 1}`, parentEntryId: i === 0 ? null : `e${i}`, entryType: "message", payload: payloads[i] as Buffer });
    }
    await w.commit();
    const rows = readFileSync(join(root, "index", "offsets.jsonl"), "utf8").trimEnd().split("\n").map((l) => {
      const d = decodeIndexRow(l);
      if (!d.ok) throw new Error(d.message);
      return d.value;
    });
    expect(rows).toEqual(w.rows);
    const segs = new Map<number, Buffer>();
    const ends = new Map<number, number>();
    for (const [i, r] of rows.entries()) {
      if (!segs.has(r.segmentSeq)) segs.set(r.segmentSeq, readFileSync(join(root, segmentRelPath(r.segmentSeq))));
      const bytes = (segs.get(r.segmentSeq) as Buffer).subarray(r.byteOffset, r.byteOffset + r.byteLength);
      expect(crc32cHex(bytes)).toBe(r.crc32c);
      const f = decodeFrame(bytes.subarray(0, -1));
      expect(f.ok && f.value.payload.equals(payloads[i] as Buffer)).toBe(true);
      expect(r.byteOffset).toBe(ends.get(r.segmentSeq) ?? 0);
      ends.set(r.segmentSeq, r.byteOffset + r.byteLength);
    }
    expect(segs.size).toBeGreaterThan(2);
    for (const [seq, end] of ends) expect(statSync(join(root, segmentRelPath(seq))).size).toBe(end);
  });

  it("frames written so read back the same through the read-ahead reader with reused windows", async () => {
    const root = scratch.sub();
    for (const d of ["segments", "index"]) mkdirSync(join(root, d));
    const w = new SegmentWriter(root, emptyWriterState(), { segmentBytes: 3 << 20, now: fixedClock() });
    const payloads = Array.from({ length: 400 }, (_, i) => payload(i + 1, 200 + ((i * 7919) % 30000)));
    payloads.splice(150, 0, payload(999, 300 << 10)); // longer than the reader's window
    for (let i = 0; i < payloads.length; i++) await w.append({ entryId: `e${i + 1}`, parentEntryId: null, entryType: "message", payload: payloads[i] as Buffer });
    await w.commit();
    const stats = { segmentBytes: 0, segmentOpens: 0 } as ReadStats;
    const seen: [string, number, number][] = [];
    const reader = new SegmentReader(root, { views: true, sequentialViews: true, window: 64 << 10, stats, onRead: (f, o, n) => seen.push([f, o, n]) });
    const files = new Map<number, Buffer>();
    try {
      for (const r of w.rows) {
        if (!files.has(r.segmentSeq)) files.set(r.segmentSeq, readFileSync(join(root, segmentRelPath(r.segmentSeq))));
        const got = await reader.read(r);
        expect(got.equals((files.get(r.segmentSeq) as Buffer).subarray(r.byteOffset, r.byteOffset + r.byteLength))).toBe(true);
      }
      expect(stats.segmentOpens).toBe(files.size);
      expect(stats.segmentBytes).toBe(seen.reduce((n, x) => n + x[2], 0));
      expect(stats.segmentBytes).toBeGreaterThanOrEqual([...files.values()].reduce((n, b) => n + b.length, 0));
      const last = w.rows[w.rows.length - 1] as OffsetIndexRow;
      await expect(reader.read({ ...last, byteLength: last.byteLength + 1 })).rejects.toMatchObject({ code: "E_SIDECAR_CORRUPT" });
      await expect(reader.read({ ...last, segmentSeq: 99 })).rejects.toMatchObject({ code: "E_SIDECAR_CORRUPT" });
    } finally {
      await reader.close();
    }
  });
});
