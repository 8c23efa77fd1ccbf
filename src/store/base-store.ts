import {
  SessfmtError,
  generateSessionId,
  isSessfmtError,
  newSessionHeader,
  openSessionFromBuffer,
  type AgentMessage,
  type NewEntry,
  type Session,
  type SessionStoreKind,
} from "../format/index.js";
import { labelEntry, messageEntry, sessionInfoEntry } from "../format/new-entry.js";
import { branchedSessionBytes } from "./fork-bytes.js";
import { applyListQuery } from "./list-query.js";
import { summarizeSession, type SessionSummary } from "./summary.js";
import type {
  CreateStoredSessionOptions,
  ForkFrom,
  SessionListQuery,
  SessionStore,
  SessionStoreOptions,
  StoreAppendOptions,
  StoreEvent,
  StoreForkOptions,
  StoreListener,
  StoreOp,
  StoredSessionInfo,
  StoreWriteOp,
} from "./types.js";

/** Where a backend keeps one session. */
export interface SessionLocation {
  location: string;
  archived: boolean;
}

/** A session as a backend read it. */
export interface LoadedSession extends SessionLocation {
  session: Session;
  /** The file's mtime, for pi's last-resort `modified`. */
  mtime?: Date;
}

/** A session's summary as list() needs it. */
export interface SummarizedSession extends SessionLocation {
  summary: SessionSummary;
}

/**
 * The store protocol over a few backend primitives. Everything that decides what a
 * session holds (append rules, forks, names, labels, auto names, list filters) is here
 * once, so every backend keeps the same trees; backends only decide where bytes live.
 */
export abstract class BaseSessionStore implements SessionStore {
  abstract readonly kind: SessionStoreKind;
  private readonly listeners = new Set<StoreListener>();
  protected closed = false;

  constructor(opts: SessionStoreOptions = {}) {
    if (opts.onEvent) this.listeners.add(opts.onEvent);
  }

  // ---- backend primitives ----

  /** Where the session is; E_NOT_FOUND when the store has none with that id. */
  protected abstract locate(id: string): Promise<SessionLocation>;
  protected abstract read(id: string): Promise<LoadedSession>;
  /** Store a new session's bytes (already validated as `session`); E_EXISTS if the id is taken. Returns the location. */
  protected abstract write(jsonl: Buffer, session: Session): Promise<string>;
  /** Append after the session's last line, under whatever lock the backend has. Returns the new ids. */
  protected abstract appendEntries(id: string, entries: readonly NewEntry[], parentId: string | null | undefined): Promise<string[]>;
  protected abstract readJsonl(id: string): Promise<Buffer>;
  /** Every session, summarised; sessions that cannot be read are reported to `onError` and left out. */
  protected abstract summaries(onError: (err: SessfmtError, location: string) => void): Promise<SummarizedSession[]>;
  /** Move in or out of the archive; returns the new location. */
  protected abstract setArchived(id: string, archived: boolean): Promise<string>;
  /** Remove for good; returns the old location. */
  protected abstract remove(id: string): Promise<string>;
  protected abstract release(): Promise<void>;

  /** A branched copy of `source` up to `leafId`, stored under `id`; returns its location. */
  protected async writeFork(source: LoadedSession, leafId: string, id: string, now: Date): Promise<string> {
    const bytes = await branchedSessionBytes(source.session, leafId, { id, now, parentSession: source.location });
    return this.write(bytes, openSessionFromBuffer(bytes, { name: source.location }));
  }

  // ---- the protocol ----

  on(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  create(opts: CreateStoredSessionOptions): Promise<StoredSessionInfo> {
    return this.run("create", opts.id, async () => {
      if (typeof opts.cwd !== "string") throw new SessfmtError("E_INVALID_ARGUMENT", "create needs a cwd string");
      if (opts.id !== undefined && (typeof opts.id !== "string" || opts.id.length === 0)) {
        throw new SessfmtError("E_INVALID_ARGUMENT", "session id must be a non-empty string");
      }
      const now = opts.now ?? new Date();
      if (Number.isNaN(now.getTime())) throw new SessfmtError("E_INVALID_ARGUMENT", "`now` is not a valid date");
      const header = newSessionHeader({ id: opts.id ?? generateSessionId(now.getTime()), timestamp: now.toISOString(), cwd: opts.cwd, parentSession: opts.parentSession });
      const bytes = Buffer.from(`${JSON.stringify(header)}\n`, "utf8");
      const session = openSessionFromBuffer(bytes);
      const location = await this.write(bytes, session);
      this.emit({ type: "save", op: "create", sessionId: header.id, location, entryIds: [] });
      return toInfo(summarizeSession(session), location, false);
    });
  }

  load(id: string): Promise<Session> {
    return this.run("load", id, async () => {
      const loaded = await this.read(id);
      this.emit({ type: "load", sessionId: id, location: loaded.location });
      return loaded.session;
    });
  }

  async loadMostRecent(query: SessionListQuery = {}): Promise<Session | undefined> {
    const [first] = await this.list({ ...query, limit: 1 });
    return first ? this.load(first.id) : undefined;
  }

  info(id: string): Promise<StoredSessionInfo> {
    return this.run("load", id, async () => {
      const loaded = await this.read(id);
      return toInfo(summarizeSession(loaded.session, loaded.mtime), loaded.location, loaded.archived);
    });
  }

  list(query: SessionListQuery = {}): Promise<StoredSessionInfo[]> {
    return this.run("list", undefined, async () => {
      const all = await this.summaries((error, location) => this.emit({ type: "error", op: "list", location, error }));
      return applyListQuery(
        all.map((s) => toInfo(s.summary, s.location, s.archived)),
        query,
      );
    });
  }

  append(id: string, entries: readonly NewEntry[], opts: StoreAppendOptions = {}): Promise<string[]> {
    return this.writeOp("append", id, () => this.appendEntries(id, entries, opts.parentId));
  }

  async appendMessage(id: string, message: AgentMessage, opts: StoreAppendOptions = {}): Promise<string> {
    const [entryId] = await this.append(id, [messageEntry(message)], opts);
    return entryId as string;
  }

  save(jsonl: Buffer | string): Promise<StoredSessionInfo> {
    return this.run("save", undefined, async () => {
      const bytes = typeof jsonl === "string" ? Buffer.from(jsonl, "utf8") : Buffer.from(jsonl);
      const session = openSessionFromBuffer(bytes);
      const location = await this.write(bytes, session);
      this.emit({ type: "save", op: "save", sessionId: session.id, location, entryIds: session.records.map((r) => r.id) });
      return toInfo(summarizeSession(session), location, false);
    });
  }

  exportJsonl(id: string): Promise<Buffer> {
    return this.run("export", id, () => this.readJsonl(id));
  }

  fork(id: string, from: ForkFrom, opts: StoreForkOptions = {}): Promise<StoredSessionInfo> {
    return this.run("fork", id, async () => {
      this.assertOpen();
      const source = await this.read(id);
      const leafId = forkLeaf(source.session, from, source.location);
      const now = opts.now ?? new Date();
      const newId = opts.id ?? generateSessionId(now.getTime());
      const location = await this.writeFork(source, leafId, newId, now);
      const info = await this.info(newId);
      this.emit({ type: "save", op: "fork", sessionId: newId, location, entryIds: [] });
      return info;
    });
  }

  async rename(id: string, name: string): Promise<string> {
    if (typeof name !== "string") throw new SessfmtError("E_INVALID_ARGUMENT", "a session name must be a string");
    const [entryId] = await this.writeOp("rename", id, () => this.appendEntries(id, [sessionInfoEntry(name)], undefined));
    return entryId as string;
  }

  async label(id: string, targetId: string, label?: string): Promise<string> {
    const [entryId] = await this.writeOp("label", id, () => this.appendEntries(id, [labelEntry(targetId, label)], undefined));
    return entryId as string;
  }

  async autoName(id: string, opts: { write?: boolean } = {}): Promise<string | undefined> {
    const info = await this.info(id);
    if (info.name !== undefined) return info.name;
    if (opts.write && info.autoName !== undefined) await this.rename(id, info.autoName);
    return info.autoName;
  }

  archive(id: string): Promise<void> {
    return this.move("archive", id, true);
  }

  unarchive(id: string): Promise<void> {
    return this.move("unarchive", id, false);
  }

  delete(id: string): Promise<void> {
    return this.run("delete", id, async () => {
      this.assertOpen();
      const location = await this.remove(id);
      this.emit({ type: "save", op: "delete", sessionId: id, location, entryIds: [] });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }

  // ---- internals ----

  protected assertOpen(): void {
    if (this.closed) throw new SessfmtError("E_CLOSED", `the ${this.kind} session store is closed`);
  }

  private move(op: "archive" | "unarchive", id: string, archived: boolean): Promise<void> {
    return this.run(op, id, async () => {
      this.assertOpen();
      const where = await this.locate(id);
      if (where.archived === archived) return; // already there: idempotent
      const location = await this.setArchived(id, archived);
      this.emit({ type: "save", op, sessionId: id, location, entryIds: [] });
    });
  }

  /** An append-like write: refused on archived sessions, reported with the new ids. */
  private writeOp(op: StoreWriteOp, id: string, fn: () => Promise<string[]>): Promise<string[]> {
    return this.run(op, id, async () => {
      this.assertOpen();
      const where = await this.locate(id);
      if (where.archived) throw new SessfmtError("E_ARCHIVED", `session ${id} is archived; unarchive it before writing`, { file: where.location });
      const ids = await fn();
      this.emit({ type: "save", op, sessionId: id, location: where.location, entryIds: ids });
      return ids;
    });
  }

  private async run<T>(op: StoreOp, sessionId: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const error = isSessfmtError(err) ? err : new SessfmtError("E_IO", `${op} failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
      this.emit(sessionId === undefined ? { type: "error", op, error } : { type: "error", op, sessionId, error });
      throw error;
    }
  }

  protected emit(event: StoreEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not turn a completed store operation into a failed one.
      }
    }
  }
}

function toInfo(s: SessionSummary, location: string, archived: boolean): StoredSessionInfo {
  const info: StoredSessionInfo = {
    id: s.id,
    location,
    cwd: s.cwd,
    modified: s.modified,
    entryCount: s.entryCount,
    messageCount: s.messageCount,
    archived,
  };
  if (s.name !== undefined) info.name = s.name;
  if (s.autoName !== undefined) info.autoName = s.autoName;
  if (s.created !== undefined) info.created = s.created;
  if (s.parentSession !== undefined) info.parentSession = s.parentSession;
  return info;
}

/** The entry a fork ends at. */
function forkLeaf(session: Session, from: ForkFrom, where: string): string {
  if ("entryId" in from) {
    if (!session.tree.has(from.entryId)) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(from.entryId)}`, { file: where });
    return from.entryId;
  }
  if (!Number.isInteger(from.messageIndex)) throw new SessfmtError("E_INVALID_ARGUMENT", "messageIndex must be an integer");
  const leaf = from.leafId ?? session.leafId;
  if (from.leafId !== undefined && !session.tree.has(from.leafId)) {
    throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(from.leafId)}`, { file: where });
  }
  const messages = session.tree.pathToRoot(leaf).filter((r) => r.type === "message");
  const at = messages.at(from.messageIndex);
  if (!at) {
    throw new SessfmtError("E_ENTRY_NOT_FOUND", `message index ${from.messageIndex} is out of range (the path has ${messages.length} messages)`, { file: where });
  }
  return at.id;
}

/** The list() summary of a loaded session (shared by the backends). */
export function summarizeLoaded(l: LoadedSession): SummarizedSession {
  return { location: l.location, archived: l.archived, summary: summarizeSession(l.session, l.mtime) };
}
