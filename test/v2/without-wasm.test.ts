/**
 * SPEC 5.1 and 11.21: where the engine has no WebAssembly (node --jitless), the reader's
 * scanner and the entry table's path walk fall back to JavaScript with the same results.
 * Runs the built package (dist/, made by `npm test` before the suite) in a child process.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createV2SidecarFromJsonl, openSession, openSidecar } from "../../src/index.js";
import { HEADER, Scratch, writeSession } from "./helpers.js";

const scratch = new Scratch();
afterAll(() => scratch.remove());
const DIST = join(dirname(fileURLToPath(import.meta.url)), "../../dist/index.js");

/** A session with branches, a compaction and a cycle-free long chain. */
function lines(): object[] {
  const out: object[] = [HEADER];
  const t = (i: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString();
  let parent: string | null = null;
  for (let i = 1; i <= 400; i++) {
    const id = `e${i}`;
    // Every 50th entry branches off ten entries back.
    const p: string | null = i % 50 === 0 ? `e${i - 10}` : parent;
    if (i === 300) out.push({ type: "compaction", id, parentId: p, timestamp: t(i), summary: "s", firstKeptEntryId: "e290", tokensBefore: 1 });
    else out.push({ type: "message", id, parentId: p, timestamp: t(i), message: { role: i % 2 ? "user" : "assistant", content: `m${i} ${"x".repeat(i % 7 === 0 ? 5000 : 20)}` } });
    parent = id;
  }
  return out;
}

describe("without WebAssembly", () => {
  it.skipIf(!existsSync(DIST))("a JSONL open and an active sidecar open give what they give with it", async () => {
    const file = writeSession(scratch.sub(), lines());
    await createV2SidecarFromJsonl(file, { segmentBytes: 64 * 1024 });
    const store = await openSidecar(file, { mode: "active" });
    const want = { jsonl: (await openSession(file)).buildContext(), sidecar: store.buildContext(), path: store.loadedCount, ids: store.records.map((r) => r.id) };
    await store.close();
    const code = `
      const m = await import(${JSON.stringify(pathToFileURL(DIST).href)});
      const file = ${JSON.stringify(file)};
      const store = await m.openSidecar(file, { mode: "active" });
      const out = { wasm: typeof WebAssembly, jsonl: (await m.openSession(file)).buildContext(), sidecar: store.buildContext(), path: store.loadedCount, ids: store.records.map((r) => r.id) };
      await store.close();
      process.stdout.write(JSON.stringify(out));`;
    const got = JSON.parse(execFileSync(process.execPath, ["--jitless", "--input-type=module", "-e", code], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as Record<string, unknown>;
    // --jitless leaves no WebAssembly (or one that cannot compile): the fallbacks ran.
    expect(["undefined", "object"]).toContain(got.wasm);
    expect({ jsonl: got.jsonl, sidecar: got.sidecar, path: got.path, ids: got.ids }).toEqual(JSON.parse(JSON.stringify(want)));
  });

  it.skipIf(!existsSync(DIST))("verify and validate (CRC-32C, index rows, frame heads) report what they report with it", async () => {
    const file = writeSession(scratch.sub(), lines());
    await createV2SidecarFromJsonl(file, { segmentBytes: 64 * 1024 });
    const code = `
      const m = await import(${JSON.stringify(pathToFileURL(DIST).href)});
      const file = ${JSON.stringify(file)};
      const verify = await m.verifyV2AgainstJsonl(file, { validationThread: "never" });
      const validate = await m.validateSidecar(file);
      process.stdout.write(JSON.stringify({ verify: { ...verify, durationMs: 0 }, validate }));`;
    const run = (flags: string[]) => JSON.parse(execFileSync(process.execPath, [...flags, "--input-type=module", "-e", code], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })) as { verify: { ok: boolean }; validate: unknown };
    const without = run(["--jitless"]);
    const withWasm = run([]);
    expect(without.verify.ok).toBe(true);
    // (durationMs is zeroed in the child.)
    expect(without.verify).toEqual(withWasm.verify);
    expect(without.validate).toEqual(withWasm.validate);
  });
});
