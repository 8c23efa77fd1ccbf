/**
 * Generated version-3 session files for the fuzz suite: a header and a tree of entries
 * of every type (text with U+2028/U+2029, astral characters and escapes included),
 * serialised the way the agents write them.
 */
import fc from "fast-check";

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom("line\u2028sep", "para\u2029sep", "emoji 😀 and 𝄞", "quote \" backslash \\ tab \t nl \n", ""),
);

type Kind = "user" | "assistant" | "custom" | "custom_message" | "label" | "session_info" | "thinking" | "model" | "compaction" | "branch_summary" | "unknown";

const entrySpec = fc.record({
  kind: fc.constantFrom<Kind>("user", "user", "assistant", "assistant", "custom", "custom_message", "label", "session_info", "thinking", "model", "compaction", "branch_summary", "unknown"),
  /** Parent: 0 = the previous entry (a chain), else some earlier entry, or a new root. */
  parent: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: fc.nat() }, { weight: 1, arbitrary: fc.constant(-1) }),
  ref: fc.nat(),
  text,
  ms: fc.integer({ min: 0, max: 10_000_000 }),
});

export const sessionArb: fc.Arbitrary<Buffer> = fc
  .record({ rust: fc.boolean(), entries: fc.array(entrySpec, { minLength: 1, maxLength: 30 }) })
  .map(({ rust, entries }) => {
    const start = Date.UTC(2025, 0, 1);
    const header: Record<string, unknown> = { type: "session", version: 3, id: "0194a000-0000-7000-8000-000000000001", timestamp: new Date(start).toISOString(), cwd: "/home/u/p" };
    if (rust) header.branchedFrom = "/home/u/other.jsonl";
    const lines = [JSON.stringify(header)];
    const ids: string[] = [];
    entries.forEach((e, i) => {
      const id = (0x10000000 + i * 7919).toString(16).slice(-8);
      const parentId = i === 0 || e.parent === -1 ? null : e.parent === 0 ? (ids[i - 1] as string) : (ids[e.parent % i] as string);
      const other = ids.length > 0 ? (ids[e.ref % ids.length] as string) : id;
      const timestamp = new Date(start + e.ms).toISOString();
      const base: Record<string, unknown> = { type: "", id, parentId, timestamp };
      let o: Record<string, unknown>;
      switch (e.kind) {
        case "user":
          o = { ...base, type: "message", message: { role: "user", content: e.ms % 2 ? e.text : [{ type: "text", text: e.text }], timestamp: start + e.ms } };
          break;
        case "assistant":
          o = {
            ...base,
            type: "message",
            message: {
              role: "assistant",
              content: [{ type: "text", text: e.text }],
              api: "anthropic-messages",
              provider: "anthropic",
              model: "m",
              usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, totalTokens: 2, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
              stopReason: "stop",
              timestamp: start + e.ms,
            },
          };
          break;
        case "custom":
          o = { ...base, type: "custom", customType: "ext", data: { note: e.text } };
          break;
        case "custom_message":
          o = { ...base, type: "custom_message", customType: "ext", content: e.text, display: true };
          break;
        case "label":
          o = { ...base, type: "label", targetId: other, label: e.text };
          break;
        case "session_info":
          o = { ...base, type: "session_info", name: e.text };
          break;
        case "thinking":
          o = { ...base, type: "thinking_level_change", thinkingLevel: "high" };
          break;
        case "model":
          o = { ...base, type: "model_change", provider: "p", modelId: e.text };
          break;
        case "compaction":
          o = { ...base, type: "compaction", summary: e.text, firstKeptEntryId: other, tokensBefore: e.ms };
          break;
        case "branch_summary":
          o = { ...base, type: "branch_summary", fromId: other, summary: e.text };
          break;
        default:
          o = { ...base, type: "mode_change", mode: e.text };
      }
      if (rust && o.parentId === null) delete o.parentId;
      ids.push(id);
      lines.push(JSON.stringify(o));
    });
    return Buffer.from(`${lines.join("\n")}\n`, "utf8");
  });
