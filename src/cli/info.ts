import { stat } from "node:fs/promises";
import type { EntryRecord, Session } from "../format/index.js";
import { defineCommand } from "./command.js";
import { messageActivityTime, visitEntryValues } from "../format/index.js";
import { EXIT_OK, LineBuffer } from "./io.js";
import { formatSize, keyValueLines } from "./render.js";
import { openForCommand, withSidecarReadOptions, type SidecarReadInfo } from "./sidecar-source.js";

/** What `sessfmt info --json` prints. */
export interface SessionInfo {
  file: string;
  id: string;
  /** As found in the header (1 when absent). */
  version: number;
  dialect: string;
  cwd: string | null;
  /** Header timestamp, as written. */
  created: string | null;
  /** Last user/assistant activity, as pi's session list computes it (ISO). */
  modified: string | null;
  parentSession: string | null;
  name: string | null;
  entryCount: number;
  messageCount: number;
  leafId: string | null;
  branchPointCount: number;
  leafCount: number;
  labelCount: number;
  size: number;
  diagnostics: { count: number; summary: Record<string, number> };
  /** --from-sidecar with --mode active or tail:N: the counts above are over the loaded entries only. */
  partial?: { mode: string; loaded: number; entries: number };
}

export const infoCommand = defineCommand({
  command: "info <file>",
  describe: "Show a session's header, counts and diagnostics summary",
  builder: (y) =>
    withSidecarReadOptions(
      y
        .positional("file", { type: "string", demandOption: true, describe: "Session file (.jsonl)" })
        .option("json", { type: "boolean", default: false, describe: "Print one JSON object" }),
    )
      .example("$0 info session.jsonl", "Aligned key: value lines")
      .example("$0 info session.jsonl --json | jq .messageCount", "Machine-readable")
      .example("$0 info session.jsonl --from-sidecar", "The same, with the entries read from session.v2/")
      .epilog(
        "With --from-sidecar the output is the JSONL's for a fresh sidecar; --mode active|tail:N counts only the entries loaded " +
          "(and says so). Exit codes: 0 shown (even with diagnostics; see validate), 2 the file cannot be opened, the sidecar is " +
          "missing (E_SIDECAR_MISSING) or not fresh (E_SIDECAR_STALE, unless --allow-stale), or bad usage.",
      ),
  run: async (args, io) => {
    const opened = await openForCommand(args.file, args);
    const info = await sessionInfo(opened.session, args.file, opened.sidecar);
    const out = new LineBuffer(io.stdout);
    if (args.json) out.line(JSON.stringify(info));
    else for (const l of renderInfo(info)) out.line(l);
    out.flush();
    return EXIT_OK;
  },
});

export async function sessionInfo(session: Session, file: string, sidecar?: SidecarReadInfo): Promise<SessionInfo> {
  const h = session.header;
  const tree = session.tree;
  const info: SessionInfo = {
    file,
    id: session.id,
    version: session.version,
    dialect: session.dialect,
    cwd: typeof h.cwd === "string" ? h.cwd : null,
    created: typeof h.timestamp === "string" ? h.timestamp : null,
    modified: await modifiedDate(session, file),
    parentSession: session.parentSession ?? null,
    name: session.name ?? null,
    entryCount: session.records.length,
    messageCount: session.messageCount,
    leafId: session.leafId,
    branchPointCount: tree.branchPoints().length,
    leafCount: tree.leaves().length,
    labelCount: session.labels.size,
    size: session.size,
    diagnostics: { count: session.diagnostics.count, summary: session.diagnostics.summary() as Record<string, number> },
  };
  if (sidecar && sidecar.loaded < sidecar.entries) info.partial = { mode: sidecar.mode, loaded: sidecar.loaded, entries: sidecar.entries };
  return info;
}

/**
 * pi's getSessionModifiedDate: the latest user/assistant message time (message.timestamp,
 * else the entry's), else the header time, else the file's mtime.
 */
async function modifiedDate(session: Session, file: string): Promise<string | null> {
  const candidates = session.records.filter((r: EntryRecord) => r.type === "message" && (r.role === "user" || r.role === "assistant"));
  let last: number | undefined;
  visitEntryValues(session, candidates, (e) => {
    const t = messageActivityTime(e);
    if (t !== undefined) last = Math.max(last ?? 0, t);
  });
  const asIso = (t: number): string | null => {
    const d = new Date(t);
    return Number.isNaN(d.getTime()) ? null : d.toISOString();
  };
  if (last !== undefined && last > 0) return asIso(last);
  const headerTime = typeof session.header.timestamp === "string" ? new Date(session.header.timestamp).getTime() : NaN;
  if (!Number.isNaN(headerTime)) return asIso(headerTime);
  try {
    return (await stat(file)).mtime.toISOString();
  } catch {
    return null;
  }
}

export function renderInfo(info: SessionInfo): string[] {
  const dash = (v: string | null): string => v ?? "-";
  const d = info.diagnostics;
  const diag =
    d.count === 0
      ? "none"
      : `${d.count} (${Object.entries(d.summary)
          .map(([code, n]) => `${code} ${n}`)
          .join(", ")})`;
  const rows: [string, string][] = [
    ["file", info.file],
    ["id", info.id],
    ["version", info.version >= 3 ? String(info.version) : `${info.version} (read as 3; \`sessfmt upgrade\` rewrites it)`],
    ["dialect", info.dialect],
    ["cwd", dash(info.cwd)],
    ["created", dash(info.created)],
    ["modified", dash(info.modified)],
    ["parent session", dash(info.parentSession)],
    ["name", dash(info.name)],
    ["entries", String(info.entryCount)],
    ["messages", String(info.messageCount)],
    ["leaf", dash(info.leafId)],
    ["branch points", String(info.branchPointCount)],
    ["leaves", String(info.leafCount)],
    ["labels", String(info.labelCount)],
    ["size", formatSize(info.size)],
    ["diagnostics", diag],
  ];
  const p = info.partial;
  if (p) rows.push(["loaded", `${p.loaded} of ${p.entries} entries (--mode ${p.mode}): the counts above are over these only`]);
  return keyValueLines(rows);
}
