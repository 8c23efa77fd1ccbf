/**
 * The fast index-row reader (src/v2/index-row-fast.ts) against the definition
 * (decodeIndexRow on the row's text: JSON.parse and the field checks): on rows the writer
 * makes and on mutations of them, whatever the fast path accepts, the definition accepts
 * with the same values; and it accepts every row the writer makes. The reader runs as
 * WebAssembly where it can, else as the JavaScript byte cursor: the two agree on every
 * input.
 */
import fc from "fast-check";
import { byteMutations, mutate } from "../helpers/byte-mutations.js";
import { describe, expect, it } from "vitest";
import { IN_MAX } from "../../src/v2/fixed-fields-program.js";
import { cursorIndexRow, fastIndexRow } from "../../src/v2/index-row-fast.js";
import { decodeIndexRow, encodeIndexRow, makeIndexRow } from "../../src/v2/index-row.js";

const idChars = fc.constantFrom(..."abcXYZ019_-:. é\"\\\u0001".split(""));
const str = fc.array(idChars, { minLength: 0, maxLength: 12 }).map((a) => a.join(""));
const big = fc.constantFrom(1, 9, 10, 2 ** 31, Number.MAX_SAFE_INTEGER, 999999999999999, 1000000000000000);
const seq = fc.oneof(fc.integer({ min: 1, max: 1000 }), big);
const crc = fc.array(fc.constantFrom(..."0123456789ABCDEFabcdef".split("")), { minLength: 8, maxLength: 8 }).map((a) => a.join(""));

const row = fc.record({
  entrySeq: seq,
  entryId: str,
  segmentSeq: seq,
  frameSeq: seq,
  byteOffset: fc.oneof(fc.nat(), fc.constant(0), big),
  byteLength: seq,
  crc32c: crc,
});

/** The line's bytes, "\n" excluded. */
function bytesOf(r: Parameters<typeof makeIndexRow>[0]): Buffer {
  return Buffer.from(encodeIndexRow(makeIndexRow(r)).slice(0, -1), "utf8");
}

/** Compare the fast reader with the definition on `b`; whether the fast reader took it. */
function agree(b: Buffer): boolean {
  const fast = fastIndexRow(b);
  // WebAssembly and the JavaScript cursor read every input alike.
  expect(fast).toEqual(cursorIndexRow(b));
  const slow = decodeIndexRow(b.toString("utf8"));
  if (fast !== undefined) {
    expect(slow.ok).toBe(true);
    if (slow.ok) expect({ ...fast }).toEqual({ ...slow.value });
  }
  // decodeIndexRow on bytes (fast path first) always says what the definition says.
  const viaBytes = decodeIndexRow(b);
  expect(viaBytes.ok).toBe(slow.ok);
  if (viaBytes.ok && slow.ok) expect({ ...viaBytes.value }).toEqual({ ...slow.value });
  else if (!viaBytes.ok && !slow.ok) expect(viaBytes.message).toBe(slow.message);
  return fast !== undefined;
}

describe("fast index-row reader", () => {
  it("reads every plain row the writer makes, with the definition's values", () => {
    fc.assert(
      fc.property(row, (r) => {
        const plain = /^[\x20-\x7e]+$/.test(r.entryId) && !/["\\]/.test(r.entryId);
        const fine = [r.entrySeq, r.segmentSeq, r.frameSeq, r.byteOffset, r.byteLength].every((n) => n <= 999999999999999) && /^[0-9A-F]{8}$/.test(r.crc32c);
        const took = agree(bytesOf(r));
        if (plain && fine) expect(took).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("never accepts a mutated row the definition refuses, nor reads it differently", () => {
    fc.assert(
      fc.property(row, byteMutations, (r, edits) => {
        agree(mutate(bytesOf(r), edits));
      }),
      { numRuns: 3000 },
    );
  });

  it("falls back on what the writer never makes, and the definition decides", () => {
    const base = encodeIndexRow(makeIndexRow({ entrySeq: 1, entryId: "a", segmentSeq: 1, frameSeq: 1, byteOffset: 0, byteLength: 10, crc32c: "0A0B0C0D" })).slice(0, -1);
    const variants: [string, boolean][] = [
      [base.replace('"frameSeq":1', '"frameSeq": 1'), true],
      [base.replace('"entrySeq":1,"entryId":"a"', '"entryId":"a","entrySeq":1'), true],
      [base.replace('"entryId":"a"', '"entryId":"\\u0061"'), true],
      [base.replace('"byteLength":10', '"byteLength":1e1'), true],
      [base.replace('"byteLength":10', '"byteLength":10.5'), false],
      [base.replace('"entrySeq":1', '"entrySeq":01'), false],
      [base.replace('"byteOffset":0', '"byteOffset":-0'), true],
      [base.replace('"crc32c":"0A0B0C0D"', '"crc32c":"0a0b0c0d"'), false],
      [base.replace('"state":"active"', '"state":"deleted"'), false],
      [base.replace("}", ',"entrySeq":2}'), true],
      [`${base} `, true],
    ];
    for (const [v, ok] of variants) {
      const b = Buffer.from(v, "utf8");
      expect(fastIndexRow(b)).toBeUndefined();
      expect(decodeIndexRow(b).ok).toBe(ok);
      agree(b);
    }
    expect(fastIndexRow(Buffer.from(base, "utf8"))).toEqual({ schema: "pi.session_store_v2.offset_index.v1", entrySeq: 1, entryId: "a", segmentSeq: 1, frameSeq: 1, byteOffset: 0, byteLength: 10, crc32c: "0A0B0C0D", state: "active" });
    // A view inside a larger buffer (as the index readers pass them) reads the same.
    const inside = Buffer.from(`xx${base}\nyy`, "utf8").subarray(2, 2 + base.length);
    expect(decodeIndexRow(new Uint8Array(inside.buffer, inside.byteOffset, inside.length))).toEqual({ ok: true, value: fastIndexRow(Buffer.from(base)) });
  });

  it("a row longer than the module's input area is read by the cursor, with the same result", () => {
    const long = Buffer.from(encodeIndexRow(makeIndexRow({ entrySeq: 3, entryId: "x".repeat(IN_MAX), segmentSeq: 1, frameSeq: 3, byteOffset: 7, byteLength: 9, crc32c: "00000000" })).slice(0, -1), "latin1");
    expect(long.length).toBeGreaterThan(IN_MAX);
    expect(fastIndexRow(long)).toEqual(decodeIndexRow(long.toString("latin1")).ok ? (decodeIndexRow(long.toString("latin1")) as { value: unknown }).value : undefined);
    // Each boundary of the integers and strings, read back after rows of other lengths.
    for (const n of [1, 9, 10, 99, 100, 999999999999999]) {
      const r = makeIndexRow({ entrySeq: n, entryId: "id".repeat((n % 7) + 1), segmentSeq: n, frameSeq: n, byteOffset: n - 1, byteLength: n, crc32c: "ABCDEF09" });
      expect(fastIndexRow(bytesOf(r))).toEqual(r);
    }
  });
});
