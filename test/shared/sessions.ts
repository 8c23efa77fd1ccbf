/**
 * Generated session files for the reader suite and the V2 property tests: a fast-check
 * arbitrary of sessions written directly as JSONL text (appends, branches, every entry
 * type, awkward text, and optionally junk lines, CRLF ends and a torn last line).
 */
import fc from "fast-check";

export const HEADER = { type: "session", version: 3, id: "01946a2e-5c00-7000-8000-0000000000ff", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/home/user/proj" };

const AWKWARD = ["\u2028", "\u2029", '"', "\\", "\n", "\r\n", "😀", "é", "中文", "\ud800", "", " ", '{"type":"session"}', "\u0000"];

export const text: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...AWKWARD), fc.string({ maxLength: 6 })), { maxLength: 4 })
  .map((p) => p.join(""));

/** One step of a generated session. */
export type GenOp =
  | { kind: "entry"; parent: "last" | "root" | number; body: number; text: string; skewMs: number }
  | { kind: "junk"; which: number };

export const genOp: fc.Arbitrary<GenOp> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant("entry" as const),
      parent: fc.oneof({ weight: 6, arbitrary: fc.constant("last" as const) }, { weight: 1, arbitrary: fc.constant("root" as const) }, { weight: 3, arbitrary: fc.nat({ max: 1000 }) }),
      body: fc.nat({ max: 11 }),
      text,
      skewMs: fc.integer({ min: -2000, max: 5000 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("junk" as const), which: fc.nat({ max: 5 }) }) },
);

export interface GenOptions {
  /** Allow junk lines (bad JSON, blank, non-entry JSON). */
  junk?: boolean;
}

const JUNK = ["{not json", "", "   ", "[1,2,3]", '{"type":"message","id":"x"}', '{"type":"session","version":3,"id":"again"}'];

function hex8(n: number): string {
  return (0x10000000 + n).toString(16).slice(-8);
}

/** Build the entry objects (and junk lines) of a generated session. */
export function buildLines(ops: readonly GenOp[], opts: GenOptions = {}): (Record<string, unknown> | string)[] {
  const lines: (Record<string, unknown> | string)[] = [HEADER];
  const ids: string[] = [];
  let t = Date.UTC(2025, 0, 1);
  let last: string | null = null;
  for (const op of ops) {
    if (op.kind === "junk") {
      if (opts.junk) lines.push(JUNK[op.which % JUNK.length] as string);
      continue;
    }
    const id = hex8(ids.length + 1);
    const parentId = op.parent === "last" ? last : op.parent === "root" || ids.length === 0 ? null : (ids[op.parent % ids.length] as string);
    t += Math.max(-1000, op.skewMs);
    const timestamp = new Date(t).toISOString();
    const pick = (n: number) => (ids.length === 0 ? id : (ids[n % ids.length] as string));
    const base = { type: "message", id, parentId, timestamp };
    let e: Record<string, unknown>;
    switch (op.body) {
      case 0:
        e = { ...base, message: { role: "user", content: op.text, timestamp: t } };
        break;
      case 1:
        e = { ...base, message: { role: "assistant", content: [{ type: "text", text: op.text }], api: "anthropic-messages", provider: "anthropic", model: "claude", usage: { input: 1, output: 2, cacheRead: 0, cacheWrite: 0 }, stopReason: "stop", timestamp: t } };
        break;
      case 2:
        e = { ...base, message: { role: "toolResult", toolCallId: "call_1", toolName: "bash", content: [{ type: "text", text: op.text }], isError: false, timestamp: t } };
        break;
      case 3:
        e = { ...base, type: "model_change", provider: "openai", modelId: `m-${op.text.length}` };
        break;
      case 4:
        e = { ...base, type: "thinking_level_change", thinkingLevel: ["off", "low", "high"][op.text.length % 3] };
        break;
      case 5:
        e = { ...base, type: "compaction", summary: `sum ${op.text}`, firstKeptEntryId: pick(op.skewMs >>> 0), tokensBefore: 1234 };
        break;
      case 6:
        e = { ...base, type: "branch_summary", fromId: pick(op.skewMs >>> 0), summary: op.text };
        break;
      case 7:
        e = { ...base, type: "custom", customType: "ext", data: { v: op.text } };
        break;
      case 8:
        e = { ...base, type: "custom_message", customType: "note", content: op.text, display: op.skewMs % 2 === 0, details: { n: 1 } };
        break;
      case 9:
        e = op.text.length % 3 === 0 ? { ...base, type: "label", targetId: pick(op.skewMs >>> 0) } : { ...base, type: "label", targetId: pick(op.skewMs >>> 0), label: op.text.length % 3 === 1 ? "" : op.text };
        break;
      case 10:
        e = { ...base, type: "session_info", name: op.text };
        break;
      default:
        e = { ...base, type: "mode_change", mode: op.text, partialJson: "{" };
    }
    ids.push(id);
    last = id;
    lines.push(e);
  }
  return lines;
}

export interface GenSession {
  ops: GenOp[];
  junk: boolean;
  crlf: boolean;
  /** The last line has no line end. */
  torn: boolean;
}

export function sessionArb(opts: { maxOps?: number; junk?: boolean; crlf?: boolean; torn?: boolean } = {}): fc.Arbitrary<GenSession> {
  return fc.record({
    ops: fc.array(genOp, { maxLength: opts.maxOps ?? 40 }),
    junk: opts.junk === false ? fc.constant(false) : fc.boolean(),
    crlf: opts.crlf ? fc.boolean() : fc.constant(false),
    torn: opts.torn ? fc.boolean() : fc.constant(false),
  });
}

/** The bytes of a generated session file. */
export function sessionText(s: GenSession, ops: readonly GenOp[] = s.ops): string {
  const eol = s.crlf ? "\r\n" : "\n";
  const lines = buildLines(ops, { junk: s.junk }).map((l) => (typeof l === "string" ? l : JSON.stringify(l)));
  const body = lines.join(eol);
  return s.torn ? body : body + eol;
}
