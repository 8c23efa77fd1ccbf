import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { catalogSidecarStatus } from "../../src/store/index.js";
import { createV2SidecarFromJsonl, decodeManifest, encodeManifest, syncSidecar, validateSidecar } from "../../src/v2/index.js";
import { makeTempDir } from "../helpers/session-files.js";

const HEADER = { type: "session", version: 3, id: "01946a2e-5c00-7000-8000-0000000000cc", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" };

function entry(id: string, parentId: string | null, text = `text of ${id}`): string {
  return JSON.stringify({ type: "message", id, parentId, timestamp: "2025-01-01T00:00:01.000Z", message: { role: "user", content: text, timestamp: 1 } });
}

let tmp: ReturnType<typeof makeTempDir>;
let file: string;
let root: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-sidecar-status-");
  file = join(tmp.dir, "s.jsonl");
  root = join(tmp.dir, "s.v2");
  writeFileSync(file, [JSON.stringify(HEADER), entry("e1", null), entry("e2", "e1"), entry("e3", "e2")].join("\n") + "\n");
});
afterEach(() => tmp.cleanup());

/** Rewrite manifest.json through `change`, with a correct hash. */
function editManifest(change: (m: ReturnType<typeof manifestOf>) => void): void {
  const m = manifestOf();
  change(m);
  writeFileSync(join(root, "manifest.json"), encodeManifest(m));
}

function manifestOf() {
  const d = decodeManifest(readFileSync(join(root, "manifest.json"), "utf8"));
  if (!d.ok) throw new Error(d.message);
  return d.value;
}

describe("none: no <stem>.v2 beside the session", () => {
  it("with and without the caller's directory listing", async () => {
    expect(await catalogSidecarStatus(file)).toBe("none");
    expect(await catalogSidecarStatus(file, ["s.jsonl"])).toBe("none");
  });
});

describe("partial: a sidecar being built or left half-built", () => {
  it("a staging dir beside the session, even next to a complete sidecar", async () => {
    await createV2SidecarFromJsonl(file);
    mkdirSync(join(tmp.dir, ".s.v2.staging-0123"));
    mkdirSync(join(tmp.dir, "s.v2.staging-4567"));
    expect(await catalogSidecarStatus(file, ["s.jsonl", "s.v2", "s.v2.staging-4567"])).toBe("partial");
  });

  it("a root with neither segments/ nor index/", async () => {
    mkdirSync(root);
    expect(await catalogSidecarStatus(file)).toBe("partial");
  });

  it("a root without manifest.json", async () => {
    await createV2SidecarFromJsonl(file);
    rmSync(join(root, "manifest.json"));
    expect(await catalogSidecarStatus(file)).toBe("partial");
  });
});

describe("fresh: the sidecar holds every entry line of the JSONL", () => {
  it("after create, and after a sync that framed an append", async () => {
    await createV2SidecarFromJsonl(file);
    expect(await catalogSidecarStatus(file)).toBe("fresh");
    appendFileSync(file, entry("e4", "e3") + "\n");
    await syncSidecar(file);
    expect(await catalogSidecarStatus(file)).toBe("fresh");
  });

  it("a false parentLinksClosed copied from a JSONL with an orphaned parent is not damage", async () => {
    appendFileSync(file, entry("e9", "nowhere") + "\n");
    await createV2SidecarFromJsonl(file);
    expect(manifestOf().invariants.parentLinksClosed).toBe(false);
    expect(await catalogSidecarStatus(file)).toBe("fresh");
  });
});

describe("stale: the JSONL moved on, or freshness cannot be told", () => {
  it("lines appended to the JSONL", async () => {
    await createV2SidecarFromJsonl(file);
    appendFileSync(file, entry("e4", "e3") + "\n");
    expect(await catalogSidecarStatus(file)).toBe("stale");
  });

  it("the JSONL rewritten in place with the same size (a new mtime makes the quick check hash the indexed tail)", async () => {
    await createV2SidecarFromJsonl(file);
    const text = readFileSync(file, "utf8");
    writeFileSync(file, text.replace("text of e3", "TEXT OF E3"));
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    expect(await catalogSidecarStatus(file)).toBe("stale");
  });

  it("no fingerprint (freshness unknown)", async () => {
    await createV2SidecarFromJsonl(file);
    rmSync(join(root, "sessfmt-source.json"));
    expect(await catalogSidecarStatus(file)).toBe("stale");
  });

  it("a fingerprint that counts other entries than the manifest (an interrupted sync)", async () => {
    await createV2SidecarFromJsonl(file);
    editManifest((m) => {
      m.counters.entriesTotal += 1;
    });
    expect(await catalogSidecarStatus(file)).toBe("stale");
  });
});

describe("corrupt: what the manifest and fingerprint show cannot be trusted", () => {
  it("a manifest whose hash does not match", async () => {
    await createV2SidecarFromJsonl(file);
    const path = join(root, "manifest.json");
    writeFileSync(path, readFileSync(path, "utf8").replace('"messagesTotal": 3', '"messagesTotal": 4'));
    expect(await catalogSidecarStatus(file)).toBe("corrupt");
  });

  it("a manifest recording a broken invariant", async () => {
    await createV2SidecarFromJsonl(file);
    editManifest((m) => {
      m.invariants.hashChainValid = false;
    });
    expect(await catalogSidecarStatus(file)).toBe("corrupt");
  });

  it("a fingerprint of another session", async () => {
    await createV2SidecarFromJsonl(file);
    const path = join(root, "sessfmt-source.json");
    writeFileSync(path, readFileSync(path, "utf8").replace(HEADER.id, "01946a2e-5c00-7000-8000-0000000000dd"));
    expect(await catalogSidecarStatus(file)).toBe("corrupt");
  });

  it("a symlinked root (never followed)", async () => {
    await createV2SidecarFromJsonl(file);
    renameSync(root, join(tmp.dir, "elsewhere"));
    symlinkSync(join(tmp.dir, "elsewhere"), root);
    expect(await catalogSidecarStatus(file)).toBe("corrupt");
  });
});

describe("the status is cheap: it reads the manifest and the fingerprint, never a frame", () => {
  it("damage inside a segment stays fresh here (sessfmt sidecar validate finds it)", async () => {
    await createV2SidecarFromJsonl(file);
    const seg = join(root, "segments", "0000000000000001.seg");
    const bytes = readFileSync(seg);
    const at = bytes.indexOf("text of e2");
    expect(at).toBeGreaterThan(0);
    bytes[at] = "T".charCodeAt(0);
    writeFileSync(seg, bytes);
    expect(await catalogSidecarStatus(file)).toBe("fresh");
    expect((await validateSidecar(file)).problems.map((p) => p.code)).toContain("frame_crc_mismatch");
  });
});
