import { isAscii } from "node:buffer";
import { SessfmtError } from "./errors.js";
import type { SessionOpenDiagnostics } from "./diagnostics.js";
import type { LineSpan } from "./scan.js";
import type { EntryRecord } from "./record.js";
import type { ByteSource } from "./source.js";
import type { SessionTree } from "./tree.js";
import { applyLegacyPatch } from "./legacy.js";
import { buildContextFromPath, planFork, type ForkPlan } from "./context.js";
import type { SessionContext, SessionDialect, SessionEntry, SessionHeader } from "./types.js";

/**
 * The text of a line's bytes. Plain ASCII (most lines: JSON escapes keep them so) is
 * decoded as latin1, a copy of one byte per character, several times faster than the
 * UTF-8 decoder, and the same text.
 */
function decodeLine(bytes: Buffer): string {
  return bytes.toString(isAscii(bytes) ? "latin1" : "utf8");
}

/** Entry types that can become a context message. */
const CONTEXT_TYPES: ReadonlySet<string> = new Set(["message", "custom_message", "branch_summary"]);

export interface SessionParts {
  source: ByteSource;
  header: SessionHeader;
  headerSpan: LineSpan;
  version: number;
  dialect: SessionDialect;
  records: EntryRecord[];
  tree: SessionTree;
  diagnostics: SessionOpenDiagnostics;
  size: number;
}

/**
 * An opened session: the header, an index of every entry (file order), the tree, and
 * the open diagnostics. Entries are materialised on demand (and then kept); raw line
 * bytes are always available, so an untouched entry re-serialises to the same bytes.
 */
export class Session {
  readonly file: string | undefined;
  readonly header: SessionHeader;
  /** Where the header line is. */
  readonly headerSpan: LineSpan;
  /** Version as found on disk (1 when the header has none); entries are upgraded to 3 in memory. */
  readonly version: number;
  /** "rust" when the file follows the Rust writer's conventions (branchedFrom, omitted parentId). */
  readonly dialect: SessionDialect;
  readonly records: readonly EntryRecord[];
  readonly tree: SessionTree;
  readonly diagnostics: SessionOpenDiagnostics;
  /** Bytes of the file that were read. */
  readonly size: number;
  private readonly source: ByteSource;

  constructor(p: SessionParts) {
    this.file = p.source.file;
    this.source = p.source;
    this.header = p.header;
    this.headerSpan = p.headerSpan;
    this.version = p.version;
    this.dialect = p.dialect;
    this.records = p.records;
    this.tree = p.tree;
    this.diagnostics = p.diagnostics;
    this.size = p.size;
  }

  get id(): string {
    return this.header.id;
  }

  /** parentSession (TS writer) or branchedFrom (Rust writer). */
  get parentSession(): string | undefined {
    const h = this.header;
    return typeof h.parentSession === "string" ? h.parentSession : typeof h.branchedFrom === "string" ? h.branchedFrom : undefined;
  }

  get leafId(): string | null {
    return this.tree.leafId;
  }

  setLeaf(id: string | null): void {
    this.tree.setLeaf(id);
  }

  get name(): string | undefined {
    return this.tree.name;
  }

  get labels(): ReadonlyMap<string, string> {
    return this.tree.labels;
  }

  get messageCount(): number {
    return this.tree.messageCount;
  }

  /** The record for an id (the later entry when ids repeat). */
  record(id: string): EntryRecord | undefined {
    return this.tree.get(id);
  }

  /** The full entry (upgraded to v3 for legacy files). */
  entry(idOrRecord: string | EntryRecord): SessionEntry {
    const r = typeof idOrRecord === "string" ? this.tree.get(idOrRecord) : idOrRecord;
    if (!r) {
      throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(idOrRecord)}`, { file: this.file });
    }
    if (r.value === undefined) this.materialise([r]);
    return r.value as SessionEntry;
  }

  /** Materialise several records with one open of the file. */
  materialise(records: readonly EntryRecord[]): SessionEntry[] {
    const missing = records.filter((r) => r.value === undefined);
    if (missing.length > 0) {
      this.source.withReader((read) => {
        for (const r of missing) {
          const text = decodeLine(read(r.offset, r.length));
          let obj: Record<string, unknown>;
          try {
            obj = JSON.parse(text) as Record<string, unknown>;
          } catch (err) {
            throw new SessfmtError("E_SOURCE_CHANGED", "entry bytes no longer parse; the file changed since it was opened", {
              file: this.file,
              line: r.line,
              offset: r.offset,
              cause: err,
            });
          }
          // A file rewritten in place (same inode, not shorter) passes the source's identity
          // check; bytes that parse but hold another entry must not be returned as this one.
          if (obj === null || typeof obj !== "object" || obj.type !== r.type || obj.timestamp !== r.timestamp || (!r.legacy?.assignIds && obj.id !== r.id)) {
            throw new SessfmtError("E_SOURCE_CHANGED", `the bytes of entry ${JSON.stringify(r.id)} changed since the file was opened`, {
              file: this.file,
              line: r.line,
              offset: r.offset,
            });
          }
          r.value = r.legacy ? applyLegacyPatch(obj, r) : (obj as SessionEntry);
        }
      });
    }
    return records.map((r) => r.value as SessionEntry);
  }

  /** Every entry in file order (materialises them all). */
  entries(): SessionEntry[] {
    return this.materialise(this.records);
  }

  /** The exact bytes of an entry's line, without its terminator. */
  raw(r: EntryRecord): Buffer {
    return this.source.withReader((read) => Buffer.from(read(r.offset, r.length)));
  }

  /** The exact bytes of the header line, without its terminator. */
  rawHeader(): Buffer {
    const s = this.headerSpan;
    return this.source.withReader((read) => Buffer.from(read(s.offset, s.length)));
  }

  /** Visit the raw bytes of many records with one open of the file (views valid during the call). */
  forEachRaw(records: readonly EntryRecord[], fn: (bytes: Buffer, r: EntryRecord) => void): void {
    this.source.withReader((read) => {
      for (const r of records) fn(read(r.offset, r.length), r);
    });
  }

  /** Entries on the path from the root to `leafId` (default: the current leaf). */
  branch(leafId: string | null = this.leafId): SessionEntry[] {
    return this.materialise(this.tree.pathToRoot(leafId));
  }

  /**
   * What the LLM sees at a leaf, exactly as pi-coding-agent's buildSessionContext:
   * undefined = the current leaf; null = empty context; an unknown id = the last entry.
   * Only the path entries the context can show are materialised (see contextRecords).
   */
  buildContext(leafId?: string | null): SessionContext {
    const target = leafId === undefined ? this.leafId : leafId;
    if (target === null) return { messages: [], thinkingLevel: "off", model: null };
    const leaf = this.tree.get(target) ?? this.records[this.records.length - 1];
    if (!leaf) return { messages: [], thinkingLevel: "off", model: null };
    return buildContextFromPath(this.materialise(this.contextRecords(this.tree.pathFrom(leaf))));
  }

  /**
   * The entries of a root-first path that decide its context: the last thinking-level
   * change, the last model change or assistant message, the last compaction with the
   * entry its firstKeptEntryId names, and every entry that can become a message
   * (message, custom_message, branch_summary) in the part the compaction keeps. Given
   * these in path order, buildContextFromPath returns what it returns for the whole path
   * (the rest can change neither the settings nor the messages), while a long session
   * parses only what follows its last compaction.
   */
  private contextRecords(path: readonly EntryRecord[]): EntryRecord[] {
    let thinking = -1;
    let model = -1;
    let compaction = -1;
    for (let i = 0; i < path.length; i++) {
      const r = path[i] as EntryRecord;
      if (r.type === "thinking_level_change") thinking = i;
      else if (r.type === "model_change" || (r.type === "message" && r.role === "assistant")) model = i;
      else if (r.type === "compaction") compaction = i;
    }
    let firstKept = -1;
    if (compaction >= 0) {
      const c = this.materialise([path[compaction] as EntryRecord])[0] as { firstKeptEntryId?: unknown };
      for (let i = 0; i < compaction; i++) {
        if ((path[i] as EntryRecord).id === c.firstKeptEntryId) {
          firstKept = i;
          break;
        }
      }
    }
    const out: EntryRecord[] = [];
    for (let i = 0; i < path.length; i++) {
      const r = path[i] as EntryRecord;
      const kept = compaction < 0 || i > compaction || (firstKept >= 0 && i >= firstKept);
      if (i === thinking || i === model || i === compaction || i === firstKept || (kept && CONTEXT_TYPES.has(r.type))) out.push(r);
    }
    return out;
  }

  /** How to fork the session at a user message (see ForkPlan). */
  forkPlan(userMessageEntryId: string): ForkPlan {
    const r = this.tree.get(userMessageEntryId);
    if (!r) {
      throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(userMessageEntryId)}`, { file: this.file });
    }
    return planFork(this, r);
  }
}
