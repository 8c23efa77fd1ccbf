/**
 * info, tree and context with --from-sidecar (SPEC 10): the entries come from the V2
 * sidecar, the header from the JSONL, and for a fresh sidecar the output is the JSONL's.
 */
import fc from "fast-check";
import { appendFileSync, copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openSessionSync } from "../../src/format/index.js";
import { createV2SidecarFromJsonl } from "../../src/v2/index.js";
import { sessionArb, sessionText } from "../shared/sessions.js";
import { branchedLines, FIXTURES, header, runCli, useTempDir, user, writeSession } from "./harness.js";

const tmp = useTempDir();

/** Every fixture that opens as version 3 (the sidecar stores version 3 lines only). */
function v3Fixtures(): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), r);
      else if (e.name.endsWith(".jsonl")) {
        try {
          if (openSessionSync(join(dir, e.name)).version === 3) out.push(r);
        } catch {
          // empty or bad header: no session, no sidecar
        }
      }
    }
  };
  walk(FIXTURES, "");
  return out.sort();
}

const FIXTURE_FILES = v3Fixtures();

/** The commands compared, each without and with --from-sidecar. */
const VIEWS: string[][] = [["info"], ["info", "--json"], ["tree"], ["tree", "--json"], ["context"], ["context", "--compact"]];

async function withSidecar(file: string): Promise<string> {
  await createV2SidecarFromJsonl(file);
  return file;
}

async function expectSameOutput(args: string[]): Promise<void> {
  const jsonl = await runCli(args);
  const sidecar = await runCli([...args, "--from-sidecar"]);
  expect(sidecar.stderr).toBe(jsonl.stderr);
  expect(sidecar.stdout).toBe(jsonl.stdout);
  expect(sidecar.code).toBe(jsonl.code);
}

describe("with a fresh sidecar, info, tree and context print exactly what they print from the JSONL", () => {
  it("the fixtures include the damaged kinds (blank, invalid and torn lines, CRLF, BOM, cycles, orphans)", () => {
    expect(FIXTURE_FILES.length).toBeGreaterThanOrEqual(25);
    for (const name of ["blank-lines.jsonl", "corrupt-lines.jsonl", "truncated-tail.jsonl", "crlf.jsonl", "bom.jsonl", "cycles.jsonl"]) expect(FIXTURE_FILES).toContain(name);
  });

  it.each(FIXTURE_FILES)("%s: every view, and tree/context at every leaf", async (name) => {
    const file = join(tmp(), name.replaceAll("/", "_"));
    copyFileSync(join(FIXTURES, name), file);
    await withSidecar(file);
    for (const view of VIEWS) await expectSameOutput([view[0] as string, file, ...view.slice(1)]);
    for (const leaf of openSessionSync(file).tree.leaves()) {
      await expectSameOutput(["tree", file, "--json", "--leaf", leaf.id]);
      await expectSameOutput(["context", file, "--compact", "--leaf", leaf.id]);
    }
  });

  it("generated sessions (every entry type, junk lines, CRLF, a torn last line)", async () => {
    const dir = tmp();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(sessionArb({ maxOps: 30, crlf: true, torn: true }), async (s) => {
        const file = join(dir, `g${n++}.jsonl`);
        // Left out: the junk line {"type":"message","id":"x"}. The JSONL reader lets that skipped
        // line (it has no parentId) make the dialect "rust", where SPEC 4.1 says only an entry
        // omitting parentId does; the sidecar, holding entries only, says "ts".
        writeFileSync(file, sessionText(s, s.ops.filter((op) => !(op.kind === "junk" && op.which % 6 === 4))));
        await withSidecar(file);
        for (const view of [["info", "--json"], ["tree", "--json"], ["context", "--compact"]]) await expectSameOutput([view[0] as string, file, ...view.slice(1)]);
      }),
      { numRuns: Number(process.env.SESSFMT_V2_RUNS) || 30 },
    );
  });
});

describe("--mode active reads the path from the leaf to its root", () => {
  it("context at the default leaf and at any --leaf is the JSONL's", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    for (const leaf of [[], ["--leaf", "c2"], ["--leaf", "a2"], ["--leaf", "b1"]]) {
      const jsonl = await runCli(["context", file, ...leaf]);
      const active = await runCli(["context", file, "--from-sidecar", "--mode", "active", ...leaf]);
      expect(active.stderr).toBe("");
      expect(active.stdout).toBe(jsonl.stdout);
    }
  });

  it("tree draws only the path, and info says it counted the loaded entries only", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const tree = await runCli(["tree", file, "--from-sidecar", "--mode", "active", "--leaf", "c2"]);
    expect(tree.stdout.trimEnd().split("\n").map((l) => l.slice(2, 4))).toEqual(["a1", "a2", "c1", "c2"]);
    const info = JSON.parse((await runCli(["info", file, "--json", "--from-sidecar", "--mode", "active"])).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ entryCount: 4, leafId: "b2", partial: { mode: "active", loaded: 4, entries: 7 } });
    expect((await runCli(["info", file, "--from-sidecar", "--mode", "active"])).stdout).toMatch(/^loaded: +4 of 7 entries \(--mode active\)/m);
  });

  it("context reads only the frames the context is made of: a damaged frame before the last compaction stops --mode full, not the default", async () => {
    const lines = [header(), user("u1", null, "first", 1), user("u2", "u1", "second", 2), user("u3", "u2", "third", 3)];
    lines.push({ type: "compaction", id: "k1", parentId: "u3", timestamp: "2025-01-01T00:00:04.000Z", summary: "so far", firstKeptEntryId: "u3", tokensBefore: 10 });
    lines.push(user("u4", "k1", "after", 5));
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", lines));
    const segDir = join(file.replace(/\.jsonl$/, ".v2"), "segments");
    const seg = join(segDir, readdirSync(segDir)[0] as string);
    // u1's payload names another id than its frame: reading that frame is E_SIDECAR_CORRUPT.
    const bytes = readFileSync(seg);
    const at = bytes.indexOf('"id":"u1"');
    expect(at).toBeGreaterThan(0);
    bytes.write('"id":"u9"', at);
    writeFileSync(seg, bytes);
    const jsonl = await runCli(["context", file]);
    for (const mode of [[], ["--mode", "active"]]) {
      const r = await runCli(["context", file, "--from-sidecar", ...mode]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(jsonl.stdout);
    }
    const full = await runCli(["context", file, "--from-sidecar", "--mode", "full"]);
    expect(full.code).toBe(2);
    expect(full.stderr).toMatch(/E_SIDECAR_CORRUPT/);
  });

  it("without an entry table, context reads only the --leaf's path, and a stale sidecar is E_SIDECAR_STALE before any frame is read", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const root = file.replace(/\.jsonl$/, ".v2");
    rmSync(join(root, "index", "sessfmt-entries.bin"));
    // b2, the last entry (the default leaf), no longer reads; c2's path does.
    const segDir = join(root, "segments");
    const seg = join(segDir, readdirSync(segDir)[0] as string);
    const bytes = readFileSync(seg);
    bytes.write('"id":"b9"', bytes.lastIndexOf('"id":"b2"'));
    writeFileSync(seg, bytes);
    for (const mode of [[], ["--mode", "active"]]) {
      const r = await runCli(["context", file, "--from-sidecar", "--leaf", "c2", ...mode]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe((await runCli(["context", file, "--leaf", "c2"])).stdout);
    }
    expect((await runCli(["context", file, "--from-sidecar"])).stderr).toMatch(/E_SIDECAR_CORRUPT/);
    appendFileSync(file, `${JSON.stringify(user("d1", "b2", "more", 9))}\n`);
    const stale = await runCli(["context", file, "--from-sidecar", "--leaf", "c2"]);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/E_SIDECAR_STALE/);
  });

  it("a JSONL header the reader refuses is refused the same way by context --from-sidecar --allow-stale", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace('"version":3', '"version":"x"'));
    const jsonl = await runCli(["context", file]);
    expect(jsonl.code).toBe(2);
    const code = /E_[A-Z_]+/.exec(jsonl.stderr)?.[0] as string;
    for (const mode of [[], ["--mode", "full"]]) {
      const r = await runCli(["context", file, "--from-sidecar", "--allow-stale", ...mode]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(code);
    }
  });

  it("an unknown --leaf is E_ENTRY_NOT_FOUND", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const r = await runCli(["context", file, "--from-sidecar", "--mode", "active", "--leaf", "zz"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_ENTRY_NOT_FOUND: .*"zz"/);
  });
});

describe("--mode tail:N loads the last N entries", () => {
  it("tree shows them; info counts them without calling their unloaded parents orphans", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const tree = JSON.parse((await runCli(["tree", file, "--json", "--from-sidecar", "--mode", "tail:2"])).stdout) as { roots: { id: string; line: number }[] };
    expect(tree.roots.map((r) => [r.id, r.line])).toEqual([["b1", 7]]);
    const info = JSON.parse((await runCli(["info", file, "--json", "--from-sidecar", "--mode", "tail:2"])).stdout) as Record<string, unknown>;
    expect(info).toMatchObject({ entryCount: 2, diagnostics: { count: 0 }, partial: { mode: "tail:2", loaded: 2, entries: 7 } });
  });

  it("a --leaf outside the tail is E_ENTRY_NOT_FOUND saying what was loaded", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const r = await runCli(["tree", file, "--from-sidecar", "--mode", "tail:2", "--leaf", "a1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("among the 2 of 7 entries --mode tail:2 loaded");
  });
});

describe("a sidecar that is not fresh is refused with E_SIDECAR_STALE unless --allow-stale", () => {
  it("lines appended to the JSONL: names sync; --allow-stale reads what the sidecar holds", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    appendFileSync(file, JSON.stringify(user("n1", "b2", "new", 9)) + "\n");
    const r = await runCli(["info", file, "--from-sidecar"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_STALE: .*behind the JSONL \(\d+ bytes appended.*sessfmt sidecar sync /);
    const stale = JSON.parse((await runCli(["info", file, "--json", "--from-sidecar", "--allow-stale"])).stdout) as Record<string, unknown>;
    const jsonl = JSON.parse((await runCli(["info", file, "--json"])).stdout) as Record<string, unknown>;
    expect([stale.entryCount, stale.leafId]).toEqual([7, "b2"]);
    expect([jsonl.entryCount, jsonl.leafId]).toEqual([8, "n1"]);
  });

  it("the indexed part of the JSONL changed: names sync --rebuild", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    const lines = branchedLines();
    lines[lines.length - 1] = user("b2", "b1", "rewritten, and longer than before", 7);
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    const r = await runCli(["tree", file, "--from-sidecar"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_STALE: .*the sidecar is stale .*sessfmt sidecar sync --rebuild /);
  });

  it("no fingerprint: freshness unknown", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    rmSync(join(file.replace(/\.jsonl$/, ".v2"), "sessfmt-source.json"));
    const r = await runCli(["context", file, "--from-sidecar"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_STALE: .*freshness is unknown/);
    expect((await runCli(["context", file, "--from-sidecar", "--allow-stale"])).stdout).toBe((await runCli(["context", file])).stdout);
  });
});

describe("a missing sidecar is E_SIDECAR_MISSING, with the command that creates one", () => {
  it("for each of info, tree and context", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    for (const cmd of ["info", "tree", "context"]) {
      const r = await runCli([cmd, file, "--from-sidecar"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`sessfmt: E_SIDECAR_MISSING: ${file}: no V2 sidecar beside the file (${file.replace(/\.jsonl$/, ".v2")}); create one with \`sessfmt sidecar create ${file}\`\n`);
    }
  });
});

describe("--mode and --allow-stale belong to --from-sidecar", () => {
  it("alone they are usage errors; an unknown mode is one too", async () => {
    const file = await withSidecar(writeSession(tmp(), "s.jsonl", branchedLines()));
    for (const args of [["--mode", "active"], ["--allow-stale"], ["--from-sidecar", "--mode", "tail"], ["--from-sidecar", "--mode", "all"]]) {
      const r = await runCli(["tree", file, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sessfmt: E_INVALID_ARGUMENT: /);
    }
  });
});
