import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { SessfmtError, ioError } from "./errors.js";

/** Random access to the bytes a session was opened from. */
export interface ByteSource {
  /** File path, or undefined for an in-memory buffer. */
  readonly file: string | undefined;
  /** Run `fn` with a reader; a file is opened once for all reads inside. */
  withReader<T>(fn: (read: (offset: number, length: number) => Buffer) => T): T;
}

/** Bytes held in memory: a buffer opened as such, or a small file read whole at open (`file` names it). */
export class BufferSource implements ByteSource {
  constructor(
    private readonly data: Buffer,
    readonly file: string | undefined = undefined,
  ) {}
  withReader<T>(fn: (read: (offset: number, length: number) => Buffer) => T): T {
    return fn((offset, length) => this.data.subarray(offset, offset + length));
  }
}

/** Identity of the file at open: lazy reads refuse a file that was replaced or cut. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

/** Bytes read at once by reads in ascending order (see FileSource.withReader). */
const READ_AHEAD = 1024 * 1024;

export class FileSource implements ByteSource {
  constructor(
    readonly file: string,
    private readonly identity: FileIdentity,
  ) {}

  withReader<T>(fn: (read: (offset: number, length: number) => Buffer) => T): T {
    let fd: number;
    try {
      fd = openSync(this.file, "r");
    } catch (err) {
      throw ioError(err, this.file, "cannot reopen for reading");
    }
    try {
      const st = fstatSync(fd);
      if (st.ino !== this.identity.ino || st.dev !== this.identity.dev || st.size < this.identity.size) {
        throw new SessfmtError(
          "E_SOURCE_CHANGED",
          `the file was replaced or truncated since it was opened (size ${this.identity.size} -> ${st.size}); open it again`,
          { file: this.file },
        );
      }
      // Reads in ascending order (a context, a fork, a snapshot: records in file order) read
      // ahead: one system call and one buffer serve the next entries too. The first read,
      // and one that goes back, read just what was asked (a single entry() reads one line).
      let block: Buffer | undefined;
      let blockStart = 0;
      let lastStart = -1;
      return fn((offset, length) => {
        if (block !== undefined && offset >= blockStart && offset + length <= blockStart + block.length) {
          lastStart = offset;
          return block.subarray(offset - blockStart, offset - blockStart + length);
        }
        const ahead = lastStart >= 0 && offset > lastStart ? Math.min(READ_AHEAD, this.identity.size - offset) : 0;
        const want = Math.max(length, ahead);
        // A new buffer each time: views returned earlier stay valid.
        const buf = Buffer.allocUnsafe(want);
        let done = 0;
        while (done < want) {
          let n: number;
          try {
            n = readSync(fd, buf, done, want - done, offset + done);
          } catch (err) {
            throw ioError(err, this.file, `read failed at byte ${offset + done}`);
          }
          if (n === 0) {
            if (done >= length) break; // only the read-ahead fell short
            throw new SessfmtError("E_SOURCE_CHANGED", "file ended before the entry's last byte", {
              file: this.file,
              offset: offset + done,
            });
          }
          done += n;
        }
        block = buf.subarray(0, done);
        blockStart = offset;
        lastStart = offset;
        return buf.subarray(0, length);
      });
    } finally {
      closeSync(fd);
    }
  }
}
