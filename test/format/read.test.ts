/**
 * SPEC 1 and 5 (DESIGN 4): the reading rules, one describe per rule.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  isSessfmtError,
  openSession,
  openSessionFromBuffer,
  openSessionSync,
  SessfmtError,
  type DiagnosticCode,
  type Session,
} from "../../src/format/index.js";
import { sessionSnapshot } from "../helpers/session-snapshot.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");
const fixture = (name: string): string => join(DIR, name);

/** Every fixture that opens (fatal ones are tested on their own). */
const OPENABLE = [
  "v1-legacy.jsonl",
  "v1-skipped-line.jsonl",
  "v1-index-zero.jsonl",
  "v2-hook-message.jsonl",
  "v3-linear.jsonl",
  "v3-branched.jsonl",
  "labels.jsonl",
  "compaction.jsonl",
  "compaction-off-path.jsonl",
  "custom-entries.jsonl",
  "model-thinking.jsonl",
  "session-info.jsonl",
  "rust-dialect.jsonl",
  "unknown-types.jsonl",
  "corrupt-lines.jsonl",
  "truncated-tail.jsonl",
  "truncated-tail-complete.jsonl",
  "orphans.jsonl",
  "cycles.jsonl",
  "duplicate-ids.jsonl",
  "crlf.jsonl",
  "unicode-separators.jsonl",
  "lone-surrogate.jsonl",
  "header-only.jsonl",
  "blank-lines.jsonl",
  "bom.jsonl",
];
/** Fixtures whose lines are all valid v3 entries written by JSON.stringify. */
const CLEAN_V3 = [
  "v3-linear.jsonl",
  "v3-branched.jsonl",
  "labels.jsonl",
  "compaction.jsonl",
  "compaction-off-path.jsonl",
  "custom-entries.jsonl",
  "model-thinking.jsonl",
  "session-info.jsonl",
  "rust-dialect.jsonl",
  "unicode-separators.jsonl",
];

const tmpRoot = mkdtempSync(join(tmpdir(), "sessfmt-read-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
function tmpDir(): string {
  const d = join(tmpRoot, String(tmpCount++));
  mkdirSync(d);
  return d;
}
function tmpCopy(name: string): string {
  const p = join(tmpDir(), name);
  copyFileSync(fixture(name), p);
  return p;
}

/** Physical lines of a file, split on 0x0A only, with the byte offset of each. */
function physicalLines(bytes: Buffer): { offset: number; bytes: Buffer }[] {
  const out: { offset: number; bytes: Buffer }[] = [];
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    const content = end > start && bytes[end - 1] === 0x0d && nl !== -1 ? end - 1 : end;
    out.push({ offset: start, bytes: bytes.subarray(start, content) });
    if (nl === -1) break;
    start = nl + 1;
  }
  return out;
}

const snapshot = sessionSnapshot;

function thrown(fn: () => unknown): SessfmtError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SessfmtError) return err;
    throw err;
  }
  throw new Error("expected a SessfmtError, nothing was thrown");
}

async function rejected(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SessfmtError) return err;
    throw err;
  }
  throw new Error("expected a SessfmtError, the promise resolved");
}

describe("lossless: every entry keeps its exact line bytes", () => {
  it.each(OPENABLE)("%s: raw(record) is the file's bytes of that line, without the terminator", (name) => {
    const bytes = readFileSync(fixture(name));
    const lines = physicalLines(bytes);
    const s = openSessionSync(fixture(name));
    for (const r of s.records) {
      const line = lines[r.line - 1]!;
      expect(s.raw(r).equals(line.bytes), `line ${r.line}`).toBe(true);
      expect(bytes.subarray(r.offset + r.length, r.offset + r.length + r.eol).toString("latin1")).toBe(["", "\n", "\r\n"][r.eol]);
    }
    expect(s.rawHeader().equals(lines[s.headerSpan.line - 1]!.bytes)).toBe(true);
  });

  it.each(CLEAN_V3)("%s: header and entries with their terminators rebuild the file byte for byte", (name) => {
    const bytes = readFileSync(fixture(name));
    const s = openSessionSync(fixture(name));
    const parts: Buffer[] = [s.rawHeader(), Buffer.from("\n")];
    s.forEachRaw(s.records, (raw, r) => parts.push(Buffer.from(raw), Buffer.from(["", "\n", "\r\n"][r.eol]!)));
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it.each(CLEAN_V3)("%s: re-serialising an untouched entry gives its raw bytes", (name) => {
    const s = openSessionSync(fixture(name));
    for (const r of s.records) expect(JSON.stringify(s.entry(r))).toBe(s.raw(r).toString("utf8"));
  });

  it("unknown types and unknown keys survive in the materialised entry", () => {
    const s = openSessionSync(fixture("unknown-types.jsonl"));
    expect(s.entry("ee000002")).toMatchObject({ type: "mode_change", mode: "plan" });
    expect(s.entry("ee000005")).toMatchObject({ clientInfo: { name: "vscode", version: "1.96.0" } });
    const call = (s.entry("ee000003") as { message: { content: Record<string, unknown>[] } }).message.content[0];
    expect(call).toMatchObject({ partialJson: '{"path":"README.md"}' });
  });
});

describe("every record and diagnostic has its physical line number (1-based) and byte offset", () => {
  it.each(OPENABLE)("%s: line and offset of each record match the file", (name) => {
    const lines = physicalLines(readFileSync(fixture(name)));
    const s = openSessionSync(fixture(name));
    for (const r of s.records) {
      expect(r.offset).toBe(lines[r.line - 1]!.offset);
      expect(r.length).toBe(lines[r.line - 1]!.bytes.length);
    }
    for (const d of s.diagnostics.items) expect(d.offset).toBe(lines[d.line - 1]!.offset);
  });

  it("line numbers count blank and skipped lines", () => {
    const s = openSessionSync(fixture("corrupt-lines.jsonl"));
    expect(s.records.map((r) => r.line)).toEqual([2, 5, 10, 11]);
    const b = openSessionSync(fixture("blank-lines.jsonl"));
    expect(b.records.map((r) => r.line)).toEqual([3, 5]);
  });

  it("offsets count the 3 bytes of a byte order mark", () => {
    const s = openSessionSync(fixture("bom.jsonl"));
    expect(s.headerSpan).toMatchObject({ line: 1, offset: 0 });
    expect(s.records[0]!.offset).toBe(s.headerSpan.length + 1);
    expect(readFileSync(fixture("bom.jsonl")).subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });
});

describe("CRLF line ends read the same as LF", () => {
  it("crlf.jsonl gives the same entries and context as the same file with LF ends", () => {
    const crlf = readFileSync(fixture("crlf.jsonl"));
    const lf = Buffer.from(crlf.toString("latin1").replaceAll("\r\n", "\n"), "latin1");
    const a = openSessionFromBuffer(crlf);
    const b = openSessionFromBuffer(lf);
    expect(a.diagnostics.isClean).toBe(true);
    expect(a.entries()).toEqual(b.entries());
    expect(a.buildContext()).toEqual(b.buildContext());
  });

  it("the \\r is part of the terminator: raw bytes exclude it and eol is 2", () => {
    const s = openSessionSync(fixture("crlf.jsonl"));
    for (const r of s.records) {
      expect(r.eol).toBe(2);
      expect(s.raw(r).includes(0x0d)).toBe(false);
    }
  });
});

describe("U+2028 and U+2029 inside strings are not line ends", () => {
  it("unicode-separators.jsonl: 2 entries, and the separators are in the text", () => {
    const s = openSessionSync(fixture("unicode-separators.jsonl"));
    expect(s.records.length).toBe(2);
    expect(s.raw(s.records[0]!).includes(Buffer.from("\u2028", "utf8"))).toBe(true);
    const user = s.entry("5e000001") as { message: { content: { text: string }[] } };
    expect(user.message.content[0]!.text).toBe("line one\u2028line two\u2029next paragraph");
  });
});

describe("streaming: entries may stay unparsed until asked for", () => {
  it("with retainEntries false, no entry is materialised at open, and buildContext materialises nothing off the path", () => {
    const s = openSessionSync(fixture("v3-branched.jsonl"), { retainEntries: false });
    expect(s.records.every((r) => r.value === undefined)).toBe(true);
    s.buildContext("b000000a");
    const path = new Set(s.tree.pathToRoot("b000000a"));
    for (const r of s.records) if (r.value !== undefined) expect(path.has(r), r.id).toBe(true);
    expect(s.records.filter((r) => r.type === "message" && path.has(r)).every((r) => r.value !== undefined)).toBe(true);
  });

  it("buildContext parses nothing a compaction dropped: only the kept part and the compaction itself", () => {
    {
      const s = openSessionSync(fixture("compaction.jsonl"), { retainEntries: false });
      const ctx = s.buildContext();
      expect(ctx.messages.length).toBe(5); // the summary, d0000006, d0000007, d0000009, d000000a
      const parsed = s.records.filter((r) => r.value !== undefined).map((r) => r.id);
      // d0000008 (the last compaction) keeps d0000006 on; everything before is not needed.
      expect(parsed).toEqual(["d0000006", "d0000007", "d0000008", "d0000009", "d000000a"]);
    }
  });

  it("the chunk size does not change what is read", () => {
    const bytes = readFileSync(fixture("corrupt-lines.jsonl"));
    const base = snapshot(openSessionFromBuffer(bytes));
    for (const chunkSize of [1, 7, 64]) expect(snapshot(openSessionFromBuffer(bytes, { chunkSize }))).toEqual(base);
  });

  it("a line longer than maxLineBytes is skipped as line_too_long with its true length, and the next lines are read", () => {
    const header = '{"type":"session","version":3,"id":"s","timestamp":"t","cwd":"/"}';
    const long = `{"type":"custom","id":"a","parentId":null,"timestamp":"t","data":"${"x".repeat(200)}"}`;
    const short = '{"type":"custom","id":"b","parentId":null,"timestamp":"t"}';
    for (const chunkSize of [16, 4096]) {
      const s = openSessionFromBuffer(`${header}\n${long}\r\n${short}\n`, { maxLineBytes: 100, chunkSize });
      expect(s.diagnostics.skippedEntries).toEqual([{ line: 2, offset: header.length + 1, length: long.length, reason: "line_too_long", message: expect.any(String) }]);
      expect(s.records.map((r) => [r.id, r.line])).toEqual([["b", 3]]);
    }
  });
});

describe("open diagnostics: each problem is collected with its code, line and offset", () => {
  const H = '{"type":"session","version":3,"id":"s1","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/w"}';
  const e = (id: string, parentId: string | null, extra = ""): string =>
    `{"type":"custom","id":"${id}","parentId":${parentId === null ? "null" : `"${parentId}"`},"timestamp":"2025-01-01T00:00:0${id.length}.000Z"${extra}}`;
  const codes = (text: string): [DiagnosticCode, number, string | undefined][] =>
    openSessionFromBuffer(text).diagnostics.items.map((d) => [d.code, d.line, d.reason]);

  it("skipped: each reason", () => {
    const text = [
      H,
      "{not json", // 2
      "42", // 3
      "null", // 4
      '{"id":"x","parentId":null,"timestamp":"t"}', // 5 no type
      '{"type":7,"id":"x","parentId":null,"timestamp":"t"}', // 6 type not a string
      '{"type":"custom","parentId":null,"timestamp":"t"}', // 7 no id
      '{"type":"custom","id":"x","parentId":null}', // 8 no timestamp
      '{"type":"message","id":"x","parentId":null,"timestamp":"t","message":{}}', // 9 message without role
      '{"type":"label","id":"x","parentId":null,"timestamp":"t"}', // 10 label without targetId
      '{"type":"session","version":3,"id":"s2","timestamp":"t","cwd":"/"}', // 11 second header
      "",
    ].join("\n");
    expect(codes(text)).toEqual([
      ["skipped", 2, "bad_json"],
      ["skipped", 3, "not_object"],
      ["skipped", 4, "not_object"],
      ["skipped", 5, "missing_field"],
      ["skipped", 6, "invalid_field"],
      ["skipped", 7, "missing_field"],
      ["skipped", 8, "missing_field"],
      ["skipped", 9, "invalid_field"],
      ["skipped", 10, "missing_field"],
      ["skipped", 11, "extra_header"],
    ]);
  });

  it("skipped: invalid UTF-8, including a surrogate encoded as raw bytes", () => {
    const bad = Buffer.concat([Buffer.from(`${H}\n{"type":"custom","id":"x","parentId":null,"timestamp":"t","d":"`), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}\n')]);
    expect(openSessionFromBuffer(bad).diagnostics.items.map((d) => [d.code, d.line, d.reason])).toEqual([["skipped", 2, "invalid_utf8"]]);
  });

  it("truncated_tail: kept when the unterminated line parses, skipped as well when it does not", () => {
    expect(codes(`${H}\n${e("a", null)}`)).toEqual([["truncated_tail", 2, undefined]]);
    expect(openSessionFromBuffer(`${H}\n${e("a", null)}`).records.length).toBe(1);
    expect(codes(`${H}\n${e("a", null).slice(0, 20)}`)).toEqual([
      ["skipped", 2, "bad_json"],
      ["truncated_tail", 2, undefined],
    ]);
  });

  it("truncated_tail: a header without a line end is a torn tail too", () => {
    expect(codes(H)).toEqual([["truncated_tail", 1, undefined]]);
  });

  it("orphaned_parent: only for a parent no line has; a parent later in the file is found", () => {
    expect(codes([H, e("a", "zz"), e("b", "cc"), e("cc", null), ""].join("\n"))).toEqual([["orphaned_parent", 2, undefined]]);
  });

  it("duplicate_id: reported on the later line, which wins", () => {
    const s = openSessionFromBuffer([H, e("a", null), e("a", null, ',"n":2'), ""].join("\n"));
    expect(s.diagnostics.items.map((d) => [d.code, d.line, d.firstLine])).toEqual([["duplicate_id", 3, 2]]);
    expect(s.entry("a")).toMatchObject({ n: 2 });
  });

  it("cycle: reported once per cycle, on its member earliest in the file", () => {
    const s = openSessionFromBuffer([H, e("r", null), e("a", "bb"), e("bb", "ccc"), e("ccc", "a"), ""].join("\n"));
    expect(s.diagnostics.items.map((d) => [d.code, d.line, d.cycleIds])).toEqual([["cycle", 3, ["a", "bb", "ccc"]]]);
  });

  it("cycle: a self-parent is a cycle of one (pi's parent walk never ends on it)", () => {
    const s = openSessionFromBuffer([H, e("a", "a"), ""].join("\n"));
    expect(s.diagnostics.items.map((d) => [d.code, d.line, d.cycleIds])).toEqual([["cycle", 2, ["a"]]]);
  });

  it("unknown_type: kept, with the type", () => {
    const s = openSessionFromBuffer([H, '{"type":"mode_change","id":"m","parentId":null,"timestamp":"t","mode":"plan"}', ""].join("\n"));
    expect(s.diagnostics.items.map((d) => [d.code, d.line, d.entryType])).toEqual([["unknown_type", 2, "mode_change"]]);
    expect(s.records.map((r) => r.id)).toEqual(["m"]);
  });

  it("blank_line: empty, whitespace-only and \\r-only lines, before and after the header", () => {
    expect(codes(["", H, " \t", "\r", e("a", null), ""].join("\n"))).toEqual([
      ["blank_line", 1, undefined],
      ["blank_line", 3, undefined],
      ["blank_line", 4, undefined],
    ]);
  });

  it("header_field: missing cwd or timestamp, or a version above 3, is reported but not fatal", () => {
    expect(codes('{"type":"session","version":3,"id":"s"}\n')).toEqual([
      ["header_field", 1, undefined],
      ["header_field", 1, undefined],
    ]);
    expect(codes('{"type":"session","version":4,"id":"s","timestamp":"t","cwd":"/"}\n')).toEqual([["header_field", 1, undefined]]);
  });

  it("lone_surrogate: an escaped lone surrogate is kept as written", () => {
    const s = openSessionFromBuffer([H, e("a", null, ',"d":"\\udc00x"'), ""].join("\n"));
    expect(s.diagnostics.items.map((d) => [d.code, d.line])).toEqual([["lone_surrogate", 2]]);
    expect(s.entry("a")).toMatchObject({ d: "\udc00x" });
  });

  it("a well-formed surrogate pair written as escapes is not reported", () => {
    expect(codes([H, e("a", null, ',"d":"\\ud83d\\ude00"'), ""].join("\n"))).toEqual([]);
  });

  it("diagnostics are sorted by line, and summary() counts them per code", () => {
    const s = openSessionSync(fixture("corrupt-lines.jsonl"));
    const lines = s.diagnostics.items.map((d) => d.line);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(s.diagnostics.summary()).toEqual({ skipped: 6 });
  });
});

describe("lenient by default; strict throws the first diagnostic as a SessfmtError", () => {
  const ERROR_CODE: Record<DiagnosticCode, string> = {
    skipped: "E_LINE_INVALID",
    truncated_tail: "E_TRUNCATED_TAIL",
    orphaned_parent: "E_ORPHANED_PARENT",
    duplicate_id: "E_DUPLICATE_ID",
    cycle: "E_CYCLE",
    unknown_type: "E_UNKNOWN_TYPE",
    blank_line: "E_BLANK_LINE",
    header_field: "E_HEADER_FIELD",
    lone_surrogate: "E_LONE_SURROGATE",
    legacy_index: "E_LEGACY_INDEX",
  };
  const withDiagnostics = OPENABLE.filter((n) => !openSessionSync(fixture(n)).diagnostics.isClean);
  const clean = OPENABLE.filter((n) => !withDiagnostics.includes(n));

  it("the fixtures cover most diagnostic codes in strict mode", () => {
    const covered = new Set(withDiagnostics.map((n) => openSessionSync(fixture(n)).diagnostics.items[0]!.code));
    expect([...covered].sort()).toEqual(["blank_line", "cycle", "duplicate_id", "legacy_index", "lone_surrogate", "orphaned_parent", "skipped", "truncated_tail", "unknown_type"]);
  });

  it.each(withDiagnostics)("%s: strict open throws with the first diagnostic's code, line and offset, and the file", async (name) => {
    const file = fixture(name);
    const first = openSessionSync(file).diagnostics.items[0]!;
    const sync = thrown(() => openSessionSync(file, { strict: true }));
    const async = await rejected(openSession(file, { strict: true }));
    const buf = thrown(() => openSessionFromBuffer(readFileSync(file), { strict: true, name: file }));
    for (const err of [sync, async, buf]) {
      expect(err.code).toBe(ERROR_CODE[first.code]);
      expect(err.line).toBe(first.line);
      expect(err.offset).toBe(first.offset);
      expect(err.file).toBe(file);
      expect(err.message).toContain(`${file}:line ${first.line}:byte ${first.offset}`);
    }
  });

  it("strict errors carry every collected diagnostic as data", () => {
    const err = thrown(() => openSessionSync(fixture("corrupt-lines.jsonl"), { strict: true }));
    expect((err.data as { count: number }).count).toBe(6);
  });

  it.each(clean)("%s: a clean file opens the same in strict mode", (name) => {
    expect(snapshot(openSessionSync(fixture(name), { strict: true }))).toEqual(snapshot(openSessionSync(fixture(name))));
  });
});

describe("fatal cases throw a SessfmtError and never modify the file", () => {
  /** Open a file every way there is, expect `code` each time, and check the file is untouched. */
  async function expectFatal(file: string, code: string, line?: number): Promise<void> {
    const before = statSync(file, { throwIfNoEntry: false });
    const bytes = before?.isFile() ? readFileSync(file) : undefined;
    const errs = [thrown(() => openSessionSync(file)), await rejected(openSession(file)), thrown(() => openSessionSync(file, { strict: true }))];
    for (const err of errs) {
      expect(isSessfmtError(err, code as SessfmtError["code"])).toBe(true);
      expect(err.file).toBe(file);
      expect(err.message.startsWith(file)).toBe(true);
      expect(err.line).toBe(line);
    }
    const after = statSync(file, { throwIfNoEntry: false });
    expect(after?.mtimeMs).toBe(before?.mtimeMs);
    expect(after?.size).toBe(before?.size);
    if (bytes) expect(readFileSync(file).equals(bytes)).toBe(true);
  }

  /** A copy with an mtime in the past, so a rewrite in the same millisecond would still show. */
  function agedCopy(name: string): string {
    const p = tmpCopy(name);
    utimesSync(p, new Date("2024-01-01T00:00:00Z"), new Date("2024-01-01T00:00:00Z"));
    return p;
  }

  it("a missing file is E_NOT_FOUND (and is not created)", async () => {
    const file = join(tmpDir(), "nope.jsonl");
    await expectFatal(file, "E_NOT_FOUND");
    expect(statSync(file, { throwIfNoEntry: false })).toBeUndefined();
  });

  it("a directory is E_NOT_A_FILE", async () => {
    await expectFatal(tmpDir(), "E_NOT_A_FILE");
  });

  it("an empty file is E_EMPTY_FILE", async () => {
    await expectFatal(agedCopy("empty.jsonl"), "E_EMPTY_FILE");
  });

  it("a file of blank lines only is E_EMPTY_FILE", async () => {
    const p = join(tmpDir(), "blank.jsonl");
    writeFileSync(p, "\n  \n\r\n");
    await expectFatal(p, "E_EMPTY_FILE");
  });

  it("a first line that is not JSON is E_HEADER_INVALID on line 1", async () => {
    await expectFatal(agedCopy("bad-header-not-json.jsonl"), "E_HEADER_INVALID", 1);
  });

  it("a first line that is not a session header is E_HEADER_INVALID on line 1", async () => {
    await expectFatal(agedCopy("bad-header-not-session.jsonl"), "E_HEADER_INVALID", 1);
  });

  it("a header without a string id, or with a bad version, is E_HEADER_INVALID", async () => {
    const dir = tmpDir();
    for (const [i, h] of ['{"type":"session","version":3}', '{"type":"session","id":"s","version":"3"}', '{"type":"session","id":"s","version":0}', "[]"].entries()) {
      const p = join(dir, `${i}.jsonl`);
      writeFileSync(p, `${h}\n`);
      await expectFatal(p, "E_HEADER_INVALID", 1);
    }
  });

  it("the header is found after leading blank lines, and a bad one there is reported on its own line", async () => {
    const p = join(tmpDir(), "late.jsonl");
    writeFileSync(p, "\n\nnot json\n");
    await expectFatal(p, "E_HEADER_INVALID", 3);
  });

  it("openSessionFromBuffer: an empty buffer is E_EMPTY_FILE", () => {
    expect(thrown(() => openSessionFromBuffer(Buffer.alloc(0))).code).toBe("E_EMPTY_FILE");
  });
});

describe("retainEntries false and true give identical entries and context", () => {
  it.each([...OPENABLE, "real/large-session.jsonl"])("%s", (name) => {
    const lazy = openSessionSync(fixture(name), { retainEntries: false });
    const kept = openSessionSync(fixture(name), { retainEntries: true });
    expect(kept.records.every((r) => r.value !== undefined)).toBe(true);
    expect(snapshot(lazy)).toEqual(snapshot(kept));
  });
});

describe("openSession, openSessionSync and openSessionFromBuffer read the same session", () => {
  it.each([...OPENABLE, "real/large-session.jsonl"])("%s", async (name) => {
    const file = fixture(name);
    const sync = snapshot(openSessionSync(file));
    expect(snapshot(await openSession(file))).toEqual(sync);
    expect(snapshot(openSessionFromBuffer(readFileSync(file)))).toEqual(sync);
    expect(snapshot(openSessionSync(file, { chunkSize: 13 }))).toEqual(sync);
  });

  it("openSessionFromBuffer accepts a string", () => {
    const text = readFileSync(fixture("v3-linear.jsonl"), "utf8");
    expect(snapshot(openSessionFromBuffer(text))).toEqual(snapshot(openSessionSync(fixture("v3-linear.jsonl"))));
  });

  it("file sessions name their file; buffer sessions have none", () => {
    expect(openSessionSync(fixture("v3-linear.jsonl")).file).toBe(fixture("v3-linear.jsonl"));
    expect(openSessionFromBuffer(readFileSync(fixture("v3-linear.jsonl"))).file).toBeUndefined();
  });
});

describe("entries read lazily after the file was replaced or cut give E_SOURCE_CHANGED", () => {
  it("a file replaced by rename", () => {
    const file = tmpCopy("v3-linear.jsonl");
    const s = openSessionSync(file, { retainEntries: false });
    const other = join(dirname(file), "other.jsonl");
    copyFileSync(fixture("v3-linear.jsonl"), other);
    renameSync(other, file);
    const err = thrown(() => s.entry("30000002"));
    expect(err.code).toBe("E_SOURCE_CHANGED");
    expect(err.file).toBe(file);
    expect(thrown(() => s.raw(s.records[0]!)).code).toBe("E_SOURCE_CHANGED");
  });

  it("a file truncated in place", () => {
    const file = tmpCopy("v3-linear.jsonl");
    const s = openSessionSync(file, { retainEntries: false });
    truncateSync(file, 100);
    expect(thrown(() => s.buildContext()).code).toBe("E_SOURCE_CHANGED");
  });

  it("a file rewritten in place with other entries at the same offsets", () => {
    const file = tmpCopy("v3-linear.jsonl");
    const s = openSessionSync(file, { retainEntries: false });
    // Same length, same layout, other ids: every line still parses.
    writeFileSync(file, readFileSync(file, "utf8").replaceAll("30000", "40000"));
    const err = thrown(() => s.entry("30000003"));
    expect(err.code).toBe("E_SOURCE_CHANGED");
    expect(err.line).toBe(4);
  });

  it("a file that only grew (another writer appended) still reads", () => {
    const file = tmpCopy("v3-linear.jsonl");
    const s = openSessionSync(file, { retainEntries: false });
    writeFileSync(file, '{"type":"custom","id":"new","parentId":"30000007","timestamp":"2025-01-12T10:00:00.000Z"}\n', { flag: "a" });
    expect(s.entries().length).toBe(7);
  });

  it("retained entries need no re-read, so a later change does not affect them", () => {
    const file = tmpCopy("v3-linear.jsonl");
    const s = openSessionSync(file, { retainEntries: true });
    rmSync(file);
    expect(s.entries().length).toBe(7);
  });
});

describe("the dialect is read from entries only (SPEC 4.1)", () => {
  const header = '{"type":"session","version":3,"id":"s","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/p"}';
  const entry = (id: string, parent: string | null) =>
    JSON.stringify({ type: "custom", id, parentId: parent, timestamp: "2025-01-01T00:00:01.000Z", customType: "x" });

  it("a skipped line without parentId does not make a TS file Rust", () => {
    const skipped = '{"type":"custom","id":"zz","customType":"no timestamp"}';
    const s = openSessionFromBuffer([header, entry("a1", null), skipped, entry("a2", "a1"), ""].join("\n"));
    expect(s.diagnostics.skippedEntries).toHaveLength(1);
    expect(s.dialect).toBe("ts");
  });

  it("an entry without parentId makes the file Rust", () => {
    const rustRoot = '{"type":"custom","id":"r1","timestamp":"2025-01-01T00:00:01.000Z","customType":"x"}';
    const s = openSessionFromBuffer([header, rustRoot, ""].join("\n"));
    expect(s.dialect).toBe("rust");
    expect(s.records[0]?.parentId).toBeNull();
  });
});

describe("entries read by offset: reads in file order read ahead, and give the same bytes in any order", () => {
  /** A session of about 3 MiB (lines of 0-20 KB): reads cross several read-ahead blocks. */
  function bigSession(): { file: string; data: Buffer } {
    const header = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2026-01-01T00:00:00.000Z", cwd: "/" });
    const lines = [header];
    for (let k = 0; k < 300; k++) {
      lines.push(JSON.stringify({ type: "custom", id: `c${k}`, parentId: k === 0 ? null : `c${k - 1}`, timestamp: "t", data: "é".repeat((k * 7919) % 10_000) }));
    }
    const data = Buffer.from(`${lines.join("\n")}\n`);
    const file = join(tmpDir(), "big.jsonl");
    writeFileSync(file, data);
    return { file, data };
  }

  it("raw bytes and entries are the file's, whatever the order of the records asked for", () => {
    const { file, data } = bigSession();
    const s = openSessionSync(file, { retainEntries: false });
    fc.assert(
      fc.property(fc.array(fc.nat({ max: s.records.length - 1 }), { maxLength: 40 }), fc.boolean(), (picks, sorted) => {
        const records = (sorted ? [...picks].sort((a, b) => a - b) : picks).map((k) => s.records[k]!);
        const seen: Buffer[] = [];
        s.forEachRaw(records, (bytes) => seen.push(Buffer.from(bytes)));
        expect(seen).toEqual(records.map((r) => data.subarray(r.offset, r.offset + r.length)));
      }),
      { numRuns: 25 },
    );
    const kept = openSessionSync(file, { retainEntries: true });
    expect(s.entries()).toEqual(kept.entries());
  });

  it("a file cut during a run of reads: bytes already read are still given, a read past the cut is E_SOURCE_CHANGED", () => {
    const { file, data } = bigSession();
    const s = openSessionSync(file, { retainEntries: false });
    const cutAt = Math.floor(data.length / 2);
    const got: string[] = [];
    const err = thrown(() =>
      s.forEachRaw(s.records, (bytes, r) => {
        if (r.index === 1) truncateSync(file, cutAt);
        expect(bytes.equals(data.subarray(r.offset, r.offset + r.length))).toBe(true);
        got.push(r.id);
      }),
    );
    expect(err.code).toBe("E_SOURCE_CHANGED");
    // The read-ahead block read before the cut (1 MiB from the second record) still serves its records.
    expect(got.length).toBeGreaterThan(2);
    expect(s.records[got.length]!.offset + s.records[got.length]!.length).toBeGreaterThan(cutAt);
  });
});
