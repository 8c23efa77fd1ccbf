/**
 * SPEC 11.11: the one-function frame path of an active open's context (entryIfSound)
 * against the checks that word problems (checkIndexedFrame with the cheap checks, then
 * recordFromFrame): on frames the writer makes, frames whose fields disagree, and byte
 * mutations of both, it returns an entry exactly when those checks find nothing, and
 * then the same entry.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { byteMutations, mutate } from "../helpers/byte-mutations.js";
import { CHEAP_CHECKS, checkIndexedFrame, entryIfSound, recordFromFrame } from "../../src/v2/frame-check.js";
import { encodeFrame } from "../../src/v2/frame.js";
import { makeIndexRow, type OffsetIndexRow } from "../../src/v2/index-row.js";

const text = fc.constantFrom("a", "b1", "x-y", "é", 'q"', "", "ts");
const parentValue = fc.constantFrom<unknown>(undefined, null, "", "p", "a", 7, ["p"]);

/** A payload: mostly an entry, sometimes with fields of the wrong kind, sometimes not an object. */
const payload = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constantFrom("message", "label"), id: fc.constantFrom("a", "b1"), parentId: fc.constantFrom<unknown>(null, "", "p"), timestamp: fc.constant("2025-01-01T00:00:00.000Z"), body: fc.string({ maxLength: 8 }) }, { requiredKeys: ["type", "id", "timestamp", "body"] }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constantFrom<unknown>("message", "", 3), id: fc.constantFrom<unknown>("a", "", null), parentId: parentValue, timestamp: fc.constantFrom<unknown>("t", 5), body: fc.string({ maxLength: 8 }) }, { requiredKeys: ["body"] }) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([1], "s", 1, null) },
);

/** A sequence number: mostly valid, sometimes one no frame may have. */
const seq = fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5) });

/** "<own>": the field the frame and row would have for this payload; otherwise a value that may disagree. */
const own = <T>(other: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: fc.constant<"<own>">("<own>") }, { weight: 1, arbitrary: other });

const frameCase = fc.record({
  payload,
  entryId: own(text),
  entryType: own(text),
  parent: own(fc.constantFrom<string | null>(null, "p", "a")),
  seqs: fc.tuple(seq, seq, seq),
  // Rows are checked where they are read (table or index): their numbers are always valid.
  rowSeqs: own(fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))),
  timestamp: fc.constantFrom("2025-01-01T00:00:00.000Z", "", 'a"b', "a\\b", "\u0001", "é"),
  rowId: own(text),
});

type FrameCase = typeof frameCase extends fc.Arbitrary<infer T> ? T : never;

/** The frame line and its row. */
function build(c: FrameCase): { bytes: Buffer; row: OffsetIndexRow } {
  const p = c.payload as Record<string, unknown> | null;
  const own = (k: string): unknown => (p !== null && typeof p === "object" && !Array.isArray(p) ? p[k] : undefined);
  const asText = (v: unknown, fallback: string): string => (typeof v === "string" && v !== "" ? v : fallback);
  const entryId = c.entryId === "<own>" ? asText(own("id"), "a") : c.entryId;
  const entryType = c.entryType === "<own>" ? asText(own("type"), "message") : c.entryType;
  const ownParent = own("parentId");
  const parentEntryId = c.parent === "<own>" ? (typeof ownParent === "string" && ownParent !== "" ? ownParent : null) : c.parent;
  const [segmentSeq, frameSeq, entrySeq] = c.seqs;
  const body = Buffer.from(JSON.stringify(c.payload), "utf8");
  const bytes = encodeFrame({ segmentSeq, frameSeq, entrySeq, entryId, parentEntryId, entryType, timestamp: c.timestamp }, body);
  const [rs, rf, re] = (c.rowSeqs === "<own>" ? c.seqs : c.rowSeqs).map((n) => (Number.isSafeInteger(n) && n >= 1 ? n : 1)) as [number, number, number];
  const row = makeIndexRow({ entrySeq: re, entryId: c.rowId === "<own>" ? entryId : c.rowId, segmentSeq: rs, frameSeq: rf, byteOffset: 0, byteLength: bytes.length, crc32c: "00000000" });
  return { bytes, row };
}

/** What the wording path makes of the frame: the entry, or undefined when it finds a problem. */
function wordingPath(bytes: Buffer, row: OffsetIndexRow): unknown {
  const checked = checkIndexedFrame(bytes, row, CHEAP_CHECKS);
  if (checked.problems.length > 0 || !checked.frame) return undefined;
  const rec = recordFromFrame(checked.frame, row);
  return rec.record && rec.value ? rec.value : undefined;
}

function agree(bytes: Buffer, row: OffsetIndexRow): boolean {
  const want = wordingPath(bytes, row);
  const got = entryIfSound(bytes, row);
  expect(got === undefined).toBe(want === undefined);
  if (want !== undefined) expect(got).toEqual(want);
  return want !== undefined;
}

describe("11.11 Active open: a context's frames through entryIfSound", () => {
  it("returns the entry exactly when the frame checks find nothing, whatever the fields say", () => {
    let sound = 0;
    fc.assert(
      fc.property(frameCase, (c) => {
        const { bytes, row } = build(c);
        if (agree(bytes, row)) sound++;
      }),
      { numRuns: 3000 },
    );
    // The generator makes sound frames too, so the equality above is tested both ways.
    expect(sound).toBeGreaterThan(150);
  });

  it("and on byte mutations of those frames (and of their line end)", () => {
    fc.assert(
      fc.property(frameCase, byteMutations, (c, edits) => {
        const { bytes, row } = build(c);
        agree(mutate(bytes, edits), row);
      }),
      { numRuns: 3000 },
    );
  });

  it("takes a frame the writer makes, with the rows the writer makes", () => {
    const entry = { type: "message", id: "e1", parentId: "e0", timestamp: "2025-01-01T00:00:00.000Z", message: { role: "user", content: "héllo" } };
    const bytes = encodeFrame({ segmentSeq: 1, frameSeq: 4, entrySeq: 9, entryId: "e1", parentEntryId: "e0", entryType: "message", timestamp: entry.timestamp }, Buffer.from(JSON.stringify(entry)));
    const row = makeIndexRow({ entrySeq: 9, entryId: "e1", segmentSeq: 1, frameSeq: 4, byteOffset: 0, byteLength: bytes.length, crc32c: "00000000" });
    expect(entryIfSound(bytes, row)).toEqual(entry);
    // Without its line end, or with a row naming another frame, it is left to the wording path.
    expect(entryIfSound(bytes.subarray(0, bytes.length - 1), row)).toBeUndefined();
    expect(entryIfSound(bytes, { ...row, frameSeq: 5 })).toBeUndefined();
    // Heads a byte or two from the writer's spelling: read as the definition reads them.
    const edits: [string, string][] = [
      ['"payloadSha256"', '"payloadSha257"'],
      ['"timestamp":"2025', '"timestamp":"\u0001'],
      ['"payloadBytes":', '"payloadBytes":0'],
      ['"frameSeq":4', '"frameSeq":4.0'],
      ['"entryType":"message"', '"entryType":"message","x":1'],
    ];
    for (const [from, to] of edits) {
      const bad = Buffer.from(bytes.toString().replace(from, to));
      expect(bad.equals(bytes)).toBe(false);
      expect(entryIfSound(bad, { ...row, byteLength: bad.length })).toEqual(wordingPath(bad, { ...row, byteLength: bad.length }));
    }
    // A spelling the writer does not use but the definition reads: taken, by JSON.parse.
    const spaced = Buffer.from(bytes.toString().replace('"frameSeq":4', '"frameSeq": 4'));
    expect(entryIfSound(spaced, row)).toEqual(entry);
  });
});
