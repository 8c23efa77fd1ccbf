import { createHash } from "node:crypto";
import type { EntryRecord } from "./record.js";
import type { SessionDiagnostic } from "./diagnostics.js";
import type { SessionEntry } from "./types.js";

/**
 * In-memory upgrade of legacy files to version 3, deterministic where pi's is not:
 * v1 ids are derived from the session id and the physical line (collision-checked),
 * parents chain the entries in file order, and a compaction's firstKeptEntryIndex is
 * read as a physical line index (the header is index 0), so skipped lines cannot shift
 * it. v2 only renames the message role "hookMessage" to "custom".
 */

/** Deterministic 8-hex id for the entry on `line`; extends the hash input until unused. */
export function legacyEntryId(sessionId: string, line: number, taken: ReadonlySet<string>): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const id = createHash("sha256").update(`${sessionId}\u0000${line}\u0000${attempt}`).digest("hex").slice(0, 8);
    if (!taken.has(id)) return id;
  }
  return createHash("sha256").update(`${sessionId}\u0000${line}`).digest("hex");
}

/** Per-record facts the v1 upgrade needs that only the full parse sees. */
export interface V1Facts {
  /** firstKeptEntryIndex of a compaction entry, when numeric. */
  firstKeptEntryIndex?: number;
}

/**
 * Assign ids and parents to the records of a v1 file, and map compaction indexes.
 * Returns diagnostics for indexes that do not name an entry's line.
 */
export function upgradeV1Records(
  sessionId: string,
  records: EntryRecord[],
  facts: Map<EntryRecord, V1Facts>,
  headerLine: number,
): SessionDiagnostic[] {
  const diags: SessionDiagnostic[] = [];
  // Like pi, v1 ids and parents are always assigned: v1 had one linear list.
  const taken = new Set<string>();
  let prev: string | null = null;
  for (const r of records) {
    const patch = r.legacy ?? { assignIds: false, dropFirstKeptEntryIndex: false, hookMessage: false };
    r.id = legacyEntryId(sessionId, r.line, taken);
    taken.add(r.id);
    r.parentId = prev;
    patch.assignIds = true;
    prev = r.id;
    r.legacy = patch;
  }
  // Index i means physical line headerLine + i (index 0 is the header itself).
  const byLine = records; // sorted by line
  for (const [r, f] of facts) {
    if (f.firstKeptEntryIndex === undefined) continue;
    const patch = r.legacy as NonNullable<EntryRecord["legacy"]>;
    patch.dropFirstKeptEntryIndex = true;
    if (!Number.isInteger(f.firstKeptEntryIndex) || f.firstKeptEntryIndex < 0) {
      // Not a line index at all (pi's entries[index] is undefined): nothing is kept.
      diags.push({
        code: "legacy_index",
        line: r.line,
        offset: r.offset,
        entryId: r.id,
        message: `firstKeptEntryIndex ${f.firstKeptEntryIndex} is not a line index; nothing before the compaction is kept`,
      });
      continue;
    }
    const target = headerLine + f.firstKeptEntryIndex;
    const found = firstAtOrAfter(byLine, target);
    if (found && found.index < r.index) {
      patch.firstKeptEntryId = found.id;
      if (found.line !== target) {
        diags.push({
          code: "legacy_index",
          line: r.line,
          offset: r.offset,
          entryId: r.id,
          message:
            f.firstKeptEntryIndex === 0
              ? `firstKeptEntryIndex 0 names the header; the kept range starts at the first entry (line ${found.line})`
              : `firstKeptEntryIndex ${f.firstKeptEntryIndex} names line ${target}, which holds no entry; using line ${found.line}`,
        });
      }
    } else {
      diags.push({
        code: "legacy_index",
        line: r.line,
        offset: r.offset,
        entryId: r.id,
        message: `firstKeptEntryIndex ${f.firstKeptEntryIndex} names no entry before the compaction; nothing before it is kept`,
      });
    }
  }
  return diags;
}

function firstAtOrAfter(records: EntryRecord[], line: number): EntryRecord | undefined {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((records[mid] as EntryRecord).line < line) lo = mid + 1;
    else hi = mid;
  }
  return records[lo];
}

/** Apply a record's legacy patch to its freshly parsed object (returns a new object). */
export function applyLegacyPatch(obj: Record<string, unknown>, r: EntryRecord): SessionEntry {
  const patch = r.legacy;
  if (!patch) return obj as SessionEntry;
  let out: Record<string, unknown> = obj;
  if (patch.assignIds) {
    const { type, id: _id, parentId: _parentId, ...rest } = obj;
    out = { type, id: r.id, parentId: r.parentId, ...rest };
  }
  if (patch.dropFirstKeptEntryIndex) {
    const { firstKeptEntryIndex: _dropped, ...rest } = out;
    out = patch.firstKeptEntryId !== undefined ? { ...rest, firstKeptEntryId: patch.firstKeptEntryId } : rest;
  }
  if (patch.hookMessage) {
    const message = out.message as Record<string, unknown>;
    out = { ...out, message: { ...message, role: "custom" } };
  }
  return out as SessionEntry;
}
