/**
 * Legacy differential: v1 and v2 files opened by pi (which migrates them in memory and
 * rewrites the file, so it gets a copy) and by sessfmt (which upgrades in memory only).
 *
 * v1 ids differ by design (pi draws random ones, sessfmt derives them from the line), so
 * v1 entries are compared through the position map pi id -> sessfmt id, and contexts
 * (which hold no ids in v1: there is no branch_summary) are compared as JSON. v2 files
 * keep their ids, so they get the full comparison.
 *
 * One entry-level difference is expected and asserted below: a v1 firstKeptEntryIndex that
 * names the compaction itself or a later entry becomes a firstKeptEntryId in pi but is
 * dropped (with a legacy_index diagnostic) by sessfmt. Both keep nothing before the
 * compaction, so contexts are equal. The deliberate divergences are listed in
 * context.test.ts and are not generated.
 */
import fc from "fast-check";
import { appendFileSync, copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildSessionContext, SessionManager } from "./pi.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSession, type Session } from "../../src/index.js";
import { applyDamage, damagePlan } from "./damage.js";
import { check, copyInto, drive, ops, piShape, runs, sessfmtShape, TempRoot } from "./model.js";
import { toV2, v1File } from "./legacy-model.js";
import { expectSameAsPi, fakeClock, json } from "./harness.js";

const RUNS = runs(80);
const REAL_FILE = "/work/shared/fixtures/pi-mono/large-session.jsonl";

let root: TempRoot;
beforeAll(() => {
  root = new TempRoot("diff-legacy");
});
afterAll(() => root.remove());

type Obj = Record<string, unknown>;

/** Open `file` with both: sessfmt reads it, pi migrates and rewrites a copy. */
async function openBoth(file: string, retainEntries = true): Promise<{ fresh: SessionManager; session: Session; copy: string }> {
  const copy = copyInto(root, file);
  const fresh = SessionManager.open(copy, dirname(copy));
  const session = await openSession(file, { retainEntries });
  return { fresh, session, copy };
}

/**
 * Compare a migrated v1 session with sessfmt's upgrade, mapping pi's random ids to
 * sessfmt's by position. `leaves` limits the per-leaf contexts (all by default).
 */
function expectSameV1(fresh: SessionManager, session: Session, leaves?: number[]): void {
  const piEntries = fresh.getEntries();
  const ours = session.entries();
  expect(ours.length, "entry count").toBe(piEntries.length);
  const toOurs = new Map<string, string>(piEntries.map((e, i) => [e.id, (ours[i] as { id: string }).id]));

  expect(json(session.buildContext()), "context at the leaf").toBe(json(fresh.buildSessionContext()));
  for (const i of leaves ?? piEntries.map((_, i) => i)) {
    const leaf = piEntries[i]?.id as string;
    expect(json(session.buildContext(toOurs.get(leaf))), `context at entry ${i}`).toBe(json(buildSessionContext(piEntries, leaf)));
  }
  for (const leaf of [null, "not-an-id"]) {
    expect(json(session.buildContext(leaf)), `context at ${leaf}`).toBe(json(buildSessionContext(piEntries, leaf)));
  }
  expect(session.leafId).toBe(toOurs.get(fresh.getLeafId() as string));
  expect(session.name).toBe(fresh.getSessionName());

  const mapped = piEntries.map((e, i) => {
    const o: Obj = { ...e, id: toOurs.get(e.id), parentId: e.parentId === null ? null : toOurs.get(e.parentId) };
    if (e.type === "compaction" && typeof e.firstKeptEntryId === "string") {
      const target = piEntries.findIndex((x) => x.id === e.firstKeptEntryId);
      // pi keeps an index that names the compaction or a later entry; sessfmt drops it.
      if (target >= i) delete o.firstKeptEntryId;
      else o.firstKeptEntryId = toOurs.get(e.firstKeptEntryId);
    }
    return o;
  });
  expect(ours, "entries (ids mapped)").toEqual(mapped);
  const shape = piShape(fresh.getTree()).map((n) => ({ ...n, id: toOurs.get(n.id), children: n.children.map((c) => toOurs.get(c)) }));
  expect(sessfmtShape(session), "tree (ids mapped)").toEqual(shape);
}

describe("a v1 file gives pi's context at every entry", () => {
  it("contexts, leaf, name, entries and tree agree with pi's v1 -> v3 migration (ids mapped by position)", async () => {
    await check(
      fc.asyncProperty(v1File, fc.boolean(), async (v1, retainEntries) => {
        const file = join(root.sub(), "v1.jsonl");
        writeFileSync(file, v1.text);
        const { fresh, session } = await openBoth(file, retainEntries);
        expect(session.version).toBe(1);
        expectSameV1(fresh, session);
        expect(readFileSync(file, "utf8"), "sessfmt never rewrites").toBe(v1.text);
      }),
      RUNS,
    );
  });
});

describe("a v2 file gives pi's context, leaf, name, labels, tree and entries", () => {
  it("hookMessage becomes role custom exactly as pi's v2 -> v3 migration, damaged files included", async () => {
    const clock = fakeClock();
    try {
      await check(
        fc.asyncProperty(ops(30), fc.func(fc.boolean()), fc.option(damagePlan("piReadable"), { nil: undefined }), fc.boolean(), async (list, rename, plan, retainEntries) => {
          const { file: v3 } = drive(list, root.sub(), clock.setNow);
          let text = toV2(readFileSync(v3, "utf8"), (i) => rename(i));
          if (plan) text = applyDamage(text, { ...plan, header: plan.header === "version4" ? "asIs" : plan.header }).toString("utf8");
          const file = join(root.sub(), "v2.jsonl");
          writeFileSync(file, text);
          const { fresh, session } = await openBoth(file, retainEntries);
          expect(session.version).toBe(2);
          expectSameAsPi(fresh, session);
          rmSync(dirname(v3), { recursive: true, force: true });
        }),
        RUNS,
      );
    } finally {
      clock.restore();
    }
  });
});

describe("the real v1 session (pi-mono large-session.jsonl) reads as pi reads it", () => {
  const sample = (n: number) => Array.from({ length: n }, (_, i) => i).filter((i) => i % 97 === 0 || i >= n - 3);

  it("contexts (leaf and every 97th entry), entries and tree agree", async () => {
    const file = join(root.sub(), "large-session.jsonl");
    copyFileSync(REAL_FILE, file);
    const { fresh, session } = await openBoth(file);
    expect(session.version).toBe(1);
    expect(session.diagnostics.count).toBe(0);
    expect(session.records.length).toBe(1018);
    expectSameV1(fresh, session, sample(session.records.length));
    expect(session.buildContext().messages.length).toBe(914);
  });

  it("a compaction appended in v1 form keeps the same range in both", async () => {
    const file = join(root.sub(), "large-session-compacted.jsonl");
    copyFileSync(REAL_FILE, file);
    const at = (ts: string) => ({ timestamp: ts });
    appendFileSync(
      file,
      [
        { type: "compaction", ...at("2025-11-21T09:00:00.000Z"), summary: "Summary \u2028 of \"work\"", firstKeptEntryIndex: 1000, tokensBefore: 150000 },
        { type: "message", ...at("2025-11-21T09:00:01.000Z"), message: { role: "user", content: "after compaction", timestamp: 1763715601000 } },
        { type: "compaction", ...at("2025-11-21T09:00:02.000Z"), summary: "second", firstKeptEntryIndex: 1020, tokensBefore: 3000 },
      ]
        .map((o) => `${JSON.stringify(o)}\n`)
        .join(""),
    );
    const { fresh, session } = await openBoth(file);
    const n = session.records.length;
    expectSameV1(fresh, session, [0, 999, 1000, 1017, n - 3, n - 2, n - 1]);
    const ctx = session.buildContext();
    // Line 1021 (index 1020) is the message after the first compaction: kept, then nothing else.
    expect(ctx.messages.map((m) => m.role)).toEqual(["compactionSummary", "user"]);
    const before = session.buildContext(session.records[n - 2]?.id);
    expect(before.messages.length).toBe(1 + (1018 - 999) + 1);
  });
});
