import { cpSync, readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, runCli, useTempDir } from "./harness.js";

const tmp = useTempDir();

/** A copy of the bundled archive (the commands write the catalog into the root). */
function archiveCopy(): string {
  const root = join(realpathSync(tmp()), "sessions");
  cpSync(join(FIXTURES, "archive"), root, { recursive: true });
  return root;
}

const LS_TABLE = [
  "MODIFIED (UTC)    ID                                    MSGS  TOKENS IN/OUT     COST  MODEL              CWD                   NAME",
  "2025-01-17 09:00  0194aaaa                                 2        1.2k/80  $0.0048  claude-sonnet-4-5  /home/user/rust-proj  ~ Written by the Rust port.",
  "2025-01-16 09:00  01946a2e-5c00-7000-8000-000000000a02     5       2.4k/160  $0.0096  claude-sonnet-4-5  /home/user/proj       ~ Write a test.",
  "2025-01-15 09:00  01946a2e-5c00-7000-8000-000000000a01     2        1.2k/80  $0.0048  claude-sonnet-4-5  /home/user/proj       ~ Set up the project.",
  "2024-11-20 23:34  01946a2e-5c00-7000-8000-000000000a03     2        1.2k/80  $0.0048  claude-sonnet-4-5  /home/user/other      ~ An old session.",
];

describe("ls lists sessions newest first, ids cut to unique prefixes", () => {
  it("prints the table for the bundled archive", async () => {
    const r = await runCli(["ls", archiveCopy()]);
    expect(r).toEqual({ code: 0, stdout: `${LS_TABLE.join("\n")}\n`, stderr: "" });
  });

  it("takes the root from --root or from PI_CODING_AGENT_DIR", async () => {
    const root = archiveCopy();
    expect((await runCli(["ls", "--root", root])).stdout).toBe(`${LS_TABLE.join("\n")}\n`);
    const agentDir = join(root, "..");
    const r = await runCli(["ls", "--limit", "1"], { env: { PI_CODING_AGENT_DIR: agentDir } });
    const squeeze = (l: string | undefined) => l?.replace(/ +/g, " ");
    expect(squeeze(r.stdout.split("\n")[1])).toBe(squeeze(LS_TABLE[1]));
  });

  it("filters by cwd, name, time and model", async () => {
    const root = archiveCopy();
    const ids = async (...args: string[]) =>
      (await runCli(["ls", root, "--json", ...args])).stdout
        .trim()
        .split("\n")
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id.slice(-3));
    expect(await ids("--cwd", "/home/user/proj")).toEqual(["a02", "a01"]);
    expect(await ids("--name", "old")).toEqual(["a03"]);
    expect(await ids("--since", "2025-01-16", "--until", "2025-01-16")).toEqual(["a02"]);
    expect(await ids("--until", "2024-12-31")).toEqual(["a03"]);
    expect(await ids("--model", "openai")).toEqual([]);
    expect((await runCli(["ls", root, "--model", "openai"])).stdout).toBe("no sessions\n");
  });

  it("--json prints one object per session with every catalog field", async () => {
    const r = await runCli(["ls", archiveCopy(), "--json", "--limit", "1"]);
    const rows = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      path: "--home-user-rust-proj--/2025-01-17T09-00-00-000Z_0194aaaa.jsonl",
      id: "0194aaaa-0000-7000-8000-000000000a04",
      cost: 0.0048,
      models: ["anthropic/claude-sonnet-4-5"],
      sidecar: "none",
      archived: false,
    });
  });

  it("refuses a bad date (exit 2) and a missing root (exit 2)", async () => {
    const root = archiveCopy();
    const bad = await runCli(["ls", root, "--since", "someday"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^sessfmt: E_INVALID_ARGUMENT: --since "someday"/);
    const missing = await runCli(["ls", join(root, "nope")]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/E_NOT_FOUND/);
  });
});

describe("index refreshes the catalog, with progress only on a terminal", () => {
  it("reports what changed; a second run reads nothing", async () => {
    const root = archiveCopy();
    const first = await runCli(["index", root]);
    expect(first.stdout).toBe(`4 files: 4 added, 0 updated, 0 removed, 0 unchanged\ncatalog: ${join(root, "session-index.sqlite")}\n`);
    expect(first.stderr).toBe("");
    const second = await runCli(["index", root, "--json"]);
    expect(JSON.parse(second.stdout)).toMatchObject({ files: 4, added: 0, unchanged: 4, catalog: join(root, "session-index.sqlite") });
  });

  it("draws a progress line on stderr on a TTY", async () => {
    const r = await runCli(["index", archiveCopy(), "--full"], { isTTY: true });
    expect(r.stderr).toContain("\rindexing 4/4 files");
    expect(r.stdout).toContain("4 added");
    expect((await runCli(["index", archiveCopy()], { isTTY: false })).stderr).toBe("");
  });
});

describe("stats totals per model and per month", () => {
  it("prints the tables", async () => {
    const r = await runCli(["stats", archiveCopy()]);
    expect(r.stdout).toBe(
      [
        "4 sessions, 11 messages, 6000 tokens in, 400 tokens out, $0.0240",
        "",
        "MODEL                        SESSIONS  MESSAGES  TOKENS IN  TOKENS OUT     COST",
        "anthropic/claude-sonnet-4-5         4         5       6000         400  $0.0240",
        "",
        "MONTH    SESSIONS  MESSAGES  TOKENS IN  TOKENS OUT     COST",
        "2024-11         1         2       1200          80  $0.0048",
        "2025-01         3         9       4800         320  $0.0192",
        "",
      ].join("\n"),
    );
  });

  it("--json with filters", async () => {
    const r = await runCli(["stats", archiveCopy(), "--json", "--cwd", "/home/user/proj"]);
    expect(JSON.parse(r.stdout)).toEqual({
      totals: { sessions: 2, messages: 7, tokensIn: 3600, tokensOut: 240, cost: 0.0144 },
      byModel: [{ model: "anthropic/claude-sonnet-4-5", sessions: 2, messages: 3, tokensIn: 3600, tokensOut: 240, cost: 0.0144 }],
      byMonth: [{ month: "2025-01", sessions: 2, messages: 7, tokensIn: 3600, tokensOut: 240, cost: 0.0144 }],
    });
  });
});

describe("convert moves a session file between JSONL and SQLite", () => {
  it("round-trips bytes and refuses to overwrite", async () => {
    const dir = realpathSync(tmp());
    const src = join(FIXTURES, "v3-branched.jsonl");
    const a = await runCli(["convert", src, join(dir, "b.sqlite")]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/\(jsonl\) -> .*b\.sqlite \(sqlite\): session .*, 14 entries, \d+ bytes\n$/);
    const b = await runCli(["convert", join(dir, "b.sqlite"), join(dir, "back.jsonl"), "--json"]);
    expect(JSON.parse(b.stdout)).toMatchObject({ from: "sqlite", to: "jsonl", entries: 14 });
    expect(readFileSync(join(dir, "back.jsonl")).equals(readFileSync(src))).toBe(true);
    const again = await runCli(["convert", src, join(dir, "b.sqlite")]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^sessfmt: E_EXISTS: /);
  });
});

describe("the catalog commands have --help with examples and exit codes", () => {
  it.each(["index", "ls", "stats", "convert"])("%s", async (c) => {
    const r = await runCli([c, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^sessfmt ${c} `));
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("Exit codes:");
  });
});
