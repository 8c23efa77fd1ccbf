/**
 * migrate's integrity_check reuses the build's scan and line hashes (SPEC 14.4), but it
 * must still catch a staged sidecar written wrong: each test damages the staging root
 * (or the JSONL) just before the check runs and expects the migration to fail with
 * E_VERIFY_MISMATCH and leave no sidecar.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { crc32cHex, migrateJsonlToV2, type PhaseContext } from "../../src/index.js";
import { chain, HEADER, useTempDirs, writeLines } from "./helpers.js";

const temp = useTempDirs();
const SEG = join("segments", `${"1".padStart(16, "0")}.seg`);
const IDX = join("index", "offsets.jsonl");

function replaceIn(file: string, from: string, to: string): void {
  expect(to.length).toBe(from.length);
  const text = readFileSync(file, "latin1");
  expect(text.includes(from)).toBe(true);
  writeFileSync(file, Buffer.from(text.replace(from, to), "latin1"));
}

/** Recompute every index row's CRC from the segment, so that only deeper checks can notice. */
function resealCrcs(staging: string): void {
  const rows = readFileSync(join(staging, IDX), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, number | string>);
  const bytes = readFileSync(join(staging, SEG));
  for (const row of rows) row.crc32c = crc32cHex(bytes.subarray(row.byteOffset as number, (row.byteOffset as number) + (row.byteLength as number)));
  writeFileSync(join(staging, IDX), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
}

async function migrateDamaged(damage: (ctx: { staging: string; file: string }) => void): Promise<{ file: string; err: unknown }> {
  const file = writeLines(join(temp(), "s.jsonl"), [HEADER, ...chain(10)]);
  const onPhase = (phase: string, ctx: PhaseContext) => {
    if (phase === "integrity_check" && ctx.staging) damage({ staging: ctx.staging, file });
  };
  const err = await migrateJsonlToV2(file, { onPhase }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { file, err };
}

function expectRefused(r: { file: string; err: unknown }, code: string): void {
  expect(r.err).toMatchObject({ code: "E_VERIFY_MISMATCH" });
  const codes = ((r.err as { data: { verify: { mismatches: { code: string }[] } } }).data.verify.mismatches ?? []).map((m) => m.code);
  expect(codes).toContain(code);
  expect(existsSync(r.file.replace(/\.jsonl$/, ".v2"))).toBe(false);
}

describe("integrity_check finds a staged sidecar written wrong", () => {
  it("a changed payload byte in a staged segment", async () => {
    expectRefused(await migrateDamaged(({ staging }) => replaceIn(join(staging, SEG), "message 6", "massage 6")), "crc_mismatch");
  });

  it("a changed payload with its row's CRC re-sealed", async () => {
    expectRefused(
      await migrateDamaged(({ staging }) => {
        replaceIn(join(staging, SEG), "message 6", "massage 6");
        resealCrcs(staging);
      }),
      "payload_mismatch",
    );
  });

  it("a frame's recorded payloadSha256 changed, its CRC re-sealed", async () => {
    expectRefused(
      await migrateDamaged(({ staging }) => {
        const text = readFileSync(join(staging, SEG), "latin1");
        const sha = /"payloadSha256":"([0-9a-f]{64})"/.exec(text.split("\n")[4] as string)?.[1] as string;
        replaceIn(join(staging, SEG), sha, `${sha.slice(0, 63)}${sha[63] === "0" ? "1" : "0"}`);
        resealCrcs(staging);
      }),
      "payload_hash_mismatch",
    );
  });

  it("a wrong CRC in a staged index row", async () => {
    expectRefused(
      await migrateDamaged(({ staging }) => {
        const lines = readFileSync(join(staging, IDX), "utf8").split("\n");
        const row = JSON.parse(lines[3] as string) as { crc32c: string };
        lines[3] = JSON.stringify({ ...JSON.parse(lines[3] as string), crc32c: row.crc32c === "00000000" ? "00000001" : "00000000" });
        writeFileSync(join(staging, IDX), lines.join("\n"));
      }),
      "crc_mismatch",
    );
  });

  it("a JSONL line changed in place after the build (same length)", async () => {
    expectRefused(await migrateDamaged(({ file }) => replaceIn(file, "message 3", "massage 3")), "payload_mismatch");
  });
});
