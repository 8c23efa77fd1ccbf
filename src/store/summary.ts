import { messageText, type EntryRecord, type Session } from "../format/index.js";
import { deriveSessionName } from "./auto-name.js";
import { messageActivityTime, visitEntryValues } from "../format/index.js";

/** Messages, tokens and cost of one session in one month for one model. */
export interface UsageBucket {
  /** "YYYY-MM" (UTC) of the message time; "unknown" when it has none. */
  month: string;
  /** "" for messages that are not assistant replies (user, toolResult, ...). */
  provider: string;
  model: string;
  messages: number;
  tokensIn: number;
  tokensOut: number;
  cacheRead: number;
  cacheWrite: number;
  cost: number;
}

/** Everything stores and the catalog say about a session, from one pass over it. */
export interface SessionSummary {
  id: string;
  cwd: string;
  /** Header timestamp as ISO (undefined when it does not parse). */
  created?: string;
  /** pi's getSessionModifiedDate, as ISO. */
  modified: string;
  name?: string;
  /** Derived from the first user message, only when there is no name. */
  autoName?: string;
  parentSession?: string;
  version: number;
  dialect: string;
  entryCount: number;
  messageCount: number;
  /** Entries with more than one child. */
  branchCount: number;
  labelCount: number;
  tokensIn: number;
  tokensOut: number;
  cacheRead: number;
  cacheWrite: number;
  cost: number;
  /** "provider/model" of assistant replies and model changes, in order of first use. */
  models: string[];
  usage: UsageBucket[];
  diagnostics: number;
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function isoOrUndefined(ms: number): string | undefined {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/**
 * Summarise a session. `fallbackMtime` is what pi falls back to for `modified` when the
 * session has neither a message time nor a header time (a file's mtime).
 */
export function summarizeSession(session: Session, fallbackMtime?: Date): SessionSummary {
  const h = session.header;
  const wanted = session.records.filter((r: EntryRecord) => r.type === "message" || r.type === "model_change");
  const models = new Set<string>();
  const buckets = new Map<string, UsageBucket>();
  let lastActivity: number | undefined;
  let firstUserText = "";
  const totals = { tokensIn: 0, tokensOut: 0, cacheRead: 0, cacheWrite: 0, cost: 0 };

  visitEntryValues(session, wanted, (e) => {
    if (e.type === "model_change") {
      if (typeof e.provider === "string" && typeof e.modelId === "string") models.add(`${e.provider}/${e.modelId}`);
      return;
    }
    const m = e.message as Record<string, unknown>;
    const entryTime = typeof e.timestamp === "string" ? Date.parse(e.timestamp) : NaN;
    const time = typeof m.timestamp === "number" ? m.timestamp : entryTime;
    // pi's getLastActivityTime: user/assistant messages that carry content.
    const active = messageActivityTime(e);
    if (active !== undefined) lastActivity = Math.max(lastActivity ?? 0, active);
    if (m.role === "user" && "content" in m && !firstUserText) firstUserText = messageText(m.content);
    const assistant = m.role === "assistant" && typeof m.provider === "string" && typeof m.model === "string";
    const provider = assistant ? (m.provider as string) : "";
    const model = assistant ? (m.model as string) : "";
    if (assistant) models.add(`${provider}/${model}`);
    const month = isoOrUndefined(time)?.slice(0, 7) ?? "unknown";
    const key = `${month}\u0000${provider}\u0000${model}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { month, provider, model, messages: 0, tokensIn: 0, tokensOut: 0, cacheRead: 0, cacheWrite: 0, cost: 0 }));
    b.messages += 1;
    if (assistant && m.usage !== null && typeof m.usage === "object") {
      const u = m.usage as Record<string, unknown>;
      const cost = u.cost !== null && typeof u.cost === "object" ? num((u.cost as Record<string, unknown>).total) : 0;
      const add = { tokensIn: num(u.input), tokensOut: num(u.output), cacheRead: num(u.cacheRead), cacheWrite: num(u.cacheWrite), cost };
      for (const k of Object.keys(add) as (keyof typeof add)[]) {
        b[k] += add[k];
        totals[k] += add[k];
      }
    }
  });

  const headerTime = typeof h.timestamp === "string" ? Date.parse(h.timestamp) : NaN;
  const modifiedMs =
    lastActivity !== undefined && lastActivity > 0 ? lastActivity : !Number.isNaN(headerTime) ? headerTime : (fallbackMtime?.getTime() ?? 0);
  const name = session.name;
  const summary: SessionSummary = {
    id: session.id,
    cwd: typeof h.cwd === "string" ? h.cwd : "",
    modified: isoOrUndefined(modifiedMs) ?? new Date(0).toISOString(),
    version: session.version,
    dialect: session.dialect,
    entryCount: session.records.length,
    messageCount: session.messageCount,
    branchCount: session.tree.branchPoints().length,
    labelCount: session.labels.size,
    ...totals,
    models: [...models],
    usage: [...buckets.values()],
    diagnostics: session.diagnostics.count,
  };
  const created = Number.isNaN(headerTime) ? undefined : isoOrUndefined(headerTime);
  if (created !== undefined) summary.created = created;
  if (name !== undefined) summary.name = name;
  else {
    const auto = deriveSessionName(firstUserText);
    if (auto !== undefined) summary.autoName = auto;
  }
  if (session.parentSession !== undefined) summary.parentSession = session.parentSession;
  return summary;
}
