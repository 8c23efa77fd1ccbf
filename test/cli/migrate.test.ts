import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../src/cli/program.js";
import { Readable } from "node:stream";
import { FIXTURES, runCli, useTempDir } from "./harness.js";

/** The migration commands in-process: output, --json, exit codes, stdin paths, interruption. */

const tempDir = useTempDir();

function archiveCopy(): string {
  const d = join(tempDir(), "sessions");
  cpSync(join(FIXTURES, "archive"), d, { recursive: true });
  return d;
}

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("14.8 status, migrate, verify, rollback: human output and exit codes", () => {
  it("walks the archive through status -> dry run -> migrate -> verify -> rollback, exit 0 each", async () => {
    const d = archiveCopy();
    let r = await runCli(["status", d, "--jobs", "1"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout.match(/: unmigrated \(no sidecar/g)).toHaveLength(4);
    expect(r.stdout).toMatch(/^outcome\s+files\s+bytes$/m);
    expect(r.stdout).toMatch(/^unmigrated\s+4\s+4\.2 KiB$/m);

    r = await runCli(["migrate", "--dry-run", d, "--jobs", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/: would create: /g)).toHaveLength(4);
    expect(r.stdout).toMatch(/upgrade version 1 -> 3 first/);
    expect(existsSync(join(d, "--home-user-proj--", "2025-01-15T09-00-00-000Z_01946a2e-5c00-7000-8000-000000000a01.v2"))).toBe(false);

    r = await runCli(["migrate", d, "--jobs", "2"]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/: created: \d+ entries, 1 segment, .*, verified/g)).toHaveLength(4);
    expect(r.stdout).toMatch(/migrate: 4 files, 4 ok, 0 failed/);

    r = await runCli(["verify", d]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/: verified: /g)).toHaveLength(4);

    r = await runCli(["rollback", d]);
    expect(r.code).toBe(0);
    expect(r.stdout.match(/rolled back: removed the sidecar/g)).toHaveLength(4);
    r = await runCli(["status", d]);
    expect(r.stdout.match(/unmigrated \(no sidecar; rolled back /g)).toHaveLength(4);
  });

  it("verify exits 1 and names the entry and line of a mismatch", async () => {
    const d = tempDir();
    const f = join(d, "s.jsonl");
    cpSync(join(FIXTURES, "v3-linear.jsonl"), f);
    expect((await runCli(["migrate", f])).code).toBe(0);
    const seg = join(d, "s.v2", "segments", "0000000000000001.seg");
    const text = readFileSync(seg, "latin1");
    writeFileSync(seg, text.replace('"role":"user"', '"role":"usex"'), "latin1");
    const r = await runCli(["verify", f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/MISMATCH: 2 mismatches/);
    expect(r.stdout).toMatch(/line 2, entry 30000001, entrySeq 1: payload_mismatch:/);
  });

  it("a file with invalid lines fails (exit 1) without --skip-invalid and migrates with it", async () => {
    const d = tempDir();
    cpSync(join(FIXTURES, "corrupt-lines.jsonl"), join(d, "c.jsonl"));
    let r = await runCli(["migrate", join(d, "c.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/c\.jsonl: failed: E_INVALID_LINES: .*6 lines cannot be parsed: line 3 \(bad_json\)/);
    r = await runCli(["migrate", join(d, "c.jsonl"), "--skip-invalid"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/quarantined 6 invalid lines: 3 \(bad_json\), 4 \(not_object\)/);
  });

  it("status exits 1 when a file is partial or corrupt, and recover explains what it did", async () => {
    const d = tempDir();
    const f = join(d, "s.jsonl");
    cpSync(join(FIXTURES, "v3-branched.jsonl"), f);
    expect((await runCli(["migrate", f, "--fail-at", "completed"])).code).toBe(1);
    const st = await runCli(["status", f]);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(/s\.jsonl: partial \(migration .* stopped after its cutover_commit phase\)/);
    const r = await runCli(["recover", f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/s\.jsonl: partial -> migrated, verified\n  verified the sidecar \(14 entries match the JSONL\)/);
  });
});

describe("14.8 --json prints one object per file and a summary", () => {
  it("NDJSON: a file object per session, in order, then the summary with the exit code", async () => {
    const d = archiveCopy();
    const r = await runCli(["migrate", d, "--json", "--jobs", "2"]);
    const lines = ndjson(r.stdout);
    expect(lines.map((l) => l.type)).toEqual(["file", "file", "file", "file", "summary"]);
    expect(lines.slice(0, 4).map((l) => l.file)).toEqual([...lines.slice(0, 4).map((l) => l.file as string)].sort());
    expect(lines[0]).toMatchObject({ operation: "migrate", ok: true, outcome: "created", result: { action: "created", upgraded: { fromVersion: 1 } } });
    expect(lines[4]).toMatchObject({ type: "summary", operation: "migrate", files: 4, ok: 4, failed: 0, exitCode: 0, outcomes: { created: 4 } });
    const st = ndjson((await runCli(["status", d, "--json"])).stdout);
    expect(st[0]).toMatchObject({ outcome: "migrated", result: { state: "migrated", sidecar: { entries: 2 } } });
  });

  it("a failed file carries its error code and message", async () => {
    const r = await runCli(["verify", join(tempDir(), "nope.jsonl"), "--json"]);
    expect(r.code).toBe(1);
    expect(ndjson(r.stdout)[0]).toMatchObject({ ok: false, outcome: "failed", error: { code: "E_NOT_FOUND" } });
  });
});

describe("14.8 paths from stdin, usage errors (exit 2), interruption (exit 2)", () => {
  it("reads paths from stdin with '-'", async () => {
    const d = archiveCopy();
    const one = join(d, "--home-user-proj--", "2025-01-15T09-00-00-000Z_01946a2e-5c00-7000-8000-000000000a01.jsonl");
    const r = await runCli(["status", "-"], { stdin: `${one}\n` });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/status: 1 file, 1 ok/);
  });

  it.each([
    [["migrate", "x.jsonl", "--jobs", "0"], /--jobs must be a positive integer/],
    [["status", "-", "-"], /may be given only once/],
    [["migrate", "x.jsonl", "--segment-size", "-5"], /--segment-size must be a positive integer/],
    [["migrate", "x.jsonl", "--fail-at", "nowhere"], /--fail-at must be one of/],
    [["verify"], /Not enough non-option arguments/],
  ])("%j is a usage error", async (argv, message) => {
    const r = await runCli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it("an aborted run exits 2 and reports the files it did not start", async () => {
    const d = archiveCopy();
    const ac = new AbortController();
    let stdout = "";
    const code = await main(["migrate", d, "--json", "--jobs", "1"], {
      stdout: {
        write: (s: string) => {
          stdout += s;
          ac.abort(); // after the first file's line: as a Ctrl-C would
        },
      },
      stderr: { write: () => true },
      stdin: Readable.from([]),
      isTTY: false,
      env: {},
      signal: ac.signal,
    } as Parameters<typeof main>[1]);
    expect(code).toBe(2);
    const lines = ndjson(stdout);
    expect(lines.map((l) => l.outcome)).toEqual(["created", "not started", "not started", "not started", undefined]);
    expect(lines[4]).toMatchObject({ aborted: true, notStarted: 3, exitCode: 2 });
  });
});

describe("14.8 progress bar on a terminal only", () => {
  it("draws a bar with counts and bytes on a TTY, and none on a pipe", async () => {
    const d = archiveCopy();
    const tty = await runCli(["status", d, "--jobs", "1"], { isTTY: true, columns: 100 });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toMatch(/\d+\/4 files \| .* of 4\.2 KiB \| ETA/);
    const pipe = await runCli(["status", d, "--jobs", "1"]);
    expect(pipe.stdout).not.toMatch(/ETA|\u001b/);
  });
});
