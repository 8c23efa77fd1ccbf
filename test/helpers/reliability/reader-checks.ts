/**
 * What the fuzz suite demands of the readers on any input: only SessfmtErrors, the same
 * answer from all three readers, every intact entry line recovered byte for byte, and
 * tree and context walks that finish without throwing anything else.
 */
import { writeFileSync } from "node:fs";
import { expect } from "vitest";
import { SessfmtError, exportSnapshot, openSession, openSessionFromBuffer, openSessionSync, type Session } from "../../../src/index.js";
import type { Doc } from "./mutate.js";
import { expectations } from "./mutate.js";

export type Outcome = { session: Session } | { error: SessfmtError };

/** Run `fn`; a thrown non-SessfmtError fails the test with the input described. */
export function onlyCoded<T>(what: string, fn: () => T): T | SessfmtError {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SessfmtError) return err;
    throw new Error(`${what} threw a ${(err as Error)?.name ?? typeof err} instead of a SessfmtError: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

export async function onlyCodedAsync<T>(what: string, fn: () => Promise<T>): Promise<T | SessfmtError> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof SessfmtError) return err;
    throw new Error(`${what} threw a ${(err as Error)?.name ?? typeof err} instead of a SessfmtError: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function summary(o: Session | SessfmtError): string {
  if (o instanceof SessfmtError) return `error ${o.code}`;
  return JSON.stringify({
    records: o.records.map((r) => [r.line, r.offset, r.length, r.id, r.parentId, r.type]),
    diagnostics: o.diagnostics.items.map((d) => [d.code, d.line, d.offset, (d as { reason?: string }).reason]),
    leaf: o.leafId,
    version: o.version,
  });
}

/** Open `bytes` with the buffer, sync and async readers (the file readers through `file`); they must agree. */
export async function openThreeWays(bytes: Buffer, file: string, chunkSize: number | undefined): Promise<Session | SessfmtError> {
  writeFileSync(file, bytes);
  const fromBuffer = onlyCoded("openSessionFromBuffer", () => openSessionFromBuffer(bytes, { chunkSize }));
  const sync = onlyCoded("openSessionSync", () => openSessionSync(file, { chunkSize }));
  const async = await onlyCodedAsync("openSession", () => openSession(file, { chunkSize }));
  const s = summary(fromBuffer);
  expect(summary(sync), "openSessionSync disagrees with openSessionFromBuffer").toBe(s);
  expect(summary(async), "openSession disagrees with openSessionFromBuffer").toBe(s);
  return async;
}

/** Every walk a caller can make over the tree and the context; each must finish and throw only SessfmtErrors. */
export function walkEverything(s: Session): void {
  const n = s.records.length;
  onlyCoded("buildContext", () => s.buildContext());
  onlyCoded("buildContext(first)", () => s.buildContext(s.records[0]?.id ?? null));
  onlyCoded("entries", () => s.entries());
  onlyCoded("exportSnapshot", () => exportSnapshot(s));
  const t = s.tree;
  onlyCoded("roots/branchPoints", () => [t.roots.length, t.branchPoints().length, t.labels.size, t.name, t.messageCount]);
  const leaves = onlyCoded("leaves", () => t.leaves());
  if (Array.isArray(leaves)) {
    for (const leaf of leaves.slice(0, 20)) {
      const path = onlyCoded("pathToRoot", () => t.pathToRoot(leaf.id));
      if (Array.isArray(path)) expect(path.length).toBeLessThanOrEqual(n);
      onlyCoded("siblingBranches", () => t.siblingBranches(leaf.id));
      onlyCoded("depth", () => t.depth(leaf.id));
      onlyCoded("children", () => t.children(leaf.id));
    }
  }
  for (const r of s.records.filter((r) => r.role === "user").slice(0, 5)) onlyCoded("forkPlan", () => s.forkPlan(r.id));
}

/**
 * The recovery rule: when the original header is still first and unchanged, the file
 * opens, every intact line that was an entry is an entry with the same bytes at its new
 * offset, and every line changed into another valid entry is read as one. Returns the
 * number of lines checked.
 */
export function checkRecovery(doc: Doc, outcome: Session | SessfmtError, baseEntryLines: ReadonlySet<number>): number {
  const exp = expectations(doc);
  if (exp.headerFirst) expect(outcome, "the header is intact and first, but the file did not open").not.toBeInstanceOf(SessfmtError);
  if (outcome instanceof SessfmtError) return 0;
  const byOffset = new Map(outcome.records.map((r) => [r.offset, r]));
  let checked = 0;
  const raws = new Map<number, Buffer>();
  outcome.forEachRaw(outcome.records, (bytes, r) => raws.set(r.offset, Buffer.from(bytes)));
  for (const l of exp.intact) {
    if (!baseEntryLines.has(l.origin)) continue;
    const r = byOffset.get(l.offset);
    expect(r, `intact entry line ${l.origin + 1} (now at byte ${l.offset}) was not recovered`).toBeDefined();
    expect(raws.get(l.offset)?.equals(l.bytes), `intact line ${l.origin + 1} was recovered with other bytes`).toBe(true);
    checked++;
  }
  for (const l of exp.derived) {
    if (!baseEntryLines.has(l.from)) continue;
    expect(byOffset.get(l.offset), `a line changed into another valid entry (from line ${l.from + 1}, now at byte ${l.offset}) was not read as one`).toBeDefined();
    checked++;
  }
  return checked;
}

/** 0-based indices of the lines of `base` that are entries. */
export function entryLines(base: Buffer): Set<number> {
  const s = openSessionFromBuffer(base);
  return new Set(s.records.map((r) => r.line - 1));
}
