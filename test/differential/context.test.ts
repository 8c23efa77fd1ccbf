/**
 * Differential test against the reference, @mariozechner/pi-coding-agent 0.73.1: random
 * sessions are written by pi's own SessionManager (every append method, branch, branch
 * with summary, resetLeaf, compactions whose firstKeptEntryId is on the path, on another
 * branch or missing; text full of U+2028/U+2029, quotes, backslashes, emoji and lone
 * surrogates; a clock that stalls and goes backwards), then read by sessfmt and by a fresh
 * pi SessionManager. Everything pi can tell about the file must be the same in sessfmt.
 *
 * Known deliberate divergences, kept out of generation (here and in every differential
 * test):
 * - Parent cycles, self-parents included: pi's parent walks never terminate; sessfmt
 *   breaks each cycle at its first member in the file and reports a `cycle` diagnostic.
 * - Duplicate ids: pi indexes the later entry but its getTree pushes that node under its
 *   parent once per line carrying the id; sessfmt keeps the later entry once.
 * - Malformed or blank lines in v1 files: pi's firstKeptEntryIndex counts parsed lines,
 *   sessfmt counts physical lines (a skipped line cannot shift the kept range).
 * - v1 firstKeptEntryIndex 0 (the header): pi keeps nothing before the compaction,
 *   sessfmt keeps from the first entry.
 * - Lines sessfmt skips as invalid that pi keeps: missing or ill-typed timestamp, id,
 *   parentId, type or message.role, a label without a string targetId, invalid UTF-8,
 *   a first line that is not a header.
 * - Values pi's own API cannot write, not generated: a non-string `label` (pi sets it as
 *   the label, sessfmt treats the entry as a clear) or session `name` (pi's getSessionName
 *   throws, sessfmt ignores it).
 *
 * Replay a failure with SESSFMT_SEED (and SESSFMT_PATH); SESSFMT_DIFF_RUNS=2000 for soak.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSessionContext } from "./pi.js";
import { check, MISSING_ID, ops, piShape, runs, sessfmtShape, TempRoot } from "./model.js";
import { fakeClock, json, withPair } from "./harness.js";

const RUNS = runs(50);
let root: TempRoot;
let clock: ReturnType<typeof fakeClock>;

beforeAll(() => {
  root = new TempRoot("diff-context");
  clock = fakeClock();
});
afterAll(() => {
  clock.restore();
  root.remove();
});

/** A property over one pi-written session, opened by both sides. */
function sessionProperty(body: Parameters<typeof withPair>[4]) {
  return fc.asyncProperty(ops(), fc.boolean(), async (list, retain) => {
    await withPair(root, list, retain, clock.setNow, body);
  });
}

describe("context at the leaf after open equals pi's after open", () => {
  it("buildContext() is JSON-identical to a fresh SessionManager's buildSessionContext()", async () => {
    await check(
      sessionProperty(({ fresh, session }) => {
        expect(json(session.buildContext())).toBe(json(fresh.buildSessionContext()));
      }),
      RUNS,
    );
  });
});

describe("context at any leaf equals pi's buildSessionContext at that leaf", () => {
  it("every entry id, null, an unknown id and the empty string give JSON-identical contexts", async () => {
    await check(
      sessionProperty(({ fresh, session }) => {
        const entries = fresh.getEntries();
        for (const leaf of [...entries.map((e) => e.id), null, MISSING_ID, "not-an-id", ""]) {
          expect(json(session.buildContext(leaf)), `leaf ${leaf}`).toBe(json(buildSessionContext(entries, leaf)));
        }
      }),
      RUNS,
    );
  });

  it("the leaf pi's writer ended on (after branch or resetLeaf) gives the writer's in-memory context", async () => {
    await check(
      sessionProperty(({ sm, session }) => {
        expect(json(session.buildContext(sm.getLeafId()))).toBe(json(sm.buildSessionContext()));
      }),
      RUNS,
    );
  });
});

describe("the leaf after open is the last entry in the file, as in pi", () => {
  it("leafId equals a fresh SessionManager's getLeafId()", async () => {
    await check(
      sessionProperty(({ fresh, session }) => {
        const entries = fresh.getEntries();
        expect(session.leafId).toBe(fresh.getLeafId());
        expect(session.leafId).toBe(entries[entries.length - 1]?.id ?? null);
      }),
      RUNS,
    );
  });
});

describe("session name and labels equal pi's", () => {
  it("name equals getSessionName(); label(id) equals getLabel(id) for every entry", async () => {
    await check(
      sessionProperty(({ sm, fresh, session }) => {
        expect(session.name).toBe(fresh.getSessionName());
        expect(session.name).toBe(sm.getSessionName());
        let labelled = 0;
        for (const e of fresh.getEntries()) {
          expect(session.tree.label(e.id), `label of ${e.id}`).toBe(fresh.getLabel(e.id));
          expect(fresh.getLabel(e.id)).toBe(sm.getLabel(e.id));
          if (fresh.getLabel(e.id) !== undefined) labelled++;
        }
        // pi can only label existing entries, so no label sessfmt knows is missing above.
        expect(session.labels.size).toBe(labelled);
      }),
      RUNS,
    );
  });
});

describe("the tree equals pi's getTree", () => {
  it("roots, children in order, and labels are the same in preorder", async () => {
    await check(
      sessionProperty(({ fresh, session }) => {
        expect(sessfmtShape(session)).toEqual(piShape(fresh.getTree()));
      }),
      RUNS,
    );
  });

  it("the path to every entry equals getBranch(id)", async () => {
    await check(
      sessionProperty(({ fresh, session }) => {
        for (const e of fresh.getEntries()) {
          expect(session.branch(e.id).map((b) => b.id)).toEqual(fresh.getBranch(e.id).map((b) => b.id));
        }
      }),
      RUNS,
    );
  });
});

describe("entries equal pi's after a JSON round trip", () => {
  it("entries() deep-equals a fresh getEntries() and the writer's entries through JSON", async () => {
    await check(
      sessionProperty(({ sm, fresh, session }) => {
        const entries = session.entries();
        expect(entries).toStrictEqual(fresh.getEntries());
        expect(entries).toStrictEqual(JSON.parse(JSON.stringify(sm.getEntries())));
      }),
      RUNS,
    );
  });
});
