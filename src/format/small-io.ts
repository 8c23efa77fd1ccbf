import { read, readSync } from "node:fs";

/**
 * Reads cheaper made synchronously. A read of up to SYNC_READ_MAX bytes from the page
 * cache takes tens of microseconds; an awaited one is a round trip through libuv's thread
 * pool (a wake-up of a pool thread, the call, a wake-up of the event loop: ~100 us on a
 * 2-vCPU machine, with CPU spent on both sides), and a run over an archive of small
 * sessions made dozens of them per file. Larger reads stay asynchronous, so that the event
 * loop keeps turning and a read-ahead overlaps the caller's work.
 */
export const SYNC_READ_MAX = 1 << 20;

/** pread `n` bytes at file position `pos` into buf[at..]; how many were read. Synchronous up to SYNC_READ_MAX. */
export function preadAt(fd: number, buf: Uint8Array, at: number, n: number, pos: number): Promise<number> {
  if (n <= SYNC_READ_MAX) {
    try {
      return Promise.resolve(readSync(fd, buf, at, n, pos));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => read(fd, buf, at, n, pos, (err, got) => (err ? reject(err) : resolve(got))));
}
