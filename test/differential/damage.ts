/**
 * Damage applied to a pi-written v3 file, as real files get damaged. Two kinds:
 * - `piReadable`: damage pi reads the same way sessfmt does (orphans, omitted or empty
 *   parentId, parents later in the file, unknown entry types, odd timestamps, stray keys,
 *   labels of missing entries, untrimmed session names, fields pi's types require but
 *   its reader does not check (summary, provider, content, ...), blank and unparseable lines, extra header lines, CRLF, an
 *   unterminated or torn last line). Used in the differential test.
 * - `any`: also parent cycles, self-parents and duplicate ids, where pi itself breaks;
 *   used only for sessfmt's own invariants.
 */
import fc from "fast-check";

type Obj = Record<string, unknown>;
type Line = { entry: Obj; crlf?: boolean } | { raw: string; crlf?: boolean };

export type Damage =
  | { d: "orphan"; at: number }
  | { d: "omitParent"; at: number }
  | { d: "emptyParent"; at: number }
  | { d: "reparent"; at: number; to: number }
  | { d: "unknownType"; at: number; parent: number | null }
  | { d: "timestamp"; at: number; value: string }
  | { d: "strayKey"; at: number }
  | { d: "dropField"; at: number; field: string }
  | { d: "labelMissing"; at: number }
  | { d: "sessionInfo"; at: number; parent: number | null; name: string | undefined }
  | { d: "insertRaw"; at: number; text: string }
  | { d: "extraHeader"; at: number }
  | { d: "crlf"; at: number }
  // pi cannot read these (see the note in context.test.ts); sessfmt must.
  | { d: "cycle"; at: number; to: number }
  | { d: "selfParent"; at: number }
  | { d: "duplicateId"; at: number; from: number };

export type Tail = "newline" | "unterminated" | "torn";

/** How the header line is written: as pi wrote it, newer version, CRLF, BOM, after blank lines. */
export type HeaderStyle = "asIs" | "version4" | "crlf" | "bom" | "leadingBlank";

export interface DamagePlan {
  damage: Damage[];
  tail: Tail;
  header?: HeaderStyle;
}

const at = fc.nat({ max: 1_000 });
const DROPPABLE = [
  "summary",
  "firstKeptEntryId",
  "tokensBefore",
  "thinkingLevel",
  "provider",
  "modelId",
  "fromId",
  "customType",
  "content",
  "display",
  "details",
  "name",
  "label",
  "message.content",
  "message.provider",
  "message.model",
  "message.timestamp",
];
const oddTimestamp = fc.constantFrom("garbage", "", "2025-13-45T00:00:00Z", "1970-01-01T00:00:00.000Z", "2025-11-20T23:33:50.805+02:00", "2025-11-20", "9999-12-31T23:59:59.999Z");
/** Lines both readers skip: blank, or not JSON at all. */
const skippedLine = fc.constantFrom("", "   ", "\t", "\r", "{not json", '{"type":"message"', "}", '{"a":1}}', "\u0000", "\u2028", "{\u2028}");

const piReadable: fc.Arbitrary<Damage>[] = [
  fc.record({ d: fc.constant("orphan" as const), at }),
  fc.record({ d: fc.constant("omitParent" as const), at }),
  fc.record({ d: fc.constant("emptyParent" as const), at }),
  fc.record({ d: fc.constant("reparent" as const), at, to: at }),
  fc.record({ d: fc.constant("unknownType" as const), at, parent: fc.option(at, { nil: null }) }),
  fc.record({ d: fc.constant("timestamp" as const), at, value: oddTimestamp }),
  fc.record({ d: fc.constant("strayKey" as const), at }),
  // Any field but the ones sessfmt requires (type, id, parentId, timestamp, message.role, label.targetId).
  fc.record({
    d: fc.constant("dropField" as const),
    at,
    field: fc.constantFrom(...DROPPABLE),
  }),
  fc.record({ d: fc.constant("labelMissing" as const), at }),
  // pi's appendSessionInfo trims before writing; other writers need not.
  fc.record({
    d: fc.constant("sessionInfo" as const),
    at,
    parent: fc.option(at, { nil: null }),
    name: fc.constantFrom("  spaced  ", "   ", "", "\u2028named\u2029", "\uFEFF\u00a0nbsp\u00a0", "\tx\n", undefined),
  }),
  fc.record({ d: fc.constant("insertRaw" as const), at, text: skippedLine }),
  fc.record({ d: fc.constant("extraHeader" as const), at }),
  fc.record({ d: fc.constant("crlf" as const), at }),
];
const piUnreadable: fc.Arbitrary<Damage>[] = [
  fc.record({ d: fc.constant("cycle" as const), at, to: at }),
  fc.record({ d: fc.constant("selfParent" as const), at }),
  fc.record({ d: fc.constant("duplicateId" as const), at, from: at }),
];
const tail = fc.constantFrom<Tail>("newline", "newline", "unterminated", "torn");

export function damagePlan(kind: "piReadable" | "any"): fc.Arbitrary<DamagePlan> {
  const kinds = kind === "any" ? [...piReadable, ...piUnreadable] : piReadable;
  const header = fc.constantFrom<HeaderStyle>("asIs", "asIs", "asIs", "version4", "crlf", "bom", "leadingBlank");
  return fc.record({ damage: fc.array(fc.oneof(...kinds), { maxLength: 8 }), tail, header });
}

let unknownSeq = 0;

/** Apply a plan to the text of a pi-written file; returns the damaged bytes. */
export function applyDamage(fileText: string, plan: DamagePlan): Buffer {
  const [headerText, ...rest] = fileText.split("\n");
  if (rest[rest.length - 1] === "") rest.pop();
  const header = JSON.parse(headerText as string) as Obj;
  const lines: Line[] = rest.map((t) => ({ entry: JSON.parse(t) as Obj }));
  const entries = () => lines.filter((l): l is { entry: Obj } => "entry" in l).map((l) => l.entry);
  const nth = (n: number): Obj | undefined => {
    const es = entries();
    return es.length === 0 ? undefined : es[n % es.length];
  };

  for (const dmg of plan.damage) {
    const e = nth(dmg.at);
    switch (dmg.d) {
      case "orphan":
        if (e) e.parentId = "f0f0f0f0-missing";
        break;
      case "omitParent":
        if (e) delete e.parentId;
        break;
      case "emptyParent":
        if (e) e.parentId = "";
        break;
      case "reparent": {
        const to = nth(dmg.to);
        if (e && to && !wouldCycle(entries(), e, to.id as string)) e.parentId = to.id;
        break;
      }
      case "unknownType": {
        const parent = dmg.parent === null ? null : (nth(dmg.parent)?.id ?? null);
        const line: Line = {
          entry: { type: "mode_change", id: `u-${++unknownSeq}`, parentId: parent, timestamp: "2025-11-21T00:00:00.000Z", mode: "plan\u2028", partialJson: '{"a":' },
        };
        lines.splice(dmg.at % (lines.length + 1), 0, line);
        break;
      }
      case "timestamp":
        if (e) e.timestamp = dmg.value;
        break;
      case "dropField": {
        if (!e) break;
        const [a, b] = dmg.field.split(".") as [string, string | undefined];
        const holder = b === undefined ? e : (e[a] as Obj | undefined);
        if (holder && typeof holder === "object") delete holder[b ?? a];
        break;
      }
      case "strayKey":
        if (e) e.partialJson = '{"path":"\u2029';
        break;
      case "labelMissing": {
        const labels = entries().filter((x) => x.type === "label");
        const label = labels[dmg.at % Math.max(1, labels.length)];
        if (label) label.targetId = "f0f0f0f0-gone";
        break;
      }
      case "sessionInfo": {
        const parent = dmg.parent === null ? null : (nth(dmg.parent)?.id ?? null);
        const entry: Obj = { type: "session_info", id: `u-${++unknownSeq}`, parentId: parent, timestamp: "2025-11-21T00:00:00.000Z" };
        if (dmg.name !== undefined) entry.name = dmg.name;
        lines.splice(dmg.at % (lines.length + 1), 0, { entry });
        break;
      }
      case "insertRaw":
        lines.splice(dmg.at % (lines.length + 1), 0, { raw: dmg.text });
        break;
      case "extraHeader":
        lines.splice(dmg.at % (lines.length + 1), 0, { entry: { ...header, id: "second-header", version: 1 } });
        break;
      case "crlf": {
        const l = lines[dmg.at % Math.max(1, lines.length)];
        if (l) l.crlf = true;
        break;
      }
      case "cycle": {
        const to = nth(dmg.to);
        if (e && to) e.parentId = to.id;
        break;
      }
      case "selfParent":
        if (e) e.parentId = e.id;
        break;
      case "duplicateId": {
        const from = nth(dmg.from);
        if (e && from) e.id = from.id;
        break;
      }
    }
  }

  const body = lines.map((l) => ("entry" in l ? JSON.stringify(l.entry) : l.raw) + (l.crlf ? "\r\n" : "\n"));
  let headerLine = `${JSON.stringify(plan.header === "version4" ? { ...header, version: 4 } : header)}\n`;
  if (plan.header === "crlf") headerLine = headerLine.replace(/\n$/, "\r\n");
  if (plan.header === "bom") headerLine = `\uFEFF${headerLine}`;
  if (plan.header === "leadingBlank") headerLine = `\n  \n${headerLine}`;
  let text = headerLine + body.join("");
  if (plan.tail === "unterminated") {
    text = text.replace(/\r?\n$/, "");
  } else if (plan.tail === "torn") {
    const source = entries()[0] ?? header;
    const full = JSON.stringify(source);
    text += full.slice(0, Math.max(1, Math.floor(full.length / 2)));
  }
  return Buffer.from(text, "utf8");
}

/** Would making `to` the parent of `e` close a parent cycle? */
function wouldCycle(all: Obj[], e: Obj, to: string): boolean {
  const byId = new Map(all.map((x) => [x.id as string, x]));
  const seen = new Set<Obj>();
  let cur = byId.get(to);
  while (cur && !seen.has(cur)) {
    if (cur === e) return true;
    seen.add(cur);
    const p = cur.parentId;
    cur = typeof p === "string" && p !== "" ? byId.get(p) : undefined;
  }
  return cur !== undefined;
}
