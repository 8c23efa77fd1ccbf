import fc from "fast-check";

/** One edit of a byte string: set, insert or delete one byte at a position (taken modulo its length). */
export interface ByteMutation {
  at: number;
  byte: number;
  kind: "set" | "insert" | "delete";
}

/** 1-3 byte edits, for "a mutated input is refused or read as the definition reads it" properties. */
export const byteMutations = fc.array(fc.record({ at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }), kind: fc.constantFrom<ByteMutation["kind"]>("set", "insert", "delete") }), { minLength: 1, maxLength: 3 });

/** `bytes` (copied) with the edits applied in order. */
export function mutate(bytes: Buffer, edits: readonly ByteMutation[]): Buffer {
  let b = Buffer.from(bytes);
  for (const m of edits) {
    const at = m.at % b.length;
    if (m.kind === "set") b[at] = m.byte;
    else if (m.kind === "insert") b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  }
  return b;
}
