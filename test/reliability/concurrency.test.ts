/**
 * Concurrency (SPEC 13): many processes appending to one session, and readers opening it
 * while a writer appends. Counts: SESSFMT_WRITERS x SESSFMT_APPENDS_PER_WRITER (8 x 500),
 * SESSFMT_READER_OPENS (more with SESSFMT_SOAK=1).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { openSession, openSessionFromBuffer, openSessionSync, type Session } from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { CHILD_OPERATIONS, Child, sleep } from "../helpers/reliability/child.js";
import { badCompleteLines, fileLines, listDir } from "../helpers/reliability/disk.js";
import { hangGuardMs, scale } from "../helpers/reliability/scale.js";
import { fileTally } from "../helpers/reliability/tally.js";

const tally = fileTally("concurrency");
const HEADER = `${JSON.stringify({ type: "session", version: 3, id: "concurrent", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" })}\n`;
const SEED = `${JSON.stringify({ type: "custom", id: "seed0000", parentId: null, timestamp: "2025-01-01T00:00:00.000Z", customType: "seed" })}\n`;

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let file: string;
let eventsDir: string;
beforeEach(() => {
  tmp = makeTempDir("sessfmt-concurrency-");
  dir = realpathSync(tmp.dir);
  file = join(dir, "s.jsonl");
  writeFileSync(file, HEADER + SEED);
  eventsDir = mkdtempSync(join(tmpdir(), "sessfmt-concurrency-events-"));
});
afterEach(() => {
  tmp.cleanup();
  rmSync(eventsDir, { recursive: true, force: true });
});

interface Worker {
  durability: "strict" | "balanced" | "throughput";
  parent: "leaf" | "fileTail";
}

/** Start `workers` appending `count` entries each (run = worker index); resolves with each one's acknowledged ids in order. */
function startWriters(workers: Worker[], count: number, opts: { maxBatch?: number; maxBytes?: number; largeShare?: number; pauseMs?: number } = {}): { children: Child[]; done: Promise<string[][]> } {
  const children = workers.map(
    (w, run) =>
      new Child(
        CHILD_OPERATIONS,
        [
          "append",
          JSON.stringify({
            file,
            durability: w.durability,
            parent: w.parent,
            run,
            seed: 1000 + run,
            maxBatch: opts.maxBatch ?? 1,
            maxBytes: opts.maxBytes ?? 128 * 1024,
            largeShare: opts.largeShare ?? 0.05,
            pauseMs: opts.pauseMs ?? 0,
            limit: count,
            events: join(eventsDir, `${run}.events`),
          }),
        ],
        { hangGuardMs: hangGuardMs(240_000, 3_600_000) },
      ),
  );
  const done = Promise.all(
    children.map(async (c, run) => {
      const r = await c.result();
      expect(r.code, `writer ${run} failed: ${r.lines.join("\n")}\n${r.stderr}`).toBe(0);
      const ids: string[] = [];
      for (const line of readFileSync(join(eventsDir, `${run}.events`), "utf8").split("\n")) {
        const [kind, , , list] = line.split(" ");
        if (kind === "ack") ids.push(...(list as string).split(","));
      }
      tally.runs++;
      return ids;
    }),
  );
  return { children, done };
}

function crashData(s: Session, id: string): { run: number; seq: number } {
  return (s.entry(s.record(id)!) as { data: { run: number; seq: number } }).data;
}

describe("concurrent appenders from many processes write every entry exactly once, whole", () => {
  it(
    `${scale.writers} processes x ${scale.appendsPerWriter} appends (mixed durability and parent modes)`,
    async () => {
      const modes: Worker["durability"][] = ["strict", "balanced", "throughput"];
      const workers: Worker[] = Array.from({ length: scale.writers }, (_, i) => ({ durability: modes[i % 3] as Worker["durability"], parent: i % 2 === 0 ? "fileTail" : "leaf" }));
      const perWriter = await startWriters(workers, scale.appendsPerWriter).done;

      const bytes = readFileSync(file);
      const lines = fileLines(bytes);
      expect(lines.fragment.length, "the file does not end at a line boundary").toBe(0);
      expect(badCompleteLines(lines), "torn or interleaved lines").toEqual([]);
      const s = await openSession(file);
      expect(s.diagnostics.items, "no torn, duplicate or orphaned line").toEqual([]);
      const total = scale.writers * scale.appendsPerWriter;
      expect(s.records).toHaveLength(total + 1);
      expect(new Set(s.records.map((r) => r.id)).size, "ids are unique").toBe(total + 1);
      const all = perWriter.flat();
      expect(all).toHaveLength(total);
      expect(new Set(all)).toEqual(new Set(s.records.slice(1).map((r) => r.id)));
      const ids = new Set(s.records.map((r) => r.id));
      for (const r of s.records) if (r.parentId !== null) expect(ids.has(r.parentId), `parent of ${r.id} does not resolve`).toBe(true);
      // Each process's entries are in the file in the order it appended them, with its content.
      perWriter.forEach((mine, run) => {
        const order = s.records.filter((r) => mine.includes(r.id)).map((r) => crashData(s, r.id));
        expect(order).toEqual(mine.map((_, seq) => ({ run, seq, pad: (order[seq] as { pad?: string }).pad })));
        // leaf mode: each entry after the first is the child of the previous one of the same process.
        if (workers[run]?.parent === "leaf") mine.slice(1).forEach((id, i) => expect(s.record(id)?.parentId).toBe(mine[i]));
      });
      tally.entriesChecked += total;
      expect(listDir(dir), "no lock or quarantine left").toEqual(["s.jsonl"]);
    },
    hangGuardMs(240_000, 3_600_000),
  );
});

describe("a reader opening while a writer appends sees a consistent prefix", () => {
  it(
    `${scale.readerOpens} opens (async, sync, from a buffer) during appends of entries up to 1 MiB`,
    async () => {
      let opens = 0;
      let entries = 0;
      let tornViews = 0;
      // Rounds of 150 appends on a fresh file, so the file stays small enough to reopen often.
      for (let round = 0; opens < scale.readerOpens; round++) {
        writeFileSync(file, HEADER + SEED);
        const { children, done } = startWriters([{ durability: "throughput", parent: "fileTail" }], 150, { maxBatch: 4, maxBytes: 1024 * 1024, largeShare: 0.3, pauseMs: 1 });
        const writer = children[0] as Child;
        const seen: { records: { offset: number; length: number; id: string }[]; torn: boolean }[] = [];
        try {
          let lastSize = 0;
          let finished = false;
          void writer.result().then(() => (finished = true));
          for (let i = 0; !finished; i++) {
            // Open again once the writer has added something (hang guard: the test timeout).
            const size = statSync(file).size;
            if (size === lastSize) {
              await sleep(1);
              continue;
            }
            lastSize = size;
            const s = i % 3 === 0 ? await openSession(file) : i % 3 === 1 ? openSessionSync(file) : openSessionFromBuffer(readFileSync(file));
            const last = s.records.at(-1);
            // Only the last line may be incomplete (a write in progress); nothing else is ever wrong.
            const lastLine = Math.max(last?.line ?? 0, ...s.diagnostics.items.map((d) => d.line));
            for (const d of s.diagnostics.items) {
              expect(["truncated_tail", "skipped"], `${d.code} at line ${d.line}: ${d.message}`).toContain(d.code);
              expect(d.line, `${d.code} not on the last line`).toBe(lastLine);
            }
            seen.push({ records: s.records.map((r) => ({ offset: r.offset, length: r.length, id: r.id })), torn: s.diagnostics.truncatedTail !== undefined });
          }
          await done;
        } finally {
          await writer.kill();
        }
        const final = await openSession(file);
        expect(final.diagnostics.items).toEqual([]);
        for (const v of seen) {
          // The records of every open are the first records of the final file, byte for byte.
          v.records.forEach((r, i) => {
            const f = final.records[i];
            const same = f !== undefined && f.offset === r.offset && f.id === r.id && f.length === r.length;
            // A torn last line that happened to parse is the only record allowed to differ.
            if (!same) expect(v.torn && i === v.records.length - 1, `round ${round}: record ${i} (${r.id}) is not the final file's record ${i}`).toBe(true);
          });
          entries += v.records.length;
          if (v.torn) tornViews++;
        }
        expect(seen.some((v) => v.records.length > 1), "the reader never saw the writer's entries").toBe(true);
        opens += seen.length;
      }
      tally.runs += opens;
      tally.entriesChecked += entries;
      tally.note("reader opens that saw a write in progress", tornViews);
    },
    hangGuardMs(120_000, 1_800_000),
  );
});
