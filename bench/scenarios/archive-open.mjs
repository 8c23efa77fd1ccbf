// One measured run: open every session of an archive and build its context, one after the
// other in one process, with sessfmt or with the reference.
// argv: <sessfmt|reference> <archive root>
import { readdirSync } from "node:fs";
import { join } from "node:path";

const [reader, root] = process.argv.slice(2);
const files = [];
for (const d of readdirSync(root, { withFileTypes: true })) {
  if (!d.isDirectory()) continue;
  for (const f of readdirSync(join(root, d.name))) if (f.endsWith(".jsonl")) files.push(join(root, d.name, f));
}
files.sort();
let open;
if (reader === "sessfmt") {
  const { openSession } = await import("../../dist/index.js");
  open = async (file) => (await openSession(file)).buildContext().messages.length;
} else {
  const { SessionManager } = await import("@mariozechner/pi-coding-agent");
  const { dirname } = await import("node:path");
  open = async (file) => SessionManager.open(file, dirname(file)).buildSessionContext().messages.length;
}
const t0 = performance.now();
let messages = 0;
let error;
try {
  for (const f of files) messages += await open(f);
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, files: files.length, messages, rate: files.length / (ms / 1000), error }));
