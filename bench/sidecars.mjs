// Data for the sidecar and migration scenarios (targets 3, 4, 6): private copies of the
// generated sessions and archive under <data>/v2/, so a sidecar (and its ledger, history,
// locks) never sits next to the files the other scenarios read. Made once, untimed, before
// any measurement; a stamp next to each copy records its source (size, mtime) and what was
// built, and a copy whose stamp does not match is made again.
import { spawnSync } from "node:child_process";
import { constants, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const CLI = join(import.meta.dirname, "..", "dist", "cli", "main.js");

/** What a copy's sidecars hold; a copy made with an older layout is made again. */
const SIDECAR_LAYOUT = "entry-table-3";

function stampOf(src, withSidecar, layout) {
  const st = statSync(src);
  return JSON.stringify({ src, size: st.size, mtimeMs: st.mtimeMs, sidecar: withSidecar, ...(layout ? { layout } : {}) });
}

function readStamp(file) {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/**
 * A copy of the session `src` at `dest` (its directory is emptied first), with its V2
 * sidecar built by createV2SidecarFromJsonl when `withSidecar`.
 */
export async function ensureSessionCopy(src, dest, withSidecar, log = () => {}) {
  const stampFile = `${dest}.bench-stamp.json`;
  const want = stampOf(src, withSidecar, withSidecar ? SIDECAR_LAYOUT : undefined);
  if (readStamp(stampFile) === want && existsSync(dest) && (!withSidecar || existsSync(dest.replace(/\.jsonl$/, ".v2")))) return JSON.parse(want);
  const dir = dirname(dest);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`  copying ${src} to ${dest}${withSidecar ? " and building its sidecar" : ""}`);
  copyFileSync(src, dest, constants.COPYFILE_FICLONE);
  if (withSidecar) {
    const { createV2SidecarFromJsonl } = await import("../dist/index.js");
    const t0 = performance.now();
    await createV2SidecarFromJsonl(dest);
    log(`  sidecar built in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  writeFileSync(stampFile, want);
  return JSON.parse(want);
}

/** A copy of the archive `srcRoot` at `destRoot`, every file migrated (CLI, --jobs 2). */
export function ensureArchiveCopy(srcRoot, destRoot, log = () => {}) {
  const stampFile = `${destRoot}.bench-stamp.json`;
  const want = stampOf(join(srcRoot, "archive.meta.json"), true, SIDECAR_LAYOUT);
  if (readStamp(stampFile) === want && existsSync(destRoot)) return JSON.parse(want);
  rmSync(destRoot, { recursive: true, force: true });
  rmSync(stampFile, { force: true });
  mkdirSync(dirname(destRoot), { recursive: true });
  log(`  copying ${srcRoot} to ${destRoot} and migrating it`);
  cpSync(srcRoot, destRoot, { recursive: true });
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, "migrate", destRoot, "--jobs", "2", "--json"], { encoding: "utf8", maxBuffer: 1 << 28 });
  const summary = (r.stdout ?? "").trim().split("\n").pop() ?? "";
  if (r.status !== 0) throw new Error(`migrating ${destRoot} failed (exit ${r.status}): ${summary.slice(0, 500)} ${(r.stderr ?? "").slice(-500)}`);
  log(`  archive migrated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  writeFileSync(stampFile, want);
  return JSON.parse(want);
}
