/**
 * The worst inputs (SPEC 13): a 10^6-deep chain, a cycle through 10^6 entries, 10^5
 * self-parents and two-entry cycles, a single huge line (8 MiB; 200 MB with
 * SESSFMT_SOAK=1 or SESSFMT_HUGE_LINE_BYTES). Each is opened and walked in a child
 * process with a hang guard, so a hang or a stack overflow fails the test instead of
 * stalling the run; the child runs with a reduced stack so deep recursion shows early.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSync, openSync, readFileSync, realpathSync, writeSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir } from "../helpers/session-files.js";
import { CHILD_OPERATIONS, runChild } from "../helpers/reliability/child.js";
import { tornRecords } from "../helpers/reliability/disk.js";
import { hangGuardMs, scale } from "../helpers/reliability/scale.js";
import { fileTally } from "../helpers/reliability/tally.js";

const tally = fileTally("worst-inputs");
const HEADER = JSON.stringify({ type: "session", version: 3, id: "worst", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" });
const id = (i: number) => `e${i.toString(16).padStart(7, "0")}`;

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
beforeAll(() => {
  tmp = makeTempDir("sessfmt-worst-");
  dir = realpathSync(tmp.dir);
});
afterAll(() => tmp.cleanup());

/** Write a session of `n` entries; `line(i)` gives entry i's JSON (written in 8 MiB chunks). */
function writeSession(name: string, n: number, line: (i: number) => string): string {
  const file = join(dir, name);
  const fd = openSync(file, "w");
  try {
    let chunk = `${HEADER}\n`;
    for (let i = 0; i < n; i++) {
      chunk += `${line(i)}\n`;
      if (chunk.length > 8 * 1024 * 1024) {
        writeSync(fd, chunk);
        chunk = "";
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return file;
}

interface Inspection {
  records: number;
  diagnostics: Record<string, number>;
  leaf: string | null;
  pathLength: number;
  depth: number;
  contextMessages: number;
  leaves: number;
  roots: number;
  branchPoints: number;
  entryDataLength?: number;
}

/** Open and walk `file` in a child (stack of 500 KiB, hang guard); sync or async reader. */
async function inspect(file: string, opts: { sync?: boolean; maxLineBytes?: number; entryIndex?: number } = {}): Promise<Inspection> {
  const r = await runChild(CHILD_OPERATIONS, ["inspect", JSON.stringify({ file, ...opts })], {
    hangGuardMs: hangGuardMs(90_000, 600_000),
    execArgv: ["--stack-size=500", "--max-old-space-size=6144"],
  });
  const done = r.lines.find((l) => l.startsWith("done "));
  expect(done, `the child did not finish (${r.signal ?? r.code}): ${r.lines.join("\n")}\n${r.stderr.slice(-3000)}`).toBeDefined();
  tally.runs++;
  tally.fuzzCases++;
  return JSON.parse((done as string).slice(5)) as Inspection;
}

const chainLine = (parent: (i: number) => string | null) => (i: number) =>
  i % 1000 === 999
    ? `{"type":"message","id":"${id(i)}","parentId":${JSON.stringify(parent(i))},"timestamp":"2025-01-01T00:00:00.000Z","message":{"role":"user","content":"m${i}","timestamp":1}}`
    : `{"type":"custom","id":"${id(i)}","parentId":${JSON.stringify(parent(i))},"timestamp":"2025-01-01T00:00:00.000Z","customType":"c"}`;

describe("the worst inputs are read in bounded time, without deep recursion", () => {
  const N = scale.deepChain;

  it(
    `a ${N.toLocaleString("en")}-deep chain opens (async and sync), walks root to leaf and builds its context`,
    async () => {
      const file = writeSession("deep.jsonl", N, chainLine((i) => (i === 0 ? null : id(i - 1))));
      for (const sync of [false, true]) {
        const r = await inspect(file, { sync });
        expect(r).toMatchObject({ records: N, diagnostics: {}, leaf: id(N - 1), pathLength: N, depth: N - 1, leaves: 1, roots: 1, branchPoints: 0 });
        expect(r.contextMessages).toBe(Math.floor(N / 1000));
        tally.entriesChecked += N;
      }
    },
    hangGuardMs(180_000, 1_200_000),
  );

  it(
    `a cycle through ${N.toLocaleString("en")} entries is reported once and every walk ends`,
    async () => {
      const file = writeSession("cycle.jsonl", N, chainLine((i) => id(i === 0 ? N - 1 : i - 1)));
      const r = await inspect(file);
      expect(r.records).toBe(N);
      expect(r.diagnostics).toEqual({ cycle: 1 });
      // The cycle member earliest in the file becomes the root: the chain is whole again.
      expect(r).toMatchObject({ roots: 1, pathLength: N, leaf: id(N - 1) });
      tally.entriesChecked += N;
    },
    hangGuardMs(180_000, 1_200_000),
  );

  it(
    "50,000 self-parented entries and 25,000 two-entry cycles: every one reported, every walk ends",
    async () => {
      const file = writeSession("many-cycles.jsonl", 100_000, (i) =>
        chainLine(() => (i < 50_000 ? id(i) : id(i % 2 === 0 ? i + 1 : i - 1)))(i),
      );
      const r = await inspect(file);
      expect(r.records).toBe(100_000);
      expect(r.diagnostics).toEqual({ cycle: 75_000 });
      expect(r.roots).toBe(75_000);
      tally.entriesChecked += 100_000;
    },
    hangGuardMs(120_000, 1_200_000),
  );

  const big = scale.hugeLineBytes;
  const mib = `${(big / 1024 / 1024).toFixed(0)} MiB`;
  const hugeEntry = () => `{"type":"custom","id":"huge0001","parentId":"small001","timestamp":"2025-01-01T00:00:00.000Z","customType":"c","data":"${"x".repeat(big)}"}`;
  const small = (n: number, parent: string | null) => `{"type":"custom","id":"small00${n}","parentId":${JSON.stringify(parent)},"timestamp":"2025-01-01T00:00:00.000Z","customType":"c"}`;

  it(
    `a single ${mib} line is one entry; under a lower line limit it is skipped (line_too_long) and the lines after it are read`,
    async () => {
      const file = join(dir, "huge.jsonl");
      const fd = openSync(file, "w");
      writeSync(fd, `${HEADER}\n${small(1, null)}\n`);
      writeSync(fd, hugeEntry());
      writeSync(fd, `\n${small(2, "small001")}\n`);
      closeSync(fd);
      const whole = await inspect(file, { entryIndex: 1 });
      expect(whole).toMatchObject({ records: 3, diagnostics: {}, leaf: "small002", entryDataLength: big });
      const limited = await inspect(file, { maxLineBytes: 1024 * 1024, sync: true });
      expect(limited).toMatchObject({ records: 2, diagnostics: { "skipped/line_too_long": 1 }, leaf: "small002" });
      tally.entriesChecked += 5;
    },
    hangGuardMs(120_000, 1_200_000),
  );

  it(
    `a torn last line of ${mib} is quarantined whole by the next append`,
    async () => {
      const file = join(dir, "huge-torn.jsonl");
      const fd = openSync(file, "w");
      writeSync(fd, `${HEADER}\n${small(1, null)}\n`);
      const torn = hugeEntry().slice(0, -7); // no closing quote, brace or line end
      writeSync(fd, torn);
      closeSync(fd);
      const r = await runChild(CHILD_OPERATIONS, ["append", JSON.stringify({ file, durability: "strict", run: 0, limit: 1, maxBytes: 100 })], {
        hangGuardMs: hangGuardMs(90_000, 600_000),
        execArgv: ["--max-old-space-size=6144"],
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.lines.some((l) => l.startsWith("diag ") && l.includes("truncated_tail"))).toBe(true);
      const q = tornRecords(file);
      expect(q.badLines).toEqual([]);
      expect(q.records).toHaveLength(1);
      expect(q.records[0]?.bytes.length).toBe(Buffer.byteLength(torn));
      expect(q.records[0]?.bytes.equals(Buffer.from(torn))).toBe(true);
      const after = readFileSync(file, "utf8").split("\n");
      expect(after).toHaveLength(4); // header, small001, the new entry, ""
      tally.runs++;
      tally.entriesChecked += 2;
    },
    hangGuardMs(120_000, 1_200_000),
  );
});
