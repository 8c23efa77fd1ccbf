/**
 * The reader suite itself: it must reject readers that see the wrong thing. Each case
 * wraps the JSONL reader and breaks one thing the suite checks.
 */
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openSession, SessionTree, type EntryRecord } from "../../src/index.js";
import { expectReaderSees, type OpenReader, type ReaderView } from "./reader-suite.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");

class NewestFirst extends SessionTree {
  override children(id: string | null): readonly EntryRecord[] {
    return [...super.children(id)].reverse();
  }
}

function broken(change: (v: ReaderView, records: readonly EntryRecord[]) => ReaderView): OpenReader {
  return async (file) => {
    const s = await openSession(file);
    const view: ReaderView = {
      tree: s.tree,
      leafId: s.leafId,
      entries: () => s.entries(),
      raw: (id) => s.raw(s.record(id) as EntryRecord),
      buildContext: (leaf) => s.buildContext(leaf),
    };
    return change(view, s.records);
  };
}

describe("the shared reader suite rejects readers that see something else", () => {
  const file = join(FIXTURES, "v3-branched.jsonl");
  const cases: [string, OpenReader][] = [
    ["a reader that loses the last entry", broken((v) => ({ ...v, entries: () => v.entries().slice(0, -1) }))],
    ["a reader whose raw bytes are re-serialised", broken((v) => ({ ...v, raw: (id) => Buffer.from(JSON.stringify(JSON.parse(v.raw(id).toString()), null, 1)) }))],
    ["a reader with the wrong leaf", broken((v, recs) => ({ ...v, leafId: recs[0]?.id ?? null }))],
    ["a reader whose tree lists children newest first", broken((v, recs) => ({ ...v, tree: new NewestFirst(recs) }))],
    ["a reader whose context drops the first message", broken((v) => ({ ...v, buildContext: (l) => ({ ...v.buildContext(l), messages: v.buildContext(l).messages.slice(1) }) }))],
  ];
  for (const [name, open] of cases) {
    it(name, async () => {
      await expect(expectReaderSees(open, file)).rejects.toThrow();
    });
  }
  it("and accepts the JSONL reader as it is", async () => {
    await expectReaderSees(broken((v) => v), file);
  });
});
