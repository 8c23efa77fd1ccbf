/**
 * Child process for the lock-lease tests:
 *   node --import tsx test/helpers/lease-appender.ts '<json options>'
 * Options: file, tag, count (appends) or untilFile (append until that file exists),
 * pauseMs (between appends), durability, lockTimeoutMs, lockMaxHoldMs, end ("close" | "drop": let the process end
 * with the writer open | "exit": process.exit right after the last append).
 * Appends custom entries one at a time (parent "fileTail") and prints
 * {"ids": [...], "ms": <elapsed>} on stdout.
 */
import { existsSync } from "node:fs";
import { SessionWriter, type AutosaveDurabilityMode } from "../../src/index.js";

interface Options {
  file: string;
  tag: string;
  count?: number;
  untilFile?: string;
  pauseMs?: number;
  durability?: AutosaveDurabilityMode;
  lockTimeoutMs?: number;
  lockMaxHoldMs?: number;
  end?: "close" | "drop" | "exit";
}

const o = JSON.parse(process.argv[2] as string) as Options;
const writer = await SessionWriter.open(o.file, {
  parent: "fileTail",
  durability: o.durability ?? "throughput",
  lockTimeoutMs: o.lockTimeoutMs ?? 10_000,
  ...(o.lockMaxHoldMs !== undefined ? { lockMaxHoldMs: o.lockMaxHoldMs } : {}),
});
const ids: string[] = [];
const t0 = performance.now();
const more = (): boolean => (o.untilFile !== undefined ? !existsSync(o.untilFile) : ids.length < (o.count ?? 1));
while (more()) {
  ids.push(await writer.append({ type: "custom", customType: "lease", data: { tag: o.tag, i: ids.length } }));
  if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
}
const ms = performance.now() - t0;
if (o.end === undefined || o.end === "close") await writer.close();
process.stdout.write(JSON.stringify({ ids, ms }));
if (o.end === "exit") process.exit(0);
