import { SessfmtError } from "../format/errors.js";
import type { FreshnessCheck, MigrationPhase } from "../v2/index.js";
import type { InvalidLine } from "./source.js";

/** Options shared by migrate and dry-run (dry-run must plan exactly what migrate does). */
export interface MigrationPlanOptions {
  /** Quarantine invalid lines instead of stopping at them (default false). */
  skipInvalid?: boolean;
  /** Segment size for new frames (default 64 MiB, SPEC 11.3). */
  segmentBytes?: number;
  /** Upgrade version 1 and 2 files to version 3 first, keeping `<file>.bak` (default true). */
  upgrade?: boolean;
  /** How freshness is checked when deciding (default "full"). */
  check?: FreshnessCheck;
  signal?: AbortSignal;
  /** Work done so far, in thousandths of the file's migration. */
  onProgress?: (done: number, total: number) => void;
}

export interface PhaseContext {
  file: string;
  root: string;
  migrationId: string;
  /** The staging directory, for staged migrations. */
  staging?: string;
}

export interface MigrateOptions extends MigrationPlanOptions {
  /** Clock for ledger events, frames and manifests (tests pin it). */
  now?: () => Date;
  /** Longest wait for the migration lock (default 10 s). */
  lockTimeoutMs?: number;
  /** Whether the integrity check may validate in a second thread (see VerifyOptions.validationThread). */
  validationThread?: "auto" | "always" | "never";
  /** correlationId of the ledger events (default `sessfmt:<migrationId>`). */
  correlationId?: string;
  /**
   * Test hook: fail right before this phase's work with an injected E_IO, to exercise the
   * failure path of every phase.
   */
  failAt?: MigrationPhase;
  /** Test hook: called right before each phase's work (a test can kill the process here). */
  onPhase?: (phase: MigrationPhase, ctx: PhaseContext) => void | Promise<void>;
}

/** Progress in thousandths across the steps of one file. */
export const PROGRESS_TOTAL = 1000;

export function progressStep(opts: { onProgress?: (done: number, total: number) => void }, from: number, to: number): ((done: number, total: number) => void) | undefined {
  const cb = opts.onProgress;
  if (!cb) return undefined;
  return (done, total) => cb(Math.round(from + ((to - from) * (total > 0 ? Math.min(done, total) : 0)) / (total > 0 ? total : 1)), PROGRESS_TOTAL);
}

export function invalidLinesError(file: string, lines: readonly InvalidLine[]): SessfmtError {
  const first = lines[0] as InvalidLine;
  const list = lines
    .slice(0, 5)
    .map((l) => `line ${l.line} (${l.reason})`)
    .join(", ");
  return new SessfmtError(
    "E_INVALID_LINES",
    `${lines.length} line${lines.length === 1 ? "" : "s"} cannot be parsed: ${list}${lines.length > 5 ? ", ..." : ""}; nothing was written (use --skip-invalid to keep them in the sidecar's quarantine)`,
    { file, line: first.line, offset: first.offset, data: { invalidLines: lines } },
  );
}

export function checkSegmentBytes(n: number | undefined): void {
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 1)) throw new SessfmtError("E_INVALID_ARGUMENT", `segment size ${n} is not a positive integer`);
}
