import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { describe, expect, it } from "vitest";
import { FIXTURES, REAL_V1, assistant, branchedLines, header, runCli, useTempDir, user, writeSession } from "./harness.js";

const tmp = useTempDir();

const INFO_KEYS = [
  "file",
  "id",
  "version",
  "dialect",
  "cwd",
  "created",
  "modified",
  "parentSession",
  "name",
  "entryCount",
  "messageCount",
  "leafId",
  "branchPointCount",
  "leafCount",
  "labelCount",
  "size",
  "diagnostics",
];

async function infoJson(file: string): Promise<Record<string, unknown>> {
  const r = await runCli(["info", file, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

describe("info --json prints one object with the header fields as found and the counts", () => {
  it("reports the real v1 session's header, counts and leaf", async () => {
    const info = await infoJson(REAL_V1);
    expect(Object.keys(info)).toEqual(INFO_KEYS);
    expect(info).toMatchObject({
      id: "d703a1a9-1b7b-4fb1-b512-c9738b1fe617",
      version: 1,
      dialect: "ts",
      cwd: "/Users/badlogic/workspaces/pi-mono",
      created: "2025-11-20T23:33:50.805Z",
      parentSession: null,
      entryCount: 1018,
      branchPointCount: 0,
      leafCount: 1,
      labelCount: 0,
      size: 974031,
      diagnostics: { count: 0, summary: {} },
    });
  });

  it("counts entries, messages, branch points, leaves and labels of a tree", async () => {
    const file = writeSession(tmp(), "s.jsonl", [...branchedLines(), { type: "session_info", id: "n1", parentId: "b2", timestamp: "2025-03-01T10:00:09.000Z", name: "  Trip  " }]);
    const info = await infoJson(file);
    expect(info).toMatchObject({
      entryCount: 8,
      messageCount: 6,
      leafId: "n1",
      branchPointCount: 1,
      leafCount: 2, // n1 (under b2) and the label entry l1 (under c2)
      labelCount: 1,
      name: "Trip",
    });
  });

  it("takes the parent session from the Rust writer's branchedFrom", async () => {
    const file = writeSession(tmp(), "r.jsonl", [header({ branchedFrom: "/x/parent.jsonl" }), { ...user("r1", null, "hi", 1), parentId: undefined }]);
    const info = await infoJson(file);
    expect(info.parentSession).toBe("/x/parent.jsonl");
    expect(info.dialect).toBe("rust");
  });

  it("summarises diagnostics as counts per code", async () => {
    const file = writeSession(tmp(), "d.jsonl", [header(), user("a", null, "x", 1), "not json", "[1]", user("b", "missing", "y", 2)]);
    const info = await infoJson(file);
    expect(info.diagnostics).toEqual({ count: 3, summary: { skipped: 2, orphaned_parent: 1 } });
  });
});

describe("info's created and modified follow pi's session list", () => {
  it("matches SessionManager.list on the real v1 session and a branched v3 session", async () => {
    const dir = tmp();
    const piDir = join(dir, "pi");
    mkdirSync(piDir);
    const files = [REAL_V1, writeSession(dir, "b.jsonl", branchedLines())];
    for (const f of files) {
      const copy = join(piDir, f === REAL_V1 ? "real.jsonl" : "b.jsonl");
      copyFileSync(f, copy);
      const [piInfo] = (await SessionManager.list("/unused", piDir)).filter((s) => s.path === copy);
      expect(piInfo).toBeDefined();
      const info = await infoJson(f);
      expect(info.modified).toBe(piInfo!.modified.toISOString());
      expect(info.created).toBe(piInfo!.created.toISOString());
      expect(info.messageCount).toBe(piInfo!.messageCount);
    }
  });

  it("uses the latest message time, not the last entry's", async () => {
    const file = writeSession(tmp(), "m.jsonl", [
      header(),
      user("a", null, "x", 1),
      assistant("b", "a", "y", 2, { timestamp: Date.parse("2025-06-01T00:00:00.000Z") }),
      { type: "custom", id: "c", parentId: "b", timestamp: "2030-01-01T00:00:00.000Z", customType: "k" },
    ]);
    expect((await infoJson(file)).modified).toBe("2025-06-01T00:00:00.000Z");
  });

  it("falls back to the header time when there are no messages", async () => {
    const file = writeSession(tmp(), "h.jsonl", [header()]);
    expect((await infoJson(file)).modified).toBe("2025-03-01T10:00:00.000Z");
  });
});

describe("info prints aligned key: value lines", () => {
  it("aligns every value in one column", async () => {
    const r = await runCli(["info", join(FIXTURES, "v3-branched.jsonl")]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(":")[0])).toEqual([
      "file",
      "id",
      "version",
      "dialect",
      "cwd",
      "created",
      "modified",
      "parent session",
      "name",
      "entries",
      "messages",
      "leaf",
      "branch points",
      "leaves",
      "labels",
      "size",
      "diagnostics",
    ]);
    const columns = new Set(lines.map((l) => /^[a-z ]+: +/.exec(l)?.[0].length));
    expect(columns.size).toBe(1);
    expect(r.stdout).toMatch(/^leaf: +b000000e$/m);
    expect(r.stdout).toMatch(/^diagnostics: +none$/m);
  });

  it("lists diagnostic counts per code", async () => {
    const r = await runCli(["info", join(FIXTURES, "corrupt-lines.jsonl")]);
    expect(r.stdout).toMatch(/^diagnostics: +6 \(skipped 6\)$/m);
  });

  it("fails with exit 2 and one line for a file that is not a session", async () => {
    const r = await runCli(["info", join(FIXTURES, "bad-header-not-session.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sessfmt: E_HEADER_INVALID: .*\n$/);
  });
});
