// One measured run: lenient open + buildSessionContext at the leaf, with sessfmt.
import { openSession } from "../../dist/index.js";
const file = process.argv[2];
const t0 = performance.now();
const s = await openSession(file);
const ctx = s.buildContext();
const ms = performance.now() - t0;
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, messages: ctx.messages.length }));
