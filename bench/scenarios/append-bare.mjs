// Baseline for durable appends: a bare loop on one open file descriptor, no checks:
// writeSync of the same lines (serialised with ids, parents and timestamps, as the writer
// does) and, in "fsync" mode, fdatasyncSync after every batch. The best a program can do
// on this disk; the writer's strict mode is measured against it. "fsync-locked" also takes
// sessfmt's cross-process lock around each batch (what SPEC 8.3 requires of any appender),
// to show how much of the difference is the lock.
// argv: <dir> <fsync|fsync-locked|nosync> <entries> <batch>
import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { appendEntries } from "./append-entries.mjs";
import { acquireLock } from "../../dist/index.js";

const [dir, mode, countArg, batchArg] = process.argv.slice(2);
const count = Number(countArg);
const batch = Number(batchArg);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const entries = appendEntries(count);
const file = join(dir, "bare.jsonl");
const fd = openSync(file, "a", 0o600);
writeSync(fd, `${JSON.stringify({ type: "session", version: 3, id: "bare", timestamp: new Date().toISOString(), cwd: "/bench" })}\n`);
fdatasyncSync(fd);
const t0 = performance.now();
let parent = null;
for (let i = 0; i < entries.length; i += batch) {
  let text = "";
  for (const e of entries.slice(i, i + batch)) {
    const id = randomBytes(4).toString("hex");
    const { type, ...rest } = e;
    text += `${JSON.stringify({ type, id, parentId: parent, timestamp: new Date().toISOString(), ...rest })}\n`;
    parent = id;
  }
  if (mode === "fsync-locked") {
    const lock = await acquireLock(file);
    writeSync(fd, text);
    fdatasyncSync(fd);
    await lock.release();
  } else {
    writeSync(fd, text);
    if (mode === "fsync") fdatasyncSync(fd);
  }
}
closeSync(fd);
const ms = performance.now() - t0;
const bytes = statSync(file).size;
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ ms, maxRssKb: process.resourceUsage().maxRSS, count, rate: count / (ms / 1000), bytes }));
