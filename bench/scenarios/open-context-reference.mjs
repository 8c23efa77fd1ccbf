// One measured run: SessionManager.open + buildSessionContext with pi-coding-agent.
// pi rewrites legacy files on open, so the harness hands it a private copy.
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
  error = String(err && err.message ? err.message : err);
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, messages, error }));
