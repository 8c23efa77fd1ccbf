import { SessfmtError } from "./errors.js";
import type { AgentMessage, ContentBlock, EntryBase, SessionDialect } from "./types.js";

/**
 * Entries on their way into a file: what callers hand over (NewEntry, without the
 * fields the writer fills), how the writer lays them out as JSON, and the builders the
 * typed helpers of SessionWriter and AutosaveQueue share (one place for pi's field rules).
 */

/** An entry without id, parentId and timestamp; `type` is required, everything else is kept. */
export interface NewEntry {
  type: string;
  id?: never;
  parentId?: never;
  timestamp?: never;
  [key: string]: unknown;
}

/** An entry with every field filled, ready to be written. */
export type PreparedEntry = EntryBase;

const FILLED = ["id", "parentId", "timestamp"] as const;

/** Check a NewEntry before anything is assigned to it; throws E_INVALID_ENTRY. */
export function checkNewEntry(entry: NewEntry, file?: string): void {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw new SessfmtError("E_INVALID_ENTRY", "an entry must be an object", { file });
  }
  if (typeof entry.type !== "string" || entry.type.length === 0) {
    throw new SessfmtError("E_INVALID_ENTRY", 'an entry needs a non-empty string "type"', { file });
  }
  if (entry.type === "session") {
    throw new SessfmtError("E_INVALID_ENTRY", 'type "session" is the header; it cannot be appended', { file });
  }
  for (const k of FILLED) {
    if (Object.hasOwn(entry, k) && entry[k] !== undefined) {
      throw new SessfmtError("E_INVALID_ENTRY", `"${k}" is assigned by the writer; leave it out`, { file });
    }
  }
  if (entry.type === "message") {
    const m = entry.message as { role?: unknown } | null | undefined;
    if (m === null || typeof m !== "object" || Array.isArray(m) || typeof m.role !== "string") {
      throw new SessfmtError("E_INVALID_ENTRY", 'a message entry needs a "message" object with a string "role"', { file });
    }
    if (m.role === "compactionSummary" || m.role === "branchSummary") {
      // They exist only in built context; the file holds compaction / branch_summary entries.
      throw new SessfmtError("E_INVALID_ENTRY", `role ${m.role} is built from entries, never stored; use appendCompaction / branchWithSummary`, { file });
    }
  }
  if (entry.type === "label" && typeof entry.targetId !== "string") {
    throw new SessfmtError("E_INVALID_ENTRY", 'a label entry needs a string "targetId"', { file });
  }
}

/** Fill id, parentId and timestamp, in the key order every writer uses. */
export function prepareEntry(entry: NewEntry, id: string, parentId: string | null, timestamp: string): PreparedEntry {
  const { type, id: _i, parentId: _p, timestamp: _t, ...rest } = entry;
  return { type, id, parentId, timestamp, ...rest };
}

/**
 * One JSON line (without "\n"): type, id, parentId, timestamp, then the other keys in
 * their order. The Rust dialect omits a null parentId, as the Rust writer does.
 * Throws E_INVALID_ENTRY for values JSON cannot hold (BigInt, cycles).
 */
export function serializeEntry(e: PreparedEntry, dialect: SessionDialect, file?: string): string {
  const { type, id, parentId, timestamp, ...rest } = e;
  const head: Record<string, unknown> = dialect === "rust" && parentId === null ? { type, id } : { type, id, parentId };
  head.timestamp = timestamp;
  try {
    return JSON.stringify(Object.assign(head, rest));
  } catch (err) {
    throw new SessfmtError("E_INVALID_ENTRY", `entry ${JSON.stringify(id)} cannot be written as JSON: ${(err as Error).message}`, { file, cause: err });
  }
}

// ---- builders for the typed helpers (field order as pi writes them) ----

export function messageEntry(message: AgentMessage): NewEntry {
  return { type: "message", message };
}

export function thinkingLevelEntry(thinkingLevel: string): NewEntry {
  return { type: "thinking_level_change", thinkingLevel };
}

export function modelChangeEntry(provider: string, modelId: string): NewEntry {
  return { type: "model_change", provider, modelId };
}

export function compactionEntry(summary: string, firstKeptEntryId: string, tokensBefore: number, details?: unknown, fromHook?: boolean): NewEntry {
  return { type: "compaction", summary, firstKeptEntryId, tokensBefore, details, fromHook };
}

export function customEntry(customType: string, data?: unknown): NewEntry {
  return { type: "custom", customType, data };
}

export function customMessageEntry(customType: string, content: string | ContentBlock[], display: boolean, details?: unknown): NewEntry {
  return { type: "custom_message", customType, content, display, details };
}

export function sessionInfoEntry(name: string): NewEntry {
  return { type: "session_info", name: name.trim() };
}

export function labelEntry(targetId: string, label?: string): NewEntry {
  return { type: "label", targetId, label };
}

/** branch_summary: fromId is the branch point, or "root" when branching from before the first entry (as pi). */
export function branchSummaryEntry(fromId: string | null, summary: string, details?: unknown, fromHook?: boolean): NewEntry {
  return { type: "branch_summary", fromId: fromId ?? "root", summary, details, fromHook };
}
