import { validateSidecar, type ValidationReport } from "../v2/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, EXIT_PROBLEMS, LineBuffer } from "./io.js";
import { formatSize } from "./render.js";
import { plural, problemLine } from "./sidecar-render.js";

export const sidecarValidateCommand = defineCommand({
  command: "validate <file>",
  describe: "Check every byte of a sidecar (rows, frames, CRC-32C, payload hashes, chain, manifest, checkpoints, ledger) and list every problem",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl), or the sidecar root (<stem>.v2)" })
      .option("strict", { type: "boolean", default: false, describe: "Warnings fail too (exit 1)" })
      .option("json", { type: "boolean", default: false, describe: "Print the report as one JSON object (every problem, counters, invariants)" })
      .example("$0 sidecar validate s.jsonl", "One line per problem, then a summary")
      .example("$0 sidecar validate s.jsonl --json | jq '.problems[] | select(.severity == \"error\")'", "Errors only")
      .epilog(
        "Each problem has a code, a severity, the file in the root, the byte offset or line, and the entrySeq and entry id where " +
          "they apply (SPEC.md 11.14). Warnings are not damage: copies of defects of the JSONL, and what the Rust port would " +
          "refuse. Nothing is changed. Exit codes: 0 no errors (warnings allowed unless --strict); 1 errors (or warnings with " +
          "--strict); 2 no sidecar (E_SIDECAR_MISSING), a symlink in it (E_PATH_UNSAFE), or bad usage.",
      ),
  run: async (args, io) => {
    const report = await validateSidecar(args.file);
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(report));
    else for (const l of renderValidation(report)) out.line(l);
    out.flush();
    return report.errors > 0 || (args.strict && report.warnings > 0) ? EXIT_PROBLEMS : EXIT_OK;
  },
});

/** One line per problem, in the order found, then a summary line. */
export function renderValidation(r: ValidationReport): string[] {
  const lines = r.problems.map(problemLine);
  const verdict = r.errors > 0 ? "damaged" : "ok";
  lines.push(
    `${r.root}: ${verdict}, ${plural(r.entries, "entry", "entries")} in ${plural(r.segments, "segment")}, ${formatSize(r.bytes)}, ` +
      `chain ${r.chainHash ?? "unavailable"}; ${plural(r.errors, "error")}, ${plural(r.warnings, "warning")}`,
  );
  return lines;
}
