/**
 * SPEC 11.14: validate finds every kind of damage, reports each with its stable code, the
 * file and byte offset (or index line) and the entrySeq, and reports all of them.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  crc32cHex,
  createCheckpoint,
  createV2SidecarFromJsonl,
  encodeFrame,
  encodeIndexRow,
  encodeManifest,
  readManifest,
  decodeIndexRow,
  payloadSha256,
  validateSidecar,
  type OffsetIndexRow,
  type SidecarProblem,
  type ValidationReport,
} from "../../src/index.js";
import { copyFixture, HEADER, linear, msg, rejectsWith, Scratch, writeSession } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

interface Store {
  file: string;
  root: string;
  index: string;
  rows(): OffsetIndexRow[];
  writeRows(rows: OffsetIndexRow[]): void;
  seg(seq: number): string;
}

async function store(entries = 6, segmentBytes = 900): Promise<Store> {
  const dir = scratch.sub();
  const file = writeSession(dir, [HEADER, ...linear(entries)]);
  const r = await createV2SidecarFromJsonl(file, { segmentBytes });
  const index = join(r.root, "index/offsets.jsonl");
  return {
    file,
    root: r.root,
    index,
    rows: () =>
      readFileSync(index, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => {
          const d = decodeIndexRow(l);
          if (!d.ok) throw new Error(d.message);
          return d.value;
        }),
    // Rows edited by hand: the entry table no longer describes them, so it goes (its own
    // checks are in entry-table.test.ts).
    writeRows: (rows) => {
      writeFileSync(index, rows.map(encodeIndexRow).join(""));
      rmSync(join(r.root, "index/sessfmt-entries.bin"), { force: true });
    },
    seg: (seq) => join(r.root, "segments", `${String(seq).padStart(16, "0")}.seg`),
  };
}

function codes(r: ValidationReport): string[] {
  return r.problems.map((p) => p.code);
}

function find(r: ValidationReport, code: string): SidecarProblem {
  const p = r.problems.find((x) => x.code === code);
  if (!p) throw new Error(`no ${code} in ${JSON.stringify(r.problems, null, 1)}`);
  return p;
}

describe("11.14 Validate", () => {
  it("an undamaged store has no problems and every invariant holds", async () => {
    const s = await store();
    const r = await validateSidecar(s.file);
    expect(r.ok).toBe(true);
    expect(r.problems).toEqual([]);
    expect(Object.values(r.invariants).every(Boolean)).toBe(true);
    expect(r.entries).toBe(6);
  });

  it("a flipped byte in a frame: frame_crc_mismatch at the frame's segment and offset", async () => {
    const s = await store();
    const row = s.rows()[2] as OffsetIndexRow;
    const bytes = readFileSync(s.seg(row.segmentSeq));
    const at = row.byteOffset + bytes.subarray(row.byteOffset).indexOf("text");
    bytes[at] = (bytes[at] as number) ^ 0x20;
    writeFileSync(s.seg(row.segmentSeq), bytes);
    const r = await validateSidecar(s.file);
    expect(r.ok).toBe(false);
    expect(find(r, "frame_crc_mismatch")).toMatchObject({ severity: "error", file: `segments/${String(row.segmentSeq).padStart(16, "0")}.seg`, offset: row.byteOffset, entrySeq: 3, entryId: "e3" });
    expect(codes(r)).toContain("payload_hash_mismatch");
    expect(r.invariants.hashChainValid).toBe(false);
  });

  it("a truncated frame: row_out_of_bounds", async () => {
    const s = await store();
    const last = s.rows().at(-1) as OffsetIndexRow;
    const seg = s.seg(last.segmentSeq);
    writeFileSync(seg, readFileSync(seg).subarray(0, last.byteOffset + 10));
    const r = await validateSidecar(s.file);
    expect(find(r, "row_out_of_bounds")).toMatchObject({ entrySeq: last.entrySeq, offset: last.byteOffset });
    expect(r.invariants.indexWithinSegmentBounds).toBe(false);
  });

  it("a missing index: index_missing", async () => {
    const s = await store();
    rmSync(s.index);
    const r = await validateSidecar(s.file);
    expect(find(r, "index_missing")).toMatchObject({ file: "index/offsets.jsonl", severity: "error" });
    expect(codes(r)).toContain("segment_unindexed");
  });

  it("a garbage index row: index_row_invalid with its line and offset, and the other rows still checked", async () => {
    const s = await store();
    const lines = readFileSync(s.index, "utf8").split("\n");
    const offset = Buffer.byteLength(lines.slice(0, 1).join("\n")) + 1;
    lines[1] = '{"schema":"pi.session_store_v2.offset_index.v1","entrySeq":"two"}';
    writeFileSync(s.index, lines.join("\n"));
    const r = await validateSidecar(s.file);
    expect(find(r, "index_row_invalid")).toMatchObject({ file: "index/offsets.jsonl", line: 2, offset });
    expect(find(r, "entry_seq_gap")).toMatchObject({ entrySeq: 3 });
    expect(r.entries).toBe(5);
  });

  it("a row pointing outside its segment: row_out_of_bounds", async () => {
    const s = await store();
    const rows = s.rows();
    (rows[1] as OffsetIndexRow).byteOffset = 10_000_000;
    s.writeRows(rows);
    const r = await validateSidecar(s.file);
    expect(find(r, "row_out_of_bounds")).toMatchObject({ entrySeq: 2, offset: 10_000_000 });
    expect(codes(r)).toContain("row_offset_gap");
  });

  it("a wrong CRC in the index: frame_crc_mismatch", async () => {
    const s = await store();
    const rows = s.rows();
    (rows[0] as OffsetIndexRow).crc32c = "00000000";
    s.writeRows(rows);
    const r = await validateSidecar(s.file);
    expect(codes(r)).toEqual(["frame_crc_mismatch"]);
    expect(find(r, "frame_crc_mismatch")).toMatchObject({ entrySeq: 1, offset: 0 });
  });

  it("a wrong payload hash (CRC made to match): payload_hash_mismatch", async () => {
    const s = await store();
    const rows = s.rows();
    const row = rows[3] as OffsetIndexRow;
    const seg = readFileSync(s.seg(row.segmentSeq));
    const frame = seg.subarray(row.byteOffset, row.byteOffset + row.byteLength).toString();
    const forged = Buffer.from(frame.replace(/"payloadSha256":"[0-9a-f]{64}"/, `"payloadSha256":"${"a".repeat(64)}"`));
    writeFileSync(s.seg(row.segmentSeq), Buffer.concat([seg.subarray(0, row.byteOffset), forged, seg.subarray(row.byteOffset + row.byteLength)]));
    row.crc32c = crc32cHex(forged);
    s.writeRows(rows);
    const r = await validateSidecar(s.file);
    expect(codes(r)).toEqual(["payload_hash_mismatch"]);
    expect(find(r, "payload_hash_mismatch")).toMatchObject({ entrySeq: 4, entryId: "e4" });
  });

  it("a broken chain (a frame replaced consistently: payload, hash, size and CRC all agree): chain_mismatch against the manifest and the fingerprint", async () => {
    const s = await store();
    const rows = s.rows();
    const row = rows[2] as OffsetIndexRow;
    const seg = readFileSync(s.seg(row.segmentSeq));
    const old = JSON.parse(seg.subarray(row.byteOffset, row.byteOffset + row.byteLength).toString());
    const payload = Buffer.from(JSON.stringify(old.payload).replace("text", "TEXT"));
    const frame = encodeFrame({ segmentSeq: old.segmentSeq, frameSeq: old.frameSeq, entrySeq: old.entrySeq, entryId: old.entryId, parentEntryId: old.parentEntryId, entryType: old.entryType, timestamp: old.timestamp, payloadSha256: payloadSha256(payload) }, payload);
    expect(frame.length).toBe(row.byteLength);
    writeFileSync(s.seg(row.segmentSeq), Buffer.concat([seg.subarray(0, row.byteOffset), frame, seg.subarray(row.byteOffset + row.byteLength)]));
    row.crc32c = crc32cHex(frame);
    s.writeRows(rows);
    const r = await validateSidecar(s.file);
    expect(codes(r)).toEqual(["chain_mismatch", "chain_mismatch"]);
    expect(r.problems.map((p) => p.file)).toEqual(["manifest.json", "sessfmt-source.json"]);
    expect(r.invariants.hashChainValid).toBe(false);
  });

  it("a missing segment: segment_missing, once, naming the segment", async () => {
    const s = await store(8, 700);
    const rows = s.rows();
    rmSync(s.seg(2));
    const r = await validateSidecar(s.file);
    expect(r.problems.filter((p) => p.code === "segment_missing")).toEqual([expect.objectContaining({ file: "segments/0000000000000002.seg", entrySeq: rows.find((x) => x.segmentSeq === 2)?.entrySeq })]);
  });

  it("reordered entrySeq: entry_seq_order (and the frames out of place in their segment)", async () => {
    const s = await store();
    const rows = s.rows();
    const swapped = [rows[0], rows[2], rows[1], ...rows.slice(3)] as OffsetIndexRow[];
    s.writeRows(swapped);
    const r = await validateSidecar(s.file);
    expect(find(r, "entry_seq_order")).toMatchObject({ entrySeq: 2, line: 3 });
    expect(r.invariants.monotonicEntrySeq).toBe(false);
  });

  it("bytes after the last indexed frame: segment_unindexed_bytes at the first unindexed byte", async () => {
    const s = await store();
    const last = s.rows().at(-1) as OffsetIndexRow;
    appendFileSync(s.seg(last.segmentSeq), "{torn");
    const r = await validateSidecar(s.file);
    expect(find(r, "segment_unindexed_bytes")).toMatchObject({ offset: last.byteOffset + last.byteLength });
    expect(r.invariants.branchHeadsIndexed).toBe(false);
  });

  it("damaged manifest, checkpoint and ledger files each have their code", async () => {
    const s = await store();
    await createCheckpoint(s.file);
    const manifest = join(s.root, "manifest.json");
    writeFileSync(manifest, readFileSync(manifest, "utf8").replace(/"entriesTotal": \d+/, '"entriesTotal": 99'));
    writeFileSync(join(s.root, "checkpoints/0000000000000001.json"), "{}");
    writeFileSync(join(s.root, "migrations/ledger.jsonl"), "not an event\n");
    const r = await validateSidecar(s.file);
    expect(find(r, "manifest_invalid").message).toMatch(/hash mismatch/);
    expect(find(r, "checkpoint_invalid")).toMatchObject({ file: "checkpoints/0000000000000001.json" });
    expect(find(r, "ledger_invalid")).toMatchObject({ file: "migrations/ledger.jsonl", line: 1 });
  });

  it("a manifest recording an invariant as false that the store satisfies: manifest_mismatch", async () => {
    const s = await store();
    const m = await readManifest(s.root);
    if (m.state !== "ok") throw new Error("no manifest");
    writeFileSync(join(s.root, "manifest.json"), encodeManifest({ ...m.manifest, invariants: { ...m.manifest.invariants, checkpointsMonotonic: false } }));
    const r = await validateSidecar(s.file);
    expect(codes(r)).toEqual(["manifest_mismatch"]);
    expect(find(r, "manifest_mismatch").message).toMatch(/checkpointsMonotonic/);
  });

  it("every problem is reported, not only the first", async () => {
    const s = await store(8, 700);
    const rows = s.rows();
    (rows[0] as OffsetIndexRow).crc32c = "00000000";
    (rows[5] as OffsetIndexRow).byteOffset += 1;
    s.writeRows(rows);
    rmSync(join(s.root, "manifest.json"));
    const r = await validateSidecar(s.file);
    expect(codes(r)).toEqual(expect.arrayContaining(["frame_crc_mismatch", "row_offset_gap", "manifest_missing"]));
    expect(r.errors).toBeGreaterThanOrEqual(2);
    expect(r.warnings).toBeGreaterThanOrEqual(1);
  });

  it("defects copied from the JSONL (missing parent, duplicate id, cycle) and what the Rust port refuses are warnings", async () => {
    const cases: [string, string[]][] = [
      ["orphans.jsonl", ["parent_missing"]],
      ["duplicate-ids.jsonl", ["duplicate_entry_id"]],
      ["cycles.jsonl", ["parent_cycle", "parent_cycle"]],
      ["custom-entries.jsonl", ["rust_entry_type"]],
      ["unknown-types.jsonl", ["rust_entry_type"]],
    ];
    for (const [name, expected] of cases) {
      const file = copyFixture(scratch.sub(), name);
      await createV2SidecarFromJsonl(file);
      const r = await validateSidecar(file);
      expect(r.ok, name).toBe(true);
      expect(r.problems.every((p) => p.severity === "warning"), name).toBe(true);
      for (const c of expected) expect(codes(r), name).toContain(c);
    }
    const dir = scratch.sub();
    const file = writeSession(dir, [{ ...HEADER, id: "not-a-uuid" }, msg("bad id!", null)]);
    await createV2SidecarFromJsonl(file);
    expect(codes(await validateSidecar(file)).sort()).toEqual(["rust_entry_id", "rust_session_id"]);
  });

  it("validate of a directory that is not a sidecar is E_SIDECAR_MISSING", async () => {
    await rejectsWith(validateSidecar(join(scratch.sub(), "none.jsonl")), "E_SIDECAR_MISSING");
  });
});
