/**
 * pi's getLastActivityTime rule for one entry: a user or assistant message that carries
 * `content` counts at its message.timestamp (a number), else at the entry's timestamp;
 * anything else does not count. The latest such time is a session's "modified" time.
 */
export function messageActivityTime(entry: Record<string, unknown>): number | undefined {
  if (entry.type !== "message") return undefined;
  const m = entry.message as Record<string, unknown> | null;
  if (m === null || typeof m !== "object" || (m.role !== "user" && m.role !== "assistant") || !("content" in m)) return undefined;
  if (typeof m.timestamp === "number") return m.timestamp;
  const t = typeof entry.timestamp === "string" ? new Date(entry.timestamp).getTime() : NaN;
  return Number.isNaN(t) ? undefined : t;
}
