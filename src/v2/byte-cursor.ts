/**
 * The byte-level reader behind the fast paths of the frame-head and index-row decoders:
 * literals, integers and strings exactly as the writer makes them, one pass over the
 * bytes, nothing built but the values. Any byte it does not expect makes `pos` -1, and
 * the caller then takes the JSON.parse path, which decides.
 */

/** The bytes being read and where the reading is (-1 once something did not match). */
export class Cursor {
  pos = 0;
  constructor(
    readonly b: Buffer,
    readonly end: number,
  ) {}

  /** Consume `lit` exactly. */
  lit(lit: Buffer): boolean {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + lit.length > this.end) return this.fail();
    for (let k = 0; k < lit.length; k++) if (b[p + k] !== lit[k]) return this.fail();
    this.pos = p + lit.length;
    return true;
  }

  /** Whether the next bytes are `lit` (nothing consumed). */
  peek(lit: Buffer): boolean {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + lit.length > this.end) return false;
    for (let k = 0; k < lit.length; k++) if (b[p + k] !== lit[k]) return false;
    return true;
  }

  /** An integer of 1-15 digits without a leading zero (or "0" when `zero`); -1 otherwise. */
  int(zero: boolean): number {
    const b = this.b;
    let p = this.pos;
    if (p < 0 || p >= this.end) return this.failNum();
    const first = b[p] as number;
    if (first === 0x30) {
      if (!zero) return this.failNum();
      this.pos = p + 1;
      const next = b[p + 1];
      return next !== undefined && next >= 0x30 && next <= 0x39 ? this.failNum() : 0;
    }
    let v = 0;
    const start = p;
    while (p < this.end) {
      const c = b[p] as number;
      if (c < 0x30 || c > 0x39) break;
      v = v * 10 + (c - 0x30);
      p++;
    }
    if (p === start || p - start > 15) return this.failNum();
    this.pos = p;
    return v;
  }

  /** A non-empty (unless `empty`) string of printable ASCII, no quote or backslash. */
  str(empty: boolean): string | undefined {
    const b = this.b;
    let p = this.pos;
    if (p < 0 || b[p] !== 0x22) return this.failStr();
    const start = ++p;
    while (p < this.end) {
      const c = b[p] as number;
      if (c === 0x22) break;
      if (c < 0x20 || c > 0x7e || c === 0x5c) return this.failStr();
      p++;
    }
    if (p >= this.end || (p === start && !empty)) return this.failStr();
    this.pos = p + 1;
    return b.toString("latin1", start, p);
  }

  /** A string of exactly 8 uppercase hex digits (a CRC-32C as the index records it). */
  crc(): string | undefined {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + 10 > this.end || b[p] !== 0x22 || b[p + 9] !== 0x22) return this.failStr();
    for (let k = p + 1; k <= p + 8; k++) {
      const c = b[k] as number;
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46))) return this.failStr();
    }
    this.pos = p + 10;
    return b.toString("latin1", p + 1, p + 9);
  }

  /** A string of exactly 64 lowercase hex digits. */
  sha(): string | undefined {
    const b = this.b;
    const p = this.pos;
    if (p < 0 || p + 66 > this.end || b[p] !== 0x22 || b[p + 65] !== 0x22) return this.failStr();
    for (let k = p + 1; k <= p + 64; k++) {
      const c = b[k] as number;
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return this.failStr();
    }
    this.pos = p + 66;
    return b.toString("latin1", p + 1, p + 65);
  }

  private fail(): false {
    this.pos = -1;
    return false;
  }

  private failNum(): number {
    this.pos = -1;
    return -1;
  }

  private failStr(): undefined {
    this.pos = -1;
    return undefined;
  }
}
