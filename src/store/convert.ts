import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { SessfmtError, openSessionFromBuffer, writeFileExclusive } from "../format/index.js";
import { ioError } from "../format/errors.js";
import { createSqliteSessionFile, isSqliteFile, readSqliteSessionFile } from "./sqlite-session-file.js";

/** The two session file formats convert moves between. */
export type SessionFileFormat = "jsonl" | "sqlite";

export interface ConvertResult {
  input: string;
  output: string;
  from: SessionFileFormat;
  to: SessionFileFormat;
  sessionId: string;
  /** Entries in the session. */
  entries: number;
  /** Bytes of the session's JSONL form (the same on both sides). */
  bytes: number;
}

const SQLITE_EXTENSIONS = new Set([".sqlite", ".sqlite3", ".db"]);

/** The format a path names by its extension (.jsonl; .sqlite, .sqlite3, .db). */
export function formatForPath(file: string): SessionFileFormat | undefined {
  const ext = extname(file).toLowerCase();
  return ext === ".jsonl" ? "jsonl" : SQLITE_EXTENSIONS.has(ext) ? "sqlite" : undefined;
}

/**
 * Convert a session file between JSONL and SQLite, losslessly: the input's format is
 * read from its first bytes, the output's from its extension. JSONL -> SQLite -> JSONL
 * gives back the same bytes (invalid lines included). The output is created exclusively
 * (E_EXISTS, never overwritten) and appears complete or not at all.
 */
export async function convertSessionFile(input: string, output: string, opts: { durable?: boolean } = {}): Promise<ConvertResult> {
  const to = formatForPath(output);
  if (to === undefined) {
    throw new SessfmtError("E_INVALID_ARGUMENT", "the output's extension names no session format (use .jsonl, or .sqlite / .sqlite3 / .db)", { file: output });
  }
  const from: SessionFileFormat = (await isSqliteFile(input)) ? "sqlite" : "jsonl";
  if (from === to) throw new SessfmtError("E_INVALID_ARGUMENT", `input and output are both ${from}; nothing to convert`, { file: input });
  let bytes: Buffer;
  if (from === "sqlite") {
    bytes = readSqliteSessionFile(input);
  } else {
    try {
      bytes = await readFile(input);
    } catch (err) {
      throw ioError(err, input, "cannot read session");
    }
  }
  if (to === "sqlite") {
    const made = await createSqliteSessionFile(output, bytes, opts);
    return { input, output, from, to, sessionId: made.session.id, entries: made.entries, bytes: bytes.length };
  }
  const session = openSessionFromBuffer(bytes, { name: input });
  await writeFileExclusive(output, (out) => out.write(bytes), { durable: opts.durable ?? true });
  return { input, output, from, to, sessionId: session.id, entries: session.records.length, bytes: bytes.length };
}
