/**
 * Counts of the sidecar reliability suites (sidecar-crash, sidecar-fuzz): short in
 * `npm test`, long with SESSFMT_SOAK=1; each can be overridden with its own variable.
 */
import { count, hangGuardMs } from "./scale.js";

export { hangGuardMs };

export const sidecarScale = {
  /** SIGKILLs per sidecar operation (migrate, sync, rollback, recover). */
  kills: count("SESSFMT_SIDECAR_KILLS", 15, 200),
  /** Entries of the generated session of a crash run. */
  entries: count("SESSFMT_SIDECAR_ENTRIES", 200, 600),
  /** Two-process migration races. */
  races: count("SESSFMT_SIDECAR_RACES", 4, 40),
  /** fast-check runs per sidecar fuzz property (each copies a sidecar and runs every reader). */
  fuzzRuns: count("SESSFMT_SIDECAR_FUZZ_RUNS", 30, 1000),
};
