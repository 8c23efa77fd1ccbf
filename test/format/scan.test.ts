/**
 * SPEC 1 (files and lines): the byte-level line scanner.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { LineSplitter, scanBuffer, scanFile, scanFileSync, type LineSpan } from "../../src/format/index.js";

interface Line {
  text: string; // bytes as latin1, so any byte survives
  span: LineSpan;
}

/** Feed `data` to a LineSplitter `chunk` bytes at a time. */
function split(data: Buffer, chunk: number, maxLineBytes?: number, startOffset = 0, startLine = 1): Line[] {
  const out: Line[] = [];
  const s = new LineSplitter((bytes, span) => out.push({ text: bytes.toString("latin1"), span }), maxLineBytes, startOffset, startLine);
  for (let pos = 0; pos < data.length; pos += chunk) s.push(data.subarray(pos, pos + chunk));
  s.end();
  return out;
}

/** The model: split on 0x0A only; a "\r" before it belongs to the terminator; no line for an empty remainder. */
function model(data: Buffer, maxLineBytes = Infinity): Line[] {
  const out: Line[] = [];
  let start = 0;
  let line = 1;
  for (;;) {
    const nl = data.indexOf(0x0a, start);
    if (nl === -1 && start >= data.length) break;
    const end = nl === -1 ? data.length : nl;
    let length = end - start;
    let eol: 0 | 1 | 2 = nl === -1 ? 0 : 1;
    if (nl !== -1 && length > 0 && data[end - 1] === 0x0d) {
      length -= 1;
      eol = 2;
    }
    const oversize = length > maxLineBytes;
    out.push({ text: oversize ? "" : data.toString("latin1", start, start + length), span: { line, offset: start, length, eol, oversize } });
    line += 1;
    if (nl === -1) break;
    start = nl + 1;
  }
  return out;
}

/** Content made of the bytes that matter: "\r", "\n", U+2028/U+2029 (E2 80 A8/A9), a lone 0xE2, and text. */
const piece = fc.constantFrom("\r", "\n", "\r\n", "\u2028", "\u2029", "a", "{}", '"x"', "\u00e9", "\uffff");
const content = fc
  .array(fc.oneof(piece.map((p) => Buffer.from(p, "utf8")), fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a))), { maxLength: 60 })
  .map((parts) => Buffer.concat(parts));

describe("lines are the same for any chunk size (1..64) and any content", () => {
  it("LineSplitter output equals the split-on-0x0A model", () => {
    fc.assert(
      fc.property(content, fc.integer({ min: 1, max: 64 }), (data, chunk) => {
        expect(split(data, chunk)).toEqual(model(data));
      }),
      { numRuns: 300 },
    );
  });

  it("scanBuffer with any chunkSize gives the same lines as one big chunk", () => {
    fc.assert(
      fc.property(content, fc.integer({ min: 1, max: 64 }), (data, chunk) => {
        const a: Line[] = [];
        const b: Line[] = [];
        scanBuffer(data, (bytes, span) => a.push({ text: bytes.toString("latin1"), span }), { chunkSize: chunk });
        scanBuffer(data, (bytes, span) => b.push({ text: bytes.toString("latin1"), span }));
        expect(a).toEqual(b);
      }),
      { numRuns: 150 },
    );
  });
});

describe("offsets, lengths and line ends tile the input exactly", () => {
  it("each line starts where the previous one's terminator ended, and the last ends at the input's end", () => {
    fc.assert(
      fc.property(content, fc.integer({ min: 1, max: 64 }), (data, chunk) => {
        const lines = split(data, chunk);
        let pos = 0;
        lines.forEach((l, i) => {
          expect(l.span.line).toBe(i + 1);
          expect(l.span.offset).toBe(pos);
          expect(data.toString("latin1", pos, pos + l.span.length)).toBe(l.text);
          const term = data.toString("latin1", pos + l.span.length, pos + l.span.length + l.span.eol);
          expect(term).toBe(["", "\n", "\r\n"][l.span.eol]);
          pos += l.span.length + l.span.eol;
        });
        expect(pos).toBe(data.length);
      }),
      { numRuns: 300 },
    );
  });

  it("startOffset and startLine shift every span (resuming a scan in the middle of a file)", () => {
    fc.assert(
      fc.property(content, fc.integer({ min: 1, max: 64 }), fc.nat(1000), fc.integer({ min: 1, max: 1000 }), (data, chunk, off, line) => {
        const base = split(data, chunk);
        const shifted = split(data, chunk, undefined, off, line);
        expect(shifted).toEqual(base.map((l) => ({ ...l, span: { ...l.span, offset: l.span.offset + off, line: l.span.line + line - 1 } })));
      }),
      { numRuns: 100 },
    );
  });
});

describe("only 0x0A ends a line: U+2028, U+2029 and a lone \\r do not", () => {
  it("a line holding raw U+2028/U+2029 bytes and a bare \\r is one line", () => {
    const data = Buffer.from('{"t":"a\u2028b\u2029c\rd"}\n{"t":2}\n', "utf8");
    const lines = split(data, 3);
    expect(lines.map((l) => Buffer.from(l.text, "latin1").toString("utf8"))).toEqual(['{"t":"a\u2028b\u2029c\rd"}', '{"t":2}']);
  });

  it("a \\r\\n whose two bytes arrive in different chunks is still one terminator", () => {
    const data = Buffer.from("ab\r\ncd\r\n");
    expect(split(data, 3).map((l) => [l.text, l.span.eol])).toEqual([
      ["ab", 2],
      ["cd", 2],
    ]);
  });

  it("an empty remainder after the last \\n is not a line; a blank line before it is", () => {
    expect(split(Buffer.from("a\n"), 1).map((l) => l.text)).toEqual(["a"]);
    expect(split(Buffer.from("a\n\n"), 1).map((l) => l.text)).toEqual(["a", ""]);
    expect(split(Buffer.from(""), 1)).toEqual([]);
  });
});

describe("lines longer than maxLineBytes are reported oversize with their true length and do not disturb the next lines", () => {
  it("for any content, chunk size and small limit, spans equal the model and only oversize lines lose their bytes", () => {
    fc.assert(
      fc.property(content, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 8 }), (data, chunk, max) => {
        expect(split(data, chunk, max)).toEqual(model(data, max));
      }),
      { numRuns: 300 },
    );
  });

  it("a line of exactly maxLineBytes is kept, whether it ends in \\n, \\r\\n or nothing", () => {
    for (const chunk of [1, 2, 3, 64]) {
      expect(split(Buffer.from("abcd\nabcd\r\nabcd"), chunk, 4).map((l) => [l.text, l.span.oversize, l.span.eol])).toEqual([
        ["abcd", false, 1],
        ["abcd", false, 2],
        ["abcd", false, 0],
      ]);
    }
  });

  it("an oversize CRLF line reports its length without the \\r", () => {
    for (const chunk of [1, 4, 64]) {
      const [first, second] = split(Buffer.from("abcdef\r\nxy\n"), chunk, 4);
      expect(first!.span).toEqual({ line: 1, offset: 0, length: 6, eol: 2, oversize: true });
      expect(first!.text).toBe("");
      expect(second).toEqual({ text: "xy", span: { line: 2, offset: 8, length: 2, eol: 1, oversize: false } });
    }
  });
});

describe("file scans read the same lines as buffer scans", () => {
  const dir = mkdtempSync(join(tmpdir(), "sessfmt-scan-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("scanFileSync and scanFile match scanBuffer for any content and chunk size, and return the bytes scanned", async () => {
    await fc.assert(
      fc.asyncProperty(content, fc.integer({ min: 1, max: 64 }), async (data, chunk) => {
        const file = join(dir, "f.jsonl");
        writeFileSync(file, data);
        const collect = (into: Line[]) => (bytes: Buffer, span: LineSpan) => into.push({ text: bytes.toString("latin1"), span });
        const fromBuf: Line[] = [];
        const fromSync: Line[] = [];
        const fromAsync: Line[] = [];
        scanBuffer(data, collect(fromBuf));
        expect(scanFileSync(file, collect(fromSync), { chunkSize: chunk })).toBe(data.length);
        expect(await scanFile(file, collect(fromAsync), { chunkSize: chunk })).toBe(data.length);
        expect(fromSync).toEqual(fromBuf);
        expect(fromAsync).toEqual(fromBuf);
      }),
      { numRuns: 60 },
    );
  });

  it("endOffset stops the scan: bytes after it are not read", () => {
    const file = join(dir, "g.jsonl");
    writeFileSync(file, "one\ntwo\nthree\n");
    const lines: string[] = [];
    expect(scanFileSync(file, (b) => lines.push(b.toString()), { endOffset: 8 })).toBe(8);
    expect(lines).toEqual(["one", "two"]);
  });

  it("an aborted signal stops the scan with E_ABORTED", () => {
    const file = join(dir, "h.jsonl");
    writeFileSync(file, "one\ntwo\n");
    const ac = new AbortController();
    ac.abort();
    expect(() => scanFileSync(file, () => {}, { signal: ac.signal })).toThrow(expect.objectContaining({ code: "E_ABORTED", file }));
  });

  it("a missing file is E_NOT_FOUND naming the file", async () => {
    const file = join(dir, "missing.jsonl");
    expect(() => scanFileSync(file, () => {})).toThrow(expect.objectContaining({ code: "E_NOT_FOUND", file }));
    await expect(scanFile(file, () => {})).rejects.toMatchObject({ code: "E_NOT_FOUND", file });
  });
});
