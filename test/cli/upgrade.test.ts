import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { describe, expect, it } from "vitest";
import { FIXTURES, REAL_V1, branchedLines, runCli, useTempDir, writeSession } from "./harness.js";

const tmp = useTempDir();

function copyOf(src: string, name = "s.jsonl"): string {
  const file = join(tmp(), name);
  copyFileSync(src, file);
  return file;
}

async function contextJson(file: string): Promise<string> {
  const r = await runCli(["context", file, "--compact"]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

describe("upgrade --dry-run says what would change and writes nothing", () => {
  it("reports the v1 -> v3 changes of the real session and leaves the file as it was", async () => {
    const file = copyOf(REAL_V1);
    const before = readFileSync(file);
    const r = await runCli(["upgrade", file, "--dry-run"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`${file}: would upgrade version 1 to 3 (1018 entries); dry run, nothing written`);
    expect(r.stdout).toMatch(/^ {2}ids assigned: +1018$/m);
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(`${file}.bak`)).toBe(false);
  });
});

describe("upgrade rewrites a legacy file as version 3 with the same context, keeping a backup", () => {
  it("upgrades the real v1 session: same context for sessfmt and for pi, original kept as .bak", async () => {
    const file = copyOf(REAL_V1);
    const original = readFileSync(file);
    const contextBefore = await contextJson(file);
    const r = await runCli(["upgrade", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`${file}: upgraded version 1 to 3 (1018 entries); original kept as ${file}.bak`);
    expect(readFileSync(`${file}.bak`).equals(original)).toBe(true);
    expect(JSON.parse((await runCli(["info", file, "--json"])).stdout)).toMatchObject({ version: 3, entryCount: 1018, diagnostics: { count: 0 } });
    expect(await contextJson(file)).toBe(contextBefore);
    const pi = SessionManager.open(copyOf(file, "pi.jsonl"), tmp());
    expect(JSON.stringify(pi.buildSessionContext()) + "\n").toBe(contextBefore);
  });

  it("renames v2 hookMessage roles and keeps no backup with --no-backup", async () => {
    const file = copyOf(join(FIXTURES, "v2-hook-message.jsonl"));
    const r = await runCli(["upgrade", file, "--no-backup", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ fromVersion: 2, toVersion: 3, needed: true, upgraded: true, dryRun: false, rolesRenamed: 1 });
    expect(report).not.toHaveProperty("backupPath");
    expect(existsSync(`${file}.bak`)).toBe(false);
    expect(readFileSync(file, "utf8")).not.toContain("hookMessage");
  });

  it("leaves a version 3 file untouched", async () => {
    const file = writeSession(tmp(), "v3.jsonl", branchedLines());
    const before = readFileSync(file);
    const r = await runCli(["upgrade", file]);
    expect(r).toMatchObject({ code: 0, stdout: `${file}: already version 3; nothing to do\n` });
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(existsSync(`${file}.bak`)).toBe(false);
  });

  it("fails with exit 2 on a file that is not a session", async () => {
    const r = await runCli(["upgrade", copyOf(join(FIXTURES, "bad-header-not-json.jsonl"))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_HEADER_INVALID: [^\n]*\n$/);
  });
});
