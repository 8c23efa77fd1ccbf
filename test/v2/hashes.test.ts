/**
 * SPEC 11.5: CRC-32C (Castagnoli), payload SHA-256 and the hash chain.
 */
import fc from "fast-check";
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chainOf, chainStep, crc32c, crc32cHex, crc32cUpdate, GENESIS_CHAIN_HASH, payloadSha256 } from "../../src/index.js";

/** The definition, one bit at a time: reflected polynomial 0x82F63B78, init and final XOR all ones. */
function bitwiseCrc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of data) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("11.5 Hashes and checksums", () => {
  it("CRC-32C matches the published check values", () => {
    expect(crc32cHex("123456789")).toBe("E3069283");
    expect(crc32cHex("")).toBe("00000000");
    // RFC 3720 (iSCSI) appendix B.4
    expect(crc32cHex(Buffer.alloc(32, 0x00))).toBe("8A9136AA");
    expect(crc32cHex(Buffer.alloc(32, 0xff))).toBe("62A8AB43");
    expect(crc32cHex(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe("46DD794E");
    expect(crc32cHex(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)))).toBe("113FDB5C");
  });

  it("CRC-32C (slicing-by-8) equals the bitwise definition on any bytes, at any alignment", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 7 }), (data, skip) => {
        const view = data.subarray(Math.min(skip, data.length));
        expect(crc32c(view)).toBe(bitwiseCrc32c(view));
      }),
      { numRuns: 300 },
    );
  });

  it("CRC-32C can be continued: crc(a ++ b) = update(crc(a), b)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        expect(crc32cUpdate(crc32c(a), b)).toBe(crc32c(Buffer.concat([a, b])));
      }),
      { numRuns: 100 },
    );
  });

  it("CRC-32C is written as 8 uppercase hex digits", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (d) => {
        expect(crc32cHex(d)).toMatch(/^[0-9A-F]{8}$/);
      }),
    );
  });

  it("payloadSha256 is the lowercase hex SHA-256 of the payload bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (d) => {
        expect(payloadSha256(d)).toBe(createHash("sha256").update(d).digest("hex"));
      }),
    );
  });

  it("the chain starts at 64 zeros and each step hashes the ASCII of both hex strings", () => {
    expect(GENESIS_CHAIN_HASH).toBe("0".repeat(64));
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{64}$/), (prev, p) => {
        expect(chainStep(prev, p)).toBe(createHash("sha256").update(prev + p, "ascii").digest("hex"));
      }),
    );
  });

  it("the chain is order-sensitive and folds step by step", () => {
    const a = payloadSha256("a");
    const b = payloadSha256("b");
    expect(chainOf([a, b])).toBe(chainStep(chainStep(GENESIS_CHAIN_HASH, a), b));
    expect(chainOf([a, b])).not.toBe(chainOf([b, a]));
    expect(chainOf([])).toBe(GENESIS_CHAIN_HASH);
  });
});
