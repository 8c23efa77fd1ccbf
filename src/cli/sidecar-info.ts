import { SessfmtError } from "../format/index.js";
import { createV2SidecarFromJsonl, INVARIANT_KEYS, sidecarInfo, type CreateSidecarResult, type SidecarInfo } from "../v2/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";
import { formatSize, keyValueLines } from "./render.js";
import { freshnessText, plural, problemLine, withAdvice, withMessage } from "./sidecar-render.js";

export const sidecarInfoCommand = defineCommand({
  command: "info <file>",
  describe: "Show a sidecar's entries, segments, head, chain, manifest, checkpoints, ledger and freshness (reads no frame)",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl), or the sidecar root (<stem>.v2)" })
      .option("json", { type: "boolean", default: false, describe: "Print the report as one JSON object" })
      .option("check", {
        choices: ["full", "quick"] as const,
        default: "full" as const,
        describe: "Freshness check: full hashes the JSONL's indexed prefix; quick trusts an unchanged size and mtime",
      })
      .example("$0 sidecar info s.jsonl", "Is s.v2/ fresh, and what does it hold?")
      .example("$0 sidecar info s.jsonl --json | jq .freshness.state", "fresh | behind | stale | unknown")
      .epilog(
        "Freshness: fresh, the sidecar holds every entry line; behind: bytes appended to the JSONL (sync frames them); stale: the " +
          "indexed part of the JSONL changed (sync --rebuild); unknown: no source fingerprint, or no JSONL. Nothing is written and no frame is read: `sessfmt sidecar validate` checks " +
          "every byte. Exit codes: 0 shown; 2 no sidecar (E_SIDECAR_MISSING), a symlinked root (E_PATH_UNSAFE), or bad usage.",
      ),
  run: async (args, io) => {
    const info = await sidecarInfo(args.file, { check: args.check });
    if (!info.exists) {
      throw new SessfmtError("E_SIDECAR_MISSING", `no V2 sidecar at ${info.root}; create one with \`sessfmt sidecar create ${info.file ?? args.file}\``);
    }
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(info));
    else for (const l of renderSidecarInfo(info)) out.line(l);
    out.flush();
    return EXIT_OK;
  },
});

function chainText(info: SidecarInfo): string {
  const { manifest, fingerprint } = info.chain;
  if (manifest && fingerprint) return manifest === fingerprint ? `${manifest} (manifest and fingerprint agree)` : `manifest ${manifest}, fingerprint ${fingerprint} (they differ)`;
  if (manifest) return `${manifest} (manifest; no fingerprint)`;
  if (fingerprint) return `${fingerprint} (fingerprint; no manifest)`;
  return "not recorded";
}

/** `sidecar info` as aligned "key: value" lines, then any problem met while reading. */
export function renderSidecarInfo(info: SidecarInfo): string[] {
  const m = info.manifest;
  const fp = info.fingerprint;
  const rows: [string, string][] = [
    ["root", info.root],
    ["file", info.file ?? "-"],
    ["session", m?.sessionId ?? fp?.sessionId ?? "-"],
    ["freshness", freshnessText(info.freshness, info.file)],
    ["entries", String(info.entries)],
    ["bytes", formatSize(info.bytes)],
    ["segments", String(info.segments.length)],
  ];
  for (const s of info.segments) rows.push([`  segment ${s.segmentSeq}`, `${s.file}, ${formatSize(s.bytes)}, ${plural(s.frames, "frame")}`]);
  const h = info.head;
  rows.push(["head", h.entrySeq === 0 ? "empty" : `segmentSeq ${h.segmentSeq}, entrySeq ${h.entrySeq}, entryId ${h.entryId}`]);
  rows.push(["chain", chainText(info)]);
  if (m) {
    const c = m.counters;
    const broken = INVARIANT_KEYS.filter((k) => !m.invariants[k]);
    rows.push(["manifest", `ok, created ${m.createdAt}, updated ${m.updatedAt}`]);
    const counts = [plural(c.entriesTotal, "entry", "entries"), plural(c.messagesTotal, "message"), plural(c.branchesTotal, "branch", "branches"), plural(c.compactionsTotal, "compaction")];
    rows.push(["counters", `${counts.join(", ")}, ${c.bytesTotal} bytes`]);
    rows.push(["invariants", broken.length === 0 ? `all ${INVARIANT_KEYS.length} hold` : `false: ${broken.join(", ")}`]);
  } else {
    rows.push(["manifest", info.manifestState]);
  }
  rows.push([
    "fingerprint",
    fp ? `ok, ${fp.lastIndexedOffset} bytes (${fp.lastIndexedLine} lines) of ${fp.sourceFile} indexed, ${plural(fp.entryCount, "entry", "entries")}, updated ${fp.updatedAt}` : info.fingerprintState,
  ]);
  rows.push(["checkpoints", String(info.checkpoints)]);
  rows.push(["ledger", plural(info.ledgerEvents, "event")]);
  const t = info.entryTable;
  rows.push(["entry table", t.state === "current" ? "current (opens use it)" : `not used: ${t.reason} (\`sessfmt sidecar sync\` makes it)`]);
  rows.push(["problems", info.problems.length === 0 ? "none seen (`sessfmt sidecar validate` checks every frame)" : String(info.problems.length)]);
  return [...keyValueLines(rows), ...info.problems.map((p) => `  ${problemLine(p)}`)];
}

export const sidecarCreateCommand = defineCommand({
  command: "create <file>",
  describe: "Build a sidecar (<stem>.v2/) from a version 3 JSONL session, validated before it takes its name",
  builder: (y) =>
    y
      .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl), version 3" })
      .option("replace", {
        type: "boolean",
        default: false,
        describe: "Replace an existing sidecar (keeps its ledger, and its checkpoints that still describe a prefix of the new one)",
      })
      .option("json", { type: "boolean", default: false, describe: "Print the result as one JSON object" })
      .example("$0 sidecar create s.jsonl", "Writes s.v2/ beside s.jsonl")
      .example("$0 sidecar create s.jsonl --replace", "Rebuild it from scratch")
      .epilog(
        "Blank and invalid lines of the JSONL are not stored (they are counted). Version 1 and 2 files must be upgraded first " +
          "(`sessfmt upgrade`). Exit codes: 0 created; 2 the sidecar exists (E_EXISTS, unless --replace), the file cannot be " +
          "read or is not version 3 (E_UNSUPPORTED_VERSION), it changed while being read (E_SOURCE_CHANGED), or bad usage.",
      ),
  run: async (args, io) => {
    let work = createV2SidecarFromJsonl(args.file, { replace: args.replace });
    work = withMessage(work, "E_EXISTS", "a sidecar already exists; pass --replace to rebuild it from the JSONL");
    work = withAdvice(work, ["E_UNSUPPORTED_VERSION"], `run \`sessfmt upgrade ${args.file}\` first`);
    const r = await work;
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(r));
    else for (const l of renderCreate(r)) out.line(l);
    out.flush();
    return EXIT_OK;
  },
});

/** One line for the new sidecar, then what was not stored, warnings and checkpoints kept or dropped. */
export function renderCreate(r: CreateSidecarResult): string[] {
  const lines = [
    `created ${r.root}: ${plural(r.entries, "entry", "entries")} in ${plural(r.segments, "segment")}, ${formatSize(r.bytes)}, chain ${r.chainHash}`,
  ];
  if (r.skippedLines > 0) lines.push(`  ${plural(r.skippedLines, "line")} of the JSONL not stored (not entries; see \`sessfmt validate ${r.file}\`)`);
  const warnings = r.validation?.warnings ?? 0;
  if (warnings > 0) lines.push(`  ${plural(warnings, "warning")} (\`sessfmt sidecar validate ${r.file}\` lists them)`);
  if (r.keptCheckpoints.length > 0) lines.push(`  checkpoints kept: ${r.keptCheckpoints.join(", ")}`);
  if (r.droppedCheckpoints.length > 0) lines.push(`  checkpoints dropped (no longer a prefix of the new sidecar): ${r.droppedCheckpoints.join(", ")}`);
  return lines;
}
