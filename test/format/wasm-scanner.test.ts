/**
 * SPEC 5.1 (fast path of open): the WebAssembly line scanner. Its kept bytes must be the
 * program's; batches of lines must give what the line-by-line scan gives; and an open
 * that goes through batches must give the same records and diagnostics as one that
 * goes line by line.
 */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { F_ID, F_MESSAGE_ROLE, F_PARENT_ID, F_TIMESTAMP, F_TYPE, K_STRING, LineFields, SCAN_CERTAIN, scanLine } from "../../src/format/fast-fields.js";
import { openSession, openSessionFromBuffer, openSessionSync, type Session } from "../../src/format/index.js";
import { openLarge } from "../../src/format/read.js";
import { LineBatch, scannerAvailable } from "../../src/format/wasm-scanner.js";
import { SCANNER_WASM } from "../../src/format/wasm-scanner-module.js";
import { scannerModuleBytes } from "../../src/format/wasm-scanner-program.js";
import { sessionSnapshot } from "../helpers/session-snapshot.js";

const SLOTS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];

/** What a line's results say, as plain data. */
function facts(f: LineFields): unknown[] {
  return SLOTS.map((slot) => [f.kind(slot), f.kind(slot) === K_STRING ? f.str(slot) : null]);
}

/** Every row of `data` through LineBatch, as scanHeld walks them (lines it cannot batch left out). */
function batchRows(data: Buffer): { start: number; end: number; eol: number; certain: boolean; facts: unknown[] | null }[] {
  const batch = new LineBatch();
  const fields = new LineFields();
  const rows = [];
  let pos = 0;
  while (pos < data.length) {
    const n = batch.fill(data, pos);
    if (n === 0) {
      const nl = data.indexOf(0x0a, pos);
      pos = nl < 0 ? data.length : nl + 1;
      continue;
    }
    for (let k = 0; k < n; k++) {
      const certain = batch.result(k) === SCAN_CERTAIN;
      if (certain) batch.results(k, fields);
      rows.push({ start: batch.lineStart(k), end: batch.contentEnd(k), eol: batch.eol(k), certain, facts: certain ? facts(fields) : null });
      pos = batch.contentEnd(k) + batch.eol(k);
    }
  }
  return rows;
}

/** The same, one line at a time with scanLine. */
function lineRows(data: Buffer): ReturnType<typeof batchRows> {
  const fields = new LineFields();
  const rows = [];
  let pos = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) break;
    const eol = nl > pos && data[nl - 1] === 0x0d ? 2 : 1;
    const end = nl + 1 - eol;
    const certain = scanLine(data.subarray(pos, end), fields) === SCAN_CERTAIN;
    rows.push({ start: pos, end, eol, certain, facts: certain ? facts(fields) : null });
    pos = nl + 1;
  }
  return rows;
}

const entryLine = fc
  .record({
    type: fc.constantFrom("message", "label", "compaction", "custom", "model_change", "x"),
    id: fc.stringMatching(/^[0-9a-f]{8}$/),
    parentId: fc.oneof(fc.constant(null), fc.stringMatching(/^[0-9a-f]{8}$/)),
    timestamp: fc.constant("2026-01-01T00:00:00.000Z"),
    message: fc.record({ role: fc.constantFrom("user", "assistant", "toolResult", "other"), content: fc.string({ unit: "binary" }) }),
  })
  .map((e) => JSON.stringify(e));
const anyLine = fc.oneof(
  { weight: 6, arbitrary: entryLine },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "\r", "{", '{"a":"\\ud800"}', '{"type":"message","bad":tru}', "[1]", '{"typ\\u0065":"x"}') },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
);
const lines = fc.array(fc.tuple(anyLine, fc.constantFrom("\n", "\n", "\r\n")), { maxLength: 40 });

describe("WebAssembly line scanner", () => {
  it("runs here (so every other scanner test exercises it)", () => {
    expect(scannerAvailable()).toBe(true);
  });

  it("the kept module bytes are the program's (else: npm run build && node scripts/build-wasm-scanner.mjs)", () => {
    expect(Buffer.from(SCANNER_WASM, "base64").equals(Buffer.from(scannerModuleBytes()))).toBe(true);
  });

  it("known names are recognised and shared", () => {
    const f = new LineFields();
    expect(scanLine(Buffer.from('{"type":"message","id":"a","message":{"role":"assistant"}}'), f)).toBe(SCAN_CERTAIN);
    expect(f.str(F_TYPE)).toBe("message");
    expect(f.str(F_MESSAGE_ROLE)).toBe("assistant");
    expect(f.str(F_ID)).toBe("a");
    // A later, unknown value of the same key replaces a known one.
    expect(scanLine(Buffer.from('{"type":"message","type":"messages"}'), f)).toBe(SCAN_CERTAIN);
    expect(f.str(F_TYPE)).toBe("messages");
    expect(scanLine(Buffer.from('{"type":"message","type":"mess\\u0061ge"}'), f)).toBe(SCAN_CERTAIN);
    expect(f.str(F_TYPE)).toBe("message");
  });

  it("values read after prefetch (one decode for several fields) are JSON.parse's", () => {
    const value = fc.oneof(fc.string(), fc.stringMatching(/^[0-9a-f]{8}$/), fc.constantFrom("é", "a\\b", "\u0001", "x".repeat(300)));
    fc.assert(
      fc.property(value, value, value, fc.string({ maxLength: 400 }), (id, parentId, timestamp, filler) => {
        const o = { id, filler, parentId, timestamp };
        const f = new LineFields();
        expect(scanLine(Buffer.from(JSON.stringify(o)), f)).toBe(SCAN_CERTAIN);
        f.prefetch(F_ID, F_TIMESTAMP, F_PARENT_ID);
        expect([f.str(F_ID), f.str(F_PARENT_ID), f.str(F_TIMESTAMP)]).toEqual([id, parentId, timestamp]);
      }),
      { numRuns: 300 },
    );
  });

  it("a batch gives, line for line, what the line-by-line scan gives", () => {
    fc.assert(
      fc.property(lines, fc.constantFrom("", "tail", "{}"), (ls, tail) => {
        const data = Buffer.from(ls.map(([l, eol]) => l + eol).join("") + tail, "utf8");
        expect(batchRows(data)).toEqual(lineRows(data));
      }),
      { numRuns: 300 },
    );
  });

  it("lines longer than the batch window, and lines across window ends", () => {
    const long = JSON.stringify({ type: "message", id: "b", message: { role: "user", content: "x".repeat(1_500_000) } });
    const short = JSON.stringify({ type: "label", id: "c", parentId: "b" });
    const parts: string[] = [];
    for (let k = 0; k < 40_000; k++) parts.push(short);
    parts.splice(20_000, 0, long);
    const data = Buffer.from(`${parts.join("\n")}\n${short}\r\n`);
    const rows = batchRows(data);
    expect(rows.length).toBe(40_001); // all but the long line
    expect(rows.every((r) => r.certain)).toBe(true);
    const byLine = lineRows(data).filter((r) => r.end - r.start !== long.length);
    expect(rows).toEqual(byLine);
  });
});

describe("open through batches = open line by line", () => {
  const session = fc.array(fc.tuple(anyLine, fc.constantFrom("\n", "\r\n")), { maxLength: 30 }).map((ls) => {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    return Buffer.from(`${header}\n${ls.map(([l, eol]) => l + eol).join("")}`, "utf8");
  });
  it("records and diagnostics are the same", () => {
    fc.assert(
      fc.property(session, (data) => {
        const batched = openSessionFromBuffer(data, { retainEntries: false });
        const byLine = openSessionFromBuffer(data, { retainEntries: false, chunkSize: 64 });
        expect(batched.records).toEqual(byLine.records);
        expect(batched.diagnostics.items).toEqual(byLine.diagnostics.items);
      }),
      { numRuns: 300 },
    );
  });
});

const tmpRoot = mkdtempSync(join(tmpdir(), "sessfmt-batch-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
function tmpFile(data: Buffer): string {
  const file = join(tmpRoot, `s${tmpCount++}.jsonl`);
  writeFileSync(file, data);
  return file;
}

const view = sessionSnapshot;

// Lines around the shape the batch reader turns into records straight from the scanner's
// rows (commonRow), and just outside it: escaped, non-ASCII, empty, long or missing ids,
// parent ids and timestamps; unknown and escaped roles; label and session_info entries.
const str = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[0-9a-f]{8}$/) },
  { weight: 1, arbitrary: fc.constantFrom("", "é", "a\"b", "x".repeat(300), "\u2028", "2026-01-01T00:00:00.000Z") },
);
const shapedLine = fc
  .record(
    {
      type: fc.constantFrom("message", "message", "custom", "compaction", "label", "session_info", "model_change", "thinking_level_change", "branch_summary", "custom_message", "x"),
      id: str,
      parentId: fc.oneof(fc.constant(null), fc.constant(""), str, fc.constant(7)),
      timestamp: fc.oneof(fc.constant("2026-01-01T00:00:00.000Z"), str),
      message: fc.oneof(fc.record({ role: fc.constantFrom("user", "assistant", "toolResult", "other", "us\u0065r"), content: fc.string({ unit: "binary" }) }), fc.constant("m")),
      targetId: str,
      name: str,
    },
    { requiredKeys: ["type", "id", "parentId", "timestamp"] },
  )
  .map((e) => JSON.stringify(e).replaceAll("\\\\u", "\\u"));
const fileLine = fc.oneof(
  { weight: 4, arbitrary: shapedLine },
  { weight: 1, arbitrary: shapedLine.map((l) => l.replace(/"(id|parentId|timestamp)":("[^"]*"|null|7),?/, "")) },
  { weight: 2, arbitrary: entryLine },
  { weight: 1, arbitrary: anyLine },
);
const sessionFile = fc
  .tuple(
    fc.constantFrom(3, 3, 3, 2, 1),
    fc.array(fc.tuple(fileLine, fc.constantFrom("\n", "\n", "\r\n")), { maxLength: 30 }),
    fc.constantFrom("", '{"type":"custom","id":"t","parentId":null,"timestamp":"x"}', "{"),
    fc.option(fc.nat({ max: 40 }), { nil: undefined }),
  )
  .map(([version, ls, tail, longAt]) => {
    const header = JSON.stringify({ type: "session", version, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const body = ls.map(([l, eol]) => l + eol);
    // A line longer than most windows below.
    if (longAt !== undefined) body.splice(longAt % (body.length + 1), 0, `${JSON.stringify({ type: "custom", id: "long", parentId: null, timestamp: "t", data: "y".repeat(5000) })}\n`);
    return Buffer.from(`${header}\n${body.join("")}${tail}`, "utf8");
  });

describe("a file read in windows straight into the scanner = the same bytes read line by line", () => {
  it("records, diagnostics, entries and context are the same, for any window size (sync and async)", async () => {
    await fc.assert(
      fc.asyncProperty(sessionFile, fc.integer({ min: 1, max: 4096 }), async (data, chunkSize) => {
        const byLine = view(openSessionFromBuffer(data, { retainEntries: false, chunkSize: 64 }));
        const file = tmpFile(data);
        expect(view(openSessionSync(file, { retainEntries: false, chunkSize }))).toEqual(byLine);
        expect(view(await openSession(file, { retainEntries: false, chunkSize }))).toEqual(byLine);
        expect(view(openSessionSync(file, { retainEntries: false }))).toEqual(byLine);
        // openSession's path for files above 64 MiB (yields between windows), and with every entry parsed (streamed).
        expect(view(await openLarge(file, { retainEntries: false, chunkSize }))).toEqual(byLine);
        expect(view(await openLarge(file, { retainEntries: true, chunkSize }))).toEqual(byLine);
        // The same batch reader over a buffer.
        expect(view(openSessionFromBuffer(data, { retainEntries: false }))).toEqual(byLine);
      }),
      { numRuns: 200 },
    );
  });

  it("opens that yield between windows and share the scanner meanwhile each read their own file", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(sessionFile, fc.integer({ min: 100, max: 1000 })), { minLength: 2, maxLength: 4 }), async (files) => {
        const paths = files.map(([data]) => tmpFile(data));
        // Interleaved: each yields every few windows, and the others scan in between.
        const opened = await Promise.all(files.map(([, chunkSize], k) => openLarge(paths[k]!, { retainEntries: false, chunkSize })));
        files.forEach(([data], k) => expect(view(opened[k]!)).toEqual(view(openSessionFromBuffer(data, { retainEntries: false, chunkSize: 64 }))));
      }),
      { numRuns: 100 },
    );
  });

  it("opens that yield in the middle of a window (more lines than one scanner call takes) each read their own file", async () => {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const make = (tag: string) =>
      Buffer.from(`${[header, ...Array.from({ length: 10_000 }, (_, k) => JSON.stringify({ type: "custom", id: `${tag}${k}`, parentId: null, timestamp: "t" }))].join("\n")}\n`);
    const datas = [make("a"), make("bb"), make("ccc")];
    const paths = datas.map((d) => tmpFile(d));
    const opened = await Promise.all(paths.map((p, k) => openLarge(p, { retainEntries: false, chunkSize: 16_384 + k * 1000 })));
    datas.forEach((d, k) => expect(view(opened[k]!)).toEqual(view(openSessionFromBuffer(d, { retainEntries: false, chunkSize: 64 }))));
  });

  it("a last line cut after its window was read: the open ends, with what is left of it a torn tail", () => {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const entries = [0, 1, 2].map((k) => JSON.stringify({ type: "custom", id: `e${k}`, parentId: null, timestamp: "t" }));
    const last = `{"type":"custom","id":"e3","data":"${"z".repeat(200)}`;
    const data = Buffer.from(`${[header, ...entries].join("\n")}\n${last}`);
    // Cut inside the last line, and where it starts (nothing of it left to read alone).
    for (const [cutAt, codes] of [
      [data.length - 100, ["skipped", "truncated_tail"]],
      [data.length - last.length, []],
    ] as const) {
      const file = tmpFile(data);
      let cut = false;
      // The whole file is one window; it is cut once that window is read.
      const s = openSessionSync(file, {
        retainEntries: false,
        onProgress: () => {
          if (!cut) truncateSync(file, cutAt);
          cut = true;
        },
      });
      expect(s.records.map((r) => r.id)).toEqual(["e0", "e1", "e2"]);
      expect(s.size).toBe(cutAt);
      expect(s.diagnostics.items.map((d) => d.code).sort()).toEqual(codes);
    }
  });

  it("a chunk size larger than the file or than any window is bounded (the scanner's memory is twice the window)", async () => {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const data = Buffer.from(`${header}\n${JSON.stringify({ type: "custom", id: "a", parentId: null, timestamp: "t" })}\n`);
    const file = tmpFile(data);
    const byLine = view(openSessionFromBuffer(data, { retainEntries: false, chunkSize: 64 }));
    expect(view(openSessionSync(file, { retainEntries: false, chunkSize: 2 ** 40 }))).toEqual(byLine);
    expect(view(await openLarge(file, { retainEntries: false, chunkSize: 2 ** 40 }))).toEqual(byLine);
  });

  it("a file above 4 MiB is read in windows by default: nothing parsed at open, the same session as parsing all", async () => {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const lines = [header];
    let parent: string | null = null;
    for (let k = 0; lines.join("\n").length < 5 * 1024 * 1024; k++) {
      const id = k.toString(16).padStart(8, "0");
      const role = k % 2 === 0 ? "user" : "assistant";
      // Long lines: few of them fill 4 MiB.
      lines.push(JSON.stringify({ type: "message", id, parentId: parent, timestamp: "2026-01-01T00:00:00.000Z", message: { role, content: `é ${"z".repeat(20_000 + (k % 3000))}`, provider: "p", model: "m" } }));
      parent = id;
    }
    const file = tmpFile(Buffer.from(`${lines.join("\n")}\n`));
    const lazy = await openSession(file);
    expect(lazy.records.every((r) => r.value === undefined)).toBe(true);
    const all = await openSession(file, { retainEntries: true });
    expect(lazy.records.map(({ value: _v, ...r }) => r)).toEqual(all.records.map(({ value: _v, ...r }) => r));
    expect(lazy.buildContext()).toEqual(all.buildContext());
    expect(lazy.entry(lazy.records[100]!)).toEqual(all.entry(all.records[100]!));
  });

  it("a file cut while it is read in windows: the entries read are a prefix, the cut line a torn tail", () => {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const entry = (k: number) => JSON.stringify({ type: "custom", id: `e${k}`, parentId: null, timestamp: "t", data: "q".repeat(100) });
    const data = Buffer.from(`${[header, ...Array.from({ length: 100 }, (_, k) => entry(k))].join("\n")}\n`);
    const file = tmpFile(data);
    const cutAt = 5000;
    let cut = false;
    const s = openSessionSync(file, {
      retainEntries: false,
      chunkSize: 1000,
      onProgress: () => {
        if (!cut) truncateSync(file, cutAt);
        cut = true;
      },
    });
    expect(s.size).toBe(cutAt);
    expect(s.records.every((r) => r.offset + r.length <= cutAt)).toBe(true);
    expect(s.records.map((r) => r.id)).toEqual(Array.from({ length: s.records.length }, (_, k) => `e${k}`));
    expect(s.diagnostics.items.map((d) => d.code).sort()).toEqual(["skipped", "truncated_tail"]);
  });
});
