import type { AgentMessage, NewEntry, SessfmtError, Session, SessionStoreKind } from "../format/index.js";

/**
 * The session store protocol: one API over where sessions are kept (memory, a JSONL
 * directory in pi's layout, SQLite session files). Every backend holds the same pi
 * session trees, so a session moves between backends byte for byte (exportJsonl / save).
 */

/** One session as a store lists it. */
export interface StoredSessionInfo {
  id: string;
  /** Where the session lives: an absolute file path, or `memory:<id>` for the memory store. */
  location: string;
  /** The header's cwd ("" when the header has none). */
  cwd: string;
  /** The explicit name (latest session_info, trimmed). */
  name?: string;
  /** Only when there is no explicit name: derived from the first user message (never written). */
  autoName?: string;
  /** The header timestamp as ISO 8601 (undefined when it does not parse). */
  created?: string;
  /** Last user/assistant activity as pi's session list computes it, ISO 8601. */
  modified: string;
  /** parentSession (or the Rust writer's branchedFrom) of the header. */
  parentSession?: string;
  /** Entries in the session (every line that is an entry, all branches). */
  entryCount: number;
  /** `message` entries. */
  messageCount: number;
  /** Soft-deleted: listed only on request, still loadable. */
  archived: boolean;
}

/** Which sessions list() returns and in what order. */
export interface SessionListQuery {
  /** Sessions whose cwd is this directory or lies under it. */
  cwd?: string;
  /** Case-insensitive substring of the name (or, without one, of the auto name). */
  name?: string;
  /** Modified at or after (Date, or anything Date.parse reads). */
  since?: Date | string;
  /** Modified at or before. */
  until?: Date | string;
  /** "exclude" (default), "include" or "only" archived sessions. */
  archived?: "exclude" | "include" | "only";
  /** Default "modified". Ties are broken by id. */
  sort?: "modified" | "created" | "name";
  /** Default "desc" (newest first). */
  order?: "asc" | "desc";
  limit?: number;
}

export interface CreateStoredSessionOptions {
  cwd: string;
  /** Default a fresh UUIDv7. */
  id?: string;
  /** Default now: the header timestamp (and, for file stores, the file name). */
  now?: Date;
  parentSession?: string;
}

export interface StoreAppendOptions {
  /**
   * Parent of the first new entry: an entry id, or null for a new root. Default: the
   * session's leaf as it loads (its last entry in file order), as pi resumes a session.
   */
  parentId?: string | null;
}

/** Where a fork starts: the new session holds the path from the root to this entry. */
export type ForkFrom =
  | { entryId: string }
  /**
   * The n-th `message` entry (0-based; negative counts from the end) on the path from
   * the root to `leafId` (default: the session's leaf).
   */
  | { messageIndex: number; leafId?: string };

export interface StoreForkOptions {
  /** Id of the new session (default a fresh UUIDv7). */
  id?: string;
  now?: Date;
}

export type StoreWriteOp = "create" | "append" | "save" | "fork" | "rename" | "label" | "archive" | "unarchive" | "delete";
export type StoreOp = StoreWriteOp | "load" | "list" | "export";

/** What a store reports to its listeners. Listeners observe; errors are still thrown to the caller. */
export type StoreEvent =
  | { type: "load"; sessionId: string; location: string }
  | { type: "save"; op: StoreWriteOp; sessionId: string; location: string; entryIds: string[] }
  /** An operation failed, or list() passed over a session it could not read. */
  | { type: "error"; op: StoreOp; sessionId?: string; location?: string; error: SessfmtError };

export type StoreListener = (event: StoreEvent) => void;

export interface SessionStoreOptions {
  /** Called for every event (same as on()). */
  onEvent?: StoreListener;
}

/** A place that keeps pi sessions. Every method rejects with a SessfmtError. */
export interface SessionStore {
  readonly kind: SessionStoreKind;
  /** Write a new, empty session (its header). */
  create(opts: CreateStoredSessionOptions): Promise<StoredSessionInfo>;
  /** Open a session by id (archived ones too). E_NOT_FOUND when the store has none. */
  load(id: string): Promise<Session>;
  /** The session list() puts first (default: the most recently modified), or undefined. */
  loadMostRecent(query?: SessionListQuery): Promise<Session | undefined>;
  info(id: string): Promise<StoredSessionInfo>;
  list(query?: SessionListQuery): Promise<StoredSessionInfo[]>;
  /** Append entries as a chain (each the parent of the next); resolves with their ids. */
  append(id: string, entries: readonly NewEntry[], opts?: StoreAppendOptions): Promise<string[]>;
  appendMessage(id: string, message: AgentMessage, opts?: StoreAppendOptions): Promise<string>;
  /** Store a whole session given as JSONL bytes, exactly (invalid lines included). E_EXISTS if its id is taken. */
  save(jsonl: Buffer | string): Promise<StoredSessionInfo>;
  /** The session as JSONL bytes: what save() took, plus every append since. */
  exportJsonl(id: string): Promise<Buffer>;
  /** A new session holding the path up to `from` (labels re-created), parentSession = this session's location. */
  fork(id: string, from: ForkFrom, opts?: StoreForkOptions): Promise<StoredSessionInfo>;
  /** Append a session_info entry (trimmed; "" clears the name). Resolves with its id. */
  rename(id: string, name: string): Promise<string>;
  /** Append a label entry (undefined or "" clears). The target must exist. */
  label(id: string, targetId: string, label?: string): Promise<string>;
  /**
   * The session's name, or one derived from its first user message when it has none.
   * Written (as session_info) only with `write: true` and only when it had no name.
   */
  autoName(id: string, opts?: { write?: boolean }): Promise<string | undefined>;
  /** Soft delete: kept, loadable, listed only on request; writes are refused (E_ARCHIVED). */
  archive(id: string): Promise<void>;
  unarchive(id: string): Promise<void>;
  /** Remove the session for good (file stores: the file and its sidecar). */
  delete(id: string): Promise<void>;
  /** Subscribe to events; returns the unsubscribe function. */
  on(listener: StoreListener): () => void;
  /** Finish pending writes and release resources. Idempotent. */
  close(): Promise<void>;
}
