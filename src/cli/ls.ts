import type { CatalogSession } from "../store/index.js";
import { catalogQuery, catalogRoot, compactNumber, formatCost, formatTime, refreshedCatalog, renderTable, roundCost, withFilters, withRoot, type Column } from "./catalog.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";
import { SHORT_ID_LENGTH } from "./render.js";

/** Models as the table shows them: the first one without its provider, "+N" for the others. */
function modelCell(models: readonly string[]): string {
  if (models.length === 0) return "-";
  const first = (models[0] as string).split("/").slice(1).join("/") || (models[0] as string);
  return models.length > 1 ? `${first} +${models.length - 1}` : first;
}

/**
 * Each id cut to the shortest prefix (at least 8 characters) that no other listed id
 * shares: pi's UUIDv7 ids of sessions started close together share long prefixes.
 */
export function uniquePrefixes(ids: readonly string[], min: number = SHORT_ID_LENGTH): Map<string, string> {
  const sorted = [...new Set(ids)].sort();
  const common = (a: string | undefined, b: string): number => {
    let i = 0;
    while (a !== undefined && i < a.length && i < b.length && a[i] === b[i]) i++;
    return i;
  };
  const out = new Map<string, string>();
  sorted.forEach((id, i) => {
    const need = Math.max(min, common(sorted[i - 1], id) + 1, common(sorted[i + 1], id) + 1);
    out.set(id, id.slice(0, need));
  });
  return out;
}

function lsColumns(sessions: readonly CatalogSession[]): Column<CatalogSession>[] {
  const ids = uniquePrefixes(sessions.map((s) => s.id));
  return [
    { title: "MODIFIED (UTC)", value: (s) => formatTime(s.modified) },
    { title: "ID", value: (s) => ids.get(s.id) ?? s.id },
    { title: "MSGS", value: (s) => String(s.messageCount), align: "right" },
    { title: "TOKENS IN/OUT", value: (s) => `${compactNumber(s.tokensIn)}/${compactNumber(s.tokensOut)}`, align: "right" },
    { title: "COST", value: (s) => formatCost(s.cost), align: "right" },
    { title: "MODEL", value: (s) => modelCell(s.models), max: 28 },
    { title: "CWD", value: (s) => s.cwd || "-", max: 40 },
    { title: "NAME", value: (s) => `${s.archived ? "[archived] " : ""}${s.name ?? (s.autoName ? `~ ${s.autoName}` : "-")}`, max: 60 },
  ];
}

export const lsCommand = defineCommand({
  command: "ls [root]",
  describe: "List the sessions of a sessions root, newest first (refreshes the catalog)",
  builder: (y) =>
    withFilters(withRoot(y))
      .option("limit", { type: "number", describe: "Show at most this many sessions" })
      .option("json", { type: "boolean", default: false, describe: "One JSON object per session (NDJSON)" })
      .example("$0 ls", "Sessions under ~/.pi/agent/sessions")
      .example("$0 ls --cwd ~/work/app --since 7d", "This week's sessions of one project")
      .example("$0 ls --model sonnet --json | jq -r .file", "Files of the sessions that used a Sonnet model")
      .epilog(
        'NAME is the session name, or "~ " and a name derived from the first user message when it has none. ' +
          "The catalog (session-index.sqlite at the root) is refreshed first: only changed files are read. " +
          "Exit codes: 0 listed (also when nothing matched); 2 the root cannot be read or bad usage.",
      ),
  run: async (args, io) => {
    const query = catalogQuery(args);
    if (args.limit !== undefined) query.limit = args.limit;
    const { catalog } = await refreshedCatalog(catalogRoot(args, io), io);
    try {
      const sessions = catalog.list(query);
      const out = new LineBuffer(io.stdout);
      if (args.json) for (const s of sessions) out.line(JSON.stringify(roundCost(s)));
      else if (sessions.length === 0) out.line("no sessions");
      else for (const l of renderTable(sessions, lsColumns(sessions))) out.line(l);
      out.flush();
      const unreadable = catalog.failures().length;
      if (unreadable > 0 && !args.json) io.stderr.write(`note: ${unreadable} *.jsonl file${unreadable === 1 ? " is" : "s are"} not a readable session (sessfmt index -v lists them)\n`);
    } finally {
      catalog.close();
    }
    return EXIT_OK;
  },
});
