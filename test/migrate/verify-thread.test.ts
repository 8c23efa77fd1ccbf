/**
 * verify's validation in a second thread (src/migrate/validate-thread.ts) gives the very
 * report of the in-process validation: on a faithful sidecar (the worker's report is
 * used), and on damaged ones (the comparison did not vouch for every frame, so the
 * validation runs again in-process). The thread needs the compiled worker script, so
 * these tests run the built package (dist/).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { crc32cHex, migrateJsonlToV2, type VerifyOptions, type VerifyReport } from "../../src/index.js";
import { assertBuilt, chain, DIST_INDEX, HEADER, PROJECT, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();
const seg = (f: string) => f.replace(/\.jsonl$/, `.v2/segments/${"1".padStart(16, "0")}.seg`);
const idx = (f: string) => f.replace(/\.jsonl$/, ".v2/index/offsets.jsonl");

type Verify = (file: string, opts?: VerifyOptions) => Promise<VerifyReport>;
let verify: Verify;

beforeAll(async () => {
  assertBuilt();
  // Without the compiled worker script there would be no second thread to compare with.
  expect(existsSync(join(PROJECT, "dist", "migrate", "validate-worker.js"))).toBe(true);
  verify = ((await import(pathToFileURL(DIST_INDEX).href)) as { verifyV2AgainstJsonl: Verify }).verifyV2AgainstJsonl;
});

async function migrated(n: number): Promise<string> {
  const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(n)]);
  await migrateJsonlToV2(f);
  return f;
}

/** Both reports, without the timing. */
async function both(f: string): Promise<{ threaded: unknown; inProcess: unknown }> {
  const strip = ({ durationMs: _, ...rest }: VerifyReport) => rest;
  return { threaded: strip(await verify(f, { validationThread: "always" })), inProcess: strip(await verify(f, { validationThread: "never" })) };
}

function patch(file: string, from: string, to: string): void {
  const text = readFileSync(file, "latin1");
  expect(text.includes(from)).toBe(true);
  writeFileSync(file, Buffer.from(text.replace(from, to), "latin1"));
}

describe("verify with validation in a second thread", () => {
  it("a faithful sidecar: the same clean report", async () => {
    const f = await migrated(40);
    const r = await both(f);
    expect(r.threaded).toEqual(r.inProcess);
    expect(r.threaded).toMatchObject({ ok: true, mismatchCount: 0, validation: { ok: true, errors: 0 } });
  });

  it("a changed payload byte: the same mismatches and validation problems", async () => {
    const f = await migrated(12);
    patch(seg(f), "message 7", "massage 7");
    const r = await both(f);
    expect(r.threaded).toEqual(r.inProcess);
    expect(r.threaded).toMatchObject({ ok: false, validation: { ok: false } });
    expect((r.threaded as VerifyReport).validation.problems.map((p) => p.code)).toContain("frame_crc_mismatch");
  });

  it("a payload changed and its CRC re-sealed: validation's payload hash check still fires", async () => {
    const f = await migrated(8);
    patch(seg(f), "message 3", "MESSAGE 3");
    const rows = readFileSync(idx(f), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
    const bytes = readFileSync(seg(f));
    for (const row of rows) row.crc32c = crc32cHex(bytes.subarray(row.byteOffset as number, (row.byteOffset as number) + (row.byteLength as number)));
    writeFileSync(idx(f), rows.map((row) => JSON.stringify(row)).join("\n") + "\n");
    const r = await both(f);
    expect(r.threaded).toEqual(r.inProcess);
    expect((r.threaded as VerifyReport).validation.problems.map((p) => p.code)).toContain("payload_hash_mismatch");
  });

  it("a JSONL changed inside the indexed prefix: the thread's prefix hash finds it as the in-process one does", async () => {
    const f = await migrated(10);
    patch(f, "message 4", "message X");
    const r = await both(f);
    expect(r.threaded).toEqual(r.inProcess);
    const t = r.threaded as VerifyReport;
    expect(t.freshness.state).toBe("stale");
    expect(t.mismatches[0]?.code).toBe("prefix_changed");
    expect(t.mismatches.length).toBeGreaterThan(1);
  });

  it("a JSONL grown after the prefix: fresh content, the same report either way", async () => {
    const f = await migrated(6);
    appendFileSync(f, `${JSON.stringify(chain(7)[6])}\n`);
    const r = await both(f);
    expect(r.threaded).toEqual(r.inProcess);
    expect(r.threaded).toMatchObject({ ok: true, behind: 1, freshness: { state: "behind" } });
  });
});
