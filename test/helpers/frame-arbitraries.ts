import fc from "fast-check";

/** Id-like strings with the characters a frame head must escape or refuse (quote, backslash, a control character, a comma, non-ASCII). */
export const idText = fc.array(fc.constantFrom(..."abcXYZ019_-:. é\"\\\u0001,".split("")), { minLength: 0, maxLength: 12 }).map((a) => a.join(""));

/** Sequence numbers: small ones and the edges of 15-digit and safe integers. */
export const frameSeqNumber = fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1, 9, 10, 2 ** 31, Number.MAX_SAFE_INTEGER, 999999999999999, 1000000000000000));

export const hex64 = fc.array(fc.constantFrom(..."0123456789abcdef".split("")), { minLength: 64, maxLength: 64 }).map((a) => a.join(""));

/** A frame's fields (as encodeFrame takes them) and its payload text, from `payloads`. */
export function frameFields(payloads: readonly string[]) {
  return fc.record({
    segmentSeq: frameSeqNumber,
    frameSeq: frameSeqNumber,
    entrySeq: frameSeqNumber,
    entryId: idText,
    parentEntryId: fc.option(idText, { nil: null }),
    entryType: idText,
    timestamp: idText,
    payloadSha256: hex64,
    payload: fc.constantFrom(...payloads),
  });
}
