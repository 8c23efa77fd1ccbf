/**
 * The one suite every SessionStore backend must pass (SPEC section 12.1). Each backend's
 * test file calls describeStoreConformance with a factory; the same calls must give the
 * same trees, contexts, names, labels, lists and bytes, whatever keeps them.
 */
import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSessionFromBuffer } from "../../src/index.js";
import type { SessionStore, StoreEvent } from "../../src/store/index.js";
import { assistantMessage, makeTempDir, userMessage } from "../helpers/session-files.js";
import { buildScenario, fixedClock, normalizeIds, piContext, rejection, treeShape, T0 } from "./scenario.js";

export type StoreFactory = (dir: string) => SessionStore;

const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures");

/** The scenario's tree: [type, role, parent position] per entry in file order. */
export const SCENARIO_SHAPE: [string, string | null, number | null][] = [
  ["message", "user", null],
  ["message", "assistant", 0],
  ["message", "user", 1],
  ["message", "assistant", 2],
  ["model_change", null, 3],
  ["thinking_level_change", null, 4],
  ["custom_message", null, 5],
  ["compaction", null, 6],
  ["message", "user", 7],
  ["branch_summary", null, 1],
  ["message", "user", 9],
  ["message", "assistant", 10],
  ["label", null, 11],
  ["session_info", null, 12],
];

export function describeStoreConformance(backend: string, factory: StoreFactory): void {
  describe(`${backend} store conformance`, () => {
    let tmp: ReturnType<typeof makeTempDir>;
    let dir: string;
    let store: SessionStore;
    let clock: ReturnType<typeof fixedClock>;

    beforeEach(() => {
      tmp = makeTempDir(`sessfmt-store-${backend}-`);
      dir = realpathSync(tmp.dir);
      store = factory(join(dir, "root"));
      clock = fixedClock();
    });
    afterEach(async () => {
      clock.restore();
      await store.close();
      tmp.cleanup();
    });

    describe("create writes a header-only session that loads and lists", () => {
      it("has the header fields asked for and no entries", async () => {
        const info = await store.create({ cwd: "/home/u/proj", id: "s-1", now: new Date(T0) });
        expect(info).toMatchObject({ id: "s-1", cwd: "/home/u/proj", entryCount: 0, messageCount: 0, archived: false, created: "2025-06-01T10:00:00.000Z" });
        expect(info.modified).toBe("2025-06-01T10:00:00.000Z");
        const s = await store.load("s-1");
        expect(s.header).toEqual({ type: "session", version: 3, id: "s-1", timestamp: "2025-06-01T10:00:00.000Z", cwd: "/home/u/proj" });
        expect(s.records).toHaveLength(0);
        expect((await store.list()).map((i) => i.id)).toEqual(["s-1"]);
      });

      it("refuses an id the store already has (E_EXISTS)", async () => {
        await store.create({ cwd: "/p", id: "dup" });
        expect((await rejection(store.create({ cwd: "/q", id: "dup" }))).code).toBe("E_EXISTS");
      });

      it("reports an unknown id as E_NOT_FOUND for every operation", async () => {
        // Thunks: each promise is made only when it is awaited, so no rejection goes unhandled.
        const calls = [
          () => store.load("nope"),
          () => store.info("nope"),
          () => store.append("nope", [{ type: "custom", customType: "x" }]),
          () => store.exportJsonl("nope"),
          () => store.archive("nope"),
          () => store.delete("nope"),
        ];
        for (const call of calls) {
          expect((await rejection(call())).code).toBe("E_NOT_FOUND");
        }
      });
    });

    describe("appends build the tree pi builds, with the context pi builds", () => {
      it("gives the scenario's tree shape", async () => {
        const ids = await buildScenario(store, clock.tick);
        expect(treeShape(await store.load(ids.session))).toEqual(SCENARIO_SHAPE);
      });

      it("gives pi's context at the leaf and at another branch's leaf", async () => {
        const ids = await buildScenario(store, clock.tick);
        const s = await store.load(ids.session);
        const bytes = await store.exportJsonl(ids.session);
        expect(JSON.stringify(s.buildContext())).toBe(JSON.stringify(piContext(bytes, dir)));
        const ctx = s.buildContext();
        expect(ctx.messages.map((m) => m.role)).toEqual(["user", "assistant", "branchSummary", "user", "assistant"]);
        const u4 = s.records[8]!.id;
        const atU4 = s.buildContext(u4);
        expect(atU4.messages.map((m) => m.role)).toEqual(["compactionSummary", "user", "assistant", "custom", "user"]);
        expect(atU4).toMatchObject({ thinkingLevel: "high", model: { provider: "openai", modelId: "gpt-5" } });
        expect(normalizeIds(s, JSON.stringify(atU4))).toContain('"tokensBefore":3000');
      });

      it("chains a batch: each entry is the parent of the next", async () => {
        const { id } = await store.create({ cwd: "/p" });
        const ids = await store.append(id, [
          { type: "custom", customType: "a" },
          { type: "custom", customType: "b" },
        ]);
        const s = await store.load(id);
        expect(s.records.map((r) => [r.id, r.parentId])).toEqual([
          [ids[0], null],
          [ids[1], ids[0]],
        ]);
        expect(ids.every((x) => /^[0-9a-f]{8}$/.test(x))).toBe(true);
      });

      it("starts a new root with parentId null", async () => {
        const { id } = await store.create({ cwd: "/p" });
        await store.appendMessage(id, userMessage("one"));
        const root2 = await store.appendMessage(id, userMessage("two"), { parentId: null });
        expect((await store.load(id)).tree.roots.map((r) => r.id)).toContain(root2);
      });

      it("refuses an unknown parent or label target and writes nothing (E_ENTRY_NOT_FOUND)", async () => {
        const { id } = await store.create({ cwd: "/p" });
        await store.appendMessage(id, userMessage("one"));
        const before = await store.exportJsonl(id);
        expect((await rejection(store.appendMessage(id, userMessage("x"), { parentId: "ffffffff" }))).code).toBe("E_ENTRY_NOT_FOUND");
        expect((await rejection(store.label(id, "ffffffff", "x"))).code).toBe("E_ENTRY_NOT_FOUND");
        expect((await store.exportJsonl(id)).equals(before)).toBe(true);
      });

      it("refuses entries that carry their own id (E_INVALID_ENTRY)", async () => {
        const { id } = await store.create({ cwd: "/p" });
        expect((await rejection(store.append(id, [{ type: "custom", id: "x" } as never]))).code).toBe("E_INVALID_ENTRY");
      });
    });

    describe("rename and label append session_info and label entries", () => {
      it("names (trimmed), renames and clears", async () => {
        const { id } = await store.create({ cwd: "/p" });
        await store.rename(id, "  First  ");
        expect((await store.info(id)).name).toBe("First");
        await store.rename(id, "Second");
        expect((await store.load(id)).name).toBe("Second");
        await store.rename(id, "");
        expect((await store.info(id)).name).toBeUndefined();
      });

      it("sets, replaces and clears labels", async () => {
        const { id } = await store.create({ cwd: "/p" });
        const u = await store.appendMessage(id, userMessage("q"));
        await store.label(id, u, "one");
        await store.label(id, u, "two");
        expect((await store.load(id)).labels.get(u)).toBe("two");
        await store.label(id, u);
        expect((await store.load(id)).labels.has(u)).toBe(false);
      });
    });

    describe("auto name comes from the first user message and is written only when asked", () => {
      it("derives about 50 characters cut at a word boundary", async () => {
        const ids = await buildScenario(store, clock.tick);
        await store.rename(ids.session, "");
        const info = await store.info(ids.session);
        expect(info.name).toBeUndefined();
        expect(info.autoName).toBe("Plan the release of version two, with a changelog…");
        expect(await store.autoName(ids.session)).toBe(info.autoName);
        expect((await store.load(ids.session)).name).toBeUndefined();
      });

      it("writes it as session_info with write: true, and never over an explicit name", async () => {
        const { id } = await store.create({ cwd: "/p" });
        await store.appendMessage(id, userMessage("Fix the flaky test"));
        expect(await store.autoName(id, { write: true })).toBe("Fix the flaky test");
        expect((await store.load(id)).name).toBe("Fix the flaky test");
        await store.rename(id, "Mine");
        expect(await store.autoName(id, { write: true })).toBe("Mine");
        expect((await store.load(id)).records.filter((r) => r.type === "session_info")).toHaveLength(2);
      });

      it("has none for a session without user text", async () => {
        const { id } = await store.create({ cwd: "/p" });
        expect((await store.info(id)).autoName).toBeUndefined();
      });
    });

    describe("fork copies the path to an entry into a new session that names its parent", () => {
      it("from an entry: path, labels and context as at that entry", async () => {
        const ids = await buildScenario(store, clock.tick);
        const source = await store.info(ids.session);
        const forked = await store.fork(ids.session, { entryId: ids.a3 }, { id: "fork-1" });
        expect(forked).toMatchObject({ id: "fork-1", parentSession: source.location, cwd: "/home/u/proj" });
        const f = await store.load("fork-1");
        const s = await store.load(ids.session);
        expect(JSON.stringify(f.buildContext())).toBe(JSON.stringify(s.buildContext(ids.a3)));
        expect(f.records.filter((r) => r.type !== "label").map((r) => r.id)).toEqual(s.tree.pathToRoot(ids.a3).map((r) => r.id));
        expect(f.labels.get(ids.u3)).toBe("retry");
      });

      it("from a message index on the leaf's path (negative counts from the end)", async () => {
        const ids = await buildScenario(store, clock.tick);
        const a = await store.fork(ids.session, { messageIndex: 1 });
        expect((await store.load(a.id)).records.map((r) => r.id)).toEqual([ids.u1, ids.a1]);
        const b = await store.fork(ids.session, { messageIndex: -2 });
        const copied = (await store.load(b.id)).records.filter((r) => r.type !== "label");
        expect(copied.map((r) => r.id)).toEqual([ids.u1, ids.a1, copied[2]!.id, ids.u3]);
        expect(copied[2]!.type).toBe("branch_summary");
        expect((await rejection(store.fork(ids.session, { messageIndex: 99 }))).code).toBe("E_ENTRY_NOT_FOUND");
      });
    });

    describe("list filters by cwd, name and time, newest first by default", () => {
      it("filters and sorts", async () => {
        const mk = async (id: string, cwd: string, day: number, text: string) => {
          await store.create({ cwd, id, now: new Date(Date.UTC(2025, 0, day)) });
          await store.appendMessage(id, userMessage(text, Date.UTC(2025, 0, day, 12)));
        };
        await mk("a", "/w/app", 1, "Alpha task");
        await mk("b", "/w/app/sub", 3, "Beta task");
        await mk("c", "/w/other", 2, "Gamma task");
        expect((await store.list()).map((i) => i.id)).toEqual(["b", "c", "a"]);
        expect((await store.list({ order: "asc" })).map((i) => i.id)).toEqual(["a", "c", "b"]);
        expect((await store.list({ cwd: "/w/app" })).map((i) => i.id)).toEqual(["b", "a"]);
        expect((await store.list({ name: "GAMMA" })).map((i) => i.id)).toEqual(["c"]);
        expect((await store.list({ since: "2025-01-02", until: new Date(Date.UTC(2025, 0, 2, 23)) })).map((i) => i.id)).toEqual(["c"]);
        expect((await store.list({ sort: "name", order: "asc" })).map((i) => i.id)).toEqual(["a", "b", "c"]);
        expect((await store.list({ limit: 1 })).map((i) => i.id)).toEqual(["b"]);
        expect((await rejection(store.list({ since: "not a date" }))).code).toBe("E_INVALID_ARGUMENT");
      });

      it("loadMostRecent resumes the last active session (of a cwd)", async () => {
        await store.create({ cwd: "/w/a", id: "old", now: new Date(Date.UTC(2025, 0, 1)) });
        await store.create({ cwd: "/w/b", id: "new", now: new Date(Date.UTC(2025, 0, 5)) });
        await store.appendMessage("old", userMessage("later activity", Date.UTC(2025, 0, 9)));
        expect((await store.loadMostRecent())?.id).toBe("old");
        expect((await store.loadMostRecent({ cwd: "/w/b" }))?.id).toBe("new");
        expect(await store.loadMostRecent({ cwd: "/w/none" })).toBeUndefined();
      });
    });

    describe("archive is a reversible soft delete; delete is for good", () => {
      it("hides archived sessions unless asked, keeps them loadable, refuses writes", async () => {
        const { id } = await store.create({ cwd: "/p", id: "arch" });
        const u = await store.appendMessage(id, userMessage("keep me"));
        const before = await store.exportJsonl(id);
        await store.archive(id);
        expect(await store.list()).toEqual([]);
        expect((await store.list({ archived: "only" })).map((i) => [i.id, i.archived])).toEqual([["arch", true]]);
        expect((await store.load(id)).records.map((r) => r.id)).toEqual([u]);
        expect((await store.exportJsonl(id)).equals(before)).toBe(true);
        expect((await rejection(store.appendMessage(id, userMessage("no")))).code).toBe("E_ARCHIVED");
        expect((await rejection(store.rename(id, "no"))).code).toBe("E_ARCHIVED");
        await store.unarchive(id);
        expect((await store.list()).map((i) => [i.id, i.archived])).toEqual([["arch", false]]);
        await store.appendMessage(id, userMessage("back"));
        expect((await store.load(id)).messageCount).toBe(2);
      });

      it("forks an archived session into a live one", async () => {
        const { id } = await store.create({ cwd: "/p", id: "arch2" });
        const u = await store.appendMessage(id, userMessage("q"));
        await store.archive(id);
        const f = await store.fork(id, { entryId: u });
        expect(f.archived).toBe(false);
        expect((await store.list()).map((i) => i.id)).toEqual([f.id]);
      });

      it("delete removes the session", async () => {
        const { id } = await store.create({ cwd: "/p", id: "gone" });
        await store.delete(id);
        expect((await rejection(store.load(id))).code).toBe("E_NOT_FOUND");
        expect(await store.list({ archived: "include" })).toEqual([]);
        await store.create({ cwd: "/p", id: "gone" }); // the id is free again
      });
    });

    describe("save and exportJsonl move sessions between stores byte for byte", () => {
      const files = ["corrupt-lines.jsonl", "crlf.jsonl", "bom.jsonl", "truncated-tail.jsonl", "blank-lines.jsonl", "v3-branched.jsonl", "rust-dialect.jsonl", "v1-legacy.jsonl"];
      it.each(files)("%s", async (name) => {
        const bytes = readFileSync(join(FIXTURES, name));
        const info = await store.save(bytes);
        expect((await store.exportJsonl(info.id)).equals(bytes)).toBe(true);
        const s = await store.load(info.id);
        const direct = openSessionFromBuffer(bytes);
        expect(s.diagnostics.toJSON()).toEqual(direct.diagnostics.toJSON());
        expect(JSON.stringify(s.buildContext())).toBe(JSON.stringify(direct.buildContext()));
        expect((await rejection(store.save(bytes))).code).toBe("E_EXISTS");
      });

      it("refuses bytes that are not a session (E_HEADER_INVALID, E_EMPTY_FILE)", async () => {
        expect((await rejection(store.save("not json\n"))).code).toBe("E_HEADER_INVALID");
        expect((await rejection(store.save(""))).code).toBe("E_EMPTY_FILE");
      });

      it("appends to a saved session after a torn last line on a line of their own", async () => {
        const info = await store.save(readFileSync(join(FIXTURES, "truncated-tail-complete.jsonl")));
        const before = (await store.load(info.id)).records.map((r) => r.id);
        const [added] = await store.append(info.id, [{ type: "custom", customType: "after" }]);
        const s = await store.load(info.id);
        expect(s.records.map((r) => r.id)).toEqual([...before, added]);
        expect(s.diagnostics.truncatedTail).toBeUndefined();
      });

      it("refuses appends to a legacy (v1) session (E_UNSUPPORTED_VERSION)", async () => {
        const info = await store.save(readFileSync(join(FIXTURES, "v1-legacy.jsonl")));
        expect((await rejection(store.append(info.id, [{ type: "custom", customType: "x" }]))).code).toBe("E_UNSUPPORTED_VERSION");
      });
    });

    describe("listeners see load, save and error events", () => {
      it("reports each operation once, errors included", async () => {
        const events: StoreEvent[] = [];
        const off = store.on((e) => events.push(e));
        store.on(() => {
          throw new Error("a failing listener changes nothing");
        });
        const { id } = await store.create({ cwd: "/p", id: "ev" });
        const [e1] = await store.append(id, [{ type: "custom", customType: "x" }]);
        await store.load(id);
        await rejection(store.load("missing"));
        off();
        await store.load(id);
        expect(events.map((e) => [e.type, "op" in e ? e.op : "", e.type === "error" ? e.error.code : e.sessionId])).toEqual([
          ["save", "create", "ev"],
          ["save", "append", "ev"],
          ["load", "", "ev"],
          ["error", "load", "E_NOT_FOUND"],
        ]);
        expect(events[1]).toMatchObject({ entryIds: [e1] });
      });
    });

    describe("a closed store refuses writes (E_CLOSED)", () => {
      it("after close()", async () => {
        const { id } = await store.create({ cwd: "/p" });
        await store.close();
        expect((await rejection(store.append(id, [{ type: "custom", customType: "x" }]))).code).toBe("E_CLOSED");
        await store.close(); // idempotent
      });
    });

    describe("usage in messages survives", () => {
      it("keeps assistant usage as written", async () => {
        const { id } = await store.create({ cwd: "/p" });
        await store.appendMessage(id, assistantMessage("x"));
        const s = await store.load(id);
        expect((s.entry(s.records[0]!) as { message: { usage: unknown } }).message.usage).toEqual((assistantMessage("x") as { usage: unknown }).usage);
      });
    });
  });
}
