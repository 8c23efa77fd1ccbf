import { CHECKPOINT_REASONS, createCheckpoint, listCheckpoints, rollbackToCheckpoint, type Checkpoint, type CheckpointList, type RollbackReport } from "../v2/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, EXIT_PROBLEMS, LineBuffer, usageError } from "./io.js";
import { plural, problemLine, withAdvice } from "./sidecar-render.js";

export const sidecarCheckpointCommand = defineCommand({
  command: "checkpoint <file>",
  describe: "Record the sidecar's head and chain as an immutable checkpoint (after validating it), or list the checkpoints",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl), or the sidecar root (<stem>.v2)" })
      .option("reason", { choices: CHECKPOINT_REASONS, describe: "Why (default manual)" })
      .option("list", { type: "boolean", default: false, describe: "List the checkpoints instead of taking one" })
      .option("json", { type: "boolean", default: false, describe: "Print the checkpoint (or {checkpoints, problems}) as one JSON object" })
      .example("$0 sidecar checkpoint s.jsonl", "Take checkpoint n+1 at the current head")
      .example("$0 sidecar checkpoint s.jsonl --reason pre_migration", "With a reason the Rust port knows")
      .example("$0 sidecar checkpoint s.jsonl --list", "Number, head, time, reason, chain of each")
      .epilog(
        "The whole sidecar is validated first; a damaged one gets no checkpoint. `sessfmt sidecar rollback --to N` goes back " +
          "to one. Exit codes: 0 taken or listed; 1 --list found checkpoint files that do not decode; 2 a damaged or empty " +
          "sidecar (E_SIDECAR_CORRUPT, E_INVALID_ARGUMENT), no sidecar, locked, or bad usage.",
      ),
  run: async (args, io) => {
    const out = new LineBuffer(io.stdout);
    if (args.list) {
      if (args.reason !== undefined) throw usageError("--reason applies to taking a checkpoint, not to --list");
      const list = await listCheckpoints(args.file);
      if (args.json) out.line(JSON.stringify(list));
      else for (const l of renderCheckpointList(list)) out.line(l);
      out.flush();
      return list.problems.length > 0 ? EXIT_PROBLEMS : EXIT_OK;
    }
    const work = createCheckpoint(args.file, { reason: args.reason ?? "manual" });
    const c = await withAdvice(work, ["E_SIDECAR_CORRUPT"], `\`sessfmt sidecar validate ${args.file}\` lists every problem`);
    if (args.json) out.line(JSON.stringify(c));
    else out.line(`checkpoint ${checkpointText(c)}`);
    out.flush();
    return EXIT_OK;
  },
});

function checkpointText(c: Checkpoint): string {
  return `${c.checkpointSeq}: head entrySeq ${c.headEntrySeq} (${c.headEntryId}), ${c.reason}, at ${c.at}, chain ${c.chainHash}`;
}

/** One line per checkpoint, then the checkpoint files that do not decode. */
export function renderCheckpointList(list: CheckpointList): string[] {
  const lines = list.checkpoints.map((c) => `checkpoint ${checkpointText(c)}`);
  if (list.checkpoints.length === 0) lines.push("no checkpoints");
  for (const p of list.problems) lines.push(problemLine(p));
  return lines;
}

export const sidecarRollbackCommand = defineCommand({
  command: "rollback <file>",
  describe: "Roll the sidecar back to a checkpoint (verified first; later frames and checkpoints are moved aside, never deleted)",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl), or the sidecar root (<stem>.v2)" })
      .option("to", { type: "number", demandOption: true, describe: "The checkpoint number (see `sessfmt sidecar checkpoint --list`)" })
      .option("json", { type: "boolean", default: false, describe: "Print the report as one JSON object" })
      .example("$0 sidecar rollback s.jsonl --to 2", "Back to checkpoint 2")
      .epilog(
        "The entries kept are verified (CRC-32C, payload hashes, the chain against the checkpoint's) before anything changes; " +
          "afterwards the rollback is verified again and recorded in migrations/ledger.jsonl. The JSONL is never touched: the " +
          "sidecar is then behind it, and `sessfmt sidecar sync` frames the later lines again. Exit codes: 0 rolled back; " +
          "2 no such checkpoint (E_CHECKPOINT_NOT_FOUND), damage (E_SIDECAR_CORRUPT, nothing changed if found before), " +
          "no sidecar, locked, or bad usage.",
      ),
  run: async (args, io) => {
    if (!Number.isSafeInteger(args.to) || args.to < 1) throw usageError(`--to must be a checkpoint number (1 or more), got ${String(args.to)}`);
    const work = rollbackToCheckpoint(args.file, args.to);
    const r = await withAdvice(work, ["E_CHECKPOINT_NOT_FOUND"], `\`sessfmt sidecar checkpoint --list ${args.file}\` lists them`);
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(r));
    else for (const l of renderRollback(r, args.file)) out.line(l);
    out.flush();
    return EXIT_OK;
  },
});

/** The entries before and after, what was cut or moved aside, the verification, the ledger event, what to do next. */
export function renderRollback(r: RollbackReport, file: string): string[] {
  const v = r.verification;
  const ok = (b: boolean): string => (b ? "ok" : "FAILED");
  const lines = [`rolled back to checkpoint ${r.checkpoint.checkpointSeq}: ${r.entriesBefore} -> ${plural(r.entriesAfter, "entry", "entries")}`];
  for (const t of r.truncated) lines.push(`  cut ${t.file}: ${t.from} -> ${t.to} bytes`);
  for (const q of r.quarantined) lines.push(`  moved aside: ${q}`);
  lines.push(`  verified: entry count ${ok(v.entryCountMatch)}, chain ${ok(v.hashChainMatch)}, index ${ok(v.indexConsistent)}`);
  lines.push(`  ledger: rollback event ${r.event.migrationId}, outcome ${r.event.outcome}`);
  lines.push(
    r.fingerprint === "rewritten"
      ? `  the sidecar is now behind the JSONL: \`sessfmt sidecar sync ${file}\` frames the later lines again`
      : `  freshness is now unknown: \`sessfmt sidecar sync --rebuild ${file}\` rebuilds the sidecar from the JSONL`,
  );
  return lines;
}
