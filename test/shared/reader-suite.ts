/**
 * ONE "what do you see" suite for every reader of a session: the JSONL reader
 * (openSession) and the V2 sidecar reader (openSidecar) both run it, on the bundled
 * fixtures and on generated sessions. What a reader must see is computed here
 * independently: the valid entry lines by SPEC sections 3 and 5.3 (a small parser of its
 * own), the tree by SPEC section 6 (parents, cycle cuts, child order, labels, name), and
 * the context by pi-coding-agent's own buildSessionContext (a naive path walk for files
 * with parent cycles, on which pi never returns).
 */
import fc from "fast-check";
import { readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildSessionContext as piBuildSessionContext } from "../differential/pi.js";
import { buildContextFromPath, openSessionSync, type SessionContext, type SessionEntry, type SessionTree } from "../../src/index.js";
import { sessionArb, sessionText } from "./sessions.js";

/** What a reader shows for one session file. */
export interface ReaderView {
  tree: SessionTree;
  leafId: string | null;
  /** Every entry, in file order. */
  entries(): SessionEntry[];
  /** The exact line bytes of the entry with this id (the later one when ids repeat). */
  raw(id: string): Buffer;
  buildContext(leafId?: string | null): SessionContext;
  close?(): Promise<void>;
}

/** Opens a session file for the suite (it may copy the file first; it owns nothing else). */
export type OpenReader = (file: string) => Promise<ReaderView>;

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures");

// ---------------------------------------------------------------------------
// The reference: SPEC 3 and 5.3 for version 3 files, written out plainly.

export interface RefEntry {
  value: Record<string, unknown>;
  raw: Buffer;
  index: number;
  id: string;
  parentId: string | null;
  timestamp: string;
}

function isBlank(b: Buffer): boolean {
  return b.every((c) => c === 0x20 || c === 0x09 || c === 0x0d);
}

/** The valid entry lines of a version 3 session file, in file order. */
export function referenceEntries(bytes: Buffer): RefEntry[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      lines.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (start < bytes.length) lines.push(bytes.subarray(start));
  const out: RefEntry[] = [];
  let header = false;
  const decoder = new TextDecoder("utf-8", { fatal: true });
  for (let line of lines) {
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (isBlank(line)) continue;
    if (!header) {
      header = true;
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(decoder.decode(line));
    } catch {
      continue;
    }
    if (v === null || typeof v !== "object" || Array.isArray(v)) continue;
    const o = v as Record<string, unknown>;
    if (typeof o.type !== "string" || o.type === "" || o.type === "session") continue;
    if (typeof o.id !== "string" || o.id === "") continue;
    if (o.parentId !== undefined && o.parentId !== null && typeof o.parentId !== "string") continue;
    if (typeof o.timestamp !== "string") continue;
    if (o.type === "message") {
      const m = o.message as { role?: unknown } | null;
      if (m === null || typeof m !== "object" || Array.isArray(m) || typeof m.role !== "string") continue;
    }
    if (o.type === "label" && typeof o.targetId !== "string") continue;
    out.push({ value: o, raw: Buffer.from(line), index: out.length, id: o.id, parentId: typeof o.parentId === "string" && o.parentId !== "" ? o.parentId : null, timestamp: o.timestamp });
  }
  return out;
}

export interface RefTree {
  byId: Map<string, RefEntry>;
  parent: Map<RefEntry, RefEntry | undefined>;
  roots: RefEntry[];
  children: Map<RefEntry, RefEntry[]>;
  labels: Map<string, string>;
  name: string | undefined;
  cyclic: boolean;
}

/** SPEC 6, the slow and obvious way. */
export function referenceTree(entries: readonly RefEntry[]): RefTree {
  const byId = new Map<string, RefEntry>();
  for (const e of entries) byId.set(e.id, e);
  const winners = entries.filter((e) => byId.get(e.id) === e);
  const link = (e: RefEntry): RefEntry | undefined => (e.parentId === null || e.parentId === e.id ? undefined : byId.get(e.parentId));
  const cut = new Set<RefEntry>();
  let cyclic = false;
  for (const e of winners) {
    if (e.parentId === e.id) cyclic = true;
    const seen: RefEntry[] = [];
    let cur: RefEntry | undefined = e;
    while (cur && !seen.includes(cur)) {
      seen.push(cur);
      cur = link(cur);
    }
    if (cur) {
      cyclic = true;
      const cycle = seen.slice(seen.indexOf(cur));
      cut.add(cycle.reduce((a, b) => (b.index < a.index ? b : a)));
    }
  }
  const parent = new Map<RefEntry, RefEntry | undefined>();
  for (const e of winners) parent.set(e, cut.has(e) ? undefined : link(e));
  const roots = winners.filter((e) => parent.get(e) === undefined);
  const children = new Map<RefEntry, RefEntry[]>();
  for (const e of winners) {
    const p = parent.get(e);
    if (p) children.set(p, [...(children.get(p) ?? []), e]);
  }
  for (const kids of children.values()) kids.sort((a, b) => new Date(a.timestamp).getTime() - new Date(b.timestamp).getTime());
  const labels = new Map<string, string>();
  let name: string | undefined;
  for (const e of entries) {
    if (e.value.type === "label") {
      const l = e.value.label;
      if (typeof l === "string" && l !== "") labels.set(e.value.targetId as string, l);
      else labels.delete(e.value.targetId as string);
    }
    if (e.value.type === "session_info") name = typeof e.value.name === "string" ? e.value.name.trim() || undefined : undefined;
  }
  return { byId, parent, roots, children, labels, name, cyclic };
}

/** The context the reference expects at a leaf id (undefined: the last entry). */
export function referenceContext(entries: readonly RefEntry[], t: RefTree, leafId: string | null | undefined): SessionContext {
  if (!t.cyclic) return piBuildSessionContext(entries.map((e) => e.value) as never, leafId as string) as unknown as SessionContext;
  if (leafId === null) return { messages: [], thinkingLevel: "off", model: null };
  const leaf = (leafId ? t.byId.get(leafId) : undefined) ?? entries[entries.length - 1];
  if (!leaf) return { messages: [], thinkingLevel: "off", model: null };
  const path: RefEntry[] = [];
  for (let cur: RefEntry | undefined = leaf; cur; cur = t.parent.get(cur)) path.unshift(cur);
  return buildContextFromPath(path.map((e) => e.value) as SessionEntry[]);
}

// ---------------------------------------------------------------------------
// The checks.

/** Everything a reader must show for one file, against the reference. */
export async function expectReaderSees(open: OpenReader, file: string): Promise<void> {
  const entries = referenceEntries(readFileSync(file));
  const t = referenceTree(entries);
  const view = await open(file);
  try {
    const seen = view.entries();
    expect(seen.length, "entry count").toBe(entries.length);
    expect(seen, "entries in file order").toEqual(entries.map((e) => e.value));
    for (const e of t.byId.values()) expect(view.raw(e.id).equals(e.raw), `raw bytes of ${e.id}`).toBe(true);
    expect(view.leafId, "leaf after open").toBe(entries[entries.length - 1]?.id ?? null);
    expect(view.tree.size, "distinct ids").toBe(t.byId.size);
    expect(view.tree.roots.map((r) => r.id), "roots").toEqual(t.roots.map((r) => r.id));
    for (const e of t.byId.values()) {
      expect(view.tree.children(e.id).map((c) => c.id), `children of ${e.id}`).toEqual((t.children.get(e) ?? []).map((c) => c.id));
      const path: string[] = [];
      for (let cur: RefEntry | undefined = e; cur; cur = t.parent.get(cur)) path.unshift(cur.id);
      expect(view.tree.pathToRoot(e.id).map((r) => r.id), `path to ${e.id}`).toEqual(path);
    }
    expect(Object.fromEntries(view.tree.labels), "labels").toEqual(Object.fromEntries(t.labels));
    expect(view.tree.name, "name").toBe(t.name);
    const leaves: (string | null | undefined)[] = [undefined, null, "no-such-id", ...t.byId.keys()];
    for (const leaf of leaves) {
      expect(JSON.stringify(view.buildContext(leaf)), `context at ${String(leaf)}`).toBe(JSON.stringify(referenceContext(entries, t, leaf)));
    }
  } finally {
    await view.close?.();
  }
}

/** The v3 fixtures that open (the legacy v1/v2 ones and the fatal ones are not sidecar material). */
export function readableFixtures(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if (d.name.endsWith(".jsonl")) {
        try {
          if (openSessionSync(p).version >= 3) out.push(p);
        } catch {
          // fatal fixtures (empty, bad header) have nothing to read
        }
      }
    }
  };
  walk(FIXTURES);
  return out.sort();
}

/** Register the suite for one reader. */
export function describeReaderSuite(readerName: string, open: OpenReader, opts: { runs?: number } = {}): void {
  describe(`${readerName}: sees what SPEC 3, 5, 6 and 7 say is in a session`, () => {
    let tmp: string;
    beforeAll(() => {
      tmp = mkdtempSync(join(tmpdir(), "sessfmt-reader-suite-"));
    });
    afterAll(() => rmSync(tmp, { recursive: true, force: true }));

    const fixtures = readableFixtures();
    it("the bundled fixtures include the cases the suite is about", () => {
      const names = fixtures.map((f) => f.slice(FIXTURES.length + 1));
      for (const n of ["v3-branched.jsonl", "cycles.jsonl", "duplicate-ids.jsonl", "corrupt-lines.jsonl", "crlf.jsonl", "truncated-tail-complete.jsonl", "bom.jsonl", "header-only.jsonl"]) {
        expect(names).toContain(n);
      }
    });
    for (const f of fixtures) {
      it(`fixture ${f.slice(FIXTURES.length + 1)}`, async () => {
        await expectReaderSees(open, f);
      });
    }
    it("generated sessions (appends, branches, every entry type, junk lines, CRLF, torn last line)", async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(sessionArb({ junk: true, crlf: true, torn: true }), async (s) => {
          const file = join(tmp, `gen-${n++}.jsonl`);
          writeFileSync(file, sessionText(s));
          await expectReaderSees(open, file);
        }),
        { numRuns: opts.runs ?? 25 },
      );
    });
  });
}
