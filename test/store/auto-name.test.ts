import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { AUTO_NAME_MAX, deriveSessionName } from "../../src/store/index.js";

describe("auto names: the first user message, about 50 characters, cut at a word boundary", () => {
  it("keeps short text whole, whitespace collapsed", () => {
    expect(deriveSessionName("  Fix the\n\tflaky   test  ")).toBe("Fix the flaky test");
    expect(deriveSessionName(" \n ")).toBeUndefined();
  });

  it("cuts long text after the last whole word and marks the cut", () => {
    expect(deriveSessionName("Plan the release of version two, with a changelog and a migration guide")).toBe(
      "Plan the release of version two, with a changelog…",
    );
    expect(deriveSessionName(`${"a".repeat(50)} tail`)).toBe(`${"a".repeat(50)}…`);
  });

  it("cuts inside a word only when the first word is longer than half the limit", () => {
    expect(deriveSessionName(`ab ${"x".repeat(80)}`)).toBe(`ab ${"x".repeat(47)}…`);
  });

  it("never splits a surrogate pair", () => {
    expect(deriveSessionName("😀".repeat(60))).toBe(`${"😀".repeat(50)}…`);
  });

  it("is at most 51 code points, and a prefix of the flattened text", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const name = deriveSessionName(text);
        const flat = text.replace(/\s+/g, " ").trim();
        if (flat === "") {
          expect(name).toBeUndefined();
          return;
        }
        expect(Array.from(name as string).length).toBeLessThanOrEqual(AUTO_NAME_MAX + 1);
        expect(flat.startsWith((name as string).replace(/…$/, ""))).toBe(true);
      }),
    );
  });
});
