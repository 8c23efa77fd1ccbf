import { readFile } from "node:fs/promises";
import { parseRecordObject } from "./record-line.js";
import { ioError } from "../format/errors.js";
import { checkLedgerEvent, type MigrationErrorClass, type MigrationEvent, type MigrationOutcome } from "../v2/index.js";
import { readRange } from "../v2/source-file.js";
import { appendDurably, statMaybe } from "./fs.js";

/**
 * The migration history: `<stem>.v2.history.ndjson` beside the JSONL, sessfmt's durable
 * record of what happened to sidecars that no longer exist, so that `status` can say it
 * afterwards. A sidecar's own ledger lives inside it and goes with it; this file keeps:
 *
 * - `rollback`: a sidecar was removed (with the removed sidecar's whole ledger);
 * - `migration_failed`: a migration failed before its sidecar existed (with the ledger
 *   events it had written in its staging directory, `failed` last);
 * - `recover`: recover removed or restored something (what, and the ledgers it removed).
 *
 * One compact JSON record per line, append-only, each appended with one write and fsync.
 */

export const HISTORY_SCHEMA = "sessfmt.migration_history.v1";
export const HISTORY_ACTIONS = ["rollback", "migration_failed", "recover"] as const;
export type HistoryAction = (typeof HISTORY_ACTIONS)[number];

export interface HistoryRecord {
  schema: string;
  at: string;
  action: HistoryAction;
  /** The migration (or rollback / recovery) this record is about: a UUID. */
  migrationId: string;
  /** The JSONL file. */
  sourcePath: string;
  /** The sidecar root. */
  targetPath: string;
  outcome: MigrationOutcome;
  errorClass?: MigrationErrorClass;
  /** One line saying what happened. */
  message: string;
  /** The removed sidecar, as its manifest and index described it. */
  sidecar?: { entries: number; segments: number; bytes: number; chainHash?: string };
  /** Ledger events that would otherwise be lost with their directory. */
  ledger: MigrationEvent[];
}

const KEYS = ["schema", "at", "action", "migrationId", "sourcePath", "targetPath", "outcome", "errorClass", "message", "sidecar", "ledger"] as const;

export function encodeHistoryRecord(r: HistoryRecord): string {
  const o: Record<string, unknown> = {};
  for (const k of KEYS) if (r[k] !== undefined) o[k] = r[k];
  return `${JSON.stringify(o)}\n`;
}

export function decodeHistoryRecord(text: string): { ok: true; value: HistoryRecord } | { ok: false; message: string } {
  const parsed = parseRecordObject(text, HISTORY_SCHEMA);
  if (!parsed.ok) return parsed;
  const r = parsed.value;
  if (!(HISTORY_ACTIONS as readonly unknown[]).includes(r.action)) return { ok: false, message: `unknown action ${JSON.stringify(r.action)}` };
  for (const k of ["at", "migrationId", "sourcePath", "targetPath", "outcome", "message"]) if (typeof r[k] !== "string") return { ok: false, message: `${k} is not a string` };
  if (!Array.isArray(r.ledger)) return { ok: false, message: "ledger is not an array" };
  for (const e of r.ledger) {
    const c = checkLedgerEvent(e);
    if (!c.ok) return { ok: false, message: `ledger event: ${c.message}` };
  }
  return { ok: true, value: r as unknown as HistoryRecord };
}

export interface HistoryRead {
  records: HistoryRecord[];
  /** Lines that do not decode (1-based). A torn last line is one of them. */
  problems: { line: number; message: string }[];
}

export async function readHistory(path: string): Promise<HistoryRead> {
  const out: HistoryRead = { records: [], problems: [] };
  if (!(await statMaybe(path))) return out;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw ioError(err, path, "cannot read the migration history");
  }
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    if (i === lines.length - 1) {
      out.problems.push({ line: i + 1, message: "last line has no line end (torn append)" });
      return;
    }
    const d = decodeHistoryRecord(line);
    if (d.ok) out.records.push(d.value);
    else out.problems.push({ line: i + 1, message: d.message });
  });
  return out;
}

/** Append one record durably. A torn last line (a crash mid-append) is ended first, never glued to. */
export async function appendHistory(path: string, r: HistoryRecord): Promise<void> {
  const st = await statMaybe(path);
  let prefix = "";
  if (st && st.size > 0) {
    const last = await readRange(path, st.size - 1, 1, { noFollow: true });
    if (last[0] !== 0x0a) prefix = "\n";
  }
  await appendDurably(path, prefix + encodeHistoryRecord(r));
}
