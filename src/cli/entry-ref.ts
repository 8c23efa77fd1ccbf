import { SessfmtError, type Session } from "../format/index.js";

/**
 * The entry a user means by `ref`: an exact id, or else a unique id prefix (human
 * output shows ids cut to 8 characters, and people paste what they see).
 */
export function resolveEntryRef(session: Session, ref: string): string {
  if (session.tree.has(ref)) return ref;
  const matches: string[] = [];
  if (ref.length > 0) {
    const seen = new Set<string>();
    for (const r of session.records) {
      if (r.id.startsWith(ref) && !seen.has(r.id)) {
        seen.add(r.id);
        matches.push(r.id);
        if (matches.length > 5) break;
      }
    }
  }
  if (matches.length === 1) return matches[0] as string;
  if (matches.length === 0) {
    throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id or id prefix ${JSON.stringify(ref)}`, { file: session.file });
  }
  const shown = matches.slice(0, 5).map((m) => JSON.stringify(m)).join(", ");
  throw new SessfmtError("E_INVALID_ARGUMENT", `id prefix ${JSON.stringify(ref)} is ambiguous: it matches ${shown}${matches.length > 5 ? ", ..." : ""}`, {
    file: session.file,
  });
}
