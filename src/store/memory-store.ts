import { SessfmtError, openSessionFromBuffer, type NewEntry, type Session } from "../format/index.js";
import { planAppend } from "./append-plan.js";
import { BaseSessionStore, summarizeLoaded, type LoadedSession, type SessionLocation, type SummarizedSession } from "./base-store.js";
import type { SessionStoreOptions } from "./types.js";

interface MemorySession {
  /** The JSONL bytes, in the pieces they were written in (joined on read). */
  chunks: Buffer[];
  archived: boolean;
}

const NL = Buffer.from("\n");

/** Sessions kept in process memory (tests, ephemeral agents). Locations are `memory:<id>`. */
export class MemorySessionStore extends BaseSessionStore {
  readonly kind = "memory" as const;
  private readonly sessions = new Map<string, MemorySession>();

  constructor(opts: SessionStoreOptions = {}) {
    super(opts);
  }

  private entry(id: string): MemorySession {
    const s = this.sessions.get(id);
    if (!s) throw new SessfmtError("E_NOT_FOUND", `no session with id ${JSON.stringify(id)} in the memory store`);
    return s;
  }

  private bytes(s: MemorySession): Buffer {
    if (s.chunks.length > 1) s.chunks = [Buffer.concat(s.chunks)];
    return s.chunks[0] ?? Buffer.alloc(0);
  }

  protected async locate(id: string): Promise<SessionLocation> {
    return { location: memoryLocation(id), archived: this.entry(id).archived };
  }

  protected async read(id: string): Promise<LoadedSession> {
    const s = this.entry(id);
    return { session: openSessionFromBuffer(this.bytes(s), { name: memoryLocation(id) }), location: memoryLocation(id), archived: s.archived };
  }

  protected async write(jsonl: Buffer, session: Session): Promise<string> {
    this.assertOpen();
    const location = memoryLocation(session.id);
    if (this.sessions.has(session.id)) throw new SessfmtError("E_EXISTS", `session ${session.id} already exists`, { file: location });
    this.sessions.set(session.id, { chunks: [Buffer.from(jsonl)], archived: false });
    return location;
  }

  protected async appendEntries(id: string, entries: readonly NewEntry[], parentId: string | null | undefined): Promise<string[]> {
    const s = this.entry(id);
    const bytes = this.bytes(s);
    const plan = planAppend(openSessionFromBuffer(bytes, { name: memoryLocation(id) }), entries, parentId, memoryLocation(id));
    // A last line without "\n" gets one, so the new lines never glue onto it.
    if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) s.chunks.push(NL);
    s.chunks.push(Buffer.from(plan.lines.map((l) => `${l}\n`).join(""), "utf8"));
    return plan.entries.map((e) => e.id);
  }

  protected async readJsonl(id: string): Promise<Buffer> {
    return Buffer.from(this.bytes(this.entry(id)));
  }

  protected async summaries(onError: (err: SessfmtError, location: string) => void): Promise<SummarizedSession[]> {
    const out: SummarizedSession[] = [];
    for (const id of this.sessions.keys()) {
      try {
        out.push(summarizeLoaded(await this.read(id)));
      } catch (err) {
        if (!(err instanceof SessfmtError)) throw err;
        onError(err, memoryLocation(id));
      }
    }
    return out;
  }

  protected async setArchived(id: string, archived: boolean): Promise<string> {
    this.entry(id).archived = archived;
    return memoryLocation(id);
  }

  protected async remove(id: string): Promise<string> {
    this.entry(id);
    this.sessions.delete(id);
    return memoryLocation(id);
  }

  protected async release(): Promise<void> {
    this.sessions.clear();
  }
}

export function memoryLocation(id: string): string {
  return `memory:${id}`;
}
