/**
 * The fast frame-head reader (src/v2/frame-head-fast.ts) against the definition
 * (parseFrameHead: JSON.parse and the field checks): on heads the writer makes and on
 * mutations of them, whatever the fast path accepts, the definition accepts with the
 * same values; and it accepts every head the writer makes.
 */
import fc from "fast-check";
import { byteMutations, mutate } from "../helpers/byte-mutations.js";
import { frameFields } from "../helpers/frame-arbitraries.js";
import { describe, expect, it } from "vitest";
import { fastFrameHead } from "../../src/v2/frame-head-fast.js";
import { encodeFrame, parseFrameHead } from "../../src/v2/frame.js";

const MARK = Buffer.from(',"payload":', "latin1");

const frame = frameFields(["{}", '{"a":1}', "[1]"]);

function bytesOf(f: { payload: string } & Parameters<typeof encodeFrame>[0]): Buffer {
  return encodeFrame(f, Buffer.from(f.payload, "utf8"));
}

/** Compare the two readers on the head of `line` (its bytes before the payload mark). */
function agree(line: Buffer): boolean {
  const at = line.indexOf(MARK);
  if (at < 0) return false;
  const fast = fastFrameHead(line, at);
  const slow = parseFrameHead(line, at);
  if (fast !== undefined) {
    expect(slow.ok).toBe(true);
    if (slow.ok) expect({ ...fast }).toEqual({ ...slow.value });
  }
  return fast !== undefined;
}

describe("fast frame-head reader", () => {
  it("reads every plain head the writer makes, with the definition's values", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const plain = /^[\x20-\x7e]*$/.test(f.entryId + (f.parentEntryId ?? "") + f.entryType + f.timestamp) && !/["\\]/.test(f.entryId + (f.parentEntryId ?? "") + f.entryType + f.timestamp);
        const fine = f.entryId !== "" && f.entryType !== "" && f.parentEntryId !== "" && f.segmentSeq <= 999999999999999 && f.frameSeq <= 999999999999999 && f.entrySeq <= 999999999999999;
        const took = agree(bytesOf(f));
        if (plain && fine) expect(took).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("never accepts a mutated head the definition refuses, nor reads it differently", () => {
    fc.assert(
      fc.property(frame, byteMutations, (f, edits) => {
        agree(mutate(bytesOf(f), edits));
      }),
      { numRuns: 3000 },
    );
  });

  it("falls back on what the writer never makes: white space, a null parent, other key orders", () => {
    const base = '{"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":1,"frameSeq":1,"entrySeq":1,"entryId":"a","entryType":"message","timestamp":"t","payloadSha256":"' + "a".repeat(64) + '","payloadBytes":2';
    const variants = [
      base.replace('"frameSeq":1', '"frameSeq": 1'),
      base.replace('"entryId":"a"', '"entryId":"a","parentEntryId":null'),
      base.replace('"segmentSeq":1,"frameSeq":1', '"frameSeq":1,"segmentSeq":1'),
      base.replace('"entrySeq":1', '"entrySeq":01'),
      base.replace('"payloadBytes":2', '"payloadBytes":2.0'),
      base.replace('"entryId":"a"', '"entryId":"\\u0061"'),
    ];
    for (const v of variants) {
      const line = Buffer.from(`${v},"payload":{}}`, "utf8");
      expect(fastFrameHead(line, line.indexOf(MARK))).toBeUndefined();
    }
    const ok = Buffer.from(`${base},"payload":{}}`, "utf8");
    expect(fastFrameHead(ok, ok.indexOf(MARK))).toEqual({ schema: "pi.session_store_v2.segment_frame.v1", segmentSeq: 1, frameSeq: 1, entrySeq: 1, entryId: "a", entryType: "message", timestamp: "t", payloadSha256: "a".repeat(64), payloadBytes: 2 });
  });
});
