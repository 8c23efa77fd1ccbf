/**
 * SPEC 11.15: rebuilding the index from the segments.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, rebuildSidecarIndex, syncSidecar, validateSidecar, type RebuildReport } from "../../src/index.js";
import { HEADER, linear, rejectsWith, Scratch, writeSession, fileHashes } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());

async function store(entries = 9, segmentBytes = 800) {
  const dir = scratch.sub();
  const file = writeSession(dir, [HEADER, ...linear(entries)]);
  const r = await createV2SidecarFromJsonl(file, { segmentBytes });
  const index = join(r.root, "index/offsets.jsonl");
  return { file, root: r.root, index, original: readFileSync(index), seg: (n: number) => join(r.root, "segments", `${String(n).padStart(16, "0")}.seg`) };
}

describe("11.15 Rebuilding the index", () => {
  it("a missing or garbage index is rebuilt from the segments, identical to the one written with the frames", async () => {
    const s = await store();
    rmSync(s.index);
    const r = await rebuildSidecarIndex(s.file);
    expect(r).toMatchObject({ entries: 9, problems: [], truncated: [], quarantined: [], droppedFrames: 0, fingerprint: "kept" });
    expect(readFileSync(s.index).equals(s.original)).toBe(true);
    writeFileSync(s.index, "garbage\n{}\n");
    await rebuildSidecarIndex(s.file);
    expect(readFileSync(s.index).equals(s.original)).toBe(true);
    expect((await validateSidecar(s.file)).ok).toBe(true);
  });

  it("a torn last frame is cut off and reported (frame_torn); a whole last frame missing only its line end gets one", async () => {
    const s = await store();
    const segs = readdirSync(join(s.root, "segments")).sort();
    const last = join(s.root, "segments", segs.at(-1) as string);
    const good = readFileSync(last);
    appendFileSync(last, '{"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":9');
    const r = await rebuildSidecarIndex(s.file);
    expect(r.problems.map((p) => p.code)).toEqual(["frame_torn"]);
    expect(r.problems[0]).toMatchObject({ file: `segments/${segs.at(-1)}`, offset: good.length });
    expect(r.truncated).toEqual([{ file: `segments/${segs.at(-1)}`, at: good.length, bytes: Buffer.byteLength(`{"schema":"pi.session_store_v2.segment_frame.v1","segmentSeq":9`) }]);
    expect(readFileSync(last).equals(good)).toBe(true);
    expect(readFileSync(s.index).equals(s.original)).toBe(true);

    writeFileSync(last, good.subarray(0, -1));
    const healed = await rebuildSidecarIndex(s.file);
    expect(healed.problems.map((p) => [p.code, p.severity])).toEqual([["frame_unterminated_healed", "warning"]]);
    expect(readFileSync(last).equals(good)).toBe(true);
    expect(readFileSync(s.index).equals(s.original)).toBe(true);
    expect((await validateSidecar(s.file)).ok).toBe(true);
  });

  it("damage in the middle stops the rebuild, names the frame and the later segments, and changes nothing", async () => {
    const s = await store();
    const seg1 = readFileSync(s.seg(1));
    seg1[seg1.indexOf('"payload"') + 3] = 0x7b; // the frame no longer parses
    writeFileSync(s.seg(1), seg1);
    rmSync(s.index);
    const before = fileHashes(s.root);
    const err = await rejectsWith(rebuildSidecarIndex(s.file), "E_SIDECAR_CORRUPT");
    expect(err.message).toMatch(/segments\/0000000000000001\.seg:byte 0/);
    const data = err.data as { problems: { code: string }[]; laterSegments: string[] };
    expect(data.problems.map((p) => p.code)).toEqual(["frame_invalid"]);
    expect(data.laterSegments.length).toBeGreaterThan(1);
    expect(fileHashes(s.root)).toEqual(before);
  });

  it("with onCorruption 'truncate' it cuts at the damage, moves every later segment aside, says how much, and a sync restores the rest from the JSONL", async () => {
    const s = await store(9, 1000); // two frames per segment
    expect(readFileSync(s.seg(2)).toString().split("\n").length).toBe(3);
    const seg2 = readFileSync(s.seg(2));
    const second = seg2.indexOf(0x0a) + 1;
    seg2[seg2.indexOf("payloadSha256", second) + 20] = "0".charCodeAt(0) === seg2[seg2.indexOf("payloadSha256", second) + 20] ? 0x31 : 0x30;
    writeFileSync(s.seg(2), seg2);
    const r: RebuildReport = await rebuildSidecarIndex(s.file, { onCorruption: "truncate" });
    expect(r.problems[0]).toMatchObject({ code: "payload_hash_mismatch", file: "segments/0000000000000002.seg", offset: second });
    expect(r.truncated).toEqual([{ file: "segments/0000000000000002.seg", at: second, bytes: seg2.length - second }]);
    expect(r.quarantined.length).toBeGreaterThan(0);
    expect(r.problems.filter((p) => p.code === "segment_quarantined").length).toBe(r.quarantined.length);
    expect(r.entries + r.droppedFrames).toBe(9);
    for (const q of r.quarantined) expect(existsSync(join(s.root, q))).toBe(true);
    expect(r.fingerprint).toBe("rewritten");
    const v = await validateSidecar(s.file);
    expect(v.ok).toBe(true);
    expect(v.entries).toBe(r.entries);
    const synced = await syncSidecar(s.file, { segmentBytes: 1000 });
    expect(synced).toMatchObject({ action: "appended", appended: 9 - r.entries, entries: 9 });
    expect((await validateSidecar(s.file)).ok).toBe(true);
  });

  it("a missing segment in the middle is an entrySeq gap: the rebuild stops there", async () => {
    const s = await store();
    rmSync(s.seg(2));
    const err = await rejectsWith(rebuildSidecarIndex(s.file), "E_SIDECAR_CORRUPT");
    expect((err.data as { problems: { code: string; file: string }[] }).problems[0]).toMatchObject({ code: "entry_seq_gap", file: "segments/0000000000000003.seg" });
  });
});
