import {
  SessionOpenDiagnostics,
  findSessionFiles,
  isSessfmtError,
  openSession,
  type SessfmtError,
  type SessionDiagnostic,
} from "../format/index.js";
import { defineCommand } from "./command.js";
import { EXIT_FATAL, EXIT_OK, EXIT_PROBLEMS, LineBuffer, oneLine, usageError } from "./io.js";
import { styleFor } from "./render.js";

/** One line of `validate --json` per file. */
export interface ValidateFileResult {
  type: "file";
  file: string;
  /** True when the file opened without a single diagnostic. */
  ok: boolean;
  diagnostics: SessionDiagnostic[];
  /** Why the file failed: it could not be opened, or (--strict) its first diagnostic. */
  error?: { code: string; message: string; line?: number; offset?: number };
}

/** The last line of `validate --json`. */
export interface ValidateSummary {
  type: "summary";
  files: number;
  clean: number;
  withDiagnostics: number;
  failed: number;
  /** `*.jsonl` files met in directories that are not sessions (not counted in files). */
  skipped: number;
  exitCode: number;
}

type Outcome = "clean" | "diagnostics" | "strict" | "fatal";

export const validateCommand = defineCommand({
  command: "validate <paths...>",
  describe: "Check session files and report every diagnostic with its line and byte offset",
  builder: (y) =>
    y
      .positional("paths", {
        type: "string",
        array: true,
        demandOption: true,
        describe: 'Files, directories (searched recursively for *.jsonl sessions), or "-" to read paths from stdin',
      })
      .option("strict", {
        type: "boolean",
        default: false,
        describe: "A file with any diagnostic counts as failed (what a strict reader would refuse)",
      })
      .option("json", { type: "boolean", default: false, describe: "One NDJSON object per file, then a summary object" })
      .option("follow-symlinks", { type: "boolean", default: false, describe: "Enter symlinked directories" })
      .option("max-diagnostics", {
        type: "number",
        default: 20,
        describe: "Diagnostics listed per file in human output (0 = all; --json lists all)",
      })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "Also list clean files and skipped non-session files" })
      .example("$0 validate ~/.pi/agent/sessions", "Check a whole archive")
      .example("$0 validate a.jsonl b.jsonl --strict", "Fail files with any diagnostic")
      .example("find . -name '*.jsonl' | $0 validate - --json", "Paths from stdin, NDJSON out")
      .epilog(
        "Exit codes: 0 every file is clean; 1 diagnostics were found (with --strict those files count as failed, " +
          "still exit 1); 2 a file could not be opened (missing, unreadable, bad header) or bad usage.",
      ),
  run: async (args, io) => {
    // Caught before any output: the walk would only notice the second "-" halfway.
    if (args.paths.filter((p) => p === "-").length > 1) throw usageError('"-" (paths from stdin) may be given only once');
    const style = styleFor(io);
    const out = new LineBuffer(io.stdout);
    const counts = { clean: 0, diagnostics: 0, strict: 0, fatal: 0, skipped: 0 };
    const maxShown = args.maxDiagnostics > 0 ? args.maxDiagnostics : Infinity;

    const emit = (result: ValidateFileResult, outcome: Outcome): void => {
      counts[outcome] += 1;
      if (args.json) {
        out.line(JSON.stringify(result));
        return;
      }
      if (outcome === "clean") {
        if (args.verbose) out.line(`${result.file}: ok`);
        return;
      }
      if (outcome === "fatal") {
        const e = result.error as NonNullable<ValidateFileResult["error"]>;
        out.line(`${style.bold(result.file)}: ${style.error("failed")}: ${e.code}: ${oneLine(e.message)}`);
        return;
      }
      const n = result.diagnostics.length;
      const head = outcome === "strict" ? `${style.error("failed")} (--strict, ${(result.error as { code: string }).code}), ` : "";
      out.line(`${style.bold(result.file)}: ${head}${n} diagnostic${n === 1 ? "" : "s"}`);
      let shown = 0;
      for (const d of result.diagnostics) {
        if (shown++ >= maxShown) {
          out.line(`  ... and ${n - maxShown} more (--max-diagnostics 0 lists all)`);
          break;
        }
        out.line(`  ${formatDiagnostic(d, style.warn)}`);
      }
    };

    const files = findSessionFiles(args.paths, {
      followSymlinks: args.followSymlinks,
      stdin: io.stdin,
      onError: (err) => emit(fatalResult(err.file ?? "?", err), "fatal"),
      onSkip: (file, reason) => {
        counts.skipped += 1;
        if (args.verbose && !args.json) out.line(`${file}: skipped: ${reason}`);
      },
    });
    for await (const file of files) {
      const { result, outcome } = await validateFile(file, args.strict);
      emit(result, outcome);
    }

    const failed = counts.strict + counts.fatal;
    const exitCode = counts.fatal > 0 ? EXIT_FATAL : counts.diagnostics + counts.strict > 0 ? EXIT_PROBLEMS : EXIT_OK;
    const files_ = counts.clean + counts.diagnostics + failed;
    if (args.json) {
      const summary: ValidateSummary = {
        type: "summary",
        files: files_,
        clean: counts.clean,
        withDiagnostics: counts.diagnostics,
        failed,
        skipped: counts.skipped,
        exitCode,
      };
      out.line(JSON.stringify(summary));
    } else {
      const skipped = counts.skipped > 0 ? `, ${counts.skipped} skipped (not session files)` : "";
      out.line(`${files_} files, ${counts.clean} clean, ${counts.diagnostics} with diagnostics, ${failed} failed${skipped}`);
    }
    out.flush();
    return exitCode;
  },
});

/** Open one file (never retaining entries: only the diagnostics matter) and classify it. */
async function validateFile(file: string, strict: boolean): Promise<{ result: ValidateFileResult; outcome: Outcome }> {
  try {
    const session = await openSession(file, { retainEntries: false, strict });
    const diagnostics = session.diagnostics.sorted();
    const ok = diagnostics.length === 0;
    return { result: { type: "file", file, ok, diagnostics }, outcome: ok ? "clean" : "diagnostics" };
  } catch (err) {
    // Strict open collects everything, then raises the first diagnostic with all of them attached.
    if (isSessfmtError(err) && err.data instanceof SessionOpenDiagnostics) {
      return {
        result: { type: "file", file, ok: false, diagnostics: err.data.sorted(), error: errorFields(err) },
        outcome: "strict",
      };
    }
    if (isSessfmtError(err)) return { result: fatalResult(file, err), outcome: "fatal" };
    throw err;
  }
}

function fatalResult(file: string, err: SessfmtError): ValidateFileResult {
  return { type: "file", file, ok: false, diagnostics: [], error: errorFields(err) };
}

function errorFields(err: SessfmtError): NonNullable<ValidateFileResult["error"]> {
  const e: NonNullable<ValidateFileResult["error"]> = { code: err.code, message: err.message };
  if (err.line !== undefined) e.line = err.line;
  if (err.offset !== undefined) e.offset = err.offset;
  return e;
}

/** "line 4, byte 812: skipped (bad_json): invalid JSON: ..." */
export function formatDiagnostic(d: SessionDiagnostic, highlight: (s: string) => string = (s) => s): string {
  const code = d.reason ? `${d.code} (${d.reason})` : d.code;
  return `line ${d.line}, byte ${d.offset}: ${highlight(code)}: ${oneLine(d.message)}`;
}

