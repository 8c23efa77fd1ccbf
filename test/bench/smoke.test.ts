/**
 * The benchmark harness runs end to end on tiny data and writes well-formed results.
 * Nothing here looks at a timing: the targets are judged from `npm run bench`, on a quiet
 * machine, never in the test suite.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
const dir = mkdtempSync(join(tmpdir(), "sessfmt-bench-smoke-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface VariantResult {
  label: string;
  runs: number;
  failures: number;
  medianMs?: number;
  medianRssMb: number;
  medianRate?: number;
  error?: string;
  samples: { ms: number; wallMs: number; rssKb?: number }[];
}

interface ScenarioResult {
  id: string;
  target: string;
  title: string;
  sessfmt: VariantResult;
  baseline: VariantResult;
  ratios: Record<string, number>;
  goals: { metric: string; text: string; met: boolean | string }[];
}

describe("bench harness (smoke)", () => {
  it("runs every scenario on tiny data, prints a table and writes results.json", async () => {
    const out = join(dir, "results.json");
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, "bench/run.mjs"), "--smoke", "--data", join(dir, "data"), "--out", out], {
      cwd: ROOT,
      maxBuffer: 1 << 24,
    });
    expect(stdout).toContain("| scenario");
    expect(existsSync(out)).toBe(true);
    const doc = JSON.parse(readFileSync(out, "utf8")) as { schema: string; profile: string; runs: number; scenarios: ScenarioResult[] };
    expect(doc.schema).toBe("sessfmt.bench.v1");
    expect(doc.profile).toBe("smoke");
    const ids = doc.scenarios.map((s) => s.id);
    for (const prefix of ["open-context-", "archive-open-", "append-throughput-", "append-strict-single", "sidecar-active-", "migrate-", "verify-", "archive-verify-jobs-"]) {
      expect(ids.some((id) => id.startsWith(prefix)), prefix).toBe(true);
    }
    for (const s of doc.scenarios) {
      expect(typeof s.title).toBe("string");
      for (const v of [s.sessfmt, s.baseline]) {
        // Every variant ran the asked number of times, in its own process, and succeeded.
        expect(v.runs, `${s.id} ${v.label}`).toBe(doc.runs);
        expect(v.error, `${s.id} ${v.label}`).toBeUndefined();
        expect(v.samples.length).toBe(doc.runs);
        expect(Number.isFinite(v.medianRssMb) && v.medianRssMb > 0).toBe(true);
        expect(Number.isFinite(v.medianMs)).toBe(true);
      }
      for (const g of s.goals) expect(["boolean", "string"]).toContain(typeof g.met);
    }
    // Throughput against an external command: both sides have a rate (the command's from its wall time).
    for (const s of doc.scenarios.filter((x) => x.id.startsWith("migrate-") || x.id.startsWith("verify-"))) {
      expect(s.sessfmt.medianRate! > 0 && s.baseline.medianRate! > 0, s.id).toBe(true);
    }
    // The generated data lives where it was told to, and the temporary append files are gone.
    expect(existsSync(join(dir, "data"))).toBe(true);
    expect(existsSync(join(dir, "data", "tmp"))).toBe(false);
  });
});
