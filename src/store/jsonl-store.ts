import { readFile, readdir } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import {
  DEFAULT_DURABILITY,
  SessionWriter,
  createBranchedSession,
  openSession,
  writeFileExclusive,
  type AutosaveDurabilityMode,
  type NewEntry,
  type Session,
} from "../format/index.js";
import { ioError } from "../format/errors.js";
import type { LoadedSession } from "./base-store.js";
import { FileSessionStore, statFingerprint, type FileSessionStoreOptions } from "./file-store.js";
import { readJsonlHeaderId } from "./header-id.js";
import { sidecarDirs } from "./sidecar-status.js";

export interface JsonlSessionStoreOptions extends FileSessionStoreOptions {
  /** Durability of appends and new files (default "balanced"). */
  durability?: AutosaveDurabilityMode;
  /** Longest wait for a session's cross-process lock per append (default 10 000 ms). */
  lockTimeoutMs?: number;
}

/**
 * Sessions as JSONL files in pi's layout, readable by pi itself. Appends go through
 * SessionWriter (cross-process lock, torn-tail repair, durability modes); archived
 * sessions live under `<root>/.archive/` (see SessionFileLayout); delete removes the
 * file and its sidecar dirs.
 */
export class JsonlSessionStore extends FileSessionStore {
  readonly kind = "jsonl" as const;
  private readonly durability: AutosaveDurabilityMode;
  private readonly lockTimeoutMs: number | undefined;
  /** Open writers by file: appends to one session reuse its index of ids. */
  private readonly writers = new Map<string, Promise<SessionWriter>>();

  constructor(opts: JsonlSessionStoreOptions = {}) {
    super(opts, { ext: ".jsonl", readId: readJsonlHeaderId, companions: jsonlCompanions });
    this.durability = opts.durability ?? DEFAULT_DURABILITY;
    this.lockTimeoutMs = opts.lockTimeoutMs;
  }

  protected openFile(file: string): Promise<Session> {
    return openSession(file);
  }

  protected async createFile(file: string, jsonl: Buffer): Promise<void> {
    await writeFileExclusive(file, (out) => out.write(jsonl), { durable: this.durability !== "throughput" });
  }

  protected override async writeFork(source: LoadedSession, leafId: string, id: string, now: Date): Promise<string> {
    await this.assertNew(id);
    // A fork of an archived session is live: it goes where the source lived before archiving.
    const dir = source.archived ? join(this.root, relative(this.layout.archiveRoot, dirname(source.location))) : dirname(source.location);
    const made = await createBranchedSession(source.session, leafId, { dir, id, now, durability: this.durability });
    this.layout.remember(id, { file: made.file, archived: false });
    return made.file;
  }

  protected async appendToFile(file: string, entries: readonly NewEntry[], parentId: string | null | undefined): Promise<string[]> {
    const writer = await this.writer(file);
    if (parentId !== undefined) {
      // Another process may have appended the parent since this writer last looked.
      if (parentId !== null && !writer.hasId(parentId)) await writer.refresh();
      writer.setLeaf(parentId);
    }
    return writer.appendMany(entries);
  }

  protected async fileJsonl(file: string): Promise<Buffer> {
    try {
      return await readFile(file);
    } catch (err) {
      throw ioError(err, file, "cannot read session");
    }
  }

  protected fingerprint(file: string): Promise<string> {
    return statFingerprint(file);
  }

  protected override async letGo(file: string): Promise<void> {
    const w = this.writers.get(file);
    if (!w) return;
    this.writers.delete(file);
    const writer = await w.catch(() => undefined);
    await writer?.close();
  }

  protected async release(): Promise<void> {
    await Promise.all([...this.writers.keys()].map((file) => this.letGo(file)));
  }

  private writer(file: string): Promise<SessionWriter> {
    let w = this.writers.get(file);
    if (!w) {
      // "fileTail": the default parent is the file's last entry at lock time, so appends from
      // several stores or processes chain up instead of forking off a stale leaf.
      w = SessionWriter.open(file, { parent: "fileTail", durability: this.durability, lockTimeoutMs: this.lockTimeoutMs });
      this.writers.set(file, w);
      // A failed open is not kept: the next append tries again.
      w.catch(() => this.writers.delete(file));
    }
    return w;
  }
}

/** A JSONL session's sidecar dirs (complete and staging), which move and go with it. */
async function jsonlCompanions(file: string): Promise<string[]> {
  try {
    return sidecarDirs(file, await readdir(dirname(file)));
  } catch {
    return [];
  }
}
