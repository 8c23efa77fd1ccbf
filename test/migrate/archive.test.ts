import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discoverSessionFiles, migrateJsonlToV2, runArchive, type DryRunResult, type FileOutcome, type MigrateResult, type MigrationStatus } from "../../src/index.js";
import { appendEntry, generateArchive, INVALID_KINDS, msg, sha256File, snapshotTree, useTempDirs, type GeneratedFile } from "./helpers.js";

/**
 * One generated archive of 210 sessions (10 of each damage kind), taken through the
 * whole life cycle by archive runs: dry-run, migrate, verify, append, status, migrate
 * (sync), verify, rollback. The steps share the archive, so they run in order.
 */

const temp = useTempDirs();
let archive: string;
let files: GeneratedFile[];
const N = 210;

async function run(op: Parameters<typeof runArchive>[0], options: Parameters<typeof runArchive>[2] = {}, jobs = 2) {
  const outcomes: FileOutcome[] = [];
  const summary = await runArchive(op, [archive], options, { jobs, onFile: (o) => outcomes.push(o) });
  return { summary, outcomes, byFile: new Map(outcomes.map((o) => [o.file, o])) };
}

describe("14.7 an archive run finds the sessions and reports each once, in order", () => {
  it("walks directories, skips non-session *.jsonl files and everything inside sidecar directories", async () => {
    const dir = temp();
    const gen = generateArchive(dir, 21, 1);
    await migrateJsonlToV2(gen[0]!.file);
    const found = await discoverSessionFiles([dir]);
    expect(found.map((f) => f.file)).toEqual(gen.map((g) => g.file));
    const skipped: string[] = [];
    await discoverSessionFiles([dir], { onSkip: (f) => skipped.push(f) });
    expect(skipped.map((s) => s.slice(dir.length))).toEqual(["/--home-user-p0--/notes.jsonl", "/--home-user-p1--/empty.jsonl"]);
  });

  it("takes paths from stdin with '-'", async () => {
    const dir = temp();
    const gen = generateArchive(dir, 5, 2);
    const stdin = Readable.from([Buffer.from(gen.map((g) => g.file).join("\n") + "\n")]);
    expect((await discoverSessionFiles(["-"], { stdin })).map((f) => f.file)).toEqual(gen.map((g) => g.file));
  });
});

describe("14.7 the life cycle of a damaged archive of 210 sessions", () => {
  // One archive for the whole life cycle (temp() dirs go after each test).
  beforeAll(() => {
    archive = mkdtempSync(join(tmpdir(), "sessfmt-archive-"));
    files = generateArchive(archive, N, 42);
  });
  afterAll(() => rmSync(archive, { recursive: true, force: true }));

  it("dry-run predicts, per file, exactly what migrate then does; migrate leaves no staging behind", async () => {
    const before = snapshotTree(archive);
    const dry = await run("dry-run", { skipInvalid: true, segmentBytes: 1024 });
    expect(snapshotTree(archive)).toEqual(before);
    expect(dry.summary).toMatchObject({ files: N, ok: N, failed: 0, skipped: 2 });
    expect(dry.outcomes.map((o) => o.file)).toEqual(files.map((f) => f.file));

    const mig = await run("migrate", { skipInvalid: true, segmentBytes: 1024 });
    expect(mig.summary).toMatchObject({ files: N, ok: N, failed: 0 });
    for (const { file, kind } of files) {
      const d = dry.byFile.get(file)!.result as DryRunResult;
      const m = mig.byFile.get(file)!.result as MigrateResult;
      expect({ action: m.action, entries: m.entries, segments: m.segments, bytes: m.bytes, chain: m.chainHash, q: m.quarantined.length }, `${kind} ${file}`).toEqual({
        action: "created",
        entries: d.entries,
        segments: d.segments,
        bytes: d.sidecarBytes,
        chain: d.verification.chainHash,
        q: d.invalidLines.length,
      });
      if (INVALID_KINDS.has(kind)) expect(m.quarantined.length, kind).toBeGreaterThan(0);
    }
    const leftovers = [...snapshotTree(archive).keys()].filter((p) => /\.v2\.staging-|\.lock$/.test(p));
    expect(leftovers).toEqual([]);
  });

  it("verify is clean for every file", async () => {
    const v = await run("verify");
    expect(v.summary).toMatchObject({ files: N, ok: N, failed: 0, outcomes: { verified: N } });
  });

  it("appending to some files makes exactly those stale; migrate syncs them; verify is clean again", async () => {
    const grown = files.filter((_, i) => i % 7 === 0 && files[i]!.kind !== "torn_tail" && files[i]!.kind !== "unterminated_tail" && files[i]!.kind !== "cr_pending_tail");
    for (const { file } of grown) appendEntry(file, msg(`grown-${grown.length}`, null, "appended later"));
    const st = await run("status");
    const stale = st.outcomes.filter((o) => o.outcome === "stale").map((o) => o.file);
    expect(stale).toEqual(grown.map((g) => g.file));
    expect(st.summary.outcomes).toEqual({ migrated: N - grown.length, stale: grown.length });

    const mig = await run("migrate", { skipInvalid: true, segmentBytes: 1024 }, 1);
    expect(mig.summary.outcomes).toEqual({ unchanged: N - grown.length, synced: grown.length });
    for (const g of grown) expect((mig.byFile.get(g.file)!.result as MigrateResult).entriesAdded).toBe(1);
    expect((await run("verify")).summary.ok).toBe(N);
    expect((await run("status")).summary.outcomes).toEqual({ migrated: N });
  });

  it("rollback removes every sidecar, leaves every JSONL byte as it was, and status says unmigrated", async () => {
    const shas = new Map(files.map((f) => [f.file, sha256File(f.file)]));
    const rb = await run("rollback");
    expect(rb.summary.outcomes).toEqual({ removed: N });
    for (const f of files) expect(sha256File(f.file)).toBe(shas.get(f.file));
    const st = await run("status");
    expect(st.summary.outcomes).toEqual({ unmigrated: N });
    for (const o of st.outcomes) expect((o.result as MigrationStatus).history?.action).toBe("rollback");
    const dirs = [...snapshotTree(archive).keys()].filter((p) => p.endsWith(".v2"));
    expect(dirs).toEqual([]);
  });
});

describe("14.7 an aborted archive run never leaves a half cutover", () => {
  it("files in flight finish or are abandoned cleanly; the rest are reported as not started", async () => {
    const dir = temp();
    const gen = generateArchive(dir, 40, 9);
    const ac = new AbortController();
    let seen = 0;
    const outcomes: FileOutcome[] = [];
    const summary = await runArchive("migrate", [dir], { skipInvalid: true }, {
      jobs: 2,
      signal: ac.signal,
      onFile: (o) => {
        outcomes.push(o);
        if (++seen === 5) ac.abort();
      },
    });
    expect(summary.aborted).toBe(true);
    expect(summary.notStarted).toBeGreaterThan(0);
    expect(outcomes.map((o) => o.file)).toEqual(gen.map((g) => g.file));
    for (const o of outcomes) {
      const hasRoot = existsSync(o.file.replace(/\.jsonl$/, ".v2"));
      // Created and verified, or no sidecar at all: nothing in between.
      expect(hasRoot, `${o.outcome} ${o.file}`).toBe(o.outcome === "created");
      if (o.outcome === "not started") expect(o.error?.code).toBe("E_ABORTED");
    }
    for (const d of new Set(gen.map((g) => join(g.file, "..")))) {
      expect(readdirSync(d).filter((n) => n.includes(".v2.staging-"))).toEqual([]);
    }
  });
});

describe("14.7 per-file failures do not stop the run", () => {
  it("invalid lines without --skip-invalid fail their files only, with the reason; the others migrate", async () => {
    const dir = temp();
    const gen = generateArchive(dir, 21, 4);
    const outcomes: FileOutcome[] = [];
    const summary = await runArchive("migrate", [dir, join(dir, "missing.jsonl")], {}, { jobs: 2, onFile: (o) => outcomes.push(o) });
    const failed = outcomes.filter((o) => !o.ok);
    expect(failed.map((o) => o.error?.code).sort()).toEqual([...Array(INVALID_KINDS.size).fill("E_INVALID_LINES"), "E_NOT_FOUND"]);
    expect(summary).toMatchObject({ files: 22, failed: INVALID_KINDS.size + 1, ok: 21 - INVALID_KINDS.size });
    const invalidFiles = gen.filter((g) => INVALID_KINDS.has(g.kind)).map((g) => g.file);
    for (const f of invalidFiles) expect(existsSync(f.replace(/\.jsonl$/, ".v2"))).toBe(false);
    expect(readFileSync(gen[0]!.file).length).toBeGreaterThan(0);
  });
});
