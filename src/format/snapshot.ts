import type { Session } from "./session.js";
import type { SessionEntry, SessionHeader } from "./types.js";

/** A self-contained copy of a session: what a store needs to write it elsewhere. */
export interface ExportSnapshot {
  header: SessionHeader;
  /** Every entry in file order (legacy files: upgraded to version 3). */
  entries: SessionEntry[];
  leafId: string | null;
}

/**
 * Snapshot a session: header, every entry in file order, the current leaf. The objects
 * are deep copies, so changing them never changes the session (or a later snapshot).
 */
export function exportSnapshot(session: Session): ExportSnapshot {
  return {
    header: structuredClone(session.header),
    entries: structuredClone(session.entries()),
    leafId: session.leafId,
  };
}
