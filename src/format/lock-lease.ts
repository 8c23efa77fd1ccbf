import { statSync } from "node:fs";
import { SessfmtError } from "./errors.js";
import { acquireLock, DEFAULT_LOCK_MAX_RETRY_MS, sleep, type LockHandle, type LockOptions } from "./lock.js";

/**
 * A writer's lease on the cross-process lock of its session file (SPEC 8.3).
 *
 * Taking and releasing the lock costs a mkdir, a stat and an rmdir: on many disks more
 * than the fdatasync of a strict append. So after a batch the writer keeps the lock for a
 * short idle window, and a batch that follows within it pays nothing for the lock. The
 * lease ends after `idleMs` without a batch (an unref'd timer: an idle writer never holds
 * the lock), after `maxHoldMs` in all (then the writer stands back for LOCK_LEASE_YIELD_MS
 * before taking it again, longer than a waiter's longest retry delay, so a waiting process
 * gets its turn), on a failed batch, and at close.
 *
 * Kept safe by: `maxHoldMs` far below the stale age (another process can never take a
 * leased lock over as stale while it is in use), and a stat of the lock directory before
 * each reuse (the same directory, unchanged since it was created), so a lock removed or
 * replaced between batches fails the next batch with E_LOCK_COMPROMISED before it writes.
 */

/** Default idle window: long enough for the next append of a burst, short enough to go unnoticed. */
export const DEFAULT_LOCK_IDLE_MS = 5;
/** Default longest lease; see LOCK_LEASE_MAX_HOLD_LIMIT_MS. */
export const DEFAULT_LOCK_MAX_HOLD_MS = 500;
/**
 * Upper bound of `maxHoldMs`: below proper-lockfile's shortest refresh interval (1 s), so
 * the lock directory's mtime never changes during a lease and the reuse check can compare it.
 */
export const LOCK_LEASE_MAX_HOLD_LIMIT_MS = 900;
/**
 * After a lease ran for `maxHoldMs`: how long the writer waits before taking the lock
 * again. Longer than a waiter's longest retry delay plus a try, so every waiting process
 * tries within it; short against `maxHoldMs`, so a lone writer loses a few percent.
 */
export const LOCK_LEASE_YIELD_MS = 2.5 * DEFAULT_LOCK_MAX_RETRY_MS;

export interface LockLeaseOptions {
  /** Keep the lock this long after a batch (0: release after every batch). */
  idleMs?: number;
  /** Use one acquisition for batches for at most this long (clamped to LOCK_LEASE_MAX_HOLD_LIMIT_MS). */
  maxHoldMs?: number;
  /** How each acquisition waits (timeout, stale age, abort signal). */
  lock: LockOptions;
}

interface Held {
  lock: LockHandle;
  since: number;
  /** The lock directory as created: a reuse finds the same inode and mtime, or the lock was lost. */
  ino: number;
  mtimeMs: number;
}

export class LockLease {
  private held: Held | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  /** A release in progress (idle timer or max hold); the next take waits for it. */
  private releasing: Promise<void> = Promise.resolve();
  private releasePending = false;
  /** No acquisition before this time (Date.now()): standing back after a full lease. */
  private yieldUntil = 0;
  /** A loss found after the batch that used the lock had written: reported to the next batch. */
  private lost: SessfmtError | undefined;
  /** A batch is using the lock (between take and keep/drop): the idle timer leaves it alone. */
  private busy = false;
  private readonly idleMs: number;
  private readonly maxHoldMs: number;

  constructor(
    private readonly file: string,
    private readonly opts: LockLeaseOptions,
  ) {
    this.idleMs = Math.max(0, opts.idleMs ?? DEFAULT_LOCK_IDLE_MS);
    this.maxHoldMs = Math.min(Math.max(0, opts.maxHoldMs ?? DEFAULT_LOCK_MAX_HOLD_MS), LOCK_LEASE_MAX_HOLD_LIMIT_MS);
  }

  /**
   * The lock for one batch: the leased one while it is young enough and provably still
   * this writer's, else a fresh acquisition (bounded wait, E_LOCKED after it). Fails with
   * E_LOCK_COMPROMISED, once, when a lock released since the last batch turned out to have
   * been lost (that batch stood: its bytes were down while the lock was still held).
   */
  async take(): Promise<LockHandle> {
    this.busy = true;
    try {
      return await this.reuseOrAcquire();
    } catch (err) {
      this.busy = false;
      throw err;
    }
  }

  /**
   * The leased lock for one batch without waiting, when there is nothing to wait for: held,
   * no release in progress, no loss to report, young enough, and still ours. Otherwise
   * undefined, and take() decides (it also fails the batch when the lock was lost).
   */
  reuse(): LockHandle | undefined {
    const cur = this.held;
    if (!cur || this.releasePending || this.lost || cur.lock.compromised) return undefined;
    if (Date.now() - cur.since >= this.maxHoldMs || !this.stillOurs(cur)) return undefined;
    this.busy = true;
    return cur.lock;
  }

  private async reuseOrAcquire(): Promise<LockHandle> {
    await this.releasing;
    const lost = this.lost;
    this.lost = undefined;
    if (lost) throw lost;
    const cur = this.held;
    if (cur) {
      if (cur.lock.compromised) {
        this.held = undefined;
        await cur.lock.release().catch(() => undefined);
        throw cur.lock.compromised;
      }
      if (Date.now() - cur.since < this.maxHoldMs) {
        if (this.stillOurs(cur)) return cur.lock;
        this.held = undefined;
        // Removed, or another holder's directory now: either way removing it is not ours to do.
        await cur.lock.abandon();
        throw lostLock(cur.lock, "was removed, or replaced by another holder's, between two appends", undefined);
      }
      await this.endFullLease(cur);
    }
    const wait = this.yieldUntil - Date.now();
    if (wait > 0) await sleep(wait, this.opts.lock.signal);
    return this.acquire();
  }

  /**
   * The batch that used the lock succeeded: keep it for the idle window, or release it now
   * when leasing is off, the lease is used up, or the lock was lost meanwhile (then the
   * next batch fails with E_LOCK_COMPROMISED: this one's bytes were already down).
   * Returns the release to wait for when it releases at once, else nothing.
   */
  keep(): Promise<void> | undefined {
    this.busy = false;
    const cur = this.held;
    if (!cur) return undefined;
    if (cur.lock.compromised || this.idleMs === 0) return this.releaseHeld();
    if (Date.now() - cur.since >= this.maxHoldMs) {
      // Not awaited: the append resolves now; the next take waits for the release.
      this.startRelease(this.endFullLease(cur));
      return undefined;
    }
    // One timer per writer, restarted after each batch (a new one per append is garbage
    // per append); it fires only once a whole idle window passed without a batch starting.
    if (this.idleTimer) {
      this.idleTimer.refresh();
      return undefined;
    }
    this.idleTimer = setTimeout(() => this.onIdle(), this.idleMs);
    this.idleTimer.unref();
    return undefined;
  }

  private onIdle(): void {
    this.idleTimer = undefined;
    // A batch started since: it restarts the timer when it is done.
    if (this.busy) return;
    this.startRelease(this.releaseHeld());
  }

  private startRelease(release: Promise<void>): void {
    this.releasePending = true;
    this.releasing = release.finally(() => {
      this.releasePending = false;
    });
  }

  /** Release now (a failed batch, close). A loss found here is not reported: the caller is failing or done. */
  async drop(): Promise<void> {
    this.busy = false;
    this.cancelIdle();
    await this.releasing;
    const cur = this.held;
    this.held = undefined;
    await cur?.lock.release().catch(() => undefined);
  }

  private async acquire(): Promise<LockHandle> {
    const lock = await acquireLock(this.file, this.opts.lock);
    // Counted from here, before the stat: proper-lockfile's refresh timer started just before.
    const since = Date.now();
    let st;
    try {
      st = statSync(lock.lockPath);
    } catch (err) {
      // Gone right after it was created: someone removed it. Not ours to hold.
      await lock.abandon();
      throw lostLock(lock, "was removed right after it was taken", err);
    }
    this.held = { lock, since, ino: st.ino, mtimeMs: st.mtimeMs };
    return lock;
  }

  /**
   * The lock directory is still the one this lease created (same inode, mtime untouched).
   * A synchronous stat: microseconds, against tens for a thread-pool round trip, on every reuse.
   */
  private stillOurs(cur: Held): boolean {
    try {
      const st = statSync(cur.lock.lockPath, { throwIfNoEntry: false });
      return st !== undefined && st.ino === cur.ino && st.mtimeMs === cur.mtimeMs;
    } catch {
      return false;
    }
  }

  private async endFullLease(cur: Held): Promise<void> {
    if (this.held === cur) this.held = undefined;
    await cur.lock.release().catch(() => undefined);
    if (cur.lock.compromised) this.lost ??= cur.lock.compromised;
    this.yieldUntil = Date.now() + LOCK_LEASE_YIELD_MS;
  }

  private async releaseHeld(): Promise<void> {
    const cur = this.held;
    this.held = undefined;
    if (!cur) return;
    await cur.lock.release().catch(() => undefined);
    if (cur.lock.compromised) this.lost ??= cur.lock.compromised;
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}

function lostLock(lock: LockHandle, how: string, cause: unknown): SessfmtError {
  return new SessfmtError("E_LOCK_COMPROMISED", `the lock ${lock.lockPath} ${how}; nothing written, another writer may have written meanwhile`, {
    file: lock.file,
    cause,
  });
}
