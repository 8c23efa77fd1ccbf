// One measured sync of a session's sidecar after one entry was appended to the JSONL.
// argv: <session.jsonl>
// The append (through SessionWriter, under the file's tail) is made before the clock
// starts; the clock times syncSidecar alone: the full freshness check (a hash of the
// whole indexed prefix) plus framing the new line and rewriting the fingerprint, the
// manifest and the entry table. Each run adds one entry to the copy it runs on.
import { statSync } from "node:fs";
import { SessionWriter, syncSidecar } from "../../dist/index.js";

const [file] = process.argv.slice(2);
const w = await SessionWriter.open(file, { durability: "balanced", parent: "fileTail" });
await w.append({ type: "message", message: { role: "user", content: "one more line", timestamp: Date.now() } });
await w.close();
const bytes = statSync(file).size;
const t0 = performance.now();
let error;
let detail;
try {
  const r = await syncSidecar(file);
  detail = { action: r.action, appended: r.appended, entries: r.entries };
  if (r.action !== "appended" || r.appended !== 1) error = `sync ${r.action} ${r.appended} entries, not the 1 appended`;
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, bytes, rate: bytes / 2 ** 20 / (ms / 1000), ...detail, error }));
