/**
 * The rows a validation thread took as prechecked travel back packed
 * (src/migrate/prechecked-rows.ts); verify uses the thread's report only if every packed
 * row is a row it vouched for, field for field. Packed and checked, that must decide
 * exactly as comparing the row objects did.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { everyPackedRowIs, packedCount, packRows, RowPacker, rowsByEntrySeq, samePacked } from "../../src/migrate/prechecked-rows.js";
import { makeIndexRow, type OffsetIndexRow } from "../../src/v2/index-row.js";

const hex8 = fc.integer({ min: 0, max: 0xffffffff }).map((n) => n.toString(16).toUpperCase().padStart(8, "0"));
const row = (entrySeq: number) =>
  fc
    .record({
      entryId: fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }),
      segmentSeq: fc.integer({ min: 1, max: 5 }),
      frameSeq: fc.integer({ min: 1, max: 1000 }),
      byteOffset: fc.nat({ max: 2 ** 40 }),
      byteLength: fc.integer({ min: 1, max: 1 << 24 }),
      crc32c: hex8,
    })
    .map((r) => makeIndexRow({ ...r, entrySeq }));

/** The check as it was made on row objects. */
function sameRows(rows: readonly OffsetIndexRow[], byEntrySeq: readonly (OffsetIndexRow | undefined)[]): boolean {
  return rows.every((b) => {
    const a = byEntrySeq[b.entrySeq];
    return a !== undefined && a.entrySeq === b.entrySeq && a.entryId === b.entryId && a.segmentSeq === b.segmentSeq && a.frameSeq === b.frameSeq && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength && a.crc32c === b.crc32c;
  });
}

/** A change to one field of a row (or none). */
const change = fc.constantFrom("none", "drop", "entryId", "idPrefix", "segmentSeq", "frameSeq", "byteOffset", "byteLength", "crc32c");

function changed(r: OffsetIndexRow, how: string): OffsetIndexRow | undefined {
  switch (how) {
    case "drop":
      return undefined;
    case "entryId":
      return { ...r, entryId: `${r.entryId}x` };
    case "idPrefix":
      return r.entryId.length > 1 ? { ...r, entryId: r.entryId.slice(1) } : { ...r, entryId: `y${r.entryId}` };
    case "segmentSeq":
    case "frameSeq":
    case "byteOffset":
    case "byteLength":
      return { ...r, [how]: r[how] + 1 };
    case "crc32c":
      return { ...r, crc32c: r.crc32c === "00000000" ? "00000001" : "00000000" };
    default:
      return r;
  }
}

describe("rows taken as prechecked, packed", () => {
  it("decides as the comparison of row objects, whatever row is changed or missing", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }).chain((n) => fc.tuple(fc.tuple(...Array.from({ length: n }, (_, i) => row(i + 1))), fc.array(fc.tuple(fc.nat(), change), { maxLength: 3 }))),
        ([rows, changes]) => {
          const vouched: (OffsetIndexRow | undefined)[] = [];
          for (const r of rows) vouched[r.entrySeq] = r;
          for (const [at, how] of changes) {
            if (rows.length === 0) break;
            const r = rows[at % rows.length] as OffsetIndexRow;
            vouched[r.entrySeq] = changed(r, how);
          }
          const packed = packRows(rows);
          expect(packedCount(packed)).toBe(rows.length);
          expect(everyPackedRowIs(packed, vouched)).toBe(sameRows(rows, vouched));
        },
      ),
      { numRuns: 400 },
    );
  });

  it("ids that run into each other or into a CRC are told apart", () => {
    const a = makeIndexRow({ entrySeq: 1, entryId: "ab", segmentSeq: 1, frameSeq: 1, byteOffset: 0, byteLength: 10, crc32c: "0000000A" });
    const b = makeIndexRow({ entrySeq: 2, entryId: "c", segmentSeq: 1, frameSeq: 2, byteOffset: 10, byteLength: 10, crc32c: "0000000B" });
    const packed = packRows([a, b]);
    expect(everyPackedRowIs(packed, [undefined, a, b])).toBe(true);
    expect(everyPackedRowIs(packed, [undefined, { ...a, entryId: "a" }, b])).toBe(false);
    expect(everyPackedRowIs(packed, [undefined, a, { ...b, entryId: "0000000Ac" }])).toBe(false);
    // A packing whose text does not add up is refused.
    expect(everyPackedRowIs({ nums: packed.nums, text: `${packed.text}z` }, [undefined, a, b])).toBe(false);
    expect(everyPackedRowIs({ nums: packed.nums.subarray(0, 5), text: packed.text }, [undefined, a, b])).toBe(false);
  });

  it("rows packed one at a time pack as packRows packs them, and unpack to the rows", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9000 }).chain((n) => fc.tuple(fc.constant(n), row(1))), ([n, first]) => {
        const rows = Array.from({ length: n }, (_, i) => ({ ...first, entrySeq: i + 1, entryId: `${first.entryId}${i}`, frameSeq: i + 1 }));
        const packer = new RowPacker();
        for (const r of rows) packer.add(r);
        const mine = packer.packed();
        expect(samePacked(mine, packRows(rows))).toBe(true);
        const back = rowsByEntrySeq(mine);
        expect(back.slice(1)).toEqual(rows);
        if (n > 0) expect(samePacked(mine, packRows(rows.slice(1)))).toBe(false);
        if (n > 0) expect(samePacked(mine, packRows([...rows.slice(0, -1), { ...(rows[n - 1] as OffsetIndexRow), byteLength: (rows[n - 1] as OffsetIndexRow).byteLength + 1 }]))).toBe(false);
      }),
      { numRuns: 30 },
    );
  });
});
