import { CURRENT_SESSION_VERSION, SessfmtError, generateEntryId, type NewEntry, type PreparedEntry, type Session } from "../format/index.js";
import { checkNewEntry, prepareEntry, serializeEntry } from "../format/new-entry.js";

/** New entries, ready to be stored after a session's last line. */
export interface AppendPlan {
  entries: PreparedEntry[];
  /** Their JSON lines, without line ends. */
  lines: string[];
  /** The session's message count and name once the entries are in. */
  messageCount: number;
  name: string | undefined;
}

/**
 * The rules SessionWriter applies to a JSONL append, for the stores that keep lines
 * elsewhere (memory, SQLite): version 3 only; the first parent is `parentId` (default
 * the leaf a fresh open has, the last entry) and must exist; label targets must exist;
 * ids are fresh 8-hex ids; key order and dialect as the file's writer would have them.
 */
export function planAppend(session: Session, news: readonly NewEntry[], parentId: string | null | undefined, where: string): AppendPlan {
  if (session.version !== CURRENT_SESSION_VERSION) {
    throw new SessfmtError("E_UNSUPPORTED_VERSION", `session version ${session.version} cannot take version-3 appends; upgrade it first`, { file: where });
  }
  for (const e of news) checkNewEntry(e, where);
  const first = parentId === undefined ? session.leafId : parentId;
  if (first !== null && !session.tree.has(first)) {
    throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(first)}`, { file: where });
  }
  const batch = new Set<string>();
  const taken = { has: (id: string) => session.tree.has(id) || batch.has(id) };
  const entries: PreparedEntry[] = [];
  let parent = first;
  let messageCount = session.messageCount;
  let name = session.name;
  for (const e of news) {
    if (e.type === "label" && !taken.has(e.targetId as string)) {
      throw new SessfmtError("E_ENTRY_NOT_FOUND", `label target ${JSON.stringify(e.targetId)} is not an entry; nothing written`, { file: where });
    }
    const id = generateEntryId(taken);
    batch.add(id);
    entries.push(prepareEntry(e, id, parent, new Date().toISOString()));
    parent = id;
    if (e.type === "message") messageCount++;
    if (e.type === "session_info") name = typeof e.name === "string" ? e.name.trim() || undefined : undefined;
  }
  return { entries, lines: entries.map((e) => serializeEntry(e, session.dialect, where)), messageCount, name };
}
