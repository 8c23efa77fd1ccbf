// One measured run: open a session's V2 sidecar through openSidecar (mode "active" by
// default: with a current entry table, the table and the path from it as far back from the
// leaf as the context needs; without one, the index and every frame on the path) and build
// the context at the leaf. `entries` is the path's length, asked for after the clock has
// stopped: through the table it is known only once the whole path has been walked, which
// the context does not need. The records and tree of an active open through the table are
// made on first use, which this run does not ask for.
// argv: <session.jsonl> [mode]
import { openSidecar } from "../../dist/index.js";

const [file, mode = "active"] = process.argv.slice(2);
const t0 = performance.now();
let messages = -1;
let entries = -1;
let error;
let ms;
try {
  const store = await openSidecar(file, { mode });
  messages = store.buildContext().messages.length;
  ms = performance.now() - t0;
  entries = store.loadedCount ?? store.tree?.size ?? -1;
  await store.close();
} catch (err) {
  error = `${err?.code ? `${err.code}: ` : ""}${err?.message ?? String(err)}`;
}
ms ??= performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, messages, entries, error }));
