import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIXTURES, branchedLines, header, runCli, useTempDir, user, writeSession } from "./harness.js";

const tmp = useTempDir();

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout
    .trimEnd()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A clean session, one with two diagnostics, and one that cannot be opened. */
function mixedDir(): { dir: string; clean: string; damaged: string; broken: string } {
  const dir = tmp();
  const clean = writeSession(dir, "clean.jsonl", branchedLines());
  const damaged = writeSession(dir, "damaged.jsonl", [header(), user("a", null, "x", 1), "{oops", user("b", "nope", "y", 2)]);
  const broken = join(dir, "broken.jsonl");
  writeFileSync(broken, '{"type":"message"}\n');
  return { dir, clean, damaged, broken };
}

describe("validate exits 0 when all files are clean, 1 on diagnostics, 2 when a file cannot be opened", () => {
  it("exits 0 for clean files", async () => {
    const { clean } = mixedDir();
    const r = await runCli(["validate", clean]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toBe("1 files, 1 clean, 0 with diagnostics, 0 failed\n");
  });

  it("exits 1 when a file has diagnostics", async () => {
    const { clean, damaged } = mixedDir();
    expect((await runCli(["validate", clean, damaged])).code).toBe(1);
  });

  it("exits 2 for a missing file or a bad header, even when others only have diagnostics", async () => {
    const { damaged, broken, dir } = mixedDir();
    expect((await runCli(["validate", damaged, broken])).code).toBe(2);
    const r = await runCli(["validate", join(dir, "nope.jsonl")]);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/nope\.jsonl: failed: E_NOT_FOUND: /);
  });

  it("exits 2 on a usage error", async () => {
    expect((await runCli(["validate"])).code).toBe(2);
    expect((await runCli(["validate", "x", "--max-diagnostics", "many"])).code).toBe(2);
  });
});

describe("validate lists every diagnostic with its line, byte offset, code and reason", () => {
  it("prints one indented line per diagnostic under the file, then the summary", async () => {
    const { damaged } = mixedDir();
    const r = await runCli(["validate", damaged]);
    const offsetOfBad = Buffer.byteLength(JSON.stringify(header()) + "\n" + JSON.stringify(user("a", null, "x", 1)) + "\n");
    expect(r.stdout.split("\n")).toEqual([
      `${damaged}: 2 diagnostics`,
      expect.stringMatching(new RegExp(`^  line 3, byte ${offsetOfBad}: skipped \\(bad_json\\): invalid JSON: `)),
      `  line 4, byte ${offsetOfBad + 6}: orphaned_parent: entry "b" names parent "nope", which no entry has`,
      "1 files, 0 clean, 1 with diagnostics, 0 failed",
      "",
    ]);
  });

  it("reports the fixtures' damage as the reader finds it", async () => {
    const r = await runCli(["validate", join(FIXTURES, "corrupt-lines.jsonl"), join(FIXTURES, "cycles.jsonl"), "--json"]);
    const [corrupt, cycles] = ndjson(r.stdout);
    const reasons = (corrupt!.diagnostics as { reason: string }[]).map((d) => d.reason);
    expect(reasons).toEqual(["bad_json", "not_object", "missing_field", "missing_field", "invalid_utf8", "invalid_field"]);
    expect((cycles!.diagnostics as { code: string; line: number }[]).map((d) => [d.code, d.line])).toEqual([
      ["cycle", 4],
      ["cycle", 6],
    ]);
  });

  it("caps the human listing with --max-diagnostics and says how many were left out", async () => {
    const r = await runCli(["validate", join(FIXTURES, "corrupt-lines.jsonl"), "--max-diagnostics", "2"]);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("  line "))).toHaveLength(2);
    expect(r.stdout).toContain("  ... and 4 more (--max-diagnostics 0 lists all)");
  });
});

describe("validate --json prints one NDJSON object per file and a final summary", () => {
  it("gives {type, file, ok, diagnostics, error?} per file and the counts last", async () => {
    const { clean, damaged, broken } = mixedDir();
    const r = await runCli(["validate", clean, damaged, broken, "--json"]);
    expect(r.code).toBe(2);
    const lines = ndjson(r.stdout);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ type: "file", file: clean, ok: true, diagnostics: [] });
    expect(lines[1]).toMatchObject({ type: "file", file: damaged, ok: false });
    expect(lines[1]).not.toHaveProperty("error");
    expect((lines[1]!.diagnostics as unknown[])[0]).toMatchObject({ code: "skipped", reason: "bad_json", line: 3, offset: expect.any(Number), message: expect.any(String) });
    expect(lines[2]).toMatchObject({ type: "file", file: broken, ok: false, diagnostics: [], error: { code: "E_HEADER_INVALID", line: 1, offset: 0 } });
    expect(lines[3]).toEqual({ type: "summary", files: 3, clean: 1, withDiagnostics: 1, failed: 1, skipped: 0, exitCode: 2 });
  });
});

describe("validate --strict counts a file with any diagnostic as failed, still exit 1", () => {
  it("marks the file failed with the code a strict open raises", async () => {
    const { clean, damaged } = mixedDir();
    const r = await runCli(["validate", clean, damaged, "--strict", "--json"]);
    expect(r.code).toBe(1);
    const lines = ndjson(r.stdout);
    expect(lines[1]).toMatchObject({ ok: false, error: { code: "E_LINE_INVALID", line: 3 } });
    expect((lines[1]!.diagnostics as unknown[]).length).toBe(2);
    expect(lines[2]).toMatchObject({ files: 2, clean: 1, withDiagnostics: 0, failed: 1, exitCode: 1 });
  });

  it("says so in the human output", async () => {
    const { damaged } = mixedDir();
    const r = await runCli(["validate", damaged, "--strict"]);
    expect(r.stdout).toContain(`${damaged}: failed (--strict, E_LINE_INVALID), 2 diagnostics`);
    expect(r.stdout).toContain("1 files, 0 clean, 0 with diagnostics, 1 failed");
  });

  it("documents the exit codes in --help", async () => {
    const r = await runCli(["validate", "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--strict/);
    expect(r.stdout.replace(/\s+/g, " ")).toContain("Exit codes: 0 every file is clean; 1 diagnostics were found (with --strict those files count as failed, still exit 1); 2 a file could not be opened");
  });
});

describe("validate walks directories recursively for session files only", () => {
  it("finds *.jsonl sessions at any depth, skips other .jsonl files and ignores other names", async () => {
    const dir = tmp();
    writeSession(dir, "a/b/c/deep.jsonl", branchedLines());
    writeSession(dir, "top.jsonl", branchedLines());
    writeFileSync(join(dir, "a", "notes.jsonl"), '{"hello":1}\n');
    writeSession(dir, "a/session.json", branchedLines());
    const r = await runCli(["validate", dir, "--json"]);
    const lines = ndjson(r.stdout);
    expect(lines.filter((l) => l.type === "file").map((l) => l.file)).toEqual([join(dir, "a/b/c/deep.jsonl"), join(dir, "top.jsonl")]);
    expect(lines.at(-1)).toMatchObject({ files: 2, skipped: 1 });
    const human = await runCli(["validate", dir, "--verbose"]);
    expect(human.stdout).toContain(`${join(dir, "a", "notes.jsonl")}: skipped: first line is not a session header`);
    expect(human.stdout).toContain("2 files, 2 clean, 0 with diagnostics, 0 failed, 1 skipped (not session files)");
  });

  it("does not enter symlinked directories unless --follow-symlinks", async () => {
    const dir = tmp();
    const outside = tmp();
    writeSession(outside, "elsewhere.jsonl", branchedLines());
    mkdirSync(join(dir, "root"));
    writeSession(dir, "root/here.jsonl", branchedLines());
    symlinkSync(outside, join(dir, "root", "link"), "dir");
    symlinkSync(join(dir, "root"), join(dir, "root", "loop"), "dir");
    const plain = ndjson((await runCli(["validate", join(dir, "root"), "--json"])).stdout);
    expect(plain.at(-1)).toMatchObject({ files: 1 });
    const followed = ndjson((await runCli(["validate", join(dir, "root"), "--json", "--follow-symlinks"])).stdout);
    expect(followed.filter((l) => l.type === "file").map((l) => l.file)).toEqual([join(dir, "root", "here.jsonl"), join(dir, "root", "link", "elsewhere.jsonl")]);
  });

  it("reads paths from stdin with -", async () => {
    const { clean, damaged } = mixedDir();
    const r = await runCli(["validate", "-", "--json"], { stdin: `${clean}\n\n${damaged}\r\n` });
    expect(ndjson(r.stdout).filter((l) => l.type === "file").map((l) => l.file)).toEqual([clean, damaged]);
    expect(r.code).toBe(1);
  });

  it("checks the bundled fixtures directory: damage gives exit 1 and the broken headers are skipped, not opened", async () => {
    const r = await runCli(["validate", FIXTURES, "--json"]);
    expect(r.code).toBe(1);
    const lines = ndjson(r.stdout);
    const files = lines.filter((l) => l.type === "file");
    expect(files.find((l) => String(l.file).endsWith("v3-branched.jsonl"))).toMatchObject({ ok: true });
    expect(files.some((l) => String(l.file).endsWith("bad-header-not-json.jsonl"))).toBe(false);
    expect(files.some((l) => String(l.file).includes("archive"))).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: "summary", failed: 0 });
  });
});
