/**
 * Types of the pi session JSONL format (version 3) and of its legacy versions.
 * Objects are kept as parsed: unknown keys survive, so the types are open.
 */

export const CURRENT_SESSION_VERSION = 3;

/** First line of every session file. */
export interface SessionHeader {
  type: "session";
  /** Absent means 1. */
  version?: number;
  id: string;
  timestamp: string;
  cwd: string;
  /** Written by the TypeScript agent when a session is forked. */
  parentSession?: string;
  /** Written by the Rust port instead of parentSession. */
  branchedFrom?: string;
  [key: string]: unknown;
}

export type KnownEntryType =
  | "message"
  | "thinking_level_change"
  | "model_change"
  | "compaction"
  | "branch_summary"
  | "custom"
  | "custom_message"
  | "label"
  | "session_info";

export const KNOWN_ENTRY_TYPES: ReadonlySet<string> = new Set<KnownEntryType>([
  "message",
  "thinking_level_change",
  "model_change",
  "compaction",
  "branch_summary",
  "custom",
  "custom_message",
  "label",
  "session_info",
]);

export interface EntryBase {
  type: string;
  id: string;
  /** null for a root; the Rust writer omits the key instead. */
  parentId: string | null;
  /** ISO time of the append. */
  timestamp: string;
  [key: string]: unknown;
}

export interface TextContent {
  type: "text";
  text: string;
  [key: string]: unknown;
}
export interface ImageContent {
  type: "image";
  data: string;
  mimeType: string;
  [key: string]: unknown;
}
export interface ThinkingContent {
  type: "thinking";
  thinking: string;
  [key: string]: unknown;
}
export interface ToolCallContent {
  type: "toolCall";
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  [key: string]: unknown;
}
export type ContentBlock = TextContent | ImageContent | ThinkingContent | ToolCallContent | { type: string; [key: string]: unknown };

export interface Usage {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  totalTokens?: number;
  cost?: { input: number; output: number; cacheRead: number; cacheWrite: number; total: number; [key: string]: unknown };
  [key: string]: unknown;
}

export interface UserMessage {
  role: "user";
  content: string | ContentBlock[];
  timestamp: number;
  [key: string]: unknown;
}
export interface AssistantMessage {
  role: "assistant";
  content: ContentBlock[];
  api?: string;
  provider: string;
  model: string;
  usage?: Usage;
  stopReason?: string;
  errorMessage?: string;
  timestamp: number;
  [key: string]: unknown;
}
export interface ToolResultMessage {
  role: "toolResult";
  toolCallId: string;
  toolName: string;
  content: ContentBlock[];
  isError?: boolean;
  timestamp: number;
  [key: string]: unknown;
}
export interface BashExecutionMessage {
  role: "bashExecution";
  command: string;
  output: string;
  exitCode?: number | null;
  cancelled?: boolean;
  truncated?: boolean;
  timestamp: number;
  [key: string]: unknown;
}
export interface CustomMessage {
  role: "custom";
  customType: string;
  content: string | ContentBlock[];
  display: boolean;
  details?: unknown;
  timestamp: number;
  [key: string]: unknown;
}
/** Exists only in built context. */
export interface BranchSummaryMessage {
  role: "branchSummary";
  summary: string;
  fromId: string;
  timestamp: number;
}
/** Exists only in built context. */
export interface CompactionSummaryMessage {
  role: "compactionSummary";
  summary: string;
  tokensBefore: number;
  timestamp: number;
}
export type AgentMessage =
  | UserMessage
  | AssistantMessage
  | ToolResultMessage
  | BashExecutionMessage
  | CustomMessage
  | BranchSummaryMessage
  | CompactionSummaryMessage
  | { role: string; [key: string]: unknown };

export interface MessageEntry extends EntryBase {
  type: "message";
  message: AgentMessage;
}
export interface ThinkingLevelChangeEntry extends EntryBase {
  type: "thinking_level_change";
  thinkingLevel: string;
}
export interface ModelChangeEntry extends EntryBase {
  type: "model_change";
  provider: string;
  modelId: string;
}
export interface CompactionEntry extends EntryBase {
  type: "compaction";
  summary: string;
  firstKeptEntryId: string;
  tokensBefore: number;
  details?: unknown;
  fromHook?: boolean;
}
export interface BranchSummaryEntry extends EntryBase {
  type: "branch_summary";
  /** Opaque: the branch point's id, or "root". */
  fromId: string;
  summary: string;
  details?: unknown;
  fromHook?: boolean;
}
export interface CustomEntry extends EntryBase {
  type: "custom";
  customType: string;
  data?: unknown;
}
export interface CustomMessageEntry extends EntryBase {
  type: "custom_message";
  customType: string;
  content: string | ContentBlock[];
  display: boolean;
  details?: unknown;
}
export interface LabelEntry extends EntryBase {
  type: "label";
  targetId: string;
  label?: string;
}
export interface SessionInfoEntry extends EntryBase {
  type: "session_info";
  name?: string;
}

export type SessionEntry =
  | MessageEntry
  | ThinkingLevelChangeEntry
  | ModelChangeEntry
  | CompactionEntry
  | BranchSummaryEntry
  | CustomEntry
  | CustomMessageEntry
  | LabelEntry
  | SessionInfoEntry
  | EntryBase;

/** What the LLM sees at a leaf: identical in shape to pi-coding-agent's SessionContext. */
export interface SessionContext {
  messages: AgentMessage[];
  thinkingLevel: string;
  model: { provider: string; modelId: string } | null;
}

/** Which writer's conventions a file follows (detected on open, chosen on create). */
export type SessionDialect = "ts" | "rust";

/** Where a SessionStore keeps sessions: in memory, as JSONL files, or in SQLite. */
export type SessionStoreKind = "memory" | "jsonl" | "sqlite";
