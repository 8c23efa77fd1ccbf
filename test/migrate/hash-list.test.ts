/**
 * verify keeps the lines' hashes as bytes (src/migrate/hash-list.ts) and gets back exactly
 * the strings it pushed; anything but a SHA-256 in hex is refused, not kept wrong.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HashList } from "../../src/migrate/hash-list.js";

const hex64 = fc.array(fc.constantFrom(..."0123456789abcdef".split("")), { minLength: 64, maxLength: 64 }).map((a) => a.join(""));

describe("the lines' hashes, kept as bytes", () => {
  it("gives back every value pushed, in order, past growth", () => {
    fc.assert(
      fc.property(fc.array(hex64, { maxLength: 40 }), fc.integer({ min: 0, max: 9000 }), (values, extra) => {
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

  it("refuses what is not 64 hex digits", () => {
    const list = new HashList();
    for (const bad of ["", "ab", `${"a".repeat(63)}g`, "a".repeat(65)]) expect(() => list.push(bad)).toThrow(/not a SHA-256/);
    expect(list.length).toBe(0);
  });
});
