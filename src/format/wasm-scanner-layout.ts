/**
 * Memory layout shared by the line scanner's WebAssembly program
 * (wasm-scanner-program.ts) and the code that drives it (wasm-scanner.ts):
 *
 *   0     CLS  token class of a byte that starts a token (256 bytes)
 *   256   ESC  1 for a byte that may follow a backslash as a one-character escape
 *   512   HEX  value of a hex digit, 16 for any other byte
 *   1024  OUT  the results of the last line scanned (a results block), OUT_COUNT after it
 *   2048  ROWS one row per line of the last batch
 *   DATA  the line (or a batch's window of lines); a 0 byte after the line being scanned
 *         (the sentinel: no token, digit or string byte is 0, so the scan stops at the end
 *         without a bounds check per byte); SLACK bytes for over-reads; then the
 *         container stack, one byte per open container (depth <= line length; 1-based).
 */
export const PAGE = 65536;
export const CLS = 0;
export const ESC = 256;
export const HEX = 512;
/** A line's results: one block of R_SIZE bytes, at OUT for the last line scanned and in each row of a batch. */
export const OUT = 1024;
/**
 * Offsets in a results block: kinds (u8), string flags (u8: ESCAPED_BIT, NON_ASCII_BIT),
 * known names (u8; type, role), start and end (i32, from the line's first byte).
 */
export const ESCAPED_BIT = 1;
export const NON_ASCII_BIT = 2;
export const R_KINDS = 0;
export const R_ESCAPED = 16;
export const R_NAMES = 32;
export const R_START = 48;
export const R_END = 112;
export const R_SIZE = 176;
/** A batch row: line start, content end (before "\r\n" or "\n"), terminator length, result, then the results block. */
export const ROW_LINE_START = 0;
export const ROW_CONTENT_END = 4;
export const ROW_EOL = 8;
export const ROW_RESULT = 12;
export const ROW_RESULTS = 16;
export const ROW_SHIFT = 8; // rows of 256 bytes
export const ROW_SIZE = 1 << ROW_SHIFT;
/** Rows of one batch call (64 KiB of rows). */
export const MAX_ROWS = 256;
export const ROWS = 2048;
export const OUT_COUNT = 1216;
/** Where lines are copied: after the tables, the results and the rows. */
export const DATA = ROWS + MAX_ROWS * ROW_SIZE;
/** Bytes after the sentinel that loads may touch (16-byte vector loads, 8-byte key compares). */
export const SLACK = 32;
export const OUT_KINDS = OUT + R_KINDS;
export const OUT_ESCAPED = OUT + R_ESCAPED;
export const OUT_NAMES = OUT + R_NAMES;
export const OUT_START = OUT + R_START;
export const OUT_END = OUT + R_END;

