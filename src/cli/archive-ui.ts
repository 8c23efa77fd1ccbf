import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import cliProgress from "cli-progress";
import type { Argv } from "yargs";
import { runArchive, type ArchiveOperation, type ArchiveProgress, type ArchiveSummary, type DiscoveredFile, type FileOutcome, type OperationOptions } from "../migrate/index.js";
import { EXIT_FATAL, EXIT_OK, EXIT_PROBLEMS, LineBuffer, oneLine, usageError, type CliIO } from "./io.js";
import { styleFor, type Style } from "./render.js";

/**
 * What the archive commands (status, migrate, verify, rollback, recover) share: the path
 * arguments and --jobs/--json/--follow-symlinks, Ctrl-C handling, the progress bar on a
 * terminal, one line (or one NDJSON object) per file, the summary table, the exit code.
 */

export interface ArchiveArgs {
  paths: string[];
  jobs: number | undefined;
  json: boolean;
  followSymlinks: boolean;
}

/** The CLI's surroundings, plus an optional AbortSignal (tests use it in place of Ctrl-C). */
export type ArchiveIO = CliIO & { signal?: AbortSignal };

export function archiveOptions<T>(y: Argv<T>) {
  return y
    .positional("paths", {
      type: "string",
      array: true,
      demandOption: true,
      describe: 'Session files, directories (searched recursively for *.jsonl sessions), or "-" to read paths from stdin',
    })
    .option("jobs", { alias: "j", type: "number", describe: `Files processed in parallel (default: the number of cores, ${availableParallelism()} here)` })
    .option("json", { type: "boolean", default: false, describe: "One NDJSON object per file, then a summary object" })
    .option("follow-symlinks", { type: "boolean", default: false, describe: "Enter symlinked directories" });
}

export const ARCHIVE_EPILOG =
  "Exit codes: 0 every file succeeded; 1 a file failed (or, for status, is partial or corrupt; for verify, mismatches); " +
  "2 bad usage, or the run was interrupted (Ctrl-C: files in flight finish or are abandoned cleanly, the rest are not started).";

/** `<file>: failed: <code>: <message>`, the message without the file's own path in front. */
export function failedLine(o: FileOutcome, style: Style): string {
  const abs = resolve(o.file);
  let message = o.error?.message ?? "";
  if (message.startsWith(`${abs}:`)) message = message.slice(abs.length + 1).replace(/^ /, "");
  return `${o.file}: ${style.error("failed")}: ${o.error?.code ?? "E_IO"}: ${oneLine(message)}`;
}

export interface FileRenderer {
  /** Human lines for one file's outcome (the first names the file). */
  lines(o: FileOutcome, style: Style): string[];
}

/** Run an archive operation with the shared UI; returns the exit code. */
export async function runArchiveCommand(io: ArchiveIO, args: ArchiveArgs, op: ArchiveOperation, options: OperationOptions, render: FileRenderer): Promise<number> {
  if (args.paths.filter((p) => p === "-").length > 1) throw usageError('"-" (paths from stdin) may be given only once');
  if (args.jobs !== undefined && (!Number.isInteger(args.jobs) || args.jobs < 1)) throw usageError(`--jobs must be a positive integer, got ${String(args.jobs)}`);
  const style = styleFor(io);
  const out = new LineBuffer(io.stdout);
  const ac = new AbortController();
  const external = io.signal;
  const onExternal = () => ac.abort(external?.reason);
  external?.addEventListener("abort", onExternal, { once: true });
  if (external?.aborted) ac.abort(external.reason);
  const bar = io.isTTY && !args.json ? progressBar(io) : undefined;
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      io.stderr.write("\nsessfmt: interrupted: finishing the files in flight, starting no more (Ctrl-C again to stop at once)\n");
      ac.abort(new Error("interrupted"));
    } else {
      bar?.stop(); // gives the cursor back
      io.stderr.write('sessfmt: stopped; run "sessfmt recover" on these paths to clean up anything left half done\n');
      process.exit(EXIT_FATAL);
    }
  };
  process.on("SIGINT", onSigint);

  const emit = (o: FileOutcome) => {
    if (args.json) {
      const rec: Record<string, unknown> = { type: "file", operation: op, file: o.file, ok: o.ok, outcome: o.outcome, bytes: o.bytes, durationMs: o.durationMs };
      if (o.error) rec.error = o.error;
      if (o.result) rec.result = o.result;
      out.line(JSON.stringify(rec));
      out.flush(); // a line per finished file, as it finishes
      return;
    }
    // Files a Ctrl-C kept from starting are counted in the summary, not listed one by one.
    if (o.outcome === "not started") return;
    const lines = render.lines(o, style);
    if (bar) {
      bar.log(lines);
      return;
    }
    for (const l of lines) out.line(l);
    out.flush();
  };
  let summary: ArchiveSummary;
  try {
    summary = await runArchive(op, args.paths, options, {
      ...(args.jobs !== undefined ? { jobs: args.jobs } : {}),
      followSymlinks: args.followSymlinks,
      stdin: io.stdin,
      signal: ac.signal,
      // Progress only feeds the bar: without one, workers send no progress messages at all.
      ...(bar
        ? {
            onStart: (files: readonly DiscoveredFile[]) => bar.start(files.length, files.reduce((n, f) => n + f.bytes, 0)),
            onProgress: (p: ArchiveProgress) => bar.update(p.filesDone, p.bytesDone),
          }
        : {}),
      onFile: emit,
      onError: (err) => {
        if (args.json) out.line(JSON.stringify({ type: "error", code: err.code, message: err.message }));
        else io.stderr.write(`sessfmt: ${err.code}: ${oneLine(err.message)}\n`);
      },
    });
  } finally {
    bar?.stop();
    process.off("SIGINT", onSigint);
    external?.removeEventListener("abort", onExternal);
  }
  const exitCode = summary.aborted ? EXIT_FATAL : summary.failed > 0 || summary.walkErrors > 0 ? EXIT_PROBLEMS : EXIT_OK;
  if (args.json) out.line(JSON.stringify({ type: "summary", ...summary, exitCode }));
  else for (const l of summaryTable(summary, style)) out.line(l);
  out.flush();
  return exitCode;
}

/** What a file that is not ok is, per operation. */
const FAILED_WORDS: Record<ArchiveSummary["operation"], string> = {
  status: "partial, corrupt or unreadable",
  "dry-run": "would fail",
  migrate: "failed",
  verify: "not verified",
  rollback: "failed",
  recover: "not recovered",
};

/** The table printed after the files: files and JSONL bytes per outcome, then the totals. */
export function summaryTable(s: ArchiveSummary, style: Style): string[] {
  const rows = Object.keys(s.outcomes)
    .sort((a, b) => (s.outcomes[b] ?? 0) - (s.outcomes[a] ?? 0) || a.localeCompare(b))
    .map((k) => [k, String(s.outcomes[k] ?? 0), humanBytes(s.outcomeBytes[k] ?? 0)]);
  rows.push(["total", String(s.files), humanBytes(s.bytes)]);
  const head = ["outcome", "files", "bytes"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]) => `${(r[0] as string).padEnd(w[0] as number)}  ${(r[1] as string).padStart(w[1] as number)}  ${(r[2] as string).padStart(w[2] as number)}`;
  const lines = ["", style.bold(fmt(head)), ...rows.slice(0, -1).map(fmt), fmt(rows[rows.length - 1] as string[])];
  const notes: string[] = [`${s.files} file${s.files === 1 ? "" : "s"}`, `${s.ok} ok`, `${s.failed} ${FAILED_WORDS[s.operation]}`];
  if (s.notStarted > 0) notes.push(`${s.notStarted} not started (interrupted)`);
  if (s.skipped > 0) notes.push(`${s.skipped} skipped (not session files)`);
  if (s.walkErrors > 0) notes.push(`${s.walkErrors} unreadable director${s.walkErrors === 1 ? "y" : "ies"}`);
  lines.push(`${s.operation}: ${notes.join(", ")} in ${seconds(s.durationMs)} (${s.jobs} job${s.jobs === 1 ? "" : "s"}${s.threads ? ", worker threads" : ""})`);
  return lines;
}

export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = "B";
  for (const x of units) {
    if (v < 1024) break;
    v /= 1024;
    u = x;
  }
  return `${v.toFixed(1)} ${u}`;
}

export function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

interface Bar {
  start(files: number, bytes: number): void;
  update(files: number, bytes: number): void;
  log(lines: string[]): void;
  stop(): void;
}

/**
 * A cli-progress bar, drawn only when stdout is a terminal (so on stdout, with the file
 * lines logged above it): bytes drive the bar and the ETA; files are counted beside.
 */
function progressBar(io: CliIO): Bar {
  const stream = { isTTY: true, columns: io.columns ?? 80, write: (s: string) => io.stdout.write(s) } as unknown as NodeJS.WritableStream;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      format: "{bar} {percentage}% | {files}/{filesTotal} files | {done} of {size} | ETA {eta_formatted}",
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let bar: cliProgress.SingleBar | undefined;
  let filesTotal = 0;
  let bytesTotal = 0;
  return {
    start(files, bytes) {
      filesTotal = files;
      bytesTotal = Math.max(1, bytes);
      bar = multi.create(bytesTotal, 0, { files: 0, filesTotal, done: humanBytes(0), size: humanBytes(bytes) });
      multi.update(); // draw at once, not a frame later
    },
    update(files, bytes) {
      bar?.update(Math.min(bytesTotal, Math.round(bytes)), { files, filesTotal, done: humanBytes(Math.round(bytes)), size: humanBytes(bytesTotal) });
    },
    log(lines) {
      multi.log(lines.map((l) => `${l}\n`).join(""));
      multi.update(); // print the lines now, above the bar
    },
    stop() {
      multi.update(); // cli-progress drops lines still buffered when it stops
      multi.stop();
    },
  };
}
