import { realpath } from "node:fs/promises";
import { resolve } from "node:path";
import lockfile from "proper-lockfile";
import { SessfmtError } from "./errors.js";

/**
 * Cross-process lock on a session file: the directory `<file>.lock`, created with mkdir
 * (atomic on every local filesystem) by proper-lockfile, which keeps its mtime fresh while
 * held so a crashed holder's lock goes stale and is taken over.
 *
 * proper-lockfile's own retry loop cannot be bounded in time or aborted, so the wait is a
 * loop here: one attempt at a time, backoff with jitter, a deadline, and an AbortSignal.
 * Its default reaction to a compromised lock is to throw from a timer, which kills the
 * process; here the compromise is recorded on the handle instead, and the operation
 * holding the lock is made to fail with E_LOCK_COMPROMISED.
 */

export interface LockOptions {
  /** Longest total wait for a held lock before E_LOCKED (default 10 000 ms). */
  timeoutMs?: number;
  /**
   * A lock whose mtime is older than this is stale and is taken over (default 8 000 ms,
   * minimum 2 000, enforced by proper-lockfile). The holder refreshes it every staleMs/2.
   */
  staleMs?: number;
  /** First retry delay (default 5 ms); doubles up to maxRetryMs, with jitter. */
  minRetryMs?: number;
  /**
   * Longest single retry delay (default DEFAULT_LOCK_MAX_RETRY_MS, 8 ms). Kept below
   * LOCK_LEASE_YIELD_MS so that a waiter tries at least once while a writer that held the
   * lock for its longest lease stands back (SPEC 8.3); a failed try costs a mkdir and a stat.
   */
  maxRetryMs?: number;
  signal?: AbortSignal;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
export const DEFAULT_LOCK_STALE_MS = 8_000;
export const DEFAULT_LOCK_MAX_RETRY_MS = 8;

/** A held lock. */
export interface LockHandle {
  /** The locked file (symlinks resolved). */
  readonly file: string;
  /** The lock directory, `<file>.lock`. */
  readonly lockPath: string;
  /** Set when the lock was lost while held (removed or taken over as stale). */
  readonly compromised: SessfmtError | undefined;
  /** Throw E_LOCK_COMPROMISED if the lock was lost; call right before a write. */
  assertHeld(): void;
  /** Release (idempotent; never throws for a lock that was already lost). */
  release(): Promise<void>;
  /**
   * Stop holding without removing the lock directory: for a lock found replaced by another
   * holder's, whose directory it now is. Stops the refresh; idempotent.
   */
  abandon(): Promise<void>;
}

/** The path of the lock for a session file. */
export function lockPathFor(file: string): string {
  return `${file}.lock`;
}

async function canonical(file: string): Promise<string> {
  try {
    return await realpath(file);
  } catch {
    // Not there yet (or a dangling link): lock the name as given.
    return resolve(file);
  }
}

/** Wait `ms`, or less when `signal` aborts (the caller checks the signal after). */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(finish, ms);
    function finish(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", finish);
      done();
    }
    signal?.addEventListener("abort", finish, { once: true });
  });
}

/** Acquire the lock on `file`, waiting (bounded) while another holder has it. */
export async function acquireLock(file: string, opts: LockOptions = {}): Promise<LockHandle> {
  const target = await canonical(file);
  const lockPath = lockPathFor(target);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const staleMs = opts.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const maxRetryMs = opts.maxRetryMs ?? DEFAULT_LOCK_MAX_RETRY_MS;
  const deadline = Date.now() + timeoutMs;
  let delay = opts.minRetryMs ?? 5;
  let compromised: SessfmtError | undefined;
  let released = false;
  let attempts = 0;

  for (;;) {
    if (opts.signal?.aborted) {
      throw new SessfmtError("E_ABORTED", "aborted while waiting for the session lock", { file: target, cause: opts.signal.reason });
    }
    attempts++;
    let unlock: () => Promise<void>;
    try {
      unlock = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: lockPath,
        stale: staleMs,
        retries: 0,
        onCompromised: (err: Error) => {
          // A late timer can report after our own release removed the directory: ignore it.
          if (released) return;
          compromised = new SessfmtError(
            "E_LOCK_COMPROMISED",
            `the lock ${lockPath} was lost while held (${err.message}); another writer may have written meanwhile`,
            { file: target, cause: err },
          );
        },
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ELOCKED") {
        throw new SessfmtError("E_IO", `cannot create the lock ${lockPath}: ${(err as Error).message}`, { file: target, cause: err });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new SessfmtError(
          "E_LOCKED",
          `session is locked by another writer (${lockPath}); gave up after ${timeoutMs} ms and ${attempts} attempts`,
          { file: target, cause: err },
        );
      }
      const jittered = delay / 2 + Math.random() * (delay / 2);
      await sleep(Math.min(jittered, left), opts.signal);
      delay = Math.min(delay * 2, maxRetryMs);
      continue;
    }
    return {
      file: target,
      lockPath,
      get compromised() {
        return compromised;
      },
      assertHeld() {
        if (compromised) throw compromised;
      },
      async release() {
        if (released) return;
        released = true;
        try {
          await unlock();
        } catch (err) {
          // ERELEASED / ENOTACQUIRED: already lost, and that was recorded in `compromised`.
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== "ERELEASED" && code !== "ENOTACQUIRED") {
            throw new SessfmtError("E_IO", `cannot remove the lock ${lockPath}: ${(err as Error).message}`, { file: target, cause: err });
          }
        }
      },
      async abandon() {
        if (released) return;
        released = true;
        // proper-lockfile's unlock forgets the lock and stops its refresh, then removes the
        // directory through `fs.rmdir` (the only file call it makes with realpath off):
        // given one that does nothing, the directory stays.
        const keepDirectory = { rmdir: (_path: string, done: (err: null) => void) => done(null) };
        await lockfile.unlock(target, { realpath: false, lockfilePath: lockPath, fs: keepDirectory }).catch(() => undefined);
      },
    };
  }
}

/**
 * Run `fn` holding the lock on `file`; always releases. Rejects with E_LOCK_COMPROMISED
 * if the lock was lost at any point while `fn` ran (even when `fn` succeeded: its work
 * may have interleaved with another writer's).
 */
export async function withLock<T>(file: string, fn: (lock: LockHandle) => Promise<T> | T, opts: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(file, opts);
  let result: T;
  try {
    result = await fn(lock);
  } catch (err) {
    await lock.release().catch(() => undefined);
    const lost = lock.compromised;
    if (lost && !(err instanceof SessfmtError && err.code === "E_LOCK_COMPROMISED")) {
      // The lost lock is the root problem; keep the operation's own error beside it.
      throw new SessfmtError("E_LOCK_COMPROMISED", `the lock was lost while held and the operation failed: ${(err as Error)?.message ?? String(err)}`, {
        file: lock.file,
        cause: lost,
        data: { operationError: err },
      });
    }
    throw err;
  }
  await lock.release();
  lock.assertHeld();
  return result;
}
