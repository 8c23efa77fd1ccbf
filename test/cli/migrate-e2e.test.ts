import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { generateArchive } from "../migrate/helpers.js";
import { PROJECT, useTempDir } from "./harness.js";
import { assertBuilt, BIN, runBin } from "./process.js";

/** The built CLI as a real process: worker threads, pipes, and Ctrl-C. */

const tempDir = useTempDir();
beforeAll(assertBuilt);

function ndjson(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("14.7 archive runs in worker threads (dist)", () => {
  it("migrate --jobs 2 runs in worker threads, reports every file in order, and verify is clean", async () => {
    const d = tempDir();
    const files = generateArchive(d, 30, 21);
    const m = await runBin(["migrate", d, "--jobs", "2", "--json", "--skip-invalid"]);
    expect(m.code, m.stderr).toBe(0);
    const lines = ndjson(m.stdout);
    expect(lines.slice(0, -1).map((l) => l.file)).toEqual(files.map((f) => f.file));
    expect(lines.at(-1)).toMatchObject({ type: "summary", threads: true, jobs: 2, files: 30, ok: 30, failed: 0 });
    const v = await runBin(["verify", d, "--jobs", "2"]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/verify: 30 files, 30 ok, 0 not verified, 2 skipped \(not session files\) in .* \(2 jobs, worker threads\)/);
  });

  it("prints no progress bar and no escape codes into a pipe", async () => {
    const d = tempDir();
    generateArchive(d, 5, 3);
    const r = await runBin(["status", d, "--jobs", "2"], { cwd: PROJECT });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/\u001b|ETA/);
    expect(r.stderr).toBe("");
  });
});

describe("14.7 Ctrl-C stops an archive run without a half cutover", () => {
  it("SIGINT: files in flight finish or are abandoned, the rest are not started, exit 2, no leftovers", async () => {
    const d = tempDir();
    const files = generateArchive(d, 120, 33);
    const child = spawn(process.execPath, [BIN, "migrate", d, "--jobs", "2", "--json", "--skip-invalid"], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH ?? "" } });
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      if (!sent && stdout.includes('"type":"file"')) {
        sent = true;
        child.kill("SIGINT");
      }
    });
    const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    expect(code, stderr).toBe(2);
    expect(stderr).toMatch(/interrupted: finishing the files in flight/);
    const lines = ndjson(stdout);
    const summary = lines.at(-1)!;
    expect(summary).toMatchObject({ type: "summary", aborted: true, exitCode: 2 });
    expect(summary.notStarted as number).toBeGreaterThan(0);
    const byFile = new Map(lines.slice(0, -1).map((l) => [l.file as string, l]));
    expect([...byFile.keys()]).toEqual(files.map((f) => f.file));
    for (const f of files) {
      const dir = join(f.file, "..");
      const names = readdirSync(dir);
      const stem = f.file.slice(dir.length + 1, -".jsonl".length);
      const outcome = byFile.get(f.file)!.outcome;
      expect(names.includes(`${stem}.v2`), `${outcome} ${f.file}`).toBe(outcome === "created");
      expect(names.filter((n) => n.includes(".v2.staging-") || n.endsWith(".lock"))).toEqual([]);
    }
  });
});
