/**
 * The shared reader suite, run over every reader: the JSONL reader, and the V2 sidecar
 * reader (full open, with entries retained and with entries re-read from frames).
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll } from "vitest";
import { createV2SidecarFromJsonl, openSession, openSidecar, type SidecarStore } from "../../src/index.js";
import { describeReaderSuite, type ReaderView } from "./reader-suite.js";

const scratch = mkdtempSync(join(tmpdir(), "sessfmt-readers-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

describeReaderSuite("JSONL reader (openSession)", async (file) => {
  const s = await openSession(file);
  return {
    tree: s.tree,
    leafId: s.leafId,
    entries: () => s.entries(),
    raw: (id) => s.raw(s.record(id) as NonNullable<ReturnType<typeof s.record>>),
    buildContext: (leaf) => s.buildContext(leaf),
  };
});

function sidecarView(store: SidecarStore): ReaderView {
  return {
    tree: store.tree,
    leafId: store.leafId,
    entries: () => store.entries(),
    raw: (id) => store.raw(store.record(id) as NonNullable<ReturnType<typeof store.record>>),
    buildContext: (leaf) => store.buildContext(leaf),
    close: () => store.close(),
  };
}

/** Copy the file into a fresh directory and build its sidecar there (small segments, so several). */
async function sidecarOf(file: string): Promise<string> {
  const dir = join(scratch, String(n++));
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dir);
  const copy = join(dir, basename(file));
  copyFileSync(file, copy);
  await createV2SidecarFromJsonl(copy, { segmentBytes: 1500, verify: false });
  return copy;
}

describeReaderSuite("V2 sidecar reader (openSidecar, full mode)", async (file) => sidecarView(await openSidecar(await sidecarOf(file), { mode: "full" })));

describeReaderSuite(
  "V2 sidecar reader (full mode, entries re-read from frames)",
  async (file) => sidecarView(await openSidecar(await sidecarOf(file), { mode: "full", retainEntries: false, verify: true })),
  { runs: 10 },
);
