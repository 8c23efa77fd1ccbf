import { createHash } from "node:crypto";

/** The chain value before any frame: 64 ASCII zeros. */
export const GENESIS_CHAIN_HASH = "0".repeat(64);

/** Lowercase hex SHA-256 of a frame's payload text (the exact JSONL line bytes, no line end). */
export function payloadSha256(payload: Uint8Array | string): string {
  return createHash("sha256").update(payload).digest("hex");
}

/**
 * One step of the hash chain: sha256_hex(ascii(prevChainHex) + ascii(payloadSha256Hex)).
 * The chain runs over index rows in entrySeq order, starting at GENESIS_CHAIN_HASH.
 */
export function chainStep(prevChainHex: string, payloadSha256Hex: string): string {
  return createHash("sha256").update(prevChainHex, "latin1").update(payloadSha256Hex, "latin1").digest("hex");
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
