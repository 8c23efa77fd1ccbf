import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { copyFileSync, readFileSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import {
  createBranchedSession,
  createSession,
  exportSnapshot,
  forkFromUserMessage,
  isSessfmtError,
  openSession,
  openSessionFromBuffer,
  type SessfmtError,
  type SessionWriter,
} from "../../src/index.js";
import { assistantMessage, HEADER_V3, makeTempDir, parseLines, userMessage, writeSessionFile } from "../helpers/session-files.js";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-fork-");
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

const sourceLines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);

/** u1 -> a1 -> u2 -> a2, plus a sibling branch under a1 holding a label entry for u1. */
async function branchedSource(w: SessionWriter): Promise<Record<string, string>> {
  const u1 = await w.appendMessage(userMessage("first question"));
  const a1 = await w.appendMessage(assistantMessage("first answer"));
  const u2 = await w.appendMessage(userMessage("second question"));
  const a2 = await w.appendMessage(assistantMessage("second answer"));
  w.branch(a1);
  const side = await w.appendMessage(userMessage("side question"));
  await w.appendLabelChange(u1, "start");
  await w.appendLabelChange(side, "side");
  w.branch(a2);
  return { u1, a1, u2, a2, side };
}

describe("createBranchedSession copies the root-to-leaf path as pi does", () => {
  it("gives the same entries and context as pi's SessionManager.createBranchedSession", async () => {
    const w = await createSession({ cwd: "/proj", dir: join(dir, "src") });
    const ids = await branchedSource(w);
    await w.close();
    const session = await openSession(w.file);
    const result = await createBranchedSession(session, ids.a2 as string, { dir: join(dir, "out") });

    const piCopy = join(dir, "pi-source.jsonl");
    copyFileSync(w.file, piCopy);
    const pi = SessionManager.open(piCopy, join(dir, "pi-out"));
    pi.createBranchedSession(ids.a2 as string);

    const forked = await openSession(result.file);
    expect(forked.diagnostics.count).toBe(0);
    expect(JSON.stringify(forked.buildContext())).toBe(JSON.stringify(pi.buildSessionContext()));
    const ours = forked.entries();
    const theirs = pi.getEntries();
    expect(ours.length).toBe(theirs.length);
    ours.forEach((e, i) => {
      const t = theirs[i] as unknown as Record<string, unknown>;
      if (e.type === "label") {
        // Re-created label entries get fresh ids; everything else matches.
        const { id: _a, parentId: pa, ...restOurs } = e;
        const { id: _b, parentId: pb, ...restTheirs } = t;
        expect(restOurs).toEqual(restTheirs);
        expect(pa).toBe(ours[i - 1]?.id);
        expect(pb).toBe(theirs[i - 1]?.id);
      } else {
        expect(e).toEqual(t);
      }
    });
    expect(forked.header).toMatchObject({ type: "session", version: 3, cwd: "/proj", parentSession: w.file, id: result.sessionId });
    expect(forked.header.id).not.toBe(session.header.id);
    expect(result).toMatchObject({ copiedEntries: 4, labels: 1, reparented: 0, leafId: forked.leafId });
  });

  it("keeps the exact bytes of copied entries and the label's original timestamp", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const ids = await branchedSource(w);
    await w.close();
    const session = await openSession(w.file);
    const result = await createBranchedSession(session, ids.a2 as string, { dir: join(dir, "out") });
    const src = sourceLines(w.file);
    const out = sourceLines(result.file);
    expect(out.slice(1, 5)).toEqual(src.slice(1, 5));
    const label = JSON.parse(out[5] as string) as Record<string, unknown>;
    const original = parseLines(readFileSync(w.file, "utf8")).find((o) => o.type === "label" && o.targetId === ids.u1) as Record<string, unknown>;
    expect(label).toMatchObject({ type: "label", targetId: ids.u1, label: "start", timestamp: original.timestamp, parentId: ids.a2 });
    expect(Object.keys(label)).toEqual(["type", "id", "parentId", "timestamp", "targetId", "label"]);
    expect(out).toHaveLength(6); // the "side" label targets an entry off the path
  });

  it("writes the new file exclusively with mode 0600 and never replaces one", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const ids = await branchedSource(w);
    await w.close();
    const session = await openSession(w.file);
    const now = new Date("2025-05-05T05:05:05.005Z");
    const r = await createBranchedSession(session, ids.u2 as string, { id: "fixed", now });
    expect(statSync(r.file).mode & 0o777).toBe(0o600);
    const before = readFileSync(r.file);
    const err = await rejection(createBranchedSession(session, ids.a2 as string, { id: "fixed", now }));
    expect(err.code).toBe("E_EXISTS");
    expect(readFileSync(r.file).equals(before)).toBe(true);
  });

  it("an unknown leaf fails with E_ENTRY_NOT_FOUND and creates nothing", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    await branchedSource(w);
    await w.close();
    const before = readdirSync(dir);
    const err = await rejection(createBranchedSession(await openSession(w.file), "nope"));
    expect(err.code).toBe("E_ENTRY_NOT_FOUND");
    expect(readdirSync(dir)).toEqual(before);
  });

  it("needs a directory for a session opened from memory", async () => {
    const s = openSessionFromBuffer(`${JSON.stringify(HEADER_V3)}\n${JSON.stringify({ type: "custom", id: "a", parentId: null, timestamp: "t", customType: "x" })}\n`);
    expect((await rejection(createBranchedSession(s, "a"))).code).toBe("E_INVALID_ARGUMENT");
    const r = await createBranchedSession(s, "a", { dir });
    expect((await openSession(r.file)).header).not.toHaveProperty("parentSession");
  });
});

describe("a label entry on the path does not cut the forked context (pi loses everything before it)", () => {
  it("re-points the entry after a dropped label at the previous path entry; the context equals the source's", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const u1 = await w.appendMessage(userMessage("one"));
    const a1 = await w.appendMessage(assistantMessage("two"));
    await w.appendLabelChange(u1, "start"); // appended on the path, as pi does it
    const u2 = await w.appendMessage(userMessage("three"));
    const a2 = await w.appendMessage(assistantMessage("four"));
    await w.close();
    const session = await openSession(w.file);
    const r = await createBranchedSession(session, a2, { dir: join(dir, "out") });
    expect(r.reparented).toBe(1);
    const forked = await openSession(r.file);
    expect(forked.diagnostics.count).toBe(0);
    expect(forked.record(u2)?.parentId).toBe(a1);
    expect(JSON.stringify(forked.buildContext())).toBe(JSON.stringify(session.buildContext(a2)));
    expect(forked.buildContext().messages).toHaveLength(4);
    // Only the parentId of the re-pointed entry changed.
    const src = parseLines(readFileSync(w.file, "utf8")).find((o) => o.id === u2);
    expect(forked.entry(u2)).toEqual({ ...src, parentId: a1 });
    expect(forked.labels.get(u1)).toBe("start");
  });
});

describe("forkFromUserMessage starts a new session before a user message", () => {
  it("copies the path up to the message's parent and returns the message text", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const ids = await branchedSource(w);
    await w.close();
    const session = await openSession(w.file);
    const r = await forkFromUserMessage(session, ids.u2 as string, { dir: join(dir, "out") });
    expect(r.text).toBe("second question");
    const forked = await openSession(r.file);
    expect(forked.records.filter((x) => x.type !== "label").map((x) => x.id)).toEqual([ids.u1, ids.a1]);
    expect(forked.labels.get(ids.u1 as string)).toBe("start");
    expect(JSON.stringify(forked.buildContext())).toBe(JSON.stringify(session.buildContext(ids.a1)));
  });

  it("forking at the first message gives an empty session that points at its source", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const ids = await branchedSource(w);
    await w.close();
    const r = await forkFromUserMessage(await openSession(w.file), ids.u1 as string, { dir: join(dir, "out") });
    expect(r).toMatchObject({ leafId: null, copiedEntries: 0, text: "first question" });
    const forked = await openSession(r.file);
    expect(forked.records).toHaveLength(0);
    expect(forked.header.parentSession).toBe(w.file);
  });

  it("refuses an entry that is not a user message", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const ids = await branchedSource(w);
    await w.close();
    expect((await rejection(forkFromUserMessage(await openSession(w.file), ids.a1 as string))).code).toBe("E_INVALID_ARGUMENT");
  });
});

describe("forks keep the source's dialect and upgrade legacy sources", () => {
  it("a Rust source gives branchedFrom and root entries without parentId", async () => {
    const w = await createSession({ cwd: "/proj", dir, dialect: "rust" });
    await w.appendMessage(userMessage("a"));
    const b = await w.appendMessage(assistantMessage("b"));
    await w.close();
    const r = await createBranchedSession(await openSession(w.file), b, { dir: join(dir, "out") });
    const lines = parseLines(readFileSync(r.file, "utf8"));
    expect(lines[0]).toMatchObject({ branchedFrom: w.file });
    expect(lines[0]).not.toHaveProperty("parentSession");
    expect(lines[1]).not.toHaveProperty("parentId");
    expect(sourceLines(r.file).slice(1)).toEqual(sourceLines(w.file).slice(1));
  });

  it("a v1 source is written with the reader's ids, as version 3, same context", async () => {
    const file = join(dir, "v1.jsonl");
    writeSessionFile(file, [
      { type: "session", id: "legacy", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" },
      { type: "message", timestamp: "2025-01-01T00:00:01.000Z", message: userMessage("q") },
      { type: "message", timestamp: "2025-01-01T00:00:02.000Z", message: assistantMessage("a") },
    ]);
    const session = await openSession(file);
    const leaf = session.leafId as string;
    const r = await createBranchedSession(session, leaf, { dir: join(dir, "out") });
    const forked = await openSession(r.file);
    expect(forked.version).toBe(3);
    expect(forked.records.map((x) => x.id)).toEqual(session.records.map((x) => x.id));
    expect(JSON.stringify(forked.buildContext())).toBe(JSON.stringify(session.buildContext()));
  });
});

describe("exportSnapshot gives header, entries in file order and the leaf, detached from the session", () => {
  it("snapshots and deep-copies", async () => {
    const w = await createSession({ cwd: "/proj", dir });
    const ids = await branchedSource(w);
    await w.close();
    const session = await openSession(w.file);
    session.setLeaf(ids.u2 as string);
    const snap = exportSnapshot(session);
    expect(snap.header).toEqual(session.header);
    expect(snap.entries).toEqual(session.entries());
    expect(snap.entries.map((e) => e.id)).toEqual(session.records.map((r) => r.id));
    expect(snap.leafId).toBe(ids.u2);
    (snap.entries[0] as { message: { content: unknown } }).message.content = "changed";
    snap.header.cwd = "/elsewhere";
    expect(session.header.cwd).toBe("/proj");
    expect(JSON.stringify(session.entries()[0])).not.toContain("changed");
  });
});
