import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { SessfmtError, ioError } from "./errors.js";
import { writeFileExclusive } from "./atomic.js";
import { DEFAULT_DURABILITY, type AutosaveDurabilityMode } from "./durability.js";
import { generateSessionId } from "./ids.js";
import { childPath, defaultSessionsRoot, sessionDirFor, sessionFileName } from "./paths.js";
import { SessionWriter, type SessionWriterOptions } from "./writer.js";
import { CURRENT_SESSION_VERSION, type SessionDialect, type SessionHeader } from "./types.js";

export interface CreateSessionOptions {
  /** Working directory recorded in the header (and, encoded, the directory name). */
  cwd: string;
  /** Root of the sessions tree (default defaultSessionsRoot()); ignored when `dir` is given. */
  sessionsRoot?: string;
  /** Exact directory for the file (default `<sessionsRoot>/<encodeCwd(cwd)>/`). */
  dir?: string;
  /** Session id (default a fresh UUIDv7). Sanitised in the file name. */
  id?: string;
  /** Path of the session this one was forked from (Rust dialect: written as branchedFrom). */
  parentSession?: string;
  dialect?: SessionDialect;
  /** Creation time (default now): the header timestamp and the file name. */
  now?: Date;
  durability?: AutosaveDurabilityMode;
  /** Options for the returned writer (durability above wins). */
  writer?: Omit<SessionWriterOptions, "durability" | "dialect">;
}

/** The header of a new version-3 session, key order as the agents write it. */
export function newSessionHeader(opts: { id: string; timestamp: string; cwd: string; parentSession?: string; dialect?: SessionDialect }): SessionHeader {
  const header: SessionHeader = { type: "session", version: CURRENT_SESSION_VERSION, id: opts.id, timestamp: opts.timestamp, cwd: opts.cwd };
  if (opts.parentSession !== undefined) {
    if (opts.dialect === "rust") header.branchedFrom = opts.parentSession;
    else header.parentSession = opts.parentSession;
  }
  return header;
}

/**
 * Create a new session file and return a writer for it. Unlike pi, which creates the
 * file only at the first assistant message, the header is written at once: the file
 * exists, with a valid header, from the moment this resolves. The directory is created
 * (mode 0700), the file exclusively (mode 0600; E_EXISTS if the name is taken, never
 * overwritten), and the header is fsynced with the directory unless durability is
 * "throughput".
 */
export async function createSession(opts: CreateSessionOptions): Promise<SessionWriter> {
  if (typeof opts.cwd !== "string") throw new SessfmtError("E_INVALID_ARGUMENT", "createSession needs a cwd string");
  if (opts.id !== undefined && (typeof opts.id !== "string" || opts.id.length === 0)) {
    throw new SessfmtError("E_INVALID_ARGUMENT", "session id must be a non-empty string");
  }
  const dialect = opts.dialect ?? "ts";
  const now = opts.now ?? new Date();
  if (Number.isNaN(now.getTime())) throw new SessfmtError("E_INVALID_ARGUMENT", "`now` is not a valid date");
  const id = opts.id ?? generateSessionId(now.getTime());
  const timestamp = now.toISOString();
  const dir = resolve(opts.dir ?? sessionDirFor(opts.sessionsRoot ?? defaultSessionsRoot(), opts.cwd, dialect));
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw ioError(err, dir, "cannot create the session directory");
  }
  const file = childPath(dir, sessionFileName(id, timestamp, dialect));
  const header = newSessionHeader({ id, timestamp, cwd: opts.cwd, parentSession: opts.parentSession, dialect });
  const durability = opts.durability ?? DEFAULT_DURABILITY;
  await writeFileExclusive(file, (out) => out.write(`${JSON.stringify(header)}\n`), { durable: durability !== "throughput" });
  return SessionWriter.open(file, { ...opts.writer, durability, dialect });
}
