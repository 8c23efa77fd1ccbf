// One measured run of migrate or verify on one session file; rate in MB/s of JSONL.
// argv: <migrate|verify> <session.jsonl>
// migrate: everything in the file's directory but the file itself (the sidecar, its
// history, locks, leftovers of a previous run) is deleted first, before the clock starts,
// so each run is a fresh migration. verify: the sidecar must exist (built once by run.mjs).
import { readdirSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { migrateJsonlToV2, verifyV2AgainstJsonl } from "../../dist/index.js";

const [op, file] = process.argv.slice(2);
if (op === "migrate") {
  for (const name of readdirSync(dirname(file))) if (name !== basename(file)) rmSync(join(dirname(file), name), { recursive: true, force: true });
}
const bytes = statSync(file).size;
const t0 = performance.now();
let error;
let detail;
try {
  if (op === "migrate") {
    const r = await migrateJsonlToV2(file);
    detail = { action: r.action, entries: r.entries, segments: r.segments };
  } else if (op === "verify") {
    const r = await verifyV2AgainstJsonl(file);
    detail = { verified: r.ok, entries: r.entries?.sidecar, mismatches: r.mismatchCount };
    if (!r.ok) error = `verify found ${r.mismatchCount} mismatches, ${r.validation?.errors} validation errors`;
  } else {
    throw new Error(`unknown operation ${op}`);
  }
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, bytes, rate: bytes / 2 ** 20 / (ms / 1000), ...detail, error }));
