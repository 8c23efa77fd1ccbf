import { messageText } from "../format/index.js";
import type { CliIO } from "./io.js";

/** ANSI styling, or plain text when output is not a terminal (or NO_COLOR is set). */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  accent(s: string): string;
  warn(s: string): string;
  error(s: string): string;
}

const plain: Style = { bold: (s) => s, dim: (s) => s, accent: (s) => s, warn: (s) => s, error: (s) => s };

const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const ansi: Style = { bold: sgr(1, 22), dim: sgr(2, 22), accent: sgr(36, 39), warn: sgr(33, 39), error: sgr(31, 39) };

export function styleFor(io: CliIO): Style {
  const env = io.env ?? process.env;
  return io.isTTY && !env.NO_COLOR ? ansi : plain;
}

/** "key: value" lines with the values aligned in one column. */
export function keyValueLines(rows: ReadonlyArray<readonly [string, string]>): string[] {
  const width = Math.max(0, ...rows.map(([k]) => k.length)) + 2;
  return rows.map(([k, v]) => `${(k + ":").padEnd(width)}${v}`);
}

/** Collapse whitespace and cut to `max` characters (code points), marking the cut with "…". */
export function preview(text: string, max: number): string {
  if (max <= 0) return "";
  // Cheap pre-cut: a code point is at most 2 UTF-16 units.
  const need = max * 2 + 2;
  // A long text (a tool output of 200 KB) shows only its start: flatten a prefix that gives
  // more than `need` units once flattened (growing it while it is mostly whitespace). The
  // flattened prefix is the flattened text's start, and more follows, so the cut is the same.
  for (let k = 4 * need; k < text.length; k *= 4) {
    const f = text.slice(0, k).replace(/\s+/g, " ").trimStart();
    if (f.length > need + 1) return cut(f.slice(0, need), max);
  }
  const flat = text.replace(/\s+/g, " ").trim();
  const head = flat.length > need ? flat.slice(0, need) : flat;
  if (head.length === flat.length && Array.from(head).length <= max) return flat;
  return cut(head, max);
}

/** The first max - 1 code points of `head`, then "…". */
function cut(head: string, max: number): string {
  return Array.from(head).slice(0, Math.max(0, max - 1)).join("") + "…";
}

/** Byte count with a human unit, e.g. "974031 bytes (951.2 KiB)". */
export function formatSize(bytes: number): string {
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let unit = "";
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return unit ? `${bytes} bytes (${v.toFixed(1)} ${unit})` : `${bytes} bytes`;
}

/** Display width of an id in human output; full ids stay available in --json. */
export const SHORT_ID_LENGTH = 8;

export function shortId(id: string): string {
  return id.length <= SHORT_ID_LENGTH ? id : id.slice(0, SHORT_ID_LENGTH);
}

/** What an entry is ("user", "assistant", "compaction", ...) and a line of its text. */
export interface EntrySummary {
  kind: string;
  text: string;
}

type Obj = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** A one-line description of an entry, in the spirit of pi's tree view. */
export function summarizeEntry(e: Obj): EntrySummary {
  const type = str(e.type);
  switch (type) {
    case "message":
      return summarizeMessage((e.message ?? {}) as Obj);
    case "custom_message":
      return { kind: "custom_message", text: `[${str(e.customType)}] ${messageText(e.content)}` };
    case "compaction": {
      const tokens = typeof e.tokensBefore === "number" ? `${Math.round(e.tokensBefore / 1000)}k tokens` : "";
      return { kind: "compaction", text: [tokens, str(e.summary)].filter(Boolean).join(": ") };
    }
    case "branch_summary":
      return { kind: "branch_summary", text: str(e.summary) };
    case "model_change":
      return { kind: "model_change", text: `${str(e.provider)}/${str(e.modelId)}` };
    case "thinking_level_change":
      return { kind: "thinking_level_change", text: str(e.thinkingLevel) };
    case "label":
      return { kind: "label", text: `${str(e.targetId)} ${e.label ? `= ${JSON.stringify(e.label)}` : "(cleared)"}` };
    case "session_info":
      return { kind: "session_info", text: str(e.name) || "(no name)" };
    case "custom":
      return { kind: "custom", text: str(e.customType) };
    default:
      return { kind: type || "(no type)", text: "" };
  }
}

function summarizeMessage(m: Obj): EntrySummary {
  const role = str(m.role) || "(no role)";
  switch (role) {
    case "user":
      return { kind: "user", text: messageText(m.content) };
    case "assistant": {
      const text = messageText(m.content);
      if (text.trim()) return { kind: "assistant", text };
      const calls = toolCallNames(m.content);
      if (calls.length > 0) return { kind: "assistant", text: `→ ${calls.join(", ")}` };
      if (m.stopReason === "aborted") return { kind: "assistant", text: "(aborted)" };
      if (typeof m.errorMessage === "string") return { kind: "assistant", text: `error: ${m.errorMessage}` };
      return { kind: "assistant", text: "(no content)" };
    }
    case "toolResult":
      return { kind: "toolResult", text: `${str(m.toolName) || "tool"}${m.isError ? " (error)" : ""}: ${messageText(m.content)}` };
    case "bashExecution":
      return { kind: "bashExecution", text: `$ ${str(m.command)}` };
    case "custom":
    case "hookMessage":
      return { kind: role, text: `[${str(m.customType)}] ${messageText(m.content)}` };
    default:
      return { kind: role, text: messageText(m.content) };
  }
}

function toolCallNames(content: unknown): string[] {
  if (!Array.isArray(content)) return [];
  const out: string[] = [];
  for (const b of content) {
    if (b !== null && typeof b === "object" && (b as Obj).type === "toolCall") out.push(str((b as Obj).name) || "?");
  }
  return out;
}
