/**
 * The append crash campaign: a child appends in a loop (SessionWriter in one durability
 * mode, or the AutosaveQueue) and is killed; runs are chained on the same file, so a
 * torn line left by one kill is repaired by the next writer (the next child, or the
 * parent's own repair append). After every kill:
 *   - every complete line is one JSON object (nothing glued or interleaved);
 *   - the file opens with no diagnostic but a truncated_tail on its last line;
 *   - every entry ever acknowledged is there, with its content, and each run's entries
 *     are contiguous; unacknowledged ones come only from the one in-flight batch;
 *   - every torn fragment ever seen is still in place or kept in `<file>.torn`;
 *   - nothing but the session file, its lock and its quarantine is in the directory.
 * A kill rarely lands inside the write(2) of a batch, so on half the runs where the
 * in-flight batch reached the file the parent cuts it at a random byte (what a short
 * write leaves), sometimes right before its final "\n" (a complete entry without its
 * line end); the next writer has to repair that.
 * Then, on alternate runs, the parent appends once (strict) and checks the repair: no
 * diagnostics at all, nothing acknowledged missing.
 */
import { readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { SessionWriter, openSession, type Session } from "../../../src/index.js";
import { prng, type CrashCampaign, type CrashRun } from "./crash-harness.js";
import { ageLock, badCompleteLines, fileLines, fragmentSurvives, listDir, tornRecords } from "./disk.js";
import type { Tally } from "./tally.js";

export interface AppendCampaignOptions {
  name: string;
  dir: string;
  runs: number;
  seed: number;
  /** "autosave" = AutosaveQueue (strict), else SessionWriter in this mode. */
  mode: "strict" | "balanced" | "throughput" | "autosave";
  parent: "leaf" | "fileTail";
  maxBatch: number;
  maxBytes: number;
  /** Upper bound of the random kill delay (ms after ready). */
  maxDelayMs: number;
  /** Start a fresh file when the session grows past this. */
  resetBytes?: number;
  tally: Tally & { note(key: string, n?: number): void };
}

interface Acked {
  id: string;
  run: number;
  seq: number;
}

const HEADER = (n: number) => `${JSON.stringify({ type: "session", version: 3, id: `crash-${n}`, timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" })}\n`;

export function appendCrashCampaign(o: AppendCampaignOptions): CrashCampaign {
  const file = join(o.dir, "s.jsonl");
  let acked: Acked[] = [];
  let fragments: { offset: number; bytes: Buffer }[] = [];
  let generation = 0;
  const rand = prng(o.seed ^ 0x7a11);
  const reset = () => {
    for (const name of listDir(o.dir)) rmSync(join(o.dir, name), { recursive: true, force: true });
    writeFileSync(file, HEADER(generation++));
    acked = [];
    fragments = [];
  };
  reset();

  /** The invariants that hold after any kill; returns the opened session. */
  async function checkFile(run: number, lastIntent: [number, number] | undefined, ackedThisRun: number): Promise<Session> {
    const bytes = readFileSync(file);
    const lines = fileLines(bytes);
    expect(badCompleteLines(lines), "complete lines that are not one JSON object (glued or torn)").toEqual([]);
    const s = await openSession(file);
    const tail = lines.fragment.length > 0 ? lines.fragmentOffset : -1;
    const unexpected = s.diagnostics.items.filter((d) => !((d.code === "truncated_tail" || d.code === "skipped") && d.offset === tail));
    expect(unexpected, "diagnostics other than a torn last line").toEqual([]);

    // Nothing acknowledged is missing, and each is the entry that was acknowledged.
    let missing = 0;
    for (const a of acked) {
      const r = s.record(a.id);
      const data = r ? (s.entry(r) as { data?: { run?: number; seq?: number } }).data : undefined;
      if (!r || data?.run !== a.run || data?.seq !== a.seq) missing++;
    }
    o.tally.entriesChecked += acked.length;
    o.tally.lost += missing;
    expect(missing, "acknowledged entries missing after the kill").toBe(0);

    // This run's entries: seq 0..k-1 in file order; beyond the acknowledged ones only the in-flight batch.
    const seqs: number[] = [];
    for (const r of s.records) {
      if (r.type !== "custom") continue;
      const e = s.entry(r) as { customType?: string; data?: { run?: number; seq?: number } };
      if (e.customType === "crash" && e.data?.run === run) seqs.push(e.data.seq as number);
    }
    expect(seqs, "this run's entries are contiguous, each once").toEqual(seqs.map((_, i) => i));
    expect(seqs.length).toBeGreaterThanOrEqual(ackedThisRun);
    for (const seq of seqs.slice(ackedThisRun)) {
      expect(lastIntent && seq >= lastIntent[0] && seq <= lastIntent[1], `unacknowledged entry ${seq} is not from the in-flight batch ${String(lastIntent)}`).toBe(true);
    }
    if (seqs.length > ackedThisRun) o.tally.note("in-flight batch written but not acknowledged");

    // Torn fragments are never lost.
    for (const f of fragments) expect(fragmentSurvives(file, bytes, f), `torn fragment at byte ${f.offset} (${f.bytes.length} bytes) was lost`).toBe(true);
    const quarantine = tornRecords(file);
    expect(quarantine.glued, "quarantine records glued onto an incomplete one").toEqual([]);
    if (quarantine.badLines.length > 0) o.tally.note("incomplete quarantine records left by a kill");
    if (lines.fragment.length > 0 && !fragments.some((f) => f.offset === lines.fragmentOffset && f.bytes.equals(lines.fragment))) {
      fragments.push({ offset: lines.fragmentOffset, bytes: Buffer.from(lines.fragment) });
      o.tally.note("torn last lines left by a kill");
    }
    const allowed = new Set(["s.jsonl", "s.jsonl.lock", "s.jsonl.torn"]);
    expect(listDir(o.dir).filter((n) => !allowed.has(n)), "leftover files").toEqual([]);
    return s;
  }

  return {
    name: o.name,
    runs: o.runs,
    seed: o.seed,
    tally: o.tally,
    async prepare(run) {
      const size = readFileSync(file).length;
      if (size > (o.resetBytes ?? 24 * 1024 * 1024)) reset();
      if (ageLock(file)) o.tally.note("stale locks taken over");
      return {
        operation: o.mode === "autosave" ? "autosave" : "append",
        options: {
          file,
          durability: o.mode === "autosave" ? "strict" : o.mode,
          parent: o.parent,
          run,
          seed: o.seed + run,
          maxBatch: o.maxBatch,
          maxBytes: o.maxBytes,
        },
      };
    },
    killDelay(_run, rand) {
      // One run in five dies within the first appends, where the writer repairs a torn tail.
      return rand() < 0.2 ? rand() * 3 : rand() * o.maxDelayMs;
    },
    async check(r: CrashRun) {
      let lastIntent: [number, number] | undefined;
      let ackedThisRun = 0;
      for (const line of r.events) {
        const [kind, a, b, ids] = line.split(" ");
        if (kind === "intent") lastIntent = [Number(a), Number(b)];
        else if (kind === "ack") {
          const idList = (ids as string).split(",");
          for (let seq = Number(a); seq <= Number(b); seq++) acked.push({ id: idList[seq - Number(a)] as string, run: r.run, seq });
          ackedThisRun = Number(b) + 1;
        } else if (kind === "diag") o.tally.note("torn tails repaired by the next writer");
      }
      const s = await checkFile(r.run, lastIntent, ackedThisRun);
      const unacked = s.records.filter((rec) => {
        if (rec.type !== "custom") return false;
        const e = s.entry(rec) as { customType?: string; data?: { run?: number; seq?: number } };
        return e.customType === "crash" && e.data?.run === r.run && (e.data.seq as number) >= ackedThisRun;
      });
      const first = unacked[0];
      if (first && s.diagnostics.count === 0 && rand() < 0.5) {
        // Tear the unacknowledged tail as a short write would: never an acknowledged byte.
        const size = readFileSync(file).length;
        const cut = rand() < 0.25 ? size - 1 : first.offset + 1 + Math.floor(rand() * (size - first.offset - 2));
        truncateSync(file, cut);
        o.tally.note("torn writes simulated in the unacknowledged tail");
        await checkFile(r.run, lastIntent, ackedThisRun);
      }
      if (r.run % 2 === 1 || r.run === o.runs - 1) {
        // The parent's own append: repairs what the kill left and must leave a clean file.
        ageLock(file);
        const w = await SessionWriter.open(file, { durability: "strict", parent: o.parent });
        const id = await w.append({ type: "custom", customType: "repair", data: { run: r.run, seq: -1 } });
        await w.close();
        if (w.diagnostics.length > 0) o.tally.note("torn tails repaired by the parent");
        acked.push({ id, run: r.run, seq: -1 });
        const after = await checkFile(r.run, lastIntent, ackedThisRun);
        expect(after.diagnostics.items, "diagnostics after the repairing append").toEqual([]);
        expect(listDir(o.dir).filter((n) => n !== "s.jsonl" && n !== "s.jsonl.torn")).toEqual([]);
      }
    },
  };
}
