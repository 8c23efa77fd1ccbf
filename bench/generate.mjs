// Deterministic generator of realistic v3 session files for benchmarks: user / assistant
// (thinking, text, toolCall) / toolResult turns, tool outputs of a few KB with an occasional
// large one, branches, labels, compactions, model and thinking changes.
import { createWriteStream } from "node:fs";
import { once } from "node:events";

function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = "the session tree holds every turn of the agent and each tool result with its output lines and paths".split(" ");

export async function generateSession(file, targetBytes, seed = 1) {
  const rnd = prng(seed);
  const text = (n) => {
    let out = "";
    while (out.length < n) out += WORDS[Math.floor(rnd() * WORDS.length)] + (rnd() < 0.1 ? "\n" : " ");
    return out;
  };
  const out = createWriteStream(file);
  let bytes = 0;
  let t = Date.parse("2026-01-01T00:00:00.000Z");
  const write = async (obj) => {
    const line = JSON.stringify(obj) + "\n";
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, "drain");
  };
  await write({ type: "session", version: 3, id: "0190b2f0-0000-7000-8000-000000000001", timestamp: new Date(t).toISOString(), cwd: "/home/user/project" });
  let n = 0;
  const ids = [];
  let leaf = null;
  const append = async (fields) => {
    t += 1000 + Math.floor(rnd() * 5000);
    const id = (++n).toString(16).padStart(8, "0");
    await write({ type: fields.type, id, parentId: leaf, timestamp: new Date(t).toISOString(), ...fields });
    ids.push(id);
    leaf = id;
    return id;
  };
  await append({ type: "model_change", provider: "anthropic", modelId: "claude-sonnet-4-5" });
  await append({ type: "thinking_level_change", thinkingLevel: "medium" });
  while (bytes < targetBytes) {
    await append({ type: "message", message: { role: "user", content: [{ type: "text", text: text(200) }], timestamp: t } });
    const calls = 1 + Math.floor(rnd() * 3);
    for (let c = 0; c < calls; c++) {
      const callId = `toolu_${n}_${c}`;
      await append({
        type: "message",
        message: {
          role: "assistant",
          content: [
            { type: "thinking", thinking: text(300) },
            { type: "text", text: text(150) },
            { type: "toolCall", id: callId, name: "read", arguments: { path: `src/file${c}.ts` } },
          ],
          api: "anthropic-messages",
          provider: "anthropic",
          model: "claude-sonnet-4-5",
          usage: { input: 1200, output: 300, cacheRead: 5000, cacheWrite: 100, totalTokens: 6600, cost: { input: 0.0036, output: 0.0045, cacheRead: 0.0015, cacheWrite: 0.0004, total: 0.01 } },
          stopReason: "toolUse",
          timestamp: t,
        },
      });
      const big = rnd() < 0.01;
      const image = !big && rnd() < 0.01;
      const content = image
        ? [{ type: "image", data: Buffer.from(text(30000)).toString("base64"), mimeType: "image/png" }]
        : [{ type: "text", text: text(big ? 200_000 : 1000 + Math.floor(rnd() * 4000)) }];
      await append({ type: "message", message: { role: "toolResult", toolCallId: callId, toolName: "read", content, isError: false, timestamp: t } });
    }
    const r = rnd();
    if (r < 0.02 && ids.length > 10) {
      const from = ids[ids.length - 1 - Math.floor(rnd() * 10)];
      leaf = from;
      await append({ type: "branch_summary", fromId: from, summary: text(300) });
    } else if (r < 0.03) {
      await append({ type: "label", targetId: ids[Math.floor(rnd() * ids.length)], label: `mark-${n}` });
    } else if (r < 0.035 && ids.length > 20) {
      await append({ type: "compaction", summary: text(2000), firstKeptEntryId: ids[ids.length - 10], tokensBefore: 150000 });
    } else if (r < 0.04) {
      await append({ type: "thinking_level_change", thinkingLevel: rnd() < 0.5 ? "high" : "low" });
    }
  }
  out.end();
  await once(out, "finish");
  return { bytes, entries: n };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, mb, seed] = process.argv.slice(2);
  const r = await generateSession(file, Number(mb) * 1024 * 1024, Number(seed ?? 1));
  console.log(JSON.stringify(r));
}
