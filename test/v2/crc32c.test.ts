/**
 * The slicing-by-16 CRC-32C (src/v2/crc32c.ts), in WebAssembly and in JavaScript, against
 * the implementation it replaced (slicing-by-8 with byte loads, kept here as the
 * reference) and the bitwise definition, on inputs of every length class and at every
 * alignment of the underlying memory.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assembleModule } from "../../src/format/wasm-asm.js";
import { CRC_WASM, CRC_WASM_MIN, crc32c, crc32cHex, crc32cUpdate, crc32cUpdateJs } from "../../src/v2/crc32c.js";
import { CRC_CHUNK, CRC_PAGES, CRC_PROGRAM } from "../../src/v2/crc32c-program.js";

const POLY = 0x82f63b78;

function bitwise(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

const T8: Uint32Array[] = (() => {
  const t: Uint32Array[] = [];
  for (let k = 0; k < 8; k++) t.push(new Uint32Array(256));
  const t0 = t[0] as Uint32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let i = 0; i < 8; i++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n] as number;
    for (let k = 1; k < 8; k++) {
      c = (t0[c & 0xff] as number) ^ (c >>> 8);
      (t[k] as Uint32Array)[n] = c >>> 0;
    }
  }
  return t;
})();

/** The previous implementation: slicing-by-8. */
function slicingBy8(crc: number, data: Uint8Array): number {
  const [A, B, C, D, E, F, G, H] = T8 as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const lo = (c ^ ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24))) >>> 0;
    c =
      (H[lo & 0xff] as number) ^
      (G[(lo >>> 8) & 0xff] as number) ^
      (F[(lo >>> 16) & 0xff] as number) ^
      (E[lo >>> 24] as number) ^
      (D[data[i + 4] as number] as number) ^
      (C[data[i + 5] as number] as number) ^
      (B[data[i + 6] as number] as number) ^
      (A[data[i + 7] as number] as number);
    i += 8;
  }
  while (i < n) {
    c = (A[(c ^ (data[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

/** `data` copied to `shift` bytes into a fresh buffer, so its byteOffset is `shift` (mod 4: every alignment). */
function shifted(data: Uint8Array, shift: number): Uint8Array {
  const backing = new Uint8Array(data.length + shift + 3);
  backing.set(data, shift);
  return backing.subarray(shift, shift + data.length);
}

describe("CRC-32C, slicing-by-16", () => {
  it("equals slicing-by-8 and the bitwise definition at every length and alignment", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), fc.nat({ max: 7 }), fc.nat({ max: 0xffffffff }), (data, shift, start) => {
        const view = shifted(data, shift);
        expect(crc32c(view)).toBe(bitwise(data));
        expect(crc32cUpdate(start, view)).toBe(slicingBy8(start, data));
      }),
      { numRuns: 500 },
    );
  });

  it("agrees around the thresholds where the word loop starts and ends", () => {
    const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 131 + 7) & 0xff);
    for (let len = 0; len <= 130; len++) {
      for (let shift = 0; shift < 4; shift++) {
        const view = shifted(data.subarray(0, len), shift);
        expect(crc32c(view)).toBe(slicingBy8(0, data.subarray(0, len)));
      }
    }
  });

  it("agrees on large inputs (frames of a few MB), continued in pieces", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.nat({ max: 3 }), fc.integer({ min: 1, max: 1 << 19 }), (len, shift, cut) => {
        const data = new Uint8Array(len);
        for (let i = 0; i < len; i++) data[i] = (i * 2654435761) >>> 24;
        const view = shifted(data, shift);
        const whole = slicingBy8(0, data);
        expect(crc32c(view)).toBe(whole);
        const k = Math.min(cut, len);
        expect(crc32cUpdate(crc32cUpdate(0, view.subarray(0, k)), view.subarray(k))).toBe(whole);
      }),
      { numRuns: 20 },
    );
  });

  it("keeps the published check value", () => {
    expect(crc32cHex("123456789")).toBe("E3069283");
    expect(crc32c(Buffer.alloc(4096, 0xff))).toBe(bitwise(Buffer.alloc(4096, 0xff)));
  });

  it("the WebAssembly module is the program assembled", () => {
    expect(Buffer.from(assembleModule([CRC_PROGRAM], CRC_PAGES)).toString("base64")).toBe(CRC_WASM);
  });

  it("WebAssembly and JavaScript agree around the size where WebAssembly takes over, at every alignment and start value", () => {
    fc.assert(
      fc.property(fc.integer({ min: CRC_WASM_MIN - 40, max: CRC_WASM_MIN + 700 }), fc.nat({ max: 7 }), fc.nat({ max: 0xffffffff }), fc.nat(), (len, shift, start, seed) => {
        const data = Uint8Array.from({ length: len }, (_, i) => ((i + seed) * 2654435761) >>> 24);
        const view = shifted(data, shift);
        expect(crc32cUpdate(start, view)).toBe(slicingBy8(start, data));
        expect(crc32cUpdateJs(start, view)).toBe(slicingBy8(start, data));
      }),
      { numRuns: 300 },
    );
  });

  it("an input larger than the module's memory is checksummed in pieces, as one", () => {
    for (const len of [CRC_CHUNK - 1, CRC_CHUNK, CRC_CHUNK + 1, 2 * CRC_CHUNK + 17]) {
      const data = Uint8Array.from({ length: len }, (_, i) => (i * 40503) >>> 8);
      expect(crc32cUpdate(7, data)).toBe(slicingBy8(7, data));
    }
  });
});
