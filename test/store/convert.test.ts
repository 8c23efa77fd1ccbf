import { readFileSync, readdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openSessionFromBuffer } from "../../src/index.js";
import { SqliteSessionStore, convertSessionFile, readSqliteSessionFile } from "../../src/store/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { rejection } from "./scenario.js";

const FIXTURES = join(import.meta.dirname, "..", "..", "fixtures");
/** Every fixture that is a session (the fatal ones have no header to store). */
const SESSIONS = readdirSync(FIXTURES).filter((n) => n.endsWith(".jsonl") && !["empty.jsonl", "bad-header-not-json.jsonl", "bad-header-not-session.jsonl"].includes(n));

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let n = 0;
beforeEach(() => {
  tmp = makeTempDir("sessfmt-convert-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => tmp.cleanup());

async function roundTrip(bytes: Buffer): Promise<Buffer> {
  n++;
  const src = join(dir, `in-${n}.jsonl`);
  writeFileSync(src, bytes);
  await convertSessionFile(src, join(dir, `mid-${n}.sqlite`), { durable: false });
  await convertSessionFile(join(dir, `mid-${n}.sqlite`), join(dir, `out-${n}.jsonl`), { durable: false });
  return readFileSync(join(dir, `out-${n}.jsonl`));
}

describe("convert JSONL -> SQLite -> JSONL gives back the same bytes", () => {
  it.each(SESSIONS)("%s", async (name) => {
    const bytes = readFileSync(join(FIXTURES, name));
    expect((await roundTrip(bytes)).equals(bytes)).toBe(true);
  });

  it("the real v1 session", async () => {
    const bytes = readFileSync(join(FIXTURES, "real", "large-session.jsonl"));
    expect((await roundTrip(bytes)).equals(bytes)).toBe(true);
  });

  it("any lines after a header: invalid JSON and UTF-8, blank lines, CRLF, no final newline", async () => {
    const header = Buffer.from('{"type":"session","version":3,"id":"p","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/w"}');
    const line = fc.oneof(
      fc.constantFrom('{"type":"custom","id":"a","parentId":null,"timestamp":"t","customType":"k"}', "", "  ", "{", "[1]", '{"type":"x"}'),
      fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b).toString("latin1").replace(/[\n\r]/g, "")),
      fc.string({ unit: "binary", maxLength: 12 }).map((s) => s.replace(/[\n\r]/g, "")),
    );
    const eol = fc.constantFrom("\n", "\r\n");
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(line, eol), { maxLength: 8 }), fc.boolean(), async (lines, finalEol) => {
        const parts: Buffer[] = [header, Buffer.from("\n")];
        lines.forEach(([l, e], i) => parts.push(Buffer.from(l, "latin1"), Buffer.from(i < lines.length - 1 || finalEol ? e : "")));
        const bytes = Buffer.concat(parts);
        expect((await roundTrip(bytes)).equals(bytes)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe("the SQLite file keeps the Rust port's tables as it reads them", () => {
  it("header json is the header line's text; entries are the entry lines' text in seq order", async () => {
    const src = join(FIXTURES, "corrupt-lines.jsonl");
    await convertSessionFile(src, join(dir, "c.sqlite"), { durable: false });
    const db = new Database(join(dir, "c.sqlite"), { readonly: true });
    const lines = readFileSync(src, "utf8").split("\n");
    const session = openSessionFromBuffer(readFileSync(src));
    expect(db.prepare("SELECT id, json FROM pi_session_header").all()).toEqual([{ id: session.id, json: lines[0] }]);
    expect(db.prepare("SELECT json FROM pi_session_entries ORDER BY seq").pluck().all()).toEqual(session.records.map((r) => lines[r.line - 1]));
    expect(Object.fromEntries(db.prepare("SELECT key, value FROM pi_session_meta").raw().all() as [string, string][])).toEqual({
      message_count: String(session.messageCount),
      name: "",
      sessfmt_layout: "1",
    });
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("reads and appends to a file with only the Rust port's tables", async () => {
    const root = join(dir, "root");
    const file = join(root, "--w--", "rust.sqlite");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(root, "--w--"), { recursive: true });
    const db = new Database(file);
    db.exec(`CREATE TABLE pi_session_header (id TEXT PRIMARY KEY, json TEXT NOT NULL);
             CREATE TABLE pi_session_entries (seq INTEGER PRIMARY KEY, json TEXT NOT NULL);
             CREATE TABLE pi_session_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`);
    db.prepare("INSERT INTO pi_session_header VALUES (?, ?)").run("r1", '{"type":"session","version":3,"id":"r1","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/w"}');
    db.prepare("INSERT INTO pi_session_entries VALUES (1, ?)").run('{"type":"custom","id":"e1","timestamp":"2025-01-01T00:00:01.000Z","customType":"k"}');
    db.close();
    expect(readSqliteSessionFile(file).toString()).toBe(
      '{"type":"session","version":3,"id":"r1","timestamp":"2025-01-01T00:00:00.000Z","cwd":"/w"}\n{"type":"custom","id":"e1","timestamp":"2025-01-01T00:00:01.000Z","customType":"k"}\n',
    );
    const store = new SqliteSessionStore({ root, durable: false });
    const [id] = await store.append("r1", [{ type: "custom", customType: "next" }]);
    const s = await store.load("r1");
    expect(s.records.map((r) => [r.id, r.parentId])).toEqual([
      ["e1", null],
      [id, "e1"],
    ]);
    await store.close();
  });
});

describe("convert never overwrites and names what it cannot do", () => {
  it("E_EXISTS for an existing output, E_INVALID_ARGUMENT for an unknown extension or same format", async () => {
    const src = join(FIXTURES, "v3-linear.jsonl");
    writeFileSync(join(dir, "taken.sqlite"), "x");
    expect((await rejection(convertSessionFile(src, join(dir, "taken.sqlite")))).code).toBe("E_EXISTS");
    expect(readFileSync(join(dir, "taken.sqlite"), "utf8")).toBe("x");
    expect((await rejection(convertSessionFile(src, join(dir, "out.txt")))).code).toBe("E_INVALID_ARGUMENT");
    expect((await rejection(convertSessionFile(src, join(dir, "out.jsonl")))).code).toBe("E_INVALID_ARGUMENT");
    expect((await rejection(convertSessionFile(join(FIXTURES, "bad-header-not-json.jsonl"), join(dir, "b.sqlite")))).code).toBe("E_HEADER_INVALID");
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
