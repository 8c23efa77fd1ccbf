import type { CatalogStats, CatalogTotals } from "../store/index.js";
import { catalogQuery, catalogRoot, formatCost, refreshedCatalog, renderTable, roundCost, withFilters, withRoot, type Column } from "./catalog.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer } from "./io.js";

function columns<T extends CatalogTotals>(key: string, value: (r: T) => string): Column<T>[] {
  return [
    { title: key, value },
    { title: "SESSIONS", value: (r) => String(r.sessions), align: "right" },
    { title: "MESSAGES", value: (r) => String(r.messages), align: "right" },
    { title: "TOKENS IN", value: (r) => String(r.tokensIn), align: "right" },
    { title: "TOKENS OUT", value: (r) => String(r.tokensOut), align: "right" },
    { title: "COST", value: (r) => formatCost(r.cost), align: "right" },
  ];
}

export function renderStats(s: CatalogStats): string[] {
  const t = s.totals;
  const lines = [`${t.sessions} sessions, ${t.messages} messages, ${t.tokensIn} tokens in, ${t.tokensOut} tokens out, ${formatCost(t.cost)}`];
  if (s.byModel.length > 0) lines.push("", ...renderTable(s.byModel, columns("MODEL", (r) => r.model)));
  if (s.byMonth.length > 0) lines.push("", ...renderTable(s.byMonth, columns("MONTH", (r) => r.month)));
  return lines;
}

export const statsCommand = defineCommand({
  command: "stats [root]",
  describe: "Totals of a sessions root per model and per month: sessions, messages, tokens, cost",
  builder: (y) =>
    withFilters(withRoot(y))
      .option("json", { type: "boolean", default: false, describe: "Print one JSON object {totals, byModel, byMonth}" })
      .example("$0 stats", "Everything under ~/.pi/agent/sessions")
      .example("$0 stats --since 2025-01-01 --cwd ~/work/app", "One project this year")
      .epilog(
        "Tokens and cost are summed from assistant messages' usage (all branches). Per model, MESSAGES counts that model's replies; " +
          "per month (UTC, by message time), every message. The catalog is refreshed first. Exit codes: 0 shown; 2 the root cannot be read or bad usage.",
      ),
  run: async (args, io) => {
    const query = catalogQuery(args);
    const { catalog } = await refreshedCatalog(catalogRoot(args, io), io);
    try {
      const s = catalog.stats(query);
      const out = new LineBuffer(io.stdout);
      if (args.json) out.line(JSON.stringify({ totals: roundCost(s.totals), byModel: s.byModel.map(roundCost), byMonth: s.byMonth.map(roundCost) }));
      else for (const l of renderStats(s)) out.line(l);
      out.flush();
    } finally {
      catalog.close();
    }
    return EXIT_OK;
  },
});
