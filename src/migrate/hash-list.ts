/**
 * SHA-256 values as payloadSha256 makes them (64 lowercase hex digits), kept for the end of
 * a pass as their 32 bytes each in one growing buffer: verify keeps every line's hash until
 * it knows whether it must fold them into a chain itself, and 26,699 strings of 64
 * characters kept to the end were garbage the collector copied twice.
 */
/** Hashes kept in order: how many, add one, the k-th. */
export interface KeptHashes {
  readonly length: number;
  push(hex: string): void;
  at(k: number): string;
}

export class HashList implements KeptHashes {
  // Grown by doubling from 64 hashes: a fixed 128 KiB per pass was most of an archive
  // run's Buffer memory (one pass per small file), and Buffer memory drives full collections.
  private bytes = Buffer.allocUnsafe(32 * 64);
  length = 0;

  /** Keep `hex`, which must be 64 lowercase hex digits (`at` gives it back as such). */
  push(hex: string): void {
    const at = this.length * 32;
    if (at + 32 > this.bytes.length) {
      const grown = Buffer.allocUnsafe(this.bytes.length * 2);
      this.bytes.copy(grown, 0, 0, at);
      this.bytes = grown;
    }
    if (hex.length !== 64 || this.bytes.write(hex, at, 32, "hex") !== 32) throw new Error(`not a SHA-256 in hex: ${JSON.stringify(hex)}`);
    this.length++;
  }

  at(i: number): string {
    return this.bytes.toString("hex", i * 32, i * 32 + 32);
  }
}
