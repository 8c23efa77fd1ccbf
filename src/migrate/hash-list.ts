/**
 * SHA-256 values (lowercase hex, as payloadSha256 makes them) kept for the end of a pass
 * as their 32 bytes each in one growing buffer: verify keeps every line's hash until it
 * knows whether it must fold them into a chain itself, and 26,699 strings of 64 characters
 * kept to the end were garbage the collector copied twice. Anything that is not 64
 * lowercase hex digits is kept as it is (then every value is), so `at` always returns what
 * was pushed.
 */
const LOWER_HEX_64 = /^[0-9a-f]{64}$/;

export class HashList {
  private bytes = Buffer.allocUnsafe(32 * 4096);
  private strings: string[] | undefined;
  length = 0;

  push(hex: string): void {
    if (!this.strings) {
      if ((this.length + 1) * 32 > this.bytes.length) {
        const grown = Buffer.allocUnsafe(this.bytes.length * 2);
        this.bytes.copy(grown, 0, 0, this.length * 32);
        this.bytes = grown;
      }
      if (LOWER_HEX_64.test(hex) && this.bytes.write(hex, this.length * 32, 32, "hex") === 32) {
        this.length++;
        return;
      }
      this.strings = Array.from({ length: this.length }, (_, i) => this.at(i));
    }
    this.strings.push(hex);
    this.length++;
  }

  at(i: number): string {
    return this.strings ? (this.strings[i] as string) : this.bytes.toString("hex", i * 32, i * 32 + 32);
  }
}
