import { randomBytes, randomUUID } from "node:crypto";
import { SessfmtError } from "../format/errors.js";
import { withLock } from "../format/lock.js";
import { appendLedgerEvent, readCheckpoints } from "./artifacts.js";
import type { Checkpoint } from "./checkpoint.js";
import { cutStoreBack, type CutBackResult } from "./cut-back.js";
import { collectStoreFacts, readFrameHeads } from "./facts.js";
import { checkIndexedFrame, FULL_CHECKS } from "./frame-check.js";
import { chainOf, chainStep, GENESIS_CHAIN_HASH } from "./hash.js";
import { readIndexFile } from "./index-file.js";
import { checkpointRelPath, inRoot } from "./layout.js";
import { MIGRATION_EVENT_SCHEMA, type MigrationErrorClass, type MigrationEvent, type MigrationVerification } from "./ledger.js";
import { publishManifest } from "./manifest-update.js";
import { quarantineFile } from "./fs-safe.js";
import { describeProblem, problem, type SidecarProblem } from "./problems.js";
import { SegmentReader } from "./segment-reader.js";
import { refitFingerprint } from "./source-match.js";
import { requireRoot, resolveTarget } from "./target.js";

export interface RollbackOptions {
  /** A UUID for the ledger event (default: a new one). */
  migrationId?: string;
  /** 8-128 characters of [A-Za-z0-9._:-] (default: generated). */
  correlationId?: string;
  now?: () => Date;
  signal?: AbortSignal;
  /** Retained frames verified so far, of the frames to keep. */
  onProgress?: (done: number, total: number) => void;
}

export interface RollbackReport {
  checkpoint: Checkpoint;
  entriesBefore: number;
  entriesAfter: number;
  truncated: CutBackResult["truncated"];
  /** Segments and later checkpoints moved aside (root-relative). */
  quarantined: string[];
  verification: MigrationVerification;
  /** The `rollback` event appended to migrations/ledger.jsonl. */
  event: MigrationEvent;
  /** sessfmt-source.json after the rollback: refitted to the shorter JSONL prefix, or removed. */
  fingerprint: "rewritten" | "removed";
}

function preflightError(root: string, c: number, problems: SidecarProblem[]): SessfmtError {
  const first = problems[0] as SidecarProblem;
  return new SessfmtError("E_SIDECAR_CORRUPT", `rollback to checkpoint ${c} refused before any change: ${describeProblem(first)}`, { file: root, data: { problems } });
}

/**
 * Roll the store back to a checkpoint: verify the retained prefix first (every frame's
 * CRC and payload hash, the chain against the checkpoint's, the head id), then replace the
 * index with the prefix, cut the segments, move later segments and checkpoints aside,
 * verify again, and append a `rollback` event to the ledger (also when the verification
 * after the change fails: the event then says fatal_error). The JSONL is never touched.
 */
export async function rollbackToCheckpoint(fileOrRoot: string, checkpointSeq: number, opts: RollbackOptions = {}): Promise<RollbackReport> {
  const target = await resolveTarget(fileOrRoot);
  await requireRoot(target);
  const root = target.root;
  const now = opts.now ?? (() => new Date());
  const migrationId = opts.migrationId ?? randomUUID();
  const correlationId = opts.correlationId ?? `rollback-${checkpointSeq}-${randomBytes(4).toString("hex")}`;
  return withLock(
    root,
    async () => {
      const cps = await readCheckpoints(root);
      const c = cps.checkpoints.find((x) => x.checkpointSeq === checkpointSeq);
      if (!c) {
        if (cps.seqs.includes(checkpointSeq)) throw preflightError(root, checkpointSeq, cps.problems.filter((p) => p.file === checkpointRelPath(checkpointSeq)));
        throw new SessfmtError("E_CHECKPOINT_NOT_FOUND", `no checkpoint ${checkpointSeq}`, { file: root });
      }
      const idx = await readIndexFile(root, { signal: opts.signal });
      if (idx.problems.length > 0) throw preflightError(root, checkpointSeq, idx.problems);
      const rows = idx.rows;
      if (rows.length < c.headEntrySeq) {
        throw preflightError(root, checkpointSeq, [problem("checkpoint_mismatch", `checkpoint head entrySeq ${c.headEntrySeq} is beyond the store's ${rows.length} entries`, { file: c.snapshotRef })]);
      }
      // Verify the prefix that will remain.
      const problems: SidecarProblem[] = [];
      const reader = new SegmentReader(root);
      let chain = GENESIS_CHAIN_HASH;
      try {
        for (let i = 0; i < c.headEntrySeq; i++) {
          if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "rollback aborted before any change", { file: root, cause: opts.signal.reason });
          const row = rows[i] as (typeof rows)[number];
          if (row.entrySeq !== i + 1) problems.push(problem("entry_seq_gap", `row ${i + 1} has entrySeq ${row.entrySeq}`, { file: "index/offsets.jsonl", entrySeq: row.entrySeq }));
          let checked;
          try {
            checked = checkIndexedFrame(await reader.read(row), row, FULL_CHECKS);
          } catch (err) {
            const p = (err as SessfmtError).data as { problems?: SidecarProblem[] } | undefined;
            if (err instanceof SessfmtError && p?.problems) {
              problems.push(...p.problems);
              continue;
            }
            throw err;
          }
          problems.push(...checked.problems);
          if (checked.actualPayloadSha256) chain = chainStep(chain, checked.actualPayloadSha256);
          if ((i + 1) % 1024 === 0 || i + 1 === c.headEntrySeq) opts.onProgress?.(i + 1, c.headEntrySeq);
        }
      } finally {
        await reader.close();
      }
      if (problems.length === 0 && chain !== c.chainHash) problems.push(problem("chain_mismatch", `the retained frames give chain ${chain}, the checkpoint records ${c.chainHash}`, { file: c.snapshotRef }));
      const headRow = rows[c.headEntrySeq - 1];
      if (headRow && headRow.entryId !== c.headEntryId) problems.push(problem("checkpoint_mismatch", `entrySeq ${c.headEntrySeq} is ${JSON.stringify(headRow.entryId)}, the checkpoint says ${JSON.stringify(c.headEntryId)}`, { file: c.snapshotRef }));
      if (problems.length > 0) throw preflightError(root, checkpointSeq, problems);

      const event = (verification: MigrationVerification, errorClass?: MigrationErrorClass): MigrationEvent => ({
        schema: MIGRATION_EVENT_SCHEMA,
        migrationId,
        phase: "rollback",
        at: now().toISOString(),
        sourcePath: c.snapshotRef,
        targetPath: root,
        sourceFormat: "native_v2",
        targetFormat: "native_v2",
        verification,
        outcome: errorClass ? "fatal_error" : "ok",
        ...(errorClass ? { errorClass } : {}),
        correlationId,
      });

      let cut: CutBackResult;
      const quarantined: string[] = [];
      try {
        cut = await cutStoreBack(root, rows, c.headEntrySeq);
        quarantined.push(...cut.quarantined);
        for (const later of cps.seqs.filter((s) => s > checkpointSeq)) {
          quarantined.push((await quarantineFile(inRoot(root, checkpointRelPath(later)))).slice(root.length + 1));
        }
      } catch (err) {
        await appendLedgerEvent(root, event({ entryCountMatch: false, hashChainMatch: false, indexConsistent: false }, "io_failure")).catch(() => undefined);
        throw err;
      }

      const after = await readIndexFile(root);
      const heads = readFrameHeads(root, after.rows);
      const afterChain = heads.every((h) => h) ? chainOf(heads.map((h) => h?.payloadSha256 as string)) : undefined;
      const facts = await collectStoreFacts(root, after.rows, { heads, expectedChain: c.chainHash });
      const verification: MigrationVerification = {
        entryCountMatch: after.rows.length === c.headEntrySeq,
        hashChainMatch: afterChain === c.chainHash,
        indexConsistent: after.problems.length === 0 && facts.invariants.indexWithinSegmentBounds && facts.invariants.branchHeadsIndexed && facts.invariants.monotonicEntrySeq,
      };
      const ok = verification.entryCountMatch && verification.hashChainMatch && verification.indexConsistent;
      const fingerprint = await refitFingerprint(root, target.file, heads, c.chainHash, now(), opts.signal);
      await publishManifest(root, after.rows, { expectedChain: c.chainHash, now: now(), ...(target.file ? { file: target.file } : {}) });
      const ev = event(verification, ok ? undefined : verification.indexConsistent ? "integrity_mismatch" : "index_corruption");
      await appendLedgerEvent(root, ev);
      if (!ok) throw new SessfmtError("E_SIDECAR_CORRUPT", `rollback to checkpoint ${checkpointSeq} did not verify (${JSON.stringify(verification)}); recorded in the ledger`, { file: root, data: { verification } });
      return { checkpoint: c, entriesBefore: rows.length, entriesAfter: after.rows.length, truncated: cut.truncated, quarantined, verification, event: ev, fingerprint };
    },
    { signal: opts.signal },
  );
}
