// The entries the append scenarios write: a seeded mix of what an agent appends during a
// turn (user and assistant messages, tool results of a few hundred bytes to a few KB,
// an occasional label or thinking change), without id/parentId/timestamp, which the
// writer fills in. The same list for every append scenario and its baseline.
import { prng } from "../generate.mjs";

const LINE = "const value = await session.append(entry); // keeps the tree in order\n";

export function appendEntries(count, seed = 7) {
  const rnd = prng(seed);
  const text = (n) => LINE.repeat(Math.ceil(n / LINE.length)).slice(0, n);
  const out = [];
  for (let i = 0; i < count; i++) {
    const r = rnd();
    if (r < 0.2) {
      out.push({ type: "message", message: { role: "user", content: [{ type: "text", text: text(80 + Math.floor(rnd() * 400)) }], timestamp: 1767600000000 + i } });
    } else if (r < 0.55) {
      out.push({
        type: "message",
        message: {
          role: "assistant",
          content: [
            { type: "text", text: text(40 + Math.floor(rnd() * 300)) },
            { type: "toolCall", id: `toolu_${i}`, name: "read", arguments: { path: "src/format/read.ts" } },
          ],
          api: "anthropic-messages",
          provider: "anthropic",
          model: "claude-sonnet-4-5",
          usage: { input: 1200, output: 300, cacheRead: 5000, cacheWrite: 100, totalTokens: 6600, cost: { input: 0.0036, output: 0.0045, cacheRead: 0.0015, cacheWrite: 0.0004, total: 0.01 } },
          stopReason: "toolUse",
          timestamp: 1767600000000 + i,
        },
      });
    } else if (r < 0.97) {
      out.push({
        type: "message",
        message: { role: "toolResult", toolCallId: `toolu_${i}`, toolName: "read", content: [{ type: "text", text: text(200 + Math.floor(rnd() * 3000)) }], isError: false, timestamp: 1767600000000 + i },
      });
    } else {
      out.push({ type: "thinking_level_change", thinkingLevel: rnd() < 0.5 ? "high" : "low" });
    }
  }
  return out;
}
