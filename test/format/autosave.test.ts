import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { readFileSync, realpathSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import {
  AutosaveQueue,
  createSession,
  isSessfmtError,
  openSession,
  type AutosaveDurabilityMode,
  type AutosaveSink,
  type PreparedEntry,
  type SessfmtError,
} from "../../src/index.js";
import { makeTempDir, userMessage } from "../helpers/session-files.js";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;

beforeEach(() => {
  tmp = makeTempDir("sessfmt-autosave-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => {
  vi.restoreAllMocks();
  tmp.cleanup();
});

async function rejection(p: Promise<unknown>): Promise<SessfmtError> {
  try {
    await p;
  } catch (err) {
    if (isSessfmtError(err)) return err;
    throw err;
  }
  throw new Error("expected a rejection");
}

/** An in-memory sink that records each batch, and can be made to fail or to hold a batch. */
class FakeSink implements AutosaveSink {
  leafId: string | null = null;
  readonly ids = new Set<string>();
  readonly batches: PreparedEntry[][] = [];
  failing = false;
  closed = false;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(readonly durability: AutosaveDurabilityMode) {}

  hold(): void {
    this.gate = new Promise((r) => (this.openGate = r));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  hasId(id: string): boolean {
    return this.ids.has(id);
  }

  async appendPrepared(entries: readonly PreparedEntry[], opts: { leafAfter?: string | null } = {}): Promise<void> {
    if (this.gate) await this.gate;
    if (this.failing) throw new Error("disk on fire");
    this.batches.push([...entries]);
    for (const e of entries) this.ids.add(e.id);
    this.leafId = opts.leafAfter === undefined ? (entries.at(-1)?.id ?? this.leafId) : opts.leafAfter;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  get written(): PreparedEntry[] {
    return this.batches.flat();
  }
}

const custom = (n: number) => ({ type: "custom", customType: "t", data: n });
const tick = () => new Promise((r) => setImmediate(r));

describe("appends return their id at once, fixed in call order, and are written at the next flush", () => {
  it("ids chain by call order across leaf moves; nothing is written before the flush", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const header = readFileSync(w.file);
    const q = new AutosaveQueue(w, { intervalMs: 0 });
    const a = await q.appendMessage(userMessage("a"));
    const b = await q.appendMessage(userMessage("b"));
    q.branch(a);
    const c = q.appendSync(custom(1));
    const l = await q.appendLabelChange(b, "bee");
    expect(q.leafId).toBe(l);
    expect(readFileSync(w.file).equals(header)).toBe(true);
    await q.flush();
    expect(w.leafId).toBe(l);
    await q.close();
    const s = await openSession(w.file);
    expect(s.records.map((r) => [r.id, r.parentId])).toEqual([
      [a, null],
      [b, a],
      [c, a],
      [l, c],
    ]);
    expect(s.labels.get(b)).toBe("bee");
  });

  it("a label for an id nobody has is refused at once with E_ENTRY_NOT_FOUND", async () => {
    const q = new AutosaveQueue(new FakeSink("balanced"), { intervalMs: 0 });
    expect((await rejection(q.appendLabelChange("nope", "x"))).code).toBe("E_ENTRY_NOT_FOUND");
    expect(() => q.branch("nope")).toThrow(expect.objectContaining({ code: "E_ENTRY_NOT_FOUND" }));
    expect(q.leafId).toBeNull();
  });

  it("what is written is the entry as it was when queued, not as the caller changed it later", async () => {
    const sink = new FakeSink("balanced");
    const q = new AutosaveQueue(sink, { intervalMs: 0 });
    const message = userMessage("original") as { content: unknown };
    await q.appendMessage(message as never);
    message.content = "mutated after the append";
    await q.flush();
    expect(JSON.stringify(sink.written[0])).toContain("original");
    expect(JSON.stringify(sink.written[0])).not.toContain("mutated");
  });

  it("any interleaving of appends, leaf moves and flushes writes every entry once, in call order (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.constant("append"), fc.constant("reset"), fc.constant("flush"), fc.nat()), { maxLength: 30 }), async (ops) => {
        const sink = new FakeSink("balanced");
        const q = new AutosaveQueue(sink, { intervalMs: 0, maxPending: 4 });
        const expected: [string, string | null][] = [];
        const pending: Promise<unknown>[] = [];
        for (const o of ops) {
          if (o === "append") {
            const parent = q.leafId;
            const p = q.append(custom(expected.length));
            expected.push([q.leafId as string, parent]);
            pending.push(p);
          } else if (o === "reset") q.resetLeaf();
          else if (o === "flush") pending.push(q.flush());
          else if (expected.length > 0) q.branch((expected[o % expected.length] as [string, string | null])[0]);
        }
        await q.close();
        await Promise.all(pending);
        expect(sink.written.map((e) => [e.id, e.parentId])).toEqual(expected);
        expect(sink.leafId).toBe(q.leafId);
        expect(q.metrics().pending).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});

describe("mutations coalesce into one batch, one write, per flush", () => {
  it("ten appends and two leaf moves go to the sink as one batch; metrics count it", async () => {
    const sink = new FakeSink("balanced");
    const q = new AutosaveQueue(sink, { intervalMs: 0 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await q.append(custom(i)));
    q.branch(ids[1] as string);
    for (let i = 5; i < 10; i++) ids.push(await q.append(custom(i)));
    q.resetLeaf();
    expect(q.metrics().pending).toBe(12);
    await q.flush();
    expect(sink.batches).toHaveLength(1);
    expect(sink.batches[0]?.map((e) => e.id)).toEqual(ids);
    expect(sink.leafId).toBeNull();
    expect(q.metrics()).toMatchObject({
      pending: 0,
      coalesced: 11,
      flushesStarted: 1,
      flushesSucceeded: 1,
      flushesFailed: 0,
      lastBatchSize: 12,
      lastTrigger: "manual",
    });
    expect(q.metrics().lastBatchDurationMs).toBeGreaterThanOrEqual(0);
    await q.flush();
    expect(q.metrics().flushesStarted).toBe(1); // nothing queued: no flush
  });

  it("through a real writer the whole batch is one write call", async () => {
    const w = await createSession({ cwd: "/w", dir, durability: "throughput" });
    const q = new AutosaveQueue(w, { intervalMs: 0 });
    for (let i = 0; i < 20; i++) await q.append(custom(i));
    const fh = await open(w.file, "r");
    const proto = Object.getPrototypeOf(fh) as { write: () => unknown };
    await fh.close();
    const spy = vi.spyOn(proto, "write");
    await q.flush();
    expect(spy).toHaveBeenCalledTimes(1);
    await q.close();
    expect((await openSession(w.file)).records).toHaveLength(20);
  });
});

describe("the queue is bounded: appends wait for room (backpressure) or are refused", () => {
  it("onFull 'wait': the append past maxPending resolves only after a flush made room", async () => {
    const sink = new FakeSink("balanced");
    const q = new AutosaveQueue(sink, { intervalMs: 0, maxPending: 3 });
    for (let i = 0; i < 3; i++) await q.append(custom(i));
    sink.hold();
    let admitted = false;
    const fourth = q.append(custom(3)).then((id) => {
      admitted = true;
      return id;
    });
    const fourthId = q.leafId;
    await tick();
    await tick();
    expect(admitted).toBe(false);
    expect(q.metrics()).toMatchObject({ backpressureEvents: 1, pending: 4, flushesStarted: 1 });
    sink.release();
    expect(await fourth).toBe(fourthId);
    await q.flush();
    expect(sink.written.map((e) => (e as unknown as { data: number }).data)).toEqual([0, 1, 2, 3]);
    expect(sink.written[3]?.parentId).toBe(sink.written[2]?.id);
    await q.close();
  });

  it("onFull 'reject': the append past maxPending fails with E_QUEUE_FULL and changes nothing", async () => {
    const sink = new FakeSink("balanced");
    const q = new AutosaveQueue(sink, { intervalMs: 0, maxPending: 2, onFull: "reject" });
    sink.hold();
    await q.append(custom(0));
    const last = await q.append(custom(1));
    expect((await rejection(q.append(custom(2)))).code).toBe("E_QUEUE_FULL");
    expect(() => q.appendSync(custom(3))).toThrow(expect.objectContaining({ code: "E_QUEUE_FULL" }));
    expect(q.leafId).toBe(last);
    expect(q.metrics().backpressureEvents).toBe(2);
    sink.release();
    await q.close();
    expect(sink.written).toHaveLength(2);
  });
});

describe("strict: a failed flush surfaces; nothing new is accepted until a flush succeeds; nothing is dropped", () => {
  it("flush() rejects E_FLUSH_FAILED, the next append rejects E_FLUSH_FAILED, a later flush writes the kept batch", async () => {
    const sink = new FakeSink("strict");
    const onError = vi.fn();
    const q = new AutosaveQueue(sink, { intervalMs: 0, onError });
    const a = await q.append(custom(0));
    sink.failing = true;
    const err = await rejection(q.flush());
    expect(err.code).toBe("E_FLUSH_FAILED");
    expect(onError).toHaveBeenCalledTimes(1);
    const next = await rejection(q.append(custom(1)));
    expect(next.code).toBe("E_FLUSH_FAILED");
    expect(q.metrics()).toMatchObject({ flushesFailed: 1, pending: 1 });
    expect(q.metrics().lastError?.message).toContain("disk on fire");
    sink.failing = false;
    await q.flush();
    expect(sink.written.map((e) => e.id)).toEqual([a]);
    await q.append(custom(2));
    await q.close();
    expect(sink.written).toHaveLength(2);
  });

  it("close() rejects while the final flush fails and can be retried", async () => {
    const sink = new FakeSink("strict");
    const q = new AutosaveQueue(sink, { intervalMs: 0 });
    await q.append(custom(0));
    sink.failing = true;
    expect((await rejection(q.close())).code).toBe("E_FLUSH_FAILED");
    expect(sink.closed).toBe(false);
    expect((await rejection(q.append(custom(1)))).code).toBe("E_CLOSED");
    sink.failing = false;
    await q.close();
    expect(sink.closed).toBe(true);
    expect(sink.written).toHaveLength(1);
  });

  it("close({discardUnwritten}) gives up after unwritten() handed the entries over", async () => {
    const sink = new FakeSink("strict");
    const q = new AutosaveQueue(sink, { intervalMs: 0 });
    const a = await q.append(custom(0));
    const b = await q.append(custom(1));
    sink.failing = true;
    expect((await rejection(q.close())).code).toBe("E_FLUSH_FAILED");
    expect(q.unwritten().map((e) => [e.id, e.parentId])).toEqual([
      [a, null],
      [b, a],
    ]);
    await q.close({ discardUnwritten: true });
    expect(q.metrics().dropped).toBe(2);
    expect(sink.closed).toBe(true);
    expect(q.unwritten()).toEqual([]);
  });
});

describe("balanced: failures go to onError and the queue keeps going", () => {
  it("flush() resolves, onError hears of it, appends continue, and the next flush writes everything in order", async () => {
    const sink = new FakeSink("balanced");
    const errors: [string, string, number][] = [];
    const q = new AutosaveQueue(sink, { intervalMs: 0, onError: (e, info) => errors.push([e.code, info.trigger, info.batchSize]) });
    await q.append(custom(0));
    sink.failing = true;
    await q.flush();
    expect(errors).toEqual([["E_FLUSH_FAILED", "manual", 1]]);
    await q.append(custom(1));
    sink.failing = false;
    await q.flush();
    expect(sink.written.map((e) => (e as unknown as { data: number }).data)).toEqual([0, 1]);
    expect(q.metrics()).toMatchObject({ flushesFailed: 1, flushesSucceeded: 1, pending: 0 });
    await q.close();
  });

  it("what still cannot be written at close is reported and counted as dropped", async () => {
    const sink = new FakeSink("balanced");
    const onError = vi.fn();
    const q = new AutosaveQueue(sink, { intervalMs: 0, onError });
    await q.append(custom(0));
    await q.append(custom(1));
    sink.failing = true;
    await q.close();
    expect(q.metrics().dropped).toBe(2);
    expect(onError.mock.calls.map((c) => (c[0] as SessfmtError).code)).toEqual(["E_FLUSH_FAILED", "E_CLOSED"]);
    expect(sink.closed).toBe(true);
  });
});

describe("throughput: the shutdown flush is skipped by default, so entries queued since the last flush are lost", () => {
  it("close() drops them (counted) unless flushOnShutdown is set", async () => {
    const w = await createSession({ cwd: "/w", dir, durability: "throughput" });
    const q = new AutosaveQueue(w, { intervalMs: 0 });
    await q.append(custom(0));
    await q.flush();
    await q.append(custom(1));
    await q.append(custom(2));
    await q.close();
    expect(q.metrics().dropped).toBe(2);
    expect((await openSession(w.file)).records).toHaveLength(1);

    const w2 = await createSession({ cwd: "/w", dir, durability: "throughput" });
    const q2 = new AutosaveQueue(w2, { intervalMs: 0, flushOnShutdown: true });
    await q2.append(custom(0));
    await q2.close();
    expect(q2.metrics()).toMatchObject({ dropped: 0, lastTrigger: "shutdown" });
    expect((await openSession(w2.file)).records).toHaveLength(1);
  });

  it("errors go to onError as in balanced mode", async () => {
    const sink = new FakeSink("throughput");
    const onError = vi.fn();
    const q = new AutosaveQueue(sink, { intervalMs: 0, onError });
    await q.append(custom(0));
    sink.failing = true;
    await q.flush();
    expect(onError).toHaveBeenCalledTimes(1);
    await q.append(custom(1));
    await q.close();
  });
});

describe("flush triggers: manual, periodic, shutdown", () => {
  it("the interval flushes in the background", async () => {
    const sink = new FakeSink("balanced");
    const q = new AutosaveQueue(sink, { intervalMs: 10 });
    await q.append(custom(0));
    await vi.waitFor(() => expect(q.metrics().flushesSucceeded).toBe(1), { timeout: 5_000 });
    expect(q.metrics().lastTrigger).toBe("periodic");
    expect(sink.written).toHaveLength(1);
    await q.close();
  });

  it("close() flushes with trigger 'shutdown', closes the sink, then refuses appends with E_CLOSED", async () => {
    const sink = new FakeSink("balanced");
    const q = new AutosaveQueue(sink, { intervalMs: 0 });
    await q.append(custom(0));
    await q.close();
    expect(q.metrics().lastTrigger).toBe("shutdown");
    expect(sink.closed).toBe(true);
    expect((await rejection(q.append(custom(1)))).code).toBe("E_CLOSED");
    await q.close(); // idempotent
  });

  it("AutosaveQueue.open appends to an existing file after its last entry", async () => {
    const w = await createSession({ cwd: "/w", dir });
    const first = await w.append(custom(0));
    await w.close();
    const q = await AutosaveQueue.open(w.file, { intervalMs: 0, durability: "strict" });
    expect(q.durability).toBe("strict");
    const id = await q.append(custom(1));
    await q.close();
    const s = await openSession(w.file);
    expect(s.record(id)?.parentId).toBe(first);
  });
});
