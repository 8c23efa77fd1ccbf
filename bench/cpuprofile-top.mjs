// Where the time goes in a V8 CPU profile: self time per function, largest first.
//
//   node --cpu-prof --cpu-prof-dir=/tmp/prof bench/scenarios/open-context-sessfmt.mjs bench/.data/session-100mb.jsonl
//   node bench/cpuprofile-top.mjs /tmp/prof/*.cpuprofile [--under REGEX] [--top N]
//
// --under keeps only samples with a frame whose url or name matches REGEX (e.g.
// "dist/format|scenarios/" for the operation without module loading); garbage collection
// samples are always kept, since GC pauses whatever runs.
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--") && !/^\d+$/.test(a) && args[args.indexOf(a) - 1] !== "--under");
const under = args.includes("--under") ? new RegExp(args[args.indexOf("--under") + 1]) : undefined;
const top = args.includes("--top") ? Number(args[args.indexOf("--top") + 1]) : 20;
if (!file) {
  console.error("usage: node bench/cpuprofile-top.mjs FILE.cpuprofile [--under REGEX] [--top N]");
  process.exit(2);
}

const profile = JSON.parse(readFileSync(file, "utf8"));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const name = (n) => `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").slice(-2).join("/")}`.trim();
const micros = new Map();
for (let i = 0; i < profile.samples.length; i++) micros.set(profile.samples[i], (micros.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));

function kept(n) {
  if (!under || n.callFrame.functionName === "(garbage collector)") return true;
  for (let id = n.id; id !== undefined; id = parent.get(id)) {
    const f = byId.get(id);
    if (under.test(`${f.callFrame.url} ${f.callFrame.functionName}`)) return true;
  }
  return false;
}

const self = new Map();
let total = 0;
for (const n of profile.nodes) {
  const us = micros.get(n.id) ?? 0;
  if (us === 0 || !kept(n)) continue;
  total += us;
  self.set(name(n), (self.get(name(n)) ?? 0) + us);
}
console.log(`${(total / 1000).toFixed(1)} ms of samples${under ? ` under /${under.source}/ (and GC)` : ""}`);
for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(1).padStart(8)} ms  ${k}`);
}
