/**
 * Fuzzing of the V2 sidecar (SPEC 11, 13.4, 14): bit flips, truncation, inserted garbage
 * and NUL blocks in segment files, in index/offsets.jsonl and in the other records
 * (manifest, fingerprint, ledger), and whole-file garbage. openSidecar (every mode),
 * validateSidecar, verifyV2AgainstJsonl, migrationStatus, rebuildSidecarIndex and
 * recoverPartialMigration only ever throw SessfmtError, always finish (hang guard), and
 * never change a byte of the JSONL. Each of them, once it returned or threw, holds no more
 * file descriptors open than before it ran (descriptors.ts). fast-check runs are seeded:
 * a failure prints its seed and path; replay with SESSFMT_FUZZ_SEED=<seed>
 * SESSFMT_FUZZ_PATH=<path>.
 * Count: SESSFMT_SIDECAR_FUZZ_RUNS.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  SessfmtError,
  migrateJsonlToV2,
  migrationStatus,
  openSidecar,
  rebuildSidecarIndex,
  recoverPartialMigration,
  validateSidecar,
  verifyV2AgainstJsonl,
} from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { prng } from "../helpers/reliability/crash-harness.js";
import { writeSession } from "../helpers/reliability/sidecar-crash.js";
import { fcParams } from "../helpers/reliability/scale.js";
import { hangGuardMs, sidecarScale } from "../helpers/reliability/sidecar-scale.js";
import { fileTally } from "../helpers/reliability/tally.js";
import { leakWatch } from "../helpers/reliability/descriptors.js";

const tally = fileTally("sidecar-fuzz");
const leaks = leakWatch(() => tally.note("sidecar fuzz: descriptor leak checks"));

let tmp: ReturnType<typeof makeTempDir>;
let base: string;
let template: string;
let segments: string[];
let caseNo = 0;
beforeAll(async () => {
  tmp = makeTempDir("sessfmt-sidecar-fuzz-");
  base = realpathSync(tmp.dir);
  template = join(base, "template");
  mkdirSync(template);
  writeSession(join(template, "s.jsonl"), 120, prng(20_251_121));
  await migrateJsonlToV2(join(template, "s.jsonl"), { segmentBytes: 4096 });
  segments = readdirSync(join(template, "s.v2", "segments")).sort();
  expect(segments.length).toBeGreaterThan(3);
});
afterAll(() => tmp.cleanup());

type Damage =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "nul"; at: number; length: number }
  | { kind: "replace"; bytes: Uint8Array };

/** Positions are fractions of the file's length (0..1), so one case fits any file. */
const damageArb: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant("nul" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), length: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({
    kind: fc.constant("replace" as const),
    bytes: fc.oneof(fc.uint8Array({ maxLength: 256 }), fc.constantFrom("{}", "[]", "null", '{"schema":1}', "{\"", "\n\n", "").map((s) => new TextEncoder().encode(s))),
  }),
);

function apply(bytes: Buffer, d: Damage): Buffer {
  const pos = (f: number) => Math.min(bytes.length, Math.floor(f * bytes.length));
  switch (d.kind) {
    case "flip": {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      const i = Math.min(out.length - 1, pos(d.at));
      out[i] = (out[i] as number) ^ (1 << d.bit);
      return out;
    }
    case "truncate":
      return bytes.subarray(0, pos(d.at));
    case "insert":
      return Buffer.concat([bytes.subarray(0, pos(d.at)), Buffer.from(d.bytes), bytes.subarray(pos(d.at))]);
    case "nul":
      return Buffer.concat([bytes.subarray(0, pos(d.at)), Buffer.alloc(d.length), bytes.subarray(pos(d.at))]);
    case "replace":
      return Buffer.from(d.bytes);
  }
}

/** How many onlySessfmt calls are running: the reads of an open store nest in its open. */
let depth = 0;

/**
 * A SessfmtError, or the property fails with what was thrown instead. An outermost call
 * must also leave no more descriptors open than it found (a nested one runs while the
 * store it reads from is open, and that store may keep segment files open until closed).
 */
async function onlySessfmt<T>(what: string, fn: () => Promise<T>): Promise<T | SessfmtError> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within 20 s (hang)`)), 20_000);
  });
  const outermost = depth === 0;
  const before = outermost ? leaks.before() : undefined;
  depth++;
  let result: T | SessfmtError;
  try {
    result = await Promise.race([fn(), guard]);
  } catch (err) {
    if (!(err instanceof SessfmtError)) throw new Error(`${what} threw a non-SessfmtError: ${(err as Error)?.stack ?? String(err)}`);
    tally.note(`sidecar fuzz: ${what} threw ${err.code}`);
    result = err;
  } finally {
    depth--;
    clearTimeout(timer);
  }
  if (outermost) await leaks.after(what, before);
  return result;
}

/** A fresh copy of the template with the damage applied; returns the JSONL path. */
function damagedCopy(target: string, damages: Damage[], label: string): string {
  const dir = join(base, `${label}-${caseNo++}`);
  cpSync(template, dir, { recursive: true });
  const path = join(dir, "s.v2", target);
  let bytes: Buffer = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
  for (const d of damages) bytes = apply(bytes, d);
  writeFileSync(path, bytes);
  return join(dir, "s.jsonl");
}

async function exercise(target: string, damages: Damage[], reMigrate: boolean): Promise<void> {
  const file = damagedCopy(target, damages, "a");
  const second = damagedCopy(target, damages, "b");
  const jsonl = readFileSync(file);
  try {
    for (const mode of ["full", "active", "tail:3"] as const) {
      // Opened: walk it too (every frame, the active path, the context), then close it.
      await onlySessfmt(`openSidecar ${mode}`, async () => {
        const store = await openSidecar(file, { mode });
        try {
          tally.note(`sidecar fuzz: openSidecar ${mode} opened`);
          await onlySessfmt(`readAll after openSidecar ${mode}`, () => store.readAll());
          await onlySessfmt(`readActivePath after openSidecar ${mode}`, () => store.readActivePath());
          await onlySessfmt(`contextAt after openSidecar ${mode}`, () => store.contextAt());
        } finally {
          await store.close();
        }
      });
    }
    await onlySessfmt("validateSidecar", () => validateSidecar(file));
    await onlySessfmt("verifyV2AgainstJsonl", () => verifyV2AgainstJsonl(file));
    const s = await onlySessfmt("migrationStatus", () => migrationStatus(file));
    if (!(s instanceof SessfmtError)) tally.note(`sidecar fuzz: status ${s.state}`);
    await onlySessfmt("rebuildSidecarIndex", () => rebuildSidecarIndex(file));
    await onlySessfmt("migrationStatus after rebuild", () => migrationStatus(file));
    expect(readFileSync(file).equals(jsonl), "the JSONL changed").toBe(true);

    const rec = await onlySessfmt("recoverPartialMigration", () => recoverPartialMigration(second, { reMigrate }));
    expect(readFileSync(second).equals(jsonl), "recover changed the JSONL").toBe(true);
    if (!(rec instanceof SessfmtError)) {
      tally.note(`sidecar fuzz: recover ${rec.before} -> ${rec.after}`);
      if (rec.ok && rec.after === "migrated") expect((await verifyV2AgainstJsonl(second)).ok, rec.actions.join("; ")).toBe(true);
      if (rec.ok && rec.after === "unmigrated") expect(existsSync(second.replace(/\.jsonl$/, ".v2"))).toBe(false);
      if (reMigrate) expect(rec.after, `${rec.afterReason}; ${rec.actions.join("; ")}`).toBe("migrated");
    }
    tally.fuzzCases++;
    tally.runs++;
    tally.entriesChecked += 120;
  } finally {
    rmSync(join(file, ".."), { recursive: true, force: true });
    rmSync(join(second, ".."), { recursive: true, force: true });
  }
}

describe("a damaged sidecar: every reader and repair throws only SessfmtError, finishes, and keeps the JSONL", () => {
  it(
    `segment files: ${sidecarScale.fuzzRuns} cases`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.array(damageArb, { minLength: 1, maxLength: 3 }), fc.boolean(), async (which, damages, reMigrate) => {
          await exercise(join("segments", segments[which % segments.length] as string), damages, reMigrate);
        }),
        fcParams(sidecarScale.fuzzRuns),
      );
    },
    hangGuardMs(120_000, 3_600_000),
  );

  it(
    `index/offsets.jsonl: ${sidecarScale.fuzzRuns} cases`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(damageArb, { minLength: 1, maxLength: 3 }), fc.boolean(), async (damages, reMigrate) => {
          await exercise(join("index", "offsets.jsonl"), damages, reMigrate);
        }),
        fcParams(sidecarScale.fuzzRuns),
      );
    },
    hangGuardMs(120_000, 3_600_000),
  );

  it(
    `manifest.json, sessfmt-source.json, migrations/ledger.jsonl: ${sidecarScale.fuzzRuns} cases`,
    async () => {
      const targets = ["manifest.json", "sessfmt-source.json", join("migrations", "ledger.jsonl")];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...targets), fc.array(damageArb, { minLength: 1, maxLength: 2 }), fc.boolean(), async (target, damages, reMigrate) => {
          await exercise(target, damages, reMigrate);
        }),
        fcParams(sidecarScale.fuzzRuns),
      );
    },
    hangGuardMs(120_000, 3_600_000),
  );
});
