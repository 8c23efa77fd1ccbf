import { hasErrors, rebuildSidecarIndex, syncSidecar, type RebuildReport, type SyncReport } from "../v2/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, EXIT_PROBLEMS, LineBuffer } from "./io.js";
import { plural, problemLine, withAdvice, withMessage } from "./sidecar-render.js";

export const sidecarRebuildCommand = defineCommand({
  command: "rebuild <file>",
  describe: "Rewrite the sidecar's offset index from its segment files",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl), or the sidecar root (<stem>.v2)" })
      .option("truncate-corrupt", {
        type: "boolean",
        default: false,
        describe: "Cut the segment at a damaged frame and move every later segment aside (<name>.bak), each reported",
      })
      .option("json", { type: "boolean", default: false, describe: "Print the report as one JSON object" })
      .example("$0 sidecar rebuild s.jsonl", "After index/offsets.jsonl was lost or damaged")
      .example("$0 sidecar rebuild s.jsonl --truncate-corrupt", "Keep what precedes a damaged frame")
      .epilog(
        "A torn last frame is always cut and a whole last frame missing its line end healed (both reported). Damage anywhere " +
          "else stops the rebuild with nothing changed, unless --truncate-corrupt. The fingerprint is kept, refitted to the " +
          "entries kept, or removed (then `sessfmt sidecar sync --rebuild`). Exit codes: 0 rebuilt; 1 rebuilt, but frames " +
          "were cut or segments moved aside; 2 damage without --truncate-corrupt (E_SIDECAR_CORRUPT, nothing changed), no " +
          "sidecar, locked, or bad usage.",
      ),
  run: async (args, io) => {
    const work = rebuildSidecarIndex(args.file, { onCorruption: args.truncateCorrupt ? "truncate" : "stop" });
    const report = await (args.truncateCorrupt
      ? work
      : withAdvice(work, ["E_SIDECAR_CORRUPT"], "nothing was changed; --truncate-corrupt cuts the segment there and moves the later segments aside"));
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(report));
    else for (const l of renderRebuild(report)) out.line(l);
    out.flush();
    return hasErrors(report.problems) ? EXIT_PROBLEMS : EXIT_OK;
  },
});

/** What the rebuild made, then every cut, move and problem. */
export function renderRebuild(r: RebuildReport): string[] {
  const lines = [
    `rebuilt the index of ${r.root}: ${plural(r.entries, "entry", "entries")} in ${plural(r.segments, "segment")}, chain ${r.chainHash}; fingerprint ${r.fingerprint}`,
  ];
  for (const t of r.truncated) lines.push(`  cut ${t.file} at byte ${t.at} (${t.bytes} bytes removed)`);
  for (const q of r.quarantined) lines.push(`  moved aside: ${q}`);
  if (r.droppedFrames > 0) lines.push(`  ${plural(r.droppedFrames, "frame")} dropped`);
  for (const p of r.problems) lines.push(`  ${problemLine(p)}`);
  if (r.fingerprint === "removed") lines.push(`  freshness is now unknown: \`sessfmt sidecar sync --rebuild\` rebuilds the sidecar from the JSONL`);
  return lines;
}

export const sidecarSyncCommand = defineCommand({
  command: "sync <file>",
  describe: "Bring the sidecar up to date with the JSONL: frame the lines appended since the last sync",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl)" })
      .option("rebuild", {
        type: "boolean",
        default: false,
        describe: "When the indexed part of the JSONL changed (or cannot be checked), or there is no sidecar, build it from the JSONL",
      })
      .option("json", { type: "boolean", default: false, describe: "Print the report as one JSON object" })
      .example("$0 sidecar sync s.jsonl", "After appends to s.jsonl")
      .example("$0 sidecar sync s.jsonl --rebuild", "After s.jsonl was rewritten")
      .epilog(
        "Only the bytes after the indexed prefix are read; the prefix is checked by hash. Leftovers of an interrupted sync are " +
          "removed first (and listed). Exit codes: 0 synced, nothing new, or rebuilt; 1 the indexed part of the JSONL changed and " +
          "nothing was written (pass --rebuild); 2 no sidecar (E_SIDECAR_MISSING, unless --rebuild), a damaged index " +
          "(E_SIDECAR_CORRUPT, unless --rebuild), locked, or bad usage.",
      ),
  run: async (args, io) => {
    let work = syncSidecar(args.file, { rebuild: args.rebuild });
    work = withMessage(work, "E_SIDECAR_MISSING", `no V2 sidecar to sync; create one with \`sessfmt sidecar create ${args.file}\` (or sync --rebuild)`);
    work = withAdvice(work, ["E_SIDECAR_CORRUPT"], "`sessfmt sidecar rebuild` rebuilds the index from the segments, sync --rebuild the whole sidecar from the JSONL");
    const report = await work;
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(report));
    else for (const l of renderSync(report)) out.line(l);
    out.flush();
    return report.action === "stale" ? EXIT_PROBLEMS : EXIT_OK;
  },
});

/** What the sync did (or why it did nothing), then what it repaired. */
export function renderSync(r: SyncReport): string[] {
  const state = `${plural(r.entries, "entry", "entries")}, chain ${r.chainHash}`;
  const lines: string[] = [];
  switch (r.action) {
    case "none":
      lines.push(`${r.root}: up to date; ${state}`);
      break;
    case "appended": {
      const skipped = r.skippedLines > 0 ? ` (${plural(r.skippedLines, "new line")} not an entry, not stored)` : "";
      lines.push(`${r.root}: appended ${plural(r.appended, "entry", "entries")}${skipped}; ${state}`);
      break;
    }
    case "rebuilt":
      lines.push(`${r.root}: rebuilt from the JSONL (${r.freshness.reason}); ${state}`);
      break;
    case "stale":
      lines.push(`${r.root}: not synced, nothing written: ${r.freshness.reason}; pass --rebuild to rebuild the sidecar from the JSONL`);
      break;
  }
  for (const what of r.repaired) lines.push(`  repaired: ${what}`);
  return lines;
}
