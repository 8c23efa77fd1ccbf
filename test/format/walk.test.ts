import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { HEADER_PROBE_BYTES, findSessionFiles, isSessfmtError, isSessionHeaderPrefix } from "../../src/format/index.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "sessfmt-walk-"));
  dirs.push(d);
  return d;
}

const HEADER = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/" });

function put(dir: string, rel: string, text = HEADER + "\n"): string {
  const file = join(dir, rel);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, text);
  return file;
}

async function collect(paths: string[], opts: Parameters<typeof findSessionFiles>[1] = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const f of findSessionFiles(paths, opts)) out.push(f);
  return out;
}

describe("files given directly are taken as they are", () => {
  it("yields a named file whatever its name or content, and a missing one, for the opener to judge", async () => {
    const dir = tmp();
    const text = put(dir, "notes.txt", "hello\n");
    const missing = join(dir, "missing.jsonl");
    expect(await collect([text, missing])).toEqual([text, missing]);
  });

  it("yields a file named twice once", async () => {
    const dir = tmp();
    const f = put(dir, "a.jsonl");
    expect(await collect([f, f, dir])).toEqual([f]);
  });
});

describe("directories are walked recursively in path order for *.jsonl files that start with a session header", () => {
  it("finds sessions at any depth and leaves out other files", async () => {
    const dir = tmp();
    const deep = put(dir, "a/b/c/d/e/deep.jsonl");
    const top = put(dir, "z.jsonl");
    const mid = put(dir, "a/m.jsonl");
    put(dir, "a/other.json");
    put(dir, "a/b/not-a-session.jsonl", '{"type":"message"}\n');
    put(dir, "a/b/empty.jsonl", "");
    const skipped: string[] = [];
    expect(await collect([dir], { onSkip: (f) => skipped.push(f) })).toEqual([deep, mid, top]);
    expect(skipped.sort()).toEqual([join(dir, "a/b/empty.jsonl"), join(dir, "a/b/not-a-session.jsonl")]);
  });

  it("finds a session 200 directories down", async () => {
    const dir = tmp();
    const rel = Array.from({ length: 200 }, (_, i) => `d${i}`).join("/");
    const file = put(dir, `${rel}/s.jsonl`);
    expect(await collect([dir])).toEqual([file]);
  });
});

describe("the header check reads a prefix of at most 64 KiB", () => {
  it("accepts a BOM, leading blank lines and CRLF; rejects other first lines", () => {
    expect(isSessionHeaderPrefix(Buffer.from(`\uFEFF${HEADER}\r\n`), true)).toBe(true);
    expect(isSessionHeaderPrefix(Buffer.from(`\n  \n${HEADER}\n`), true)).toBe(true);
    expect(isSessionHeaderPrefix(Buffer.from(HEADER), true)).toBe(true);
    expect(isSessionHeaderPrefix(Buffer.from('{"type":"message"}\n'), true)).toBe("first line is not a session header");
    expect(isSessionHeaderPrefix(Buffer.from(`${HEADER.slice(0, 20)}`), true)).toBe("first line is not a session header");
    expect(isSessionHeaderPrefix(Buffer.alloc(0), true)).toBe("empty file");
  });

  it("recognises a header longer than the probe by its opening", async () => {
    const dir = tmp();
    const long = JSON.stringify({ type: "session", version: 3, id: "s", timestamp: "t", cwd: "/" + "x".repeat(HEADER_PROBE_BYTES * 2) });
    const f = put(dir, "long.jsonl", long + "\n");
    put(dir, "long-other.jsonl", JSON.stringify({ type: "message", pad: "x".repeat(HEADER_PROBE_BYTES * 2) }) + "\n");
    expect(await collect([dir])).toEqual([f]);
  });
});

describe("symlinked directories are not entered unless followSymlinks", () => {
  it("skips a symlinked directory by default and enters it when asked, cutting loops", async () => {
    const dir = tmp();
    const outside = tmp();
    const inner = put(dir, "root/in.jsonl");
    put(outside, "far.jsonl");
    symlinkSync(outside, join(dir, "root", "link"), "dir");
    symlinkSync(join(dir, "root"), join(dir, "root", "self"), "dir");
    expect(await collect([join(dir, "root")])).toEqual([inner]);
    expect(await collect([join(dir, "root")], { followSymlinks: true })).toEqual([inner, join(dir, "root", "link", "far.jsonl")]);
  });

  it("takes symlinked files inside a walk and ignores dangling links", async () => {
    const dir = tmp();
    const target = put(tmp(), "t.jsonl");
    symlinkSync(target, join(dir, "linked.jsonl"));
    symlinkSync(join(dir, "nowhere.jsonl"), join(dir, "dangling.jsonl"));
    expect(await collect([dir])).toEqual([join(dir, "linked.jsonl")]);
  });
});

describe('"-" reads newline-separated paths from stdin', () => {
  it("takes each non-blank line as a path given directly, directories walked", async () => {
    const dir = tmp();
    const a = put(dir, "one/a.jsonl");
    const b = put(dir, "b.txt", "x");
    const stdin = Readable.from([Buffer.from(`${join(dir, "one")}\r\n\n${b}`)]);
    expect(await collect(["-"], { stdin })).toEqual([a, b]);
  });

  it("refuses a second -", async () => {
    const err = await collect(["-", "-"], { stdin: Readable.from([]) }).catch((e: unknown) => e);
    expect(isSessfmtError(err, "E_INVALID_ARGUMENT")).toBe(true);
  });
});

describe("a walk can be aborted", () => {
  it("throws E_ABORTED once the signal fires", async () => {
    const dir = tmp();
    put(dir, "a.jsonl");
    put(dir, "b.jsonl");
    const ac = new AbortController();
    const seen: string[] = [];
    const err = await (async () => {
      for await (const f of findSessionFiles([dir], { signal: ac.signal })) {
        seen.push(f);
        ac.abort();
      }
    })().catch((e: unknown) => e);
    expect(seen).toHaveLength(1);
    expect(isSessfmtError(err, "E_ABORTED")).toBe(true);
  });
});

describe("sidecar directories beside sessions are not walked into", () => {
  it("<stem>.v2 and <stem>.v2.staging-* are skipped; a root given explicitly is still walked", async () => {
    const d = tmp();
    const s = put(d, "proj/s.jsonl");
    // A session-shaped file inside would be found if the walk entered these directories.
    put(d, "proj/s.v2/index/offsets.jsonl");
    put(d, "proj/s.v2.staging-0001/segments/x.jsonl");
    put(d, "proj/s.v2.staging-0001.removed/y.jsonl");
    expect(await collect([d])).toEqual([s]);
    const inside = put(d, "other.v2/z.jsonl");
    expect(await collect([join(d, "other.v2")])).toEqual([inside]);
  });
});
