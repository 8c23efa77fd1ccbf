/**
 * A fast-check model of pi sessions, driven through the reference SessionManager
 * (@mariozechner/pi-coding-agent), plus the helpers the differential tests share:
 * seeds, temp dirs, and converters of both trees to one comparable shape.
 *
 * Generation stays inside what pi handles: no parent cycles, no duplicate ids, no
 * lines pi keeps but sessfmt skips (see the note at the top of context.test.ts).
 */
import fc from "fast-check";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SessionManager } from "./pi.js";
import type { Session } from "../../src/index.js";

// ---------------------------------------------------------------------------
// Seeds and run counts

/** Seed from SESSFMT_SEED, else random (printed on failure so the run can be replayed). */
export const SEED: number = process.env.SESSFMT_SEED !== undefined ? Number(process.env.SESSFMT_SEED) : Math.floor(Math.random() * 0x7fffffff);

/** Runs per property: SESSFMT_DIFF_RUNS for soak use, else the given default. */
export function runs(defaultRuns: number): number {
  const n = Number(process.env.SESSFMT_DIFF_RUNS);
  return Number.isInteger(n) && n > 0 ? n : defaultRuns;
}

/** fc.assert with the shared seed; a failure says how to replay it. */
export async function check<Ts extends [unknown, ...unknown[]]>(property: fc.IAsyncProperty<Ts> | fc.IProperty<Ts>, numRuns: number): Promise<void> {
  const path = process.env.SESSFMT_PATH;
  try {
    await fc.assert(property, { seed: SEED, numRuns, ...(path ? { path } : {}) });
  } catch (err) {
    const e = err as Error;
    e.message = `replay with SESSFMT_SEED=${SEED} (fast-check's path is in the report below)\n${e.message}`;
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Temp dirs

export class TempRoot {
  readonly dir: string;
  private n = 0;
  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), `sessfmt-${prefix}-`));
  }
  /** A fresh empty subdirectory. */
  sub(): string {
    const d = join(this.dir, String(this.n++));
    mkdirSync(d);
    return d;
  }
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Copy `file` into a new subdirectory (pi may rewrite what it opens). */
export function copyInto(root: TempRoot, file: string, name = "copy.jsonl"): string {
  const target = join(root.sub(), name);
  copyFileSync(file, target);
  return target;
}

// ---------------------------------------------------------------------------
// Content

/** Pieces that have broken line-based or escaping-naive readers. */
const AWKWARD = [
  "\u2028",
  "\u2029",
  '"',
  "\\",
  "\\n",
  "\\u2028",
  "\n",
  "\r\n",
  "\r",
  "\t",
  "\u0000",
  "\u001f",
  "\u007f",
  "\uFEFF",
  "\ud800", // lone surrogates: JSON.stringify escapes them, both readers must agree
  "\udfff",
  "😀",
  "👩‍👩‍👧",
  "🇫🇷",
  "é",
  "e\u0301",
  "中文",
  "ﷺ",
  "</script>",
  "{\"type\":\"session\"}",
  "  ",
];

export const text: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...AWKWARD), weight: 3 },
      { arbitrary: fc.string({ maxLength: 8 }), weight: 3 },
      { arbitrary: fc.string({ unit: "grapheme", maxLength: 3 }), weight: 1 },
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(""));

export const nonEmptyText: fc.Arbitrary<string> = fc.tuple(fc.constantFrom("x", "ü", "😀", " "), text).map(([a, b]) => a + b);

/** Small JSON values for details/data fields. */
export const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 1 },
  { arbitrary: fc.dictionary(fc.constantFrom("a", "b", "path", "files", "ü"), text, { maxKeys: 3 }), weight: 2 },
);

const msTimestamp = fc.integer({ min: 0, max: 4_102_444_800_000 });
const smallNat = fc.nat({ max: 100_000 });
const money = fc.double({ min: 0, max: 10, noNaN: true, noDefaultInfinity: true });

const textBlock = text.map((t) => ({ type: "text" as const, text: t }));
const imageBlock = fc.constantFrom("iVBORw0KGgo=", "", "R0lGODlhAQABAAAAACw=").map((data) => ({ type: "image" as const, data, mimeType: "image/png" }));
const userContent = fc.oneof(text, fc.array(fc.oneof({ arbitrary: textBlock, weight: 3 }, { arbitrary: imageBlock, weight: 1 }), { maxLength: 3 }));
const toolArgs = fc.dictionary(fc.constantFrom("path", "command", "old", "new", "ключ"), text, { maxKeys: 3 });
const assistantBlock = fc.oneof(
  textBlock,
  fc.record({ type: fc.constant("thinking" as const), thinking: text, thinkingSignature: fc.option(text, { nil: undefined }) }),
  fc.record({ type: fc.constant("toolCall" as const), id: fc.stringMatching(/^call_[a-z0-9]{1,8}$/), name: fc.constantFrom("read", "bash", "edit"), arguments: toolArgs }),
);

export const providerModel = fc.constantFrom(
  { provider: "anthropic", model: "claude-sonnet-4-5" },
  { provider: "openai", model: "gpt-5.1-codex" },
  { provider: "google", model: "gemini-2.5-pro" },
  { provider: "pröv\u2028ider", model: "mödel\"\\" },
);

export const userMessage = fc.record({ role: fc.constant("user" as const), content: userContent, timestamp: msTimestamp });

export const assistantMessage = fc
  .record({
    pm: providerModel,
    content: fc.array(assistantBlock, { maxLength: 3 }),
    api: fc.constantFrom("anthropic-messages", "openai-responses"),
    usage: fc.record({
      input: smallNat,
      output: smallNat,
      cacheRead: smallNat,
      cacheWrite: smallNat,
      totalTokens: smallNat,
      cost: fc.record({ input: money, output: money, cacheRead: money, cacheWrite: money, total: money }),
    }),
    stopReason: fc.constantFrom("stop", "length", "toolUse", "error", "aborted"),
    errorMessage: fc.option(text, { nil: undefined }),
    timestamp: msTimestamp,
  })
  .map(({ pm, ...m }) => ({ role: "assistant" as const, content: m.content, api: m.api, provider: pm.provider, model: pm.model, usage: m.usage, stopReason: m.stopReason, errorMessage: m.errorMessage, timestamp: m.timestamp }));

export const toolResultMessage = fc.record({
  role: fc.constant("toolResult" as const),
  toolCallId: fc.stringMatching(/^call_[a-z0-9]{1,8}$/),
  toolName: fc.constantFrom("read", "bash", "edit"),
  content: fc.array(fc.oneof(textBlock, imageBlock), { maxLength: 2 }),
  details: fc.option(jsonish, { nil: undefined }),
  isError: fc.boolean(),
  timestamp: msTimestamp,
});

export const bashExecutionMessage = fc.record(
  {
    role: fc.constant("bashExecution" as const),
    command: text,
    output: text,
    exitCode: fc.option(fc.integer({ min: -1, max: 255 }), { nil: undefined }),
    cancelled: fc.boolean(),
    truncated: fc.boolean(),
    fullOutputPath: text,
    timestamp: msTimestamp,
    excludeFromContext: fc.boolean(),
  },
  { requiredKeys: ["role", "command", "output", "exitCode", "cancelled", "truncated", "timestamp"] },
);

const customContent = fc.oneof(text, fc.array(fc.oneof({ arbitrary: textBlock, weight: 3 }, { arbitrary: imageBlock, weight: 1 }), { maxLength: 3 }));
const customType = fc.constantFrom("ext.todo", "plan", "ünï\u2029code", "");

/** role "custom" (hookMessage in v2 files). */
export const customRoleMessage = fc.record(
  { role: fc.constant("custom" as const), customType, content: customContent, display: fc.boolean(), details: jsonish, timestamp: msTimestamp },
  { requiredKeys: ["role", "customType", "content", "display", "timestamp"] },
);

export const anyMessage = fc.oneof(
  { arbitrary: userMessage, weight: 4 },
  { arbitrary: assistantMessage, weight: 4 },
  { arbitrary: toolResultMessage, weight: 2 },
  { arbitrary: bashExecutionMessage, weight: 1 },
  { arbitrary: customRoleMessage, weight: 1 },
);
export type GenMessage = typeof anyMessage extends fc.Arbitrary<infer T> ? T : never;

export const thinkingLevel = fc.constantFrom("off", "minimal", "low", "medium", "high", "xhigh", "ünknown");

// ---------------------------------------------------------------------------
// Operations on a SessionManager

/** An entry picked from what exists when the operation runs (index taken modulo the count). */
export type Pick = number;
export type CompactionTarget = { where: "path" | "off" | "missing"; pick: Pick };

export type Op =
  | { op: "message"; dt: number; message: GenMessage }
  | { op: "thinking"; dt: number; level: string }
  | { op: "model"; dt: number; provider: string; modelId: string }
  | { op: "compaction"; dt: number; target: CompactionTarget; summary: string; tokensBefore: number; details?: unknown; fromHook?: boolean }
  | { op: "customEntry"; dt: number; customType: string; data?: unknown }
  | { op: "customMessage"; dt: number; customType: string; content: string | { type: string }[]; display: boolean; details?: unknown }
  | { op: "sessionInfo"; dt: number; name: string }
  | { op: "label"; dt: number; target: Pick; label: string | undefined }
  | { op: "branch"; dt: number; target: Pick }
  | { op: "branchWithSummary"; dt: number; target: Pick | null; summary: string; details?: unknown; fromHook?: boolean }
  | { op: "resetLeaf"; dt: number };

/**
 * Milliseconds the clock moves before an operation: usually forward, sometimes not at
 * all (ties in getTree's timestamp sort), sometimes backward (clock skew).
 */
const dt = fc.oneof(
  { arbitrary: fc.integer({ min: 1, max: 5_000 }), weight: 6 },
  { arbitrary: fc.constant(0), weight: 3 },
  { arbitrary: fc.integer({ min: -600_000, max: -1 }), weight: 1 },
);
const pick = fc.nat({ max: 1_000 });
const optional = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });

export const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("message" as const), dt, message: anyMessage }), weight: 12 },
  { arbitrary: fc.record({ op: fc.constant("thinking" as const), dt, level: thinkingLevel }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant("model" as const), dt, pm: providerModel }).map(({ pm, ...o }) => ({ ...o, provider: pm.provider, modelId: pm.model })),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constant("compaction" as const),
      dt,
      target: fc.record({ where: fc.constantFrom("path" as const, "path" as const, "off" as const, "missing" as const), pick }),
      summary: text,
      tokensBefore: smallNat,
      details: optional(jsonish),
      fromHook: optional(fc.boolean()),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("customEntry" as const), dt, customType, data: optional(jsonish) }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant("customMessage" as const),
      dt,
      customType,
      content: customContent,
      display: fc.boolean(),
      details: optional(jsonish),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({ op: fc.constant("sessionInfo" as const), dt, name: fc.oneof(nonEmptyText, fc.constantFrom("", "   ", "  padded name  ", "\u2028")) }),
    weight: 1,
  },
  { arbitrary: fc.record({ op: fc.constant("label" as const), dt, target: pick, label: fc.oneof({ arbitrary: nonEmptyText, weight: 3 }, fc.constant(undefined), fc.constant("")) }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("branch" as const), dt, target: pick }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant("branchWithSummary" as const),
      dt,
      target: fc.option(pick, { nil: null, freq: 4 }),
      summary: fc.oneof(nonEmptyText, fc.constant("")),
      details: optional(jsonish),
      fromHook: optional(fc.boolean()),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ op: fc.constant("resetLeaf" as const), dt }), weight: 1 },
);

/**
 * Operation lists that always reach the file: pi writes nothing until the first
 * assistant message, so one is inserted (at a random place) when none was generated.
 */
export function ops(maxLength = 60): fc.Arbitrary<Op[]> {
  return fc
    .tuple(fc.array(op, { maxLength, size: "max" }), fc.nat(), assistantMessage, dt)
    .map(([list, at, message, d]) => {
      if (list.some((o) => o.op === "message" && o.message.role === "assistant")) return list;
      const i = at % (list.length + 1);
      return [...list.slice(0, i), { op: "message" as const, dt: d, message }, ...list.slice(i)];
    });
}

/** Where the fake clock starts. */
export const START_MS = Date.UTC(2025, 10, 20, 23, 33, 50, 805);

export interface Driven {
  sm: SessionManager;
  file: string;
}

/**
 * Run the operations through pi's SessionManager, persisted under `dir`. `setNow` sets
 * the clock pi reads (`new Date()`) before each operation.
 */
export function drive(list: readonly Op[], dir: string, setNow: (ms: number) => void): Driven {
  let now = START_MS;
  setNow(now);
  const sm = SessionManager.create("/work/project \u2028\"q\"", dir);
  for (const o of list) {
    now += o.dt;
    setNow(now);
    apply(sm, o);
  }
  const file = sm.getSessionFile();
  if (!file) throw new Error("SessionManager has no session file");
  return { sm, file };
}

/** Not an id pi hands out (its ids are 8 hex chars from randomUUID; a clash is 1 in 2^32). */
export const MISSING_ID = "0000dead";
function pickFrom<T>(list: readonly T[], n: number): T | undefined {
  return list.length === 0 ? undefined : list[n % list.length];
}

function apply(sm: SessionManager, o: Op): void {
  const ids = () => sm.getEntries().map((e) => e.id);
  switch (o.op) {
    case "message":
      sm.appendMessage(o.message as Parameters<SessionManager["appendMessage"]>[0]);
      return;
    case "thinking":
      sm.appendThinkingLevelChange(o.level);
      return;
    case "model":
      sm.appendModelChange(o.provider, o.modelId);
      return;
    case "compaction": {
      const onPath = sm.getBranch().map((e) => e.id);
      let target: string | undefined;
      if (o.target.where === "path") {
        target = pickFrom(onPath, o.target.pick);
      } else if (o.target.where === "off") {
        const on = new Set(onPath);
        target = pickFrom(
          ids().filter((id) => !on.has(id)),
          o.target.pick,
        );
      }
      // Nothing to pick (empty path, no other branch): fall back to an id that does not exist.
      target ??= MISSING_ID;
      sm.appendCompaction(o.summary, target, o.tokensBefore, o.details, o.fromHook);
      return;
    }
    case "customEntry":
      sm.appendCustomEntry(o.customType, o.data);
      return;
    case "customMessage":
      sm.appendCustomMessageEntry(o.customType, o.content as Parameters<SessionManager["appendCustomMessageEntry"]>[1], o.display, o.details);
      return;
    case "sessionInfo":
      sm.appendSessionInfo(o.name);
      return;
    case "label": {
      const target = pickFrom(ids(), o.target);
      if (target !== undefined) sm.appendLabelChange(target, o.label);
      return;
    }
    case "branch": {
      const target = pickFrom(ids(), o.target);
      if (target !== undefined) sm.branch(target);
      return;
    }
    case "branchWithSummary": {
      const target = o.target === null ? null : (pickFrom(ids(), o.target) ?? null);
      sm.branchWithSummary(target, o.summary, o.details, o.fromHook);
      return;
    }
    case "resetLeaf":
      sm.resetLeaf();
      return;
  }
}

// ---------------------------------------------------------------------------
// Comparable tree shapes

/** One node of a tree in preorder: the shape (ids, child order) and labels, nothing else. */
export interface ShapeNode {
  id: string;
  depth: number;
  children: string[];
  label: string | undefined;
}

type PiTreeNode = ReturnType<SessionManager["getTree"]>[number];

/** pi's getTree() in preorder (iterative). */
export function piShape(roots: readonly PiTreeNode[]): ShapeNode[] {
  const out: ShapeNode[] = [];
  const stack: { node: PiTreeNode; depth: number }[] = [...roots].reverse().map((node) => ({ node, depth: 0 }));
  while (stack.length > 0) {
    const { node, depth } = stack.pop() as { node: PiTreeNode; depth: number };
    out.push({ id: node.entry.id, depth, children: node.children.map((c) => c.entry.id), label: node.label });
    for (let i = node.children.length - 1; i >= 0; i--) stack.push({ node: node.children[i] as PiTreeNode, depth: depth + 1 });
  }
  return out;
}

/** sessfmt's SessionTree in the same preorder (iterative). */
export function sessfmtShape(session: Session): ShapeNode[] {
  const tree = session.tree;
  const out: ShapeNode[] = [];
  const stack = [...tree.roots].reverse().map((r) => ({ id: r.id, depth: 0 }));
  while (stack.length > 0) {
    const { id, depth } = stack.pop() as { id: string; depth: number };
    const kids = tree.children(id);
    out.push({ id, depth, children: kids.map((k) => k.id), label: tree.label(id) });
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ id: (kids[i] as { id: string }).id, depth: depth + 1 });
  }
  return out;
}
