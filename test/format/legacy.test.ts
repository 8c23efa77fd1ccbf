/**
 * SPEC 4.2 and 4.3: version 1 and 2 files are upgraded in memory, deterministically.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { afterAll, describe, expect, it } from "vitest";
import { openSessionFromBuffer, openSessionSync, type Session } from "../../src/format/index.js";
import { legacyEntryId } from "../../src/format/legacy.js";

const DIR = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");
const fixture = (name: string): string => join(DIR, name);

const tmpRoot = mkdtempSync(join(tmpdir(), "sessfmt-legacy-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;

/** pi's view of a fixture, from a copy: pi rewrites legacy files when it opens them. */
function piOpen(name: string): SessionManager {
  const dir = join(tmpRoot, String(n++));
  mkdirSync(dir);
  const copy = join(dir, name.replaceAll("/", "_"));
  copyFileSync(fixture(name), copy);
  return SessionManager.open(copy, dir);
}

/** The text of each message in a context (summaries by their summary). */
function texts(messages: readonly object[]): string[] {
  return messages.map((m) => {
    const x = m as { role: string; content?: unknown; summary?: string };
    if (x.summary !== undefined) return `[${x.role}] ${x.summary}`;
    if (typeof x.content === "string") return x.content;
    return (x.content as { type: string; text?: string }[]).map((b) => b.text ?? `<${b.type}>`).join(" ");
  });
}

const V1 = ["v1-legacy.jsonl", "v1-skipped-line.jsonl", "v1-index-zero.jsonl", "real/large-session.jsonl"];

describe("v1 ids are deterministic: the same file gives the same ids, wherever and however it is opened", () => {
  it.each(V1)("%s", (name) => {
    const a = openSessionSync(fixture(name));
    const dir = join(tmpRoot, String(n++));
    mkdirSync(dir);
    copyFileSync(fixture(name), join(dir, "renamed.jsonl"));
    const b = openSessionSync(join(dir, "renamed.jsonl"), { retainEntries: false });
    const c = openSessionFromBuffer(readFileSync(fixture(name)));
    const idsOf = (s: Session) => s.records.map((r) => [r.id, r.parentId]);
    expect(idsOf(b)).toEqual(idsOf(a));
    expect(idsOf(c)).toEqual(idsOf(a));
    expect(b.entries()).toEqual(a.entries());
  });

  it("ids are 8 lowercase hex, derived from the session id and the physical line", () => {
    const s = openSessionSync(fixture("v1-legacy.jsonl"));
    const taken = new Set<string>();
    for (const r of s.records) {
      expect(r.id).toMatch(/^[0-9a-f]{8}$/);
      expect(r.id).toBe(legacyEntryId(s.id, r.line, taken));
      taken.add(r.id);
    }
  });

  it("all 1,018 ids of the real v1 session are distinct", () => {
    const s = openSessionSync(fixture("real/large-session.jsonl"));
    expect(new Set(s.records.map((r) => r.id)).size).toBe(1018);
    expect(s.diagnostics.byCode("duplicate_id")).toEqual([]);
  });

  it("a colliding id is never reused: the derivation moves on to the next attempt", () => {
    const first = legacyEntryId("sess", 2, new Set());
    const second = legacyEntryId("sess", 2, new Set([first]));
    expect(second).not.toBe(first);
    expect(second).toMatch(/^[0-9a-f]{8}$/);
    expect(legacyEntryId("sess", 2, new Set([first]))).toBe(second);
  });

  it("the same line of another session gets another id", () => {
    expect(legacyEntryId("a", 2, new Set())).not.toBe(legacyEntryId("b", 2, new Set()));
  });
});

describe("v1 parents chain the entries in file order", () => {
  it.each(V1)("%s: each entry's parent is the entry before it; the first is the root", (name) => {
    const s = openSessionSync(fixture(name));
    s.records.forEach((r, i) => expect(r.parentId).toBe(i === 0 ? null : s.records[i - 1]!.id));
    expect(s.tree.roots.length).toBe(1);
    expect(s.tree.pathToRoot(s.leafId).length).toBe(s.records.length);
  });

  it("a skipped line does not break the chain: line 5's parent is line 3", () => {
    const s = openSessionSync(fixture("v1-skipped-line.jsonl"));
    const line = (l: number) => s.records.find((r) => r.line === l)!;
    expect(line(5).parentId).toBe(line(3).id);
  });

  it("materialised entries are v3 objects: id and parentId right after type", () => {
    const s = openSessionSync(fixture("v1-legacy.jsonl"));
    const e = s.entry(s.records[0]!);
    expect(Object.keys(e).slice(0, 4)).toEqual(["type", "id", "parentId", "timestamp"]);
    expect(s.raw(s.records[0]!).toString()).not.toContain('"id"');
  });
});

describe("v1 firstKeptEntryIndex is mapped by physical line (the header is index 0)", () => {
  it("v1-legacy.jsonl: index 6 names line 7, and the index is replaced by firstKeptEntryId", () => {
    const s = openSessionSync(fixture("v1-legacy.jsonl"));
    const compaction = s.records.find((r) => r.type === "compaction")!;
    const e = s.entry(compaction) as Record<string, unknown>;
    expect(e.firstKeptEntryId).toBe(s.records.find((r) => r.line === 7)!.id);
    expect(e.firstKeptEntryIndex).toBeUndefined();
    expect(s.raw(compaction).toString()).toContain('"firstKeptEntryIndex":6');
  });

  it("v1-skipped-line.jsonl: index 4 still names line 5 after line 4 was skipped; pi, counting parsed lines, keeps from line 6", () => {
    const s = openSessionSync(fixture("v1-skipped-line.jsonl"));
    const e = s.entry(s.records.find((r) => r.type === "compaction")!) as Record<string, unknown>;
    expect(e.firstKeptEntryId).toBe(s.records.find((r) => r.line === 5)!.id);
    const summary = "[compactionSummary] Two questions were asked.";
    expect(texts(s.buildContext().messages)).toEqual([summary, "Second question.", "Second answer.", "Third question.", "Third answer."]);
    expect(texts(piOpen("v1-skipped-line.jsonl").buildSessionContext().messages)).toEqual([summary, "Second answer.", "Third question.", "Third answer."]);
  });

  it("v1-index-zero.jsonl: index 0 names the header, so the kept range starts at the first entry (legacy_index); pi keeps nothing", () => {
    const s = openSessionSync(fixture("v1-index-zero.jsonl"));
    expect(s.diagnostics.items.map((d) => [d.code, d.line])).toEqual([["legacy_index", 4]]);
    const summary = "[compactionSummary] A greeting.";
    expect(texts(s.buildContext().messages)).toEqual([summary, "Hello.", "Hi.", "Next.", "Sure."]);
    expect(texts(piOpen("v1-index-zero.jsonl").buildSessionContext().messages)).toEqual([summary, "Next.", "Sure."]);
  });

  const H = '{"type":"session","id":"s1","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/w"}';
  const m = (text: string) => JSON.stringify({ type: "message", timestamp: "2025-01-01T00:00:01.000Z", message: { role: "user", content: text, timestamp: 1 } });
  const c = (index: number) => JSON.stringify({ type: "compaction", timestamp: "2025-01-01T00:00:02.000Z", summary: "S", firstKeptEntryIndex: index, tokensBefore: 1 });
  const kept = (text: string) => {
    const s = openSessionFromBuffer(text);
    return { texts: texts(s.buildContext().messages), diags: s.diagnostics.items.map((d) => [d.code, d.line]) };
  };

  it("an index naming a blank line moves to the next entry, with legacy_index", () => {
    expect(kept([H, m("a"), "", m("b"), c(2), m("c"), ""].join("\n"))).toEqual({
      texts: ["[compactionSummary] S", "b", "c"],
      diags: [
        ["blank_line", 3],
        ["legacy_index", 5],
      ],
    });
  });

  it("an index naming the compaction itself or a later line keeps nothing before it, with legacy_index", () => {
    for (const index of [3, 4, 99]) {
      expect(kept([H, m("a"), m("b"), c(index), m("c"), ""].join("\n"))).toEqual({
        texts: ["[compactionSummary] S", "c"],
        diags: [["legacy_index", 4]],
      });
    }
  });

  it("a compaction without a numeric index gets no firstKeptEntryId and no diagnostic", () => {
    const s = openSessionFromBuffer([H, m("a"), JSON.stringify({ type: "compaction", timestamp: "t", summary: "S", tokensBefore: 1 }), ""].join("\n"));
    expect(s.diagnostics.isClean).toBe(true);
    expect(s.entries()[1]).not.toHaveProperty("firstKeptEntryId");
  });
});

describe("hookMessage (v1/v2) is read as role custom", () => {
  it("v2-hook-message.jsonl: the entry's role is custom in memory and hookMessage on disk", () => {
    const s = openSessionSync(fixture("v2-hook-message.jsonl"));
    const e = s.entry("20000003") as { message: { role: string; customType: string } };
    expect(e.message).toMatchObject({ role: "custom", customType: "lint-report" });
    expect(s.raw(s.record("20000003")!).toString()).toContain('"role":"hookMessage"');
    expect(s.record("20000003")!.role).toBe("hookMessage");
  });

  it("the rename is the same whether the entry was retained or re-read", () => {
    const lazy = openSessionSync(fixture("v2-hook-message.jsonl"), { retainEntries: false });
    const kept = openSessionSync(fixture("v2-hook-message.jsonl"), { retainEntries: true });
    expect(lazy.entry("20000003")).toEqual(kept.entry("20000003"));
  });

  it("a v3 file keeps the role hookMessage as written (no rename past version 2)", () => {
    const text = readFileSync(fixture("v2-hook-message.jsonl"), "utf8").replace('"version":2', '"version":3');
    const s = openSessionFromBuffer(text);
    expect((s.entry("20000003") as { message: { role: string } }).message.role).toBe("hookMessage");
  });
});

describe("on well-formed v1 and v2 files the context equals pi's SessionManager context", () => {
  const WELL_FORMED = [
    "v1-legacy.jsonl",
    "v2-hook-message.jsonl",
    "real/large-session.jsonl",
    "archive/--home-user-other--/2024-11-20T23-33-50-805Z_01946a2e-5c00-7000-8000-000000000a03.jsonl",
  ];
  it.each(WELL_FORMED)("%s", (name) => {
    const ours = openSessionSync(fixture(name));
    const pi = piOpen(name);
    expect(JSON.stringify(ours.buildContext())).toBe(JSON.stringify(pi.buildSessionContext()));
    expect(ours.name).toBe(pi.getSessionName());
    expect(ours.records.length).toBe(pi.getEntries().length);
    expect(ours.records.map((r) => r.type)).toEqual(pi.getEntries().map((e) => e.type));
  });

  it("pi rewrote its copy, the fixture itself is untouched", () => {
    const before = readFileSync(fixture("v1-legacy.jsonl"));
    const dir = join(tmpRoot, String(n++));
    mkdirSync(dir);
    copyFileSync(fixture("v1-legacy.jsonl"), join(dir, "copy.jsonl"));
    SessionManager.open(join(dir, "copy.jsonl"), dir);
    expect(readFileSync(join(dir, "copy.jsonl")).equals(before)).toBe(false);
    expect(readFileSync(fixture("v1-legacy.jsonl")).equals(before)).toBe(true);
  });
});
