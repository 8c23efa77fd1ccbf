import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyFileSync, existsSync, readFileSync, readdirSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { acquireLock, isSessfmtError, openSession, SessionWriter, upgradeSession, type SessfmtError } from "../../src/index.js";
import { assistantMessage, makeTempDir, parseLines, userMessage, writeSessionFile } from "../helpers/session-files.js";

const FIXTURE = "/work/shared/fixtures/pi-mono/large-session.jsonl";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-upgrade-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => tmp.cleanup());

async function rejection(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    if (isSessfmtError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

const V1_HEADER = { type: "session", id: "legacy-1", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w", provider: "anthropic", modelId: "m" };
const t = (s: number) => `2025-01-01T00:00:${String(s).padStart(2, "0")}.000Z`;

/** header(1) u1(2) a1(3) u2(4) a2(5) compaction(6, keeps from u2) u3(7) a3(8) */
function v1Lines(): object[] {
  return [
    V1_HEADER,
    { type: "message", timestamp: t(1), message: userMessage("u1") },
    { type: "message", timestamp: t(2), message: assistantMessage("a1") },
    { type: "message", timestamp: t(3), message: userMessage("u2") },
    { type: "thinking_level_change", timestamp: t(4), thinkingLevel: "high" },
    { type: "compaction", timestamp: t(5), summary: "so far", firstKeptEntryIndex: 3, tokensBefore: 42 },
    { type: "message", timestamp: t(6), message: userMessage("u3") },
    { type: "message", timestamp: t(7), message: assistantMessage("a3") },
  ];
}

function v2Lines(): object[] {
  return [
    { ...V1_HEADER, version: 2 },
    { type: "message", id: "e1", parentId: null, timestamp: t(1), message: userMessage("u1") },
    { type: "message", id: "e2", parentId: "e1", timestamp: t(2), message: { role: "hookMessage", customType: "hook", content: "from a hook", display: true, timestamp: 5 } },
    { type: "message", id: "e3", parentId: "e2", timestamp: t(3), message: assistantMessage("a1") },
  ];
}

/** Upgrade a copy with sessfmt and another with pi; both contexts must equal the original's. */
async function upgradeAgainstPi(original: string): Promise<{ file: string }> {
  const ours = join(dir, "ours.jsonl");
  const theirs = join(dir, "theirs.jsonl");
  copyFileSync(original, ours);
  copyFileSync(original, theirs);
  const before = await openSession(ours);
  const ctxBefore = JSON.stringify(before.buildContext());
  const report = await upgradeSession(ours);
  expect(report.upgraded).toBe(true);
  const after = await openSession(ours);
  expect(after.version).toBe(3);
  expect(after.diagnostics.count).toBe(0);
  expect(after.records.map((r) => [r.id, r.parentId])).toEqual(before.records.map((r) => [r.id, r.parentId]));
  expect(JSON.stringify(after.buildContext())).toBe(ctxBefore);
  const pi = SessionManager.open(theirs, dir);
  expect(JSON.stringify(after.buildContext())).toBe(JSON.stringify(pi.buildSessionContext()));
  return { file: ours };
}

describe("v1 and v2 files upgrade to version 3 with the context pi builds from the original", () => {
  it("the real v1 fixture (a copy)", async () => {
    const src = join(dir, "large-session.jsonl");
    copyFileSync(FIXTURE, src);
    const { file } = await upgradeAgainstPi(src);
    expect(readFileSync(`${file}.bak`).equals(readFileSync(FIXTURE))).toBe(true);
    const header = parseLines(readFileSync(file, "utf8").split("\n")[0] as string)[0] as Record<string, unknown>;
    expect(Object.keys(header).slice(0, 2)).toEqual(["type", "version"]);
    expect(header).toMatchObject({ version: 3, provider: "anthropic", thinkingLevel: "off" });
  });

  it("a v1 file with a compaction: the index becomes the id of the same entry", async () => {
    const src = join(dir, "v1.jsonl");
    writeSessionFile(src, v1Lines());
    const { file } = await upgradeAgainstPi(src);
    const lines = parseLines(readFileSync(file, "utf8"));
    const compaction = lines[5] as Record<string, unknown>;
    expect(compaction).not.toHaveProperty("firstKeptEntryIndex");
    expect(compaction.firstKeptEntryId).toBe(lines[3]?.id);
    for (const l of lines.slice(1)) expect(Object.keys(l).slice(0, 4)).toEqual(["type", "id", "parentId", "timestamp"]);
  });

  it("a v2 file: hookMessage becomes custom, ids stay", async () => {
    const src = join(dir, "v2.jsonl");
    writeSessionFile(src, v2Lines());
    const { file } = await upgradeAgainstPi(src);
    const lines = parseLines(readFileSync(file, "utf8"));
    expect(lines.map((l) => l.id)).toEqual(["legacy-1", "e1", "e2", "e3"]);
    expect((lines[2]?.message as { role: string }).role).toBe("custom");
  });
});

describe("nothing is lost: invalid lines stay byte for byte in their place, blank lines go", () => {
  it("keeps bad JSON, CRLF garbage and a torn tail; the upgraded file opens to the original's tree and context", async () => {
    const src = join(dir, "messy.jsonl");
    const good = v1Lines().map((o) => JSON.stringify(o));
    const bad1 = "{not json at all";
    const bad2 = '["an","array"]\r';
    const torn = '{"type":"message","timestamp":"2025-01-01T00:00:09.000Z","mess';
    const text = [good[0], good[1], bad1, good[2], "", good[3], bad2, good[4], good[5], "   ", good[6], good[7], torn].join("\n");
    writeFileSync(src, text);
    const before = await openSession(src);
    const report = await upgradeSession(src);
    expect(report).toMatchObject({ needed: true, upgraded: true, fromVersion: 1, invalidLinesKept: 3, blankLinesDropped: 2, entries: 7, idsAssigned: 7 });
    const out = readFileSync(src, "utf8").split("\n");
    expect(out[2]).toBe(bad1);
    expect(out[5]).toBe(bad2); // the "\r" of "\r\n" included
    expect(out[10]).toBe(torn);
    expect(out[11]).toBe("");
    expect(out).toHaveLength(12);
    const after = await openSession(src);
    expect(after.records.map((r) => [r.id, r.parentId])).toEqual(before.records.map((r) => [r.id, r.parentId]));
    expect(JSON.stringify(after.buildContext())).toBe(JSON.stringify(before.buildContext()));
    expect(after.diagnostics.skippedEntries).toHaveLength(3);
    expect(readFileSync(`${src}.bak`, "utf8")).toBe(text);
  });

  it("maps a compaction index by physical line even when an invalid line precedes it", async () => {
    const src = join(dir, "shifted.jsonl");
    const good = v1Lines().map((o) => JSON.stringify(o));
    // firstKeptEntryIndex 4 names physical line 5, which holds u2 once a bad line is inserted before it.
    const lines = [good[0], good[1], "garbage", good[2], good[3], good[4], JSON.stringify({ ...(v1Lines()[5] as object), firstKeptEntryIndex: 4 }), good[6]];
    writeFileSync(src, `${lines.join("\n")}\n`);
    const report = await upgradeSession(src);
    expect(report.compactionIndexesMapped).toBe(1);
    const after = await openSession(src);
    const compaction = after.entries().find((e) => e.type === "compaction") as Record<string, unknown>;
    const u2 = after.entries().find((e) => e.type === "message" && JSON.stringify(e).includes('"u2"'));
    expect(compaction.firstKeptEntryId).toBe(u2?.id);
  });
});

describe("a dry run writes nothing and reports what would change", () => {
  it("reports counts and the size the upgrade would have, leaving the file and directory untouched", async () => {
    const src = join(dir, "v1.jsonl");
    const lines = v1Lines();
    lines.push({ type: "message", timestamp: t(8), message: { role: "hookMessage", customType: "h", content: "x", display: false, timestamp: 1 } });
    writeSessionFile(src, lines);
    const bytes = readFileSync(src);
    const mtime = statSync(src).mtimeMs;
    const report = await upgradeSession(src, { dryRun: true });
    expect(report).toMatchObject({
      dryRun: true,
      needed: true,
      upgraded: false,
      fromVersion: 1,
      toVersion: 3,
      entries: 8,
      idsAssigned: 8,
      rolesRenamed: 1,
      compactionIndexesMapped: 1,
      compactionIndexesUnmapped: 0,
      bytesBefore: bytes.length,
    });
    expect(readFileSync(src).equals(bytes)).toBe(true);
    expect(statSync(src).mtimeMs).toBe(mtime);
    expect(readdirSync(dir)).toEqual(["v1.jsonl"]);
    const real = await upgradeSession(src, { backup: false });
    expect(real.bytesAfter).toBe(report.bytesAfter);
    expect(statSync(src).size).toBe(report.bytesAfter);
  });

  it("reports legacy index diagnostics of the original", async () => {
    const src = join(dir, "v1.jsonl");
    const lines = v1Lines();
    (lines[5] as Record<string, unknown>).firstKeptEntryIndex = 99;
    writeSessionFile(src, lines);
    const report = await upgradeSession(src, { dryRun: true });
    expect(report.compactionIndexesUnmapped).toBe(1);
    expect(report.diagnostics.map((d) => d.code)).toEqual(["legacy_index"]);
  });
});

describe("version 3 files need nothing", () => {
  it("leaves the file as it is and says so; a second upgrade is a no-op", async () => {
    const src = join(dir, "v2.jsonl");
    writeSessionFile(src, v2Lines());
    await upgradeSession(src, { backup: false });
    const bytes = readFileSync(src);
    const report = await upgradeSession(src);
    expect(report).toMatchObject({ needed: false, upgraded: false, fromVersion: 3, toVersion: 3 });
    expect(report.message).toContain("nothing to do");
    expect(readFileSync(src).equals(bytes)).toBe(true);
    expect(existsSync(`${src}.bak`)).toBe(false);
  });

  it("an upgraded file takes appends", async () => {
    const src = join(dir, "v1.jsonl");
    writeSessionFile(src, v1Lines());
    await upgradeSession(src);
    const w = await SessionWriter.open(src);
    const leaf = w.leafId;
    const id = await w.appendMessage(userMessage("after upgrade"));
    await w.close();
    const s = await openSession(src);
    expect(s.record(id)?.parentId).toBe(leaf);
    expect(s.diagnostics.count).toBe(0);
  });
});

describe("the upgrade runs under the session lock", () => {
  it("fails with E_LOCKED while another writer holds the lock, changing nothing", async () => {
    const src = join(dir, "v1.jsonl");
    writeSessionFile(src, v1Lines());
    const bytes = readFileSync(src);
    const holder = await acquireLock(src);
    try {
      const err = await rejection(upgradeSession(src, { lockTimeoutMs: 100 }));
      expect(err.code).toBe("E_LOCKED");
    } finally {
      await holder.release();
    }
    expect(readFileSync(src).equals(bytes)).toBe(true);
    expect(readdirSync(dir)).toEqual(["v1.jsonl"]);
  });
});
