/**
 * Crash campaigns: run an operation in a child process, SIGKILL it at a random moment
 * after it said "ready", then check an invariant on what it left on disk; repeat.
 * A campaign is an operation (a name in child-operations.mjs plus its options) and an
 * invariant; the sidecar operations (migrate, sync, rollback, recover) plug in the
 * same way. Failures name the campaign, the run, the seed and the kill delay, so a run
 * can be replayed (SESSFMT_CRASH_SEED=<seed>).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHILD_OPERATIONS, Child, sleep, type ChildResult } from "./child.js";
import { SOAK } from "./scale.js";
import type { Tally } from "./tally.js";

/** Deterministic PRNG (mulberry32); the same as the child's. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seed of the kill delays and entry sizes: SESSFMT_CRASH_SEED replays one; soak runs pick a new one. */
export function crashSeed(): number {
  const raw = process.env.SESSFMT_CRASH_SEED;
  if (raw) return Number(raw);
  return SOAK ? Date.now() % 2_147_483_647 : 0x5e55f47;
}

export interface CrashRun {
  run: number;
  /** ms between "ready" and the SIGKILL. */
  delayMs: number;
  /** True when the SIGKILL landed while the child was still working. */
  killed: boolean;
  result: ChildResult;
  /** The child's event lines (intent, ack, diag, ...), complete ones only. */
  events: string[];
}

export interface CrashCampaign {
  name: string;
  runs: number;
  seed: number;
  /** Set up the files of one run; returns the child operation and its options. */
  prepare(run: number, rand: () => number): Promise<{ operation: string; options: Record<string, unknown> }>;
  /** ms after "ready" at which to kill. */
  killDelay(run: number, rand: () => number): number;
  /** The invariant after the kill (throws when it does not hold). */
  check(r: CrashRun): Promise<void>;
  tally: Tally;
  /** Longest life of one child (hang guard only). */
  hangGuardMs?: number;
}

export async function runCrashCampaign(c: CrashCampaign): Promise<{ killed: number; finished: number }> {
  const rand = prng(c.seed);
  let killed = 0;
  let finished = 0;
  // Event files live outside the directories under test, so they never count as leftovers.
  const eventsDir = mkdtempSync(join(tmpdir(), "sessfmt-crash-events-"));
  try {
    for (let run = 0; run < c.runs; run++) {
      const r = await oneRun(c, run, rand, join(eventsDir, `${run}.events`));
      if (r.killed) killed++;
      else finished++;
    }
  } finally {
    rmSync(eventsDir, { recursive: true, force: true });
  }
  return { killed, finished };
}

async function oneRun(c: CrashCampaign, run: number, rand: () => number, eventsFile: string): Promise<CrashRun> {
  const { operation, options } = await c.prepare(run, rand);
  const delayMs = c.killDelay(run, rand);
  const child = new Child(CHILD_OPERATIONS, [operation, JSON.stringify({ ...options, events: eventsFile })], { hangGuardMs: c.hangGuardMs ?? 60_000 });
  const first = await child.waitFor((l) => l === "ready" || l.startsWith("error ")).catch((err: Error) => `exit ${err.message}`);
  if (first !== "ready") throw new Error(`${c.name} run ${run}: the child did not start: ${first}\n${(await child.result()).stderr}`);
  if (delayMs > 0) await sleep(delayMs);
  const result = await child.kill();
  const wasKilled = result.killed && result.signal === "SIGKILL";
  // A line without its "\n" was being written at the kill: it is not an event.
  const events = readFileSync(eventsFile, "utf8").split("\n").slice(0, -1);
  const failure = events.find((l) => l.startsWith("error ")) ?? result.lines.find((l) => l.startsWith("error "));
  if (failure) throw new Error(`${c.name} run ${run} (seed ${c.seed}, delay ${delayMs} ms): the operation failed before the kill: ${failure}`);
  c.tally.runs++;
  if (wasKilled) c.tally.kills++;
  const r: CrashRun = { run, delayMs, killed: wasKilled, result, events };
  try {
    await c.check(r);
  } catch (err) {
    const e = err as Error;
    e.message = `${c.name} run ${run} (seed ${c.seed}, kill ${delayMs.toFixed(1)} ms after ready, ${wasKilled ? "killed" : "finished first"}): ${e.message}`;
    throw e;
  }
  return r;
}
