// One measured run: appends through one held SessionWriter.
// argv: <dir> <mode strict|balanced|throughput> <entries> <batch>
// Creates a fresh session in <dir>, builds the entries before the clock starts, then
// appends them in batches of <batch> (appendMany; batch 1 = append), awaiting each.
import { mkdirSync, rmSync } from "node:fs";
import { createSession } from "../../dist/index.js";
import { appendEntries } from "./append-entries.mjs";

const [dir, mode, countArg, batchArg] = process.argv.slice(2);
const count = Number(countArg);
const batch = Number(batchArg);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const entries = appendEntries(count);
const w = await createSession({ cwd: "/bench", dir, durability: mode });
const t0 = performance.now();
for (let i = 0; i < entries.length; i += batch) {
  if (batch === 1) await w.append(entries[i]);
  else await w.appendMany(entries.slice(i, i + batch));
}
await w.close();
const ms = performance.now() - t0;
const bytes = w.size;
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, count, rate: count / (ms / 1000), bytes }));
