/**
 * The line scanner's WebAssembly program (SPEC 5.1, fast path), written with the small
 * assembler of wasm-asm.ts. What it checks is exactly JSON's grammar (RFC 8259), as
 * JSON.parse does; it answers "certain" only for a well-formed object whose tracked keys
 * are written without escapes and which holds no `\uD800`-`\uDFFF` escape, and records
 * where the tracked fields' values are (a results block, see wasm-scanner-layout.ts).
 * Anything else is "unsure" and the reader hands the line to JSON.parse. The bytes must
 * be UTF-8 already (the reader checks with isUtf8): multi-byte sequences are then plain
 * string content.
 *
 * The assembled bytes are kept in wasm-scanner-module.ts (run
 * `npm run build && node scripts/build-wasm-scanner.mjs` after a change here; a test
 * checks they match), so that opening a session does not run the assembler.
 */
import {
  F_MESSAGE,
  F_MESSAGE_ROLE,
  F_TYPE,
  KNOWN_NAMES,
  K_ARRAY,
  K_BOOLEAN,
  K_NULL,
  K_NUMBER,
  K_OBJECT,
  K_STRING,
  ROLE_KEY,
  SCAN_UNSURE,
  TOP_KEYS,
} from "./field-slots.js";
import {
  I32,
  V128,
  add,
  and,
  assembleModule,
  dataSegment,
  block,
  br,
  brIf,
  brTable,
  call,
  memoryCopy,
  ctz,
  eq,
  eq64,
  eqz,
  geS,
  geU,
  get,
  gtU,
  i32,
  i64,
  i8x16bitmask,
  i8x16eq,
  i8x16ltU,
  i8x16splat,
  load16,
  load32,
  load64,
  load8,
  loop,
  ltU,
  ne,
  or,
  ret,
  select,
  set,
  shl,
  store32,
  store8,
  sub,
  v128load,
  v128or,
  v128store,
  when,
  type Node,
} from "./wasm-asm.js";

import {
  CLS,
  ESC,
  HEX,
  OUT,
  R_SIZE,
  ROW_LINE_START,
  ROW_CONTENT_END,
  ROW_EOL,
  ROW_RESULT,
  ROW_RESULTS,
  ROW_SHIFT,
  ROWS,
  OUT_COUNT,
  OUT_KINDS,
  OUT_ESCAPED,
  OUT_NAMES,
  OUT_START,
  OUT_END,
} from "./wasm-scanner-layout.js";

// Token classes (CLS): what the byte that starts a token can be.
const T_OTHER = 0; // invalid here, or the sentinel at the end
const T_QUOTE = 1;
const T_COLON = 2;
const T_COMMA = 3;
const T_OPEN_OBJECT = 4;
const T_OPEN_ARRAY = 5;
const T_CLOSE_OBJECT = 6;
const T_CLOSE_ARRAY = 7;
const T_NUMBER = 8;
const T_LITERAL = 9;
const T_WS = 10;
const CLASSES = 11;

// What the scanner expects next (ordered: the comparisons below rely on it).
const X_VALUE = 0; // a value
const X_VALUE_OR_CLOSE = 1; // a value or `]` (just after `[`)
const X_KEY = 2; // a key (after a comma in an object)
const X_KEY_OR_CLOSE = 3; // a key or `}` (just after `{`)
const X_COLON = 4; // `:` after a key
const X_AFTER = 5; // `,` or a closer after a value (or the end, at depth 0)

// Container stack entries.
const IN_OBJECT = 1;
const IN_ARRAY = 2;

/** The lookup tables at CLS, ESC and HEX (a data segment of the module). */
function tables(): Uint8Array {
  const t = new Uint8Array(1024);
  const cls = (chars: string, c: number): void => {
    for (const ch of chars) t[CLS + ch.charCodeAt(0)] = c;
  };
  cls('"', T_QUOTE);
  cls(":", T_COLON);
  cls(",", T_COMMA);
  cls("{", T_OPEN_OBJECT);
  cls("[", T_OPEN_ARRAY);
  cls("}", T_CLOSE_OBJECT);
  cls("]", T_CLOSE_ARRAY);
  cls("-0123456789", T_NUMBER);
  cls("tfn", T_LITERAL);
  cls(" \t\r\n", T_WS);
  for (const ch of '"\\/bfnrt') t[ESC + ch.charCodeAt(0)] = 1;
  t.fill(16, HEX, HEX + 256);
  for (let d = 0; d < 16; d++) t[HEX + d.toString(16).charCodeAt(0)] = d;
  for (let d = 10; d < 16; d++) t[HEX + d.toString(16).toUpperCase().charCodeAt(0)] = d;
  return t;
}

// Locals: parameters first.
const BASE = 0; // first byte of the line
const END = 1; // the sentinel, just after the line
const STACK = 2; // container stack
const I = 3;
const C = 4;
const DEPTH = 5;
const EXPECT = 6;
const SLOT = 7; // the tracked field the next value belongs to (-1: none)
const MSG_DEPTH = 8; // depth of the top-level `message` object while inside it (0: not inside)
const S = 9;
const ESCAPED = 10;
const T = 11;
const U = 12;
const V_QUOTE = 13;
const V_BACKSLASH = 14;
const V_SPACE = 15;
const V_CHUNK = 16;
const BLOCK = 17; // a string's 16-byte block being looked at

const unsure = ret(i32(SCAN_UNSURE));
const inc = (local: number, n: number): Node => set(local, add(get(local), i32(n)));
const byteAt = (local: number, offset = 0): Node => load8(get(local), offset);
const lookup = (table: number, byte: Node): Node => load8(byte, table);
const digits = (label: string): Node => loop(label, when(ltU(sub(byteAt(I), i32(0x30)), i32(10)), [inc(I, 1), br(label)]));

/** Whether the `key.length + 1` bytes at S are the key and its closing quote (the length is checked before). */
function keyBytesAt(key: string): Node {
  const want = Buffer.from(`${key}"`, "latin1");
  const tests: Node[] = [];
  let k = 0;
  while (k < want.length) {
    const left = want.length - k;
    if (left >= 8) {
      tests.push(eq64(load64(get(S), k), i64(want.readBigInt64LE(k))));
      k += 8;
    } else if (left >= 4) {
      tests.push(eq(load32(get(S), k), i32(want.readInt32LE(k))));
      k += 4;
    } else if (left >= 2) {
      tests.push(eq(load16(get(S), k), i32(want.readUInt16LE(k))));
      k += 2;
    } else {
      tests.push(eq(load8(get(S), k), i32(want[k] as number)));
      k += 1;
    }
  }
  return tests.reduce((a, b) => and(a, b));
}

/** local := the value paired with the unescaped string [S, I) in `words`, or `none` (T holds its length). */
function matchWord(local: number, words: readonly (readonly [string, number])[], none: number): Node {
  return [
    set(local, i32(none)),
    block("matched", ...words.map(([word, value]) => when(and(eq(get(T), i32(word.length)), keyBytesAt(word)), [set(local, i32(value)), br("matched")]))),
  ];
}

const NAME_CODES = KNOWN_NAMES.map((name, k) => [name, k + 1] as const);

/** For a `type` or `role` value: which known name it is (1-based; 0 none or escaped) into the results' names. */
const recordName: Node = [
  set(T, sub(get(I), get(S))),
  set(U, i32(0)),
  when(eqz(get(ESCAPED)), [matchWord(U, NAME_CODES, 0)]),
  store8(eq(get(SLOT), i32(F_MESSAGE_ROLE)), get(U), OUT_NAMES),
];

/**
 * U := the high bits of the string [S, I), 16 bytes at a time (non-zero: it holds a byte
 * above 0x7F). A tracked string is flagged ASCII-only in the results' escaped byte (bit 1
 * set when it is not), so that the reader may decode several with one latin1 call.
 */
const nonAsciiBits: Node = [
  set(T, get(S)),
  set(U, i32(0)),
  loop(
    "ascii",
    when(ltU(get(T), get(I)), [
      set(C, i8x16bitmask(v128load(get(T)))),
      // Past the closing quote only the bytes of the string count.
      when(ltU(sub(get(I), get(T)), i32(16)), [set(C, and(get(C), sub(shl(i32(1), sub(get(I), get(T))), i32(1))))]),
      set(U, or(get(U), get(C))),
      inc(T, 16),
      br("ascii"),
    ]),
  ),
];

/** Record the value [S, I) of kind `kind` for the tracked field in SLOT, if any. */
function recordValue(kind: Node): Node {
  return when(geS(get(SLOT), i32(0)), [
    store8(get(SLOT), kind, OUT_KINDS),
    store32(shl(get(SLOT), i32(2)), sub(get(S), get(BASE)), OUT_START),
    store32(shl(get(SLOT), i32(2)), sub(get(I), get(BASE)), OUT_END),
    set(SLOT, i32(-1)),
  ]);
}

/** A string: I at the opening quote. Leaves I at the closing quote, S at the content, ESCAPED set. */
const scanString: Node = [
  set(S, add(get(I), i32(1))),
  set(BLOCK, get(S)),
  set(ESCAPED, i32(0)),
  block(
    "closed",
    loop(
      "load",
      // 16 bytes at a time up to the first quote, backslash or byte below 0x20 (the sentinel is one).
      set(V_CHUNK, v128load(get(BLOCK))),
      set(U, i8x16bitmask(v128or(v128or(i8x16eq(get(V_CHUNK), get(V_QUOTE)), i8x16eq(get(V_CHUNK), get(V_BACKSLASH))), i8x16ltU(get(V_CHUNK), get(V_SPACE))))),
      when(eqz(get(U)), [inc(BLOCK, 16), br("load")]),
      // U: the block's special bytes not yet handled; the next one is at BLOCK + ctz(U).
      loop(
        "special",
        set(I, add(get(BLOCK), ctz(get(U)))),
        set(C, byteAt(I)),
        brIf("closed", eq(get(C), i32(0x22))),
        when(ltU(get(C), i32(0x20)), [unsure]), // a control character, or the end of the line
        // A backslash escape.
        set(ESCAPED, i32(1)),
        set(T, byteAt(I, 1)),
        when(
          lookup(ESC, get(T)),
          [inc(I, 2)],
          [
            when(ne(get(T), i32(0x75)), [unsure]),
            // \uXXXX: four hex digits, and not a surrogate (the parsed value needs the lone-surrogate check).
            set(T, lookup(HEX, byteAt(I, 2))),
            set(C, lookup(HEX, byteAt(I, 3))),
            when(gtU(or(or(get(T), get(C)), or(lookup(HEX, byteAt(I, 4)), lookup(HEX, byteAt(I, 5)))), i32(15)), [unsure]),
            when(and(eq(get(T), i32(0xd)), geU(get(C), i32(8))), [unsure]),
            inc(I, 6),
          ],
        ),
        // Go on in the same block, past the escape's bytes (an escaped quote is not a special byte).
        set(T, sub(get(I), get(BLOCK))),
        when(geU(get(T), i32(16)), [set(BLOCK, get(I)), br("load")]),
        set(U, and(get(U), shl(i32(-1), get(T)))),
        when(eqz(get(U)), [inc(BLOCK, 16), br("load")]),
        br("special"),
      ),
    ),
  ),
];

const onQuote: Node = [
  when(geU(get(EXPECT), i32(X_COLON)), [unsure]),
  scanString,
  when(geU(get(EXPECT), i32(X_KEY)), [
    set(T, sub(get(I), get(S))),
    when(
      eq(get(DEPTH), i32(1)),
      [
        when(get(ESCAPED), [unsure]), // an escaped key might spell a tracked one
        matchWord(SLOT, TOP_KEYS, -1),
        // A later `message` key replaces an earlier one, its role included.
        when(eq(get(SLOT), i32(F_MESSAGE)), [store8(i32(F_MESSAGE_ROLE), i32(0), OUT_KINDS)]),
      ],
      [
        when(eq(get(DEPTH), get(MSG_DEPTH)), [
          when(get(ESCAPED), [unsure]),
          matchWord(SLOT, [[ROLE_KEY, F_MESSAGE_ROLE]], -1),
        ]),
      ],
    ),
    set(EXPECT, i32(X_COLON)),
    inc(I, 1),
    br("next"),
  ]),
  when(geS(get(SLOT), i32(0)), [nonAsciiBits, store8(get(SLOT), or(get(ESCAPED), shl(ne(get(U), i32(0)), i32(1))), OUT_ESCAPED)]),
  when(or(eq(get(SLOT), i32(F_TYPE)), eq(get(SLOT), i32(F_MESSAGE_ROLE))), [recordName]),
  recordValue(i32(K_STRING)),
  set(EXPECT, i32(X_AFTER)),
  inc(I, 1),
  br("next"),
];

function onOpen(container: number): Node {
  return [
    when(gtU(get(EXPECT), i32(X_VALUE_OR_CLOSE)), [unsure]),
    inc(DEPTH, 1),
    store8(add(get(STACK), get(DEPTH)), i32(container)),
    when(geS(get(SLOT), i32(0)), [
      store8(get(SLOT), i32(container === IN_OBJECT ? K_OBJECT : K_ARRAY), OUT_KINDS),
      ...(container === IN_OBJECT ? [when(eq(get(SLOT), i32(F_MESSAGE)), [set(MSG_DEPTH, get(DEPTH))])] : []),
      set(SLOT, i32(-1)),
    ]),
    inc(I, 1),
    set(EXPECT, i32(container === IN_OBJECT ? X_KEY_OR_CLOSE : X_VALUE_OR_CLOSE)),
    br("next"),
  ];
}

function onClose(container: number): Node {
  const empty = container === IN_OBJECT ? X_KEY_OR_CLOSE : X_VALUE_OR_CLOSE;
  return [
    when(eqz(get(DEPTH)), [unsure]),
    when(ne(load8(add(get(STACK), get(DEPTH))), i32(container)), [unsure]),
    when(and(ne(get(EXPECT), i32(X_AFTER)), ne(get(EXPECT), i32(empty))), [unsure]),
    when(eq(get(DEPTH), get(MSG_DEPTH)), [set(MSG_DEPTH, i32(0))]),
    inc(DEPTH, -1),
    inc(I, 1),
    set(EXPECT, i32(X_AFTER)),
    br("next"),
  ];
}

/** A value may start here: after a colon, a comma in an array or `[`, never as the whole line. */
const valueMayStart: Node = when(or(gtU(get(EXPECT), i32(X_VALUE_OR_CLOSE)), eqz(get(DEPTH))), [unsure]);

const onNumber: Node = [
  valueMayStart,
  set(S, get(I)),
  when(eq(get(C), i32(0x2d)), [inc(I, 1)]),
  set(C, byteAt(I)),
  when(eq(get(C), i32(0x30)), [inc(I, 1)], [when(geU(sub(get(C), i32(0x31)), i32(9)), [unsure]), inc(I, 1), digits("int")]),
  when(eq(byteAt(I), i32(0x2e)), [inc(I, 1), set(T, get(I)), digits("frac"), when(eq(get(I), get(T)), [unsure])]),
  when(eq(or(byteAt(I), i32(0x20)), i32(0x65)), [
    inc(I, 1),
    set(C, byteAt(I)),
    when(or(eq(get(C), i32(0x2b)), eq(get(C), i32(0x2d))), [inc(I, 1)]),
    set(T, get(I)),
    digits("exp"),
    when(eq(get(I), get(T)), [unsure]),
  ]),
  recordValue(i32(K_NUMBER)),
  set(EXPECT, i32(X_AFTER)),
  br("next"),
];

const word = (s: string): Node => i32(Buffer.from(s, "latin1").readInt32LE(0));
const onLiteral: Node = [
  valueMayStart,
  set(S, get(I)),
  when(
    eq(get(C), i32(0x74)),
    [when(ne(load32(get(I)), word("true")), [unsure]), inc(I, 4), set(T, i32(K_BOOLEAN))],
    [
      when(
        eq(get(C), i32(0x66)),
        [when(ne(load32(get(I), 1), word("alse")), [unsure]), inc(I, 5), set(T, i32(K_BOOLEAN))],
        [when(ne(load32(get(I)), word("null")), [unsure]), inc(I, 4), set(T, i32(K_NULL))],
      ),
    ],
  ),
  recordValue(get(T)),
  set(EXPECT, i32(X_AFTER)),
  br("next"),
];

const onOther: Node = [
  // The sentinel: the line ended. Certain if one object was closed and nothing followed.
  when(geU(get(I), get(END)), [ret(and(eqz(get(DEPTH)), eq(get(EXPECT), i32(X_AFTER))))]),
  unsure,
];

const onComma: Node = [
  when(or(ne(get(EXPECT), i32(X_AFTER)), eqz(get(DEPTH))), [unsure]),
  inc(I, 1),
  set(EXPECT, select(i32(X_KEY), i32(X_VALUE), eq(load8(add(get(STACK), get(DEPTH))), i32(IN_OBJECT)))),
  br("next"),
];

const onColon: Node = [when(ne(get(EXPECT), i32(X_COLON)), [unsure]), inc(I, 1), set(EXPECT, i32(X_VALUE)), br("next")];

const HANDLERS: Node[] = [];
HANDLERS[T_OTHER] = onOther;
HANDLERS[T_QUOTE] = onQuote;
HANDLERS[T_COLON] = onColon;
HANDLERS[T_COMMA] = onComma;
HANDLERS[T_OPEN_OBJECT] = onOpen(IN_OBJECT);
HANDLERS[T_OPEN_ARRAY] = onOpen(IN_ARRAY);
HANDLERS[T_CLOSE_OBJECT] = onClose(IN_OBJECT);
HANDLERS[T_CLOSE_ARRAY] = onClose(IN_ARRAY);
HANDLERS[T_NUMBER] = onNumber;
HANDLERS[T_LITERAL] = onLiteral;
HANDLERS[T_WS] = [inc(I, 1), br("next")];

/** One token per turn: br_table on the class of its first byte, then that class's handler. */
function dispatch(): Node {
  const names = Array.from({ length: CLASSES }, (_, k) => `class${k}`);
  let nest: Node = block(names[0] as string, brTable(lookup(CLS, get(C)), [...names, names[0] as string]));
  for (let k = 1; k < CLASSES; k++) nest = block(names[k] as string, nest, HANDLERS[k - 1] as Node);
  return [nest, HANDLERS[CLASSES - 1] as Node];
}

const scanBody: Node = [
  v128store(i32(OUT_KINDS), i8x16splat(i32(0))),
  v128store(i32(OUT_NAMES), i8x16splat(i32(0))),
  set(V_QUOTE, i8x16splat(i32(0x22))),
  set(V_BACKSLASH, i8x16splat(i32(0x5c))),
  set(V_SPACE, i8x16splat(i32(0x20))),
  set(I, get(BASE)),
  loop("lead", when(eq(lookup(CLS, byteAt(I)), i32(T_WS)), [inc(I, 1), br("lead")])),
  when(ne(byteAt(I), i32(0x7b)), [unsure]), // not an object: JSON.parse words the reason
  set(DEPTH, i32(0)),
  set(EXPECT, i32(X_VALUE)),
  set(SLOT, i32(-1)),
  set(MSG_DEPTH, i32(0)),
  loop("next", set(C, byteAt(I)), dispatch()),
  i32(SCAN_UNSURE),
];

// Locals of scanLines.
const L_START = 0;
const L_END = 1;
const L_STACK = 2;
const L_MAX_ROWS = 3;
const L_LINE = 4; // start of the current line
const L_NL = 5; // its "\n"
const L_ROWS = 6; // rows written
const L_CONTENT_END = 7;
const L_EOL = 8;
const L_ROW = 9;
const L_MASK = 10;
const L_SAVED = 11;
const L_V_NL = 12;

/**
 * scanLines(start, end, stack, maxRows) -> where the first line not scanned starts.
 * Scans the complete lines ("\n"-terminated) of [start, end), at most maxRows of them,
 * and writes one row per line at ROWS (the row count at OUT_COUNT). The byte after a
 * line's content ("\r" or "\n") is the sentinel while the line is scanned, then put back.
 */
const scanLinesBody: Node = [
  set(L_ROWS, i32(0)),
  set(L_LINE, get(L_START)),
  set(L_V_NL, i8x16splat(i32(0x0a))),
  block(
    "stop",
    loop(
      "line",
      brIf("stop", geU(get(L_ROWS), get(L_MAX_ROWS))),
      // The next "\n", 16 bytes at a time (the slack after `end` covers the over-read).
      set(L_NL, get(L_LINE)),
      loop(
        "find",
        brIf("stop", geU(get(L_NL), get(L_END))),
        set(L_MASK, i8x16bitmask(i8x16eq(v128load(get(L_NL)), get(L_V_NL)))),
        when(eqz(get(L_MASK)), [inc(L_NL, 16), br("find")]),
      ),
      set(L_NL, add(get(L_NL), ctz(get(L_MASK)))),
      brIf("stop", geU(get(L_NL), get(L_END))),
      set(L_CONTENT_END, get(L_NL)),
      set(L_EOL, i32(1)),
      when(and(gtU(get(L_NL), get(L_LINE)), eq(load8(sub(get(L_NL), i32(1))), i32(0x0d))), [set(L_CONTENT_END, sub(get(L_NL), i32(1))), set(L_EOL, i32(2))]),
      set(L_SAVED, load8(get(L_CONTENT_END))),
      store8(get(L_CONTENT_END), i32(0)),
      set(L_ROW, add(i32(ROWS), shl(get(L_ROWS), i32(ROW_SHIFT)))),
      store32(get(L_ROW), call(0, get(L_LINE), get(L_CONTENT_END), get(L_STACK)), ROW_RESULT),
      store8(get(L_CONTENT_END), get(L_SAVED)),
      store32(get(L_ROW), get(L_LINE), ROW_LINE_START),
      store32(get(L_ROW), get(L_CONTENT_END), ROW_CONTENT_END),
      store32(get(L_ROW), get(L_EOL), ROW_EOL),
      memoryCopy(add(get(L_ROW), i32(ROW_RESULTS)), i32(OUT), i32(R_SIZE)),
      inc(L_ROWS, 1),
      set(L_LINE, add(get(L_NL), i32(1))),
      br("line"),
    ),
  ),
  store32(i32(OUT_COUNT), get(L_ROWS)),
  get(L_LINE),
];

/** The module's bytes: `scan(base, end, stack) -> SCAN_*`, `scanLines`, and its memory. */
export function scannerModuleBytes(): Uint8Array {
  return assembleModule(
    [
      { name: "scan", params: [I32, I32, I32], results: [I32], locals: [[10, I32], [4, V128], [1, I32]], body: scanBody },
      { name: "scanLines", params: [I32, I32, I32, I32], results: [I32], locals: [[8, I32], [1, V128]], body: scanLinesBody },
    ],
    1,
    [dataSegment(CLS, tables())],
  );
}

