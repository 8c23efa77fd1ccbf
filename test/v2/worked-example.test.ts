/**
 * SPEC 11.19: the worked example in SPEC.md is what the code writes, byte for byte; and
 * one frame's CRC and one chain step are checked here without the code under test.
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, openSidecar, validateSidecar } from "../../src/index.js";
import { Scratch } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

const SPEC = readFileSync(join(dirname(fileURLToPath(import.meta.url)), "../../SPEC.md"), "utf8");
const SECTION = SPEC.slice(SPEC.indexOf("### 11.19 Worked example"), SPEC.indexOf("### 11.20"));

/** The fenced block after `<!-- example:NAME -->`, as its lines joined with "\n". */
function block(name: string): string {
  const at = SECTION.indexOf(`<!-- example:${name} -->`);
  if (at < 0) throw new Error(`SPEC 11.19 has no example block ${name}`);
  const open = SECTION.indexOf("```\n", at) + 4;
  const close = SECTION.indexOf("\n```", open);
  return SECTION.slice(open, close);
}

/** CRC-32C, one bit at a time, from the definition. */
function bitwiseCrc32c(data: Uint8Array): string {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return ((c ^ 0xffffffff) >>> 0).toString(16).toUpperCase().padStart(8, "0");
}

describe("11.19 Worked example", () => {
  it("the code writes exactly the segments, index and manifest shown in SPEC.md", async () => {
    const dir = scratch.sub();
    const file = join(dir, "s.jsonl");
    writeFileSync(file, `${block("jsonl")}\n`);
    const r = await createV2SidecarFromJsonl(file, { segmentBytes: 1024, now: () => new Date("2025-01-01T00:00:10.000Z") });
    expect(readFileSync(join(r.root, "segments/0000000000000001.seg"), "utf8")).toBe(`${block("segment-1")}\n`);
    expect(readFileSync(join(r.root, "segments/0000000000000002.seg"), "utf8")).toBe(`${block("segment-2")}\n`);
    expect(readFileSync(join(r.root, "index/offsets.jsonl"), "utf8")).toBe(`${block("index")}\n`);
    expect(readFileSync(join(r.root, "manifest.json"), "utf8")).toBe(block("manifest"));
    const hashes = Object.fromEntries(block("hashes").split("\n").map((l) => l.split(/\s*=\s*/) as [string, string]));
    expect(r.chainHash).toBe(hashes["chain[3]"]);
    const store = await openSidecar(file);
    expect(store.rows.map((row) => row.crc32c)).toEqual(block("index").split("\n").map((l) => JSON.parse(l).crc32c));
    await store.close();
    expect((await validateSidecar(file)).ok).toBe(true);
  });

  it("frame 1's CRC-32C, checked bit by bit, is the index's; its payload hash and chain step, checked with node:crypto, are the SPEC's", () => {
    const seg1 = Buffer.from(`${block("segment-1")}\n`);
    const rows = block("index").split("\n").map((l) => JSON.parse(l) as { byteOffset: number; byteLength: number; crc32c: string });
    const row1 = rows[0] as (typeof rows)[number];
    const frame1 = seg1.subarray(row1.byteOffset, row1.byteOffset + row1.byteLength);
    expect(frame1[frame1.length - 1]).toBe(0x0a);
    expect(bitwiseCrc32c(frame1)).toBe(row1.crc32c);
    const row2 = rows[1] as (typeof rows)[number];
    expect(bitwiseCrc32c(seg1.subarray(row2.byteOffset, row2.byteOffset + row2.byteLength))).toBe(row2.crc32c);

    const lines = block("jsonl").split("\n");
    const hashes = Object.fromEntries(block("hashes").split("\n").map((l) => l.split(/\s*=\s*/) as [string, string]));
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    let chain = "0".repeat(64);
    expect(hashes["chain[0]"]).toBe(chain);
    for (let i = 1; i <= 3; i++) {
      const payload = lines[i] as string;
      expect(sha(payload)).toBe(hashes[`payloadSha256[${i}]`]);
      expect(JSON.parse(frame(i)).payloadSha256).toBe(sha(payload));
      chain = createHash("sha256").update(`${chain}${sha(payload)}`, "ascii").digest("hex");
      expect(chain).toBe(hashes[`chain[${i}]`]);
    }
    const manifest = JSON.parse(block("manifest"));
    expect(manifest.integrity.chainHash).toBe(chain);
    expect(manifest.integrity.manifestHash).toBe(sha(JSON.stringify({ ...manifest, integrity: { ...manifest.integrity, manifestHash: "" } })));

    function frame(i: number): string {
      return i <= 2 ? (block("segment-1").split("\n")[i - 1] as string) : block("segment-2");
    }
  });
});
