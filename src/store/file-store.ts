import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { SessfmtError, defaultSessionsRoot, isSessfmtError, type NewEntry, type Session } from "../format/index.js";
import { ioError } from "../format/errors.js";
import { BaseSessionStore, type LoadedSession, type SessionLocation, type SummarizedSession } from "./base-store.js";
import { SessionFileLayout, type FileLayoutOptions, type LaidOutFile } from "./file-layout.js";
import { summarizeSession, type SessionSummary } from "./summary.js";
import type { SessionStoreOptions } from "./types.js";

export interface FileSessionStoreOptions extends SessionStoreOptions {
  /** Sessions root (default defaultSessionsRoot(): $PI_CODING_AGENT_DIR/sessions or ~/.pi/agent/sessions). */
  root?: string;
}

/**
 * What the JSONL and SQLite stores share: one file per session in pi's layout under a
 * root (SessionFileLayout: ids to files, archive moves, deletes) and list() summaries
 * cached per file while its fingerprint stays the same. Subclasses say how a file is
 * read, created and appended to.
 */
export abstract class FileSessionStore extends BaseSessionStore {
  readonly root: string;
  protected readonly layout: SessionFileLayout;
  private readonly summaryCache = new Map<string, { fingerprint: string; summary: SessionSummary }>();

  constructor(opts: FileSessionStoreOptions, layout: FileLayoutOptions) {
    super(opts);
    this.layout = new SessionFileLayout(opts.root ?? defaultSessionsRoot(), layout);
    this.root = this.layout.root;
  }

  protected abstract openFile(file: string): Promise<Session>;
  /** Create `file` (exclusively) holding `jsonl`. */
  protected abstract createFile(file: string, jsonl: Buffer, session: Session): Promise<void>;
  protected abstract appendToFile(file: string, entries: readonly NewEntry[], parentId: string | null | undefined): Promise<string[]>;
  protected abstract fileJsonl(file: string): Promise<Buffer>;
  /** Changes whenever the session's content may have changed (size and mtime of what holds it). */
  protected abstract fingerprint(file: string): Promise<string>;
  /** Release what the store holds open on a file about to move or go. */
  protected async letGo(_file: string): Promise<void> {}

  protected async locate(id: string): Promise<SessionLocation> {
    const f = await this.layout.find(id);
    return { location: f.file, archived: f.archived };
  }

  protected async read(id: string): Promise<LoadedSession> {
    for (let attempt = 0; ; attempt++) {
      const f = await this.layout.find(id);
      try {
        const session = await this.openFile(f.file);
        const mtime = await stat(f.file).then((s) => s.mtime, () => undefined);
        const loaded: LoadedSession = { session, location: f.file, archived: f.archived };
        if (mtime) loaded.mtime = mtime;
        return loaded;
      } catch (err) {
        // Moved (say, archived by another process) between find and open: look again, once.
        if (attempt > 0 || !isSessfmtError(err, "E_NOT_FOUND")) throw err;
        this.layout.forget(id);
      }
    }
  }

  protected async write(jsonl: Buffer, session: Session): Promise<string> {
    this.assertOpen();
    await this.assertNew(session.id);
    const h = session.header;
    const time = typeof h.timestamp === "string" ? Date.parse(h.timestamp) : NaN;
    const timestamp = (Number.isNaN(time) ? new Date() : new Date(time)).toISOString();
    const file = this.layout.newFile(session.id, timestamp, typeof h.cwd === "string" ? h.cwd : "", session.dialect);
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(err, dirname(file), "cannot create the session directory");
    }
    await this.createFile(file, jsonl, session);
    this.layout.remember(session.id, { file, archived: false });
    return file;
  }

  protected async appendEntries(id: string, entries: readonly NewEntry[], parentId: string | null | undefined): Promise<string[]> {
    return this.appendToFile((await this.layout.find(id)).file, entries, parentId);
  }

  protected async readJsonl(id: string): Promise<Buffer> {
    return this.fileJsonl((await this.layout.find(id)).file);
  }

  protected async summaries(onError: (err: SessfmtError, location: string) => void): Promise<SummarizedSession[]> {
    const out: SummarizedSession[] = [];
    const seen = new Set<string>();
    for (const f of await this.layout.files()) {
      seen.add(f.file);
      try {
        out.push({ location: f.file, archived: f.archived, summary: await this.summary(f) });
      } catch (err) {
        if (!isSessfmtError(err)) throw err;
        onError(err, f.file);
      }
    }
    for (const file of this.summaryCache.keys()) if (!seen.has(file)) this.summaryCache.delete(file);
    return out;
  }

  private async summary(f: LaidOutFile): Promise<SessionSummary> {
    const fingerprint = await this.fingerprint(f.file);
    const cached = this.summaryCache.get(f.file);
    if (cached && cached.fingerprint === fingerprint) return cached.summary;
    const mtime = await stat(f.file).then((s) => s.mtime, () => undefined);
    const summary = summarizeSession(await this.openFile(f.file), mtime);
    this.summaryCache.set(f.file, { fingerprint, summary });
    this.layout.remember(summary.id, f);
    return summary;
  }

  protected async setArchived(id: string, archived: boolean): Promise<string> {
    const f = await this.layout.find(id);
    await this.letGo(f.file);
    return this.layout.move(id, f, archived);
  }

  protected async remove(id: string): Promise<string> {
    const f = await this.layout.find(id);
    await this.letGo(f.file);
    await this.layout.remove(id, f);
    return f.file;
  }

  /** E_EXISTS when the store already has a session with this id. */
  protected async assertNew(id: string): Promise<void> {
    let found: LaidOutFile | undefined;
    try {
      found = await this.layout.find(id);
    } catch (err) {
      if (!isSessfmtError(err, "E_NOT_FOUND")) throw err;
    }
    if (found) throw new SessfmtError("E_EXISTS", `session ${id} already exists`, { file: found.file });
  }
}

/** "size:mtimeMs" of a file, or "-" when it is not there. */
export async function statFingerprint(file: string): Promise<string> {
  try {
    const st = await stat(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return "-";
  }
}
