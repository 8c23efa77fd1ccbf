/**
 * Differential test on damaged files that pi still reads the same way: pi-written
 * sessions with orphaned parents, omitted or empty parentIds, parents later in the file,
 * unknown entry types, odd timestamps (unparseable ones make getTree's sort comparator
 * return NaN), stray keys, labels of missing entries, blank and unparseable lines, extra
 * header lines, CRLF line ends, and an unterminated or torn last line. The deliberate
 * divergences (cycles, duplicate ids, lines only pi keeps) are listed in context.test.ts
 * and are not generated here.
 */
import fc from "fast-check";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { SessionManager } from "./pi.js";
import { afterAll, beforeAll, describe, it } from "vitest";
import { openSession } from "../../src/index.js";
import { applyDamage, damagePlan } from "./damage.js";
import { check, copyInto, drive, ops, runs, TempRoot } from "./model.js";
import { expectSameAsPi, fakeClock } from "./harness.js";

const RUNS = runs(100);
let root: TempRoot;
let clock: ReturnType<typeof fakeClock>;

beforeAll(() => {
  root = new TempRoot("diff-damaged");
  clock = fakeClock();
});
afterAll(() => {
  clock.restore();
  root.remove();
});

describe("damage pi reads the same way gives pi's context, leaf, name, labels, tree and entries", () => {
  it("every comparison holds on damaged copies of pi-written sessions", async () => {
    await check(
      fc.asyncProperty(ops(30), damagePlan("piReadable"), fc.boolean(), async (list, plan, retainEntries) => {
        const { file } = drive(list, root.sub(), clock.setNow);
        const damaged = join(root.sub(), "damaged.jsonl");
        writeFileSync(damaged, applyDamage(readFileSync(file, "utf8"), plan));
        const copy = copyInto(root, damaged);
        const fresh = SessionManager.open(copy, dirname(copy));
        const session = await openSession(damaged, { retainEntries });
        expectSameAsPi(fresh, session);
      }),
      RUNS,
    );
  });
});
