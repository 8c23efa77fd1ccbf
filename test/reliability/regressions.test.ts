import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SessfmtError, exportSnapshot, openSessionFromBuffer } from "../../src/index.js";
import { makeTempDir } from "../helpers/session-files.js";
import { CHILD_OPERATIONS, Child } from "../helpers/reliability/child.js";

let tmp: ReturnType<typeof makeTempDir>;
let dir: string;
beforeEach(() => {
  tmp = makeTempDir("sessfmt-lockless-");
  dir = realpathSync(tmp.dir);
});
afterEach(() => tmp.cleanup());

describe("a writer that takes no lock (pi's appendFileSync) never loses a line to the torn-tail repair", () => {
  it("100 lines of 4 MiB appended without the lock while a SessionWriter appends: every one survives whole", async () => {
    const file = join(dir, "s.jsonl");
    writeFileSync(file, `${JSON.stringify({ type: "session", version: 3, id: "race", timestamp: "2025-01-01T00:00:00.000Z", cwd: "/w" })}\n`);
    const pi = new Child(CHILD_OPERATIONS, ["foreignAppend", JSON.stringify({ file, count: 100, bytes: 4 * 1024 * 1024 })], { hangGuardMs: 120_000 });
    const sf = new Child(CHILD_OPERATIONS, ["append", JSON.stringify({ file, durability: "throughput", parent: "fileTail", run: 0, limit: 3000, maxBytes: 100 })], { hangGuardMs: 120_000 });
    expect((await pi.result()).code).toBe(0);
    await sf.result();
    const lines = readFileSync(file, "utf8").split("\n");
    const foreign = lines.filter((l) => l.includes('"customType":"foreign"'));
    expect(foreign).toHaveLength(100);
    for (const l of foreign) expect(() => JSON.parse(l)).not.toThrow();
  }, 180_000);
});

describe("exportSnapshot never throws anything but SessfmtError", () => {
  it("an entry nested 10 000 deep", () => {
    const nested = "[".repeat(10_000) + "]".repeat(10_000);
    const s = openSessionFromBuffer(
      `{"type":"session","version":3,"id":"s","timestamp":"t","cwd":"/"}\n{"type":"custom","id":"a1","parentId":null,"timestamp":"t","customType":"c","data":${nested}}\n`,
    );
    let err: unknown;
    try {
      exportSnapshot(s);
    } catch (e) {
      err = e;
    }
    if (err !== undefined) expect(err).toBeInstanceOf(SessfmtError);
  });
});
