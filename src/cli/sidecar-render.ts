import { SessfmtError, type SessfmtErrorCode } from "../format/index.js";
import type { Freshness, SidecarProblem } from "../v2/index.js";

/**
 * How the JSONL relates to its sidecar, in words: "fresh", "stale: N bytes appended ...",
 * "stale: <what changed> ...", "missing: ..." (no JSONL), "unknown: ...". Each non-fresh
 * state names the command that fixes it.
 */
export function freshnessText(f: Freshness, file: string | undefined): string {
  const target = file ?? "<file>";
  switch (f.state) {
    case "fresh":
      return "fresh";
    case "behind":
      return `stale: ${f.newBytes ?? 0} bytes appended to the JSONL since it was indexed (\`sessfmt sidecar sync ${target}\` frames them)`;
    case "stale":
      return `stale: ${f.reason} (\`sessfmt sidecar sync --rebuild ${target}\` rebuilds the sidecar)`;
    default:
      if (f.reason.includes("JSONL file is missing") || f.reason.startsWith("no JSONL")) return `missing: ${f.reason}`;
      return `unknown: ${f.reason} (\`sessfmt sidecar sync --rebuild ${target}\` rebuilds the sidecar)`;
  }
}

/** "segments/0000000000000001.seg byte 442, entrySeq 2 (a0000002)" */
export function problemWhere(p: SidecarProblem): string {
  const parts: string[] = [];
  if (p.file) parts.push(p.file);
  if (p.line !== undefined) parts.push(`line ${p.line}`);
  if (p.offset !== undefined) parts.push(`byte ${p.offset}`);
  let where = parts.join(" ");
  if (p.entrySeq !== undefined) where += `${where ? ", " : ""}entrySeq ${p.entrySeq}`;
  if (p.entryId !== undefined) where += ` (${p.entryId})`;
  return where;
}

/** One problem on one line: "error   frame_crc_mismatch  <where>: <message>". */
export function problemLine(p: SidecarProblem): string {
  const where = problemWhere(p);
  return `${p.severity.padEnd(7)} ${p.code}  ${where ? `${where}: ` : ""}${p.message}`;
}

/** "1 entry", "2 entries". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * Rethrow a library error of `code` with the message the command line should show instead
 * (the library's advice names options; the CLI's names flags and commands), same file.
 */
export function withMessage<T>(work: Promise<T>, code: SessfmtErrorCode, message: string): Promise<T> {
  return work.catch((err: unknown) => {
    if (err instanceof SessfmtError && err.code === code) throw new SessfmtError(code, message, { file: err.file, cause: err, data: err.data });
    throw err;
  });
}

/** Rethrow a library error of one of `codes` with advice for the command line appended. */
export function withAdvice<T>(work: Promise<T>, codes: readonly SessfmtErrorCode[], advice: string): Promise<T> {
  return work.catch((err: unknown) => {
    if (err instanceof SessfmtError && codes.includes(err.code)) {
      throw new SessfmtError(err.code, `${err.message}; ${advice}`, { cause: err, data: err.data });
    }
    throw err;
  });
}
