/**
 * `sessfmt export <file> --from-sidecar --format jsonl [-o out]` (SPEC 10, 11.17), in
 * process and, for the bytes on a real pipe and the exit statuses, as a spawned process.
 */
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { openSessionSync } from "../../src/format/index.js";
import { createV2SidecarFromJsonl } from "../../src/v2/index.js";
import { branchedLines, FIXTURES, header, runCli, useTempDir, writeSession } from "./harness.js";
import { assertBuilt, runBin } from "./process.js";

const tmp = useTempDir();

async function fixtureWithSidecar(name: string): Promise<string> {
  const file = join(tmp(), name);
  copyFileSync(join(FIXTURES, name), file);
  await createV2SidecarFromJsonl(file);
  return file;
}

/** The header line and the entry lines of a file, each ending in "\n". */
function headerAndEntries(file: string): string {
  const s = openSessionSync(file);
  const lines = [s.rawHeader().toString("utf8")];
  s.forEachRaw(s.records, (b) => lines.push(b.toString("utf8")));
  return lines.map((l) => `${l}\n`).join("");
}

describe("export writes the JSONL back from header + sidecar, byte for byte", () => {
  it("to stdout: the original file when every line is an entry ending in \\n", async () => {
    for (const name of ["v3-branched.jsonl", "labels.jsonl", "bom.jsonl", "unicode-separators.jsonl", "lone-surrogate.jsonl"]) {
      const file = await fixtureWithSidecar(name);
      const r = await runCli(["export", file, "--from-sidecar", "--format", "jsonl"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(readFileSync(file, "utf8"));
    }
  });

  it("otherwise the header and the entry lines, each with \\n", async () => {
    for (const name of ["crlf.jsonl", "corrupt-lines.jsonl", "blank-lines.jsonl", "truncated-tail-complete.jsonl"]) {
      const file = await fixtureWithSidecar(name);
      const r = await runCli(["export", file, "--from-sidecar"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).not.toBe(readFileSync(file, "utf8"));
      expect(r.stdout).toBe(headerAndEntries(file));
    }
  });

  it("-o writes a new file (mode 0600) and says what it wrote; --json gives entries, bytes and sha256", async () => {
    const file = await fixtureWithSidecar("v3-branched.jsonl");
    const out = join(tmp(), "copy.jsonl");
    const r = await runCli(["export", file, "--from-sidecar", "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^exported 14 entries to ${out}: \\d+ bytes \\(.*\\), sha256 [0-9a-f]{64}\\n$`));
    expect(readFileSync(out)).toEqual(readFileSync(file));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const other = join(tmp(), "other.jsonl");
    const json = JSON.parse((await runCli(["export", file, "--from-sidecar", "-o", other, "--json"])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ entries: 14, bytes: readFileSync(file).length });
  });
});

describe("export never overwrites: an existing -o file is E_EXISTS and stays as it was", () => {
  it("refuses, leaving the file's bytes", async () => {
    const file = await fixtureWithSidecar("v3-linear.jsonl");
    const out = join(tmp(), "taken.jsonl");
    writeFileSync(out, "mine\n");
    const r = await runCli(["export", file, "--from-sidecar", "-o", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`sessfmt: E_EXISTS: ${out}: the output file exists; export never overwrites a file: choose another -o\n`);
    expect(readFileSync(out, "utf8")).toBe("mine\n");
  });
});

describe("export refuses what it cannot do faithfully", () => {
  it("without --from-sidecar, --json without -o, or an unknown format: usage errors", async () => {
    const file = await fixtureWithSidecar("v3-linear.jsonl");
    for (const args of [[], ["--from-sidecar", "--json"], ["--from-sidecar", "--format", "sqlite"]]) {
      const r = await runCli(["export", file, ...args]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^sessfmt: E_INVALID_ARGUMENT: /);
    }
  });

  it("a JSONL header other than the sidecar's: E_SIDECAR_STALE, unless --allow-header-change", async () => {
    const dir = tmp();
    const file = writeSession(dir, "s.jsonl", branchedLines());
    await createV2SidecarFromJsonl(file);
    const lines = branchedLines();
    lines[0] = header({ cwd: "/elsewhere" });
    writeSession(dir, "s.jsonl", lines);
    const r = await runCli(["export", file, "--from-sidecar"]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_STALE: .*header is not the one the sidecar was built under; `sessfmt sidecar sync --rebuild .*--allow-header-change/);
    const allowed = await runCli(["export", file, "--from-sidecar", "--allow-header-change"]);
    expect(allowed.stdout).toBe(readFileSync(file, "utf8"));
  });

  it("a damaged frame: E_SIDECAR_CORRUPT, and no partial -o file", async () => {
    const file = await fixtureWithSidecar("v3-branched.jsonl");
    const seg = join(file.replace(/\.jsonl$/, ".v2"), "segments", "0000000000000001.seg");
    const bytes = readFileSync(seg);
    bytes[bytes.indexOf("commander skeleton")] = 0x43;
    writeFileSync(seg, bytes);
    const out = join(tmp(), "partial.jsonl");
    const r = await runCli(["export", file, "--from-sidecar", "-o", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sessfmt: E_SIDECAR_CORRUPT: /);
    expect(existsSync(out)).toBe(false);
  });

  it("no sidecar: E_SIDECAR_MISSING naming sidecar create", async () => {
    const file = writeSession(tmp(), "s.jsonl", branchedLines());
    const r = await runCli(["export", file, "--from-sidecar"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("no V2 sidecar to export; create one with `sessfmt sidecar create");
  });
});

describe("as a real process: bytes on a pipe and exit statuses", () => {
  beforeAll(() => assertBuilt());

  it("export to stdout is the file; sidecar validate exits 1 on damage; --from-sidecar on a missing sidecar exits 2", async () => {
    const file = await fixtureWithSidecar("bom.jsonl");
    const exported = await runBin(["export", file, "--from-sidecar", "--format", "jsonl"]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toBe(readFileSync(file, "utf8"));

    const seg = join(file.replace(/\.jsonl$/, ".v2"), "segments", "0000000000000001.seg");
    const bytes = readFileSync(seg);
    const at = bytes.length - 10;
    bytes[at] = (bytes[at] as number) ^ 0x01;
    writeFileSync(seg, bytes);
    const validated = await runBin(["sidecar", "validate", file]);
    expect(validated.code).toBe(1);
    expect(validated.stdout).toMatch(/^error +frame_crc_mismatch /m);

    const bare = writeSession(tmp(), "bare.jsonl", branchedLines());
    const missing = await runBin(["tree", bare, "--from-sidecar"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^sessfmt: E_SIDECAR_MISSING: .*sessfmt sidecar create/);
  });
});
