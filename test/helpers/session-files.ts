import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AgentMessage } from "../../src/index.js";

/** A fresh temp directory and its removal, for afterEach. */
export function makeTempDir(prefix = "sessfmt-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function userMessage(text: string, timestamp = 1_700_000_000_000): AgentMessage {
  return { role: "user", content: [{ type: "text", text }], timestamp };
}

export function assistantMessage(text: string, timestamp = 1_700_000_000_001): AgentMessage {
  return {
    role: "assistant",
    content: [{ type: "text", text }],
    api: "anthropic-messages",
    provider: "anthropic",
    model: "claude-test",
    usage: { input: 1, output: 1, cacheRead: 0, cacheWrite: 0, totalTokens: 2, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
    stopReason: "stop",
    timestamp,
  };
}

export const HEADER_V3 = { type: "session", version: 3, id: "s-1", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" };

/** Write a session file from objects (and raw strings, written as given). */
export function writeSessionFile(file: string, lines: (object | string)[], trailingNewline = true): void {
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");
  writeFileSync(file, trailingNewline ? `${text}\n` : text);
}

/** The JSONL lines of a file as parsed objects (blank trailing line ignored). */
export function parseLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
