// Seeded generator of realistic version-3 sessions, written THROUGH sessfmt's own writer
// (createSession + SessionWriter.appendMany, durability "throughput"): user / assistant
// (thinking, text, toolCall) / toolResult turns, tool outputs of a few KB with an occasional
// 200 KB one, some base64 images, branches (plain and with a branch_summary), labels,
// compactions, model and thinking-level changes, session names and custom entries.
//
// The content (text, sizes, tree shape) is a pure function of the seed. Entry ids and
// append timestamps are the writer's own (random ids, time of the append), exactly as in a
// real file, so two runs differ only there.
//
// Files are written under a temporary name and renamed when complete, with a small
// `<file>.meta.json` beside them; the harness regenerates a file whose meta does not match
// (another generator version, size or seed), so stale or half-written data is never used.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createSession } from "../dist/index.js";

export const GENERATOR_VERSION = 4;

/** mulberry32: small, fast, good enough for shaping test data. */
export function prng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Lines that look like what agents read and print: source code (quotes, backslashes, tabs,
// braces: everything JSON has to escape), shell output, prose, and some non-ASCII text.
const CODE = [
  'import { readFileSync } from "node:fs";',
  "export function parse(input: string): Result<Value, ParseError> {",
  '\tconst re = /^\\s*([A-Za-z_][\\w.]*)\\s*=\\s*"([^"]*)"$/;',
  "\tfor (let i = 0; i < lines.length; i++) {",
  '\t\tif (line.startsWith("#")) continue; // comment',
  "\t\tconst [key, value] = line.split('=', 2).map((s) => s.trim());",
  '\t\tthrow new Error(`unexpected token ${JSON.stringify(tok)} at ${pos}`);',
  "\t}",
  "}",
  '  "dependencies": { "yargs": "^18.0.0", "proper-lockfile": "^4.1.2" },',
  "$ npm test -- --reporter=dot",
  "  ✓ test/format/read.test.ts (42 tests) 318ms",
  "  × test/format/writer.test.ts > appends under the lock 12ms",
  "    AssertionError: expected 'a\\nb' to equal 'a\\r\\nb'",
  "diff --git a/src/format/read.ts b/src/format/read.ts",
  "@@ -120,7 +120,9 @@ class SessionLoader {",
  "-    const text = bytes.toString(\"utf8\");",
  "+    const facts = extractFields(bytes, 0, bytes.length);",
  "C:\\Users\\dev\\project\\src\\index.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.",
  "total 48\ndrwxr-xr-x  5 dev dev 4096 Jan  1 12:00 src",
  "Les données sont écrites après le verrou — voilà pourquoi l'ordre compte.",
  "日本語のテキストも含まれます。セッションは木構造です。",
  "Deploy finished 🚀 in 12.4s (3 warnings)",
];
const WORDS = (
  "the session tree keeps every turn of the agent with each tool call and its result so that a user can go back " +
  "to any point branch from there and continue while the file on disk grows by one line per entry and never " +
  "changes what was written before which is why readers must be lenient about torn tails and strange lines"
).split(" ");

/** A pool of pseudo-random text; texts are windows into it, so making them is cheap. */
function textPool(rnd, chars) {
  const parts = [];
  let n = 0;
  while (n < chars) {
    let s;
    if (rnd() < 0.55) {
      s = CODE[Math.floor(rnd() * CODE.length)];
    } else {
      const words = [];
      const k = 4 + Math.floor(rnd() * 14);
      for (let i = 0; i < k; i++) words.push(WORDS[Math.floor(rnd() * WORDS.length)]);
      s = words.join(" ") + ".";
    }
    parts.push(s);
    n += s.length + 1;
  }
  return parts.join("\n");
}

function isHigh(c) {
  return c >= 0xd800 && c <= 0xdbff;
}
function isLow(c) {
  return c >= 0xdc00 && c <= 0xdfff;
}

class Content {
  constructor(seed) {
    this.rnd = prng(seed);
    this.pool = textPool(prng(seed ^ 0x5bd1e995), 1 << 21);
    const bytes = Buffer.alloc(3 << 19); // 1.5 MiB of noise -> 2 MiB of base64
    const r = prng(seed ^ 0x1b873593);
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(r() * 4294967296) >>> 0, i);
    this.b64 = bytes.toString("base64");
    this.clock = Date.parse("2026-01-05T09:00:00.000Z");
  }
  int(lo, hi) {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }
  chance(p) {
    return this.rnd() < p;
  }
  pick(xs) {
    return xs[Math.floor(this.rnd() * xs.length)];
  }
  /** About n characters of text; never splits a surrogate pair (no lone surrogates). */
  text(n) {
    if (n <= 0) return "";
    n = Math.min(n, this.pool.length - 2);
    let start = Math.floor(this.rnd() * (this.pool.length - n));
    let end = start + n;
    if (isLow(this.pool.charCodeAt(start))) start++;
    if (isHigh(this.pool.charCodeAt(end - 1))) end--;
    return this.pool.slice(start, end);
  }
  image(n) {
    const start = Math.floor(this.rnd() * (this.b64.length - n)) & ~3;
    return this.b64.slice(start, start + n);
  }
  tick(ms) {
    this.clock += ms;
    return this.clock;
  }
}

const MODELS = [
  { provider: "anthropic", model: "claude-sonnet-4-5", api: "anthropic-messages" },
  { provider: "anthropic", model: "claude-opus-4-1", api: "anthropic-messages" },
  { provider: "openai", model: "gpt-5.1-codex", api: "openai-responses" },
];
const TOOLS = ["read", "bash", "edit", "write", "grep"];

function usage(c) {
  const input = c.int(200, 4000);
  const output = c.int(50, 2000);
  const cacheRead = c.int(0, 150000);
  const cacheWrite = c.int(0, 5000);
  const cost = { input: input * 3e-6, output: output * 15e-6, cacheRead: cacheRead * 3e-7, cacheWrite: cacheWrite * 3.75e-6 };
  cost.total = cost.input + cost.output + cost.cacheRead + cost.cacheWrite;
  return { input, output, cacheRead, cacheWrite, totalTokens: input + output + cacheRead + cacheWrite, cost };
}

/** pi's estimateTokens (compaction.js): chars / 4, an image counts as 4800 chars. */
function estimateTokens(entry) {
  const m = entry.message;
  if (entry.type === "compaction" || entry.type === "branch_summary") return Math.ceil(entry.summary.length / 4);
  if (entry.type === "custom_message") return Math.ceil(String(entry.content).length / 4);
  if (!m) return 0;
  let chars = 0;
  for (const b of m.content) {
    if (b.type === "text") chars += b.text.length;
    else if (b.type === "thinking") chars += b.thinking.length;
    else if (b.type === "toolCall") chars += b.name.length + JSON.stringify(b.arguments).length;
    else if (b.type === "image") chars += 4800;
  }
  return Math.ceil(chars / 4);
}

// pi's compaction defaults (settings-manager.js) and a 200k-token model.
const CONTEXT_WINDOW = 200_000;
const RESERVE_TOKENS = 16_384;
const KEEP_RECENT_TOKENS = 20_000;

function toolArgs(c, name) {
  switch (name) {
    case "read":
      return { path: `src/${c.pick(["format", "cli", "v2"])}/${c.pick(["read", "scan", "writer", "tree"])}.ts`, offset: c.int(1, 400), limit: 200 };
    case "bash":
      return { command: c.pick(["npm test", "git status --short", "ls -la src", "rg -n 'EntryRecord' src"]), timeout: 120 };
    case "edit":
      return { path: "src/format/read.ts", oldText: c.text(c.int(40, 400)), newText: c.text(c.int(40, 400)) };
    case "write":
      return { path: `notes/${c.int(1, 99)}.md`, content: c.text(c.int(200, 3000)) };
    default:
      return { pattern: c.pick(["TODO", "parentId", "fsync"]), path: "src" };
  }
}

/** One agent turn: a user message, then assistant/toolResult rounds, then a final answer. */
function turn(c, model) {
  const out = [];
  out.push({ type: "message", message: { role: "user", content: [{ type: "text", text: c.text(c.int(40, 800)) }], timestamp: c.tick(c.int(5000, 120000)) } });
  const rounds = c.int(1, 4);
  for (let r = 0; r < rounds; r++) {
    const calls = c.chance(0.8) ? 1 : c.int(2, 3);
    const content = [];
    if (c.chance(0.7)) content.push({ type: "thinking", thinking: c.text(c.int(100, 2000)), thinkingSignature: c.image(c.int(60, 400)) });
    if (c.chance(0.6)) content.push({ type: "text", text: c.text(c.int(20, 600)) });
    const callIds = [];
    for (let k = 0; k < calls; k++) {
      const name = c.pick(TOOLS);
      const id = `toolu_${c.image(24).replace(/[+/]/g, "x")}`;
      callIds.push({ id, name });
      content.push({ type: "toolCall", id, name, arguments: toolArgs(c, name) });
    }
    out.push({
      type: "message",
      message: {
        role: "assistant",
        content,
        api: model.api,
        provider: model.provider,
        model: model.model,
        usage: usage(c),
        stopReason: "toolUse",
        timestamp: c.tick(c.int(1000, 30000)),
      },
    });
    for (const { id, name } of callIds) {
      let content;
      if (c.chance(0.004)) {
        content = [
          { type: "text", text: "Read image file [image/png]" },
          { type: "image", data: c.image(c.int(60_000, 300_000)), mimeType: "image/png" },
        ];
      } else if (c.chance(0.01)) {
        content = [{ type: "text", text: c.text(c.int(150_000, 250_000)) }];
      } else {
        content = [{ type: "text", text: c.text(c.int(400, 7000)) }];
      }
      const isError = c.chance(0.03);
      const msg = { role: "toolResult", toolCallId: id, toolName: name, content, isError, timestamp: c.tick(c.int(100, 20000)) };
      if (name === "edit") msg.details = { diff: c.text(c.int(100, 1500)), firstChangedLine: c.int(1, 400) };
      out.push({ type: "message", message: msg });
    }
  }
  out.push({
    type: "message",
    message: {
      role: "assistant",
      content: [{ type: "text", text: c.text(c.int(50, 1500)) }],
      api: model.api,
      provider: model.provider,
      model: model.model,
      usage: usage(c),
      stopReason: "stop",
      timestamp: c.tick(c.int(1000, 30000)),
    },
  });
  return out;
}

/**
 * Write a session of about `targetBytes` to `file` through createSession/appendMany
 * (durability "throughput"). Batches are about `batchBytes` of entries (one locked write
 * each). Returns { bytes, entries, batches }.
 */
export async function generateSession(file, targetBytes, seed = 1, opts = {}) {
  const tmpDir = join(dirname(file), `.gen-${process.pid}-${seed}`);
  try {
    return await writeSession(file, tmpDir, targetBytes, seed, opts);
  } finally {
    rmSync(tmpDir, { recursive: true, force: true });
    rmSync(`${file}.partial`, { force: true });
  }
}

async function writeSession(file, tmpDir, targetBytes, seed, opts) {
  const c = new Content(seed);
  const dir = dirname(file);
  rmSync(tmpDir, { recursive: true, force: true });
  const batchBytes = opts.batchBytes ?? 1 << 20;
  const idHex = Math.floor(prng(seed)() * 0xffffffff).toString(16).padStart(8, "0");
  const w = await createSession({
    cwd: opts.cwd ?? "/home/dev/projects/sessfmt",
    dir: tmpDir,
    id: opts.id ?? `019b8f2e-${idHex.slice(0, 4)}-7${idHex.slice(4, 7)}-8000-${idHex}0000`,
    now: new Date(c.clock),
    durability: "throughput",
  });
  const ids = []; // every entry id written, file order
  // The active path since the last compaction, as pi's context sees it: {id, tokens, cut}
  // (cut: a user or assistant message, where pi may start the kept range).
  let context = [];
  let contextTokens = 0;
  let model = MODELS[0];
  let entries = 0;
  let batches = 0;
  let pending = [];
  let pendingBytes = 0;
  const size = () => w.size + pendingBytes;
  const flush = async () => {
    if (pending.length === 0) return;
    const got = await w.appendMany(pending.map((p) => p.entry));
    for (let k = 0; k < got.length; k++) {
      ids.push(got[k]);
      const p = pending[k];
      if (p.tokens > 0 || p.cut) {
        context.push({ id: got[k], tokens: p.tokens, cut: p.cut });
        contextTokens += p.tokens;
      }
    }
    entries += got.length;
    batches++;
    pending = [];
    pendingBytes = 0;
  };
  const add = (e) => {
    const role = e.message?.role;
    pending.push({ entry: e, tokens: estimateTokens(e), cut: role === "user" || role === "assistant" });
    pendingBytes += JSON.stringify(e).length + 80; // about: the writer adds id, parentId, timestamp
  };
  /** pi's auto-compaction: over window - reserve, summarise and keep about the last 20k tokens. */
  const maybeCompact = async () => {
    if (contextTokens + pending.reduce((a, p) => a + p.tokens, 0) <= CONTEXT_WINDOW - RESERVE_TOKENS) return;
    await flush();
    let kept = 0;
    let at = context.length - 1;
    for (; at > 0 && kept < KEEP_RECENT_TOKENS; at--) kept += context[at].tokens;
    while (at > 0 && !context[at].cut) at--;
    const first = context[at];
    const summary = c.text(c.int(2000, 8000));
    add({ type: "compaction", summary, firstKeptEntryId: first.id, tokensBefore: contextTokens, details: { readFiles: ["src/format/read.ts"], modifiedFiles: ["src/format/scan.ts"] } });
    await flush();
    context = context.slice(at);
    contextTokens = context.reduce((a, p) => a + p.tokens, 0) + Math.ceil(summary.length / 4);
  };

  add({ type: "model_change", provider: model.provider, modelId: model.model });
  add({ type: "thinking_level_change", thinkingLevel: "medium" });
  add({ type: "session_info", name: "Refactor the session reader" });
  while (size() < targetBytes) {
    for (const e of turn(c, model)) add(e);
    await maybeCompact();
    if (pendingBytes >= batchBytes) await flush();
    const r = c.rnd();
    if (ids.length < 50) continue;
    if (r < 0.03) {
      // Go back a few turns and try again: the rest is a new branch.
      await flush();
      if (context.length < 8) continue; // just compacted: nothing to go back to
      const back = c.int(5, Math.min(60, context.length - 2));
      const from = context[context.length - 1 - back];
      context = context.slice(0, context.length - back);
      contextTokens = context.reduce((a, p) => a + p.tokens, 0);
      if (c.chance(0.5)) {
        const summary = c.text(c.int(200, 1500));
        await w.branchWithSummary(from.id, summary);
        context.push({ id: w.leafId, tokens: Math.ceil(summary.length / 4), cut: false });
        contextTokens += Math.ceil(summary.length / 4);
      } else {
        w.branch(from.id);
      }
    } else if (r < 0.05) {
      add({ type: "label", targetId: ids[c.int(Math.max(0, ids.length - 200), ids.length - 1)], label: c.chance(0.85) ? `checkpoint-${entries}` : undefined });
    } else if (r < 0.06) {
      model = c.pick(MODELS);
      add({ type: "model_change", provider: model.provider, modelId: model.model });
    } else if (r < 0.075) {
      add({ type: "thinking_level_change", thinkingLevel: c.pick(["off", "low", "medium", "high"]) });
    } else if (r < 0.078) {
      add({ type: "session_info", name: `Refactor ${c.pick(["reader", "writer", "sidecar", "CLI"])} #${entries}` });
    } else if (r < 0.085) {
      add({ type: "custom", customType: "todo-state", data: { items: [c.text(60), c.text(60)], done: c.int(0, 2) } });
    } else if (r < 0.089) {
      add({ type: "custom_message", customType: "reminder", content: c.text(c.int(80, 400)), display: c.chance(0.5) });
    }
  }
  await flush();
  await w.close();
  mkdirSync(dir, { recursive: true });
  const tmpFile = `${file}.partial`;
  renameSync(w.file, tmpFile);
  rmSync(tmpDir, { recursive: true, force: true });
  const bytes = statSync(tmpFile).size;
  renameSync(tmpFile, file);
  const meta = { generator: GENERATOR_VERSION, targetBytes, seed, bytes, entries, batches };
  writeFileSync(`${file}.meta.json`, `${JSON.stringify(meta)}\n`);
  return meta;
}

/** Generate `file` unless it exists with matching meta. Returns its meta. */
export async function ensureSession(file, targetBytes, seed, log = () => {}) {
  const want = { generator: GENERATOR_VERSION, targetBytes, seed };
  try {
    const meta = JSON.parse(readFileSync(`${file}.meta.json`, "utf8"));
    if (existsSync(file) && meta.generator === want.generator && meta.targetBytes === targetBytes && meta.seed === seed && statSync(file).size === meta.bytes) return meta;
  } catch {
    // missing or unreadable meta: generate
  }
  log(`generating ${file} (${(targetBytes / 2 ** 20).toFixed(0)} MiB, seed ${seed}) through SessionWriter...`);
  const t0 = performance.now();
  const meta = await generateSession(file, targetBytes, seed);
  log(`  ${meta.entries} entries, ${(meta.bytes / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return meta;
}

/**
 * An archive of `count` small sessions (a few KB to a few hundred KB each) under
 * `root/<encoded cwd>/`, as pi lays them out, each made by createSession/appendMany.
 */
export async function ensureArchive(root, count, seed, log = () => {}) {
  const metaFile = join(root, "archive.meta.json");
  const want = { generator: GENERATOR_VERSION, count, seed };
  try {
    const meta = JSON.parse(readFileSync(metaFile, "utf8"));
    if (meta.generator === want.generator && meta.count === count && meta.seed === seed) return meta;
  } catch {
    // generate
  }
  log(`generating an archive of ${count} small sessions under ${root}...`);
  const t0 = performance.now();
  rmSync(root, { recursive: true, force: true });
  const c = new Content(seed);
  const cwds = ["/home/dev/projects/sessfmt", "/home/dev/projects/pi-mono", "/home/dev/work/api", "/srv/tools/ops"];
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const cwd = cwds[i % cwds.length];
    const w = await createSession({ cwd, sessionsRoot: root, now: new Date(c.tick(c.int(60_000, 3_600_000))), durability: "throughput" });
    const model = c.pick(MODELS);
    const batch = [{ type: "model_change", provider: model.provider, modelId: model.model }];
    const turns = Math.floor(1 + 12 * c.rnd() ** 2);
    for (let t = 0; t < turns; t++) batch.push(...turn(c, model));
    if (c.chance(0.3)) batch.push({ type: "session_info", name: `task ${i}` });
    await w.appendMany(batch);
    await w.close();
    bytes += w.size;
  }
  const meta = { ...want, bytes };
  writeFileSync(metaFile, `${JSON.stringify(meta)}\n`);
  log(`  ${count} files, ${(bytes / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return meta;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, mb, seed] = process.argv.slice(2);
  if (!file || !mb) {
    console.error("usage: node bench/generate.mjs <file> <MiB> [seed]");
    process.exit(2);
  }
  console.log(JSON.stringify(await generateSession(file, Number(mb) * 2 ** 20, Number(seed ?? 1))));
}
