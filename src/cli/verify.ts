import type { VerifyReport } from "../migrate/index.js";
import { ARCHIVE_EPILOG, archiveOptions, failedLine, runArchiveCommand, seconds, type FileRenderer } from "./archive-ui.js";
import { defineCommand } from "./command.js";
import { oneLine } from "./io.js";

export const verifyCommand = defineCommand({
  command: "verify <paths...>",
  describe: "Compare each session's V2 sidecar with its JSONL entry by entry (ids, parents, payload hashes, chain, every index row and CRC)",
  builder: (y) =>
    archiveOptions(y)
      .option("max-mismatches", { type: "number", default: 20, describe: "Mismatches listed per file in human output (--json lists up to 1000; all are counted)" })
      .example("$0 verify ~/.pi/agent/sessions", "Verify every sidecar in an archive")
      .epilog(
        "Lines appended to the JSONL after the sidecar's last sync are reported as 'behind', not as mismatches (migrate syncs them). " +
          ARCHIVE_EPILOG,
      ),
  run: (args, io) => {
    const shown = args.maxMismatches > 0 ? args.maxMismatches : Infinity;
    const renderer: FileRenderer = {
      lines(o, style) {
        if (!o.result) return [failedLine(o, style)];
        const r = o.result as VerifyReport;
        const behind = r.behind > 0 ? `; ${r.behind} newer JSONL entries not synced yet` : "";
        const q = r.quarantine.present ? `, ${r.quarantine.stored} quarantined lines` : r.unquarantined > 0 ? `, ${r.unquarantined} invalid JSONL lines not quarantined` : "";
        if (r.ok) return [`${o.file}: ${style.accent("verified")}: ${r.entries.sidecar} entries, chain ${r.chain.jsonl.slice(0, 16)}…${q}${behind}; ${seconds(r.durationMs)}`];
        const lines = [`${o.file}: ${style.error("MISMATCH")}: ${r.mismatchCount} mismatch${r.mismatchCount === 1 ? "" : "es"}, ${r.validation.errors} validation error${r.validation.errors === 1 ? "" : "s"} (JSONL ${r.entries.jsonl} entries, sidecar ${r.entries.sidecar})${behind}`];
        let n = 0;
        for (const m of r.mismatches) {
          if (n++ >= shown) break;
          const where = [m.line !== undefined ? `line ${m.line}` : "", m.entryId !== undefined ? `entry ${m.entryId}` : "", m.entrySeq !== undefined ? `entrySeq ${m.entrySeq}` : ""].filter(Boolean).join(", ");
          lines.push(`  ${where ? `${where}: ` : ""}${style.warn(m.code)}: ${oneLine(m.message)}`);
        }
        for (const p of r.validation.problems) {
          if (n++ >= shown) break;
          lines.push(`  ${p.file ?? ""}${p.offset !== undefined ? ` byte ${p.offset}` : ""}: ${style.warn(p.code)}: ${oneLine(p.message)}`);
        }
        const total = r.mismatchCount + r.validation.errors;
        if (total > shown) lines.push(`  ... and ${total - shown} more (--max-mismatches 0 lists all kept)`);
        return lines;
      },
    };
    return runArchiveCommand(io, args, "verify", args.maxMismatches > 0 ? { maxMismatches: Math.max(args.maxMismatches, 1000) } : {}, renderer);
  },
});
