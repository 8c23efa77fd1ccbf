import { randomBytes, randomUUID } from "node:crypto";

/**
 * Entry and session ids as pi writes them: entries get 8 lowercase hex characters
 * (short, so files stay readable), sessions get a UUIDv7 (time-ordered, so file
 * listings sort by creation).
 */

/** Anything that can say whether an id is already used (a Set, a Map, a writer). */
export interface IdRegistry {
  has(id: string): boolean;
}

const SHORT_ID_ATTEMPTS = 100;

// CSPRNG bytes drawn 4 KiB at a time: one crypto call per 1024 ids instead of one per id
// (the call, not the randomness, was most of the cost of a batched append).
let pool = Buffer.alloc(0);
let poolAt = 0;

/** 4 random bytes as 8 lowercase hex digits. */
function randomHex4(): string {
  if (poolAt + 4 > pool.length) {
    pool = randomBytes(4096);
    poolAt = 0;
  }
  const hex = pool.toString("hex", poolAt, poolAt + 4);
  poolAt += 4;
  return hex;
}

/**
 * A fresh 8-hex entry id that `taken` does not hold. After 100 collisions (a file with
 * a large share of the 2^32 space used) it falls back to a full random UUID, as pi does.
 */
export function generateEntryId(taken: IdRegistry): string {
  for (let i = 0; i < SHORT_ID_ATTEMPTS; i++) {
    const id = randomHex4();
    if (!taken.has(id)) return id;
  }
  for (;;) {
    const id = randomUUID();
    if (!taken.has(id)) return id;
  }
}

/** True for an id of the short form generateEntryId normally returns. */
export function isShortEntryId(id: string): boolean {
  return /^[0-9a-f]{8}$/.test(id);
}

const RAND_BITS = 74n;
const RAND_LIMIT = 1n << RAND_BITS;
let lastMs = -1;
let lastRand = 0n;

function random74(): bigint {
  const b = randomBytes(10); // 80 bits, keep 74
  return BigInt(`0x${b.toString("hex")}`) & (RAND_LIMIT - 1n);
}

/**
 * A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits, variant 10.
 * Ids made by this process are strictly increasing even within one millisecond (the
 * random part is incremented, as RFC 9562 method 2 allows), so sorting ids sorts sessions
 * by creation. `nowMs` sets the embedded time (creation time of imported sessions, tests).
 */
export function generateSessionId(nowMs: number = Date.now()): string {
  let ms = Math.max(0, Math.floor(nowMs));
  let rand: bigint;
  if (ms > lastMs) {
    rand = random74();
    lastMs = ms;
    lastRand = rand;
  } else if (ms === lastMs) {
    // Same millisecond: keep order by counting up the random part.
    rand = lastRand + 1n;
    if (rand >= RAND_LIMIT) {
      ms += 1;
      rand = random74();
      lastMs = ms;
    }
    lastRand = rand;
  } else {
    // An earlier time (clock stepped back, or a caller's explicit time): honour it,
    // without disturbing the order of ids made at the current time.
    rand = random74();
  }
  const randA = rand >> 62n;
  const randB = rand & ((1n << 62n) - 1n);
  const value = (BigInt(ms) << 80n) | (7n << 76n) | (randA << 64n) | (2n << 62n) | randB;
  const hex = value.toString(16).padStart(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The millisecond timestamp inside a UUIDv7 (undefined when `id` is not one). */
export function uuidV7Time(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
