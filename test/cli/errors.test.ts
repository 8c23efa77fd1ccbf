import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { reportError } from "../../src/cli/io.js";
import { PROJECT, branchedLines, runCli, useTempDir, writeSession } from "./harness.js";

const tmp = useTempDir();
const COMMANDS = ["info", "validate", "tree", "context", "upgrade", "append"];
/** What each command needs besides the file to get as far as opening it. */
const EXTRA: Record<string, string[]> = { append: ["--entry", '{"type":"custom","customType":"x"}'] };

/** A stack trace line, as Node prints them. */
const STACK = /^\s+at /m;

describe("sessfmt --version prints the package version", () => {
  it("prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(join(PROJECT, "package.json"), "utf8")) as { version: string };
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: "" });
  });
});

describe("every command has --help with examples", () => {
  it("lists the commands and the exit codes at the top level", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`sessfmt ${c} `);
    expect(r.stdout).toContain("Exit codes:");
  });

  it.each(COMMANDS)("%s --help shows usage, examples and exit codes", async (c) => {
    const r = await runCli([c, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(new RegExp(`^sessfmt ${c} `));
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout).toContain("Exit codes:");
  });
});

describe("bad arguments give one line on stderr and exit 2", () => {
  it.each([
    [[], /no command given/],
    [["frobnicate"], /Unknown argument: frobnicate/],
    [["info"], /Not enough non-option arguments/],
    [["info", "a.jsonl", "--bogus"], /Unknown argument: bogus/],
    [["tree", "a.jsonl", "--width", "wide"], /width/],
  ])("%j", async (argv, message) => {
    const r = await runCli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sessfmt: E_INVALID_ARGUMENT: .*\n$/);
    expect(r.stderr).toMatch(message);
  });

  it("points at the command's --help", async () => {
    expect((await runCli(["info", "x", "--nope"])).stderr).toContain('(see "sessfmt info --help")');
  });
});

describe("errors are 'sessfmt: <code>: <message>' without a stack unless SESSFMT_DEBUG=1", () => {
  it.each(COMMANDS)("%s on a missing file", async (c) => {
    const r = await runCli([c, join(tmp(), "missing.jsonl"), ...(EXTRA[c] ?? [])]);
    expect(r.code).toBe(2);
    if (c === "validate") {
      expect(r.stdout).toMatch(/missing\.jsonl: failed: E_NOT_FOUND: /);
    } else {
      expect(r.stderr).toMatch(/^sessfmt: E_NOT_FOUND: .*missing\.jsonl.*\n$/);
    }
    expect(r.stderr + r.stdout).not.toMatch(STACK);
  });

  it("prints the stack with SESSFMT_DEBUG=1", async () => {
    const r = await runCli(["info", join(tmp(), "missing.jsonl")], { env: { SESSFMT_DEBUG: "1" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_NOT_FOUND: /);
    expect(r.stderr).toMatch(STACK);
  });

  it.each(["info", "tree", "context", "upgrade", "append"])("%s never crashes on bad input: a directory, binary bytes, an empty file", async (c) => {
    const dir = tmp();
    mkdirSync(join(dir, "d.jsonl"));
    writeFileSync(join(dir, "bin.jsonl"), Buffer.from([0xff, 0xfe, 0x00, 0x0a, 0x80]));
    writeFileSync(join(dir, "empty.jsonl"), "");
    for (const [name, code] of [
      ["d.jsonl", "E_NOT_A_FILE"],
      ["bin.jsonl", "E_HEADER_INVALID"],
      ["empty.jsonl", "E_EMPTY_FILE"],
    ] as const) {
      const r = await runCli([c, join(dir, name), ...(EXTRA[c] ?? [])]);
      expect(r.code, name).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^sessfmt: ${code}: [^\\n]*\\n$`));
    }
    // Nothing left behind: no lock directories, temp files or backups.
    expect(readdirSync(dir).sort()).toEqual(["bin.jsonl", "d.jsonl", "empty.jsonl"]);
  });

  it("handles a session whose entries are all damaged", async () => {
    const dir = tmp();
    const file = writeSession(dir, "s.jsonl", [branchedLines()[0]!, "garbage", "[]", "{}", '{"type":"message","id":1}']);
    for (const c of COMMANDS.filter((name) => name !== "append")) {
      const r = await runCli([c, file]);
      expect(r.stderr, c).not.toMatch(/internal error/);
      expect([0, 1]).toContain(r.code);
    }
  });
});

describe("an error that is not a SessfmtError is a bug: exit 3, one line, stack only with SESSFMT_DEBUG", () => {
  it("reports it as an internal error", () => {
    let stderr = "";
    const io = { stdout: { write: () => true }, stderr: { write: (s: string) => (stderr += s) }, stdin: Readable.from([]), isTTY: false, env: {} };
    expect(reportError(io, new TypeError("x is not a function"))).toBe(3);
    expect(stderr).toBe("sessfmt: internal error: x is not a function (set SESSFMT_DEBUG=1 for a stack trace)\n");
    stderr = "";
    expect(reportError({ ...io, env: { SESSFMT_DEBUG: "1" } }, new TypeError("boom"))).toBe(3);
    expect(stderr).toMatch(/^sessfmt: internal error: boom\n/);
    expect(stderr).toMatch(STACK);
  });
});
