/**
 * Crash campaigns for the sidecar operations (SPEC 14): a child runs migrate (a fresh
 * file), sync (migrate of a file whose JSONL grew), rollback or recover and is killed at a
 * random moment, spread over the measured length of the operation. After every kill:
 * the JSONL is byte-for-byte what it was (migrate never writes a version 3 JSONL); then
 * recover runs here (the killed process's locks aged past their stale window, as a later
 * process would find them) and must leave the file `migrated` with a sidecar that verifies
 * against the JSONL, or `unmigrated` with no sidecar; status agrees afterwards.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, appendFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { migrateJsonlToV2, migrationStatus, recoverPartialMigration, rollbackV2Sidecar, verifyV2AgainstJsonl } from "../../../src/index.js";
import { CHILD_OPERATIONS, Child, sleep } from "./child.js";
import { prng, type CrashCampaign, type CrashRun } from "./crash-harness.js";
import { listDir } from "./disk.js";
import type { Tally } from "./tally.js";

export type SidecarOp = "migrate" | "sync" | "rollback" | "recover";

export interface SidecarCampaignOptions {
  op: SidecarOp;
  dir: string;
  runs: number;
  seed: number;
  /** Entries of the generated session (before a sync's appended ones). */
  entries: number;
  segmentBytes: number;
  tally: Tally & { note(key: string, n?: number): void };
}

const TS = "2025-01-01T00:00:00.000Z";

function header(id: string): string {
  return JSON.stringify({ type: "session", version: 3, id, timestamp: TS, cwd: "/w" });
}

function entryLine(id: string, parentId: string | null, pad: number): string {
  return JSON.stringify({ type: "custom", id, parentId, timestamp: TS, customType: "crash", data: { id, pad: "y".repeat(pad) } });
}

/** Mostly small entries, a few of several KiB (they span segments). */
function pad(rand: () => number): number {
  return rand() < 0.9 ? Math.floor(rand() * 300) : 2048 + Math.floor(rand() * 8192);
}

/** A version 3 session of `n` entries, mostly a chain with a few branches. */
export function writeSession(file: string, n: number, rand: () => number, prefix = "e", parentOf: string | null = null): string[] {
  const ids: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${prefix}${i + 1}`;
    const parent = i === 0 ? parentOf : rand() < 0.1 ? (ids[Math.floor(rand() * ids.length)] as string) : (ids[i - 1] as string);
    lines.push(entryLine(id, parent, pad(rand)));
    ids.push(id);
  }
  if (parentOf === null) writeFileSync(file, `${[header("01946a2e-5c00-7000-8000-00000000c0de"), ...lines].join("\n")}\n`);
  else appendFileSync(file, `${lines.join("\n")}\n`);
  return ids;
}

/** Age every lock beside the JSONL and inside its sidecar, as if their holder had died long ago. */
export function ageLocks(dir: string): number {
  let aged = 0;
  const past = new Date(Date.now() - 120_000);
  const visit = (d: string, depth: number) => {
    for (const ent of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, ent.name);
      if (ent.name.endsWith(".lock")) {
        utimesSync(p, past, past);
        aged++;
      } else if (ent.isDirectory() && depth < 2) visit(p, depth + 1);
    }
  };
  visit(dir, 0);
  return aged;
}

function clean(dir: string): void {
  for (const name of listDir(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** The JSONL's entry count (lines after the header). */
function entryCount(bytes: Buffer): number {
  return bytes.toString("utf8").split("\n").filter((l) => l.length > 0).length - 1;
}

/** Run a sidecar child to completion; ms from "ready" to "done". */
async function runToEnd(options: Record<string, unknown>): Promise<{ ms: number; done: string }> {
  const child = new Child(CHILD_OPERATIONS, ["sidecar", JSON.stringify(options)], { hangGuardMs: 60_000 });
  await child.waitFor((l) => l === "ready");
  const start = performance.now();
  const r = await child.result();
  const done = r.lines.find((l) => l.startsWith("done ")) ?? "";
  expect(done, `${JSON.stringify(options)}: ${r.lines.join("\n")}\n${r.stderr}`).not.toBe("");
  return { ms: performance.now() - start, done };
}

export async function sidecarCrashCampaign(o: SidecarCampaignOptions): Promise<CrashCampaign> {
  const file = join(o.dir, "s.jsonl");
  const root = join(o.dir, "s.v2");
  const base = { file, segmentBytes: o.segmentBytes, skipInvalid: false, lockTimeoutMs: 30_000 };
  const childOp = o.op === "sync" ? "migrate" : o.op;
  let jsonl = Buffer.alloc(0);

  /** The files one run starts from (deterministic per run). */
  const setup = async (run: number): Promise<void> => {
    clean(o.dir);
    const rand = prng(o.seed * 31 + run);
    const ids = writeSession(file, o.entries, rand);
    if (o.op === "sync" || o.op === "rollback" || o.op === "recover") await migrateJsonlToV2(file, { segmentBytes: o.segmentBytes });
    if (o.op === "sync" || o.op === "recover") writeSession(file, Math.max(5, Math.floor(o.entries / 3)), rand, "n", ids.at(-1) as string);
    if (o.op === "recover") {
      // Leave a sync cut short by a kill somewhere in it (or, at times, one that finished).
      const child = new Child(CHILD_OPERATIONS, ["sidecar", JSON.stringify({ ...base, op: "migrate" })], { hangGuardMs: 60_000 });
      await child.waitFor((l) => l === "ready");
      await sleep(rand() * syncMs * 1.1);
      await child.kill();
      ageLocks(o.dir);
    }
    jsonl = readFileSync(file);
  };

  // How long the operation takes here (the kill delays are spread over it).
  let syncMs = 0;
  if (o.op === "recover") {
    clean(o.dir);
    writeSession(file, o.entries, prng(o.seed), "e");
    await migrateJsonlToV2(file, { segmentBytes: o.segmentBytes });
    writeSession(file, Math.max(5, Math.floor(o.entries / 3)), prng(o.seed + 1), "n", `e${o.entries}`);
    syncMs = (await runToEnd({ ...base, op: "migrate" })).ms;
  }
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    await setup(i);
    times.push((await runToEnd({ ...base, op: childOp, reMigrate: true })).ms);
  }
  const opMs = times.sort((a, b) => a - b)[1] as number;
  o.tally.note(`sidecar ${o.op} length (ms, median of 3)`, Math.round(opMs));

  return {
    name: `sidecar/${o.op}`,
    runs: o.runs,
    seed: o.seed,
    tally: o.tally,
    hangGuardMs: 60_000,
    async prepare(run, rand) {
      await setup(run);
      return { operation: "sidecar", options: { ...base, op: childOp, reMigrate: o.op === "recover" ? rand() < 0.5 : false } };
    },
    killDelay(_run, rand) {
      return rand() * opMs * 1.25;
    },
    async check(r: CrashRun) {
      const same = () => expect(readFileSync(file).equals(jsonl), "the JSONL bytes changed").toBe(true);
      same();
      const doneLine = r.events.find((l) => l.startsWith("done "));
      if (doneLine) o.tally.note(`sidecar ${o.op}: runs that finished before the kill`);
      const killedState = (await migrationStatus(file)).state;
      o.tally.note(`sidecar ${o.op}: state after the kill: ${killedState}`);
      if (ageLocks(o.dir) > 0) o.tally.note("sidecar: stale locks aged for recover");

      const rec = await recoverPartialMigration(file, { lockTimeoutMs: 30_000 });
      same();
      let after = rec.after;
      if (after === "stale") {
        // A sync killed before it framed anything: the old sidecar is intact and behind.
        expect(o.op === "sync" || o.op === "recover", `recover left ${o.op} stale: ${rec.afterReason}`).toBe(true);
        o.tally.note(`sidecar ${o.op}: stale after recover, synced`);
        const m = await migrateJsonlToV2(file, { segmentBytes: o.segmentBytes });
        after = m.after;
        same();
      }
      expect(["migrated", "unmigrated"], `recover ended ${after}: ${rec.afterReason}; ${rec.actions.join("; ")}`).toContain(after);
      const status = await migrationStatus(file);
      expect(status.state, status.reason).toBe(after);
      expect(status.leftovers).toEqual([]);
      if (after === "migrated") {
        const v = await verifyV2AgainstJsonl(file);
        expect(v.ok, JSON.stringify(v.mismatches ?? v)).toBe(true);
        const n = entryCount(jsonl);
        expect(v.entries).toEqual({ jsonl: n, sidecar: n });
        o.tally.entriesChecked += n;
      } else {
        expect(existsSync(root), "unmigrated, yet the sidecar directory exists").toBe(false);
        o.tally.entriesChecked += entryCount(jsonl);
      }
      // The file can always go on: migrated again (or left) and rolled back cleanly.
      if (after === "unmigrated") {
        await migrateJsonlToV2(file, { segmentBytes: o.segmentBytes });
        expect((await verifyV2AgainstJsonl(file)).ok).toBe(true);
      }
      await rollbackV2Sidecar(file);
      same();
      expect(statSync(file).size).toBe(jsonl.length);
    },
  };
}
