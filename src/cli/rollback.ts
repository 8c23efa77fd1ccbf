import { basename } from "node:path";
import type { SidecarRollbackResult } from "../migrate/index.js";
import { ARCHIVE_EPILOG, archiveOptions, failedLine, runArchiveCommand, type FileRenderer } from "./archive-ui.js";
import { defineCommand } from "./command.js";

export const rollbackCommand = defineCommand({
  command: "rollback <paths...>",
  describe: "Remove each session's V2 sidecar (never touching the JSONL), leaving a durable record of the rollback",
  builder: (y) =>
    archiveOptions(y)
      .example("$0 rollback s.jsonl", "Remove the sidecar of one session")
      .epilog(
        "The sidecar is renamed aside at once, its migration ledger and a rollback event are appended to " +
          "<stem>.v2.history.ndjson beside the JSONL (status shows it), then it is deleted. " +
          ARCHIVE_EPILOG,
      ),
  run: (args, io) => runArchiveCommand(io, args, "rollback", {}, rollbackRenderer),
});

export const rollbackRenderer: FileRenderer = {
  lines(o, style) {
    if (!o.result) return [failedLine(o, style)];
    const r = o.result as SidecarRollbackResult;
    if (!r.removed) return [`${o.file}: ${style.dim("nothing to roll back")} (no sidecar)`];
    const what = r.sidecar ? `removed the sidecar (${r.sidecar.entries} entries)` : "removed the leftovers of interrupted migrations";
    const lines = [`${o.file}: ${style.accent("rolled back")}: ${what}; JSONL untouched; recorded in ${basename(r.historyPath ?? "")}`];
    if (r.sidecar && r.leftoversRemoved.length > 0) lines.push(`  also removed: ${r.leftoversRemoved.map((p) => basename(p)).join(", ")}`);
    return lines;
  },
};
