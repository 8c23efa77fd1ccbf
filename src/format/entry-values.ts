import { SessfmtError } from "./errors.js";
import type { EntryRecord } from "./record.js";
import type { Session } from "./session.js";

/** Records parsed per file open. */
const BATCH = 2048;

/**
 * Visit the parsed object of each record without retaining it on the session (a large
 * file opened without retention would otherwise end up wholly in memory). Values are as
 * written: a legacy file's in-memory upgrade is not applied, which summaries do not need.
 */
export function visitEntryValues(session: Session, records: readonly EntryRecord[], fn: (value: Record<string, unknown>, r: EntryRecord) => void): void {
  for (let start = 0; start < records.length; start += BATCH) {
    const batch = records.slice(start, start + BATCH);
    const parsed = new Map<EntryRecord, Record<string, unknown>>();
    const unread = batch.filter((r) => r.value === undefined);
    if (unread.length > 0) {
      session.forEachRaw(unread, (bytes, r) => {
        try {
          parsed.set(r, JSON.parse(bytes.toString("utf8")) as Record<string, unknown>);
        } catch (err) {
          throw new SessfmtError("E_SOURCE_CHANGED", "entry bytes no longer parse; the file changed since it was opened", {
            file: session.file,
            line: r.line,
            offset: r.offset,
            cause: err,
          });
        }
      });
    }
    for (const r of batch) fn((r.value as Record<string, unknown> | undefined) ?? (parsed.get(r) as Record<string, unknown>), r);
  }
}
