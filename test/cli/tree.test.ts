import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, REAL_V1, assistant, branchedLines, header, runCli, useTempDir, user, writeChain, writeSession } from "./harness.js";

const tmp = useTempDir();

interface JsonNode {
  id: string;
  type: string;
  role?: string;
  label?: string;
  timestamp: string;
  line: number;
  active?: boolean;
  leaf?: boolean;
  children: JsonNode[];
}

describe("tree draws branches with ├─ └─ │, keeping linear runs flat as pi's tree view does", () => {
  it("draws a branch point's children with connectors and the active branch first", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["tree", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        "• a1 user: hello",
        "• a2 assistant: hi, how can I help?",
        "├─ • b1 user: first try",
        "│     • b2 assistant: first answer ← leaf",
        "└─   c1 user: second try [retry]",
        "        c2 assistant: second answer",
        '        l1 label: c1 = "retry"',
        "",
      ].join("\n"),
    );
  });

  it("draws nested branch points with a gutter for the open sibling", async () => {
    const r = await runCli(["tree", join(FIXTURES, "v3-branched.jsonl")]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(14);
    expect(lines.slice(3, 9)).toEqual([
      "├─ • b0000004 user: Use yargs.",
      "│     • b0000005 assistant: Here is a yargs skeleton.",
      "│     ├─ • b000000d user: Add a --verbose flag instead.",
      "│     │     • b000000e assistant: Added --verbose. ← leaf",
      "│     └─   b000000b user: Add a --quiet flag.",
      "│             b000000c assistant: Added --quiet.",
    ]);
    expect(lines[12]).toBe("        b0000009 user: Back to yargs: add a --json flag.");
  });

  it("draws a 10^5-deep chain without recursion, every line at the left margin", async () => {
    const file = writeChain(tmp(), "deep.jsonl", 100_000);
    const r = await runCli(["tree", file]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(100_000);
    expect(lines.every((l) => l.startsWith("• e"))).toBe(true);
    expect(lines.at(-1)).toBe("• e99999 assistant: a99999 ← leaf");
  });

  it("draws several roots (orphans, cycle breaks) side by side", async () => {
    const r = await runCli(["tree", join(FIXTURES, "cycles.jsonl")]);
    expect(r.code).toBe(0);
    // Roots sit at the margin: the self-parent, the real root, the cycle's first member.
    const roots = r.stdout.split("\n").filter((l) => /^(• |  )\w/.test(l));
    expect(roots.map((l) => l.slice(2, 10))).toEqual(["c1c00005", "c1c00001", "c1c00003"]);
  });
});

describe("tree marks the current leaf and the active path; --leaf moves them", () => {
  it("marks the path to --leaf and the leaf itself, accepting a unique id prefix", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["tree", file, "--leaf", "c2"]);
    const marked = r.stdout.split("\n").filter((l) => l.includes("• "));
    expect(marked.map((l) => /• (\w+)/.exec(l)?.[1])).toEqual(["a1", "a2", "c1", "c2"]);
    expect(r.stdout).toContain("• c2 assistant: second answer ← leaf");
    const byPrefix = await runCli(["tree", join(FIXTURES, "v3-branched.jsonl"), "--leaf", "b000000c"]);
    expect(byPrefix.stdout).toContain("b000000c assistant: Added --quiet. ← leaf");
  });

  it("fails with exit 2 for an unknown or ambiguous --leaf", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const unknown = await runCli(["tree", file, "--leaf", "zz"]);
    expect(unknown).toMatchObject({ code: 2, stdout: "" });
    expect(unknown.stderr).toMatch(/^sessfmt: E_ENTRY_NOT_FOUND: .*"zz"\n$/);
    const ambiguous = await runCli(["tree", file, "--leaf", "a"]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/^sessfmt: E_INVALID_ARGUMENT: .*ambiguous/);
  });

  it("uses colour only on a terminal", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    expect((await runCli(["tree", file])).stdout).not.toContain("\u001b[");
    expect((await runCli(["tree", file], { isTTY: true, columns: 100 })).stdout).toContain("\u001b[1m");
    expect((await runCli(["tree", file], { isTTY: true, columns: 100, env: { NO_COLOR: "1" } })).stdout).not.toContain("\u001b[");
  });
});

describe("tree previews one line of text per entry, cut to --width", () => {
  it("flattens newlines and cuts long text with …", async () => {
    const file = writeSession(tmp(), "s.jsonl", [header(), user("u1", null, "line one\nline two " + "x".repeat(200), 1)]);
    const r = await runCli(["tree", file, "--width", "20"]);
    // 19 characters of text and the "…" make the 20.
    expect(r.stdout).toBe("• u1 user: line one line two x… ← leaf\n");
  });

  it("shows the assistant's tool calls when it wrote no text, and every entry type by name", async () => {
    const r = await runCli(["tree", REAL_V1]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ assistant: \(aborted\)$/m);
    expect(r.stdout).toMatch(/ model_change: anthropic\/claude-sonnet-4-5$/m);
    expect(r.stdout).toMatch(/ assistant: → read$/m);
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1018);
  });

  it("refuses a negative --width", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    expect((await runCli(["tree", file, "--width", "-1"])).code).toBe(2);
  });
});

describe("tree --json prints the nested tree, built without recursion", () => {
  it("gives {id, type, role?, label?, timestamp, line, active?, leaf?, children} per node, children by time", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["tree", file, "--json"]);
    const doc = JSON.parse(r.stdout) as { file: string; leafId: string; roots: JsonNode[] };
    expect(doc.file).toBe(file);
    expect(doc.leafId).toBe("b2");
    expect(doc.roots).toHaveLength(1);
    const a2 = doc.roots[0]!.children[0]!;
    expect(a2).toMatchObject({ id: "a2", type: "message", role: "assistant", timestamp: "2025-03-01T10:00:02.000Z", line: 3, active: true });
    expect(a2.children.map((c) => c.id)).toEqual(["c1", "b1"]);
    expect(a2.children[0]).toMatchObject({ id: "c1", label: "retry" });
    expect(a2.children[0]).not.toHaveProperty("active");
    expect(a2.children[1]!.children[0]).toEqual({
      id: "b2",
      type: "message",
      role: "assistant",
      timestamp: "2025-03-01T10:00:07.000Z",
      line: 8,
      active: true,
      leaf: true,
      children: [],
    });
    const l1 = a2.children[0]!.children[0]!.children[0]!;
    expect(l1).toEqual({ id: "l1", type: "label", timestamp: "2025-03-01T10:00:05.000Z", line: 6, children: [] });
  });

  it("writes a 10^5-deep chain as 10^5 nested objects", async () => {
    const file = writeChain(tmp(), "deep.jsonl", 100_000);
    const r = await runCli(["tree", file, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    let node = (JSON.parse(r.stdout) as { roots: JsonNode[] }).roots[0];
    let depth = 0;
    while (node && node.children.length > 0) {
      node = node.children[0];
      depth++;
    }
    expect(depth).toBe(99_999);
    expect(node).toMatchObject({ id: "e99999", leaf: true });
  });

  it("prints an empty roots list for a header-only session", async () => {
    const file = writeSession(tmp(), "h.jsonl", [header()]);
    expect(JSON.parse((await runCli(["tree", file, "--json"])).stdout)).toEqual({ file, leafId: null, roots: [] });
    expect((await runCli(["tree", file])).stdout).toBe("(no entries)\n");
  });

  it("keeps every entry of a session with duplicate ids and orphans exactly once", async () => {
    const file = writeSession(tmp(), "o.jsonl", [header(), user("a", null, "x", 1), assistant("b", "ghost", "y", 2), user("a", null, "again", 3)]);
    const doc = JSON.parse((await runCli(["tree", file, "--json"])).stdout) as { roots: JsonNode[] };
    expect(doc.roots.map((n) => [n.id, n.line])).toEqual([
      ["b", 3],
      ["a", 4],
    ]);
  });
});
