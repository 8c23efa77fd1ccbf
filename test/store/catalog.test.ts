import { execFile } from "node:child_process";
import { appendFileSync, cpSync, existsSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SessionCatalog, type CatalogSession } from "../../src/store/index.js";
import { createV2SidecarFromJsonl, syncSidecar } from "../../src/v2/index.js";
import { makeTempDir } from "../helpers/session-files.js";

const run = promisify(execFile);
const ARCHIVE = join(import.meta.dirname, "..", "..", "fixtures", "archive");
const REFRESHER = join(import.meta.dirname, "helpers", "refresher.ts");
const PROJ = "--home-user-proj--";
const A1 = `${PROJ}/2025-01-15T09-00-00-000Z_01946a2e-5c00-7000-8000-000000000a01.jsonl`;
const A2 = `${PROJ}/2025-01-16T09-00-00-000Z_01946a2e-5c00-7000-8000-000000000a02.jsonl`;

let tmp: ReturnType<typeof makeTempDir>;
let root: string;
const open: SessionCatalog[] = [];

beforeEach(() => {
  tmp = makeTempDir("sessfmt-catalog-");
  root = join(realpathSync(tmp.dir), "sessions");
  cpSync(ARCHIVE, root, { recursive: true });
});
afterEach(() => {
  for (const c of open.splice(0)) c.close();
  tmp.cleanup();
});

async function catalogOf(dir = root): Promise<SessionCatalog> {
  const c = await SessionCatalog.open(dir);
  open.push(c);
  return c;
}

/** What a catalog says about every session, without the refresh-time column. */
function snapshot(c: SessionCatalog): CatalogSession[] {
  return c.list({ archived: "include" });
}

/** A second catalog of the same root, built from nothing, as the reference. */
async function fresh(): Promise<CatalogSession[]> {
  const c = await SessionCatalog.open(root, { file: join(tmp.dir, `reference-${open.length}.sqlite`) });
  open.push(c);
  await c.refresh();
  return snapshot(c);
}

/** Bump a file's mtime without changing its bytes. */
function touch(file: string, secondsAhead = 10): void {
  const t = new Date(Date.now() + secondsAhead * 1000);
  utimesSync(file, t, t);
}

describe("the catalog holds one row per session file, with the session's summary", () => {
  it("indexes the bundled archive", async () => {
    const c = await catalogOf();
    expect(await c.refresh()).toMatchObject({ files: 4, added: 4, updated: 0, removed: 0, unchanged: 0, failed: 0 });
    const rows = c.list();
    expect(rows.map((r) => r.path)).toEqual([
      "--home-user-rust-proj--/2025-01-17T09-00-00-000Z_0194aaaa.jsonl",
      A2,
      A1,
      "--home-user-other--/2024-11-20T23-33-50-805Z_01946a2e-5c00-7000-8000-000000000a03.jsonl",
    ]);
    expect(rows[1]).toMatchObject({
      id: "01946a2e-5c00-7000-8000-000000000a02",
      cwd: "/home/user/proj",
      autoName: "Write a test.",
      created: "2025-01-16T09:00:00.000Z",
      modified: "2025-01-16T09:00:34.995Z",
      entryCount: 5,
      messageCount: 5,
      tokensIn: 2400,
      tokensOut: 160,
      models: ["anthropic/claude-sonnet-4-5"],
      branchCount: 1,
      sidecar: "none",
      diagnostics: 0,
      archived: false,
      dialect: "ts",
    });
    expect(rows[1]!.cost).toBeCloseTo(0.0096, 10);
    expect(rows[0]!.dialect).toBe("rust");
    expect(rows[3]!.version).toBe(1);
    expect(existsSync(join(root, "session-index.sqlite"))).toBe(true);
  });

  it("sums per model and per month", async () => {
    const c = await catalogOf();
    await c.refresh();
    const s = c.stats();
    expect(s.totals).toMatchObject({ sessions: 4, messages: 11, tokensIn: 6000, tokensOut: 400 });
    expect(s.byModel.map((m) => [m.model, m.sessions, m.messages])).toEqual([["anthropic/claude-sonnet-4-5", 4, 5]]);
    expect(s.byMonth.map((m) => [m.month, m.sessions, m.messages, m.tokensIn])).toEqual([
      ["2024-11", 1, 2, 1200],
      ["2025-01", 3, 9, 4800],
    ]);
  });

  it("filters by cwd, name, time and model", async () => {
    const c = await catalogOf();
    await c.refresh();
    const ids = (q: Parameters<SessionCatalog["list"]>[0]) => c.list(q).map((r) => r.id.slice(-3));
    expect(ids({ cwd: "/home/user/proj" })).toEqual(["a02", "a01"]);
    expect(ids({ cwd: "/home/user" })).toHaveLength(4);
    expect(ids({ name: "TEST" })).toEqual(["a02"]);
    expect(ids({ since: "2025-01-16", until: "2025-01-16T23:59:59Z" })).toEqual(["a02"]);
    expect(ids({ model: "SONNET" })).toHaveLength(4);
    expect(ids({ model: "gpt" })).toEqual([]);
  });

  it("keeps files that are not sessions as error rows, out of lists", async () => {
    writeFileSync(join(root, PROJ, "notes.jsonl"), '{"hello":1}\n');
    const c = await catalogOf();
    expect(await c.refresh()).toMatchObject({ files: 5, added: 5, failed: 1 });
    expect(c.list()).toHaveLength(4);
    expect(c.failures()).toEqual([{ path: `${PROJ}/notes.jsonl`, error: expect.stringMatching(/^E_HEADER_INVALID: /) }]);
  });
});

describe("refresh is incremental: only changed files are read, removed ones dropped", () => {
  it("reads nothing when nothing changed", async () => {
    const c = await catalogOf();
    await c.refresh();
    expect(await c.refresh()).toMatchObject({ files: 4, added: 0, updated: 0, removed: 0, unchanged: 4 });
  });

  it("follows appends, new files, removed files and mtime-only changes", async () => {
    const c = await catalogOf();
    await c.refresh();
    appendFileSync(
      join(root, A1),
      `${JSON.stringify({ type: "session_info", id: "a1000003", parentId: "a1000002", timestamp: "2025-01-15T10:00:00.000Z", name: "Setup" })}\n`,
    );
    mkdirSync(join(root, "--new--"));
    cpSync(join(root, A2), join(root, "--new--", "copy.jsonl"));
    rmSync(join(root, "--home-user-other--"), { recursive: true });
    touch(join(root, "--home-user-rust-proj--/2025-01-17T09-00-00-000Z_0194aaaa.jsonl"));
    expect(await c.refresh()).toMatchObject({ files: 4, added: 1, updated: 2, removed: 1, unchanged: 1 });
    expect(c.list().find((r) => r.path === A1)).toMatchObject({ name: "Setup", entryCount: 3 });
    expect(snapshot(c)).toEqual(await fresh());
  });

  it("re-reads everything with full", async () => {
    const c = await catalogOf();
    await c.refresh();
    expect(await c.refresh({ full: true })).toMatchObject({ updated: 4, unchanged: 0 });
  });

  it("marks sessions under .archive/ as archived, listed on request", async () => {
    mkdirSync(join(root, ".archive"));
    renameSync(join(root, "--home-user-other--"), join(root, ".archive", "--home-user-other--"));
    const c = await catalogOf();
    await c.refresh();
    expect(c.list()).toHaveLength(3);
    expect(c.list({ archived: "only" }).map((r) => [r.path.split("/")[0], r.archived])).toEqual([[".archive", true]]);
  });

  it("reports progress and stops on abort", async () => {
    const c = await catalogOf();
    const seen: [number, number][] = [];
    await c.refresh({ onProgress: (d, t) => seen.push([d, t]) });
    expect(seen).toEqual([
      [0, 4],
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    const ac = new AbortController();
    ac.abort();
    await expect(c.refresh({ full: true, signal: ac.signal })).rejects.toMatchObject({ code: "E_ABORTED" });
  });
});

describe("the sidecar column follows what is on disk", () => {
  it("none, partial (an empty root, a staging dir), fresh, stale (appended), fresh again (synced), corrupt (bad manifest)", async () => {
    const c = await catalogOf();
    await c.refresh();
    const file = join(root, A1);
    const sidecar = file.replace(/\.jsonl$/, ".v2");
    const status = () => c.list().find((r) => r.path === A1)?.sidecar;
    expect(status()).toBe("none");
    mkdirSync(sidecar);
    await c.refresh();
    expect(status()).toBe("partial");
    rmSync(sidecar, { recursive: true });
    await createV2SidecarFromJsonl(file);
    await c.refresh();
    expect(status()).toBe("fresh");
    appendFileSync(file, `${JSON.stringify({ type: "message", id: "a1000009", parentId: "a1000002", timestamp: "2025-01-15T09:10:00.000Z", message: { role: "user", content: "more", timestamp: 1736932200000 } })}\n`);
    await c.refresh();
    expect(status()).toBe("stale");
    await syncSidecar(file); // the JSONL is unchanged: only the status column moves
    await c.refresh();
    expect(status()).toBe("fresh");
    writeFileSync(join(sidecar, "manifest.json"), "{}");
    await c.refresh();
    expect(status()).toBe("corrupt");
    mkdirSync(`${sidecar}.staging-abc`);
    await c.refresh();
    expect(status()).toBe("partial");
    expect(c.list()).toHaveLength(4); // the sidecar's own .jsonl files are not sessions
  });
});

describe("the catalog is a cache: a corrupt one is moved aside and rebuilt", () => {
  it("at open", async () => {
    writeFileSync(join(root, "session-index.sqlite"), "this is not a database, just bytes ".repeat(200));
    const c = await catalogOf();
    const report = await c.refresh();
    expect(report).toMatchObject({ added: 4, movedAside: expect.stringContaining("session-index.sqlite.corrupt-") });
    expect(existsSync(report.movedAside as string)).toBe(true);
    expect(c.list()).toHaveLength(4);
  });

  it("of another schema version: rebuilt in place", async () => {
    const c = await catalogOf();
    await c.refresh();
    c.close();
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(join(root, "session-index.sqlite"));
    db.prepare("UPDATE catalog_meta SET value = '0' WHERE key = 'schema_version'").run();
    db.close();
    const again = await catalogOf();
    expect(again.list()).toHaveLength(0);
    expect(await again.refresh()).toMatchObject({ added: 4 });
  });
});

describe("several processes can refresh one catalog at once", () => {
  it("three refreshers racing, with files changing between rounds, leave the catalog equal to a fresh build", async () => {
    // Enough files that the refreshers overlap in their reads and writes.
    for (let i = 0; i < 40; i++) {
      const dir = join(root, `--load-${i % 4}--`);
      mkdirSync(dir, { recursive: true });
      cpSync(join(root, A2), join(dir, `s${i}.jsonl`));
    }
    const race = () => Promise.all([0, 1, 2].map(() => run(process.execPath, ["--import", "tsx", REFRESHER, root, "2"], { timeout: 50_000 })));
    const first = await race();
    for (const r of first) expect(JSON.parse(r.stdout)).toMatchObject({ files: 44 });
    appendFileSync(join(root, A1), `${JSON.stringify({ type: "custom", id: "x1", parentId: "a1000002", timestamp: "2025-01-15T11:00:00.000Z", customType: "k" })}\n`);
    rmSync(join(root, "--load-1--"), { recursive: true });
    await race();
    const c = await catalogOf();
    expect(readdirSync(root).filter((n) => n.includes("corrupt"))).toEqual([]);
    expect(snapshot(c)).toEqual(await fresh());
    expect(snapshot(c)).toHaveLength(34);
  }, 60_000);
});
