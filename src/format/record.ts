import type { SessionEntry } from "./types.js";

/**
 * One entry of an opened session, as the index keeps it: where its bytes are and the
 * few fields the tree needs. The full object is materialised only when asked for.
 */
export interface EntryRecord {
  /** Position among the session's entries, in file order. */
  index: number;
  /** 1-based physical line. */
  line: number;
  /** Byte offset of the line in the file. */
  offset: number;
  /** Bytes of the JSON text, without the line terminator. */
  length: number;
  /** Bytes of the terminator: 0 (torn last line), 1 ("\n"), 2 ("\r\n"). */
  eol: 0 | 1 | 2;
  type: string;
  id: string;
  /** Normalised: null for a root, whether the line said null, "" or nothing. */
  parentId: string | null;
  timestamp: string;
  /** message entries: message.role. */
  role?: string;
  /** label entries. */
  targetId?: string;
  label?: string;
  /** session_info entries (undefined when absent or not a string). */
  name?: string;
  /** Set for entries of v1/v2 files: what the in-memory upgrade to v3 changes. */
  legacy?: LegacyPatch;
  /** The materialised entry, when retained or already asked for. */
  value?: SessionEntry;
}

/** How an entry of a legacy (v1/v2) file becomes a v3 entry. */
export interface LegacyPatch {
  /** v1: id and parentId were assigned (deterministically, from the line number). */
  assignIds: boolean;
  /** v1 compaction: firstKeptEntryIndex mapped by physical line (undefined: none). */
  firstKeptEntryId?: string;
  /** v1 compaction: the entry had a numeric firstKeptEntryIndex to drop. */
  dropFirstKeptEntryIndex: boolean;
  /** v1/v2 message with role "hookMessage" (renamed "custom" in v3). */
  hookMessage: boolean;
}
