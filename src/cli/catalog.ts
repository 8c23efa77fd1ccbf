import type { Argv } from "yargs";
import { defaultSessionsRoot } from "../format/index.js";
import { SessionCatalog, type CatalogQuery, type CatalogRefreshReport } from "../store/index.js";
import { defineCommand } from "./command.js";
import { EXIT_OK, LineBuffer, usageError, type CliIO } from "./io.js";

/**
 * What the catalog commands (index, ls, stats) share: the sessions root, the refresh
 * with a progress line on a terminal, the filters and the tables. Also the `index` command.
 */

/** The sessions root: the argument or --root (the same option), else the default root. */
export function catalogRoot(args: { root?: string | undefined }, io: CliIO): string {
  return args.root ?? defaultSessionsRoot(io.env ?? process.env);
}

/** The [root] argument, which can also be given as --root. */
export function withRoot<T>(y: Argv<T>) {
  const describe = "Sessions root, also as --root (default $PI_CODING_AGENT_DIR/sessions or ~/.pi/agent/sessions)";
  return y.positional("root", { type: "string", describe }).option("root", { type: "string", describe });
}

/** Open the root's catalog and bring it up to date; progress on stderr only on a terminal. */
export async function refreshedCatalog(root: string, io: CliIO, opts: { full?: boolean } = {}): Promise<{ catalog: SessionCatalog; report: CatalogRefreshReport }> {
  const catalog = await SessionCatalog.open(root);
  let shown = false;
  try {
    const report = await catalog.refresh({
      full: opts.full,
      onProgress: io.isTTY
        ? (done, total) => {
            if (total === 0) return;
            shown = true;
            io.stderr.write(`\rindexing ${done}/${total} files`);
          }
        : undefined,
    });
    return { catalog, report };
  } catch (err) {
    catalog.close();
    throw err;
  } finally {
    if (shown) io.stderr.write("\r\u001b[K");
  }
}

/** The filter options of ls and stats. */
export function withFilters<T>(y: Argv<T>) {
  return y
    .option("cwd", { type: "string", describe: "Only sessions of this directory (or below it)" })
    .option("name", { type: "string", describe: "Only sessions whose name (or auto name) contains this, any case" })
    .option("since", { type: "string", describe: "Modified at or after: ISO date/time, or 30m, 12h, 7d, 4w ago" })
    .option("until", { type: "string", describe: "Modified at or before: ISO date/time (a date means its whole day), or 30m, 12h, 7d, 4w ago" })
    .option("model", { type: "string", describe: 'Only sessions that used a model containing this ("sonnet", "openai/")' })
    .option("archived", { type: "boolean", default: false, describe: "Include archived sessions (under <root>/.archive/)" });
}

const UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "7d" -> 7 days before now; "2025-01-16" as an upper bound -> the end of that day; else an ISO date/time. */
export function parseTime(value: string | undefined, bound: "since" | "until", now: number = Date.now()): Date | undefined {
  if (value === undefined) return undefined;
  const rel = /^(\d+)([mhdw])$/.exec(value.trim());
  if (rel) return new Date(now - Number(rel[1]) * (UNIT_MS[rel[2] as string] as number));
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw usageError(`--${bound} ${JSON.stringify(value)} is not a date, a date/time or a relative time like 7d`);
  if (bound === "until" && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return new Date(ms + UNIT_MS.d! - 1);
  return new Date(ms);
}

/** The catalog query of ls/stats options. */
export function catalogQuery(args: { cwd?: string; name?: string; since?: string; until?: string; model?: string; archived?: boolean }): CatalogQuery {
  const q: CatalogQuery = { archived: args.archived ? "include" : "exclude" };
  if (args.cwd !== undefined) q.cwd = args.cwd;
  if (args.name !== undefined) q.name = args.name;
  if (args.model !== undefined) q.model = args.model;
  const since = parseTime(args.since, "since");
  const until = parseTime(args.until, "until");
  if (since) q.since = since;
  if (until) q.until = until;
  return q;
}

export const indexCommand = defineCommand({
  command: "index [root]",
  describe: "Build or refresh the archive catalog (session-index.sqlite) of a sessions root",
  builder: (y) =>
    withRoot(y)
      .option("full", { type: "boolean", default: false, describe: "Read every file again (rebuild), not only changed ones" })
      .option("json", { type: "boolean", default: false, describe: "Print the refresh report as one JSON object" })
      .option("verbose", { alias: "v", type: "boolean", default: false, describe: "List the *.jsonl files that are not readable sessions" })
      .example("$0 index", "Refresh the catalog of ~/.pi/agent/sessions")
      .example("$0 index ./sessions --full", "Rebuild from the files")
      .epilog(
        "Only files whose size or mtime changed are read again; rows of removed files are dropped. The catalog is a cache: " +
          "delete it or pass --full at any time; a corrupt one is moved aside and rebuilt. " +
          "Exit codes: 0 refreshed; 2 the root cannot be read or bad usage.",
      ),
  run: async (args, io) => {
    const root = catalogRoot(args, io);
    const { catalog, report } = await refreshedCatalog(root, io, { full: args.full });
    try {
      const out = new LineBuffer(io.stdout);
      if (args.json) {
        out.line(JSON.stringify({ root: catalog.root, catalog: catalog.file, ...report }));
      } else {
        if (report.movedAside) out.line(`the catalog was corrupt: moved to ${report.movedAside} and rebuilt`);
        out.line(
          `${report.files} files: ${report.added} added, ${report.updated} updated, ${report.removed} removed, ${report.unchanged} unchanged` +
            `${report.failed > 0 ? `, ${report.failed} not readable sessions` : ""}${report.changing > 0 ? `, ${report.changing} changing (read next time)` : ""}`,
        );
        out.line(`catalog: ${catalog.file}`);
        if (args.verbose) for (const f of catalog.failures()) out.line(`  ${f.path}: ${f.error}`);
      }
      out.flush();
    } finally {
      catalog.close();
    }
    return EXIT_OK;
  },
});

// ---- tables (ls, stats): columns sized to their widest cell, numbers right-aligned ----

export interface Column<T> {
  title: string;
  value: (row: T) => string;
  align?: "left" | "right";
  /** Longest cell; longer ones are cut with "…". */
  max?: number;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string[] {
  const cells = rows.map((r) => columns.map((c) => cut(c.value(r), c.max)));
  const widths = columns.map((c, i) => Math.max(c.title.length, ...cells.map((row) => width(row[i] as string))));
  const line = (values: string[]): string =>
    values
      .map((v, i) => {
        const pad = " ".repeat((widths[i] as number) - width(v));
        return columns[i]?.align === "right" ? pad + v : v + pad;
      })
      .join("  ")
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...cells.map(line)];
}

function width(s: string): number {
  return Array.from(s).length;
}

function cut(s: string, max: number | undefined): string {
  const flat = s.replace(/\s+/g, " ");
  if (max === undefined || width(flat) <= max) return flat;
  return Array.from(flat).slice(0, Math.max(0, max - 1)).join("") + "…";
}

/** 950, 1.2k, 3.4M: token counts at a glance. */
export function compactNumber(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)}M`;
}

/** Sums of floats print as 0.019200000000000002; nine decimals keep every real digit. */
export function roundCost<T extends { cost: number }>(t: T): T {
  return { ...t, cost: Math.round(t.cost * 1e9) / 1e9 };
}

/** Dollars: four decimals below $1 (session costs are often cents), two above. */
export function formatCost(usd: number): string {
  return `$${usd.toFixed(usd < 1 ? 4 : 2)}`;
}

/** "2025-01-16 09:00" (UTC), or "-". */
export function formatTime(iso: string | undefined): string {
  if (!iso) return "-";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "-" : d.toISOString().slice(0, 16).replace("T", " ");
}
