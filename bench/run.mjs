// sessfmt benchmarks: `npm run bench` (builds dist/ first), then this script.
//
//   node bench/run.mjs [--quick] [--big] [--runs N] [--only ID,...] [--out FILE] [--data DIR] [--smoke]
//
//   --quick   small data (a 2 MB session, 50-file archive, fewer appends), 3 runs
//   --big     add the 1 GB and 2 GB sessions (target 2); generated once, ~3 GB on disk
//   --runs N  measured runs per variant (default 5; the 1-2 GB JSONL opens at most 3)
//   --only    scenario ids (or prefixes) to run
//   --out     results file (default bench/results.json)
//   --data    where generated data lives (default bench/.data, gitignored)
//   --smoke   tiny sizes, one run, no warm-up: checks that the harness works (tests use it)
//
// Each variant runs in fresh processes: warm-up runs, then the measured runs, interleaved
// with the baseline's. The table shows medians; bench/results.json has every sample.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { ensureArchive, ensureSession, GENERATOR_VERSION } from "./generate.mjs";
import { measureVariants } from "./measure.mjs";
import { ensureArchiveCopy, ensureSessionCopy } from "./sidecars.mjs";
import { datasets, judge, profileFor, scenarios } from "./scenarios.mjs";

function parseArgs(argv) {
  const flags = { quick: false, big: false, smoke: false, runs: undefined, only: undefined, out: undefined, data: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") flags.quick = true;
    else if (a === "--big") flags.big = true;
    else if (a === "--smoke") flags.smoke = true;
    else if (a === "--runs") flags.runs = Number(argv[++i]);
    else if (a === "--only") flags.only = String(argv[++i]).split(",");
    else if (a === "--out") flags.out = argv[++i];
    else if (a === "--data") flags.data = argv[++i];
    else {
      console.error(`unknown argument ${a}\nusage: node bench/run.mjs [--quick] [--big] [--runs N] [--only ID,...] [--out FILE] [--data DIR] [--smoke]`);
      process.exit(2);
    }
  }
  if (flags.runs !== undefined && !(Number.isInteger(flags.runs) && flags.runs > 0)) {
    console.error("--runs needs a positive integer");
    process.exit(2);
  }
  return flags;
}

const here = import.meta.dirname;
const flags = parseArgs(process.argv.slice(2));
const profile = profileFor(flags);
const dataDir = flags.data ?? join(here, ".data");
const tmpDir = join(dataDir, "tmp");
const outFile = flags.out ?? join(here, "results.json");
mkdirSync(tmpDir, { recursive: true });
const log = (s) => process.stderr.write(`${s}\n`);

const data = datasets(profile, dataDir);
let list = scenarios(profile, data, tmpDir);
if (flags.only) list = list.filter((s) => flags.only.some((p) => s.id.startsWith(p)));

// Data first, so no measurement shares the machine with the generator.
const dataMeta = {};
async function ensureData(name) {
  if (dataMeta[name]) return dataMeta[name];
  const d = data[name];
  if (d.kind === "session") dataMeta[name] = await ensureSession(d.file, d.bytes, d.seed, log);
  else if (d.kind === "archive") dataMeta[name] = await ensureArchive(d.root, d.count, d.seed, log);
  else {
    // Copies (with sidecars) of another data set: that one first.
    dataMeta[name] = { from: d.from, source: await ensureData(d.from) };
    if (d.kind === "session-copy") Object.assign(dataMeta[name], await ensureSessionCopy(data[d.from].file, d.file, d.sidecar, log));
    else Object.assign(dataMeta[name], ensureArchiveCopy(data[d.from].root, d.root, log));
  }
  return dataMeta[name];
}
for (const name of new Set(list.flatMap((s) => s.data))) await ensureData(name);

const results = [];
for (const sc of list) {
  log(`${sc.id}: ${sc.title}`);
  const runs = sc.runs ?? profile.runs;
  const measured = measureVariants(sc.variants, { runs, warmup: profile.warmup, log });
  const verdict = judge(sc, measured);
  results.push({ id: sc.id, target: sc.target, title: sc.title, rate: sc.rate === true, ...(sc.rateUnit ? { rateUnit: sc.rateUnit } : {}), data: sc.data.map((n) => ({ name: n, ...dataMeta[n] })), ...measured, ...verdict });
}
rmSync(tmpDir, { recursive: true, force: true });

const doc = {
  schema: "sessfmt.bench.v1",
  at: new Date().toISOString(),
  profile: profile.name,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cpus: cpus().length,
  memoryGb: +(totalmem() / 2 ** 30).toFixed(1),
  runs: profile.runs,
  warmup: profile.warmup,
  generator: GENERATOR_VERSION,
  scenarios: results,
};
writeFileSync(outFile, `${JSON.stringify(doc, null, 2)}\n`);
process.stdout.write(renderTable(doc));
log(`results: ${outFile}`);

function fmtMs(ms) {
  if (ms === undefined) return "-";
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 100 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(1)} ms`;
}

function fmtRate(r, unit = "/s") {
  return r === undefined ? "-" : `${r >= 100 ? Math.round(r).toLocaleString("en-US") : r.toFixed(1)} ${unit}`.replace(" /s", "/s");
}

function cell(v, rate, unit) {
  if (v.error && v.failures === v.runs) return `FAILS after ${fmtMs(median(v.samples.map((x) => x.ms)))}, ${v.medianRssMb.toFixed(0)} MB: ${shorten(v.error, 60)}`;
  const main = rate ? fmtRate(v.medianRate, unit) : fmtMs(v.medianMs);
  return `${main}, ${v.medianRssMb.toFixed(0)} MB${v.failures ? ` (${v.failures} failed)` : ""}`;
}

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return v.length ? v[v.length >> 1] : undefined;
}

function shorten(s, n) {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

function renderTable(d) {
  const rows = [["scenario", "target", "sessfmt", "baseline", "ratios", "goal", "met"]];
  for (const r of d.scenarios) {
    const ratios = Object.entries(r.ratios)
      .map(([k, v]) => `${k.replace("Ratio", "").replace("processWall", "process")} ${v.toFixed(2)}x`)
      .join(", ");
    const goals = r.goals.length ? r.goals.map((g) => g.text).join("; ") : "-";
    const met = r.goals.length ? r.goals.map((g) => (g.met === true ? "yes" : g.met === false ? "NO" : g.met)).join("; ") : "-";
    rows.push([r.title, r.target, cell(r.sessfmt, r.rate, r.rateUnit), cell(r.baseline, r.rate, r.rateUnit), ratios || "-", goals, met]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => String(row[i]).length)));
  const line = (row) => `| ${row.map((c, i) => String(c).padEnd(widths[i])).join(" | ")} |`;
  const sep = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  const counts = [...new Set(d.scenarios.map((r) => r.sessfmt.runs))].sort((a, b) => b - a).join(" or ");
  const head = `sessfmt bench (${d.profile}), ${d.at}, node ${d.node}, ${d.cpus} CPUs; median of ${counts} runs after ${d.warmup} warm-up, each a fresh process; time = the operation, after module loading; RSS = peak RSS of the whole process\n`;
  return `${head}${[line(rows[0]), sep, ...rows.slice(1).map(line)].join("\n")}\n`;
}
