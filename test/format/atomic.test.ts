import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chmodSync, readdirSync, readFileSync, realpathSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { isSessfmtError, rewriteFileAtomic, writeFileExclusive, type SessfmtError } from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
let file: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-atomic-");
  dir = realpathSync(tmp.dir);
  file = join(dir, "s.jsonl");
  writeFileSync(file, "original\n");
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

const listing = () => readdirSync(dir).sort();

describe("rewriteFileAtomic replaces the content and keeps the original as a backup", () => {
  it("writes the new content and keeps <file>.bak by default", async () => {
    const r = await rewriteFileAtomic(file, async (out) => {
      await out.write("new ");
      await out.write(Buffer.from("content\n"));
    });
    expect(readFileSync(file, "utf8")).toBe("new content\n");
    expect(r.backupPath).toBe(`${file}.bak`);
    expect(readFileSync(`${file}.bak`, "utf8")).toBe("original\n");
    expect(r.bytes).toBe(12);
    expect(listing()).toEqual(["s.jsonl", "s.jsonl.bak"]);
  });

  it("uses <file>.bak.N when <file>.bak exists, never overwriting a backup", async () => {
    writeFileSync(`${file}.bak`, "older backup\n");
    writeFileSync(`${file}.bak.1`, "older backup 1\n");
    const r = await rewriteFileAtomic(file, (out) => out.write("v2\n"));
    expect(r.backupPath).toBe(`${file}.bak.2`);
    expect(readFileSync(`${file}.bak`, "utf8")).toBe("older backup\n");
    expect(readFileSync(`${file}.bak.2`, "utf8")).toBe("original\n");
  });

  it("uses a given backup path, and refuses one that exists with E_EXISTS (original untouched)", async () => {
    const dest = join(dir, "kept.jsonl");
    const r = await rewriteFileAtomic(file, (out) => out.write("v2\n"), { backup: dest });
    expect(r.backupPath).toBe(dest);
    expect(readFileSync(dest, "utf8")).toBe("original\n");
    const err = await rejection(rewriteFileAtomic(file, (out) => out.write("v3\n"), { backup: dest }));
    expect(err.code).toBe("E_EXISTS");
    expect(readFileSync(file, "utf8")).toBe("v2\n");
    expect(listing()).toEqual(["kept.jsonl", "s.jsonl"]);
  });

  it("makes no backup with backup: false", async () => {
    const r = await rewriteFileAtomic(file, (out) => out.write("v2\n"), { backup: false });
    expect(r.backupPath).toBeUndefined();
    expect(listing()).toEqual(["s.jsonl"]);
  });

  it("keeps the original's permission bits", async () => {
    chmodSync(file, 0o640);
    await rewriteFileAtomic(file, (out) => out.write("v2\n"), { backup: false });
    expect(statSync(file).mode & 0o777).toBe(0o640);
  });

  it("rewrites the target of a symlink, leaving the link in place", async () => {
    const link = join(dir, "link.jsonl");
    symlinkSync(file, link);
    const r = await rewriteFileAtomic(link, (out) => out.write("via link\n"), { backup: false });
    expect(r.file).toBe(file);
    expect(readFileSync(file, "utf8")).toBe("via link\n");
    expect(readFileSync(link, "utf8")).toBe("via link\n");
  });

  it("round-trips any content written in any chunking (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), async (chunks) => {
        await rewriteFileAtomic(
          file,
          async (out) => {
            for (const c of chunks) await out.write(c);
          },
          { backup: false, durable: false },
        );
        expect(Buffer.compare(readFileSync(file), Buffer.concat(chunks))).toBe(0);
        expect(listing()).toEqual(["s.jsonl"]);
      }),
      { numRuns: 60 },
    );
  });
});

describe("a failed rewrite leaves the original untouched and no temp file", () => {
  it("when the write function throws midway", async () => {
    await expect(
      rewriteFileAtomic(file, async (out) => {
        await out.write("partial");
        throw new Error("producer failed");
      }),
    ).rejects.toThrow("producer failed");
    expect(readFileSync(file, "utf8")).toBe("original\n");
    expect(listing()).toEqual(["s.jsonl"]);
  });

  it("when the file changed since the caller read it (expect), with E_SOURCE_CHANGED", async () => {
    const st = statSync(file);
    const err = await rejection(
      rewriteFileAtomic(
        file,
        async (out) => {
          await out.write("v2\n");
          writeFileSync(file, "original\nappended meanwhile\n");
        },
        { expect: { size: st.size, ino: st.ino } },
      ),
    );
    expect(err.code).toBe("E_SOURCE_CHANGED");
    expect(readFileSync(file, "utf8")).toBe("original\nappended meanwhile\n");
    expect(listing()).toEqual(["s.jsonl"]);
  });

  it("when aborted, with E_ABORTED", async () => {
    const ac = new AbortController();
    const err = await rejection(
      rewriteFileAtomic(
        file,
        async (out) => {
          await out.write("a");
          ac.abort();
          await out.write("b");
        },
        { signal: ac.signal },
      ),
    );
    expect(err.code).toBe("E_ABORTED");
    expect(readFileSync(file, "utf8")).toBe("original\n");
    expect(listing()).toEqual(["s.jsonl"]);
  });

  it("when the backup cannot be made after the temp file was written", async () => {
    const err = await rejection(rewriteFileAtomic(file, (out) => out.write("v2\n"), { backup: join(dir, "no-such-dir", "b.jsonl") }));
    expect(err.code).toBe("E_NOT_FOUND");
    expect(readFileSync(file, "utf8")).toBe("original\n");
    expect(listing()).toEqual(["s.jsonl"]);
  });
});

describe("writeFileExclusive creates a complete file or nothing, never replacing one", () => {
  it("creates the file with mode 0600", async () => {
    const target = join(dir, "new.jsonl");
    await writeFileExclusive(target, (out) => out.write("hello\n"));
    expect(readFileSync(target, "utf8")).toBe("hello\n");
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(listing()).toEqual(["new.jsonl", "s.jsonl"]);
  });

  it("refuses an existing name with E_EXISTS and leaves it as it was", async () => {
    const err = await rejection(writeFileExclusive(file, (out) => out.write("clobber\n")));
    expect(err.code).toBe("E_EXISTS");
    expect(readFileSync(file, "utf8")).toBe("original\n");
    expect(listing()).toEqual(["s.jsonl"]);
  });

  it("does not follow a symlink at the name", async () => {
    const victim = join(dir, "victim.txt");
    writeFileSync(victim, "keep\n");
    const link = join(dir, "planted.jsonl");
    symlinkSync(victim, link);
    const err = await rejection(writeFileExclusive(link, (out) => out.write("evil\n")));
    expect(err.code).toBe("E_EXISTS");
    expect(readFileSync(victim, "utf8")).toBe("keep\n");
  });

  it("leaves nothing behind when the producer fails", async () => {
    const target = join(dir, "new.jsonl");
    await expect(
      writeFileExclusive(target, async (out) => {
        await out.write("half");
        throw new Error("nope");
      }),
    ).rejects.toThrow("nope");
    expect(listing()).toEqual(["s.jsonl"]);
  });
});
