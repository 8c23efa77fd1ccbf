/**
 * verify keeps the lines' hashes as bytes (src/migrate/hash-list.ts) and gets back exactly
 * the strings it pushed, whatever they are.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HashList } from "../../src/migrate/hash-list.js";

const hex64 = fc.array(fc.constantFrom(..."0123456789abcdef".split("")), { minLength: 64, maxLength: 64 }).map((a) => a.join(""));
const odd = fc.oneof(hex64.map((h) => h.toUpperCase()), hex64.map((h) => `${h.slice(0, 63)}g`), fc.string({ maxLength: 70 }));

describe("the lines' hashes, kept as bytes", () => {
  it("gives back every value pushed, in order, past growth and after a value that is not lowercase hex", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof({ weight: 9, arbitrary: hex64 }, { weight: 1, arbitrary: odd }), { maxLength: 40 }), fc.integer({ min: 0, max: 9000 }), (values, extra) => {
        const list = new HashList();
        const all = [...Array.from({ length: extra }, (_, i) => i.toString(16).padStart(64, "0")), ...values];
        for (const v of all) list.push(v);
        expect(list.length).toBe(all.length);
        for (let i = 0; i < all.length; i += Math.max(1, Math.floor(all.length / 50))) expect(list.at(i)).toBe(all[i]);
        if (all.length > 0) expect(list.at(all.length - 1)).toBe(all[all.length - 1]);
      }),
      { numRuns: 60 },
    );
  });
});
