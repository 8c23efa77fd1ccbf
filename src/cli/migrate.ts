import { basename } from "node:path";
import { MIGRATION_PHASES, type MigrationPhase } from "../v2/index.js";
import type { DryRunResult, MigrateResult, OperationOptions } from "../migrate/index.js";
import { ARCHIVE_EPILOG, archiveOptions, failedLine, humanBytes, runArchiveCommand, seconds, type FileRenderer } from "./archive-ui.js";
import { defineCommand } from "./command.js";
import { oneLine, usageError } from "./io.js";
import type { Style } from "./render.js";

export const migrateCommand = defineCommand({
  command: "migrate <paths...>",
  describe: "Build, sync or rebuild the V2 sidecar of each session (staged, verified, atomic); --dry-run only reports",
  builder: (y) =>
    archiveOptions(y)
      .option("dry-run", { alias: "n", type: "boolean", default: false, describe: "Report what would be done (entries, segments, bytes, diagnostics, verification, time); write nothing" })
      .option("skip-invalid", { type: "boolean", default: false, describe: "Keep lines that cannot be parsed in the sidecar's quarantine instead of stopping at them" })
      .option("segment-size", { type: "number", describe: "Segment size in bytes for new frames (default 64 MiB)" })
      .option("upgrade", { type: "boolean", default: true, describe: "Upgrade version 1/2 files to version 3 first, keeping <file>.bak (--no-upgrade refuses them)" })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "List every diagnostic and planned segment" })
      .option("fail-at", { type: "string", hidden: true, describe: "Test hook: fail before this phase" })
      .example("$0 migrate --dry-run ~/.pi/agent/sessions", "See what a migration of the archive would do")
      .example("$0 migrate ~/.pi/agent/sessions --jobs 4", "Migrate the archive, 4 files at a time")
      .example("$0 migrate broken.jsonl --skip-invalid", "Migrate, quarantining lines that cannot be parsed")
      .epilog(
        "Each file: status decides (unmigrated: create; stale: sync the appended lines, or rebuild; migrated: nothing; " +
          "partial/corrupt: refused, run recover). A new sidecar is built in <stem>.v2.staging-<id>/, fsynced, verified " +
          "entry by entry against the JSONL and renamed into place; every phase is recorded in its migration ledger. " +
          ARCHIVE_EPILOG,
      ),
  run: async (args, io) => {
    const options: OperationOptions = {};
    if (args.skipInvalid) options.skipInvalid = true;
    if (args.segmentSize !== undefined) {
      if (!Number.isSafeInteger(args.segmentSize) || args.segmentSize < 1) throw usageError(`--segment-size must be a positive integer, got ${String(args.segmentSize)}`);
      options.segmentBytes = args.segmentSize;
    }
    if (!args.upgrade) options.upgrade = false;
    if (args.failAt !== undefined) {
      if (!(MIGRATION_PHASES as readonly string[]).includes(args.failAt)) throw usageError(`--fail-at must be one of ${MIGRATION_PHASES.join(", ")}`);
      options.failAt = args.failAt as MigrationPhase;
    }
    if (args.dryRun) return runArchiveCommand(io, args, "dry-run", options, dryRunRenderer(args.verbose));
    return runArchiveCommand(io, args, "migrate", options, migrateRenderer);
  },
});

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export const migrateRenderer: FileRenderer = {
  lines(o, style) {
    if (!o.result) return [failedLine(o, style)];
    const m = o.result as MigrateResult;
    if (m.action === "none") return [`${o.file}: ${style.dim("already migrated")} (${plural(m.entries, "entry", "entries")}, fresh)`];
    const parts = [`${plural(m.entries, "entry", "entries")}${m.action === "synced" ? ` (${m.entriesAdded} new)` : ""}`, `${plural(m.segments, "segment")}`, humanBytes(m.bytes)];
    const lines = [`${o.file}: ${style.accent(m.action)}: ${parts.join(", ")}, verified; ${seconds(m.durationMs)}`];
    if (m.upgraded) lines.push(`  upgraded from version ${m.upgraded.fromVersion} to 3${m.upgraded.backupPath ? `; original kept as ${basename(m.upgraded.backupPath)}` : ""}`);
    if (m.quarantined.length > 0) lines.push(`  quarantined ${plural(m.quarantined.length, "invalid line")}: ${m.quarantined.map((l) => `${l.line} (${l.reason})`).join(", ")}`);
    if (m.tornTailLine !== undefined) lines.push(`  line ${m.tornTailLine} has no line end and is not an entry yet: left for the next sync`);
    if (m.checkpoints && (m.checkpoints.kept.length || m.checkpoints.dropped.length)) lines.push(`  checkpoints kept: ${m.checkpoints.kept.join(", ") || "none"}; dropped: ${m.checkpoints.dropped.join(", ") || "none"}`);
    if (m.after === "stale") lines.push(`  the JSONL grew during the migration: run migrate again to sync`);
    return lines;
  },
};

export function dryRunRenderer(verbose: boolean): FileRenderer {
  return {
    lines(o, style) {
      if (!o.result) return [failedLine(o, style)];
      return dryRunLines(o.file, o.result as DryRunResult, style, verbose);
    },
  };
}

function dryRunLines(file: string, r: DryRunResult, style: Style, verbose: boolean): string[] {
  const lines: string[] = [];
  const verb = r.wouldSucceed ? style.accent(`would ${r.action}`) : style.error(`would refuse (${r.action})`);
  if (r.action === "none") return [`${file}: ${style.dim("nothing to do")} (${r.reason})`];
  if (r.action === "recover") return [`${file}: ${verb}: ${r.refusal ? oneLine(r.refusal.message) : r.reason}`];
  const what =
    r.action === "sync"
      ? `${plural(r.plan.entries, "new entry", "new entries")} (${plural(r.entries, "entry", "entries")} in all)`
      : `${plural(r.plan.entries, "entry", "entries")}`;
  lines.push(`${file}: ${verb}: ${what}, ${plural(r.segments, "segment")}, ${humanBytes(r.sidecarBytes)} of frames from ${humanBytes(r.bytes)} of JSONL; est. ${seconds(r.estimatedMs)}`);
  if (r.upgrade) lines.push(`  upgrade version ${r.upgrade.fromVersion} -> 3 first (${humanBytes(r.upgrade.bytesBefore)} -> ${humanBytes(r.upgrade.bytesAfter)}; original kept as .bak)`);
  if (r.refusal && r.refusal.code !== "E_INVALID_LINES") lines.push(`  ${style.error(r.refusal.code)}: ${oneLine(withoutLocation(r.refusal.message))}`);
  if (r.invalidLines.length > 0) {
    const shown = verbose ? r.invalidLines : r.invalidLines.slice(0, 5);
    const list = `${shown.map((l) => `${l.line} (${l.reason})`).join(", ")}${shown.length < r.invalidLines.length ? ", ..." : ""}`;
    if (r.refusal?.code === "E_INVALID_LINES") lines.push(`  ${style.error("E_INVALID_LINES")}: ${plural(r.invalidLines.length, "line")} cannot be parsed: ${list}; --skip-invalid keeps them in the quarantine`);
    else lines.push(`  ${plural(r.invalidLines.length, "invalid line")} to the quarantine: ${list}`);
  }
  if (r.tornTailLine !== undefined) lines.push(`  line ${r.tornTailLine}: no line end, not an entry yet: left for the next sync`);
  const counts = Object.entries(r.diagnosticCounts).filter(([k]) => k !== "skipped");
  if (counts.length > 0) {
    lines.push(`  diagnostics: ${counts.map(([k, n]) => `${k} ${n} (line${n === 1 ? "" : "s"} ${linesOf(r, k, verbose)})`).join(", ")}`);
  }
  if (verbose) {
    for (const s of r.plan.segments) lines.push(`  segment ${s.segmentSeq}: ${plural(s.frames, "frame")}, ${humanBytes(s.bytes)}${s.created ? "" : " appended"}`);
    for (const d of r.diagnostics) lines.push(`  line ${d.line}, byte ${d.offset}: ${d.code}${d.reason ? ` (${d.reason})` : ""}: ${oneLine(d.message)}`);
  }
  if (r.wouldSucceed) {
    lines.push(`  verification: ${plural(r.verification.entries, "entry", "entries")} entry by entry, chain ${r.verification.chainHash.slice(0, 16)}…, every index row and CRC`);
  }
  return lines;
}

/** A SessfmtError message without its leading "<file>:line N:byte M: " (the file is on the line already). */
export function withoutLocation(message: string): string {
  return message.replace(/^\/[^\n]*?(?::line \d+)?(?::byte \d+)?: /, "");
}

function linesOf(r: DryRunResult, code: string, verbose: boolean): string {
  const ls = r.diagnostics.filter((d) => d.code === code).map((d) => d.line);
  const shown = verbose ? ls : ls.slice(0, 5);
  return `${shown.join(", ")}${shown.length < ls.length ? ", ..." : ""}`;
}
