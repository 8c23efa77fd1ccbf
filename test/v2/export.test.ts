/**
 * SPEC 11.17: lossless export.
 */
import { readFileSync, statSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, exportJsonlFromSidecar } from "../../src/index.js";
import { copyFixture, expectedExport, HEADER, linear, rejectsWith, Scratch, writeSession } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

describe("11.17 Export", () => {
  it("gives back a clean file byte for byte, into a new private file", async () => {
    const dir = scratch.sub();
    const file = copyFixture(dir, "v3-branched.jsonl");
    await createV2SidecarFromJsonl(file, { segmentBytes: 1000 });
    const out = join(dir, "out.jsonl");
    const r = await exportJsonlFromSidecar(file, { output: out });
    expect(readFileSync(out).equals(readFileSync(file))).toBe(true);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(r).toMatchObject({ entries: 14, bytes: statSync(file).size, output: out });
    await rejectsWith(exportJsonlFromSidecar(file, { output: out }), "E_EXISTS");
  });

  it("gives the header and the valid entry lines, each exactly as written, for files with junk, CRLF or a BOM", async () => {
    for (const name of ["corrupt-lines.jsonl", "crlf.jsonl", "bom.jsonl", "blank-lines.jsonl", "truncated-tail.jsonl", "truncated-tail-complete.jsonl", "unicode-separators.jsonl"]) {
      const dir = scratch.sub();
      const file = copyFixture(dir, name);
      await createV2SidecarFromJsonl(file);
      const chunks: Buffer[] = [];
      await exportJsonlFromSidecar(file, { write: (c) => void chunks.push(c) });
      expect(Buffer.concat(chunks).equals(expectedExport(file)), name).toBe(true);
    }
  });

  it("the header comes from the JSONL; a different header is E_SIDECAR_STALE unless allowed, and no header is E_INVALID_ARGUMENT", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(2)]);
    const r = await createV2SidecarFromJsonl(file);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace('"cwd":"/w"', '"cwd":"/x"'));
    await rejectsWith(exportJsonlFromSidecar(file), "E_SIDECAR_STALE");
    const allowed = await exportJsonlFromSidecar(file, { allowHeaderChange: true });
    expect(allowed.data?.toString()).toBe(text.replace('"cwd":"/w"', '"cwd":"/x"'));
    await rejectsWith(exportJsonlFromSidecar(r.root.replace(/s\.v2$/, "other.v2")), "E_SIDECAR_MISSING");
    const { renameSync } = await import("node:fs");
    const moved = join(dir, "moved-store");
    renameSync(r.root, moved);
    await rejectsWith(exportJsonlFromSidecar(moved), "E_INVALID_ARGUMENT");
    const withHeader = await exportJsonlFromSidecar(moved, { header: Buffer.from(JSON.stringify(HEADER)) });
    expect(withHeader.data?.toString()).toBe(text);
  });

  it("a damaged frame stops the export with E_SIDECAR_CORRUPT and leaves no partial output", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    const r = await createV2SidecarFromJsonl(file);
    const seg = join(r.root, "segments/0000000000000001.seg");
    const b = readFileSync(seg);
    b[b.lastIndexOf("text")] = 0x54;
    writeFileSync(seg, b);
    const out = join(dir, "out.jsonl");
    const err = await rejectsWith(exportJsonlFromSidecar(file, { output: out }), "E_SIDECAR_CORRUPT");
    expect(err.message).toMatch(/entrySeq 3/);
    expect(existsSync(out)).toBe(false);
  });
});
