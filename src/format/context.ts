import { SessfmtError } from "./errors.js";
import type { EntryRecord } from "./record.js";
import type { AgentMessage, ContentBlock, SessionContext, SessionEntry } from "./types.js";
import type { Session } from "./session.js";

/**
 * buildSessionContext over a root-first path of entries, rule for rule as
 * pi-coding-agent 0.73 does it (including the key order of the synthetic messages, so
 * JSON output is byte-identical). The path itself comes from SessionTree, which is
 * cycle-safe; pi's own walk is not.
 */
export function buildContextFromPath(path: readonly SessionEntry[]): SessionContext {
  let thinkingLevel = "off";
  let model: SessionContext["model"] = null;
  let compaction: SessionEntry | null = null;
  for (const e of path) {
    if (e.type === "thinking_level_change") {
      thinkingLevel = e.thinkingLevel as string;
    } else if (e.type === "model_change") {
      model = { provider: e.provider as string, modelId: e.modelId as string };
    } else if (e.type === "message" && (e.message as AgentMessage).role === "assistant") {
      const m = e.message as { provider: string; model: string };
      model = { provider: m.provider, modelId: m.model };
    } else if (e.type === "compaction") {
      compaction = e;
    }
  }

  const messages: AgentMessage[] = [];
  const append = (e: SessionEntry): void => {
    if (e.type === "message") {
      messages.push(e.message as AgentMessage);
    } else if (e.type === "custom_message") {
      messages.push({
        role: "custom",
        customType: e.customType as string,
        content: e.content as string | ContentBlock[],
        display: e.display as boolean,
        details: e.details,
        timestamp: new Date(e.timestamp).getTime(),
      });
    } else if (e.type === "branch_summary" && e.summary) {
      messages.push({
        role: "branchSummary",
        summary: e.summary as string,
        fromId: e.fromId as string,
        timestamp: new Date(e.timestamp).getTime(),
      });
    }
  };

  if (compaction) {
    const c = compaction;
    messages.push({
      role: "compactionSummary",
      summary: c.summary as string,
      tokensBefore: c.tokensBefore as number,
      timestamp: new Date(c.timestamp).getTime(),
    });
    const at = path.findIndex((e) => e.type === "compaction" && e.id === c.id);
    let keeping = false;
    for (let i = 0; i < at; i++) {
      const e = path[i] as SessionEntry;
      if (e.id === c.firstKeptEntryId) keeping = true;
      if (keeping) append(e);
    }
    for (let i = at + 1; i < path.length; i++) append(path[i] as SessionEntry);
  } else {
    for (const e of path) append(e);
  }
  return { messages, thinkingLevel, model };
}

/** How to fork a session at a user message (pi's /fork): what the new session keeps. */
export interface ForkPlan {
  /** The user message that was chosen. */
  entryId: string;
  /** The new session's leaf: the user message's parent (null: the fork starts empty). */
  leafId: string | null;
  /** The user message's text, for an editor to start from. */
  text: string;
  /** Ids the new session copies, root first, label entries left out. */
  entryIds: string[];
  /** Labels on those entries, re-created after them in the new session. */
  labels: { targetId: string; label: string }[];
}

/** Text of a message's content as pi extracts it (text blocks joined by a space). */
export function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((b): b is { type: "text"; text: string } => b !== null && typeof b === "object" && b.type === "text" && typeof b.text === "string")
    .map((b) => b.text)
    .join(" ");
}

export function planFork(session: Session, r: EntryRecord): ForkPlan {
  if (r.type !== "message" || r.role !== "user") {
    throw new SessfmtError("E_INVALID_ARGUMENT", `entry ${JSON.stringify(r.id)} is not a user message; forks start at a user message`, {
      file: session.file,
      line: r.line,
    });
  }
  const entry = session.entry(r) as { message: { content: unknown } };
  const parent = session.tree.parentOf(r);
  const path = parent ? session.tree.pathFrom(parent).filter((p) => p.type !== "label") : [];
  const ids = new Set(path.map((p) => p.id));
  const labels: ForkPlan["labels"] = [];
  for (const [targetId, label] of session.labels) if (ids.has(targetId)) labels.push({ targetId, label });
  return { entryId: r.id, leafId: parent ? parent.id : null, text: messageText(entry.message.content), entryIds: [...ids], labels };
}
