/**
 * The differential tests are only as good as what they generate. These tests sample the
 * generators with a fixed seed and check that every case the comparisons rely on is
 * actually reached, so a generator that quietly stops producing (say) off-path
 * compactions fails here instead of making the differential pass vacuously.
 */
import fc from "fast-check";
import { readFileSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSessionFromBuffer } from "../../src/index.js";
import { applyDamage, damagePlan } from "./damage.js";
import { v1File } from "./legacy-model.js";
import { drive, ops, TempRoot } from "./model.js";
import { fakeClock } from "./harness.js";

const SAMPLES = 120;
const SEED = 20251121;

let root: TempRoot;
beforeAll(() => {
  root = new TempRoot("diff-gen");
});
afterAll(() => root.remove());

type Obj = Record<string, unknown>;

function tally(): { add: (k: string, when?: boolean) => void; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  return { counts, add: (k, when = true) => void (when && (counts[k] = (counts[k] ?? 0) + 1)) };
}

describe("the session model reaches every case the differential compares", () => {
  it("branches, roots, compaction targets, summaries, labels, names, clock ties and skew, leaf positions, awkward text", () => {
    const clock = fakeClock();
    const { add, counts } = tally();
    try {
      for (const list of fc.sample(ops(), { seed: SEED, numRuns: SAMPLES })) {
        const { sm, file } = drive(list, root.sub(), clock.setNow);
        const text = readFileSync(file, "utf8");
        rmSync(dirname(file), { recursive: true, force: true });
        const es = sm.getEntries() as unknown as Obj[];
        const byId = new Map(es.map((e) => [e.id as string, e]));
        const isAncestor = (from: unknown, target: unknown): boolean => {
          for (let c = byId.get(from as string); c; c = byId.get(c.parentId as string)) if (c.id === target) return true;
          return false;
        };
        const kids = new Map<unknown, Obj[]>();
        for (const e of es) kids.set(e.parentId, [...(kids.get(e.parentId) ?? []), e]);
        add("several roots", (kids.get(null)?.length ?? 0) > 1);
        add("branch point", [...kids.entries()].some(([p, k]) => p !== null && k.length > 1));
        for (const [, k] of kids) {
          for (let i = 1; i < k.length; i++) {
            const a = Date.parse((k[i - 1] as Obj).timestamp as string);
            const b = Date.parse((k[i] as Obj).timestamp as string);
            add("siblings with equal timestamps", a === b);
            add("siblings out of timestamp order", a > b);
          }
        }
        for (const e of es) {
          if (e.type === "compaction") {
            const t = e.firstKeptEntryId;
            add(!byId.has(t as string) ? "compaction: missing target" : isAncestor(e.parentId, t) ? "compaction: target on path" : "compaction: target off path");
          }
          if (e.type === "branch_summary") {
            add(e.summary ? "branch summary: non-empty" : "branch summary: empty");
            add("branch summary: from root", e.fromId === "root");
          }
          if (e.type === "label") add(e.label ? "label: set" : "label: cleared");
          if (e.type === "session_info") add(e.name ? "name: set" : "name: cleared");
          if (e.type === "custom_message") add(typeof e.content === "string" ? "custom_message: string" : "custom_message: blocks");
          if (e.type === "custom_message") add(e.details === undefined ? "custom_message: no details" : "custom_message: details");
          if (e.type === "custom_message") add(e.display ? "custom_message: displayed" : "custom_message: hidden");
          if (e.type === "custom") add("custom entry");
          if (e.type === "thinking_level_change") add("thinking level change");
          if (e.type === "model_change") add("model change");
          const role = (e.message as Obj | undefined)?.role;
          if (role) add(`role ${role as string}`);
        }
        const ctx = sm.buildSessionContext();
        add("context keeps entries before a compaction", ctx.messages[0]?.role === "compactionSummary" && ctx.messages.length > 1);
        add("writer's leaf is not the last entry", sm.getLeafId() !== null && sm.getLeafId() !== es[es.length - 1]?.id);
        add("writer's leaf is null", sm.getLeafId() === null);
        add("U+2028 in the file", text.includes("\u2028"));
        add("U+2029 in the file", text.includes("\u2029"));
        add("escaped lone surrogate in the file", /\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])/i.test(text));
        add("emoji in the file", /\p{Extended_Pictographic}/u.test(text));
      }
    } finally {
      clock.restore();
    }
    const expected = [
      "several roots",
      "branch point",
      "siblings with equal timestamps",
      "siblings out of timestamp order",
      "compaction: missing target",
      "compaction: target on path",
      "compaction: target off path",
      "branch summary: non-empty",
      "branch summary: empty",
      "branch summary: from root",
      "label: set",
      "label: cleared",
      "name: set",
      "name: cleared",
      "custom_message: string",
      "custom_message: blocks",
      "custom_message: details",
      "custom_message: no details",
      "custom_message: displayed",
      "custom_message: hidden",
      "custom entry",
      "thinking level change",
      "model change",
      "role user",
      "role assistant",
      "role toolResult",
      "role bashExecution",
      "role custom",
      "context keeps entries before a compaction",
      "writer's leaf is not the last entry",
      "writer's leaf is null",
      "U+2028 in the file",
      "U+2029 in the file",
      "escaped lone surrogate in the file",
      "emoji in the file",
    ];
    for (const k of expected) expect(counts[k] ?? 0, k).toBeGreaterThan(0);
  });
});

describe("damage reaches every kind of damage it names", () => {
  it("sessfmt reports orphans, skipped, blank, torn, unknown-type, cycle and duplicate diagnostics on damaged files", () => {
    const clock = fakeClock();
    const { add, counts } = tally();
    try {
      const samples = fc.sample(fc.tuple(ops(30), damagePlan("any")), { seed: SEED, numRuns: SAMPLES });
      for (const [list, plan] of samples) {
        const { file } = drive(list, root.sub(), clock.setNow);
        const bytes = applyDamage(readFileSync(file, "utf8"), plan);
        rmSync(dirname(file), { recursive: true, force: true });
        const s = openSessionFromBuffer(bytes);
        for (const d of s.diagnostics.items) add(d.code);
        add("crlf", bytes.includes("\r\n"));
        add("rust-style omitted parentId", s.dialect === "rust");
      }
    } finally {
      clock.restore();
    }
    for (const k of ["orphaned_parent", "skipped", "blank_line", "truncated_tail", "unknown_type", "cycle", "duplicate_id", "crlf", "rust-style omitted parentId"]) {
      expect(counts[k] ?? 0, k).toBeGreaterThan(0);
    }
  });
});

describe("v1 files reach every kind of firstKeptEntryIndex", () => {
  it("indexes naming an earlier entry, the compaction or a later entry, no entry, or no line; hookMessage; every ending", () => {
    const { add, counts } = tally();
    for (const v1 of fc.sample(v1File, { seed: SEED, numRuns: SAMPLES })) {
      const lines = v1.text.split("\n");
      lines.forEach((line, i) => {
        let o: Obj;
        try {
          o = JSON.parse(line) as Obj;
        } catch {
          add("torn last line", i === lines.length - 1 && line !== "");
          return;
        }
        add("unterminated last line", i === lines.length - 1 && line !== "");
        if (typeof o.firstKeptEntryIndex === "number") {
          const k = o.firstKeptEntryIndex;
          add(!Number.isInteger(k) || k < 0 ? "index is not a line index" : k < i ? "index before the compaction" : k <= v1.entries ? "index at or after the compaction" : "index names nothing");
        }
        add("hookMessage", (o.message as Obj | undefined)?.role === "hookMessage");
      });
      add("crlf", v1.text.includes("\r\n"));
    }
    for (const k of ["index before the compaction", "index at or after the compaction", "index names nothing", "index is not a line index", "hookMessage", "torn last line", "unterminated last line", "crlf"]) {
      expect(counts[k] ?? 0, k).toBeGreaterThan(0);
    }
  });
});
