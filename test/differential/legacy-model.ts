/**
 * Generators of legacy session files: v1 (no ids, one linear list, compactions with
 * firstKeptEntryIndex into the parsed line array, header at 0) and v2 (ids, message
 * role "hookMessage", made from a pi-written v3 file).
 *
 * v1 files here have no blank or malformed lines before the last entry and no index 0:
 * there pi and sessfmt deliberately differ (see context.test.ts). Negative and
 * fractional indexes are generated: they name no line, and both keep nothing.
 */
import fc from "fast-check";
import {
  assistantMessage,
  bashExecutionMessage,
  customRoleMessage,
  jsonish,
  nonEmptyText,
  providerModel,
  text,
  thinkingLevel,
  toolResultMessage,
  userMessage,
} from "./model.js";

type Obj = Record<string, unknown>;

const isoTime = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2026, 0, 1) }).map((ms) => new Date(ms).toISOString());
/** v1 compaction before its index is known: `pick` becomes firstKeptEntryIndex >= 1. */
type V1Draft = { entry: Obj; pick?: number; odd?: number | undefined };

const v1Entry: fc.Arbitrary<V1Draft> = fc.oneof(
  { arbitrary: fc.oneof(userMessage, assistantMessage, toolResultMessage, bashExecutionMessage).map((message) => ({ entry: { type: "message", message } })), weight: 10 },
  { arbitrary: customRoleMessage.map((m) => ({ entry: { type: "message", message: { ...m, role: "hookMessage" } } })), weight: 2 },
  { arbitrary: thinkingLevel.map((thinkingLevel) => ({ entry: { type: "thinking_level_change", thinkingLevel } })), weight: 1 },
  { arbitrary: providerModel.map((pm) => ({ entry: { type: "model_change", provider: pm.provider, modelId: pm.model } })), weight: 1 },
  {
    arbitrary: fc
      .record({
        summary: text,
        tokensBefore: fc.nat({ max: 200_000 }),
        details: fc.option(jsonish, { nil: undefined }),
        pick: fc.nat({ max: 10_000 }),
        // Indexes that name no line at all: pi keeps nothing before the compaction.
        odd: fc.option(fc.constantFrom(-1, -7, 0.5, 1.5, 2.25, 1e21), { nil: undefined, freq: 6 }),
      })
      .map(({ pick, odd, ...c }) => ({ entry: { type: "compaction", ...c }, pick, odd })),
    weight: 3,
  },
  {
    arbitrary: fc
      .record({ customType: fc.constantFrom("ext", "plan"), content: fc.oneof(text, fc.constant([{ type: "text", text: "block" }])), display: fc.boolean() })
      .map((c) => ({ entry: { type: "custom_message", ...c } })),
    weight: 1,
  },
  { arbitrary: fc.record({ customType: fc.constant("ext"), data: jsonish }).map((c) => ({ entry: { type: "custom", ...c } })), weight: 1 },
  { arbitrary: nonEmptyText.map((name) => ({ entry: { type: "session_info", name } })), weight: 1 },
);

export interface V1File {
  text: string;
  /** Number of entry lines. */
  entries: number;
}

/** A v1 file: header (version 1 or none), entries, and one of three endings. */
export const v1File: fc.Arbitrary<V1File> = fc
  .record({
    versionKey: fc.boolean(),
    oldHeaderKeys: fc.boolean(),
    headerTime: isoTime,
    drafts: fc.array(fc.tuple(v1Entry, isoTime, fc.boolean()), { minLength: 1, maxLength: 40, size: "max" }),
    tail: fc.constantFrom("newline", "newline", "unterminated", "torn"),
  })
  .map(({ versionKey, oldHeaderKeys, headerTime, drafts, tail }) => {
    const header: Obj = { type: "session", id: "d703a1a9-1b7b-4fb1-b512-c9738b1fe617", timestamp: headerTime, cwd: "/Users/pi \u2028 proj" };
    if (versionKey) header.version = 1;
    if (oldHeaderKeys) Object.assign(header, { provider: "anthropic", modelId: "claude-sonnet-4-5", thinkingLevel: "off" });
    const n = drafts.length;
    const lines = drafts.map(([d, timestamp, crlf]) => {
      const entry: Obj = { type: d.entry.type, timestamp, ...d.entry };
      // 1..n name entries (before, at or after the compaction); n+1, n+2 name nothing.
      if (d.pick !== undefined) entry.firstKeptEntryIndex = d.odd ?? 1 + (d.pick % (n + 2));
      return JSON.stringify(entry) + (crlf ? "\r\n" : "\n");
    });
    let body = `${JSON.stringify(header)}\n${lines.join("")}`;
    if (tail === "unterminated") body = body.replace(/\r?\n$/, "");
    if (tail === "torn") body += JSON.stringify({ type: "message", timestamp: headerTime, message: { role: "user", content: "cut" } }).slice(0, 30);
    return { text: body, entries: n };
  });

/**
 * Turn a pi-written v3 file into a v2 file: header version 2, and message role
 * "custom" written as v2's "hookMessage" (each with probability given by `rename`).
 */
export function toV2(v3Text: string, rename: (i: number) => boolean): string {
  const lines = v3Text.split("\n");
  let n = 0;
  return lines
    .map((line, i) => {
      if (line === "") return line;
      const o = JSON.parse(line) as Obj;
      if (i === 0) return JSON.stringify({ ...o, version: 2 });
      const m = o.message as Obj | undefined;
      if (o.type === "message" && m?.role === "custom" && rename(n++)) return JSON.stringify({ ...o, message: { ...m, role: "hookMessage" } });
      return line;
    })
    .join("\n");
}
