/**
 * What the store tests share: a fixed clock, a scenario of store calls that exercises
 * every entry kind the context cares about, the normalisation that makes sessions from
 * different backends comparable (entry ids are random), and pi as the context oracle.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { SessionManager } from "@mariozechner/pi-coding-agent";
import { vi } from "vitest";
import { isSessfmtError, openSessionFromBuffer, type SessfmtError, type Session } from "../../src/index.js";
import type { SessionStore } from "../../src/store/index.js";
import { assistantMessage, userMessage } from "../helpers/session-files.js";

export const T0 = Date.parse("2025-06-01T10:00:00.000Z");

/** Fake Date only (timers stay real: locks and SQLite waits need them), starting at T0. */
export function fixedClock(): { tick: (seconds?: number) => Date; restore: () => void } {
  vi.useFakeTimers({ toFake: ["Date"], now: T0 });
  let now = T0;
  return {
    tick: (seconds = 1) => {
      now += seconds * 1000;
      vi.setSystemTime(now);
      return new Date(now);
    },
    restore: () => vi.useRealTimers(),
  };
}

export async function rejection(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    if (isSessfmtError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

export interface ScenarioIds {
  session: string;
  u1: string;
  a1: string;
  u2: string;
  a2: string;
  u3: string;
  a3: string;
}

/**
 *   u1 -> a1 -> u2 -> a2 -> model_change -> thinking_level_change -> custom_message -> compaction(first kept u2) -> u4
 *            -> branch_summary -> u3 [label "retry"] -> a3 -> label -> session_info "Release plan"
 * The second branch is appended last, so it holds the leaf when the session loads.
 */
export async function buildScenario(store: SessionStore, tick: () => Date): Promise<ScenarioIds> {
  const { id: session } = await store.create({ cwd: "/home/u/proj", id: "scenario-1", now: tick() });
  tick();
  const u1 = await store.appendMessage(session, userMessage("Plan the release of version two, with a changelog and a migration guide", tick().getTime()));
  const a1 = await store.appendMessage(session, { ...assistantMessage("Sure: three steps.", tick().getTime()), usage: usage(1000, 50, 0.01) });
  const u2 = await store.appendMessage(session, userMessage("Start with the changelog.", tick().getTime()));
  const a2 = await store.appendMessage(session, { ...assistantMessage("Changelog drafted.", tick().getTime()), usage: usage(2000, 80, 0.02) });
  tick();
  const [, , , compaction] = await store.append(session, [
    { type: "model_change", provider: "openai", modelId: "gpt-5" },
    { type: "thinking_level_change", thinkingLevel: "high" },
    { type: "custom_message", customType: "note", content: "remember the date", display: true },
    { type: "compaction", summary: "Changelog work so far.", firstKeptEntryId: u2, tokensBefore: 3000 },
  ]);
  tick();
  await store.appendMessage(session, userMessage("And the guide?", tick().getTime()), { parentId: compaction });
  tick();
  const [summary] = await store.append(session, [{ type: "branch_summary", fromId: a1, summary: "Tried the changelog first." }], { parentId: a1 });
  tick();
  const u3 = await store.appendMessage(session, userMessage("Start with the migration guide instead.", tick().getTime()), { parentId: summary });
  const a3 = await store.appendMessage(session, { ...assistantMessage("Guide drafted.", tick().getTime()), usage: usage(500, 40, 0.005) });
  tick();
  await store.label(session, u3, "retry");
  tick();
  await store.rename(session, "  Release plan  ");
  return { session, u1, a1, u2, a2, u3, a3 };
}

function usage(input: number, output: number, cost: number) {
  return { input, output, cacheRead: 0, cacheWrite: 0, totalTokens: input + output, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: cost } };
}

/** Entry ids replaced by their position in the file ("#0", "#1", ...), everywhere in a text. */
export function normalizeIds(session: Session, text: string): string {
  const ordinal = new Map(session.records.map((r, i) => [r.id, `#${i}`]));
  // Whole JSON strings (escapes included), so quotes inside strings never shift the match.
  return text.replace(/"((?:[^"\\]|\\.)*)"/g, (whole, s: string) => (ordinal.has(s) ? `"${ordinal.get(s)}"` : whole));
}

/** Type, role and parent position of every entry in file order: the tree, backend-free. */
export function treeShape(session: Session): [string, string | null, number | null][] {
  const index = new Map(session.records.map((r, i) => [r.id, i]));
  return session.records.map((r) => [r.type, r.role ?? null, r.parentId === null ? null : (index.get(r.parentId) ?? -1)]);
}

/** The context pi-coding-agent builds for the same bytes (the file is written to `dir`). */
export function piContext(jsonl: Buffer, dir: string, name = "oracle.jsonl"): unknown {
  const file = join(dir, name);
  writeFileSync(file, jsonl);
  return SessionManager.open(file, dir).buildSessionContext();
}

/** Export bytes with ids, session ids and parentSession paths normalised, for cross-backend equality. */
export function normalizedExport(jsonl: Buffer): string {
  const session = openSessionFromBuffer(jsonl);
  const lines = normalizeIds(session, jsonl.toString("utf8")).split("\n");
  const header = JSON.parse(lines[0] as string) as Record<string, unknown>;
  header.id = "<session>";
  if (typeof header.parentSession === "string") header.parentSession = "<parent>";
  lines[0] = JSON.stringify(header);
  return lines.join("\n");
}
