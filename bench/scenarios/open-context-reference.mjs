// One measured run: pi-coding-agent's SessionManager.open + buildSessionContext (the
// reference reader). pi rewrites a legacy or header-less file on open, so the harness hands
// it a private copy of such files; generated sessions are version 3 and are read as is.
// A failure (e.g. a file larger than V8's longest string) is reported, not thrown.
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { dirname } from "node:path";

const file = process.argv[2];
const t0 = performance.now();
let messages = -1;
let error;
try {
  const sm = SessionManager.open(file, dirname(file));
  messages = sm.buildSessionContext().messages.length;
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, messages, error }));
