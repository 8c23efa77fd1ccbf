/**
 * `sessfmt sidecar info|create|validate|sync|rebuild|checkpoint|rollback` (SPEC 10, 11):
 * thin commands over src/v2, each with its output, its errors and its exit codes.
 */
import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createCheckpoint, createV2SidecarFromJsonl } from "../../src/v2/index.js";
import { branchedLines, FIXTURES, header, runCli, useTempDir, user, writeSession } from "./harness.js";

const tmp = useTempDir();
const UUID = "01946a2e-5c00-7000-8000-00000000c11e";

/** The branched test session with a UUID session id (a non-UUID id is a rust_session_id warning). */
function session(dir = tmp()): string {
  const lines = branchedLines();
  lines[0] = header({ id: UUID });
  return writeSession(dir, "s.jsonl", lines);
}

const rootOf = (file: string): string => file.replace(/\.jsonl$/, ".v2");
const SEG1 = "segments/0000000000000001.seg";

/** Flip one byte of the payload text `needle` inside a segment (the frame still decodes). */
function damagePayload(file: string, needle: string, seg = SEG1): void {
  const path = join(rootOf(file), seg);
  const bytes = readFileSync(path);
  const at = bytes.indexOf(needle);
  expect(at).toBeGreaterThan(0);
  bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
  writeFileSync(path, bytes);
}

function appendEntry(file: string, id: string, parent: string, n: number): void {
  appendFileSync(file, `${JSON.stringify(user(id, parent, `more ${id}`, n))}\n`);
}

describe("sidecar create builds <stem>.v2 from the JSONL and never replaces one unasked", () => {
  it("reports entries, segments, size and chain; a second create is E_EXISTS naming --replace", async () => {
    const file = session();
    const r = await runCli(["sidecar", "create", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^created ${rootOf(file)}: 7 entries in 1 segment, \\d+ bytes \\(\\d+\\.\\d KiB\\), chain [0-9a-f]{64}\\n$`));
    expect(existsSync(join(rootOf(file), "manifest.json"))).toBe(true);
    const again = await runCli(["sidecar", "create", file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`sessfmt: E_EXISTS: ${rootOf(file)}: a sidecar already exists; pass --replace to rebuild it from the JSONL\n`);
  });

  it("--replace rebuilds it and keeps the checkpoints that still hold", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    await createCheckpoint(file);
    const r = await runCli(["sidecar", "create", file, "--replace"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("  checkpoints kept: 1\n");
  });

  it("counts the JSONL lines it does not store; --json gives the whole result", async () => {
    const file = join(tmp(), "c.jsonl");
    copyFileSync(join(FIXTURES, "corrupt-lines.jsonl"), file);
    expect((await runCli(["sidecar", "create", file])).stdout).toContain("  6 lines of the JSONL not stored");
    const json = JSON.parse((await runCli(["sidecar", "create", file, "--replace", "--json"])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ root: rootOf(file), entries: 4, skippedLines: 6, segments: 1 });
  });

  it("a version 1 file is E_UNSUPPORTED_VERSION naming sessfmt upgrade", async () => {
    const file = join(tmp(), "v1.jsonl");
    copyFileSync(join(FIXTURES, "v1-legacy.jsonl"), file);
    const r = await runCli(["sidecar", "create", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_UNSUPPORTED_VERSION: .*run `sessfmt upgrade .*v1\.jsonl` first\n$/);
    expect(existsSync(rootOf(file))).toBe(false);
  });
});

describe("sidecar info shows counts, segments, head, chain, manifest, checkpoints, ledger and freshness", () => {
  it("every field of a fresh sidecar", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    await createCheckpoint(file);
    const r = await runCli(["sidecar", "info", file]);
    expect(r.code, r.stderr).toBe(0);
    const rows = Object.fromEntries(r.stdout.trimEnd().split("\n").map((l) => [l.slice(0, l.indexOf(":")).trim(), l.slice(l.indexOf(":") + 1).trim()]));
    expect(rows).toMatchObject({
      root: rootOf(file),
      file,
      session: UUID,
      freshness: "fresh",
      entries: "7",
      segments: "1",
      head: "segmentSeq 1, entrySeq 7, entryId b2",
      invariants: "all 7 hold",
      checkpoints: "1",
      ledger: "0 events",
    });
    expect(rows["segment 1"]).toMatch(/^segments\/0000000000000001\.seg, \d+ bytes \(.*\), 7 frames$/);
    expect(rows.chain).toMatch(/^[0-9a-f]{64} \(manifest and fingerprint agree\)$/);
    expect(rows.counters).toMatch(/^7 entries, 6 messages, 1 branch, 0 compactions, \d+ bytes$/);
  });

  it("freshness: appended bytes, a changed prefix, a missing JSONL", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    const freshness = async (target = file) => (await runCli(["sidecar", "info", target])).stdout.match(/^freshness: +(.*)$/m)?.[1];
    const size = readFileSync(file).length;
    appendEntry(file, "n1", "b2", 9);
    expect(await freshness()).toBe(`stale: ${readFileSync(file).length - size} bytes appended to the JSONL since it was indexed (\`sessfmt sidecar sync ${file}\` frames them)`);
    writeFileSync(file, readFileSync(file, "utf8").replace("first answer", "FIRST ANSWER"));
    expect(await freshness()).toMatch(/^stale: the indexed prefix of the JSONL changed \(`sessfmt sidecar sync --rebuild .*` rebuilds the sidecar\)$/);
    rmSync(file);
    expect(await freshness(rootOf(file))).toBe("missing: the JSONL file is missing");
  });

  it("--json is the library's report; no sidecar is E_SIDECAR_MISSING naming sidecar create", async () => {
    const file = session();
    const missing = await runCli(["sidecar", "info", file]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`sessfmt: E_SIDECAR_MISSING: no V2 sidecar at ${rootOf(file)}; create one with \`sessfmt sidecar create ${file}\`\n`);
    await createV2SidecarFromJsonl(file);
    const json = JSON.parse((await runCli(["sidecar", "info", file, "--json"])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ exists: true, entries: 7, head: { entrySeq: 7, entryId: "b2" }, freshness: { state: "fresh" }, checkpoints: 0, ledgerEvents: 0 });
  });
});

describe("sidecar validate lists every problem; exit 0 clean, 1 errors (or warnings with --strict), 2 fatal", () => {
  it("a clean sidecar: a summary line, exit 0", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    const r = await runCli(["sidecar", "validate", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${rootOf(file)}: ok, 7 entries in 1 segment, .*; 0 errors, 0 warnings\\n$`));
  });

  it("a damaged payload: one line per problem with code, file, byte offset, entrySeq and id; exit 1", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    damagePayload(file, "second answer");
    const r = await runCli(["sidecar", "validate", file]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^error +frame_crc_mismatch {2}segments\/0000000000000001\.seg byte \d+, entrySeq 4 \(c2\): CRC-32C/);
    expect(lines.some((l) => /^error +payload_hash_mismatch {2}segments\/0000000000000001\.seg byte \d+, entrySeq 4 \(c2\): /.test(l))).toBe(true);
    expect(lines[lines.length - 1]).toMatch(/: damaged, .* [1-9]\d* errors?, 0 warnings$/);
    const json = JSON.parse((await runCli(["sidecar", "validate", file, "--json"])).stdout) as { ok: boolean; problems: { code: string; entrySeq?: number }[] };
    expect(json.ok).toBe(false);
    expect(json.problems.filter((p) => p.code === "frame_crc_mismatch")).toEqual([expect.objectContaining({ entrySeq: 4, entryId: "c2", file: SEG1 })]);
  });

  it("warnings only: exit 0, or 1 with --strict", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines()); // session id "sess-0001": not a UUID
    await createV2SidecarFromJsonl(file);
    const r = await runCli(["sidecar", "validate", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^warning rust_session_id {2}/m);
    expect((await runCli(["sidecar", "validate", file, "--strict"])).code).toBe(1);
  });

  it("no sidecar: exit 2", async () => {
    const r = await runCli(["sidecar", "validate", session()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_MISSING: /);
  });
});

describe("sidecar sync frames appended lines; a changed JSONL needs --rebuild", () => {
  it("nothing new, then one appended entry", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    expect((await runCli(["sidecar", "sync", file])).stdout).toMatch(new RegExp(`^${rootOf(file)}: up to date; 7 entries, chain [0-9a-f]{64}\\n$`));
    appendEntry(file, "n1", "b2", 9);
    const r = await runCli(["sidecar", "sync", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: appended 1 entry; 8 entries, chain /);
    expect((await runCli(["info", file, "--from-sidecar"])).stdout).toBe((await runCli(["info", file])).stdout);
  });

  it("a changed prefix: exit 1 and nothing written; --rebuild rebuilds", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    const index = join(rootOf(file), "index", "offsets.jsonl");
    const before = readFileSync(index);
    writeFileSync(file, readFileSync(file, "utf8").replace("first answer", "FIRST ANSWER"));
    const r = await runCli(["sidecar", "sync", file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/: not synced, nothing written: the indexed prefix of the JSONL changed; pass --rebuild/);
    expect(readFileSync(index)).toEqual(before);
    const rebuilt = await runCli(["sidecar", "sync", file, "--rebuild", "--json"]);
    expect(rebuilt.code).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ action: "rebuilt", entries: 7 });
    expect((await runCli(["tree", file, "--json", "--from-sidecar"])).stdout).toBe((await runCli(["tree", file, "--json"])).stdout);
  });

  it("no sidecar: exit 2 naming sidecar create; --rebuild creates one", async () => {
    const file = session();
    const r = await runCli(["sidecar", "sync", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("create one with `sessfmt sidecar create");
    expect((await runCli(["sidecar", "sync", file, "--rebuild"])).code).toBe(0);
    expect(existsSync(join(rootOf(file), "manifest.json"))).toBe(true);
  });
});

describe("sidecar rebuild rewrites the index from the segments, stopping at damage unless --truncate-corrupt", () => {
  it("a lost index comes back the same", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    const index = join(rootOf(file), "index", "offsets.jsonl");
    const before = readFileSync(index);
    rmSync(index);
    const r = await runCli(["sidecar", "rebuild", file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rebuilt the index of .*: 7 entries in 1 segment, chain [0-9a-f]{64}; fingerprint kept\n$/);
    expect(readFileSync(index)).toEqual(before);
  });

  it("damage before the last frame: exit 2, nothing changed; --truncate-corrupt cuts there, moves later segments aside, exit 1", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file, { segmentBytes: 1024 });
    const root = rootOf(file);
    const segments = readdirSync(join(root, "segments")).sort();
    expect(segments.length).toBeGreaterThanOrEqual(3);
    damagePayload(file, "hi, how can I help?", `segments/${segments[1]}`);
    const index = join(root, "index", "offsets.jsonl");
    const before = readFileSync(index);
    const stop = await runCli(["sidecar", "rebuild", file]);
    expect(stop.code).toBe(2);
    expect(stop.stderr).toMatch(/^sessfmt: E_SIDECAR_CORRUPT: .*; nothing was changed; --truncate-corrupt cuts the segment there/);
    expect(readFileSync(index)).toEqual(before);
    const cut = await runCli(["sidecar", "rebuild", file, "--truncate-corrupt"]);
    expect(cut.code).toBe(1);
    for (const later of segments.slice(2)) expect(cut.stdout).toContain(`  moved aside: segments/${later}.bak\n`);
    expect(cut.stdout).toMatch(/^ {2}error +segment_quarantined {2}/m);
    // What was cut is still in the JSONL: a sync frames it again.
    expect((await runCli(["sidecar", "sync", file])).code).toBe(0);
    expect((await runCli(["sidecar", "validate", file])).code).toBe(0);
    expect((await runCli(["tree", file, "--json", "--from-sidecar"])).stdout).toBe((await runCli(["tree", file, "--json"])).stdout);
  });
});

describe("sidecar checkpoint records the head after validating; --list shows them", () => {
  it("takes numbered checkpoints with reasons and lists them", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    const first = await runCli(["sidecar", "checkpoint", file]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^checkpoint 1: head entrySeq 7 \(b2\), manual, at \S+, chain [0-9a-f]{64}\n$/);
    appendEntry(file, "n1", "b2", 9);
    await runCli(["sidecar", "sync", file]);
    expect((await runCli(["sidecar", "checkpoint", file, "--reason", "pre_migration"])).stdout).toMatch(/^checkpoint 2: head entrySeq 8 \(n1\), pre_migration, /);
    const list = await runCli(["sidecar", "checkpoint", file, "--list"]);
    expect(list.stdout.trimEnd().split("\n").map((l) => l.slice(0, 36))).toEqual(["checkpoint 1: head entrySeq 7 (b2), ", "checkpoint 2: head entrySeq 8 (n1), "]);
    const json = JSON.parse((await runCli(["sidecar", "checkpoint", file, "--list", "--json"])).stdout) as { checkpoints: { checkpointSeq: number; reason: string }[] };
    expect(json.checkpoints.map((c) => [c.checkpointSeq, c.reason])).toEqual([
      [1, "manual"],
      [2, "pre_migration"],
    ]);
  });

  it("a damaged sidecar gets none (exit 2, naming validate); an unknown reason and --list --reason are usage errors", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    damagePayload(file, "second answer");
    const r = await runCli(["sidecar", "checkpoint", file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_CORRUPT: .*`sessfmt sidecar validate .*` lists every problem\n$/);
    expect(existsSync(join(rootOf(file), "checkpoints", "0000000000000001.json"))).toBe(false);
    expect((await runCli(["sidecar", "checkpoint", file, "--reason", "whim"])).code).toBe(2);
    const both = await runCli(["sidecar", "checkpoint", file, "--list", "--reason", "manual"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--reason applies to taking a checkpoint");
  });
});

describe("sidecar rollback --to goes back to a checkpoint; a sync frames the later lines again", () => {
  it("rolls back, records the event, and leaves the sidecar behind the JSONL", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    await createCheckpoint(file);
    appendEntry(file, "n1", "b2", 9);
    appendEntry(file, "n2", "n1", 10);
    await runCli(["sidecar", "sync", file]);
    const r = await runCli(["sidecar", "rollback", file, "--to", "1"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rolled back to checkpoint 1: 9 -> 7 entries\n/);
    expect(r.stdout).toContain("  verified: entry count ok, chain ok, index ok\n");
    expect(r.stdout).toMatch(/^ {2}ledger: rollback event [0-9a-f-]{36}, outcome ok$/m);
    expect((await runCli(["sidecar", "info", file])).stdout).toMatch(/^ledger: +1 event$/m);
    expect((await runCli(["sidecar", "info", file])).stdout).toMatch(/^entry table: +current \(opens use it\)$/m);
    expect((await runCli(["info", file, "--from-sidecar"])).stderr).toMatch(/E_SIDECAR_STALE: .*behind the JSONL/);
    expect((await runCli(["sidecar", "sync", file])).stdout).toMatch(/: appended 2 entries; 9 entries/);
    expect((await runCli(["context", file, "--from-sidecar"])).stdout).toBe((await runCli(["context", file])).stdout);
  });

  it("an unknown checkpoint is E_CHECKPOINT_NOT_FOUND naming --list; --to must be a number from 1", async () => {
    const file = session();
    await createV2SidecarFromJsonl(file);
    const r = await runCli(["sidecar", "rollback", file, "--to", "3"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_CHECKPOINT_NOT_FOUND: .*no checkpoint 3; `sessfmt sidecar checkpoint --list .*` lists them\n$/);
    for (const bad of [["--to", "0"], ["--to", "x"], ["--to", "1.5"], []]) expect((await runCli(["sidecar", "rollback", file, ...bad])).code).toBe(2);
  });
});

describe("every sidecar subcommand has --help with examples; usage errors name the subcommand's help", () => {
  it.each(["info", "create", "validate", "sync", "rebuild", "checkpoint", "rollback"])("sidecar %s --help", async (sub) => {
    const r = await runCli(["sidecar", sub, "--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`sessfmt sidecar ${sub} <file>`);
    expect(r.stdout).toContain("Examples:");
    expect(r.stdout.replace(/\s+/g, " ")).toContain("Exit codes:");
  });

  it("sidecar alone lists the subcommands; a bad option points at the subcommand's --help", async () => {
    const none = await runCli(["sidecar"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('sessfmt: E_INVALID_ARGUMENT: name a subcommand: info, create, validate, sync, rebuild, checkpoint, rollback (see "sessfmt sidecar --help")\n');
    const help = await runCli(["sidecar", "--help"]);
    for (const sub of ["info", "create", "validate", "sync", "rebuild", "checkpoint", "rollback"]) expect(help.stdout).toContain(`sessfmt sidecar ${sub} <file>`);
    const bad = await runCli(["sidecar", "rollback", "s.jsonl", "--bogus"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(see "sessfmt sidecar rollback --help")');
  });
});
