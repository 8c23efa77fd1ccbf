/**
 * Every file in fixtures/: what sessfmt's reader must report for it, and that the
 * generated ones are exactly what fixtures/generate.ts writes.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FIXTURES, generateFixtures } from "../../fixtures/generate.js";
import { encodeCwd, isSessfmtError, openSessionSync, sessionFileName, type Session, type SessionDiagnostic } from "../../src/format/index.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");

/** The fields of a diagnostic that state what was found (message and offset checked elsewhere). */
type Expected = Pick<SessionDiagnostic, "code" | "line"> & Partial<Pick<SessionDiagnostic, "reason" | "entryId" | "missingParentId" | "firstLine" | "cycleIds" | "entryType">>;

interface Opens {
  version: number;
  dialect?: "ts" | "rust";
  entries: number;
  messages: number;
  leaf: string | null;
  name?: string;
  labels?: Record<string, string>;
  diagnostics: Expected[];
}
type Case = Opens | { fatal: string; line?: number };

function strip(d: SessionDiagnostic): Expected {
  const out: Expected = { code: d.code, line: d.line };
  for (const k of ["reason", "entryId", "missingParentId", "firstLine", "cycleIds", "entryType"] as const) {
    if (d[k] !== undefined) (out as Record<string, unknown>)[k] = d[k];
  }
  return out;
}

/**
 * The expected result of opening each fixture. v1 ids are the deterministic ones sessfmt
 * derives from the session id and the line (SPEC 4.2), pinned here so a change to the
 * derivation cannot go unnoticed.
 */
const EXPECTED: Record<string, Case> = {
  "v1-legacy.jsonl": { version: 1, entries: 10, messages: 8, leaf: "bb11b9b3", diagnostics: [] },
  "v1-skipped-line.jsonl": { version: 1, entries: 7, messages: 6, leaf: "af6322c4", diagnostics: [{ code: "skipped", line: 4, reason: "bad_json" }] },
  "v1-index-zero.jsonl": { version: 1, entries: 5, messages: 4, leaf: "89eadbab", diagnostics: [{ code: "legacy_index", line: 4, entryId: "09d9bcff" }] },
  "v2-hook-message.jsonl": { version: 2, entries: 5, messages: 5, leaf: "20000005", diagnostics: [] },
  "v3-linear.jsonl": { version: 3, entries: 7, messages: 7, leaf: "30000007", diagnostics: [] },
  "v3-branched.jsonl": { version: 3, entries: 14, messages: 12, leaf: "b000000e", name: "CLI design", diagnostics: [] },
  "labels.jsonl": { version: 3, entries: 11, messages: 4, leaf: "c000000b", labels: { c0000001: "beginning", c0000002: "answer" }, diagnostics: [] },
  "compaction.jsonl": { version: 3, entries: 10, messages: 8, leaf: "d000000a", diagnostics: [] },
  "compaction-off-path.jsonl": { version: 3, entries: 9, messages: 8, leaf: "e0000009", diagnostics: [] },
  "custom-entries.jsonl": { version: 3, entries: 7, messages: 4, leaf: "f0000007", diagnostics: [] },
  "model-thinking.jsonl": { version: 3, entries: 8, messages: 4, leaf: "70000008", diagnostics: [] },
  "session-info.jsonl": { version: 3, entries: 8, messages: 4, leaf: "90000008", name: "Final name", diagnostics: [] },
  "rust-dialect.jsonl": { version: 3, dialect: "rust", entries: 4, messages: 4, leaf: "ad000004", diagnostics: [] },
  "unknown-types.jsonl": {
    version: 3,
    entries: 5,
    messages: 4,
    leaf: "ee000005",
    diagnostics: [{ code: "unknown_type", line: 3, entryId: "ee000002", entryType: "mode_change" }],
  },
  "corrupt-lines.jsonl": {
    version: 3,
    entries: 4,
    messages: 4,
    leaf: "cc000004",
    diagnostics: [
      { code: "skipped", line: 3, reason: "bad_json" },
      { code: "skipped", line: 4, reason: "not_object" },
      { code: "skipped", line: 6, reason: "missing_field" },
      { code: "skipped", line: 7, reason: "missing_field" },
      { code: "skipped", line: 8, reason: "invalid_utf8" },
      { code: "skipped", line: 9, reason: "invalid_field" },
    ],
  },
  "truncated-tail.jsonl": {
    version: 3,
    entries: 2,
    messages: 2,
    leaf: "ea000002",
    diagnostics: [
      { code: "skipped", line: 4, reason: "bad_json" },
      { code: "truncated_tail", line: 4 },
    ],
  },
  "truncated-tail-complete.jsonl": { version: 3, entries: 3, messages: 3, leaf: "eb000003", diagnostics: [{ code: "truncated_tail", line: 4 }] },
  "orphans.jsonl": {
    version: 3,
    entries: 6,
    messages: 6,
    leaf: "0f000006",
    diagnostics: [{ code: "orphaned_parent", line: 4, entryId: "0f000003", missingParentId: "ffffffff" }],
  },
  "cycles.jsonl": {
    version: 3,
    entries: 6,
    messages: 6,
    leaf: "c1c00006",
    diagnostics: [
      { code: "cycle", line: 4, entryId: "c1c00003", cycleIds: ["c1c00003", "c1c00004"] },
      { code: "cycle", line: 6, entryId: "c1c00005", cycleIds: ["c1c00005"] },
    ],
  },
  "duplicate-ids.jsonl": {
    version: 3,
    entries: 5,
    messages: 5,
    leaf: "d1d00004",
    diagnostics: [{ code: "duplicate_id", line: 5, entryId: "d1d00002", firstLine: 3 }],
  },
  "crlf.jsonl": { version: 3, entries: 3, messages: 3, leaf: "cf000003", diagnostics: [] },
  "unicode-separators.jsonl": { version: 3, entries: 2, messages: 2, leaf: "5e000002", diagnostics: [] },
  "lone-surrogate.jsonl": { version: 3, entries: 2, messages: 2, leaf: "5a000002", diagnostics: [{ code: "lone_surrogate", line: 2, entryId: "5a000001" }] },
  "empty.jsonl": { fatal: "E_EMPTY_FILE" },
  "header-only.jsonl": { version: 3, entries: 0, messages: 0, leaf: null, diagnostics: [] },
  "blank-lines.jsonl": {
    version: 3,
    entries: 2,
    messages: 2,
    leaf: "b1000002",
    diagnostics: [
      { code: "blank_line", line: 2 },
      { code: "blank_line", line: 4 },
      { code: "blank_line", line: 6 },
    ],
  },
  "bom.jsonl": { version: 3, entries: 2, messages: 2, leaf: "b0b00002", diagnostics: [] },
  "bad-header-not-json.jsonl": { fatal: "E_HEADER_INVALID", line: 1 },
  "bad-header-not-session.jsonl": { fatal: "E_HEADER_INVALID", line: 1 },
  "archive/--home-user-proj--/2025-01-15T09-00-00-000Z_01946a2e-5c00-7000-8000-000000000a01.jsonl": {
    version: 3,
    entries: 2,
    messages: 2,
    leaf: "a1000002",
    diagnostics: [],
  },
  "archive/--home-user-proj--/2025-01-16T09-00-00-000Z_01946a2e-5c00-7000-8000-000000000a02.jsonl": {
    version: 3,
    entries: 5,
    messages: 5,
    leaf: "a2000005",
    diagnostics: [],
  },
  "archive/--home-user-other--/2024-11-20T23-33-50-805Z_01946a2e-5c00-7000-8000-000000000a03.jsonl": {
    version: 1,
    entries: 2,
    messages: 2,
    leaf: "e77aa33a",
    diagnostics: [],
  },
  "archive/--home-user-rust-proj--/2025-01-17T09-00-00-000Z_0194aaaa.jsonl": {
    version: 3,
    dialect: "rust",
    entries: 2,
    messages: 2,
    leaf: "a4000002",
    diagnostics: [],
  },
  "real/large-session.jsonl": { version: 1, entries: 1018, messages: 914, leaf: "94dce512", diagnostics: [] },
};

/** Byte offset of every physical line (split on 0x0A only), 1-based. */
function lineOffsets(bytes: Buffer): number[] {
  const out = [0, 0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) out.push(i + 1);
  return out;
}

/** Every .jsonl under the fixtures folder, as paths relative to it. */
function jsonlFiles(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) stack.push(p);
      else if (name.endsWith(".jsonl")) out.push(relative(dir, p).split("\\").join("/"));
    }
  }
  return out.sort();
}

const opened = Object.entries(EXPECTED).filter((e): e is [string, Opens] => !("fatal" in e[1]));
const fatal = Object.entries(EXPECTED).filter((e): e is [string, { fatal: string; line?: number }] => "fatal" in e[1]);

describe("every fixture is listed here with its expected open result", () => {
  it("the fixtures folder holds exactly the files listed in EXPECTED", () => {
    expect(jsonlFiles(DIR)).toEqual(Object.keys(EXPECTED).sort());
  });
});

describe("each fixture opens with exactly the documented entries, leaf, name, labels and diagnostics", () => {
  it.each(opened)("%s", (path, exp) => {
    const s: Session = openSessionSync(join(DIR, path));
    expect(s.diagnostics.items.map(strip)).toEqual(exp.diagnostics);
    expect(s.version).toBe(exp.version);
    expect(s.dialect).toBe(exp.dialect ?? "ts");
    expect(s.records.length).toBe(exp.entries);
    expect(s.messageCount).toBe(exp.messages);
    expect(s.leafId).toBe(exp.leaf);
    expect(s.name).toBe(exp.name);
    expect(Object.fromEntries(s.labels)).toEqual(exp.labels ?? {});
  });

  it.each(opened)("%s: every diagnostic's offset is the first byte of its line", (path) => {
    const bytes = readFileSync(join(DIR, path));
    const offsets = lineOffsets(bytes);
    const s = openSessionSync(join(DIR, path));
    for (const d of s.diagnostics.items) expect(d.offset, `${d.code} on line ${d.line}`).toBe(offsets[d.line]);
  });
});

describe("fatal fixtures throw a SessfmtError with the documented code", () => {
  it.each(fatal)("%s", (path, exp) => {
    let caught: unknown;
    try {
      openSessionSync(join(DIR, path));
    } catch (err) {
      caught = err;
    }
    expect(isSessfmtError(caught)).toBe(true);
    const err = caught as { code: string; line?: number; file?: string; message: string };
    expect(err.code).toBe(exp.fatal);
    expect(err.line).toBe(exp.line);
    expect(err.file).toBe(join(DIR, path));
    expect(err.message.startsWith(join(DIR, path))).toBe(true);
  });
});

describe("the reasons behind the diagnostics, fixture by fixture", () => {
  it("orphans.jsonl: a parent later in the file is a parent, not an orphan", () => {
    const s = openSessionSync(join(DIR, "orphans.jsonl"));
    expect(s.tree.parentOf(s.record("0f000005")!)?.id).toBe("0f000006");
    expect(s.tree.roots.map((r) => r.id)).toEqual(["0f000001", "0f000003"]);
    expect(s.diagnostics.orphanedParentLinks).toEqual([{ entryId: "0f000003", missingParentId: "ffffffff", line: 4, offset: expect.any(Number) }]);
  });

  it("cycles.jsonl: both cycles are broken, so every path ends at a root", () => {
    const s = openSessionSync(join(DIR, "cycles.jsonl"));
    expect(s.tree.roots.map((r) => r.id)).toEqual(["c1c00001", "c1c00003", "c1c00005"]);
    expect(s.tree.pathToRoot("c1c00004").map((r) => r.id)).toEqual(["c1c00003", "c1c00004"]);
    expect(s.tree.pathToRoot("c1c00006").map((r) => r.id)).toEqual(["c1c00005", "c1c00006"]);
  });

  it("duplicate-ids.jsonl: the later entry owns the id, and children of the id hang under it", () => {
    const s = openSessionSync(join(DIR, "duplicate-ids.jsonl"));
    expect(s.record("d1d00002")!.line).toBe(5);
    expect(s.tree.size).toBe(4);
    expect(s.tree.children("d1d00002").map((r) => r.id)).toEqual(["d1d00003", "d1d00004"]);
    expect(s.tree.children("d1d00001").map((r) => r.line)).toEqual([5]);
  });

  it("corrupt-lines.jsonl: skippedEntries carry the line, offset, length and reason of each skipped line", () => {
    const bytes = readFileSync(join(DIR, "corrupt-lines.jsonl"));
    const offsets = lineOffsets(bytes);
    const s = openSessionSync(join(DIR, "corrupt-lines.jsonl"));
    expect(s.diagnostics.skippedEntries.map((k) => [k.line, k.reason])).toEqual([
      [3, "bad_json"],
      [4, "not_object"],
      [6, "missing_field"],
      [7, "missing_field"],
      [8, "invalid_utf8"],
      [9, "invalid_field"],
    ]);
    for (const k of s.diagnostics.skippedEntries) {
      expect(k.offset).toBe(offsets[k.line]);
      expect(k.length).toBe((offsets[k.line + 1] as number) - (offsets[k.line] as number) - 1);
    }
  });

  it("truncated-tail.jsonl: the torn line is skipped; truncated-tail-complete.jsonl: the unterminated line is kept", () => {
    const torn = openSessionSync(join(DIR, "truncated-tail.jsonl"));
    expect(torn.records.map((r) => r.line)).toEqual([2, 3]);
    const complete = openSessionSync(join(DIR, "truncated-tail-complete.jsonl"));
    expect(complete.records.map((r) => r.line)).toEqual([2, 3, 4]);
    expect(complete.records[2]!.eol).toBe(0);
  });

  it("rust-dialect.jsonl: branchedFrom is the parent session and the root without parentId is a root", () => {
    const s = openSessionSync(join(DIR, "rust-dialect.jsonl"));
    expect(s.parentSession).toBe("/home/user/.pi/agent/sessions/--home-user-proj--/2025-01-12T09-00-07-000Z_01946a2e.jsonl");
    expect(s.record("ad000001")!.parentId).toBeNull();
    expect(s.tree.roots.map((r) => r.id)).toEqual(["ad000001"]);
  });

  it("bom.jsonl: the header after the byte order mark is read, and line 2 starts after the BOM'd header", () => {
    const s = openSessionSync(join(DIR, "bom.jsonl"));
    expect(s.id).toBe("01946a2e-5c00-7000-8000-00000000040c");
    expect(s.rawHeader().subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
  });
});

describe("archive fixtures sit where pi (TS or Rust) would have written them", () => {
  const archive = Object.keys(EXPECTED).filter((p) => p.startsWith("archive/"));
  it.each(archive)("%s", (path) => {
    const s = openSessionSync(join(DIR, path));
    const dialect = s.dialect;
    expect(basename(dirname(path))).toBe(encodeCwd(s.header.cwd, dialect));
    expect(basename(path)).toBe(sessionFileName(s.id, s.header.timestamp, dialect));
  });
});

describe("the generator is deterministic: running it into a temp dir reproduces the committed bytes", () => {
  const tmp = mkdtempSync(join(tmpdir(), "sessfmt-fixtures-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("writes every listed generated fixture and the README, byte for byte as committed", () => {
    const written = generateFixtures(tmp);
    expect(written.filter((p) => p.endsWith(".jsonl")).sort()).toEqual(Object.keys(EXPECTED).filter((p) => !p.startsWith("real/")).sort());
    for (const p of written) {
      const fresh = readFileSync(join(tmp, p));
      const committed = readFileSync(join(DIR, p));
      expect(fresh.equals(committed), `${p} differs from a fresh run: run npm run fixtures`).toBe(true);
    }
  });

  it("a second run gives the same bytes as the first", () => {
    const again = mkdtempSync(join(tmpdir(), "sessfmt-fixtures-"));
    try {
      for (const p of generateFixtures(again)) expect(readFileSync(join(again, p)).equals(readFileSync(join(tmp, p))), p).toBe(true);
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it("lists each generated file once", () => {
    expect(new Set(FIXTURES.map((f) => f.path)).size).toBe(FIXTURES.length);
  });
});

describe("fixtures/real holds the real pi session unchanged", () => {
  it("large-session.jsonl has the sha256 of the copied original", () => {
    const sha = createHash("sha256").update(readFileSync(join(DIR, "real/large-session.jsonl"))).digest("hex");
    expect(sha).toBe(REAL_SHA256);
  });
  it("its README and LICENSE came with it", () => {
    expect(readFileSync(join(DIR, "real/LICENSE"), "utf8")).toMatch(/MIT License/);
    expect(readFileSync(join(DIR, "real/README.md"), "utf8")).toMatch(/large-session\.jsonl/);
  });
});

const REAL_SHA256 = "cf73261911d2357108adc2d599751e0f19480e0af5a56e20c1e7a7e72aff41fe";
