/**
 * Runs one generated session through both implementations: pi's SessionManager writes it,
 * sessfmt opens the file, and a fresh pi SessionManager opens a copy of the same bytes.
 */
import { rmSync } from "node:fs";
import { dirname } from "node:path";
import { buildSessionContext, SessionManager } from "./pi.js";
import { expect, vi } from "vitest";
import { openSession, type Session } from "../../src/index.js";
import { copyInto, drive, MISSING_ID, piShape, sessfmtShape, type Op, type TempRoot } from "./model.js";

export interface Pair {
  /** The manager that wrote the file, with its in-memory leaf. */
  sm: SessionManager;
  /** pi after opening a copy of the file: what pi sees on resume. */
  fresh: SessionManager;
  session: Session;
  file: string;
}

/** Fake only Date, so pi's `new Date().toISOString()` follows the generated clock. */
export function fakeClock(): { setNow: (ms: number) => void; restore: () => void } {
  vi.useFakeTimers({ toFake: ["Date"] });
  return { setNow: (ms) => vi.setSystemTime(ms), restore: () => vi.useRealTimers() };
}

export async function withPair<T>(root: TempRoot, list: readonly Op[], retainEntries: boolean, setNow: (ms: number) => void, fn: (p: Pair) => T): Promise<T> {
  const { sm, file } = drive(list, root.sub(), setNow);
  const copy = copyInto(root, file);
  try {
    const fresh = SessionManager.open(copy, dirname(copy));
    const session = await openSession(file, { retainEntries });
    return fn({ sm, fresh, session, file });
  } finally {
    rmSync(dirname(file), { recursive: true, force: true });
    rmSync(dirname(copy), { recursive: true, force: true });
  }
}

/** JSON text of a context, the form both sides are compared in. */
export function json(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * Everything a fresh pi SessionManager can tell about a file, compared with sessfmt:
 * contexts at every leaf, leaf, name, labels, tree, paths and entries.
 */
export function expectSameAsPi(fresh: SessionManager, session: Session): void {
  const entries = fresh.getEntries();
  expect(json(session.buildContext()), "context at the leaf").toBe(json(fresh.buildSessionContext()));
  for (const leaf of [...entries.map((e) => e.id), null, MISSING_ID, "not-an-id", ""]) {
    expect(json(session.buildContext(leaf)), `context at ${JSON.stringify(leaf)}`).toBe(json(buildSessionContext(entries, leaf)));
  }
  expect(session.leafId, "leaf").toBe(fresh.getLeafId());
  expect(session.name, "name").toBe(fresh.getSessionName());
  const labelKeys = new Set<string>([...entries.map((e) => e.id), ...session.labels.keys()]);
  for (const e of entries) if (e.type === "label") labelKeys.add(e.targetId);
  for (const id of labelKeys) expect(session.tree.label(id), `label of ${id}`).toBe(fresh.getLabel(id));
  expect(sessfmtShape(session), "tree").toEqual(piShape(fresh.getTree()));
  for (const e of entries) {
    expect(
      session.branch(e.id).map((b) => b.id),
      `path to ${e.id}`,
    ).toEqual(fresh.getBranch(e.id).map((b) => b.id));
  }
  expect(session.entries(), "entries").toStrictEqual(entries);
}
