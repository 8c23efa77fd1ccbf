import type { OperationOptions, RecoverResult } from "../migrate/index.js";
import { ARCHIVE_EPILOG, archiveOptions, failedLine, runArchiveCommand, type FileRenderer } from "./archive-ui.js";
import { defineCommand } from "./command.js";
import { oneLine, usageError } from "./io.js";
import { stateWord } from "./status.js";

export const recoverCommand = defineCommand({
  command: "recover <paths...>",
  describe: "Finish or undo interrupted migrations (staging dirs, missing or damaged index, torn frames) and verify what is left",
  builder: (y) =>
    archiveOptions(y)
      .option("re-migrate", { type: "boolean", default: false, describe: "Then migrate each file too (create, sync or rebuild) so it ends migrated and verified" })
      .option("skip-invalid", { type: "boolean", default: false, describe: "With --re-migrate: quarantine lines that cannot be parsed" })
      .option("segment-size", { type: "number", describe: "With --re-migrate: segment size in bytes for new frames" })
      .example("$0 recover ~/.pi/agent/sessions", "Clean up after an interrupted migration of an archive")
      .example("$0 recover s.jsonl --re-migrate", "Repair, then migrate")
      .epilog(
        "A sidecar that still does not verify after the repairs is removed (its ledger kept in <stem>.v2.history.ndjson) " +
          "only when the JSONL provably holds everything it stores; otherwise it is left alone and reported. " +
          ARCHIVE_EPILOG,
      ),
  run: (args, io) => {
    const options: OperationOptions = {};
    if (args.reMigrate) options.reMigrate = true;
    if (args.skipInvalid) options.skipInvalid = true;
    if (args.segmentSize !== undefined) {
      if (!Number.isSafeInteger(args.segmentSize) || args.segmentSize < 1) throw usageError(`--segment-size must be a positive integer, got ${String(args.segmentSize)}`);
      options.segmentBytes = args.segmentSize;
    }
    return runArchiveCommand(io, args, "recover", options, recoverRenderer);
  },
});

export const recoverRenderer: FileRenderer = {
  lines(o, style) {
    if (!o.result) return [failedLine(o, style)];
    const r = o.result as RecoverResult;
    const head = r.before === r.after ? stateWord(r.after, style) : `${stateWord(r.before, style)} -> ${stateWord(r.after, style)}`;
    const verified = r.verified ? ", verified" : "";
    const lines = [`${o.file}: ${head}${verified}${r.ok ? "" : ` (${oneLine(r.afterReason)})`}`];
    if (!(r.actions.length === 1 && r.actions[0] === "nothing to recover")) for (const a of r.actions) lines.push(`  ${oneLine(a)}`);
    return lines;
  },
};
