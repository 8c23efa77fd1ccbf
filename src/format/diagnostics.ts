import { SessfmtError, type SessfmtErrorCode } from "./errors.js";

/**
 * Open diagnostics: everything a lenient open noticed but did not stop for.
 * The library collects them; it never prints them. Strict mode turns the first one
 * into a SessfmtError (see toError).
 */
export type DiagnosticCode =
  | "skipped"
  | "truncated_tail"
  | "orphaned_parent"
  | "duplicate_id"
  | "cycle"
  | "unknown_type"
  | "blank_line"
  | "header_field"
  | "lone_surrogate"
  | "legacy_index";

/** Why a line was skipped (the `reason` code of a `skipped` diagnostic). */
export type SkipReason =
  | "bad_json"
  | "not_object"
  | "missing_field"
  | "invalid_field"
  | "invalid_utf8"
  | "line_too_long"
  | "extra_header";

export interface SessionDiagnostic {
  code: DiagnosticCode;
  /** 1-based physical line. */
  line: number;
  /** Byte offset of the start of the line. */
  offset: number;
  message: string;
  /** For `skipped`: the reason code. */
  reason?: SkipReason;
  entryId?: string;
  /** For `orphaned_parent`: the parent id that no entry has. */
  missingParentId?: string;
  /** For `duplicate_id`: the line of the first entry with that id. */
  firstLine?: number;
  /** For `cycle`: the ids on the cycle, in parent-walk order. */
  cycleIds?: string[];
  /** For `unknown_type`: the type. */
  entryType?: string;
}

/** A line that did not become an entry. */
export interface SessionOpenSkippedEntry {
  line: number;
  offset: number;
  /** Bytes of the line without its terminator. */
  length: number;
  reason: SkipReason;
  message: string;
}

/** An entry whose parentId names no entry in the file. */
export interface SessionOpenOrphanedParentLink {
  entryId: string;
  missingParentId: string;
  line: number;
  offset: number;
}

const ERROR_CODE: Record<DiagnosticCode, SessfmtErrorCode> = {
  skipped: "E_LINE_INVALID",
  truncated_tail: "E_TRUNCATED_TAIL",
  orphaned_parent: "E_ORPHANED_PARENT",
  duplicate_id: "E_DUPLICATE_ID",
  cycle: "E_CYCLE",
  unknown_type: "E_UNKNOWN_TYPE",
  blank_line: "E_BLANK_LINE",
  header_field: "E_HEADER_FIELD",
  lone_surrogate: "E_LONE_SURROGATE",
  legacy_index: "E_LEGACY_INDEX",
};

export class SessionOpenDiagnostics {
  /** Every diagnostic, in the order found (file order within each pass). */
  readonly items: SessionDiagnostic[] = [];
  readonly skippedEntries: SessionOpenSkippedEntry[] = [];
  readonly orphanedParentLinks: SessionOpenOrphanedParentLink[] = [];

  add(d: SessionDiagnostic): void {
    this.items.push(d);
  }

  skip(line: number, offset: number, length: number, reason: SkipReason, message: string): void {
    this.skippedEntries.push({ line, offset, length, reason, message });
    this.items.push({ code: "skipped", line, offset, reason, message });
  }

  orphan(entryId: string, missingParentId: string, line: number, offset: number): void {
    this.orphanedParentLinks.push({ entryId, missingParentId, line, offset });
    this.items.push({
      code: "orphaned_parent",
      line,
      offset,
      entryId,
      missingParentId,
      message: `entry ${JSON.stringify(entryId)} names parent ${JSON.stringify(missingParentId)}, which no entry has`,
    });
  }

  get count(): number {
    return this.items.length;
  }

  get isClean(): boolean {
    return this.items.length === 0;
  }

  get truncatedTail(): SessionDiagnostic | undefined {
    return this.items.find((d) => d.code === "truncated_tail");
  }

  byCode(code: DiagnosticCode): SessionDiagnostic[] {
    return this.items.filter((d) => d.code === code);
  }

  /** Counts per code, for summaries. */
  summary(): Partial<Record<DiagnosticCode, number>> {
    const out: Partial<Record<DiagnosticCode, number>> = {};
    for (const d of this.items) out[d.code] = (out[d.code] ?? 0) + 1;
    return out;
  }

  /** Diagnostics sorted by line, for display. */
  sorted(): SessionDiagnostic[] {
    return [...this.items].sort((a, b) => a.line - b.line || a.offset - b.offset);
  }

  toJSON(): { count: number; summary: Partial<Record<DiagnosticCode, number>>; items: SessionDiagnostic[] } {
    return { count: this.count, summary: this.summary(), items: this.sorted() };
  }
}

/** The SessfmtError that strict mode raises for a diagnostic. */
export function diagnosticError(d: SessionDiagnostic, file: string | undefined, all?: SessionOpenDiagnostics): SessfmtError {
  return new SessfmtError(ERROR_CODE[d.code], `${d.code}${d.reason ? ` (${d.reason})` : ""}: ${d.message}`, {
    file,
    line: d.line,
    offset: d.offset,
    data: all,
  });
}
