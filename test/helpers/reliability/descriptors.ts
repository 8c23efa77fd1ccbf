/**
 * The leaked-descriptor check of the fuzz suites: an operation on a damaged file that
 * fails (or succeeds) must close every file it opened. Counted from the entries of
 * /proc/self/fd (Linux); where /proc is absent the check is skipped and says why.
 *
 * A FileHandle that is never closed stays open until the garbage collector finds it, and
 * Node then closes it with a warning ("Closing file descriptor N on garbage collection").
 * The count catches a leak right after the operation; the warning catches one the
 * collector closed first, so a leak cannot hide behind a collection.
 */
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";

const FD_DIR = "/proc/self/fd";

/** Open descriptors of this process: number -> what it points to. */
export type Descriptors = ReadonlyMap<number, string>;

/** Why the check cannot run here, or undefined when it can. */
export const descriptorCheckSkipped: string | undefined = existsSync(FD_DIR)
  ? undefined
  : `leaked-descriptor check skipped: ${FD_DIR} does not exist on this platform (${process.platform}), so open descriptors cannot be counted`;

/** The open descriptors now, or undefined where they cannot be listed. */
export function openDescriptors(): Descriptors | undefined {
  if (descriptorCheckSkipped) return undefined;
  const out = new Map<number, string>();
  for (const name of readdirSync(FD_DIR)) {
    try {
      out.set(Number(name), readlinkSync(join(FD_DIR, name)));
    } catch {
      // The descriptor readdirSync itself used is listed but already closed.
    }
  }
  return out;
}

const GC_CLOSE = /Closing file descriptor (\d+) on garbage collection/;

/**
 * A leak watch for one test file: `before()` snapshots the descriptors, `after(what, snap)`
 * fails when more are open than in the snapshot (after letting closes already under way,
 * such as a read stream's automatic close, finish) or when the collector closed a
 * forgotten handle since the last check; `around(what, fn)` does both around `fn`.
 * `checks` counts the comparisons made, and `onCheck` is told of each.
 */
export function leakWatch(onCheck: () => void = () => undefined, settleMs = 2000): {
  before(): Descriptors | undefined;
  after(what: string, before: Descriptors | undefined): Promise<void>;
  around<T>(what: string, fn: () => Promise<T>): Promise<T>;
  readonly checks: number;
} {
  const collected: string[] = [];
  const onWarning = (w: Error) => {
    if (GC_CLOSE.test(w.message)) collected.push(w.message);
  };
  beforeAll(() => {
    if (descriptorCheckSkipped) console.warn(descriptorCheckSkipped);
    process.on("warning", onWarning);
  });
  afterAll(() => {
    process.off("warning", onWarning);
  });
  let checks = 0;
  const watch = {
    before: openDescriptors,
    async after(what: string, before: Descriptors | undefined) {
      if (!before) return;
      let now = openDescriptors() as Descriptors;
      const deadline = Date.now() + settleMs;
      while (now.size > before.size && Date.now() < deadline) {
        // A read stream closes its file just after its last chunk: poll briefly.
        await new Promise((resolve) => setTimeout(resolve, 1));
        now = openDescriptors() as Descriptors;
      }
      checks++;
      onCheck();
      const opened = [...now].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `fd ${fd} -> ${target}`);
      expect(now.size, `${what} left ${now.size - before.size} file descriptor(s) open: ${opened.join(", ")}`).toBeLessThanOrEqual(before.size);
      const gcClosed = collected.splice(0);
      expect(gcClosed, `a file handle was left for the garbage collector to close (found after ${what})`).toEqual([]);
    },
    /** Run `fn` and check, when it returned, that it closed what it opened. */
    async around<T>(what: string, fn: () => Promise<T>): Promise<T> {
      const before = openDescriptors();
      const result = await fn();
      await watch.after(what, before);
      return result;
    },
    get checks() {
      return checks;
    },
  };
  return watch;
}
