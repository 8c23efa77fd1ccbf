import { SessfmtError } from "../format/errors.js";

/**
 * How much of a sidecar an open loads:
 * - "full": every frame (the whole tree);
 * - "active": only the frames on the path from a leaf (default: the last entry) to its root;
 * - "tail:N": the last N frames by entrySeq.
 * No mode re-hashes anything; that is validate's job.
 */
export type V2OpenMode = "full" | "active" | `tail:${number}`;

export type ParsedOpenMode = { kind: "full" } | { kind: "active" } | { kind: "tail"; count: number };

export function parseV2OpenMode(mode: string): ParsedOpenMode {
  if (mode === "full") return { kind: "full" };
  if (mode === "active") return { kind: "active" };
  const m = /^tail:([0-9]+)$/.exec(mode);
  if (m) {
    const count = Number(m[1]);
    if (Number.isSafeInteger(count)) return { kind: "tail", count };
  }
  throw new SessfmtError("E_INVALID_ARGUMENT", `unknown open mode ${JSON.stringify(mode)} (full, active or tail:N)`);
}

export function isV2OpenMode(mode: unknown): mode is V2OpenMode {
  if (typeof mode !== "string") return false;
  try {
    parseV2OpenMode(mode);
    return true;
  } catch {
    return false;
  }
}
