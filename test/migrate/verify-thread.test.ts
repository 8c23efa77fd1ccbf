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

  it("a JSONL changed inside the indexed prefix: prefix_changed, first, either way", async () => {
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

  it("a thread started ahead of its request (as migrate starts it before the build) gives the same report", async () => {
    const f = await migrated(9);
    const dist = (await import(pathToFileURL(join(PROJECT, "dist", "migrate", "validate-thread.js")).href)) as typeof import("../../src/migrate/validate-thread.js");
    const idle = dist.prestartValidationThread();
    const ahead = await idle.begin({ root: f.replace(/\.jsonl$/, ".v2") }).result;
    await idle.stop();
    const direct = await dist.startThreadedValidation({ root: f.replace(/\.jsonl$/, ".v2") }).result;
    expect(ahead).toBeDefined();
    expect(ahead).toEqual(direct);
    expect(ahead?.report.ok).toBe(true);
    // An idle thread that is never begun is stopped; one begun twice answers the second time with nothing.
    await dist.prestartValidationThread().stop();
    const twice = dist.prestartValidationThread();
    twice.begin({ root: f.replace(/\.jsonl$/, ".v2") });
    expect(await twice.begin({ root: f.replace(/\.jsonl$/, ".v2") }).result).toBeUndefined();
    await twice.stop();
  });

  it("migrate with its thread started before the build: created, and a failure before the check stops the thread", async () => {
    const migrate = ((await import(pathToFileURL(DIST_INDEX).href)) as { migrateJsonlToV2: typeof migrateJsonlToV2 }).migrateJsonlToV2;
    const f = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(30)]);
    await expect(migrate(f, { validationThread: "always", failAt: "integrity_check" })).rejects.toMatchObject({ code: "E_IO" });
    const r = await migrate(f, { validationThread: "always" });
    expect(r).toMatchObject({ action: "created", entries: 30, verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true } });
    expect((await verify(f, { validationThread: "never" })).ok).toBe(true);
  });
});
