import { hash } from "node:crypto";

/** The chain value before any frame: 64 ASCII zeros. */
export const GENESIS_CHAIN_HASH = "0".repeat(64);

/** Lowercase hex SHA-256 of a frame's payload text (the exact JSONL line bytes, no line end). */
export function payloadSha256(payload: Uint8Array | string): string {
  // One-shot hash: no Hash object per payload (a pass hashes every entry line).
  return hash("sha256", payload, "hex");
}

/** Room for the two 64-digit hex strings of a chain step. */
const CHAIN_INPUT = Buffer.alloc(128);

/**
 * One step of the hash chain: sha256_hex(ascii(prevChainHex) + ascii(payloadSha256Hex)).
 * The chain runs over index rows in entrySeq order, starting at GENESIS_CHAIN_HASH.
 */
export function chainStep(prevChainHex: string, payloadSha256Hex: string): string {
  const n = prevChainHex.length + payloadSha256Hex.length;
  if (n > CHAIN_INPUT.length) return hash("sha256", Buffer.from(prevChainHex + payloadSha256Hex, "latin1"), "hex");
  // A pass takes one step per entry: the two hex strings go through one reused buffer.
  CHAIN_INPUT.write(prevChainHex, 0, "latin1");
  CHAIN_INPUT.write(payloadSha256Hex, prevChainHex.length, "latin1");
  return hash("sha256", CHAIN_INPUT.subarray(0, n), "hex");
}

/** The chain over payload hashes in order. */
export function chainOf(payloadHashes: Iterable<string>, start: string = GENESIS_CHAIN_HASH): string {
  let chain = start;
  for (const h of payloadHashes) chain = chainStep(chain, h);
  return chain;
}

export function isLowerSha256Hex(s: unknown): s is string {
  return typeof s === "string" && /^[0-9a-f]{64}$/.test(s);
}

export function isUpperCrcHex(s: unknown): s is string {
  return typeof s === "string" && /^[0-9A-F]{8}$/.test(s);
}
