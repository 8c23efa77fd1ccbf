/**
 * What a session file and its directory look like on disk, for the invariants of the
 * reliability suites: complete lines vs. a torn last line, quarantine records, leftovers.
 */
import { existsSync, readdirSync, readFileSync, utimesSync } from "node:fs";

export interface FileLines {
  bytes: Buffer;
  /** Lines that end in "\n" (without it), with their offsets. */
  complete: { offset: number; bytes: Buffer }[];
  /** Bytes after the last "\n" (empty when the file ends at a line boundary). */
  fragment: Buffer;
  fragmentOffset: number;
}

export function fileLines(bytes: Buffer): FileLines {
  const complete: FileLines["complete"] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl === -1) break;
    complete.push({ offset: start, bytes: bytes.subarray(start, nl) });
    start = nl + 1;
  }
  return { bytes, complete, fragment: bytes.subarray(start), fragmentOffset: start };
}

/** Complete lines that are not one JSON object each: a glued or interleaved line shows up here. */
export function badCompleteLines(lines: FileLines): { offset: number; text: string }[] {
  const bad: { offset: number; text: string }[] = [];
  for (const l of lines.complete) {
    try {
      const v: unknown = JSON.parse(l.bytes.toString("utf8"));
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    } catch {
      bad.push({ offset: l.offset, text: l.bytes.subarray(0, 200).toString("utf8") });
    }
  }
  return bad;
}

export interface TornRecord {
  offset: number;
  length: number;
  line: number;
  at: string;
  bytes: Buffer;
}

/**
 * The records of `<file>.torn`, and its lines that are not one whole record: a record a
 * killed writer left incomplete (`partial`: harmless, its fragment is still in the
 * session file or in a later record) or a record glued onto such a one (`glued`: would
 * hide a fragment; must never happen).
 */
export function tornRecords(file: string): { records: TornRecord[]; badLines: string[]; glued: string[] } {
  const path = `${file}.torn`;
  if (!existsSync(path)) return { records: [], badLines: [], glued: [] };
  const text = readFileSync(path, "utf8");
  const records: TornRecord[] = [];
  const badLines: string[] = [];
  const glued: string[] = [];
  // A bad line is glued when a second record starts inside it (looked for in the line
  // itself, not in the shortened text reported).
  const bad = (line: string, shown: string) => {
    badLines.push(shown);
    if (line.indexOf('{"offset":', 1) !== -1) glued.push(shown);
  };
  const lines = text.split("\n");
  const last = lines.pop();
  if (last !== undefined && last !== "") bad(last, `(no line end) ${last.slice(0, 120)}`);
  for (const line of lines) {
    try {
      const r = JSON.parse(line) as { offset: number; length: number; line: number; at: string; base64: string };
      records.push({ offset: r.offset, length: r.length, line: r.line, at: r.at, bytes: Buffer.from(r.base64, "base64") });
    } catch {
      bad(line, line.length > 400 ? `${line.slice(0, 200)}...${line.slice(-200)}` : line);
    }
  }
  return { records, badLines, glued };
}

/** True when `fragment` (once at `offset`) is still at that offset in the file or kept in `<file>.torn`. */
export function fragmentSurvives(file: string, bytes: Buffer, fragment: { offset: number; bytes: Buffer }): boolean {
  const inPlace = bytes.subarray(fragment.offset, fragment.offset + fragment.bytes.length);
  if (inPlace.equals(fragment.bytes)) return true;
  return tornRecords(file).records.some((r) => r.offset === fragment.offset && r.bytes.equals(fragment.bytes));
}

export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/**
 * Make a lock left by a killed holder look old, so the next writer takes it over as
 * stale at once instead of after DEFAULT_LOCK_STALE_MS (the documented takeover path).
 * Returns whether there was a lock.
 */
export function ageLock(file: string): boolean {
  const lock = `${file}.lock`;
  if (!existsSync(lock)) return false;
  const old = new Date(Date.now() - 10 * 60_000);
  try {
    utimesSync(lock, old, old);
  } catch {
    return false; // removed meanwhile
  }
  return true;
}

/** Temp files of the atomic writer for `name`: `.<name>.<pid>.<hex>.tmp`. */
export function isTempOf(name: string, entry: string): boolean {
  return entry.startsWith(`.${name}.`) && entry.endsWith(".tmp");
}
