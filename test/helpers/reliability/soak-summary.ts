/**
 * Global setup of the soak run (vitest.soak.config.ts): gives the test files a directory
 * for their tallies and, when every file has finished, adds them up and prints the
 * summary (runs, kills, faults, fuzz cases, entries checked, lost).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addTally, emptyTally, type Tally } from "./tally.js";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "sessfmt-soak-tally-"));
  process.env.SESSFMT_TALLY_DIR = dir;
  const started = Date.now();
  return () => {
    const total = emptyTally();
    const bySuite = new Map<string, Tally>();
    for (const name of readdirSync(dir)) {
      const t = JSON.parse(readFileSync(join(dir, name), "utf8")) as Tally;
      const suite = name.replace(/\.\d+\.json$/, "");
      const s = bySuite.get(suite) ?? emptyTally();
      addTally(s, t);
      bySuite.set(suite, s);
      addTally(total, t);
    }
    rmSync(dir, { recursive: true, force: true });
    const cols = ["runs", "kills", "faults", "fuzzCases", "entriesChecked", "lost"] as const;
    const rows = [...[...bySuite.entries()].sort(([a], [b]) => a.localeCompare(b)), ["TOTAL", total] as const];
    const width = (s: string) => Math.max(s.length, 14);
    const lines = [
      ["suite", ...cols].map((c, i) => (i === 0 ? c.padEnd(16) : c.padStart(width(c)))).join(" "),
      ...rows.map(([name, t]) => [String(name).padEnd(16), ...cols.map((c) => String(t[c]).padStart(width(c)))].join(" ")),
    ];
    const notes = Object.entries(total.notes).map(([k, v]) => `  ${k}: ${v}`);
    const summary = {
      runs: total.runs,
      kills: total.kills,
      faults: total.faults,
      fuzzCases: total.fuzzCases,
      entriesChecked: total.entriesChecked,
      lost: total.lost,
      minutes: Math.round((Date.now() - started) / 600) / 100,
      soak: process.env.SESSFMT_SOAK === "1",
    };
    process.stdout.write(`\nsessfmt reliability summary\n${lines.join("\n")}\nnotes:\n${notes.join("\n")}\n${JSON.stringify(summary)}\n`);
  };
}
