/**
 * SPEC 11.1 (layout), 11.3 (rotation) and 11.10 (creating a sidecar).
 */
import fc from "fast-check";
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, symlinkSync, mkdirSync, writeFileSync, appendFileSync } from "node:fs";
import { join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  appendMigrationEvent,
  createCheckpoint,
  createV2SidecarFromJsonl,
  DEFAULT_SEGMENT_BYTES,
  decodeIndexRow,
  listCheckpoints,
  openSidecar,
  readMigrationEvents,
  syncSidecar,
  validateSidecar,
  type OffsetIndexRow,
} from "../../src/index.js";
import { copyFixture, HEADER, linear, msg, rejectsWith, Scratch, writeSession } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    out.push(p);
    if (d.isDirectory()) out.push(...walk(p));
  }
  return out;
}

function rowsOf(root: string): OffsetIndexRow[] {
  return readFileSync(join(root, "index/offsets.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const d = decodeIndexRow(l);
      if (!d.ok) throw new Error(d.message);
      return d.value;
    });
}

describe("11.1 Layout", () => {
  it("the root is <stem>.v2 beside the JSONL, with the five directories (0700) and files (0600)", async () => {
    const dir = scratch.sub();
    const file = copyFixture(dir, "v3-branched.jsonl");
    const r = await createV2SidecarFromJsonl(file, { segmentBytes: 2000 });
    expect(r.root).toBe(join(dir, "v3-branched.v2"));
    const names = walk(r.root).map((p) => relative(r.root, p)).sort();
    expect(names.filter((n) => !n.startsWith("segments/"))).toEqual(["checkpoints", "index", "index/offsets.jsonl", "index/sessfmt-entries.bin", "manifest.json", "migrations", "segments", "sessfmt-source.json", "tmp"]);
    expect(names.filter((n) => n.startsWith("segments/")).every((n) => /^segments\/\d{16}\.seg$/.test(n))).toBe(true);
    expect(statSync(r.root).mode & 0o777).toBe(0o700);
    for (const p of walk(r.root)) expect(statSync(p).mode & 0o777, p).toBe(statSync(p).isDirectory() ? 0o700 : 0o600);
    // Nothing else appeared beside the JSONL (no staging directory is left).
    expect(readdirSync(dir).sort()).toEqual(["v3-branched.jsonl", "v3-branched.v2"]);
  });

  it("entry ids and file names never become paths: hostile ids write nothing outside the root", async () => {
    const dir = scratch.sub();
    const ids = ["../../escape", "/etc/passwd", "a/b", "..", "C:\\x", "nul\u0000byte", "0000000000000001.seg"];
    const lines: object[] = [HEADER];
    ids.forEach((id, i) => lines.push(msg(id, i === 0 ? null : (ids[i - 1] as string))));
    const file = writeSession(dir, lines, "..weird name;$(x).jsonl");
    const r = await createV2SidecarFromJsonl(file);
    expect(r.entries).toBe(ids.length);
    expect(readdirSync(dir).sort()).toEqual(["..weird name;$(x).jsonl", "..weird name;$(x).v2"]);
    expect(walk(r.root).every((p) => p.startsWith(r.root))).toBe(true);
    expect(readdirSync(join(r.root, "segments"))).toEqual(["0000000000000001.seg"]);
    const store = await openSidecar(file);
    expect(store.records.map((x) => x.id)).toEqual(ids);
    await store.close();
  });

  it("a symlink at the root, at a directory inside it, or at a segment is refused, and its target untouched", async () => {
    const dir = scratch.sub();
    const outside = join(dir, "outside");
    mkdirSync(outside);
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    symlinkSync(outside, join(dir, "s.v2"));
    await rejectsWith(createV2SidecarFromJsonl(file), "E_PATH_UNSAFE");
    await rejectsWith(createV2SidecarFromJsonl(file, { replace: true }), "E_PATH_UNSAFE");
    await rejectsWith(openSidecar(file), "E_PATH_UNSAFE");
    expect(readdirSync(outside)).toEqual([]);

    const dir2 = scratch.sub();
    const file2 = writeSession(dir2, [HEADER, ...linear(3)]);
    const r = await createV2SidecarFromJsonl(file2);
    const sentinel = join(dir2, "sentinel");
    writeFileSync(sentinel, "sentinel");
    const seg = join(r.root, "segments/0000000000000001.seg");
    const { renameSync } = await import("node:fs");
    renameSync(seg, `${seg}.moved`);
    symlinkSync(sentinel, seg);
    appendFileSync(file2, `${JSON.stringify(msg("e4", "e3"))}\n`);
    await rejectsWith(syncSidecar(file2), "E_PATH_UNSAFE");
    expect(readFileSync(sentinel, "utf8")).toBe("sentinel");
    await rejectsWith(openSidecar(file2), "E_PATH_UNSAFE");

    const dir3 = scratch.sub();
    const file3 = writeSession(dir3, [HEADER, ...linear(3)]);
    const r3 = await createV2SidecarFromJsonl(file3);
    const { rmSync } = await import("node:fs");
    rmSync(join(r3.root, "segments"), { recursive: true });
    symlinkSync(outside, join(r3.root, "segments"));
    await rejectsWith(openSidecar(file3), "E_PATH_UNSAFE");
    await rejectsWith(validateSidecar(file3), "E_PATH_UNSAFE");
  });
});

describe("11.3 Segment rotation", () => {
  it("the default segment size is 64 MiB", () => {
    expect(DEFAULT_SEGMENT_BYTES).toBe(64 * 1024 * 1024);
  });

  it("a new segment starts exactly when the current one is non-empty and the frame would take it past the size", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 1500 }), { minLength: 1, maxLength: 25 }), fc.integer({ min: 300, max: 3000 }), async (sizes, segmentBytes) => {
        const dir = scratch.sub();
        const lines: object[] = [HEADER];
        sizes.forEach((s, i) => lines.push(msg(`e${i}`, i === 0 ? null : `e${i - 1}`, "x".repeat(s))));
        const file = writeSession(dir, lines, `r${n++}.jsonl`);
        const r = await createV2SidecarFromJsonl(file, { segmentBytes, verify: false });
        const rows = rowsOf(r.root);
        expect(rows.map((x) => x.entrySeq)).toEqual(sizes.map((_, i) => i + 1));
        let used = 0;
        let seg = 1;
        let frame = 0;
        for (const row of rows) {
          if (used > 0 && used + row.byteLength > segmentBytes) {
            seg++;
            used = 0;
            frame = 0;
          }
          frame++;
          expect([row.segmentSeq, row.frameSeq, row.byteOffset]).toEqual([seg, frame, used]);
          used += row.byteLength;
        }
        for (const f of readdirSync(join(r.root, "segments"))) {
          const size = statSync(join(r.root, "segments", f)).size;
          const frames = rows.filter((x) => `${String(x.segmentSeq).padStart(16, "0")}.seg` === f).length;
          expect(size <= segmentBytes || frames === 1).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
  });

  it("a frame larger than the segment size goes alone into an empty segment", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, msg("a", null, "small"), msg("b", "a", "y".repeat(5000)), msg("c", "b", "small")]);
    const r = await createV2SidecarFromJsonl(file, { segmentBytes: 1000 });
    expect(rowsOf(r.root).map((x) => [x.segmentSeq, x.frameSeq])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
    ]);
  });

  it("a frame over the frame limit is E_FRAME_TOO_LARGE, naming the entry, and leaves no sidecar", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, msg("a", null), msg("big", "a", "z".repeat(4000))]);
    const err = await rejectsWith(createV2SidecarFromJsonl(file, { maxFrameBytes: 2000 }), "E_FRAME_TOO_LARGE");
    expect(err.message).toMatch(/"big".*entrySeq 2/);
    expect(readdirSync(dir)).toEqual(["s.jsonl"]);
  });
});

describe("11.10 Creating a sidecar", () => {
  it("holds one frame per valid entry line, in file order, and reports the lines it left out", async () => {
    const dir = scratch.sub();
    const file = copyFixture(dir, "corrupt-lines.jsonl");
    const r = await createV2SidecarFromJsonl(file);
    expect(r.entries).toBe(4);
    expect(r.skippedLines).toBe(6);
    expect(r.validation?.ok).toBe(true);
    expect(r.manifest.counters.entriesTotal).toBe(4);
  });

  it("an existing sidecar is E_EXISTS unless replace is given", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(2)]);
    await createV2SidecarFromJsonl(file);
    await rejectsWith(createV2SidecarFromJsonl(file), "E_EXISTS");
    appendFileSync(file, `${JSON.stringify(msg("e3", "e2"))}\n`);
    const again = await createV2SidecarFromJsonl(file, { replace: true });
    expect(again.entries).toBe(3);
    expect(readdirSync(dir).sort()).toEqual(["s.jsonl", "s.v2"]);
  });

  it("a replacement keeps the ledger and the checkpoints that still describe a prefix of the new store", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(3)]);
    await createV2SidecarFromJsonl(file);
    const early = await createCheckpoint(file);
    appendFileSync(file, `${[msg("e4", "e3"), msg("e5", "e4")].map((m) => JSON.stringify(m)).join("\n")}\n`);
    await syncSidecar(file);
    await createCheckpoint(file);
    await appendMigrationEvent(file, {
      schema: "pi.session_store_v2.migration_event.v1",
      migrationId: "00000000-0000-4000-8000-000000000002",
      phase: "completed",
      at: "2025-01-01T00:00:00.000Z",
      sourcePath: "s.jsonl",
      targetPath: "s.v2",
      sourceFormat: "jsonl_v3",
      targetFormat: "native_v2",
      verification: { entryCountMatch: true, hashChainMatch: true, indexConsistent: true },
      outcome: "ok",
      correlationId: "create-test",
    });
    // Rewrite entry 5: checkpoint 1 (head e3) still holds, checkpoint 2 (head e5) does not.
    const lines = readFileSync(file, "utf8").split("\n");
    lines[lines.length - 2] = (lines[lines.length - 2] as string).replace(/text \d+/, "rewritten");
    writeFileSync(file, lines.join("\n"));
    const r = await createV2SidecarFromJsonl(file, { replace: true });
    expect([r.keptCheckpoints, r.droppedCheckpoints]).toEqual([[1], [2]]);
    expect((await listCheckpoints(file)).checkpoints).toEqual([early]);
    expect((await readMigrationEvents(file)).events.map((e) => e.correlationId)).toEqual(["create-test"]);
    expect((await validateSidecar(file)).ok).toBe(true);
  });

  it("version 1 and 2 sessions are E_UNSUPPORTED_VERSION (upgrade them first)", async () => {
    const dir = scratch.sub();
    await rejectsWith(createV2SidecarFromJsonl(copyFixture(dir, "v1-legacy.jsonl")), "E_UNSUPPORTED_VERSION");
    await rejectsWith(createV2SidecarFromJsonl(copyFixture(dir, "v2-hook-message.jsonl")), "E_UNSUPPORTED_VERSION");
    expect(readdirSync(dir).sort()).toEqual(["v1-legacy.jsonl", "v2-hook-message.jsonl"]);
  });

  it("an aborted creation is E_ABORTED and leaves nothing behind", async () => {
    const dir = scratch.sub();
    const file = writeSession(dir, [HEADER, ...linear(2000)]);
    const ac = new AbortController();
    const p = createV2SidecarFromJsonl(file, { signal: ac.signal, onProgress: (done) => done >= 512 && ac.abort() });
    await rejectsWith(p, "E_ABORTED");
    expect(readdirSync(dir)).toEqual(["s.jsonl"]);
  });

  it("a header-only session gives an empty store that validates", async () => {
    const dir = scratch.sub();
    const file = copyFixture(dir, "header-only.jsonl");
    const r = await createV2SidecarFromJsonl(file);
    expect(r.entries).toBe(0);
    expect(r.manifest.head).toEqual({ segmentSeq: 0, entrySeq: 0, entryId: "" });
    expect(r.manifest.integrity.lastCrc32c).toBe("00000000");
    expect(readdirSync(join(r.root, "segments"))).toEqual([]);
    expect(existsSync(join(r.root, "index/offsets.jsonl"))).toBe(true);
    expect((await validateSidecar(file)).ok).toBe(true);
    expect(lstatSync(r.root).isDirectory()).toBe(true);
  });
});
