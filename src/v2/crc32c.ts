/**
 * CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final XOR 0xFFFFFFFF),
 * the checksum the Rust port's `crc32c` crate computes over every frame line.
 *
 * Slicing-by-16: sixteen 256-entry tables let the inner loop consume sixteen bytes per
 * step, read as four 32-bit words through an Int32Array view of the aligned middle of the
 * input (one typed-array load per word instead of four byte loads and shifts). Every pass
 * over a sidecar (write, verify) checksums every frame byte, and this runs about twice as
 * fast as slicing-by-8 with byte loads. On a big-endian host the words would come out
 * byte-swapped, so there the byte-wise loop is used throughout.
 */

const POLY = 0x82f63b78;

/** Table k (k = 0..15) at [k * 256, k * 256 + 256): T_k[n] = CRC of byte n followed by k zero bytes. */
const T: Uint32Array = (() => {
  const t = new Uint32Array(16 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[n] as number;
    for (let k = 1; k < 16; k++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8);
      t[k * 256 + n] = c >>> 0;
    }
  }
  return t;
})();

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** One byte at a time, from `i` to `end`. */
function bytewise(c: number, data: Uint8Array, i: number, end: number): number {
  while (i < end) {
    c = (T[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return c;
}

/** Sixteen bytes per step over `words` (a multiple of 4 words, little-endian). */
function sliced(c: number, w: Int32Array): number {
  for (let j = 0; j < w.length; j += 4) {
    const a = c ^ (w[j] as number);
    const b = w[j + 1] as number;
    const d = w[j + 2] as number;
    const e = w[j + 3] as number;
    c =
      (T[3840 + (a & 0xff)] as number) ^
      (T[3584 + ((a >>> 8) & 0xff)] as number) ^
      (T[3328 + ((a >>> 16) & 0xff)] as number) ^
      (T[3072 + (a >>> 24)] as number) ^
      (T[2816 + (b & 0xff)] as number) ^
      (T[2560 + ((b >>> 8) & 0xff)] as number) ^
      (T[2304 + ((b >>> 16) & 0xff)] as number) ^
      (T[2048 + (b >>> 24)] as number) ^
      (T[1792 + (d & 0xff)] as number) ^
      (T[1536 + ((d >>> 8) & 0xff)] as number) ^
      (T[1280 + ((d >>> 16) & 0xff)] as number) ^
      (T[1024 + (d >>> 24)] as number) ^
      (T[768 + (e & 0xff)] as number) ^
      (T[512 + ((e >>> 8) & 0xff)] as number) ^
      (T[256 + ((e >>> 16) & 0xff)] as number) ^
      (T[e >>> 24] as number);
  }
  return c;
}

/** Inputs shorter than this are not worth a typed-array view. */
const SLICE_MIN = 64;

/**
 * Continue a CRC-32C over `data`. `crc` is a previous result (0 to start), so
 * crc32cUpdate(crc32cUpdate(0, a), b) === crc32c(a ++ b).
 */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  let c = ~crc >>> 0;
  const n = data.length;
  if (!LITTLE_ENDIAN || n < SLICE_MIN) return ~bytewise(c, data, 0, n) >>> 0;
  // Bytes up to the first 4-byte boundary of the underlying memory, then whole 16-byte
  // blocks as words, then the rest.
  const head = (4 - (data.byteOffset & 3)) & 3;
  c = bytewise(c, data, 0, head);
  const blocks = (n - head) >>> 4;
  c = sliced(c, new Int32Array(data.buffer, data.byteOffset + head, blocks * 4));
  return ~bytewise(c, data, head + blocks * 16, n) >>> 0;
}

/** CRC-32C of `data` as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array | string): number {
  return crc32cUpdate(0, typeof data === "string" ? Buffer.from(data, "utf8") : data);
}

/** CRC-32C as the sidecar writes it: 8 uppercase hex digits (`crc32c("123456789")` = "E3069283"). */
export function crc32cHex(data: Uint8Array | string): string {
  return crc32c(data).toString(16).toUpperCase().padStart(8, "0");
}
