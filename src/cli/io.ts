import { SessfmtError, isSessfmtError } from "../format/index.js";

/** Anything text can be written to (process.stdout, or a test's collector). */
export interface TextSink {
  write(chunk: string): unknown;
}

/** The process surroundings the CLI runs in; tests pass fakes. */
export interface CliIO {
  stdout: TextSink;
  stderr: TextSink;
  stdin: AsyncIterable<string | Buffer>;
  /** True when stdout is a terminal: colours and terminal-width help. */
  isTTY: boolean;
  /** Environment (SESSFMT_DEBUG, NO_COLOR); default process.env. */
  env?: Record<string, string | undefined>;
  /** Terminal width, when known. */
  columns?: number;
}

/** Exit codes, the same for every command (see `sessfmt --help`). */
export const EXIT_OK = 0;
/** The command ran and found problems (validate: diagnostics). */
export const EXIT_PROBLEMS = 1;
/** Usage error, or a file could not be opened / the operation failed. */
export const EXIT_FATAL = 2;
/** A bug in sessfmt: an error that is not a SessfmtError. */
export const EXIT_INTERNAL = 3;

/**
 * Collects output and writes it in large pieces: commands emit one line per entry and
 * sessions have millions of entries, so one write per line would dominate the run time.
 */
export class LineBuffer {
  private parts: string[] = [];
  private bytes = 0;

  constructor(
    private readonly sink: TextSink,
    private readonly limit = 64 * 1024,
  ) {}

  line(s: string): void {
    this.text(s + "\n");
  }

  text(s: string): void {
    this.parts.push(s);
    this.bytes += s.length;
    if (this.bytes >= this.limit) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    this.sink.write(this.parts.join(""));
    this.parts = [];
    this.bytes = 0;
  }
}

/** A usage error raised by the CLI itself (bad option values, missing input). */
export function usageError(message: string): SessfmtError {
  return new SessfmtError("E_INVALID_ARGUMENT", message);
}

function debugEnabled(io: CliIO): boolean {
  const v = (io.env ?? process.env).SESSFMT_DEBUG;
  return v !== undefined && v !== "" && v !== "0";
}

/**
 * Report an error on stderr as one line, "sessfmt: <code>: <message>", and return the
 * exit code. Stacks only with SESSFMT_DEBUG=1: a user error is not a crash.
 */
export function reportError(io: CliIO, err: unknown, hint?: string): number {
  const debug = debugEnabled(io);
  if (isSessfmtError(err)) {
    io.stderr.write(`sessfmt: ${err.code}: ${oneLine(err.message)}${hint ? ` (${hint})` : ""}\n`);
    if (debug && err.stack) io.stderr.write(err.stack + "\n");
    return EXIT_FATAL;
  }
  const e = err as { message?: unknown; stack?: unknown } | undefined;
  const message = typeof e?.message === "string" ? e.message : String(err);
  io.stderr.write(`sessfmt: internal error: ${oneLine(message)}${debug ? "" : " (set SESSFMT_DEBUG=1 for a stack trace)"}\n`);
  if (debug && typeof e?.stack === "string") io.stderr.write(e.stack + "\n");
  return EXIT_INTERNAL;
}

/** Error messages may quote file content; keep the report on one line. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/**
 * Lines of a text stream with their 1-based line numbers. The last line may lack "\n".
 * Blank lines are reported too (callers decide whether they matter).
 */
export async function* readLines(input: AsyncIterable<string | Buffer>): AsyncGenerator<{ line: number; text: string }> {
  let carry = "";
  let n = 0;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const decode = (chunk: string | Buffer, stream: boolean): string => {
    if (typeof chunk === "string") return chunk;
    try {
      return decoder.decode(chunk, { stream });
    } catch (err) {
      throw new SessfmtError("E_INVALID_ARGUMENT", `stdin line ${n + 1}: input is not valid UTF-8`, { cause: err });
    }
  };
  for await (const chunk of input) {
    carry += decode(chunk, true);
    let start = 0;
    let nl: number;
    while ((nl = carry.indexOf("\n", start)) !== -1) {
      n += 1;
      yield { line: n, text: carry.slice(start, nl).replace(/\r$/, "") };
      start = nl + 1;
    }
    carry = carry.slice(start);
  }
  carry += decode(Buffer.alloc(0), false);
  if (carry.length > 0) {
    n += 1;
    yield { line: n, text: carry.replace(/\r$/, "") };
  }
}
