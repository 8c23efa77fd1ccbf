/**
 * Fuzzing (SPEC 13): mutated real, fixture and generated session files through the three
 * readers and through a SessionWriter append; after each case the file readers and the
 * writer have closed every descriptor they opened (descriptors.ts). fast-check runs are
 * seeded: a failure prints its seed and path; replay it with SESSFMT_FUZZ_SEED=<seed>
 * SESSFMT_FUZZ_PATH=<path>.
 * Counts: SESSFMT_FUZZ_RUNS, SESSFMT_FUZZ_WRITER_RUNS, SESSFMT_TRUNCATION_WRITER_STRIDE.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { SessfmtError, SessionWriter, openSession, openSessionFromBuffer, type Session } from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { mutate, mutationsArb, truncated, type Mutation } from "../helpers/reliability/mutate.js";
import { sessionArb } from "../helpers/reliability/session-gen.js";
import { checkRecovery, entryLines, onlyCoded, onlyCodedAsync, openThreeWays, walkEverything } from "../helpers/reliability/reader-checks.js";
import { badCompleteLines, fileLines, listDir, tornRecords } from "../helpers/reliability/disk.js";
import { fcParams, hangGuardMs, scale } from "../helpers/reliability/scale.js";
import { fileTally } from "../helpers/reliability/tally.js";
import { leakWatch } from "../helpers/reliability/descriptors.js";

const tally = fileTally("fuzz");
const leaks = leakWatch(() => tally.note("fuzz: descriptor leak checks"));
const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url)));
const REAL = fixture("real/large-session.jsonl");
const FIXTURES = ["v3-branched.jsonl", "v3-linear.jsonl", "compaction.jsonl", "labels.jsonl", "cycles.jsonl", "corrupt-lines.jsonl", "rust-dialect.jsonl", "v1-legacy.jsonl", "v2-hook-message.jsonl", "crlf.jsonl", "unicode-separators.jsonl", "lone-surrogate.jsonl"].map((name) => ({ name, bytes: fixture(name) }));

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let file: string;
beforeAll(() => {
  tmp = makeTempDir("sessfmt-fuzz-");
  dir = realpathSync(tmp.dir);
  file = join(dir, "s.jsonl");
});
afterAll(() => tmp.cleanup());

/** A window of the real session: its header and a run of consecutive lines. */
const realWindowArb = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 60 })).map(([start, len]) => {
  const lines = REAL.toString("utf8").split("\n");
  const body = lines.slice(1, -1);
  const from = start % body.length;
  return Buffer.from(`${[lines[0], ...body.slice(from, from + len)].join("\n")}\n`, "utf8");
});

const baseArb = fc.oneof(
  { weight: 3, arbitrary: sessionArb },
  { weight: 2, arbitrary: fc.constantFrom(...FIXTURES).map((f) => f.bytes) },
  { weight: 2, arbitrary: realWindowArb },
);
const chunkArb = fc.option(fc.constantFrom(1, 7, 64, 4096), { nil: undefined });

function describeCase(base: Buffer, ms: readonly Mutation[]): string {
  return `base ${base.length} bytes, mutations ${JSON.stringify(ms, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`;
}

describe("the readers never throw anything but SessfmtError, agree with each other, and recover every intact line", () => {
  it(
    `mutations of generated, fixture and real session files (${scale.fuzzRuns} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(baseArb, mutationsArb, chunkArb, async (base, ms, chunkSize) => {
          const doc = mutate(base, ms);
          const bytes = Buffer.concat(doc.lines.flatMap((l) => [l.bytes, Buffer.from(l.eol)]));
          const outcome = await leaks.around("openSessionSync and openSession", () => openThreeWays(bytes, file, chunkSize));
          tally.fuzzCases++;
          tally.entriesChecked += checkRecovery(doc, outcome, entryLines(base));
          if (!(outcome instanceof SessfmtError)) walkEverything(outcome);
        }),
        fcParams(scale.fuzzRuns),
      );
    },
    hangGuardMs(120_000, 3_600_000),
  );
});

describe("truncation at every offset of a small file keeps every complete line", () => {
  const every = scale.truncationReaderStride === 1 ? "" : `, every ${scale.truncationReaderStride}th also through the file readers`;
  it(`v3-branched.jsonl cut at each of its offsets (buffer reader${every})`, async () => {
    const base = fixture("v3-branched.jsonl");
    const baseLines = fileLines(base).complete;
    const headerEnd = (baseLines[0]?.bytes.length as number) + 1;
    for (let cut = 0; cut <= base.length; cut++) {
      const bytes = base.subarray(0, cut);
      const chunkSize = cut % 2 ? 64 : undefined;
      const outcome =
        cut % scale.truncationReaderStride === 0
          ? await leaks.around(`openSessionSync and openSession of the file cut at ${cut}`, () => openThreeWays(bytes, file, chunkSize))
          : onlyCoded("openSessionFromBuffer", () => openSessionFromBuffer(bytes, { chunkSize }));
      tally.fuzzCases++;
      if (cut === 0) {
        expect((outcome as SessfmtError).code).toBe("E_EMPTY_FILE");
        continue;
      }
      if (cut < headerEnd - 1) {
        expect((outcome as SessfmtError).code, `cut at ${cut}`).toBe("E_HEADER_INVALID");
        continue;
      }
      const s = outcome as Session;
      expect(s, `cut at ${cut}`).not.toBeInstanceOf(SessfmtError);
      const whole = baseLines.filter((l, i) => i > 0 && l.offset + l.bytes.length + 1 <= cut);
      expect(s.records.slice(0, whole.length).map((r) => r.offset)).toEqual(whole.map((l) => l.offset));
      s.forEachRaw(s.records.slice(0, whole.length), (raw, r) => expect(raw.equals(whole[r.index]?.bytes as Buffer)).toBe(true));
      tally.entriesChecked += whole.length;
      const extra = s.records.length - whole.length;
      expect(extra, "at most the cut line, when it still parses").toBeLessThanOrEqual(1);
      expect(s.diagnostics.items.every((d) => d.code === "truncated_tail" || d.code === "skipped")).toBe(true);
      expect(s.diagnostics.items.length > 0).toBe(cut !== base.length && !baseLines.some((l) => l.offset + l.bytes.length + 1 === cut));
    }
  });
});

/** Write the mutated file, append through a SessionWriter, and check the repair. */
async function appendAfter(bytes: Buffer, baseEntries: ReadonlySet<number>, doc: ReturnType<typeof mutate>): Promise<void> {
  for (const name of listDir(dir)) rmSync(join(dir, name), { recursive: true, force: true });
  writeFileSync(file, bytes);
  const before = await onlyCodedAsync("openSession", () => openSession(file));
  const checkedBefore = checkRecovery(doc, before, baseEntries);
  const writer = await onlyCodedAsync("SessionWriter.open", () => SessionWriter.open(file, { durability: "throughput" }));
  tally.fuzzCases++;
  if (writer instanceof SessfmtError) {
    // Only a file whose header was damaged (or is not version 3 any more) may be refused.
    expect(before instanceof SessfmtError || before.version !== 3, `SessionWriter.open refused a readable v3 file: ${writer.message}`).toBe(true);
    return;
  }
  const s0 = before as Session;
  const torn = s0.diagnostics.truncatedTail;
  const lastNl = bytes.lastIndexOf(0x0a);
  const fragment = torn ? bytes.subarray(lastNl + 1) : Buffer.alloc(0);
  // A torn last line that is a whole entry (or the header) only gets its "\n".
  const fragmentKept = torn !== undefined && (torn.offset === s0.headerSpan.offset || s0.records.some((r) => r.offset === torn.offset));
  tally.note("appends after damage");
  if (torn) tally.note(fragmentKept ? "torn tails completed by an append" : "torn tails quarantined by an append");
  const ids = await onlyCodedAsync("appendMany", () => writer.appendMany([{ type: "custom", customType: "fuzz" }, { type: "custom", customType: "fuzz", data: "\u2028" }]));
  expect(ids, `the append failed on a readable file: ${(ids as SessfmtError).message}`).not.toBeInstanceOf(SessfmtError);
  await writer.close();

  const after = readFileSync(file);
  const s1 = await openSession(file);
  // What was there is still there, byte for byte; the torn line was completed or moved aside whole.
  const keptPrefix = torn && !fragmentKept ? bytes.subarray(0, lastNl + 1) : bytes;
  expect(after.subarray(0, keptPrefix.length).equals(keptPrefix), "bytes before the append changed").toBe(true);
  const added = fileLines(after.subarray(keptPrefix.length + (fragmentKept ? 1 : 0)));
  expect(added.fragment.length).toBe(0);
  expect(badCompleteLines(added), "the appended lines are not whole JSON lines").toEqual([]);
  if (torn && !fragmentKept) {
    const q = tornRecords(file);
    expect(q.records.map((r) => r.bytes.toString("base64")), "the torn fragment was not quarantined intact").toEqual([fragment.toString("base64")]);
  } else {
    expect(existsSync(`${file}.torn`)).toBe(false);
  }
  expect(s1.diagnostics.truncatedTail).toBeUndefined();
  const keyed = (s: Session, skipLine: number) => s.diagnostics.items.filter((d) => d.line !== skipLine).map((d) => `${d.code}@${d.line}`);
  expect(keyed(s1, -1).filter((k) => !keyed(s0, -1).includes(k)), "new diagnostics after the append").toEqual([]);
  for (const id of ids as string[]) expect(s1.record(id), `appended entry ${id} missing`).toBeDefined();
  expect(s1.record((ids as string[])[0] as string)?.parentId).toBe(s0.leafId);
  tally.entriesChecked += checkedBefore + 2;
  expect(listDir(dir).filter((n) => n !== "s.jsonl" && n !== "s.jsonl.torn")).toEqual([]);
}

describe("an append after any damage repairs the tail and keeps every line that was there", () => {
  it(
    `mutations of generated v3 sessions, then SessionWriter.appendMany (${scale.fuzzWriterRuns} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(sessionArb, mutationsArb, async (base, ms) => {
          const doc = mutate(base, ms);
          const bytes = Buffer.concat(doc.lines.flatMap((l) => [l.bytes, Buffer.from(l.eol)]));
          try {
            await leaks.around("openSession, SessionWriter.open, appendMany and close", () => appendAfter(bytes, entryLines(base), doc));
          } catch (err) {
            (err as Error).message = `${describeCase(base, ms)}: ${(err as Error).message}`;
            throw err;
          }
        }),
        fcParams(scale.fuzzWriterRuns),
      );
    },
    hangGuardMs(120_000, 3_600_000),
  );

  it(`v3-branched.jsonl cut at every ${scale.truncationWriterStride === 1 ? "" : `${scale.truncationWriterStride}th `}offset past its header, then appended to`, async () => {
    const base = fixture("v3-branched.jsonl");
    const headerEnd = base.indexOf(0x0a) + 1;
    const entries = entryLines(base);
    for (let cut = headerEnd - 1; cut <= base.length; cut += scale.truncationWriterStride) {
      const bytes = base.subarray(0, cut);
      await leaks.around(`openSession and a SessionWriter append to the file cut at ${cut}`, () => appendAfter(bytes, entries, truncated(base, cut)));
    }
  });
});

describe("duplicate, self and cyclic parents never hang a walk or overflow the stack", () => {
  const parentMutation = fc.oneof(
    fc.record({ kind: fc.constant("parent" as const), line: fc.nat(), to: fc.constantFrom("self" as const, "missing" as const, "other" as const), other: fc.nat() }),
    fc.record({ kind: fc.constant("duplicateId" as const), line: fc.nat(), from: fc.nat() }),
    fc.record({ kind: fc.constant("duplicateLine" as const), line: fc.nat(), from: fc.nat() }),
  );
  it(`generated sessions with up to 12 rewired parents (${scale.fuzzRuns} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(sessionArb, fc.array(parentMutation, { minLength: 1, maxLength: 12 }), async (base, ms) => {
        const doc = mutate(base, ms);
        const bytes = Buffer.concat(doc.lines.flatMap((l) => [l.bytes, Buffer.from(l.eol)]));
        const s = onlyCoded("openSessionFromBuffer", () => openSessionFromBuffer(bytes));
        tally.fuzzCases++;
        tally.entriesChecked += checkRecovery(doc, s, entryLines(base));
        if (s instanceof SessfmtError) return; // a copied line landed before the header
        walkEverything(s);
        // Every entry reaches a root in at most as many steps as there are entries.
        for (const r of s.records) expect(s.tree.pathToRoot(r.id).length).toBeLessThanOrEqual(s.records.length);
        // A cycle is reported whenever following parents from some entry revisits one.
        const cyclic = s.records.some((r) => {
          const seen = new Set<string>();
          for (let id: string | null = r.id; id !== null; id = s.record(id)?.parentId ?? null) {
            if (seen.has(id)) return true;
            seen.add(id);
            if (!s.record(id)) break;
          }
          return false;
        });
        if (cyclic) expect(s.diagnostics.byCode("cycle").length).toBeGreaterThan(0);
      }),
      fcParams(scale.fuzzRuns),
    );
  });
});
