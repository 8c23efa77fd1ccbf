/**
 * The validating line scanner (SPEC 5.1, fast path), run as WebAssembly.
 *
 * Why WebAssembly: a session is opened in a fresh process more often than not, and a
 * JavaScript scanner runs interpreted for its first megabyte and then waits for the
 * optimising compiler (tens of ms on a busy machine) before it runs at speed. WebAssembly
 * is compiled before its first call by the baseline compiler in well under a millisecond
 * and runs at machine speed from the first byte; string content, which is most of a
 * session's bytes, is skipped 16 bytes at a time with SIMD compares. The program is in
 * wasm-scanner-program.ts; its assembled bytes in wasm-scanner-module.ts.
 */
import { Buffer } from "node:buffer";
import { SCAN_UNSURE } from "./field-slots.js";
import { SCANNER_WASM } from "./wasm-scanner-module.js";
import { compileWasm, instantiateWasm, type WasmMemory, type WasmModule } from "./wasm-api.js";
import { DATA, MAX_ROWS, OUT, OUT_COUNT, PAGE, ROWS, ROW_CONTENT_END, ROW_EOL, ROW_LINE_START, ROW_RESULT, ROW_RESULTS, ROW_SHIFT, SLACK } from "./wasm-scanner-layout.js";

export { ESCAPED_BIT, NON_ASCII_BIT, R_END, R_ESCAPED, R_KINDS, R_NAMES, R_START } from "./wasm-scanner-layout.js";

/** Above this, a line gets a memory of its own that is dropped after the scan, so one huge line does not pin memory. */
const SHARED_LIMIT = 16 * 1024 * 1024;
/** Bytes of a kept file copied into the scanner per batch window (lines longer than this are scanned alone). */
const WINDOW = 1024 * 1024;

/** Where a line's results are: the scanner's memory, the block's offset in it, and the line's bytes. */
export interface ResultsTarget {
  point(u8: Uint8Array, i32: Int32Array, block: number, bytes: Buffer, lineStart: number): void;
}

/** One instance of the scanner with its memory. */
class Engine {
  readonly memory: WasmMemory;
  readonly scan: (base: number, end: number, stack: number) => number;
  readonly scanLines: (start: number, end: number, stack: number, maxRows: number) => number;
  u8!: Uint8Array;
  i32!: Int32Array;
  /** The batch whose window is in memory (a single-line scan overwrites it). */
  owner: LineBatch | undefined;

  constructor(module: WasmModule, bytesNeeded: number) {
    const instance = instantiateWasm(module);
    this.memory = instance.exports.memory as WasmMemory;
    this.scan = instance.exports.scan as Engine["scan"];
    this.scanLines = instance.exports.scanLines as Engine["scanLines"];
    this.view();
    this.ensure(bytesNeeded);
  }

  /** Grow the memory to hold at least `n` bytes (views are made again: growing detaches them). */
  ensure(n: number): void {
    const have = this.memory.buffer.byteLength;
    if (n <= have) return;
    this.memory.grow(Math.ceil((n - have) / PAGE));
    this.view();
  }

  private view(): void {
    this.u8 = new Uint8Array(this.memory.buffer);
    this.i32 = new Int32Array(this.memory.buffer);
  }
}

let compiled: WasmModule | null | undefined;
let shared: Engine | undefined;

/** The compiled module, or null where WebAssembly (or its SIMD) is unavailable: every line is then unsure. */
function scannerModule(): WasmModule | null {
  // Without WebAssembly every line is unsure: the reader's JSON.parse path gives every answer.
  if (compiled === undefined) compiled = compileWasm(SCANNER_WASM);
  return compiled;
}

/** Whether lines are scanned at all (false: WebAssembly is unavailable, every line is unsure). */
export function scannerAvailable(): boolean {
  return scannerModule() !== null;
}

/** The shared engine with room for `n` bytes of lines (and as many of container stack), or a one-off for more. */
function engineFor(module: WasmModule, n: number): Engine {
  const needed = DATA + 2 * (n + SLACK);
  if (needed > SHARED_LIMIT) return new Engine(module, needed);
  shared ??= new Engine(module, needed);
  shared.ensure(needed);
  return shared;
}

/**
 * Scan one line (UTF-8, without its terminator). On SCAN_CERTAIN `out` is pointed at
 * the results, valid until the next scan.
 */
export function scanBytes(b: Uint8Array & Buffer, out: ResultsTarget): number {
  const module = scannerModule();
  if (module === null) return SCAN_UNSURE;
  const n = b.length;
  const engine = engineFor(module, n);
  engine.owner = undefined;
  engine.u8.set(b, DATA);
  engine.u8[DATA + n] = 0;
  const r = engine.scan(DATA, DATA + n, DATA + n + SLACK);
  if (r !== SCAN_UNSURE) out.point(engine.u8, engine.i32, OUT, b, 0);
  return r;
}

/**
 * Reads bytes of a source into `target` at `offset`: up to `length` bytes from the
 * source's byte `position`. Returns how many were read (0: the source ends there).
 */
export type WindowReader = (target: Uint8Array, offset: number, length: number, position: number) => number;

/** A WindowReader over bytes held in memory. */
export function bufferReader(data: Uint8Array): WindowReader {
  return (target, offset, length, position) => {
    const n = Math.max(0, Math.min(length, data.length - position));
    target.set(data.subarray(position, position + n), offset);
    return n;
  };
}

/**
 * Scans lines in batches: a window of the source (a buffer, or a file read straight into
 * the scanner's memory, whose pages are reused from window to window) is put into the
 * scanner, which splits it at "\n" and scans every complete line in one call, leaving a
 * row per line. Between calls the caller reads the rows; per line there is no copy, no
 * view object and no call into the scanner.
 */
export class LineBatch {
  private readonly engine: Engine | undefined;
  /** Bytes of the source put into the scanner per window. */
  private readonly window: number;
  private source: WindowReader | undefined;
  /** The window's bytes: a view of the scanner's memory, valid until the next fill. */
  view: Buffer = Buffer.alloc(0);
  /** Offset in the source of the window's first byte. */
  windowStart = 0;
  private windowEnd = 0;
  /** Where the source ends: the end given to fill, or less when a read found it shorter. */
  sourceEnd = 0;
  /** Where the next call starts, in memory. */
  private next = DATA;
  private rows = 0;
  /** The reader of the buffer `fill` was last given. */
  private held: { data: Buffer; read: WindowReader } | undefined;

  constructor(window = WINDOW) {
    this.window = Math.max(1, window);
    const module = scannerModule();
    this.engine = module === null ? undefined : engineFor(module, this.window);
  }

  /** False where WebAssembly is unavailable: the caller scans line by line. */
  get available(): boolean {
    return this.engine !== undefined;
  }

  /** fillFrom over bytes held in memory (offsets are then offsets in `data`). */
  fill(data: Buffer, from: number): number {
    if (this.held?.data !== data) this.held = { data, read: bufferReader(data) };
    return this.fillFrom(this.held.read, from, data.length);
  }

  /**
   * Scan complete lines from `from` (a line start) of a source of `end` bytes, reading
   * windows through `read`. Returns the number of rows (0: no complete line fits the
   * window from there, i.e. a last line without "\n", or a line longer than the window,
   * which the caller handles alone). A source that turns out shorter than `end` ends
   * where its reads stopped (sourceEnd).
   */
  fillFrom(read: WindowReader, from: number, end: number): number {
    const e = this.engine as Engine;
    // Reload also when the memory grew (for another scan) since: the view would be detached.
    if (e.owner !== this || read !== this.source || from < this.windowStart || from >= this.windowEnd || this.view.buffer !== e.memory.buffer) {
      e.owner = this;
      this.source = read;
      this.sourceEnd = end;
      const want = Math.max(0, Math.min(end, from + this.window) - from);
      let got = 0;
      while (got < want) {
        const n = read(e.u8, DATA + got, want - got, from + got);
        if (n <= 0) {
          this.sourceEnd = from + got;
          break;
        }
        got += n;
      }
      this.windowStart = from;
      this.windowEnd = from + got;
      this.view = Buffer.from(e.memory.buffer, DATA, got);
      this.next = DATA;
    } else {
      this.next = DATA + (from - this.windowStart);
    }
    const stop = DATA + (this.windowEnd - this.windowStart);
    const after = e.scanLines(this.next, stop, stop + SLACK, MAX_ROWS);
    this.rows = e.i32[OUT_COUNT >> 2] as number;
    if (this.rows === 0 && this.windowEnd < this.sourceEnd && after === this.next && this.next > DATA) {
      // The line starts mid-window and runs past it: move the window to it and retry.
      this.windowEnd = this.windowStart;
      return this.fillFrom(read, from, this.sourceEnd);
    }
    return this.rows;
  }

  private row(k: number): number {
    return ROWS + (k << ROW_SHIFT);
  }

  /** Offset in the source of row k's line. */
  lineStart(k: number): number {
    return this.windowStart + ((this.engine as Engine).i32[(this.row(k) + ROW_LINE_START) >> 2] as number) - DATA;
  }

  /** Offset in the source just after row k's content (its "\r\n" or "\n" follows). */
  contentEnd(k: number): number {
    return this.windowStart + ((this.engine as Engine).i32[(this.row(k) + ROW_CONTENT_END) >> 2] as number) - DATA;
  }

  /** Bytes of row k's terminator: 1 or 2. */
  eol(k: number): 1 | 2 {
    return (this.engine as Engine).i32[(this.row(k) + ROW_EOL) >> 2] as 1 | 2;
  }

  /** SCAN_CERTAIN or SCAN_UNSURE. */
  result(k: number): number {
    return (this.engine as Engine).i32[(this.row(k) + ROW_RESULT) >> 2] as number;
  }

  /** The scanner's memory as bytes, for reading rows directly (valid until the next fill). */
  get u8(): Uint8Array {
    return (this.engine as Engine).u8;
  }

  /** The scanner's memory as 32-bit words (valid until the next fill). */
  get i32(): Int32Array {
    return (this.engine as Engine).i32;
  }

  /** Point `out` at row k's results (valid until the next fill), over the window's bytes. */
  results(k: number, out: ResultsTarget): void {
    const e = this.engine as Engine;
    out.point(e.u8, e.i32, this.row(k) + ROW_RESULTS, this.view, this.lineStart(k) - this.windowStart);
  }
}
