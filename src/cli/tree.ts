import type { EntryRecord, Session } from "../format/index.js";
import { defineCommand } from "./command.js";
import { visitEntryValues } from "../format/index.js";
import { EXIT_OK, LineBuffer, usageError, type CliIO } from "./io.js";
import { preview, shortId, styleFor, summarizeEntry } from "./render.js";
import { layoutTree, type TreeRow } from "./tree-layout.js";
import { writeTreeJson } from "./tree-json.js";
import { openForCommand, resolveLeaf, withSidecarReadOptions } from "./sidecar-source.js";

/** Rows rendered per read of the file. */
const BATCH = 2048;
const DEFAULT_PREVIEW = 80;

export const treeCommand = defineCommand({
  command: "tree <file>",
  describe: "Draw the session tree: branches, labels, the active path and the current leaf",
  builder: (y) =>
    withSidecarReadOptions(
      y
        .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl)" })
        .option("leaf", { type: "string", describe: "Treat this entry (id or unique id prefix) as the current leaf" })
        .option("json", { type: "boolean", default: false, describe: "Print the tree as one nested JSON object" })
        .option("width", {
          type: "number",
          describe: `Characters of text preview per entry (default: fit the terminal, or ${DEFAULT_PREVIEW} on a pipe)`,
        }),
    )
      .example("$0 tree session.jsonl", "• marks the active path, ← leaf the current leaf")
      .example("$0 tree session.jsonl --leaf 3f2a", "Show the path to another leaf")
      .example("$0 tree session.jsonl --json | jq '.roots[0].id'", "Nested {id, type, role, label, timestamp, line, children}")
      .example("$0 tree session.jsonl --from-sidecar --mode active", "Only the path to the leaf, read from session.v2/")
      .epilog(
        "With --from-sidecar the output is the JSONL's for a fresh sidecar; --mode active|tail:N draws only the entries loaded. " +
          "Exit codes: 0 drawn, 2 the file cannot be opened, unknown --leaf, the sidecar is missing (E_SIDECAR_MISSING) or not " +
          "fresh (E_SIDECAR_STALE, unless --allow-stale), or bad usage.",
      ),
  run: async (args, io) => {
    if (args.width !== undefined && !(Number.isInteger(args.width) && args.width >= 0)) {
      throw usageError(`--width must be a whole number >= 0, got ${String(args.width)}`);
    }
    // Default retention: every entry is shown, so small files keep what the open parsed;
    // past 64 MiB the reader keeps only the index and rows re-read their lines in batches.
    const opened = await openForCommand(args.file, args, args.leaf);
    const session = opened.session;
    const leafId = resolveLeaf(opened, args.leaf);
    const out = new LineBuffer(io.stdout);
    if (args.json) writeTreeJson(session, leafId, out);
    else drawTree(session, leafId, out, io, args.width);
    out.flush();
    return EXIT_OK;
  },
});

function drawTree(session: Session, leafId: string | null, out: LineBuffer, io: CliIO, width: number | undefined): void {
  if (session.records.length === 0) {
    out.line("(no entries)");
    return;
  }
  const style = styleFor(io);
  const fit = width === undefined && io.isTTY && io.columns !== undefined;
  let batch: TreeRow[] = [];
  const flush = (): void => {
    const records: EntryRecord[] = batch.map((row) => row.record);
    let i = 0;
    visitEntryValues(session, records, (value) => {
      const row = batch[i++] as TreeRow;
      const { kind, text } = summarizeEntry(value);
      const label = session.tree.label(row.record.id);
      const marker = row.active ? "• " : "  ";
      const labelText = label === undefined ? "" : ` [${label}]`;
      const leafText = row.leaf ? " ← leaf" : "";
      const fixed = row.prefix.length + marker.length + shortId(row.record.id).length + kind.length + labelText.length + leafText.length + 3;
      const max = fit ? Math.max(20, (io.columns as number) - fixed) : (width ?? DEFAULT_PREVIEW);
      const body = `${kind}${text && max > 0 ? `: ${preview(text, max)}` : ""}`;
      out.line(
        style.dim(row.prefix) +
          (row.active ? style.accent(marker) : marker) +
          style.dim(shortId(row.record.id)) +
          " " +
          (row.active ? style.bold(body) : body) +
          (label === undefined ? "" : style.warn(labelText)) +
          (row.leaf ? style.accent(leafText) : ""),
      );
    });
    batch = [];
  };
  for (const row of layoutTree(session.tree, leafId)) {
    batch.push(row);
    if (batch.length >= BATCH) flush();
  }
  flush();
}
