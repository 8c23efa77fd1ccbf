// Runs one variant of a scenario in fresh processes and summarises the runs.
//
// Every run is its own process (nothing warm carries over from another run), started by
// the parent, which measures the wall time of the whole process. A node scenario script
// prints one JSON line last: {ms, maxRssKb, ...} where ms is the time of the measured
// operation inside the process (after imports) and anything else is passed through
// (rate, count, messages, error). Peak RSS is the whole process's, as the kernel reports
// it at exit (GNU time's %M, which also works for crashed processes and for external
// commands such as sha256sum); without GNU time, the script's own maxRSS is used.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const GNU_TIME = "/usr/bin/time";
let gnuTime;

function hasGnuTime() {
  if (gnuTime === undefined) {
    gnuTime = existsSync(GNU_TIME) && spawnSync(GNU_TIME, ["-f", "%M", "true"], { encoding: "utf8" }).status === 0;
  }
  return gnuTime;
}

/** Median of numbers (undefined for none). */
export function median(xs) {
  const v = xs.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * One run of `argv` (argv[0] "node" means this node binary). Returns
 * {ok, ms, wallMs, rssKb, exit, error, ...fields the script printed}.
 */
export function runOnce(argv, { timeoutMs = 30 * 60_000, env } = {}) {
  const cmd = argv[0] === "node" ? process.execPath : argv[0];
  const args = argv.slice(1);
  const scratch = mkdtempSync(join(tmpdir(), "sessfmt-bench-"));
  const timeFile = join(scratch, "time");
  const useTime = hasGnuTime();
  const t0 = performance.now();
  const r = useTime
    ? spawnSync(GNU_TIME, ["-o", timeFile, "-f", "%M %x", cmd, ...args], { encoding: "utf8", maxBuffer: 1 << 26, timeout: timeoutMs, env: { ...process.env, ...env } })
    : spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 26, timeout: timeoutMs, env: { ...process.env, ...env } });
  const wallMs = performance.now() - t0;
  let rssKb;
  let exit = r.status;
  if (useTime && existsSync(timeFile)) {
    // GNU time writes "Command exited with non-zero status N" / "Command terminated by signal N" first.
    const last = readFileSync(timeFile, "utf8").trim().split("\n").pop() ?? "";
    const [m, x] = last.split(" ");
    rssKb = Number(m);
    if (exit === 0 && Number(x) !== 0) exit = Number(x);
  }
  rmSync(scratch, { recursive: true, force: true });
  let report = {};
  const lastLine = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (lastLine.startsWith("{")) {
    try {
      report = JSON.parse(lastLine);
    } catch {
      report = {};
    }
  }
  const out = { ...report, wallMs, ms: typeof report.ms === "number" ? report.ms : wallMs, rssKb: rssKb ?? report.maxRssKb, exit };
  delete out.maxRssKb;
  if (r.error) out.error = `${r.error.code ?? ""} ${r.error.message}`.trim();
  else if (exit !== 0 || r.signal) {
    const tail = (r.stderr ?? "").trim().split("\n").filter(Boolean).slice(-3).join(" | ");
    out.error ??= `exit ${exit ?? r.signal}${tail ? `: ${tail}` : ""}`;
  }
  out.ok = out.error === undefined;
  return out;
}

/**
 * Run the variants of a scenario `runs` times each after `warmup` unmeasured runs,
 * interleaved (A B A B ...) so that noise from other processes falls on both alike.
 * Returns {variantName: summary}.
 */
export function measureVariants(variants, { runs, warmup, log = () => {} }) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (const name of names) {
      const v = variants[name];
      v.before?.();
      const r = runOnce(v.argv, { env: v.env });
      v.after?.();
      // An external command (sha256sum) prints no rate: MB/s of `rateFile` over its wall time.
      if (r.ok && r.rate === undefined && v.rateFile) r.rate = statSync(v.rateFile).size / 2 ** 20 / (r.ms / 1000);
      if (i >= warmup) samples[name].push(r);
      log(`    ${i < warmup ? "warm-up" : `run ${i - warmup + 1}/${runs}`} ${name}: ${r.ok ? `${r.ms.toFixed(1)} ms` : r.error}${r.rssKb ? `, ${(r.rssKb / 1024).toFixed(0)} MB` : ""}`);
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarise(variants[name], samples[name])]));
}

function summarise(variant, runs) {
  const ok = runs.filter((r) => r.ok);
  const failed = runs.filter((r) => !r.ok);
  const s = {
    label: variant.label,
    runs: runs.length,
    failures: failed.length,
    medianMs: median(ok.map((r) => r.ms)),
    medianWallMs: median(runs.map((r) => r.wallMs)),
    // Peak RSS counts for failed runs too (a reader that dies of its memory use did use it).
    medianRssMb: median(runs.map((r) => r.rssKb)) / 1024,
    maxRssMb: Math.max(...runs.map((r) => r.rssKb ?? 0)) / 1024,
    samples: runs.map(({ ok: _ok, ...r }) => r),
  };
  const rate = median(ok.map((r) => r.rate));
  if (rate !== undefined) s.medianRate = rate;
  if (failed.length > 0) s.error = failed[0].error;
  return s;
}
