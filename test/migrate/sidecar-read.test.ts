/**
 * The index reader of status and verify (src/migrate/sidecar-read.ts): line numbers, byte
 * offsets, bad rows, blank lines and a torn last line are reported alike whether the
 * lines come one by one (indexLines) or a read's worth at a time (indexLineBatches), for
 * an index far larger than one read.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { indexLineBatches, indexLines, type IndexLine } from "../../src/migrate/sidecar-read.js";
import { encodeIndexRow, makeIndexRow } from "../../src/v2/index.js";
import { useTempDirs } from "./helpers.js";

const temp = useTempDirs();

describe("index lines", () => {
  it("one by one and in batches: the same lines, numbered and placed as in the file", async () => {
    const root = temp();
    mkdirSync(join(root, "index"));
    const lines: string[] = [];
    for (let i = 1; i <= 12000; i++) {
      if (i % 997 === 0) lines.push("{not json}\n");
      if (i % 1499 === 0) lines.push("  \n");
      lines.push(encodeIndexRow(makeIndexRow({ entrySeq: i, entryId: `entry-${i}`, segmentSeq: 1, frameSeq: i, byteOffset: i * 100, byteLength: 100, crc32c: "0A0B0C0D" })));
    }
    lines.push('{"schema":"pi.session_store_v2.offset_index.v1","entrySeq":12001');
    const text = lines.join("");
    expect(text.length).toBeGreaterThan(2 << 20);
    writeFileSync(join(root, "index", "offsets.jsonl"), text);
    const one: IndexLine[] = [];
    for await (const l of indexLines(root)) one.push(l);
    const batched: IndexLine[] = [];
    let batches = 0;
    for await (const b of indexLineBatches(root)) {
      batches++;
      batched.push(...b);
    }
    expect(batched).toEqual(one);
    expect(batches).toBeGreaterThan(2);
    expect(one.filter((l) => l.ok)).toHaveLength(12000);
    const bad = one.filter((l) => !l.ok);
    expect(bad.map((l) => [l.ok, !l.ok && l.unterminated])).toEqual([...Array.from({ length: 12 }, () => [false, false]), [false, true]]);
    // Every line's offset and number are where it is in the file.
    const starts: number[] = [0];
    for (let k = 0; k < text.length; k++) if (text[k] === "\n") starts.push(k + 1);
    for (const l of one) expect(starts[l.line - 1]).toBe(l.offset);
  });
});
