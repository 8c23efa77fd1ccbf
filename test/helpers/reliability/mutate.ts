/**
 * Mutations of session files for the fuzz suite, on a line model that remembers where
 * every line came from, so a test knows which original lines were left intact (and must
 * still be read as the same entries, byte for byte) and which were changed in ways that
 * keep them valid entries (and must still be read as entries).
 */
import fc from "fast-check";

export interface Line {
  /** Content without the terminator. */
  bytes: Buffer;
  /** "\n", "\r\n", or "" (only possible for the last line). */
  eol: "\n" | "\r\n" | "";
  /** Index of the original line when the content is unchanged; null once touched or new. */
  origin: number | null;
  /**
   * Changed (or copied) in a way that keeps a valid entry valid: the index of the
   * original line it derives from. If that line was an entry, this one must be read as one.
   */
  derivedFrom?: number;
}

export interface Doc {
  lines: Line[];
}

export function parseDoc(bytes: Buffer): Doc {
  const lines: Line[] = [];
  let start = 0;
  while (start < bytes.length) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl === -1) {
      lines.push({ bytes: bytes.subarray(start), eol: "", origin: lines.length });
      break;
    }
    const crlf = nl > start && bytes[nl - 1] === 0x0d;
    lines.push({ bytes: bytes.subarray(start, crlf ? nl - 1 : nl), eol: crlf ? "\r\n" : "\n", origin: lines.length });
    start = nl + 1;
  }
  return { lines };
}

export function serialize(doc: Doc): Buffer {
  return Buffer.concat(doc.lines.flatMap((l) => [l.bytes, Buffer.from(l.eol)]));
}

/** One mutation; `at` values are fractions in [0, 1) scaled to the document when applied. */
export type Mutation =
  | { kind: "bitFlip"; line: number; at: number; bit: number }
  | { kind: "insertGarbage"; line: number; at: number; bytes: Uint8Array }
  | { kind: "insertNul"; line: number; at: number; length: number }
  | { kind: "garbageLine"; line: number; bytes: Uint8Array }
  | { kind: "nulLine"; line: number; length: number }
  | { kind: "blankLine"; line: number; text: string }
  | { kind: "jsonLine"; line: number; text: string }
  | { kind: "duplicateLine"; line: number; from: number }
  | { kind: "deleteLine"; line: number }
  | { kind: "joinLines"; line: number }
  | { kind: "crlf"; line: number }
  | { kind: "crlfAll" }
  | { kind: "dropFinalNewline" }
  | { kind: "truncate"; at: number }
  | { kind: "lineSeparator"; line: number; char: "\u2028" | "\u2029" }
  | { kind: "loneSurrogateEscape"; line: number }
  | { kind: "loneSurrogateBytes"; line: number; at: number }
  | { kind: "parent"; line: number; to: "self" | "missing" | "other"; other: number }
  | { kind: "duplicateId"; line: number; from: number }
  | { kind: "bom" };

const pick = (n: number, f: number) => Math.min(n - 1, Math.floor(f * n));

function splice(b: Buffer, at: number, insert: Uint8Array): Buffer {
  return Buffer.concat([b.subarray(0, at), Buffer.from(insert), b.subarray(at)]);
}

/** Parse a line as a JSON object (or undefined). */
function asObject(l: Line): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(l.bytes.toString("utf8"));
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const lineage = (l: Line): number | undefined => (l.origin !== null ? l.origin : l.derivedFrom);

/** Re-serialise an object line that has an id, changed by `edit` (only fields that keep an entry valid). */
function rewriteEntry(l: Line, edit: (o: Record<string, unknown>) => void): Line {
  const o = asObject(l);
  if (!o || o.type === "session" || typeof o.id !== "string") return l;
  edit(o);
  return { bytes: Buffer.from(JSON.stringify(o), "utf8"), eol: l.eol, origin: null, derivedFrom: lineage(l) };
}

/** Insert raw `text` right after the opening quote of a string value, if the line has one. */
function insertInString(l: Line, text: string): Line {
  const s = l.bytes.toString("utf8");
  const m = /"(?:customType|text|summary|name|label)"\s*:\s*"/.exec(s);
  if (!m) return l;
  const at = m.index + m[0].length;
  return { bytes: Buffer.from(s.slice(0, at) + text + s.slice(at), "utf8"), eol: l.eol, origin: null, derivedFrom: lineage(l) };
}

/** The lines of a document cut at byte `cut`: later lines go, the line it falls in loses its tail. */
function cutLines(lines: Line[], cut: number): Line[] {
  let pos = 0;
  const kept: Line[] = [];
  for (const l of lines) {
    const len = l.bytes.length + l.eol.length;
    if (pos + len <= cut) kept.push(l);
    else if (pos < cut) {
      const part = Buffer.concat([l.bytes, Buffer.from(l.eol)]).subarray(0, cut - pos);
      // Content complete but the "\n" gone: the same entry, without a line end.
      if (part.length === l.bytes.length) kept.push({ ...l, eol: "" });
      else kept.push({ bytes: Buffer.from(part), eol: "", origin: null });
    }
    pos += len;
  }
  return kept;
}

/** `base` cut at byte `cut`, as a document that knows which lines are still whole. */
export function truncated(base: Buffer, cut: number): Doc {
  return { lines: cutLines(parseDoc(base).lines, cut) };
}

export function applyMutation(doc: Doc, m: Mutation): Doc {
  const lines = doc.lines.map((l) => ({ ...l }));
  const n = lines.length;
  if (n === 0) return { lines };
  const touch = (i: number, bytes: Buffer) => {
    const l = lines[i] as Line;
    lines[i] = { bytes, eol: l.eol, origin: null };
  };
  switch (m.kind) {
    case "bitFlip": {
      const l = lines[m.line % n] as Line;
      if (l.bytes.length === 0) break;
      const b = Buffer.from(l.bytes);
      const at = pick(b.length, m.at);
      b[at] = (b[at] as number) ^ (1 << m.bit);
      touch(m.line % n, b);
      break;
    }
    case "insertGarbage":
    case "insertNul": {
      const i = m.line % n;
      const l = lines[i] as Line;
      const insert = m.kind === "insertNul" ? new Uint8Array(m.length) : m.bytes;
      touch(i, splice(l.bytes, pick(l.bytes.length + 1, m.at), insert));
      break;
    }
    case "garbageLine":
      lines.splice(m.line % (n + 1), 0, { bytes: Buffer.from(m.bytes), eol: "\n", origin: null });
      break;
    case "nulLine":
      lines.splice(m.line % (n + 1), 0, { bytes: Buffer.alloc(m.length), eol: "\n", origin: null });
      break;
    case "blankLine":
    case "jsonLine":
      lines.splice(m.line % (n + 1), 0, { bytes: Buffer.from(m.text, "utf8"), eol: "\n", origin: null });
      break;
    case "duplicateLine": {
      const src = lines[m.from % n] as Line;
      lines.splice(m.line % (n + 1), 0, { bytes: Buffer.from(src.bytes), eol: "\n", origin: null, derivedFrom: lineage(src) });
      break;
    }
    case "deleteLine":
      lines.splice(m.line % n, 1);
      break;
    case "joinLines": {
      const i = m.line % n;
      const l = lines[i] as Line;
      if (i === n - 1) break;
      const next = lines[i + 1] as Line;
      lines.splice(i, 2, { bytes: Buffer.concat([l.bytes, next.bytes]), eol: next.eol, origin: null });
      break;
    }
    case "crlf": {
      const l = lines[m.line % n] as Line;
      if (l.eol === "\n") l.eol = "\r\n";
      break;
    }
    case "crlfAll":
      for (const l of lines) if (l.eol === "\n") l.eol = "\r\n";
      break;
    case "dropFinalNewline": {
      const l = lines[n - 1] as Line;
      l.eol = "";
      break;
    }
    case "truncate":
      return { lines: cutLines(lines, pick(serialize({ lines }).length + 1, m.at)) };
    case "lineSeparator": {
      const i = m.line % n;
      lines[i] = rewriteEntry(lines[i] as Line, (o) => {
        o.fuzz = `a${m.char}b`;
        if (typeof o.customType === "string") o.customType = `${o.customType}${m.char}`;
      });
      break;
    }
    case "loneSurrogateEscape": {
      // "\ud800" written as an escape: valid JSON, still an entry (with a lone_surrogate diagnostic).
      const i = m.line % n;
      lines[i] = insertInString(lines[i] as Line, "\\ud800");
      break;
    }
    case "loneSurrogateBytes": {
      // An encoded surrogate (ED A0 80) is not UTF-8: the line is skipped.
      const i = m.line % n;
      const l = lines[i] as Line;
      touch(i, splice(l.bytes, pick(l.bytes.length + 1, m.at), Uint8Array.from([0xed, 0xa0, 0x80])));
      break;
    }
    case "parent": {
      const i = m.line % n;
      const other = asObject(lines[m.other % n] as Line);
      lines[i] = rewriteEntry(lines[i] as Line, (o) => {
        o.parentId = m.to === "self" ? o.id : m.to === "missing" ? "missing0" : typeof other?.id === "string" ? other.id : null;
      });
      break;
    }
    case "duplicateId": {
      const i = m.line % n;
      const other = asObject(lines[m.from % n] as Line);
      if (typeof other?.id !== "string") break;
      lines[i] = rewriteEntry(lines[i] as Line, (o) => {
        o.id = other.id;
      });
      break;
    }
    case "bom": {
      const l = lines[0] as Line;
      lines[0] = { bytes: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), l.bytes]), eol: l.eol, origin: null };
      break;
    }
  }
  // A line without a terminator can only be the last one: give earlier ones their "\n" back.
  for (let i = 0; i < lines.length - 1; i++) if ((lines[i] as Line).eol === "") (lines[i] as Line).eol = "\n";
  return { lines };
}

const frac = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const idx = fc.nat({ max: 10_000 });

/** Any mutation. */
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("bitFlip" as const), line: idx, at: frac, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("insertGarbage" as const), line: idx, at: frac, bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
  fc.record({ kind: fc.constant("insertNul" as const), line: idx, at: frac, length: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({ kind: fc.constant("garbageLine" as const), line: idx, bytes: fc.uint8Array({ minLength: 0, maxLength: 200 }).map((b) => b.map((x) => (x === 0x0a ? 0x20 : x))) }),
  fc.record({ kind: fc.constant("nulLine" as const), line: idx, length: fc.integer({ min: 1, max: 8192 }) }),
  fc.record({ kind: fc.constant("blankLine" as const), line: idx, text: fc.constantFrom("", " ", "\t", "  \t ", "\r") }),
  fc.record({
    kind: fc.constant("jsonLine" as const),
    line: idx,
    text: fc.oneof(
      fc.constantFrom("{}", "[]", "null", "1", '"x"', '{"type":"session","id":"x","version":3}', '{"type":1,"id":"a"}', '{"type":"message","id":"m","timestamp":"t","message":null}', '{"type":"label","id":"l","timestamp":"t"}'),
      fc.json({ maxDepth: 3 }),
    ),
  }),
  fc.record({ kind: fc.constant("duplicateLine" as const), line: idx, from: idx }),
  fc.record({ kind: fc.constant("deleteLine" as const), line: idx }),
  fc.record({ kind: fc.constant("joinLines" as const), line: idx }),
  fc.record({ kind: fc.constant("crlf" as const), line: idx }),
  fc.constant({ kind: "crlfAll" as const }),
  fc.constant({ kind: "dropFinalNewline" as const }),
  fc.record({ kind: fc.constant("truncate" as const), at: frac }),
  fc.record({ kind: fc.constant("lineSeparator" as const), line: idx, char: fc.constantFrom("\u2028" as const, "\u2029" as const) }),
  fc.record({ kind: fc.constant("loneSurrogateEscape" as const), line: idx }),
  fc.record({ kind: fc.constant("loneSurrogateBytes" as const), line: idx, at: frac }),
  fc.record({ kind: fc.constant("parent" as const), line: idx, to: fc.constantFrom("self" as const, "missing" as const, "other" as const), other: idx }),
  fc.record({ kind: fc.constant("duplicateId" as const), line: idx, from: idx }),
  fc.constant({ kind: "bom" as const }),
);

/** 1 to 4 mutations applied in order. */
export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 4 });

export function mutate(base: Buffer, ms: readonly Mutation[]): Doc {
  let doc = parseDoc(base);
  for (const m of ms) doc = applyMutation(doc, m);
  return doc;
}

/**
 * Where the original lines ended up in the mutated file: the intact ones (same bytes)
 * and the ones changed into other valid entries (`derivedFrom`), with their byte offsets.
 * `headerFirst` says whether the original header is still the first non-blank line,
 * unchanged (then opening must succeed).
 */
export function expectations(doc: Doc): {
  intact: { origin: number; offset: number; bytes: Buffer }[];
  derived: { from: number; offset: number; bytes: Buffer }[];
  headerFirst: boolean;
} {
  const intact: { origin: number; offset: number; bytes: Buffer }[] = [];
  const derived: { from: number; offset: number; bytes: Buffer }[] = [];
  let offset = 0;
  let headerFirst = false;
  let sawContent = false;
  for (const l of doc.lines) {
    const blank = /^[ \t\r]*$/.test(l.bytes.toString("latin1"));
    if (!sawContent && !blank) {
      sawContent = true;
      headerFirst = l.origin === 0;
    }
    if (l.origin !== null) intact.push({ origin: l.origin, offset, bytes: l.bytes });
    else if (l.derivedFrom !== undefined) derived.push({ from: l.derivedFrom, offset, bytes: l.bytes });
    offset += l.bytes.length + l.eol.length;
  }
  return { intact, derived, headerFirst };
}
