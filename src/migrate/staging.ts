import { readdir, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { withLock } from "../format/lock.js";
import { checkpointRelPath, createV2SidecarFromJsonl, encodeCheckpoint, listCheckpoints, LEDGER_FILE, type CreateSidecarResult } from "../v2/index.js";
import { readRange } from "../v2/source-file.js";
import { exists, mkdirExclusive, removeTree, renameDurably, statMaybe, writeNewFile, appendDurably } from "./fs.js";
import { replacedPath, type SessionPaths } from "./names.js";
import { quarantineRecords, writeQuarantine } from "./quarantine.js";
import type { InvalidLine, SourceScan } from "./source.js";

/**
 * The staged build: a complete sidecar is built in `<stem>.v2.staging-<migrationId>/`
 * (by the v2 layer's createV2SidecarFromJsonl, which fsyncs everything it writes), the
 * quarantine is added, the whole of it is verified, and only then does it take the
 * root's name with one rename. Until that rename the JSONL's sidecar (or its absence) is
 * exactly as before.
 */

export interface StageOptions {
  /** The JSONL as the caller scanned it: the build frames these records without opening the file again. */
  source?: SourceScan;
  segmentBytes?: number;
  now: () => Date;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface Staged {
  staging: string;
  built: CreateSidecarResult;
  quarantined: number;
}

/** Build the sidecar of `file` in `staging` (which must not exist) with the quarantine of `invalid`. */
export async function buildStaging(file: string, staging: string, invalid: readonly InvalidLine[], opts: StageOptions): Promise<Staged> {
  const built = await createV2SidecarFromJsonl(file, {
    root: staging,
    verify: false, // the integrity_check phase verifies everything, independently
    ...(opts.source ? { session: opts.source.session } : {}),
    ...(opts.segmentBytes !== undefined ? { segmentBytes: opts.segmentBytes } : {}),
    now: opts.now,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const records = await quarantineRecords(file, invalid, opts.now());
  await writeQuarantine(staging, records);
  return { staging, built, quarantined: records.length };
}

/** Carry an old sidecar's ledger into a staging root (a rebuild keeps the history). */
export async function carryLedger(oldRoot: string, staging: string): Promise<void> {
  const from = join(oldRoot, ...LEDGER_FILE.split("/"));
  const st = await statMaybe(from);
  if (!st || st.size === 0) return;
  const data = await readRange(from, 0, st.size, { noFollow: true });
  await appendDurably(join(staging, ...LEDGER_FILE.split("/")), data);
}

/**
 * Copy the old sidecar's checkpoints that still describe a prefix of the new store (same
 * entry at their head, same chain there); returns the kept and dropped numbers.
 */
export async function carryCheckpoints(oldRoot: string, staging: string, chainsAt: Record<number, string>, ids: Map<number, string>): Promise<{ kept: number[]; dropped: number[] }> {
  const out = { kept: [] as number[], dropped: [] as number[] };
  if (!(await exists(join(oldRoot, "checkpoints")))) return out;
  const list = await listCheckpoints(oldRoot);
  for (const c of list.checkpoints) {
    if (chainsAt[c.headEntrySeq] === c.chainHash && ids.get(c.headEntrySeq) === c.headEntryId) {
      await writeNewFile(join(staging, ...checkpointRelPath(c.checkpointSeq).split("/")), encodeCheckpoint(c));
      out.kept.push(c.checkpointSeq);
    } else out.dropped.push(c.checkpointSeq);
  }
  return out;
}

/**
 * Cutover of a new sidecar: claim the root's name with an exclusive mkdir (a concurrent
 * creator gets E_EXISTS), then rename the staging directory over the empty directory.
 * Returns whether the name was claimed (so a failed rename can release it).
 */
export async function commitNew(p: SessionPaths, staging: string): Promise<void> {
  await mkdirExclusive(p.root);
  try {
    await renameDurably(staging, p.root);
  } catch (err) {
    await rmdir(p.root).catch(() => undefined);
    throw err;
  }
}

/**
 * Cutover of a rebuilt sidecar, under the sidecar's lock (no sync runs meanwhile): the old
 * root is renamed aside, the staging directory takes its name, and the old one is removed.
 * A crash between the two renames leaves `<stem>.v2.staging-<id>.replaced` and no root:
 * recover renames it back.
 */
export async function swapIn(p: SessionPaths, staging: string, migrationId: string, signal?: AbortSignal): Promise<void> {
  const aside = replacedPath(p, migrationId);
  await withLock(
    p.root,
    async () => {
      await renameDurably(p.root, aside);
      try {
        await renameDurably(staging, p.root);
      } catch (err) {
        await renameDurably(aside, p.root).catch(() => undefined);
        throw err;
      }
    },
    signal ? { signal } : {},
  );
  await removeTree(aside);
}

/** Remove a staging directory (and the v2 layer's own staging inside its name, if a crash left one). */
export async function discardStaging(p: SessionPaths, staging: string): Promise<void> {
  await removeTree(staging);
  const base = staging.slice(p.dir.length + 1);
  for (const name of await readdir(p.dir).catch(() => [] as string[])) {
    if (name.startsWith(`.${base}.staging-`)) await removeTree(join(p.dir, name));
  }
}
