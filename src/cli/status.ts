import type { MigrationStatus } from "../migrate/index.js";
import { ARCHIVE_EPILOG, archiveOptions, failedLine, runArchiveCommand, type FileRenderer } from "./archive-ui.js";
import { defineCommand } from "./command.js";
import { oneLine } from "./io.js";
import type { Style } from "./render.js";

export const statusCommand = defineCommand({
  command: "status <paths...>",
  describe: "Show each session's migration state: unmigrated, migrated, stale, partial or corrupt (changes nothing)",
  builder: (y) =>
    archiveOptions(y)
      .option("quick", { type: "boolean", default: false, describe: "Trust an unchanged JSONL size and mtime instead of hashing the indexed prefix" })
      .example("$0 status ~/.pi/agent/sessions", "The state of every session in an archive")
      .example("$0 status s.jsonl --json", "One NDJSON object with every detail")
      .epilog(`${ARCHIVE_EPILOG} status is read-only: it takes no lock and writes nothing.`),
  run: (args, io) =>
    runArchiveCommand(io, args, "status", args.quick ? { check: "quick" } : {}, statusRenderer),
});

export const statusRenderer: FileRenderer = {
  lines(o, style) {
    if (!o.result) return [failedLine(o, style)];
    const s = o.result as MigrationStatus;
    return [`${o.file}: ${stateWord(s.state, style)} (${oneLine(s.reason)})`];
  },
};

export function stateWord(state: string, style: Style): string {
  switch (state) {
    case "migrated":
      return style.accent(state);
    case "stale":
    case "unmigrated":
      return style.warn(state);
    default:
      return style.error(state);
  }
}
