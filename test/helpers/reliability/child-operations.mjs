/**
 * The operations the reliability suites run in a child process (to kill it with SIGKILL
 * at a random point, or to run many writers at once):
 *
 *   node [--import tsx] child-operations.mjs <operation> '<json options>'
 *
 * The library is imported from $SESSFMT_LIB (dist/index.js or src/index.ts). The child
 * reports events one per line to the file named by the `events` option, with a
 * synchronous write(2) each (a SIGKILL cannot lose a line that was written; stdout is
 * not used for this because Node may buffer pipe writes in the process). Without an
 * `events` option they go to stdout.
 *   ready                          setup done; the operation starts now (also on stdout)
 *   intent <from> <to>             entries with seq from..to are about to be appended
 *   ack <from> <to> <id,id,...>    ... and their append resolved (acknowledged)
 *   diag <json>                    a repair the writer reported (torn tail)
 *   done <json>                    the operation finished (also on stdout)
 *   error <json>                   the operation failed (also on stdout)
 * The sidecar operations (migrate, sync, rollback, recover) are `sidecar` below.
 */
import { openSync, writeSync } from "node:fs";
import { pathToFileURL } from "node:url";

const lib = await import(pathToFileURL(process.env.SESSFMT_LIB).href);
const [operation, rawOptions] = process.argv.slice(2);
const options = JSON.parse(rawOptions ?? "{}");

const eventsFd = options.events ? openSync(options.events, "a") : undefined;

/** An event line: written before the next statement runs, so a kill cannot lose it. */
function say(line) {
  if (eventsFd === undefined) process.stdout.write(`${line}\n`);
  else writeSync(eventsFd, `${line}\n`);
}

/** A line the parent waits for on stdout (and in the events file). */
function announce(line) {
  if (eventsFd !== undefined) writeSync(eventsFd, `${line}\n`);
  process.stdout.write(`${line}\n`);
}

/** Small deterministic PRNG, so a failing run can be replayed from its seed. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mostly small entries, some large ones: a large write is the one a kill can cut short. */
function padSize(rand, maxBytes, largeShare = 0.05) {
  const r = rand();
  if (r < 1 - largeShare - 0.25) return Math.floor(rand() * 200);
  if (r < 1 - largeShare) return 1024 + Math.floor(rand() * 15 * 1024);
  return Math.min(maxBytes, 64 * 1024 + Math.floor(rand() * (maxBytes - 64 * 1024)));
}

function entry(run, seq, pad) {
  return { type: "custom", customType: "crash", data: { run, seq, pad: "x".repeat(pad) } };
}

const OPERATIONS = {
  /** SessionWriter appends in a loop: options {file, durability, parent, run, seed, maxBatch, maxBytes, largeShare, limit, pauseMs}. */
  async append(o) {
    const rand = prng(o.seed ?? 1);
    const writer = await lib.SessionWriter.open(o.file, {
      durability: o.durability,
      parent: o.parent ?? "leaf",
      lockTimeoutMs: o.lockTimeoutMs ?? 60_000,
      lockStaleMs: o.lockStaleMs,
      onDiagnostic: (d) => say(`diag ${JSON.stringify(d)}`),
    });
    announce("ready");
    const limit = o.limit ?? Number.POSITIVE_INFINITY;
    let seq = 0;
    while (seq < limit) {
      const n = Math.min(limit - seq, 1 + Math.floor(rand() * (o.maxBatch ?? 1)));
      const batch = [];
      for (let k = 0; k < n; k++) batch.push(entry(o.run, seq + k, padSize(rand, o.maxBytes ?? 256 * 1024, o.largeShare)));
      say(`intent ${seq} ${seq + n - 1}`);
      const ids = await writer.appendMany(batch);
      say(`ack ${seq} ${seq + n - 1} ${ids.join(",")}`);
      seq += n;
      if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
    await writer.close();
    announce(`done ${JSON.stringify({ appended: seq })}`);
  },

  /**
   * AutosaveQueue (strict): queue a few entries (ids are known at once), flush, and
   * acknowledge them when the flush resolved. Options as for append.
   */
  async autosave(o) {
    const rand = prng(o.seed ?? 1);
    const queue = await lib.AutosaveQueue.open(o.file, {
      durability: "strict",
      intervalMs: 0,
      writer: { lockTimeoutMs: 60_000, onDiagnostic: (d) => say(`diag ${JSON.stringify(d)}`) },
    });
    announce("ready");
    const limit = o.limit ?? Number.POSITIVE_INFINITY;
    let seq = 0;
    while (seq < limit) {
      const n = Math.min(limit - seq, 1 + Math.floor(rand() * (o.maxBatch ?? 1)));
      const ids = [];
      for (let k = 0; k < n; k++) ids.push(await queue.append(entry(o.run, seq + k, padSize(rand, o.maxBytes ?? 256 * 1024, o.largeShare))));
      say(`intent ${seq} ${seq + n - 1}`);
      await queue.flush();
      say(`ack ${seq} ${seq + n - 1} ${ids.join(",")}`);
      seq += n;
    }
    await queue.close();
    announce(`done ${JSON.stringify({ appended: seq })}`);
  },

  /**
   * Open a file and walk it (for inputs that could hang or recurse): options {file, sync,
   * maxLineBytes, entryIndex}. Reports counts, never the content.
   */
  async inspect(o) {
    announce("ready");
    const started = performance.now();
    const opts = o.maxLineBytes ? { maxLineBytes: o.maxLineBytes } : {};
    const s = o.sync ? lib.openSessionSync(o.file, opts) : await lib.openSession(o.file, opts);
    const opened = performance.now();
    const diagnostics = {};
    for (const d of s.diagnostics.items) {
      const key = d.reason ? `${d.code}/${d.reason}` : d.code;
      diagnostics[key] = (diagnostics[key] ?? 0) + 1;
    }
    const leaf = s.leafId;
    const out = {
      records: s.records.length,
      diagnostics,
      leaf,
      pathLength: s.tree.pathToRoot(leaf).length,
      depth: leaf === null ? 0 : s.tree.depth(leaf),
      contextMessages: s.buildContext().messages.length,
      leaves: s.tree.leaves().length,
      roots: s.tree.roots.length,
      branchPoints: s.tree.branchPoints().length,
      openMs: Math.round(opened - started),
      walkMs: Math.round(performance.now() - opened),
    };
    if (o.entryIndex !== undefined) {
      const e = s.entry(s.records.at(o.entryIndex));
      out.entryId = e.id;
      out.entryDataLength = typeof e.data === "string" ? e.data.length : -1;
    }
    announce(`done ${JSON.stringify(out)}`);
  },

  /**
   * A writer that takes no lock, as pi itself appends (appendFileSync of whole lines):
   * options {file, count, bytes}. Reports the ids it wrote.
   */
  async foreignAppend(o) {
    const { appendFileSync } = await import("node:fs");
    announce("ready");
    for (let i = 0; i < o.count; i++) {
      const id = `pi${String(i).padStart(6, "0")}`;
      appendFileSync(o.file, `${JSON.stringify({ type: "custom", id, parentId: null, timestamp: "2025-01-01T00:00:00.000Z", customType: "foreign", data: "p".repeat(o.bytes) })}\n`);
      say(`ack ${i} ${i} ${id}`);
    }
    announce(`done ${JSON.stringify({ appended: o.count })}`);
  },

  /**
   * The sidecar operations (SPEC 14): options {file, op, segmentBytes, skipInvalid,
   * reMigrate, lockTimeoutMs}; op is migrate (also a sync when the JSONL grew), rollback
   * or recover. Reports the outcome, or the error's code (E_LOCKED...) as "done" with
   * {error} when o.reportErrors is set (two migrations racing).
   */
  async sidecar(o) {
    announce("ready");
    const started = performance.now();
    const common = { ...(o.lockTimeoutMs !== undefined ? { lockTimeoutMs: o.lockTimeoutMs } : {}) };
    try {
      let out;
      if (o.op === "migrate") {
        const r = await lib.migrateJsonlToV2(o.file, { ...common, segmentBytes: o.segmentBytes, skipInvalid: o.skipInvalid ?? false });
        out = { action: r.action, after: r.after, entries: r.entries };
      } else if (o.op === "rollback") {
        const r = await lib.rollbackV2Sidecar(o.file, common);
        out = { removed: r.removed ?? null };
      } else if (o.op === "recover") {
        const r = await lib.recoverPartialMigration(o.file, { ...common, reMigrate: o.reMigrate ?? false, segmentBytes: o.segmentBytes });
        out = { after: r.after, ok: r.ok };
      } else throw new Error(`unknown sidecar op ${o.op}`);
      announce(`done ${JSON.stringify({ ...out, ms: performance.now() - started })}`);
    } catch (err) {
      if (!o.reportErrors) throw err;
      announce(`done ${JSON.stringify({ error: err?.code ?? String(err), message: String(err?.message ?? err) })}`);
    }
  },

  /** upgradeSession: options {file, backup}. */
  async upgrade(o) {
    announce("ready");
    const started = performance.now();
    const report = await lib.upgradeSession(o.file, { backup: o.backup ?? true });
    announce(`done ${JSON.stringify({ upgraded: report.upgraded, ms: performance.now() - started })}`);
  },
};

const run = OPERATIONS[operation];
if (!run) {
  process.stderr.write(`unknown operation ${operation}\n`);
  process.exit(2);
}
try {
  await run(options);
} catch (err) {
  announce(`error ${JSON.stringify({ name: err?.name, code: err?.code, message: String(err?.message ?? err) })}`);
  process.exitCode = 1;
}
