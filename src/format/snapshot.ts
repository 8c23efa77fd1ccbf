import { SessfmtError } from "./errors.js";
import { applyLegacyPatch } from "./legacy.js";
import type { Session } from "./session.js";
import type { SessionEntry, SessionHeader } from "./types.js";

/** A self-contained copy of a session: what a store needs to write it elsewhere. */
export interface ExportSnapshot {
  header: SessionHeader;
  /** Every entry in file order (legacy files: upgraded to version 3). */
  entries: SessionEntry[];
  leafId: string | null;
}

/**
 * Snapshot a session: header, every entry in file order, the current leaf. The objects
 * are deep copies, so changing them never changes the session (or a later snapshot).
 * Copies are made by parsing each line's bytes again: JSON.parse is not recursive, so
 * arbitrarily deep values copy without exhausting the stack (structuredClone does not).
 */
export function exportSnapshot(session: Session): ExportSnapshot {
  const parse = (bytes: Buffer, where: { line: number; offset: number }): Record<string, unknown> => {
    try {
      return JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new SessfmtError("E_SOURCE_CHANGED", "a line no longer parses; the file changed since it was opened", {
        file: session.file,
        line: where.line,
        offset: where.offset,
        cause: err,
      });
    }
  };
  const entries: SessionEntry[] = [];
  session.forEachRaw(session.records, (bytes, r) => {
    const obj = parse(bytes, r);
    entries.push(r.legacy ? applyLegacyPatch(obj, r) : (obj as SessionEntry));
  });
  let headerBytes = session.rawHeader();
  if (headerBytes[0] === 0xef && headerBytes[1] === 0xbb && headerBytes[2] === 0xbf) headerBytes = headerBytes.subarray(3);
  return {
    header: parse(headerBytes, session.headerSpan) as SessionHeader,
    entries,
    leafId: session.leafId,
  };
}
