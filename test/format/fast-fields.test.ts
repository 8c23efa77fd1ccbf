/**
 * SPEC 5.1 (fast path of open): the byte-level field scanner may answer "unsure" as often
 * as it likes (the reader then parses the line with JSON.parse), but when it answers
 * "certain" the line must be a JSON object that JSON.parse accepts, and every field it
 * reports must equal what the parsed object holds.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isUtf8 } from "node:buffer";
import {
  F_FIRST_KEPT_ENTRY_INDEX,
  F_ID,
  F_LABEL,
  F_MESSAGE,
  F_MESSAGE_ROLE,
  F_NAME,
  F_PARENT_ID,
  F_TARGET_ID,
  F_TIMESTAMP,
  F_TYPE,
  K_NUMBER,
  K_STRING,
  LineFields,
  ObjectFields,
  SCAN_CERTAIN,
  scanLine,
} from "../../src/format/fast-fields.js";

const SLOTS = [F_TYPE, F_ID, F_PARENT_ID, F_TIMESTAMP, F_MESSAGE, F_MESSAGE_ROLE, F_TARGET_ID, F_LABEL, F_NAME, F_FIRST_KEPT_ENTRY_INDEX];
const TRACKED_KEYS = ["type", "id", "parentId", "timestamp", "message", "role", "targetId", "label", "name", "firstKeptEntryIndex"];

const fields = new LineFields();

/** Check one line; returns whether the scanner was certain. */
function check(text: string): boolean {
  const bytes = Buffer.from(text, "utf8");
  if (!isUtf8(bytes)) return false;
  const certain = scanLine(bytes, fields) === SCAN_CERTAIN;
  let parsed: unknown;
  let ok = true;
  try {
    parsed = JSON.parse(bytes.toString("utf8")); // what the reader parses

  } catch {
    ok = false;
  }
  if (!certain) return false;
  expect(ok, `scanner accepted invalid JSON: ${text}`).toBe(true);
  expect(parsed !== null && typeof parsed === "object" && !Array.isArray(parsed), `scanner accepted a non-object: ${text}`).toBe(true);
  const expected = new ObjectFields(parsed as Record<string, unknown>);
  for (const slot of SLOTS) {
    expect(fields.kind(slot), `kind of slot ${slot} in ${text}`).toBe(expected.kind(slot));
    if (expected.kind(slot) === K_STRING) expect(fields.str(slot), `slot ${slot} in ${text}`).toBe(expected.str(slot));
    if (expected.kind(slot) === K_NUMBER) expect(Object.is(fields.num(slot), expected.num(slot)), `slot ${slot} in ${text}`).toBe(true);
  }
  return true;
}

// JSON text with awkward but valid spellings: whitespace between tokens, escapes, numbers
// in every form, duplicate keys, tracked keys at every depth.
const ws = fc.constantFrom("", "", "", " ", "\t", "\r", "  ");
const key = fc.oneof(fc.constantFrom(...TRACKED_KEYS), fc.constantFrom("content", "usage", "__proto__", "ty", "types"), fc.string({ maxLength: 4 }));
const keyText = fc.oneof(
  { weight: 6, arbitrary: key.map((k) => JSON.stringify(k)) },
  { weight: 1, arbitrary: key.map((k) => `"${[...k].map((ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"`) },
);
const stringText = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.string({ unit: "binary", maxLength: 8 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('"a\\/b"', '"\\ud83d\\ude00"', '"\\ud800"', '"\\uDC00x"', '"\\u00e9\\n\\t\\"\\\\"', '"\u2028"', '""', '"\\u0000"'),
);
const numberText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  fc.constantFrom("0", "-0", "1e400", "-1.5E-3", "2e+2", "0.000", "12345678901234567890"),
);
const { value: valueText } = fc.letrec<{ value: string; object: string; array: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    stringText,
    numberText,
    fc.constantFrom("true", "false", "null"),
    tie("object"),
    tie("array"),
  ),
  object: fc
    .array(fc.tuple(ws, keyText, ws, ws, tie("value"), ws), { maxLength: 6 })
    .map((pairs) => `{${pairs.map(([a, k, b, c, v, d]) => `${a}${k}${b}:${c}${v}${d}`).join(",")}}`),
  array: fc.array(fc.tuple(ws, tie("value"), ws), { maxLength: 4 }).map((xs) => `[${xs.map(([a, v, b]) => `${a}${v}${b}`).join(",")}]`),
}));
const objectText = fc.tuple(ws, valueText, ws).map(([a, v, b]) => `${a}${v}${b}`);

/** One edit of a JSON text with a character JSON cares about. */
const NASTY = ['{', '}', '[', ']', '"', ",", ":", "\\", " ", "0", "1", "-", "+", ".", "e", "E", "t", "n", "u", "l", "f", "\t", "\u0001", "\u007f", "x", "\ud800"];
const mutated = fc
  .tuple(objectText, fc.array(fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.constantFrom(...NASTY)), { minLength: 1, maxLength: 3 }))
  .map(([text, edits]) => {
    let t = text;
    for (const [at, op, ch] of edits) {
      const i = t.length === 0 ? 0 : at % (t.length + 1);
      if (op === "insert") t = t.slice(0, i) + ch + t.slice(i);
      else if (op === "delete") t = t.slice(0, i) + t.slice(i + 1);
      else t = t.slice(0, i) + ch + t.slice(i + 1);
    }
    return t;
  });

describe("fast field scanner: certain only when JSON.parse agrees", () => {
  it("on generated JSON texts (any top-level value, escapes, duplicates, whitespace)", () => {
    fc.assert(
      fc.property(objectText, (t) => {
        check(t);
      }),
      { numRuns: 3000 },
    );
  });

  it("on JSON texts with random edits (no false accepts)", () => {
    fc.assert(
      fc.property(mutated, (t) => {
        check(t);
      }),
      { numRuns: 5000 },
    );
  });

  it("on pi-like entry lines it is certain, and reports the same fields", () => {
    const entry = fc.record({
      type: fc.constantFrom("message", "label", "compaction", "session_info", "custom"),
      id: fc.stringMatching(/^[0-9a-f]{8}$/),
      parentId: fc.oneof(fc.constant(null), fc.stringMatching(/^[0-9a-f]{8}$/)),
      timestamp: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      message: fc.record({ role: fc.constantFrom("user", "assistant", "toolResult"), content: fc.array(fc.record({ type: fc.constant("text"), text: fc.string() })) }),
      targetId: fc.string(),
      label: fc.option(fc.string(), { nil: undefined }),
      name: fc.string(),
      firstKeptEntryIndex: fc.integer(),
    });
    fc.assert(
      fc.property(entry, (e) => {
        expect(check(JSON.stringify(e))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

describe("fast field scanner: edge cases", () => {
  const invalid = [
    "",
    "{",
    "}",
    "{,}",
    '{"a":1,}',
    '{"a":[1,]}',
    '{"a":01}',
    '{"a":-}',
    '{"a":1.}',
    '{"a":1e}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":tru}',
    '{"a":nul}',
    '{"a":"x\ty"}',
    '{"a":"\\x"}',
    '{"a":"\\u12"}',
    '{"a":"\\u12G4"}',
    '{"a" 1}',
    '{a:1}',
    "{'a':1}",
    '{"a":1}x',
    '{"a":1}}',
    '{"a":1} {"b":2}',
    '\ufeff{"a":1}',
    '{"a":"unterminated}',
    '{"a":[}',
    '{"a":{]}',
  ];
  it.each(invalid)("invalid JSON is never certain: %j", (t) => {
    expect(scanLine(Buffer.from(t), fields)).not.toBe(SCAN_CERTAIN);
  });

  const notObjects = ["[]", "1", '"s"', "null", "true", " [1,2] "];
  it.each(notObjects)("a top-level value that is not an object is unsure (JSON.parse words it): %j", (t) => {
    expect(scanLine(Buffer.from(t), fields)).not.toBe(SCAN_CERTAIN);
  });

  it("an escaped spelling of a tracked key is unsure (it might be one)", () => {
    expect(scanLine(Buffer.from('{"typ\\u0065":"message"}'), fields)).not.toBe(SCAN_CERTAIN);
    expect(scanLine(Buffer.from('{"message":{"rol\\u0065":"user"}}'), fields)).not.toBe(SCAN_CERTAIN);
    // Deeper, an escaped key cannot be a tracked one: certain.
    expect(check('{"data":{"typ\\u0065":1}}')).toBe(true);
  });

  it("a surrogate escape anywhere is unsure (the lone-surrogate check needs the parsed value)", () => {
    expect(scanLine(Buffer.from('{"a":"\\ud83d\\ude00"}'), fields)).not.toBe(SCAN_CERTAIN);
    expect(scanLine(Buffer.from('{"a":{"b":["\\uDFFF"]}}'), fields)).not.toBe(SCAN_CERTAIN);
  });

  it("duplicate keys: the last value wins, as in JSON.parse", () => {
    expect(check('{"type":"a","type":"b","id":"x","id":5}')).toBe(true);
    expect(fields.str(F_TYPE)).toBe("b");
    expect(check('{"message":{"role":"user"},"message":{"content":[]}}')).toBe(true);
    expect(fields.kind(F_MESSAGE_ROLE)).toBe(0);
    expect(check('{"message":{"role":"user","role":"assistant"}}')).toBe(true);
    expect(fields.str(F_MESSAGE_ROLE)).toBe("assistant");
  });

  it("role counts only directly inside the top-level message object", () => {
    expect(check('{"message":{"x":{"role":"user"}},"role":"assistant"}')).toBe(true);
    expect(fields.kind(F_MESSAGE_ROLE)).toBe(0);
    expect(check('{"data":{"message":{"role":"user"}}}')).toBe(true);
    expect(fields.kind(F_MESSAGE)).toBe(0);
  });

  it("whitespace of every JSON kind between tokens", () => {
    expect(check(' \t{ "type" :\r"m" , "id":\t[ ] ,"n":{ } }\r ')).toBe(true);
  });

  it("escaped string values are decoded exactly as JSON.parse does", () => {
    expect(check('{"id":"a\\"b\\\\c\\/d\\u00e9\\n","timestamp":"\\u0032"}')).toBe(true);
    expect(fields.str(F_ID)).toBe('a"b\\c/d\u00e9\n');
  });

  it("nesting is iterative: 100 000 levels deep", () => {
    const deep = `{"a":${"[".repeat(100_000)}${"]".repeat(100_000)}}`;
    expect(check(deep)).toBe(true);
  });
});
