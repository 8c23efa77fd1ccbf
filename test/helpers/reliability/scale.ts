/**
 * How much work the reliability suites do. `npm test` runs the short versions; with
 * SESSFMT_SOAK=1 (`npm run soak`) every count is the long one. Any single count can be
 * overridden with its own variable (e.g. SESSFMT_KILLS=500), in either mode.
 */

export const SOAK = process.env.SESSFMT_SOAK === "1" || process.env.SESSFMT_SOAK === "true";

/** A count from its own variable, else the short or the soak default. */
export function count(envName: string, short: number, soak: number): number {
  const raw = process.env[envName];
  if (raw !== undefined && raw !== "") {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${envName} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    return n;
  }
  return SOAK ? soak : short;
}

export const scale = {
  /** SIGKILLs per append durability mode (and for the autosave queue). */
  appendKills: count("SESSFMT_KILLS", 20, 300),
  /** SIGKILLs during upgradeSession. */
  upgradeKills: count("SESSFMT_UPGRADE_KILLS", 20, 300),
  /** Processes and appends each in the concurrency suite. */
  writers: count("SESSFMT_WRITERS", 8, 8),
  appendsPerWriter: count("SESSFMT_APPENDS_PER_WRITER", 500, 500),
  /** Consistent-prefix opens while another process appends. */
  readerOpens: count("SESSFMT_READER_OPENS", 40, 400),
  /** fast-check runs per property. */
  fuzzRuns: count("SESSFMT_FUZZ_RUNS", 60, 2000),
  /** Writer appends after mutation: runs per property (each touches the disk). */
  fuzzWriterRuns: count("SESSFMT_FUZZ_WRITER_RUNS", 60, 600),
  /** Every Nth offset of the small file is also opened with the two file readers (1 = all). */
  truncationReaderStride: count("SESSFMT_TRUNCATION_READER_STRIDE", 5, 1),
  /** Every Nth offset of the small file gets a writer append after truncation (1 = all). */
  truncationWriterStride: count("SESSFMT_TRUNCATION_WRITER_STRIDE", 9, 1),
  /** Depth of the deep-chain file and length of the giant cycle (10^6 opens in seconds, not in a short run). */
  deepChain: count("SESSFMT_DEEP_CHAIN", 100_000, 1_000_000),
  /** Size of the single huge line (bytes); the 200 MB case runs in soak only. */
  hugeLineBytes: count("SESSFMT_HUGE_LINE_BYTES", 8 * 1024 * 1024, 200 * 1024 * 1024),
};

/** Seed for fast-check: SESSFMT_FUZZ_SEED replays a failure; soak runs pick a new one. */
export function fuzzSeed(): number {
  const raw = process.env.SESSFMT_FUZZ_SEED;
  if (raw !== undefined && raw !== "") return Number(raw);
  return SOAK ? Date.now() % 2_147_483_647 : 20_251_121;
}

/** fast-check parameters: seed, optional replay path (SESSFMT_FUZZ_PATH), run count. */
export function fcParams(numRuns: number): { seed: number; numRuns: number; path?: string; endOnFailure: boolean } {
  const path = process.env.SESSFMT_FUZZ_PATH;
  return path ? { seed: fuzzSeed(), numRuns, path, endOnFailure: true } : { seed: fuzzSeed(), numRuns, endOnFailure: false };
}

/** Per-test time limit: a hang guard only, never a performance assertion. */
export function hangGuardMs(shortMs: number, soakMs = shortMs * 20): number {
  return SOAK ? soakMs : shortMs;
}
