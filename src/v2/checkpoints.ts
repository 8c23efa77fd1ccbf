import { SessfmtError } from "../format/errors.js";
import { withLock } from "../format/lock.js";
import { readCheckpoints } from "./artifacts.js";
import { encodeCheckpoint, isCheckpointReason, makeCheckpoint, type Checkpoint, type CheckpointReason } from "./checkpoint.js";
import { checkpointRelPath } from "./layout.js";
import { readIndexFile } from "./index-file.js";
import { writeFileNoReplace } from "./fs-safe.js";
import { describeProblem, type SidecarProblem } from "./problems.js";
import { requireRoot, resolveTarget } from "./target.js";
import { validateSidecar } from "./validate.js";

export interface CreateCheckpointOptions {
  /** One of the reasons the Rust port accepts (default "manual"). */
  reason?: CheckpointReason;
  /** Default: one more than the highest existing checkpoint. */
  checkpointSeq?: number;
  now?: () => Date;
  signal?: AbortSignal;
  /** Progress of the validation that precedes the checkpoint. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Record the current head and chain as an immutable checkpoint. The store is validated
 * fully first (the chain recorded is the one recomputed from the payloads); a damaged
 * store gets no checkpoint. Checkpoints must not go backwards: a new one's head is at or
 * after every earlier checkpoint's and at or before every later one's.
 */
export async function createCheckpoint(fileOrRoot: string, opts: CreateCheckpointOptions = {}): Promise<Checkpoint> {
  const target = await resolveTarget(fileOrRoot);
  await requireRoot(target);
  const reason = opts.reason ?? "manual";
  if (!isCheckpointReason(reason)) throw new SessfmtError("E_INVALID_ARGUMENT", `checkpoint reason ${JSON.stringify(reason)} is not one of periodic, manual, pre_migration, post_migration, recovery`);
  return withLock(
    target.root,
    async () => {
      const report = await validateSidecar(target.root, { signal: opts.signal, onProgress: opts.onProgress });
      if (!report.ok || report.chainHash === undefined) {
        const first = report.problems.find((p) => p.severity === "error");
        throw new SessfmtError("E_SIDECAR_CORRUPT", `no checkpoint for a damaged store: ${first ? describeProblem(first) : "chain unavailable"}`, { file: target.root, data: report });
      }
      if (report.entries === 0) throw new SessfmtError("E_INVALID_ARGUMENT", "cannot checkpoint an empty store", { file: target.root });
      const existing = await readCheckpoints(target.root);
      const seq = opts.checkpointSeq ?? (existing.seqs[existing.seqs.length - 1] ?? 0) + 1;
      if (!Number.isSafeInteger(seq) || seq < 1) throw new SessfmtError("E_INVALID_ARGUMENT", `checkpoint sequence ${seq} is not a positive integer`);
      if (existing.seqs.includes(seq)) throw new SessfmtError("E_EXISTS", `checkpoint ${seq} already exists`, { file: target.root });
      for (const c of existing.checkpoints) {
        if (c.checkpointSeq < seq && c.headEntrySeq > report.entries) {
          throw new SessfmtError("E_INVALID_ARGUMENT", `checkpoint ${seq} would be behind checkpoint ${c.checkpointSeq} (head ${report.entries} < ${c.headEntrySeq})`, { file: target.root });
        }
        if (c.checkpointSeq > seq && report.entries > c.headEntrySeq) {
          throw new SessfmtError("E_INVALID_ARGUMENT", `checkpoint ${seq} would be ahead of the later checkpoint ${c.checkpointSeq}`, { file: target.root });
        }
      }
      const row = (await readIndexFile(target.root)).rows[report.entries - 1];
      if (!row) throw new SessfmtError("E_SIDECAR_CORRUPT", "the index changed while the checkpoint was being made", { file: target.root });
      const c = makeCheckpoint({
        checkpointSeq: seq,
        at: (opts.now ?? (() => new Date()))().toISOString(),
        headEntrySeq: row.entrySeq,
        headEntryId: row.entryId,
        chainHash: report.chainHash,
        reason,
      });
      await writeFileNoReplace(target.root, checkpointRelPath(seq), encodeCheckpoint(c));
      return c;
    },
    { signal: opts.signal },
  );
}

export interface CheckpointList {
  /** Valid checkpoints, by checkpointSeq. */
  checkpoints: Checkpoint[];
  /** Checkpoint files that do not decode, and ordering problems. */
  problems: SidecarProblem[];
}

/** The checkpoints of a sidecar (read only). */
export async function listCheckpoints(fileOrRoot: string): Promise<CheckpointList> {
  const target = await resolveTarget(fileOrRoot);
  await requireRoot(target);
  const r = await readCheckpoints(target.root);
  return { checkpoints: r.checkpoints, problems: r.problems };
}
