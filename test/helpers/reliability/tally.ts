/**
 * Counts of what the reliability suites did (for the soak summary). Each test file adds
 * to the counters; an afterAll hook in the file writes them to SESSFMT_TALLY_DIR when the
 * soak configuration set one, and the soak run's teardown adds them up and prints them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll } from "vitest";

export interface Tally {
  /** Scenario executions (crash runs, fault cases, concurrency processes, fuzz files...). */
  runs: number;
  /** Child processes killed with SIGKILL while they worked. */
  kills: number;
  /** Faults injected (errno failures, replaced files, planted symlinks...). */
  faults: number;
  /** Fuzz inputs opened (fast-check cases and exhaustive truncations). */
  fuzzCases: number;
  /** Entries (or intact lines) whose presence and bytes were verified. */
  entriesChecked: number;
  /** Acknowledged entries or intact lines that were missing: must stay 0. */
  lost: number;
  /** Free-form counters (torn tails seen, stale locks taken over, ...). */
  notes: Record<string, number>;
}

export function emptyTally(): Tally {
  return { runs: 0, kills: 0, faults: 0, fuzzCases: 0, entriesChecked: 0, lost: 0, notes: {} };
}

export function addTally(into: Tally, from: Tally): void {
  into.runs += from.runs;
  into.kills += from.kills;
  into.faults += from.faults;
  into.fuzzCases += from.fuzzCases;
  into.entriesChecked += from.entriesChecked;
  into.lost += from.lost;
  for (const [k, v] of Object.entries(from.notes)) into.notes[k] = (into.notes[k] ?? 0) + v;
}

/** The tally of one test file; written out after its last test. */
export function fileTally(name: string): Tally & { note(key: string, n?: number): void } {
  const t = emptyTally();
  const tally = Object.assign(t, {
    note(key: string, n = 1) {
      t.notes[key] = (t.notes[key] ?? 0) + n;
    },
  });
  afterAll(() => {
    const dir = process.env.SESSFMT_TALLY_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const { note: _note, ...plain } = tally;
    writeFileSync(join(dir, `${name}.${process.pid}.json`), JSON.stringify(plain));
  });
  return tally;
}
