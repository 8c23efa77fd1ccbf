import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatSize, keyValueLines, preview, summarizeEntry } from "../../src/cli/render.js";

describe("previews are one line, cut by code points with …", () => {
  it("collapses whitespace and keeps short text whole", () => {
    expect(preview("  a\n\tb  c ", 10)).toBe("a b c");
    expect(preview("abcdef", 6)).toBe("abcdef");
    expect(preview("abcdefg", 6)).toBe("abcde…");
    expect(preview("abc", 0)).toBe("");
  });

  it("never splits a surrogate pair", () => {
    const cut = preview("😀".repeat(50), 5);
    expect(cut).toBe("😀😀😀😀…");
    expect(cut.isWellFormed()).toBe(true);
  });
});

describe("a long text's preview flattens only its start", () => {
  /** The definition: flatten all of the text, then cut. */
  function reference(text: string, max: number): string {
    const flat = text.replace(/\s+/g, " ").trim();
    if (max <= 0) return "";
    const head = flat.length > max * 2 + 2 ? flat.slice(0, max * 2 + 2) : flat;
    const points = Array.from(head);
    if (points.length <= max && head.length === flat.length) return flat;
    return points.slice(0, Math.max(0, max - 1)).join("") + "…";
  }

  it("gives the preview of the whole text, for texts with long whitespace runs, surrogate pairs and lone halves", () => {
    const piece = fc.oneof(
      fc.constantFrom(" ", "\n", "\t", "\u3000", "\ufeff", "\r\n", "a", "é", "😀", "\ud800", "\udc00"),
      fc.integer({ min: 1, max: 400 }).map((n) => " ".repeat(n)),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 300 }).map((p) => p.join("")), fc.integer({ min: 0, max: 40 }), (text, max) => {
        expect(preview(text, max)).toBe(reference(text, max));
      }),
      { numRuns: 2000 },
    );
  });
});

describe("key: value lines align their values", () => {
  it("pads every key to the longest one", () => {
    expect(keyValueLines([["a", "1"], ["longer key", "2"]])).toEqual(["a:          1", "longer key: 2"]);
  });
});

describe("sizes are shown in bytes with a binary unit", () => {
  it.each([
    [0, "0 bytes"],
    [1023, "1023 bytes"],
    [1536, "1536 bytes (1.5 KiB)"],
    [5 * 1024 ** 3, "5368709120 bytes (5.0 GiB)"],
  ])("%d", (n, text) => expect(formatSize(n)).toBe(text));
});

describe("entries are summarised as kind and text, whatever their shape", () => {
  it.each([
    [{ type: "message", message: { role: "toolResult", toolName: "bash", isError: true, content: [{ type: "text", text: "boom" }] } }, "toolResult", "bash (error): boom"],
    [{ type: "message", message: { role: "bashExecution", command: "ls" } }, "bashExecution", "$ ls"],
    [{ type: "message", message: { role: "assistant", content: [], errorMessage: "rate limited" } }, "assistant", "error: rate limited"],
    [{ type: "compaction", summary: "s", tokensBefore: 12_345 }, "compaction", "12k tokens: s"],
    [{ type: "thinking_level_change", thinkingLevel: "high" }, "thinking_level_change", "high"],
    [{ type: "label", targetId: "x" }, "label", "x (cleared)"],
    [{ type: "session_info" }, "session_info", "(no name)"],
    [{ type: "mode_change", mode: "plan" }, "mode_change", ""],
    [{ type: "message", message: null }, "(no role)", ""],
    [{}, "(no type)", ""],
  ])("%j", (entry, kind, text) => expect(summarizeEntry(entry as Record<string, unknown>)).toEqual({ kind, text }));
});
