/**
 * Invariants of sessfmt's tree, context and byte index over the differential test's
 * random sessions: pi-written v3 files, the same files damaged in every way (parent
 * cycles, self-parents and duplicate ids included: pi cannot read those, sessfmt must),
 * and random v1 files.
 */
import fc from "fast-check";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSession, type EntryRecord, type Session } from "../../src/index.js";
import { applyDamage, damagePlan, type DamagePlan } from "./damage.js";
import { v1File, type V1File } from "./legacy-model.js";
import { check, drive, ops, runs, TempRoot, type Op } from "./model.js";
import { fakeClock } from "./harness.js";

const RUNS = runs(50);
let root: TempRoot;
let clock: ReturnType<typeof fakeClock>;

beforeAll(() => {
  root = new TempRoot("diff-tree");
  clock = fakeClock();
});
afterAll(() => {
  clock.restore();
  root.remove();
});

type Sample = { kind: "v3"; list: Op[]; plan: DamagePlan | undefined } | { kind: "v1"; v1: V1File };

const sample: fc.Arbitrary<Sample> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant("v3" as const), list: ops(30), plan: fc.constant(undefined) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("v3" as const), list: ops(30), plan: damagePlan("any") }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("v1" as const), v1: v1File }), weight: 1 },
);

/** Write the sample's file, open it with sessfmt, run `body`, clean up. */
function sessionProperty(body: (s: Session, bytes: Buffer) => void) {
  return fc.asyncProperty(sample, fc.boolean(), async (s, retainEntries) => {
    let bytes: Buffer;
    if (s.kind === "v1") {
      bytes = Buffer.from(s.v1.text, "utf8");
    } else {
      const { file } = drive(s.list, root.sub(), clock.setNow);
      bytes = s.plan ? applyDamage(readFileSync(file, "utf8"), s.plan) : readFileSync(file);
      rmSync(dirname(file), { recursive: true, force: true });
    }
    const file = join(root.sub(), "session.jsonl");
    writeFileSync(file, bytes);
    try {
      body(await openSession(file, { retainEntries }), bytes);
    } finally {
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });
}

/** Records that own their id (a later duplicate shadows an earlier one). */
function live(s: Session): EntryRecord[] {
  return s.records.filter((r) => s.tree.get(r.id) === r);
}

describe("every entry appears exactly once in the tree", () => {
  it("a walk from the roots over children visits each live record once and nothing else", async () => {
    await check(
      sessionProperty((s) => {
        const visits = new Map<EntryRecord, number>();
        const stack = [...s.tree.roots];
        while (stack.length > 0) {
          const r = stack.pop() as EntryRecord;
          visits.set(r, (visits.get(r) ?? 0) + 1);
          if ((visits.get(r) as number) > 1) break; // a repeat: stop, the assertion below reports it
          stack.push(...s.tree.children(r.id));
        }
        const alive = live(s);
        expect(alive.length).toBe(s.tree.size);
        expect([...visits.values()].every((n) => n === 1)).toBe(true);
        expect(new Set(visits.keys())).toEqual(new Set(alive));
      }),
      RUNS,
    );
  });
});

describe("pathToRoot ends at the entry and starts at a root", () => {
  it("each step goes to the parent, and the first entry is a root", async () => {
    await check(
      sessionProperty((s) => {
        const roots = new Set(s.tree.roots);
        for (const r of live(s)) {
          const path = s.tree.pathToRoot(r.id);
          expect(path[path.length - 1]).toBe(r);
          expect(roots.has(path[0] as EntryRecord)).toBe(true);
          expect(s.tree.parentOf(path[0] as EntryRecord)).toBeUndefined();
          for (let i = 1; i < path.length; i++) expect(s.tree.parentOf(path[i] as EntryRecord)).toBe(path[i - 1]);
          expect(new Set(path).size).toBe(path.length);
          expect(s.branch(r.id).map((e) => e.id)).toEqual(path.map((p) => p.id));
        }
      }),
      RUNS,
    );
  });
});

describe("children's parentId is their parent", () => {
  it("every child names its parent, and roots have no parent in the tree", async () => {
    await check(
      sessionProperty((s) => {
        for (const p of live(s)) {
          for (const c of s.tree.children(p.id)) {
            expect(c.parentId).toBe(p.id);
            expect(s.tree.parentOf(c)).toBe(p);
          }
        }
        for (const r of s.tree.roots) expect(s.tree.parentOf(r)).toBeUndefined();
        // A cycle is broken at one member per cycle, and reported.
        expect(s.diagnostics.items.filter((d) => d.code === "cycle").length).toBe(s.tree.cycles.length);
      }),
      RUNS,
    );
  });
});

describe("buildContext never throws", () => {
  it("at every entry, the current leaf, null, an unknown id and the empty string", async () => {
    await check(
      sessionProperty((s) => {
        for (const leaf of [...s.records.map((r) => r.id), undefined, null, "not-an-id", ""]) {
          const ctx = s.buildContext(leaf);
          expect(typeof ctx.thinkingLevel).toBe("string");
          expect(Array.isArray(ctx.messages)).toBe(true);
        }
      }),
      RUNS,
    );
  });
});

describe("the raw bytes of every record are the file's bytes at [offset, offset+length)", () => {
  it("raw(), rawHeader() and the line ends match the file; a line's bytes exclude its \\n or \\r\\n", async () => {
    await check(
      sessionProperty((s, bytes) => {
        expect(s.rawHeader().equals(bytes.subarray(s.headerSpan.offset, s.headerSpan.offset + s.headerSpan.length))).toBe(true);
        for (const r of s.records) {
          const at = bytes.subarray(r.offset, r.offset + r.length);
          expect(s.raw(r).equals(at), `line ${r.line}`).toBe(true);
          const end = bytes.subarray(r.offset + r.length, r.offset + r.length + r.eol).toString("latin1");
          expect(end).toBe(["", "\n", "\r\n"][r.eol]);
          if (r.eol === 0) expect(r.offset + r.length).toBe(bytes.length);
          // A whole physical line: starts after a "\n", holds none, and a "\r" before the "\n" belongs to the terminator.
          expect(r.offset === 0 || bytes[r.offset - 1] === 0x0a).toBe(true);
          expect(at.includes(0x0a)).toBe(false);
          if (r.eol === 1) expect(at[at.length - 1]).not.toBe(0x0d);
          expect(JSON.parse(at.toString("utf8")).type).toBe(r.type);
        }
      }),
      RUNS,
    );
  });
});
