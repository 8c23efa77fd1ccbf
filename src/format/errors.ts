/**
 * The one error class sessfmt throws. `code` is stable and documented in SPEC.md;
 * the message names the file and, where there is one, the line or byte offset.
 */
export type SessfmtErrorCode =
  | "E_NOT_FOUND"
  | "E_NOT_A_FILE"
  | "E_EMPTY_FILE"
  | "E_HEADER_INVALID"
  | "E_IO"
  | "E_LOCKED"
  | "E_LOCK_COMPROMISED"
  | "E_SOURCE_CHANGED"
  | "E_ENTRY_NOT_FOUND"
  | "E_INVALID_ARGUMENT"
  | "E_INVALID_ENTRY"
  | "E_PATH_UNSAFE"
  | "E_EXISTS"
  | "E_ABORTED"
  | "E_CLOSED"
  | "E_QUEUE_FULL"
  | "E_FLUSH_FAILED"
  | "E_UNSUPPORTED_VERSION"
  // Session stores and the archive catalog (src/store).
  | "E_ARCHIVED"
  | "E_STORE_CORRUPT"
  | "E_SQLITE"
  // V2 sidecar (src/v2).
  | "E_SIDECAR_MISSING"
  | "E_SIDECAR_CORRUPT"
  | "E_SIDECAR_STALE"
  | "E_FRAME_TOO_LARGE"
  | "E_CHECKPOINT_NOT_FOUND"
  // Migration (src/migrate).
  | "E_INVALID_LINES"
  | "E_VERIFY_MISMATCH"
  | "E_MIGRATION_PARTIAL"
  // Strict-mode promotions of open diagnostics (one per diagnostic code).
  | "E_LINE_INVALID"
  | "E_TRUNCATED_TAIL"
  | "E_ORPHANED_PARENT"
  | "E_DUPLICATE_ID"
  | "E_CYCLE"
  | "E_UNKNOWN_TYPE"
  | "E_BLANK_LINE"
  | "E_HEADER_FIELD"
  | "E_LONE_SURROGATE"
  | "E_LEGACY_INDEX";

export interface SessfmtErrorDetails {
  file?: string;
  /** 1-based physical line number. */
  line?: number;
  /** Byte offset from the start of the file. */
  offset?: number;
  cause?: unknown;
  /** Anything else a caller may want to inspect (e.g. the collected diagnostics). */
  data?: unknown;
}

export class SessfmtError extends Error {
  override readonly name = "SessfmtError";
  readonly code: SessfmtErrorCode;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly offset: number | undefined;
  readonly data: unknown;

  constructor(code: SessfmtErrorCode, message: string, details: SessfmtErrorDetails = {}) {
    super(formatMessage(message, details), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.offset = details.offset;
    this.data = details.data;
  }
}

function formatMessage(message: string, d: SessfmtErrorDetails): string {
  const where: string[] = [];
  if (d.file !== undefined) where.push(d.file);
  if (d.line !== undefined) where.push(`line ${d.line}`);
  if (d.offset !== undefined) where.push(`byte ${d.offset}`);
  return where.length > 0 ? `${where.join(":")}: ${message}` : message;
}

export function isSessfmtError(err: unknown, code?: SessfmtErrorCode): err is SessfmtError {
  return err instanceof SessfmtError && (code === undefined || err.code === code);
}

/** Wrap a Node fs error into a SessfmtError that names the file; SessfmtErrors pass through. */
export function ioError(err: unknown, file: string, action: string): SessfmtError {
  if (err instanceof SessfmtError) return err;
  const e = err as NodeJS.ErrnoException;
  const errno = e?.code ? `${e.code}: ` : "";
  if (e?.code === "ENOENT") {
    return new SessfmtError("E_NOT_FOUND", `${action}: no such file`, { file, cause: err });
  }
  if (e?.code === "EISDIR") {
    return new SessfmtError("E_NOT_A_FILE", `${action}: is a directory`, { file, cause: err });
  }
  return new SessfmtError("E_IO", `${action}: ${errno}${e?.message ?? String(err)}`, { file, cause: err });
}
