import { upgradeSession, type UpgradeReport } from "../format/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";
import { formatSize, keyValueLines } from "./render.js";

export const upgradeCommand = defineCommand({
  command: "upgrade <file>",
  describe: "Rewrite a version 1 or 2 session as version 3 (atomically, under the lock, keeping a backup)",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl)" })
      .option("dry-run", { type: "boolean", default: false, describe: "Say what would change; write nothing" })
      .option("backup", { type: "boolean", default: true, describe: "Keep the original as <file>.bak (--no-backup: keep none)" })
      .option("json", { type: "boolean", default: false, describe: "Print the upgrade report as one JSON object" })
      .example("$0 upgrade old.jsonl --dry-run", "What would change")
      .example("$0 upgrade old.jsonl", "Upgrade; the original stays as old.jsonl.bak")
      .epilog(
        "Lines that do not parse are kept byte for byte where they were; only blank lines go. " +
          "A file already at version 3 is left untouched. " +
          "Exit codes: 0 upgraded, dry run, or nothing to do; 2 the file cannot be opened, is locked, changed meanwhile, or bad usage.",
      ),
  run: async (args, io) => {
    const report = await upgradeSession(args.file, { dryRun: args.dryRun, backup: args.backup });
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(report));
    else for (const l of renderUpgrade(args.file, report)) out.line(l);
    out.flush();
    return EXIT_OK;
  },
});

/** First line: what happened (and where the backup is); then what changed, when anything needed to. */
export function renderUpgrade(file: string, r: UpgradeReport): string[] {
  const lines = [`${file}: ${r.message}`];
  if (!r.needed) return lines;
  const rows: [string, string][] = [
    ["version", `${r.fromVersion} -> ${r.toVersion}`],
    ["entries", String(r.entries)],
    ["ids assigned", String(r.idsAssigned)],
    ["roles renamed", `${r.rolesRenamed} (hookMessage -> custom)`],
    ["compaction indexes", `${r.compactionIndexesMapped} mapped, ${r.compactionIndexesUnmapped} unmapped`],
    ["invalid lines kept", String(r.invalidLinesKept)],
    ["blank lines dropped", String(r.blankLinesDropped)],
    ["size", `${formatSize(r.bytesBefore)} -> ${formatSize(r.bytesAfter)}`],
  ];
  if (r.diagnostics.length > 0) rows.push(["diagnostics", `${r.diagnostics.length} (see sessfmt validate)`]);
  return [...lines, ...keyValueLines(rows).map((l) => `  ${l}`)];
}
