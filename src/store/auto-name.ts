/** Longest auto name, in code points, before the "…" that marks a cut. */
export const AUTO_NAME_MAX = 50;

/**
 * A session name derived from the text of its first user message: whitespace collapsed,
 * at most `max` code points, cut at the last word boundary when the text is longer (and
 * marked with "…"). A single word longer than `max` is cut inside it. undefined for
 * text with nothing but whitespace.
 */
export function deriveSessionName(text: string, max: number = AUTO_NAME_MAX): string | undefined {
  const flat = text.replace(/\s+/g, " ").trim();
  if (flat.length === 0 || max <= 0) return undefined;
  const points = Array.from(flat);
  if (points.length <= max) return flat;
  const head = points.slice(0, max).join("");
  // The text continues with a space: the head already ends at a word boundary.
  const boundary = points[max] === " " ? head.length : head.lastIndexOf(" ");
  // A boundary near the start would leave a stub; cut inside the long word instead.
  const kept = boundary >= head.length / 2 ? head.slice(0, boundary) : head;
  return `${kept.replace(/[\s,;:.!?-]+$/u, "")}…`;
}
