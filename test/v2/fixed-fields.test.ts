/**
 * The WebAssembly reader of index rows and frame heads (src/v2/fixed-fields.ts): the module
 * is its program assembled, and a frame head it reads is read exactly as decodeFrameHead
 * reads it (the fast path and, for what that refuses, JSON.parse and the field checks),
 * on heads the writer makes and on mutations of them; and validation's frame reader
 * (fieldsOfFrame) gives what decodeFrameFields gives. (Index rows: index-row-fast.test.ts.)
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assembleModule, dataSegment } from "../../src/format/wasm-asm.js";
import { FIXED_FIELDS_WASM, wasmHeadFields } from "../../src/v2/fixed-fields.js";
import { FIXED_FIELDS_FUNCTIONS, IN, LITERALS, LITS, PAGES } from "../../src/v2/fixed-fields-program.js";
import { F_ID, F_LABEL, F_MESSAGE, F_MESSAGE_ROLE, F_NAME, F_PARENT_ID, F_TARGET_ID, F_TIMESTAMP, F_TYPE, K_STRING, type FieldView } from "../../src/format/fast-fields.js";
import { fieldsOfFrame } from "../../src/v2/frame-check.js";
import { decodeFrameFields, decodeFrameHead, encodeFrame, type Decoded, type FieldsFrame } from "../../src/v2/frame.js";
import { byteMutations, mutate } from "../helpers/byte-mutations.js";
import { frameFields } from "../helpers/frame-arbitraries.js";

const frame = frameFields(["{}", '{"a":1}', '{"payload":"x"}', '{"k":",\\"payload\\":"}', "[1]", '{"type":"message","id":"a1","parentId":null,"timestamp":"t","message":{"role":"user","content":"hi é"}}', '{"type":"label","id":"b","parentId":"a1","timestamp":"t","targetId":"a1","label":"x"}', ' {"type":"session_info","id":"c","timestamp":"t","name":"n"} ']);

function bytesOf(f: { payload: string } & Parameters<typeof encodeFrame>[0]): Buffer {
  return encodeFrame(f, Buffer.from(f.payload, "utf8"));
}

/** The two readers on one frame line; whether the WebAssembly one took it. */
function agree(line: Buffer): boolean {
  const got = wasmHeadFields(line);
  if (got === undefined) return false;
  const want = decodeFrameHead(line);
  expect(want.ok).toBe(true);
  if (want.ok) {
    const { schema: _s, timestamp: _t, ...fields } = want.value;
    expect({ ...got }).toEqual({ ...fields });
  }
  return true;
}

describe("fixed fields in WebAssembly", () => {
  it("the module is the program assembled, with the literals in its memory", () => {
    expect(LITS + LITERALS.join("").length).toBeLessThanOrEqual(IN);
    expect(Buffer.from(assembleModule(FIXED_FIELDS_FUNCTIONS, PAGES, [dataSegment(LITS, Buffer.from(LITERALS.join(""), "latin1"))])).toString("base64")).toBe(FIXED_FIELDS_WASM);
  });

  it("reads every plain head the writer makes as decodeFrameHead does", () => {
    fc.assert(
      fc.property(frame, (f) => {
        const plain = (s: string) => /^[\x20-\x7e]*$/.test(s) && !/["\\]/.test(s);
        const fine =
          [f.segmentSeq, f.frameSeq, f.entrySeq].every((n) => n <= 999999999999999) &&
          plain(f.entryId) &&
          f.entryId !== "" &&
          plain(f.entryType) &&
          f.entryType !== "" &&
          plain(f.timestamp) &&
          (f.parentEntryId === null || f.parentEntryId === "" || plain(f.parentEntryId));
        const took = agree(bytesOf(f));
        if (fine && (f.parentEntryId === null || f.parentEntryId !== "")) expect(took).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it("never takes a mutated head decodeFrameHead refuses, nor reads it differently", () => {
    fc.assert(
      fc.property(frame, byteMutations, (f, edits) => {
        agree(mutate(bytesOf(f), edits));
      }),
      { numRuns: 3000 },
    );
  });

  it("leaves to the slow path a head too long for its input area, and anything cut short", () => {
    const f = { segmentSeq: 1, frameSeq: 2, entrySeq: 3, entryId: "e".repeat(3000), parentEntryId: "p", entryType: "message", timestamp: "t", payloadSha256: "a".repeat(64) };
    expect(wasmHeadFields(encodeFrame(f, Buffer.from("{}")))).toBeUndefined();
    const short = encodeFrame({ ...f, entryId: "e" }, Buffer.from("{}"));
    expect(agree(short)).toBe(true);
    for (let n = 0; n < short.indexOf(',"payload":') + 11; n++) expect(wasmHeadFields(short.subarray(0, n))).toBeUndefined();
  });

  it("validation's frame reader gives what decodeFrameFields gives, on frames the writer makes and mutations of them", () => {
    const FIELDS = [F_TYPE, F_ID, F_PARENT_ID, F_TIMESTAMP, F_MESSAGE, F_MESSAGE_ROLE, F_TARGET_ID, F_LABEL, F_NAME];
    const view = (fields: FieldView) => FIELDS.map((k) => [fields.kind(k), fields.kind(k) === K_STRING ? fields.str(k) : undefined]);
    // The fields view is valid until the next call: taken apart before the other reader runs.
    const plain = (d: Decoded<FieldsFrame>) => {
      if (!d.ok) return d;
      const { fields, payload, ...rest } = d.value;
      return { ...rest, payload: Buffer.from(payload).toString("latin1"), fields: view(fields) };
    };
    fc.assert(
      fc.property(frame, byteMutations, fc.boolean(), (f, edits, mutated) => {
        const line = mutated ? mutate(bytesOf(f), edits) : bytesOf(f);
        const body = line[line.length - 1] === 0x0a ? line.subarray(0, line.length - 1) : line;
        const fast = plain(fieldsOfFrame(body));
        const slow = plain(decodeFrameFields(body));
        expect(fast).toEqual(slow);
      }),
      { numRuns: 3000 },
    );
  });
});
