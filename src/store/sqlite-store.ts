import { openSessionFromBuffer, type NewEntry, type Session } from "../format/index.js";
import { planAppend } from "./append-plan.js";
import { exists } from "./file-layout.js";
import { FileSessionStore, statFingerprint, type FileSessionStoreOptions } from "./file-store.js";
import { appendToSqliteSessionFile, createSqliteSessionFile, readSqliteSessionFile, readSqliteSessionId } from "./sqlite-session-file.js";

export interface SqliteSessionStoreOptions extends FileSessionStoreOptions {
  /** fsync new files and their directory (default true). Appends are SQLite transactions (WAL). */
  durable?: boolean;
}

/**
 * Sessions as SQLite session files (`.sqlite`, the Rust port's tables plus sessfmt's
 * line layout; see sqlite-session-file.ts) in pi's layout:
 * `<root>/<encodeCwd(cwd)>/<timestamp>_<id>.sqlite`. Each operation opens the file,
 * works in one transaction (appends: BEGIN IMMEDIATE, busy_timeout) and closes it.
 */
export class SqliteSessionStore extends FileSessionStore {
  readonly kind = "sqlite" as const;
  private readonly durable: boolean;

  constructor(opts: SqliteSessionStoreOptions = {}) {
    super(opts, { ext: ".sqlite", readId: async (file) => readSqliteSessionId(file), companions: sqliteCompanions });
    this.durable = opts.durable ?? true;
  }

  protected async openFile(file: string): Promise<Session> {
    return openSessionFromBuffer(readSqliteSessionFile(file), { name: file });
  }

  protected async createFile(file: string, jsonl: Buffer): Promise<void> {
    await createSqliteSessionFile(file, jsonl, { durable: this.durable });
  }

  protected async appendToFile(file: string, entries: readonly NewEntry[], parentId: string | null | undefined): Promise<string[]> {
    return appendToSqliteSessionFile(file, (session) => planAppend(session, entries, parentId, file)).entries.map((e) => e.id);
  }

  protected async fileJsonl(file: string): Promise<Buffer> {
    return readSqliteSessionFile(file);
  }

  /** A commit may sit in the -wal file until a checkpoint: both make the fingerprint. */
  protected async fingerprint(file: string): Promise<string> {
    return `${await statFingerprint(file)}/${await statFingerprint(`${file}-wal`)}`;
  }

  protected async release(): Promise<void> {}
}

/** The WAL files of a SQLite session, which move and go with it. */
async function sqliteCompanions(file: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of [`${file}-wal`, `${file}-shm`]) if (await exists(p)) out.push(p);
  return out;
}
