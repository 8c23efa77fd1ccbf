// One measured run: open a session's V2 sidecar through openSidecar (mode "active" by
// default: the index, then only the frames on the path to the last entry) and build the
// context at the leaf. argv: <session.jsonl> [mode]
import { openSidecar } from "../../dist/index.js";

const [file, mode = "active"] = process.argv.slice(2);
const t0 = performance.now();
let messages = -1;
let entries = -1;
let error;
try {
  const store = await openSidecar(file, { mode });
  messages = store.buildContext().messages.length;
  entries = store.tree?.size ?? -1;
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, messages, entries, error }));
