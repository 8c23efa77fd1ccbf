import {
  compactionEntry,
  customEntry,
  customMessageEntry,
  labelEntry,
  messageEntry,
  modelChangeEntry,
  sessionInfoEntry,
  thinkingLevelEntry,
  type NewEntry,
} from "./new-entry.js";
import type { AgentMessage, ContentBlock } from "./types.js";

/**
 * pi SessionManager's typed append helpers, over any `append`: the writer and the
 * autosave queue share them so both build entries exactly alike.
 */
export abstract class TypedAppends {
  abstract append(entry: NewEntry): Promise<string>;

  appendMessage(message: AgentMessage): Promise<string> {
    return this.append(messageEntry(message));
  }

  appendThinkingLevelChange(thinkingLevel: string): Promise<string> {
    return this.append(thinkingLevelEntry(thinkingLevel));
  }

  appendModelChange(provider: string, modelId: string): Promise<string> {
    return this.append(modelChangeEntry(provider, modelId));
  }

  appendCompaction(summary: string, firstKeptEntryId: string, tokensBefore: number, details?: unknown, fromHook?: boolean): Promise<string> {
    return this.append(compactionEntry(summary, firstKeptEntryId, tokensBefore, details, fromHook));
  }

  appendCustomEntry(customType: string, data?: unknown): Promise<string> {
    return this.append(customEntry(customType, data));
  }

  appendCustomMessageEntry(customType: string, content: string | ContentBlock[], display: boolean, details?: unknown): Promise<string> {
    return this.append(customMessageEntry(customType, content, display, details));
  }

  /** Set the session name (trimmed; an empty name clears it). */
  appendSessionInfo(name: string): Promise<string> {
    return this.append(sessionInfoEntry(name));
  }

  /** Set or clear (undefined / "") a label; the target must exist (E_ENTRY_NOT_FOUND). */
  appendLabelChange(targetId: string, label?: string): Promise<string> {
    return this.append(labelEntry(targetId, label));
  }
}
