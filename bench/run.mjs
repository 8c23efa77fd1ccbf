// Benchmark harness: each scenario runs in fresh processes (one warm-up, then N measured
// runs) and reports the median wall time inside the process and the peak RSS of the whole
// process, with the ratio against the reference measured in the same run.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSession } from "./generate.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, ".data");
mkdirSync(dataDir, { recursive: true });
const runs = Number(process.env.SESSFMT_BENCH_RUNS ?? 5);
const quick = process.argv.includes("--quick");

function once(script, file) {
  const out = execFileSync(process.execPath, [join(here, "scenarios", script), file], { encoding: "utf8", maxBuffer: 1 << 26 });
  return JSON.parse(out.trim().split("\n").pop());
}

function measure(script, file, copyFirst) {
  const samples = [];
  for (let i = 0; i <= runs; i++) {
    let target = file;
    if (copyFirst) {
      target = join(dataDir, `copy-${process.pid}.jsonl`);
      copyFileSync(file, target);
    }
    const r = once(script, target);
    if (i > 0) samples.push(r); // the first run is the warm-up
  }
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  return { ms: med(samples.map((s) => s.ms)), rssMb: med(samples.map((s) => s.maxRssKb)) / 1024, error: samples.find((s) => s.error)?.error };
}

const inputs = [{ name: "real v1 fixture (1 MB)", file: join(here, "..", "fixtures", "real", "large-session.jsonl") }];
for (const mb of quick ? [2] : [10, 100]) {
  const file = join(dataDir, `session-${mb}mb.jsonl`);
  if (!existsSync(file)) await generateSession(file, mb * 1024 * 1024, mb);
  inputs.push({ name: `generated ${mb} MB`, file });
}

const rows = [];
for (const { name, file } of inputs) {
  if (!existsSync(file)) continue;
  const ours = measure("open-context-sessfmt.mjs", file, false);
  const ref = measure("open-context-reference.mjs", file, true);
  rows.push({
    scenario: `open+context: ${name}`,
    bytes: statSync(file).size,
    sessfmtMs: +ours.ms.toFixed(1),
    referenceMs: +ref.ms.toFixed(1),
    timeRatio: +(ours.ms / ref.ms).toFixed(3),
    sessfmtRssMb: +ours.rssMb.toFixed(1),
    referenceRssMb: +ref.rssMb.toFixed(1),
    rssRatio: +(ours.rssMb / ref.rssMb).toFixed(3),
    referenceError: ref.error,
  });
}
console.table(rows);
writeFileSync(join(here, "results.json"), JSON.stringify({ at: new Date().toISOString(), node: process.version, runs, rows }, null, 2));
