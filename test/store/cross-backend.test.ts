/**
 * The three backends side by side: the same calls must leave the same session in each
 * (the bytes, up to random ids), with pi's own context for it.
 */
import { realpathSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSessionFromBuffer } from "../../src/index.js";
import { JsonlSessionStore, MemorySessionStore, SqliteSessionStore, type SessionStore } from "../../src/store/index.js";
import { assistantMessage, makeTempDir, userMessage } from "../helpers/session-files.js";
import { buildScenario, fixedClock, normalizedExport, normalizeIds, piContext, treeShape } from "./scenario.js";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let clock: ReturnType<typeof fixedClock>;
let runs = 0;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-cross-");
  dir = realpathSync(tmp.dir);
  clock = fixedClock();
});
afterEach(() => {
  clock.restore();
  tmp.cleanup();
});

function stores(): SessionStore[] {
  runs++;
  return [
    new MemorySessionStore(),
    new JsonlSessionStore({ root: join(dir, `jsonl-${runs}`), durability: "throughput" }),
    new SqliteSessionStore({ root: join(dir, `sqlite-${runs}`), durable: false }),
  ];
}

describe("every backend keeps the same session for the same calls", () => {
  it("the scenario: same bytes up to ids, same tree, same context as pi", async () => {
    const results: { bytes: string; shape: unknown; context: string; forkBytes: string }[] = [];
    for (const store of stores()) {
      clock.restore();
      clock = fixedClock(); // each backend sees the same clock
      const ids = await buildScenario(store, clock.tick);
      const raw = await store.exportJsonl(ids.session);
      const s = await store.load(ids.session);
      expect(JSON.stringify(s.buildContext())).toBe(JSON.stringify(piContext(raw, dir, `${store.kind}.jsonl`)));
      const fork = await store.fork(ids.session, { entryId: ids.a3 }, { id: "fork", now: clock.tick() });
      results.push({
        bytes: normalizedExport(raw),
        shape: treeShape(s),
        context: normalizeIds(s, JSON.stringify(s.buildContext())),
        forkBytes: normalizedExport(await store.exportJsonl(fork.id)),
      });
      await store.close();
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it("random sequences of appends, branches, labels and renames", async () => {
    type Op = { kind: "user" | "assistant" | "label" | "rename" | "custom_message"; parent: number; text: string };
    const op = fc.record({
      kind: fc.constantFrom<Op["kind"]>("user", "assistant", "label", "rename", "custom_message"),
      // -1: default parent (the leaf); n: the n-th entry so far (mod count), i.e. a branch.
      parent: fc.integer({ min: -1, max: 20 }),
      text: fc.string({ maxLength: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const outs: string[] = [];
        const contexts: string[] = [];
        for (const store of stores()) {
          clock.restore();
          clock = fixedClock();
          const { id } = await store.create({ cwd: "/w", id: "p", now: clock.tick() });
          const ids: string[] = [];
          for (const o of ops) {
            clock.tick();
            const parent = o.parent < 0 || ids.length === 0 ? {} : { parentId: ids[o.parent % ids.length] as string };
            if (o.kind === "label") {
              if (ids.length > 0) ids.push(await store.label(id, ids[Math.abs(o.parent) % ids.length] as string, o.text));
            } else if (o.kind === "rename") {
              ids.push(await store.rename(id, o.text));
            } else if (o.kind === "custom_message") {
              ids.push(...(await store.append(id, [{ type: "custom_message", customType: "n", content: o.text, display: true }], parent)));
            } else {
              const m = o.kind === "user" ? userMessage(o.text, Date.now()) : assistantMessage(o.text, Date.now());
              ids.push(await store.appendMessage(id, m, parent));
            }
          }
          const raw = await store.exportJsonl(id);
          const s = openSessionFromBuffer(raw);
          outs.push(normalizedExport(raw));
          contexts.push(normalizeIds(s, JSON.stringify(s.buildContext())));
          await store.close();
        }
        expect(outs[1]).toBe(outs[0]);
        expect(outs[2]).toBe(outs[0]);
        expect(contexts[1]).toBe(contexts[0]);
        expect(contexts[2]).toBe(contexts[0]);
      }),
      { numRuns: 15 },
    );
  });
});
