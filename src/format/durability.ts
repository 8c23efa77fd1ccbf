import { open } from "node:fs/promises";
import { ioError, type SessfmtError } from "./errors.js";

/**
 * How hard a writer works to get appended bytes onto stable storage.
 *
 * - `strict`: fdatasync after every append batch, before the append's promise resolves.
 *   A resolved append survives power loss. Costs one disk flush per batch (milliseconds
 *   on SSDs, far more on spinning disks and network filesystems), so batch if you can.
 *   The batch's write and flush are made synchronously: the append waits for them
 *   anyway, and two round trips through libuv's thread pool cost more per append than
 *   a fast disk's flush. The event loop is blocked for the flush.
 * - `balanced` (default): fdatasync in the background at most every `syncIntervalMs`
 *   (default 1000 ms) after a write, and at close. A crash of the process loses nothing
 *   (the bytes are in the kernel's page cache once write() returned); power loss can lose
 *   at most about the last interval. This is what an interactive agent wants: no flush on
 *   the hot path, a bounded window of loss.
 * - `throughput`: never fsync. A process crash still loses nothing; power loss or a kernel
 *   panic can lose everything the OS had not written back yet (typically up to 30 s on
 *   Linux). For bulk imports and tests, or data that can be regenerated.
 */
export type AutosaveDurabilityMode = "strict" | "balanced" | "throughput";

export const DEFAULT_DURABILITY: AutosaveDurabilityMode = "balanced";
export const DEFAULT_SYNC_INTERVAL_MS = 1000;

const MODES: ReadonlySet<string> = new Set<AutosaveDurabilityMode>(["strict", "balanced", "throughput"]);

export function isDurabilityMode(v: unknown): v is AutosaveDurabilityMode {
  return typeof v === "string" && MODES.has(v);
}

/** fdatasync a file by path (Linux flushes the inode's data whichever descriptor asks). */
export async function syncFile(file: string): Promise<void> {
  let fh;
  try {
    fh = await open(file, "r");
    await fh.datasync();
  } catch (err) {
    throw ioError(err, file, "fsync failed");
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * fsync a directory so a newly created or renamed entry in it survives power loss.
 * Platforms that cannot open or fsync a directory (EISDIR, EINVAL, EPERM) are tolerated:
 * there is nothing more a program can do there.
 */
export async function syncDirectory(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, "r");
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EISDIR" || code === "EINVAL" || code === "EPERM" || code === "ENOTSUP") return;
    throw ioError(err, dir, "directory fsync failed");
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

/**
 * The background flusher of `balanced` mode: the first write after a sync schedules one
 * sync `intervalMs` later; writes in between ride along, so there is at most one sync per
 * interval and no write waits much longer than one interval for its sync. The timer is
 * unref'd so an idle writer never keeps the process alive. A failed background sync is
 * kept and handed to the next caller of takeError() (the writer's next append or close),
 * because an fsync error means data may not be on disk.
 */
export class BackgroundSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private error: SessfmtError | undefined;

  constructor(
    private readonly sync: () => Promise<void>,
    private readonly intervalMs: number = DEFAULT_SYNC_INTERVAL_MS,
  ) {}

  /** Note that bytes were written; schedules a sync unless one is already scheduled. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.sync()
        .catch((err: SessfmtError) => {
          this.error = err;
        })
        .finally(() => {
          this.running = undefined;
        });
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Cancel a scheduled sync and wait for one that is running. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The error of a failed background sync, once. */
  takeError(): SessfmtError | undefined {
    const e = this.error;
    this.error = undefined;
    return e;
  }
}
