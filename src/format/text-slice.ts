/**
 * Decoding a range of a Buffer to a string with the decoder toString(encoding, start, end)
 * ends up calling, without the wrapper's argument checks and lookup of the encoding's
 * name. Callers pass ranges they have checked. In a process that has just started that
 * wrapper is interpreted JavaScript that costs more than decoding a short string; the
 * readers call these once or twice per line or frame. Where a Buffer lacks the methods,
 * toString.
 */

interface Slicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

const proto = Buffer.prototype as unknown as Partial<Slicers>;
const DIRECT = typeof proto.latin1Slice === "function" && typeof proto.utf8Slice === "function";

/** `b.toString("latin1", start, end)` for 0 <= start <= end <= b.length. */
export function latin1Text(b: Buffer, start: number, end: number): string {
  return DIRECT ? (b as unknown as Slicers).latin1Slice(start, end) : b.toString("latin1", start, end);
}

/** `b.toString("utf8", start, end)` for 0 <= start <= end <= b.length. */
export function utf8Text(b: Buffer, start: number, end: number): string {
  return DIRECT ? (b as unknown as Slicers).utf8Slice(start, end) : b.toString("utf8", start, end);
}
