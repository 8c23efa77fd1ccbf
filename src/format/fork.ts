import { mkdir } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { SessfmtError, ioError } from "./errors.js";
import { writeFileExclusive, type AtomicOutput } from "./atomic.js";
import { DEFAULT_DURABILITY, type AutosaveDurabilityMode } from "./durability.js";
import { generateEntryId, generateSessionId } from "./ids.js";
import { childPath, sessionFileName } from "./paths.js";
import { newSessionHeader } from "./create.js";
import { serializeEntry } from "./new-entry.js";
import type { EntryRecord } from "./record.js";
import type { Session } from "./session.js";
import { CURRENT_SESSION_VERSION, type EntryBase } from "./types.js";

export interface BranchedSessionOptions {
  /** Directory of the new file (default: the source file's directory). */
  dir?: string;
  /** Id of the new session (default a fresh UUIDv7). */
  id?: string;
  /** Creation time (default now). */
  now?: Date;
  /** "throughput" skips the fsyncs (default "balanced": file and directory fsynced). */
  durability?: AutosaveDurabilityMode;
  signal?: AbortSignal;
}

export interface BranchedSession {
  file: string;
  sessionId: string;
  /** The new session's leaf: the last entry written (a label entry when labels were re-created). */
  leafId: string | null;
  /** Entries copied from the source path. */
  copiedEntries: number;
  /** Label entries re-created after them. */
  labels: number;
  /** Copied entries whose parent was a dropped label entry, re-pointed at the previous path entry. */
  reparented: number;
}

/**
 * pi's createBranchedSession, as a new file: the path from the root to `leafId` without
 * its label entries, under a new header (new id, parentSession = the source file; Rust
 * dialect: branchedFrom), then one label entry per label on a path entry (new ids,
 * chained after the last path entry, the timestamps of the label entries that set them).
 * Copied entries keep their exact bytes (entries of a legacy source are written as
 * upgraded to version 3), except the parentId of an entry whose parent was a dropped
 * label entry: it is re-pointed at the previous path entry, so the context survives the
 * fork (pi leaves the link dangling and loses everything before the label). The file
 * appears complete or not at all, mode 0600, and never replaces an existing file.
 */
export async function createBranchedSession(session: Session, leafId: string, opts: BranchedSessionOptions = {}): Promise<BranchedSession> {
  const path = session.tree.pathToRoot(leafId);
  if (path.length === 0) {
    throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(leafId)}`, { file: session.file });
  }
  return writeBranch(session, path.filter((r) => r.type !== "label"), opts);
}

/** Result of forking at a user message: the new session plus the message text to edit. */
export interface ForkResult extends BranchedSession {
  /** The user message's text (for the editor, as pi's /fork offers it). */
  text: string;
}

/**
 * pi's /fork at a user message: a new session holding the path up to the message's
 * parent (an empty session when the message is a root), labels re-created as in
 * createBranchedSession; the message text is returned for re-editing.
 */
export async function forkFromUserMessage(session: Session, userMessageEntryId: string, opts: BranchedSessionOptions = {}): Promise<ForkResult> {
  const plan = session.forkPlan(userMessageEntryId);
  const records = plan.entryIds.map((id) => session.tree.get(id) as EntryRecord);
  const result = await writeBranch(session, records, opts);
  return { ...result, text: plan.text };
}

/** Replay label records in file order (last wins, empty clears), keeping the setter's timestamp. */
function labelTimestamps(session: Session): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of session.records) {
    if (r.type !== "label" || r.targetId === undefined) continue;
    if (r.label) out.set(r.targetId, r.timestamp);
    else out.delete(r.targetId);
  }
  return out;
}

async function writeBranch(session: Session, path: readonly EntryRecord[], opts: BranchedSessionOptions): Promise<BranchedSession> {
  const source = session.file;
  const dir = resolve(opts.dir ?? (source ? dirname(source) : ""));
  if (opts.dir === undefined && !source) {
    throw new SessfmtError("E_INVALID_ARGUMENT", "the session was opened from memory; give a directory for the branched session");
  }
  const dialect = session.dialect;
  const now = opts.now ?? new Date();
  const sessionId = opts.id ?? generateSessionId(now.getTime());
  const timestamp = now.toISOString();
  const header = newSessionHeader({
    id: sessionId,
    timestamp,
    cwd: typeof session.header.cwd === "string" ? session.header.cwd : "",
    parentSession: source ? resolve(source) : undefined,
    dialect,
  });

  const ids = new Set(path.map((r) => r.id));
  const stamps = labelTimestamps(session);
  const labels: EntryBase[] = [];
  let parentId: string | null = path.length > 0 ? (path[path.length - 1] as EntryRecord).id : null;
  for (const [targetId, label] of session.labels) {
    if (!ids.has(targetId)) continue;
    const id = generateEntryId(ids);
    ids.add(id);
    labels.push({ type: "label", id, parentId, timestamp: stamps.get(targetId) as string, targetId, label });
    parentId = id;
  }

  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(err, dir, "cannot create the session directory");
  }
  const file = childPath(dir, sessionFileName(sessionId, timestamp, dialect));
  const legacy = session.version < CURRENT_SESSION_VERSION;
  let reparented = 0;
  await writeFileExclusive(
    file,
    async (out: AtomicOutput) => {
      await out.write(`${JSON.stringify(header)}\n`);
      reparented = await copyPath(session, path, legacy, out);
      for (const l of labels) await out.write(`${serializeEntry(l, dialect)}\n`);
    },
    { durable: (opts.durability ?? DEFAULT_DURABILITY) !== "throughput", signal: opts.signal },
  );
  return { file, sessionId, leafId: parentId, copiedEntries: path.length, labels: labels.length, reparented };
}

const COPY_BATCH = 4096;

/**
 * Copy path entries: raw bytes for version 3, the upgraded object for legacy files.
 * An entry whose parent was a dropped label entry is re-pointed at the entry before it
 * on the path (only its parentId changes). pi keeps the dangling link, which makes the
 * forked session's context stop at that entry: everything before a label is lost.
 * Returns how many entries were re-pointed.
 */
async function copyPath(session: Session, path: readonly EntryRecord[], legacy: boolean, out: AtomicOutput): Promise<number> {
  let reparented = 0;
  const dialect = session.dialect;
  for (let i = 0; i < path.length; i += COPY_BATCH) {
    const slice = path.slice(i, i + COPY_BATCH);
    const fix = new Map<EntryRecord, string | null>();
    slice.forEach((r, k) => {
      const sourceParent = session.tree.parentOf(r);
      const keptParent = i + k === 0 ? null : (path[i + k - 1] as EntryRecord).id;
      if (sourceParent && sourceParent.id !== keptParent) fix.set(r, keptParent);
    });
    reparented += fix.size;
    const chunks: Buffer[] = [];
    if (legacy || fix.size > 0) {
      const entries = session.materialise(slice);
      const rawNeeded = legacy ? [] : slice.filter((r) => !fix.has(r));
      const raw = new Map<EntryRecord, Buffer>();
      session.forEachRaw(rawNeeded, (bytes, r) => raw.set(r, Buffer.from(bytes)));
      slice.forEach((r, k) => {
        const bytes = raw.get(r);
        if (bytes) {
          chunks.push(bytes, Buffer.from("\n"));
          return;
        }
        const e = entries[k] as EntryBase;
        const parentId = fix.has(r) ? (fix.get(r) as string | null) : (e.parentId ?? null);
        chunks.push(Buffer.from(`${serializeEntry({ ...e, parentId }, legacy ? "ts" : dialect)}\n`));
      });
    } else {
      session.forEachRaw(slice, (bytes) => {
        chunks.push(Buffer.from(bytes), Buffer.from("\n"));
      });
    }
    await out.write(Buffer.concat(chunks));
  }
  return reparented;
}
