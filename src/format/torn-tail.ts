import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { dirname } from "node:path";
import { SessfmtError, ioError } from "./errors.js";
import { writeFully } from "./atomic.js";
import { syncDirectory } from "./durability.js";

/**
 * What a writer does with a last line that has no "\n": decide whether it is a complete
 * entry (then only the line end is missing) and, if not, keep its bytes in a quarantine
 * file before the session file is cut back to the last line boundary.
 */

/** A torn last line found under the lock. */
export interface Fragment {
  offset: number;
  length: number;
  line: number;
  oversize: boolean;
  bytes: Buffer;
}

const QUARANTINE_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);
const QUARANTINE_CHUNK = 3 * 1024 * 1024; // a multiple of 3, so base64 chunks concatenate

/**
 * Append a torn fragment to `<file>.torn` as one JSON record {offset, length, line, at,
 * base64} on a line of its own (after a record left incomplete by a failed or killed
 * earlier attempt, a line end is written first; a failed attempt takes its own partial
 * record back where it can), fsynced (with its directory) before the caller cuts the
 * fragment from the session file, so its bytes are never lost. The bytes are read from
 * the session file in chunks, not taken from memory: an oversize fragment was never held
 * in memory.
 * Returns the quarantine file path.
 */
export async function quarantineFragment(file: string, fh: FileHandle, f: Fragment): Promise<string> {
  const path = `${file}.torn`;
  let q: FileHandle;
  try {
    q = await open(path, QUARANTINE_FLAGS, 0o600);
  } catch (err) {
    throw ioError(err, path, "cannot open the quarantine file");
  }
  let size = -1;
  try {
    // A record cut short by an earlier failure (or a kill) must not swallow this one.
    size = (await q.stat()).size;
    const last = Buffer.alloc(1);
    const startsFresh = size === 0 || ((await q.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] === 0x0a);
    const head = `${startsFresh ? "" : "\n"}{"offset":${f.offset},"length":${f.length},"line":${f.line},"at":${JSON.stringify(new Date().toISOString())},"base64":"`;
    await writeFully(q, Buffer.from(head), path);
    const buf = Buffer.allocUnsafe(Math.min(QUARANTINE_CHUNK, Math.max(f.length, 1)));
    for (let done = 0; done < f.length; ) {
      const want = Math.min(buf.length, f.length - done);
      const { bytesRead } = await fh.read(buf, 0, want, f.offset + done);
      if (bytesRead !== want) throw new SessfmtError("E_SOURCE_CHANGED", "the torn tail changed while it was being quarantined", { file, offset: f.offset });
      await writeFully(q, Buffer.from(buf.subarray(0, want).toString("base64")), path);
      done += want;
    }
    await writeFully(q, Buffer.from('"}\n'), path);
    await q.sync();
  } catch (err) {
    // Best effort: take back the part of this record that was written.
    if (size >= 0) await q.truncate(size).catch(() => undefined);
    throw err instanceof SessfmtError ? err : ioError(err, path, "cannot write the quarantine file");
  } finally {
    await q.close().catch(() => undefined);
  }
  await syncDirectory(dirname(path));
  return path;
}

/**
 * The id and type of a line if the reader would keep it as a version-3 entry (same
 * rules as read.ts: UTF-8, an object, string type other than "session", non-empty string
 * id, string timestamp, parentId string/null/absent, message with a role, label with a
 * targetId); undefined otherwise.
 */
export function entryFacts(bytes: Buffer): { id: string; type: string; value: Record<string, unknown> } | undefined {
  if (bytes.length === 0 || !isUtf8(bytes)) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return undefined;
  const v = o as Record<string, unknown>;
  if (typeof v.type !== "string" || v.type.length === 0 || v.type === "session") return undefined;
  if (typeof v.id !== "string" || v.id.length === 0 || typeof v.timestamp !== "string") return undefined;
  if (v.parentId !== undefined && v.parentId !== null && typeof v.parentId !== "string") return undefined;
  if (v.type === "message") {
    const m = v.message as { role?: unknown } | null;
    if (m === null || typeof m !== "object" || Array.isArray(m) || typeof m.role !== "string") return undefined;
  }
  if (v.type === "label" && typeof v.targetId !== "string") return undefined;
  return { id: v.id, type: v.type, value: v };
}
