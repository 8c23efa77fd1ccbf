/**
 * format/small-io.ts: reads up to SYNC_READ_MAX bytes are made synchronously, larger ones
 * through the thread pool; both read the same bytes, and both report a failed read as a
 * rejected promise (never a throw from the call itself).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SYNC_READ_MAX, preadAt } from "../../src/format/small-io.js";
import { RangeWindowReader } from "../../src/v2/range-window.js";

const dir = mkdtempSync(join(tmpdir(), "sessfmt-small-io-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const size = SYNC_READ_MAX * 3 + 12345;
const data = Buffer.alloc(size);
for (let i = 0; i < size; i++) data[i] = (i * 131 + (i >> 9)) & 0xff;
const file = join(dir, "data.bin");
writeFileSync(file, data);

describe("preadAt", () => {
  it("reads the bytes at a position, below, at and above the synchronous limit, and short at the end", async () => {
    const fd = openSync(file, "r");
    try {
      for (const [n, pos] of [
        [1, 0],
        [4096, 777],
        [SYNC_READ_MAX, 5],
        [SYNC_READ_MAX + 1, 3],
        [2 * SYNC_READ_MAX, SYNC_READ_MAX - 1],
        [SYNC_READ_MAX, size - 100],
      ] as const) {
        const buf = Buffer.alloc(n + 8, 0xee);
        const got = await preadAt(fd, buf, 8, n, pos);
        expect(got).toBe(Math.min(n, size - pos));
        expect(buf.subarray(8, 8 + got).equals(data.subarray(pos, pos + got))).toBe(true);
        expect(buf.subarray(0, 8).every((b) => b === 0xee)).toBe(true);
      }
      expect(await preadAt(fd, Buffer.alloc(10), 0, 10, size)).toBe(0);
    } finally {
      closeSync(fd);
    }
  });

  it("a failed read rejects, on either path", async () => {
    const fd = openSync(file, "r");
    closeSync(fd);
    for (const n of [16, SYNC_READ_MAX + 16]) {
      let thrown = false;
      const p = (() => {
        try {
          return preadAt(fd, Buffer.alloc(n), 0, n, 0);
        } catch {
          thrown = true;
          return undefined;
        }
      })();
      expect(thrown).toBe(false);
      await expect(p).rejects.toMatchObject({ code: "EBADF" });
    }
  });
});

describe("RangeWindowReader over small and large windows", () => {
  it("reads every range of a file in order, with windows smaller and larger than the synchronous limit", async () => {
    for (const window of [64 * 1024, 4 * SYNC_READ_MAX]) {
      const r = await RangeWindowReader.open(file, undefined, window);
      expect(r.size).toBe(size);
      for (let pos = 0; pos < size; pos += 300_001) {
        const n = Math.min(70_000, size - pos);
        expect((await r.read(pos, n)).equals(data.subarray(pos, pos + n))).toBe(true);
      }
      await r.close();
    }
  });
});

describe("RangeWindowReader recycling", () => {
  it("a reader that reuses its windows leaves its buffer to the next such reader; other readers' views stay valid", async () => {
    const files = [0, 1, 2].map((k) => {
      const f = join(dir, `r${k}.bin`);
      writeFileSync(f, Buffer.alloc(200_000 + k * 1000, 0x41 + k));
      return f;
    });
    const plain = await RangeWindowReader.open(files[0] as string);
    const kept = await plain.read(0, 1000);
    await plain.close();
    for (const f of files.slice(1)) {
      const r = (await RangeWindowReader.open(f)).reuseWindows();
      const view = await r.read(100, 50_000);
      expect(view.every((b) => b === view[0])).toBe(true);
      expect(view[0]).toBe(0x41 + files.indexOf(f));
      await r.close();
    }
    // The plain reader's view was never handed to a reusing reader.
    expect(kept.every((b) => b === 0x41)).toBe(true);
  });
});
