import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import fs, { appendFileSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { open } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import {
  acquireLock,
  createSession,
  encodeCwd,
  generateEntryId,
  generateSessionId,
  isSessfmtError,
  isShortEntryId,
  openSession,
  rewriteFileAtomic,
  sessionFileName,
  SessionWriter,
  uuidV7Time,
  type AgentMessage,
  type SessfmtError,
  type SessionDiagnostic,
} from "../../src/index.js";
import { assistantMessage, HEADER_V3, makeTempDir, parseLines, userMessage, writeSessionFile } from "../helpers/session-files.js";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-writer-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => {
  vi.restoreAllMocks();
  tmp.cleanup();
});

async function rejection(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    if (isSessfmtError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

async function fileHandlePrototype(): Promise<{ write: unknown; datasync: unknown }> {
  const fh = await open(join(dir, "probe"), "w");
  const proto = Object.getPrototypeOf(fh) as { write: unknown; datasync: unknown };
  await fh.close();
  return proto;
}

function v3File(name = "s.jsonl", entries: object[] = []): string {
  const file = join(dir, name);
  writeSessionFile(file, [HEADER_V3, ...entries]);
  return file;
}

const entry = (id: string, parentId: string | null, extra: object = {}) => ({
  type: "custom",
  id,
  parentId,
  timestamp: "2025-01-01T00:00:01.000Z",
  customType: "t",
  ...extra,
});

describe("ids: entries get 8 lowercase hex characters unused in the file; sessions get UUIDv7", () => {
  it("never returns a taken id (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[0-9a-f]{8}$/), { maxLength: 200 }), (ids) => {
        const taken = new Set(ids);
        const id = generateEntryId(taken);
        expect(isShortEntryId(id)).toBe(true);
        expect(taken.has(id)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it("falls back to a full UUID when 100 short ids in a row are taken", () => {
    const id = generateEntryId({ has: (x) => x.length === 8 });
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("session ids are UUIDv7 carrying the time, strictly increasing within one millisecond", () => {
    // A time ahead of anything this process made yet, so the same-millisecond path is taken.
    const now = Date.now() + 86_400_000;
    const ids = Array.from({ length: 500 }, () => generateSessionId(now));
    for (const id of ids) expect(uuidV7Time(id)).toBe(now);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const past = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
    expect(uuidV7Time(generateSessionId(past))).toBe(past);
  });
});

describe("createSession writes the header at once, exclusively, 0600 in a 0700 directory", () => {
  it("places <sessionsRoot>/<encodeCwd(cwd)>/<ts>_<id>.jsonl with a version-3 header", async () => {
    const now = new Date("2025-03-04T05:06:07.089Z");
    const w = await createSession({ cwd: "/home/u/proj", sessionsRoot: join(dir, "root"), now });
    await w.close();
    expect(w.file).toBe(join(dir, "root", encodeCwd("/home/u/proj"), sessionFileName(w.sessionId, now.toISOString())));
    expect(uuidV7Time(w.sessionId)).toBe(now.getTime());
    const lines = readFileSync(w.file, "utf8").split("\n");
    expect(lines).toEqual([JSON.stringify({ type: "session", version: 3, id: w.sessionId, timestamp: now.toISOString(), cwd: "/home/u/proj" }), ""]);
    expect(statSync(w.file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "root")).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "root", encodeCwd("/home/u/proj"))).mode & 0o777).toBe(0o700);
  });

  it("writes parentSession when given, and uses `dir` as is", async () => {
    const w = await createSession({ cwd: "/w", dir: join(dir, "exact"), parentSession: "/old.jsonl", id: "my-id" });
    await w.close();
    expect(w.file.startsWith(join(dir, "exact"))).toBe(true);
    expect(parseLines(readFileSync(w.file, "utf8"))[0]).toMatchObject({ id: "my-id", parentSession: "/old.jsonl" });
  });

  it("never overwrites: the same id and time again fails with E_EXISTS", async () => {
    const now = new Date("2025-03-04T05:06:07.089Z");
    const first = await createSession({ cwd: "/w", dir, id: "same", now });
    await first.append({ type: "custom", customType: "keep" });
    const before = readFileSync(first.file);
    const err = await rejection(createSession({ cwd: "/w", dir, id: "same", now }));
    expect(err.code).toBe("E_EXISTS");
    expect(readFileSync(first.file).equals(before)).toBe(true);
  });

  it("sanitises a hostile id in the file name", async () => {
    const w = await createSession({ cwd: "/w", dir, id: "../../etc/passwd" });
    expect(w.file.startsWith(`${dir}/`)).toBe(true);
    expect(w.file.slice(dir.length + 1)).not.toContain("/");
  });
});

describe("appends round-trip through openSession with the right parent chain and leaf", () => {
  type Op =
    | { kind: "append" }
    | { kind: "many"; n: number }
    | { kind: "branch"; pick: number }
    | { kind: "reset" }
    | { kind: "label"; pick: number; label: string | undefined };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.constant<Op>({ kind: "append" }),
    fc.integer({ min: 1, max: 3 }).map<Op>((n) => ({ kind: "many", n })),
    fc.nat().map<Op>((pick) => ({ kind: "branch", pick })),
    fc.constant<Op>({ kind: "reset" }),
    fc.record({ pick: fc.nat(), label: fc.option(fc.constantFrom("a", "b", ""), { nil: undefined }) }).map<Op>((r) => ({ kind: "label", ...r })),
  );

  it("any sequence of appends, branches, resets and labels, awaited or not (property)", async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), fc.boolean(), async (ops, awaitEach) => {
        const w = await createSession({ cwd: "/w", dir, id: `p${run++}`, durability: "throughput" });
        const known: string[] = [];
        const batches: { firstParent: string | null; ids: Promise<string[]> }[] = [];
        const labels = new Map<string, string>();
        // What the leaf should be: the last id of a batch, an id branched to, or null.
        let modelLeaf: { batch: number } | { id: string | null } = { id: null };
        let n = 0;
        for (const o of ops) {
          let p: Promise<unknown> | undefined;
          if (o.kind === "append" || o.kind === "many") {
            const firstParent = w.leafId;
            const count = o.kind === "many" ? o.n : 1;
            const ids = w.appendMany(Array.from({ length: count }, () => ({ type: "custom", customType: "t", data: n++ })));
            batches.push({ firstParent, ids });
            modelLeaf = { batch: batches.length - 1 };
            known.push(w.leafId as string);
            p = ids;
          } else if (o.kind === "branch" && known.length > 0) {
            const target = known[o.pick % known.length] as string;
            w.branch(target);
            modelLeaf = { id: target };
          } else if (o.kind === "reset") {
            w.resetLeaf();
            modelLeaf = { id: null };
          } else if (o.kind === "label" && known.length > 0) {
            const target = known[o.pick % known.length] as string;
            const firstParent = w.leafId;
            const id = w.appendLabelChange(target, o.label).then((x) => [x]);
            batches.push({ firstParent, ids: id });
            modelLeaf = { batch: batches.length - 1 };
            known.push(w.leafId as string);
            if (o.label) labels.set(target, o.label);
            else labels.delete(target);
            p = id;
          }
          if (awaitEach && p) await p;
        }
        const leaf = w.leafId;
        await w.close();
        const s = await openSession(w.file);
        expect(s.diagnostics.count).toBe(0);
        const all: string[] = [];
        for (const b of batches) {
          const ids = await b.ids;
          ids.forEach((id, k) => {
            expect(s.record(id)?.parentId).toBe(k === 0 ? b.firstParent : ids[k - 1]);
          });
          all.push(...ids);
        }
        expect(s.records.map((r) => r.id)).toEqual(all);
        expect(new Set(all).size).toBe(all.length);
        for (const id of all) expect(isShortEntryId(id)).toBe(true);
        const expectedLeaf = "batch" in modelLeaf ? ((await batches[modelLeaf.batch]?.ids) ?? []).at(-1) : modelLeaf.id;
        expect(leaf).toBe(expectedLeaf);
        expect([...s.labels]).toEqual([...labels]);
        expect([...w.labels]).toEqual([...labels]);
      }),
      { numRuns: 25 },
    );
  });

  it("call order is tree order: a leaf move between two un-awaited appends applies to the second only", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const root = await w.appendMessage(userMessage("root"));
    const a = await w.appendMessage(assistantMessage("a"));
    const p1 = w.appendMessage(userMessage("child of a"));
    w.branch(root);
    const p2 = w.appendMessage(userMessage("child of root"));
    const [id1, id2] = await Promise.all([p1, p2]);
    await w.close();
    const s = await openSession(w.file);
    expect(s.record(id1)?.parentId).toBe(a);
    expect(s.record(id2)?.parentId).toBe(root);
    expect(w.leafId).toBe(id2);
  });

  it("serialises type, id, parentId, timestamp first, then the entry's own keys in order", async () => {
    const w = await createSession({ cwd: "/w", dir });
    await w.append({ type: "custom", customType: "x", data: { b: 1, a: 2 } });
    await w.close();
    const line = readFileSync(w.file, "utf8").split("\n")[1] as string;
    expect(Object.keys(JSON.parse(line))).toEqual(["type", "id", "parentId", "timestamp", "customType", "data"]);
    expect(line).toContain('"data":{"b":1,"a":2}');
  });

  it("appendMany writes all its lines with one write call", async () => {
    const w = await createSession({ cwd: "/w", dir, durability: "throughput" });
    const proto = await fileHandlePrototype();
    const spy = vi.spyOn(proto as { write: (...a: unknown[]) => unknown }, "write");
    const ids = await w.appendMany(Array.from({ length: 5 }, (_, i) => ({ type: "custom", customType: "t", data: i })));
    expect(spy).toHaveBeenCalledTimes(1);
    await w.close();
    expect((await openSession(w.file)).records.map((r) => r.id)).toEqual(ids);
  });
});

describe("typed helpers write the entries pi's SessionManager writes", () => {
  const strip = (e: object) => {
    const { id: _i, parentId: _p, timestamp: _t, ...rest } = JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
    return rest;
  };

  it("each helper's entry equals pi's apart from id, parentId and timestamp", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const pi = SessionManager.inMemory("/w");
    const content = [{ type: "text" as const, text: "hi" }];
    const ours: string[] = [];
    const theirs: string[] = [];
    const both = async (fn: (t: SessionWriter | SessionManager) => Promise<string> | string) => {
      ours.push(await fn(w));
      theirs.push(await fn(pi));
    };
    await both((t) => t.appendMessage(userMessage("hello") as never));
    await both((t) => t.appendMessage(assistantMessage("yo") as never));
    await both((t) => t.appendThinkingLevelChange("high"));
    await both((t) => t.appendModelChange("openai", "gpt-x"));
    const first = (t: unknown) => (t === w ? ours[0] : theirs[0]) as string;
    await both((t) => t.appendCompaction("sum", first(t), 1234, { files: ["a"] }, true));
    await both((t) => t.appendCompaction("sum2", first(t), 1));
    await both((t) => t.appendCustomEntry("ext", { k: 1 }));
    await both((t) => t.appendCustomEntry("ext"));
    await both((t) => t.appendCustomMessageEntry("ext", content, true, { d: 1 }));
    await both((t) => t.appendCustomMessageEntry("ext", "plain", false));
    await both((t) => t.appendSessionInfo("  My session  "));
    await both((t) => t.appendLabelChange(first(t), "start"));
    await both((t) => t.appendLabelChange(first(t), undefined));
    await both((t) => t.branchWithSummary(null, "abandoned", { why: 1 }, false));
    await w.close();
    const s = await openSession(w.file);
    const mine = s.entries();
    const piEntries = pi.getEntries();
    expect(mine.length).toBe(piEntries.length);
    mine.forEach((e, i) => {
      const p = piEntries[i] as object;
      const a = strip(e);
      const b = strip(p);
      // Compaction's firstKeptEntryId and label targets are ids: compare by position instead.
      if (e.type === "compaction") {
        a.firstKeptEntryId = ours.indexOf(a.firstKeptEntryId as string);
        b.firstKeptEntryId = theirs.indexOf(b.firstKeptEntryId as string);
      }
      if (e.type === "label") {
        a.targetId = ours.indexOf(a.targetId as string);
        b.targetId = theirs.indexOf(b.targetId as string);
      }
      expect(a).toEqual(b);
    });
    expect(s.name).toBe(pi.getSessionName());
    expect(s.entry(ours.at(-1) as string)).toMatchObject({ type: "branch_summary", fromId: "root", parentId: null });
  });

  it("appendLabelChange on an unknown target fails with E_ENTRY_NOT_FOUND and writes nothing", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const a = await w.appendMessage(userMessage("x"));
    const before = readFileSync(w.file);
    const err = await rejection(w.appendLabelChange("nope1234", "l"));
    expect(err.code).toBe("E_ENTRY_NOT_FOUND");
    expect(readFileSync(w.file).equals(before)).toBe(true);
    expect(w.leafId).toBe(a);
  });

  it("branch() to an unknown id throws E_ENTRY_NOT_FOUND; branchWithSummary(id) sets the parent and fromId", async () => {
    const w = await createSession({ cwd: "/w", dir });
    expect(() => w.branch("missing")).toThrow(expect.objectContaining({ code: "E_ENTRY_NOT_FOUND" }));
    const a = await w.appendMessage(userMessage("a"));
    await w.appendMessage(assistantMessage("b"));
    const bs = await w.branchWithSummary(a, "left b behind");
    await w.close();
    expect((await openSession(w.file)).entry(bs)).toMatchObject({ parentId: a, fromId: a, summary: "left b behind" });
  });
});

describe("refusals: nothing is written for an entry that cannot be written correctly", () => {
  it("refuses legacy (v1/v2) files with E_UNSUPPORTED_VERSION", async () => {
    const file = join(dir, "v1.jsonl");
    writeSessionFile(file, [{ type: "session", id: "s", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" }]);
    expect((await rejection(SessionWriter.open(file))).code).toBe("E_UNSUPPORTED_VERSION");
    writeSessionFile(file, [{ ...HEADER_V3, version: 2 }]);
    expect((await rejection(SessionWriter.open(file))).code).toBe("E_UNSUPPORTED_VERSION");
  });

  it("refuses caller-supplied id/parentId/timestamp, a session type, and values JSON cannot hold", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const before = readFileSync(w.file);
    for (const bad of [
      { type: "custom", id: "x" },
      { type: "custom", parentId: null },
      { type: "session" },
      { type: "" },
      { type: "message", message: { content: "no role" } },
      { type: "message", message: { role: "compactionSummary" } },
      { type: "custom", data: 10n },
    ]) {
      expect((await rejection(w.append(bad as never))).code).toBe("E_INVALID_ENTRY");
    }
    expect(w.leafId).toBeNull();
    expect(readFileSync(w.file).equals(before)).toBe(true);
  });

  it("a closed writer refuses appends and leaf moves with E_CLOSED", async () => {
    const w = await createSession({ cwd: "/w", dir });
    await w.close();
    expect((await rejection(w.append({ type: "custom" }))).code).toBe("E_CLOSED");
    expect(() => w.resetLeaf()).toThrow(expect.objectContaining({ code: "E_CLOSED" }));
  });
});

describe("a failed append writes nothing and the leaf falls back", () => {
  it("appends queued behind a failed one that depend on it fail too; the leaf returns to the last written entry", async () => {
    const w = await createSession({ cwd: "/w", dir, writer: { lockTimeoutMs: 100 } });
    const a = await w.appendMessage(userMessage("a"));
    const holder = await acquireLock(w.file);
    const p1 = w.appendMessage(userMessage("b"));
    const p2 = w.appendMessage(userMessage("c"));
    const e1 = await rejection(p1);
    await holder.release();
    const e2 = await rejection(p2);
    expect(e1.code).toBe("E_LOCKED");
    expect(e2.code).toBe("E_ENTRY_NOT_FOUND");
    expect(e2.message).toContain("earlier append failed");
    expect(w.leafId).toBe(a);
    const d = await w.appendMessage(userMessage("d"));
    await w.close();
    const s = await openSession(w.file);
    expect(s.records.map((r) => r.id)).toEqual([a, d]);
    expect(s.record(d)?.parentId).toBe(a);
  });
});

describe("the writer picks up entries appended by other writers", () => {
  it("fileTail mode chains onto another writer's entry and can label it", async () => {
    const file = v3File("s.jsonl", [entry("aaaaaaaa", null)]);
    const w1 = await SessionWriter.open(file);
    const w2 = await SessionWriter.open(file, { parent: "fileTail" });
    const x = await w1.appendCustomEntry("from-w1");
    const y = await w2.appendCustomEntry("from-w2");
    const l = await w2.appendLabelChange(x, "seen");
    await Promise.all([w1.close(), w2.close()]);
    const s = await openSession(file);
    expect(s.record(y)?.parentId).toBe(x);
    expect(s.record(l)?.parentId).toBe(y);
    expect(s.labels.get(x)).toBe("seen");
    expect(w2.labels.get(x)).toBe("seen");
    expect(s.diagnostics.count).toBe(0);
  });

  it("leaf mode keeps its own leaf (a sibling branch) but learns the other ids", async () => {
    const file = v3File("s.jsonl", [entry("aaaaaaaa", null)]);
    const w1 = await SessionWriter.open(file);
    const w2 = await SessionWriter.open(file);
    const x = await w1.appendCustomEntry("from-w1");
    const y = await w2.appendCustomEntry("from-w2");
    expect(w2.hasId(x)).toBe(true);
    await w2.refresh();
    w2.branch(x);
    const z = await w2.appendCustomEntry("after x");
    await Promise.all([w1.close(), w2.close()]);
    const s = await openSession(file);
    expect(s.record(y)?.parentId).toBe("aaaaaaaa");
    expect(s.record(z)?.parentId).toBe(x);
  });

  it("an explicit leaf move in fileTail mode decides the next append's parent", async () => {
    const file = v3File("s.jsonl", [entry("aaaaaaaa", null), entry("bbbbbbbb", "aaaaaaaa")]);
    const w = await SessionWriter.open(file, { parent: "fileTail" });
    w.branch("aaaaaaaa");
    const x = await w.appendCustomEntry("x");
    const y = await w.appendCustomEntry("y");
    await w.close();
    const s = await openSession(file);
    expect(s.record(x)?.parentId).toBe("aaaaaaaa");
    expect(s.record(y)?.parentId).toBe(x);
  });

  it("re-reads a file that was atomically replaced, keeping its leaf", async () => {
    const file = v3File("s.jsonl", [entry("aaaaaaaa", null)]);
    const w = await SessionWriter.open(file);
    await rewriteFileAtomic(file, (out) => out.write(`${readFileSync(file, "utf8")}${JSON.stringify(entry("cccccccc", "aaaaaaaa"))}\n`), { backup: false });
    w.branch("aaaaaaaa");
    const x = await w.appendLabelChange("cccccccc", "new");
    await w.close();
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    expect(s.record(x)?.parentId).toBe("aaaaaaaa");
  });

  it("refuses to append when the file now holds another session", async () => {
    const file = v3File("s.jsonl", [entry("aaaaaaaa", null)]);
    const w = await SessionWriter.open(file);
    await rewriteFileAtomic(file, (out) => out.write(`${JSON.stringify({ ...HEADER_V3, id: "other" })}\n`), { backup: false });
    expect((await rejection(w.appendCustomEntry("x"))).code).toBe("E_SOURCE_CHANGED");
  });
});

describe("a torn last line is never glued onto", () => {
  it("a complete entry missing only its newline gets the newline back and stays the parent", async () => {
    const file = join(dir, "s.jsonl");
    writeSessionFile(file, [HEADER_V3, entry("aaaaaaaa", null), entry("bbbbbbbb", "aaaaaaaa")], false);
    const seen: SessionDiagnostic[] = [];
    const w = await SessionWriter.open(file, { onDiagnostic: (d) => seen.push(d) });
    const x = await w.appendCustomEntry("x");
    await w.close();
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    expect(s.records.map((r) => r.id)).toEqual(["aaaaaaaa", "bbbbbbbb", x]);
    expect(s.record(x)?.parentId).toBe("bbbbbbbb");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: "truncated_tail", line: 3 });
    expect(seen[0]?.message).toContain("restored");
    expect(w.diagnostics).toEqual(seen);
    expect(readdirSync(dir)).toEqual(["s.jsonl"]);
  });

  it("a header missing its newline gets it back before the first entry", async () => {
    const file = join(dir, "h.jsonl");
    writeFileSync(file, JSON.stringify(HEADER_V3));
    const w = await SessionWriter.open(file);
    const x = await w.appendCustomEntry("x");
    await w.close();
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    expect(s.records.map((r) => r.id)).toEqual([x]);
    expect(w.diagnostics[0]?.message).toContain("complete header");
  });

  it("garbage is quarantined in <file>.torn (bytes recoverable), the file cut back, and a diagnostic reported", async () => {
    const file = join(dir, "s.jsonl");
    writeSessionFile(file, [HEADER_V3, entry("aaaaaaaa", null)]);
    const fragment = Buffer.concat([Buffer.from('{"type":"message","id":"zz","message":{"role":"user","content":"caf'), Buffer.from([0xc3])]);
    appendFileSync(file, fragment);
    const seen: SessionDiagnostic[] = [];
    const w = await SessionWriter.open(file, { onDiagnostic: (d) => seen.push(d) });
    const x = await w.appendCustomEntry("x");
    await w.close();
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    expect(s.records.map((r) => r.id)).toEqual(["aaaaaaaa", x]);
    expect(s.record(x)?.parentId).toBe("aaaaaaaa");
    const offset = Buffer.byteLength(`${JSON.stringify(HEADER_V3)}\n${JSON.stringify(entry("aaaaaaaa", null))}\n`);
    expect(seen).toEqual([expect.objectContaining({ code: "truncated_tail", line: 3, offset })]);
    expect(seen[0]?.message).toContain(".torn");
    const records = parseLines(readFileSync(`${file}.torn`, "utf8"));
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ offset, length: fragment.length, line: 3 });
    expect(typeof records[0]?.at).toBe("string");
    expect(Buffer.from(records[0]?.base64 as string, "base64").equals(fragment)).toBe(true);
    expect(statSync(`${file}.torn`).mode & 0o777).toBe(0o600);
  });

  it("a torn line written by another process after open is handled the same way, and every fragment is kept", async () => {
    const file = v3File("s.jsonl", [entry("aaaaaaaa", null)]);
    const w = await SessionWriter.open(file);
    appendFileSync(file, `${JSON.stringify(entry("bbbbbbbb", "aaaaaaaa"))}\n{"type":"cus`);
    const x = await w.appendCustomEntry("x");
    appendFileSync(file, "tom garbage");
    const y = await w.appendCustomEntry("y");
    await w.close();
    const s = await openSession(file);
    expect(s.diagnostics.count).toBe(0);
    expect(s.records.map((r) => r.id)).toEqual(["aaaaaaaa", "bbbbbbbb", x, y]);
    expect(w.hasId("bbbbbbbb")).toBe(true);
    const torn = parseLines(readFileSync(`${file}.torn`, "utf8")).map((r) => Buffer.from(r.base64 as string, "base64").toString());
    expect(torn).toEqual(['{"type":"cus', "tom garbage"]);
    expect(w.diagnostics.map((d) => d.code)).toEqual(["truncated_tail", "truncated_tail"]);
  });

  it("any torn tail (property): afterwards the file opens clean and holds exactly the old entries plus the new one", async () => {
    const base = [HEADER_V3, entry("aaaaaaaa", null)].map((o) => JSON.stringify(o)).join("\n") + "\n";
    const full = JSON.stringify(entry("bbbbbbbb", "aaaaaaaa"));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: full.length }), async (cut) => {
        const file = join(dir, "p.jsonl");
        writeFileSync(file, base + full.slice(0, cut));
        const w = await SessionWriter.open(file, { durability: "throughput" });
        const x = await w.appendCustomEntry("x");
        await w.close();
        const s = await openSession(file);
        expect(s.diagnostics.count).toBe(0);
        const complete = cut === full.length;
        expect(s.records.map((r) => r.id)).toEqual(complete ? ["aaaaaaaa", "bbbbbbbb", x] : ["aaaaaaaa", x]);
        if (!complete) {
          const kept = parseLines(readFileSync(`${file}.torn`, "utf8")).at(-1) as Record<string, string>;
          expect(Buffer.from(kept.base64 as string, "base64").toString()).toBe(full.slice(0, cut));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("the Rust dialect omits a null parentId and writes branchedFrom", () => {
  it("createSession({dialect: 'rust'}) writes branchedFrom and root entries without parentId", async () => {
    const root = join(dir, "root");
    const w = await createSession({ cwd: "//srv/app", sessionsRoot: root, dialect: "rust", parentSession: "/from.jsonl" });
    const a = await w.appendMessage(userMessage("a"));
    const b = await w.appendMessage(assistantMessage("b"));
    w.resetLeaf();
    const c = await w.appendMessage(userMessage("c"));
    await w.close();
    expect(w.file.startsWith(join(root, encodeCwd("//srv/app", "rust")))).toBe(true);
    expect(w.file.endsWith(`_${w.sessionId.slice(0, 8)}.jsonl`)).toBe(true);
    const lines = parseLines(readFileSync(w.file, "utf8"));
    expect(lines[0]).toMatchObject({ branchedFrom: "/from.jsonl" });
    expect(lines[0]).not.toHaveProperty("parentSession");
    expect(lines[1]).not.toHaveProperty("parentId");
    expect(lines[2]).toMatchObject({ parentId: a });
    expect(lines[3]).not.toHaveProperty("parentId");
    const s = await openSession(w.file);
    expect(s.dialect).toBe("rust");
    expect(s.record(b)?.parentId).toBe(a);
    expect(s.record(c)?.parentId).toBeNull();
  });

  it("a writer opened on a Rust file keeps its conventions", async () => {
    const file = join(dir, "r.jsonl");
    writeSessionFile(file, [{ ...HEADER_V3, branchedFrom: "/x" }]);
    const w = await SessionWriter.open(file);
    expect(w.dialect).toBe("rust");
    await w.appendCustomEntry("t");
    await w.close();
    expect(parseLines(readFileSync(file, "utf8"))[1]).not.toHaveProperty("parentId");
  });
});

describe("durability modes decide when appends are fsynced", () => {
  it("strict: one fdatasync per append batch, before the append resolves", async () => {
    const proto = await fileHandlePrototype();
    const w = await createSession({ cwd: "/w", dir, durability: "strict" });
    // Strict batches are written and flushed synchronously (fdatasyncSync on the append
    // descriptor); the named ESM exports follow the spied property after syncBuiltinESMExports.
    const syncSpy = vi.spyOn(fs, "fdatasyncSync");
    syncBuiltinESMExports();
    const asyncSpy = vi.spyOn(proto as { datasync: () => Promise<void> }, "datasync");
    try {
      await w.appendMany([{ type: "custom" }, { type: "custom" }, { type: "custom" }]);
      expect(syncSpy).toHaveBeenCalledTimes(1);
      await w.append({ type: "custom" });
      expect(syncSpy).toHaveBeenCalledTimes(2);
      await w.close();
      expect(syncSpy).toHaveBeenCalledTimes(2);
      expect(asyncSpy).toHaveBeenCalledTimes(0);
    } finally {
      syncSpy.mockRestore();
      syncBuiltinESMExports();
    }
  });

  it("balanced: no fsync on the append path, one at close", async () => {
    const proto = await fileHandlePrototype();
    const w = await createSession({ cwd: "/w", dir, durability: "balanced", writer: { syncIntervalMs: 3_600_000 } });
    const spy = vi.spyOn(proto as { datasync: () => Promise<void> }, "datasync");
    await w.append({ type: "custom" });
    await w.append({ type: "custom" });
    expect(spy).toHaveBeenCalledTimes(0);
    await w.close();
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("balanced: a background fsync follows a write without close", async () => {
    const proto = await fileHandlePrototype();
    const w = await createSession({ cwd: "/w", dir, durability: "balanced", writer: { syncIntervalMs: 5 } });
    const spy = vi.spyOn(proto as { datasync: () => Promise<void> }, "datasync");
    await w.append({ type: "custom" });
    await vi.waitFor(() => expect(spy).toHaveBeenCalled(), { timeout: 5_000 });
    await w.close();
  });

  it("throughput: never fsyncs, not even at close; flush() still can", async () => {
    const proto = await fileHandlePrototype();
    const w = await createSession({ cwd: "/w", dir, durability: "throughput" });
    const spy = vi.spyOn(proto as { datasync: () => Promise<void> }, "datasync");
    await w.append({ type: "custom" });
    await w.flush();
    expect(spy).toHaveBeenCalledTimes(1);
    await w.append({ type: "custom" });
    await w.close();
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe("messages written by the writer build the same context pi builds", () => {
  it("a conversation with a branch and a compaction", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const u1 = await w.appendMessage(userMessage("one"));
    await w.appendMessage(assistantMessage("two"));
    const u3 = await w.appendMessage(userMessage("three"));
    await w.appendMessage(assistantMessage("four"));
    await w.appendCompaction("summary", u3, 100);
    await w.appendThinkingLevelChange("high");
    w.branch(u1);
    await w.appendMessage(assistantMessage("alt"));
    await w.close();
    const copy = join(dir, "pi-copy.jsonl");
    writeFileSync(copy, readFileSync(w.file));
    const pi = SessionManager.open(copy, dir);
    const ours = await openSession(w.file);
    expect(JSON.stringify(ours.buildContext())).toBe(JSON.stringify(pi.buildSessionContext()));
    const compactionLeaf = ours.records[5]?.id as string;
    pi.branch(compactionLeaf);
    expect(JSON.stringify(ours.buildContext(compactionLeaf))).toBe(JSON.stringify(pi.buildSessionContext()));
    expect((ours.buildContext(compactionLeaf).messages as AgentMessage[]).map((m) => m.role)).toEqual([
      "compactionSummary",
      "user",
      "assistant",
    ]);
  });
});
