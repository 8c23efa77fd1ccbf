// One measured run: sessfmt's lenient openSession + buildContext at the leaf.
import { openSession } from "../../dist/index.js";

const file = process.argv[2];
const t0 = performance.now();
let messages = -1;
let error;
try {
  const s = await openSession(file);
  messages = s.buildContext().messages.length;
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, messages, error }));
