/**
 * Lone UTF-16 surrogates can only reach a parsed string through a JSON escape
 * (raw surrogate bytes are invalid UTF-8 and are skipped earlier), so a cheap textual
 * pre-check gates the walk over the parsed value.
 */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

export function mayHaveLoneSurrogate(jsonText: string): boolean {
  return SURROGATE_ESCAPE.test(jsonText);
}

/** True when any string or key in the value is not well-formed UTF-16. Iterative. */
export function hasLoneSurrogate(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === "string") {
      if (!v.isWellFormed()) return true;
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (!k.isWellFormed()) return true;
        stack.push(x);
      }
    }
  }
  return false;
}
