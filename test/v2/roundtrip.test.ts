/**
 * Properties over generated sessions (SPEC 11.10, 11.13, 11.17): JSONL -> V2 -> entries is
 * lossless, appending through any number of syncs gives the sidecar a single creation
 * gives, the chain survives reopening, and export gives back the valid lines.
 */
import fc from "fast-check";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createCheckpoint, createV2SidecarFromJsonl, exportJsonlFromSidecar, openSession, openSidecar, readManifest, syncSidecar, validateSidecar } from "../../src/index.js";
import { sessionArb, sessionText } from "../shared/sessions.js";
import { expectedExport, fixedClock, Scratch, fileHashes } from "./helpers.js";

const scratch = new Scratch();
/** Runs per property; SESSFMT_V2_RUNS raises it for a soak. */
const runs = (n: number): number => Number(process.env.SESSFMT_V2_RUNS) || n;
afterAll(() => scratch.remove());
const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** The chain over the valid entry lines, computed with node:crypto only. */
function independentChain(file: string): string {
  let chain = "0".repeat(64);
  for (const line of expectedExport(file).toString("latin1").split("\n").slice(1, -1)) {
    chain = createHash("sha256").update(chain + sha(Buffer.from(line, "latin1")), "ascii").digest("hex");
  }
  return chain;
}

describe("11.10 JSONL -> V2 -> entries is lossless", () => {
  it("any session of appends and branches (junk lines, CRLF, a torn end) reads back unchanged, exports its valid lines, and validates", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(sessionArb({ junk: true, crlf: true, torn: true }), fc.integer({ min: 300, max: 5000 }), async (s, segmentBytes) => {
        const dir = scratch.sub();
        const file = join(dir, `p${n++}.jsonl`);
        writeFileSync(file, sessionText(s));
        const created = await createV2SidecarFromJsonl(file, { segmentBytes, verify: false });
        const session = await openSession(file);
        const store = await openSidecar(file);
        try {
          expect(store.entries()).toEqual(session.entries());
          store.records.forEach((r, i) => {
            expect(store.raw(r).equals(session.raw(session.records[i] as (typeof session.records)[number]))).toBe(true);
          });
          const exported = await exportJsonlFromSidecar(file);
          expect(exported.data?.equals(expectedExport(file))).toBe(true);
          expect(created.chainHash).toBe(independentChain(file));
          const report = await validateSidecar(file);
          expect(report.problems.filter((p) => p.severity === "error")).toEqual([]);
          expect(report.chainHash).toBe(created.chainHash);
        } finally {
          await store.close();
        }
      }),
      { numRuns: runs(40) },
    );
  });
});

/** Where to cut a file: anywhere, or within two bytes of a line end (where torn lines, "\r" and open tails meet). */
type Cut = { fraction: number } | { line: number; delta: number };
const cutArb: fc.Arbitrary<Cut> = fc.oneof(fc.record({ fraction: fc.double({ min: 0, max: 1, noNaN: true }) }), fc.record({ line: fc.nat(), delta: fc.integer({ min: -2, max: 1 }) }));

describe("11.13 Appending through syncs equals creating at once", () => {
  it("cutting the file at any bytes, creating from the first piece and syncing after each further piece gives the same store, byte for byte", async () => {
    let n = 0;
    const now = fixedClock();
    await fc.assert(
      fc.asyncProperty(sessionArb({ junk: true, crlf: true, torn: true, maxOps: 30 }), fc.array(cutArb, { maxLength: 4 }), fc.integer({ min: 400, max: 3000 }), async (s, picks, segmentBytes) => {
        const text = Buffer.from(sessionText(s));
        const headerEnd = text.indexOf(0x0a) >= 0 ? text.indexOf(0x0a) + 1 : text.length;
        const newlines = [...text.keys()].filter((i) => text[i] === 0x0a && i >= headerEnd);
        const at = (p: Cut) =>
          "fraction" in p ? headerEnd + Math.floor(p.fraction * (text.length - headerEnd)) : Math.min(text.length, Math.max(headerEnd, (newlines[p.line % Math.max(1, newlines.length)] ?? text.length) + p.delta));
        const cuts = [...new Set(picks.map(at))].sort((a, b) => a - b);
        const dir = scratch.sub();
        const file = join(dir, `c${n}.jsonl`);
        writeFileSync(file, text.subarray(0, cuts[0] ?? text.length));
        await createV2SidecarFromJsonl(file, { now, segmentBytes, verify: false });
        for (const cut of [...cuts.slice(1), text.length]) {
          writeFileSync(file, text.subarray(0, cut));
          const rep = await syncSidecar(file, { now, segmentBytes });
          expect(rep.action === "appended" || rep.action === "none").toBe(true);
          expect(rep.repaired).toEqual([]);
        }
        const once = scratch.sub();
        const file2 = join(once, `c${n++}.jsonl`);
        writeFileSync(file2, text);
        const fresh = await createV2SidecarFromJsonl(file2, { now, segmentBytes, verify: false });
        const a = fileHashes(join(dir, `c${n - 1}.v2`));
        const b = fileHashes(fresh.root);
        const fpA = JSON.parse(readFileSync(join(dir, `c${n - 1}.v2/sessfmt-source.json`), "utf8"));
        const fpB = JSON.parse(readFileSync(join(fresh.root, "sessfmt-source.json"), "utf8"));
        delete a["sessfmt-source.json"];
        delete b["sessfmt-source.json"];
        expect(a).toEqual(b);
        expect({ ...fpA, sourceMtimeMs: 0, sourceFile: "" }).toEqual({ ...fpB, sourceMtimeMs: 0, sourceFile: "" });
        expect((await validateSidecar(file)).ok).toBe(true);
      }),
      { numRuns: runs(30) },
    );
  });

  it("the chain survives reopening and syncing: the manifest's chain is the chain over all valid lines, and earlier checkpoints stay valid", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(sessionArb({ junk: true, maxOps: 25 }), fc.nat({ max: 25 }), async (s, split) => {
        const dir = scratch.sub();
        const file = join(dir, `k${n++}.jsonl`);
        const first = s.ops.slice(0, split);
        writeFileSync(file, sessionText(s, first));
        await createV2SidecarFromJsonl(file, { verify: false });
        const hasEntries = first.some((o) => o.kind === "entry");
        if (hasEntries) await createCheckpoint(file);
        writeFileSync(file, sessionText(s));
        await syncSidecar(file);
        const m = await readManifest(join(dir, `k${n - 1}.v2`));
        expect(m.state === "ok" && m.manifest.integrity.chainHash).toBe(independentChain(file));
        const report = await validateSidecar(file);
        expect(report.ok).toBe(true);
        expect(report.chainHash).toBe(independentChain(file));
      }),
      { numRuns: runs(25) },
    );
  });
});
