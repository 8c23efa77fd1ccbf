/** The result of decoding one line of a sessfmt-owned record file. */
export type DecodedRecord<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Parse one record line as a JSON object carrying the expected `schema`; the record's own
 * decoder checks the rest. Never throws: a damaged line is reported, not fatal.
 */
export function parseRecordObject(text: string, schema: string): DecodedRecord<Record<string, unknown>> {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` };
  }
  if (o === null || typeof o !== "object" || Array.isArray(o)) return { ok: false, message: "not a JSON object" };
  const r = o as Record<string, unknown>;
  if (r.schema !== schema) return { ok: false, message: `unsupported schema ${JSON.stringify(r.schema)}` };
  return { ok: true, value: r };
}
