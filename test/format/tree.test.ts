/**
 * SPEC 6 (tree): roots, children, leaves, paths, branches, labels, name, counts, forks.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { afterAll, describe, expect, it } from "vitest";
import { openSessionFromBuffer, openSessionSync, SessionTree, type EntryRecord, type Session } from "../../src/format/index.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");
const HEADER = { type: "session", version: 3, id: "sess", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" };

interface E {
  type?: string;
  id: string;
  parentId: string | null;
  timestamp?: string;
  [k: string]: unknown;
}

function ts(sec: number): string {
  return new Date(Date.UTC(2025, 0, 1, 0, 0, sec)).toISOString();
}

function text(entries: E[]): string {
  const lines = [HEADER, ...entries.map((e, i) => ({ type: "custom", timestamp: ts(i + 1), ...e }))];
  return `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
}

function open(entries: E[]): Session {
  return openSessionFromBuffer(text(entries));
}

const ids = (rs: readonly EntryRecord[]): string[] => rs.map((r) => r.id);

function user(id: string, parentId: string | null, content: unknown = `text of ${id}`): E {
  return { type: "message", id, parentId, message: { role: "user", content, timestamp: 0 } };
}

/** A bare record, for trees built without a file. */
function rec(index: number, id: string, parentId: string | null): EntryRecord {
  return { index, line: index + 2, offset: 0, length: 0, eol: 1, type: "custom", id, parentId, timestamp: ts(index) };
}

const tmpRoot = mkdtempSync(join(tmpdir(), "sessfmt-tree-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/** pi's SessionManager on a copy of a fixture (pi may rewrite what it opens). */
function piOpen(name: string): SessionManager {
  const copy = join(tmpRoot, `pi-${name}`);
  copyFileSync(join(DIR, name), copy);
  return SessionManager.open(copy, tmpRoot);
}

describe("roots: null parent, self-parent, orphan and cycle breaker, in file order", () => {
  it("each kind of root is a root, and nothing else is", () => {
    const s = open([
      { id: "orphan", parentId: "gone" },
      { id: "null", parentId: null },
      { id: "kid", parentId: "null" },
      { id: "self", parentId: "self" },
      { id: "cyc1", parentId: "cyc2" },
      { id: "cyc2", parentId: "cyc1" },
      { id: "empty", parentId: "" },
    ]);
    expect(ids(s.tree.roots)).toEqual(["orphan", "null", "self", "cyc1", "empty"]);
    expect(ids(s.tree.children(null))).toEqual(ids(s.tree.roots));
    for (const r of s.tree.roots) expect(s.tree.parentOf(r)).toBeUndefined();
    expect(s.tree.parentOf(s.record("cyc2")!)?.id).toBe("cyc1");
  });

  it("a Rust-dialect entry without parentId is a root", () => {
    const s = openSessionFromBuffer(`${JSON.stringify(HEADER)}\n{"type":"custom","id":"a","timestamp":"t"}\n`);
    expect(ids(s.tree.roots)).toEqual(["a"]);
    expect(s.dialect).toBe("rust");
  });
});

describe("children are sorted by timestamp, oldest first, stable on ties, exactly as pi's getTree", () => {
  it("timestamp order wins over file order; equal and unparseable timestamps keep file order", () => {
    const s = open([
      { id: "p", parentId: null, timestamp: ts(0) },
      { id: "late", parentId: "p", timestamp: ts(30) },
      { id: "tieA", parentId: "p", timestamp: ts(10) },
      { id: "early", parentId: "p", timestamp: ts(5) },
      { id: "tieB", parentId: "p", timestamp: ts(10) },
    ]);
    expect(ids(s.tree.children("p"))).toEqual(["early", "tieA", "tieB", "late"]);
  });

  it("roots are not sorted: they stay in file order", () => {
    const s = open([
      { id: "b", parentId: null, timestamp: ts(9) },
      { id: "a", parentId: null, timestamp: ts(1) },
    ]);
    expect(ids(s.tree.roots)).toEqual(["b", "a"]);
  });

  it("v3-branched.jsonl: same roots and children as pi's getTree", () => {
    const s = openSessionSync(join(DIR, "v3-branched.jsonl"));
    const pi = piOpen("v3-branched.jsonl");
    expect(shape(s)).toEqual(piShape(pi.getTree()));
  });

  it("for random forests (ties, bad timestamps, orphans, self-parents, parents later in the file) the shape equals pi's getTree", () => {
    const stamps = [ts(1), ts(2), ts(3), "not a date"];
    const forest = fc
      .integer({ min: 1, max: 10 })
      .chain((n) =>
        fc.record({
          parents: fc.tuple(...Array.from({ length: n }, (_, i) => fc.integer({ min: -3, max: i - 1 }))),
          stamps: fc.tuple(...Array.from({ length: n }, () => fc.constantFrom(...stamps))),
          order: fc.shuffledSubarray(Array.from({ length: n }, (_, i) => i), { minLength: n, maxLength: n }),
        }),
      );
    let run = 0;
    fc.assert(
      fc.property(forest, ({ parents, stamps: when, order }) => {
        // Parents point to earlier-generated nodes only, so shuffling the file order gives
        // parents later in the file but never a cycle (pi cannot read cycles).
        const parentOf = (i: number): string | null => {
          const p = parents[i] as number;
          return p === -1 ? null : p === -2 ? "missing" : p === -3 ? `n${i}` : `n${p}`;
        };
        const entries = order.map((i) => ({ id: `n${i}`, parentId: parentOf(i), timestamp: when[i] as string }));
        const file = join(tmpRoot, `forest-${run++}.jsonl`);
        writeFileSync(file, text(entries));
        const pi = SessionManager.open(file, tmpRoot);
        expect(shape(openSessionSync(file))).toEqual(piShape(pi.getTree()));
        rmSync(file);
      }),
      { numRuns: 100 },
    );
  });
});

/** Roots, then every node's ordered children, walked iteratively. */
function shape(s: Session): [string, string[]][] {
  const out: [string, string[]][] = [["(roots)", ids(s.tree.roots)]];
  const stack = [...s.tree.roots].reverse();
  while (stack.length > 0) {
    const r = stack.pop() as EntryRecord;
    const kids = s.tree.children(r.id);
    out.push([r.id, ids(kids)]);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as EntryRecord);
  }
  return out;
}

interface PiNode {
  entry: { id: string };
  children: PiNode[];
}
function piShape(roots: PiNode[]): [string, string[]][] {
  const out: [string, string[]][] = [["(roots)", roots.map((n) => n.entry.id)]];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const n = stack.pop() as PiNode;
    out.push([n.entry.id, n.children.map((c) => c.entry.id)]);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i] as PiNode);
  }
  return out;
}

describe("leaves and branch points", () => {
  const s = openSessionSync(join(DIR, "v3-branched.jsonl"));

  it("leaves are the entries without children, in file order", () => {
    expect(ids(s.tree.leaves())).toEqual(["b0000007", "b000000a", "b000000c", "b000000e"]);
  });

  it("branch points are the entries with more than one child, with their children in display order", () => {
    expect(s.tree.branchPoints()).toEqual([
      { entryId: "b0000003", line: 4, childIds: ["b0000004", "b0000006", "b0000008"] },
      { entryId: "b0000005", line: 6, childIds: ["b000000b", "b000000d"] },
    ]);
  });

  it("a linear session has one leaf and no branch points", () => {
    const lin = openSessionSync(join(DIR, "v3-linear.jsonl"));
    expect(ids(lin.tree.leaves())).toEqual(["30000007"]);
    expect(lin.tree.branchPoints()).toEqual([]);
  });
});

describe("the leaf is the last entry in file order after open, and can be moved", () => {
  it("after open the leaf is the last entry, whatever its parent", () => {
    const s = open([
      { id: "a", parentId: null },
      { id: "b", parentId: "a" },
      { id: "c", parentId: "a" },
    ]);
    expect(s.leafId).toBe("c");
  });

  it("setLeaf moves it; null empties the context; an unknown id is E_ENTRY_NOT_FOUND", () => {
    const s = openSessionSync(join(DIR, "v3-branched.jsonl"));
    s.setLeaf("b0000007");
    expect(s.leafId).toBe("b0000007");
    expect(s.buildContext().messages.length).toBe(4); // b1, b3, b6, b7 (b2 is session_info)
    s.setLeaf(null);
    expect(s.leafId).toBeNull();
    expect(s.buildContext()).toEqual({ messages: [], thinkingLevel: "off", model: null });
    expect(() => s.setLeaf("nope")).toThrow(expect.objectContaining({ code: "E_ENTRY_NOT_FOUND" }));
  });
});

describe("paths to the root are iterative: a 10^5-deep chain does not overflow the stack", () => {
  const N = 100_000;
  const records = Array.from({ length: N }, (_, i) => rec(i, `e${i}`, i === 0 ? null : `e${i - 1}`));
  const tree = new SessionTree(records);

  it("pathToRoot of the deepest entry is the whole chain, root first", () => {
    const path = tree.pathToRoot(`e${N - 1}`);
    expect(path.length).toBe(N);
    expect(path[0]!.id).toBe("e0");
    expect(path[N - 1]!.id).toBe(`e${N - 1}`);
    expect(tree.depth(`e${N - 1}`)).toBe(N - 1);
  });

  it("roots, leaves, branch points and sibling branches work at that depth", () => {
    expect(ids(tree.roots)).toEqual(["e0"]);
    expect(ids(tree.leaves())).toEqual([`e${N - 1}`]);
    expect(tree.branchPoints()).toEqual([]);
    expect(tree.siblingBranches(`e${N - 1}`)).toEqual([]);
  });

  it("a fork at the top of a deep chain: sibling branches count the whole deep subtree", () => {
    const forked = new SessionTree([...records, rec(N, "side", "e0")]);
    const branches = forked.siblingBranches(`e${N - 1}`);
    expect(branches.map((b) => [b.entryId, b.leafId, b.entryCount, b.isCurrent])).toEqual([
      ["e1", `e${N - 1}`, N - 1, true],
      ["side", "side", 1, false],
    ]);
  });

  it("a session file with a 10^5-deep chain opens and builds its context", () => {
    const lines = [JSON.stringify(HEADER)];
    for (let i = 0; i < N; i++) lines.push(`{"type":"custom_message","id":"${i}","parentId":${i === 0 ? "null" : `"${i - 1}"`},"timestamp":"${ts(1)}","customType":"c","content":"x","display":false}`);
    const s = openSessionFromBuffer(`${lines.join("\n")}\n`);
    expect(s.buildContext().messages.length).toBe(N);
    expect(s.branch().length).toBe(N);
  });
});

describe("parent cycles are broken, so every walk terminates", () => {
  const s = open([
    { id: "root", parentId: null },
    { id: "a", parentId: "c" },
    { id: "b", parentId: "a" },
    { id: "c", parentId: "b" },
    { id: "d", parentId: "c" },
    { id: "self", parentId: "self" },
    { id: "x", parentId: "self" },
  ]);

  it("the cycle member earliest in the file is the root of the cycle", () => {
    expect(ids(s.tree.roots)).toEqual(["root", "a", "self"]);
    expect(s.tree.cycles).toEqual([["a", "c", "b"], ["self"]]);
  });

  it("every path ends, at the breaking root", () => {
    for (const id of ["a", "b", "c", "d"]) expect(ids(s.tree.pathToRoot(id))[0]).toBe("a");
    expect(ids(s.tree.pathToRoot("d"))).toEqual(["a", "b", "c", "d"]);
    expect(ids(s.tree.pathToRoot("x"))).toEqual(["self", "x"]);
  });

  it("context, leaves, branch points and sibling branches terminate", () => {
    expect(s.buildContext("d").messages).toEqual([]);
    expect(ids(s.tree.leaves())).toEqual(["root", "d", "x"]);
    expect(s.tree.branchPoints()).toEqual([]);
    expect(s.tree.siblingBranches("d")).toEqual([]);
  });
});

describe("sibling branches: the branches leaving the nearest fork above a leaf", () => {
  const s = openSessionSync(join(DIR, "v3-branched.jsonl"));

  it("at the last leaf: the fork at line 6, two branches, the second current", () => {
    expect(s.tree.siblingBranches()).toEqual([
      { forkPointId: "b0000005", entryId: "b000000b", leafId: "b000000c", isCurrent: false, timestamp: "2025-01-12T10:01:24.000Z", entryCount: 2 },
      { forkPointId: "b0000005", entryId: "b000000d", leafId: "b000000e", isCurrent: true, timestamp: "2025-01-12T10:01:38.000Z", entryCount: 2 },
    ]);
  });

  it("under the branch summary: the fork at line 4, three branches, the newest leaf of each", () => {
    expect(s.tree.siblingBranches("b000000a").map((b) => [b.entryId, b.leafId, b.entryCount, b.isCurrent])).toEqual([
      ["b0000004", "b000000e", 6, false],
      ["b0000006", "b0000007", 2, false],
      ["b0000008", "b000000a", 3, true],
    ]);
  });

  it("a branch is labelled by the label of its first entry, else of its leaf", () => {
    const t = open([
      { id: "r", parentId: null },
      { id: "a", parentId: "r" },
      { id: "b", parentId: "r" },
      { id: "b2", parentId: "b" },
      { type: "label", id: "l1", parentId: "b2", targetId: "a", label: "first" },
      { type: "label", id: "l2", parentId: "l1", targetId: "b2", label: "leafy" },
    ]);
    expect(t.tree.siblingBranches("a").map((b) => [b.entryId, b.label])).toEqual([
      ["a", "first"],
      ["b", undefined],
    ]);
  });
});

describe("labels: replayed in file order, last wins, empty or missing clears", () => {
  it("labels.jsonl ends with c0000001 = beginning and c0000002 = answer", () => {
    const s = openSessionSync(join(DIR, "labels.jsonl"));
    expect([...s.labels]).toEqual([
      ["c0000001", "beginning"],
      ["c0000002", "answer"],
    ]);
    expect(s.tree.label("c0000003")).toBeUndefined();
    expect(s.tree.label("c0000004")).toBeUndefined();
  });

  it("equal to pi's labels for labels.jsonl", () => {
    const s = openSessionSync(join(DIR, "labels.jsonl"));
    const pi = piOpen("labels.jsonl");
    for (const id of ["c0000001", "c0000002", "c0000003", "c0000004"]) expect(s.tree.label(id)).toBe(pi.getLabel(id));
  });

  it("a label set again after a clear is back", () => {
    const s = open([
      { id: "a", parentId: null },
      { type: "label", id: "l1", parentId: "a", targetId: "a", label: "x" },
      { type: "label", id: "l2", parentId: "l1", targetId: "a", label: "" },
      { type: "label", id: "l3", parentId: "l2", targetId: "a", label: "y" },
    ]);
    expect([...s.labels]).toEqual([["a", "y"]]);
  });
});

describe("name: the latest session_info name, trimmed; an empty one clears", () => {
  const info = (id: string, name?: unknown): E => ({ type: "session_info", id, parentId: null, ...(name === undefined ? {} : { name }) });

  it("session-info.jsonl: set, rename, clear, rename with spaces -> the trimmed last name", () => {
    expect(openSessionSync(join(DIR, "session-info.jsonl")).name).toBe("Final name");
  });

  it("the latest one wins, even when it clears", () => {
    expect(open([info("a", "one"), info("b", "two")]).name).toBe("two");
    expect(open([info("a", "one"), info("b", "")]).name).toBeUndefined();
    expect(open([info("a", "one"), info("b", "   ")]).name).toBeUndefined();
    expect(open([info("a", "one"), info("b")]).name).toBeUndefined();
  });

  it("a non-string name reads as absent (a clear)", () => {
    expect(open([info("a", "one"), info("b", 42)]).name).toBeUndefined();
  });

  it("no session_info: no name", () => {
    expect(open([{ id: "a", parentId: null }]).name).toBeUndefined();
  });
});

describe("messageCount counts message entries", () => {
  it("custom, label, session_info and other entries are not messages", () => {
    const s = open([user("u", null), { id: "c", parentId: "u" }, { type: "session_info", id: "i", parentId: "c", name: "n" }, user("u2", "i")]);
    expect(s.messageCount).toBe(2);
  });
});

describe("duplicate ids: the later entry wins", () => {
  const s = open([
    { id: "r", parentId: null },
    { id: "dup", parentId: "r", n: 1 },
    { id: "kid", parentId: "dup" },
    { id: "dup", parentId: "r", n: 2 },
  ]);

  it("get() and entry() return the later one; both stay in records", () => {
    expect(s.record("dup")!.line).toBe(5);
    expect(s.entry("dup")).toMatchObject({ n: 2 });
    expect(s.records.filter((r) => r.id === "dup").length).toBe(2);
    expect(s.tree.size).toBe(3);
  });

  it("the earlier one is in no roots, children or leaves; children of the id hang under the later one", () => {
    expect(s.tree.children("r").map((r) => r.line)).toEqual([5]);
    expect(ids(s.tree.children("dup"))).toEqual(["kid"]);
    expect(s.tree.leaves().map((r) => r.line)).toEqual([4]);
  });
});

describe("forkPlan: forking at a user message keeps the path to its parent", () => {
  it("v3-branched.jsonl at b000000d: the path to b0000005, the message's text", () => {
    const s = openSessionSync(join(DIR, "v3-branched.jsonl"));
    expect(s.forkPlan("b000000d")).toEqual({
      entryId: "b000000d",
      leafId: "b0000005",
      text: "Add a --verbose flag instead.",
      entryIds: ["b0000001", "b0000002", "b0000003", "b0000004", "b0000005"],
      labels: [],
    });
  });

  it("labels on kept entries come along; label entries themselves do not", () => {
    const s = open([
      user("a", null),
      { type: "label", id: "l1", parentId: "a", targetId: "a", label: "start" },
      user("b", "l1"),
      { type: "label", id: "l2", parentId: "b", targetId: "b", label: "not kept" },
    ]);
    const plan = s.forkPlan("b");
    expect(plan.entryIds).toEqual(["a"]);
    expect(plan.labels).toEqual([{ targetId: "a", label: "start" }]);
    expect(plan.leafId).toBe("l1");
  });

  it("the kept ids are pi's getBranch of the parent, without labels", () => {
    const s = openSessionSync(join(DIR, "labels.jsonl"));
    const pi = piOpen("labels.jsonl");
    const plan = s.forkPlan("c0000003");
    expect(plan.entryIds).toEqual(pi.getBranch("c0000002").filter((e) => e.type !== "label").map((e) => e.id));
    expect(plan.labels).toEqual([
      { targetId: "c0000001", label: "beginning" },
      { targetId: "c0000002", label: "answer" },
    ]);
  });

  it("at a root user message the fork starts empty", () => {
    const s = open([user("a", null, [{ type: "text", text: "one" }, { type: "image", data: "", mimeType: "image/png" }, { type: "text", text: "two" }])]);
    expect(s.forkPlan("a")).toEqual({ entryId: "a", leafId: null, text: "one two", entryIds: [], labels: [] });
  });

  it("a non-user entry is E_INVALID_ARGUMENT; an unknown id is E_ENTRY_NOT_FOUND", () => {
    const s = openSessionSync(join(DIR, "v3-branched.jsonl"));
    expect(() => s.forkPlan("b0000003")).toThrow(expect.objectContaining({ code: "E_INVALID_ARGUMENT", line: 4 }));
    expect(() => s.forkPlan("b0000002")).toThrow(expect.objectContaining({ code: "E_INVALID_ARGUMENT" }));
    expect(() => s.forkPlan("nope")).toThrow(expect.objectContaining({ code: "E_ENTRY_NOT_FOUND" }));
  });
});
