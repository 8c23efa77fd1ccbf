/**
 * RangeWindowReader (src/v2/range-window.ts): whatever the window size, the order of the
 * ranges and the read-ahead, every range reads as the file's bytes; views stay valid
 * after later reads (until the next read with reused windows); a file that ends early is
 * E_SOURCE_CHANGED; PrefixHasher, fed by what a pass reads, gives the hash of the prefix;
 * and sha256OfRange (which reads the next buffer while it hashes this one) is the hash of
 * the range.
 */
import { createHash, randomBytes } from "node:crypto";
import { appendFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { RANGE_HEADROOM_BYTES, RangeWindowReader } from "../../src/v2/range-window.js";
import { PrefixHasher, readHeaderLine, sha256OfRange } from "../../src/v2/source-file.js";
import { Scratch } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

describe("RangeWindowReader", () => {
  it("reads every range as the file's bytes, in order or not, and earlier views stay intact", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.array(fc.record({ at: fc.nat(), len: fc.integer({ min: 0, max: 300 }), jump: fc.boolean() }), { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        async (size, window, steps, reuse) => {
          const data = randomBytes(size);
          const file = join(scratch.sub(), "f");
          writeFileSync(file, data);
          const r = await RangeWindowReader.open(file, undefined, window);
          if (reuse) r.reuseWindows();
          const kept: [Buffer, number, number][] = [];
          try {
            // Mostly ascending ranges (lines in file order, some cut by a window's end), sometimes a jump anywhere.
            let pos = 0;
            for (const s of steps) {
              const offset = s.jump ? s.at % (size + 1) : Math.min(size, pos + (s.at % 40));
              const len = Math.min(s.len, size - offset);
              const got = await r.read(offset, len);
              expect(got.equals(data.subarray(offset, offset + len))).toBe(true);
              kept.push([got, offset, len]);
              pos = offset + len;
            }
            // Views stay valid, unless the windows are reused (then only until the next read).
            if (!reuse) for (const [b, o, l] of kept) expect(b.equals(data.subarray(o, o + l))).toBe(true);
            const past = await r.readUpTo(size, 5);
            expect(past.length).toBe(0);
            if (size > 0) await expect(r.read(size - 1, 2)).rejects.toMatchObject({ code: "E_SOURCE_CHANGED" });
          } finally {
            await r.close();
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("carries a range cut by the window's end into the read-ahead window, or reads it again when it is longer than the headroom", async () => {
    const window = 256 << 10;
    const data = randomBytes(3 * window + 1000);
    const file = join(scratch.sub(), "f");
    writeFileSync(file, data);
    const r = await RangeWindowReader.open(file, undefined, window);
    try {
      const short = [0, window - 100] as const; // then 300 bytes cut by the first window's end
      expect((await r.read(short[0], 10)).equals(data.subarray(0, 10))).toBe(true);
      expect((await r.read(short[1], 300)).equals(data.subarray(short[1], short[1] + 300))).toBe(true);
      const long = 2 * window - RANGE_HEADROOM_BYTES - 10; // cut by the second window's end, longer than the headroom
      expect((await r.read(long, RANGE_HEADROOM_BYTES + 100)).equals(data.subarray(long, long + RANGE_HEADROOM_BYTES + 100))).toBe(true);
      const huge = 2 * window + 10; // longer than a window
      expect((await r.read(huge, window + 500)).equals(data.subarray(huge, huge + window + 500))).toBe(true);
    } finally {
      await r.close();
    }
  });

  it("reads what was appended after it was opened, and stops where the file ends", async () => {
    const file = join(scratch.sub(), "f");
    const a = randomBytes(1000);
    writeFileSync(file, a);
    const r = await RangeWindowReader.open(file, undefined, 64);
    try {
      expect((await r.read(0, 10)).equals(a.subarray(0, 10))).toBe(true);
      const b = randomBytes(500);
      appendFileSync(file, b);
      const all = Buffer.concat([a, b]);
      expect((await r.read(990, 200)).equals(all.subarray(990, 1190))).toBe(true);
      expect((await r.readUpTo(1400, 200)).equals(all.subarray(1400))).toBe(true);
      await expect(r.read(1400, 200)).rejects.toMatchObject({ code: "E_SOURCE_CHANGED", offset: 1500 });
    } finally {
      await r.close();
    }
  });

  it("closes with a read-ahead still running", async () => {
    const file = join(scratch.sub(), "f");
    writeFileSync(file, randomBytes(1 << 20));
    const r = await RangeWindowReader.open(file, undefined, 4096);
    await r.read(0, 1);
    await r.close();
  });

  it("refuses another file or a shorter one than expected", async () => {
    const file = join(scratch.sub(), "f");
    writeFileSync(file, randomBytes(100));
    const r = await RangeWindowReader.open(file);
    await r.close();
    await expect(RangeWindowReader.open(file, { dev: 0, ino: 0, size: 100 })).rejects.toMatchObject({ code: "E_SOURCE_CHANGED" });
  });
});

describe("PrefixHasher", () => {
  it("hashes [0, end) from the runs a pass reads, whatever the pass skips or reads again", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5000 }),
        fc.integer({ min: 1, max: 700 }),
        fc.nat(),
        fc.array(fc.record({ gap: fc.integer({ min: 0, max: 120 }), len: fc.integer({ min: 0, max: 400 }), back: fc.integer({ min: 0, max: 5 }) }), { maxLength: 40 }),
        fc.boolean(),
        async (size, window, endAt, steps, begin) => {
          const data = randomBytes(size);
          const file = join(scratch.sub(), "f");
          writeFileSync(file, data);
          const end = endAt % (size + 1);
          const h = new PrefixHasher(file, end);
          const r = (await RangeWindowReader.open(file, undefined, window)).reuseWindows();
          try {
            r.observe((start, bytes) => h.feed(start, bytes));
            if (begin) await r.begin(0);
            let pos = 0;
            for (const s of steps) {
              // Mostly forward (lines and the bytes between them), sometimes a step back.
              const offset = Math.min(size, Math.max(0, pos + s.gap - s.back * 50));
              const len = Math.min(s.len, size - offset);
              expect((await r.read(offset, len)).equals(data.subarray(offset, offset + len))).toBe(true);
              pos = offset + len;
            }
          } finally {
            await r.close();
          }
          expect(await h.digest()).toBe(createHash("sha256").update(data.subarray(0, end)).digest("hex"));
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("sha256OfRange", () => {
  it("is the SHA-256 of the range, across buffer boundaries", async () => {
    const data = randomBytes((9 << 20) + 123);
    const file = join(scratch.sub(), "f");
    writeFileSync(file, data);
    const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
    for (const [s, e] of [[0, data.length], [5, 5], [7, (4 << 20) + 9], [(4 << 20) - 1, (8 << 20) + 1]] as const) {
      expect(await sha256OfRange(file, s, e)).toBe(sha(data.subarray(s, e)));
    }
    await expect(sha256OfRange(file, 0, data.length + 1)).rejects.toMatchObject({ code: "E_SOURCE_CHANGED" });
    const ac = new AbortController();
    ac.abort();
    await expect(sha256OfRange(file, 0, data.length, ac.signal)).rejects.toMatchObject({ code: "E_ABORTED" });
  });
});

describe("readHeaderLine", () => {
  it("finds the first non-blank line, however long and however the chunks fall", async () => {
    const dir = scratch.sub();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom("", " ", "\t", "\r"), { maxLength: 4 }),
        fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.constantFrom(1023, 1024, 1025, 3071, 3072, 7168, 200_000)),
        fc.boolean(),
        async (blanks, length, crlf) => {
          const header = `{"type":"session","pad":"${"x".repeat(Math.max(0, length - 26))}"}`;
          const lead = blanks.map((b) => `${b}\n`).join("");
          const file = join(dir, `h${n++}.jsonl`);
          writeFileSync(file, `${lead}${header}${crlf ? "\r\n" : "\n"}{"type":"message"}\n`);
          const got = await readHeaderLine(file);
          expect(got.bytes.toString()).toBe(header);
          expect(got.offset).toBe(Buffer.byteLength(lead));
          expect(got.line).toBe(blanks.length + 1);
        },
      ),
      { numRuns: 60 },
    );
  });
});
