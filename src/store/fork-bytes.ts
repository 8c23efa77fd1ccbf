import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createBranchedSession, newSessionHeader, type Session } from "../format/index.js";
import { ioError } from "../format/errors.js";

/**
 * The JSONL bytes of a branched session (createBranchedSession's exact rules: path
 * without label entries, labels re-created, dropped-label parents re-pointed), for stores
 * that do not keep files. It is written once to a private temp dir, so the rules live in
 * one place; the header is then rewritten to name `parentSession`, which a session
 * opened from memory has no file path for.
 */
export async function branchedSessionBytes(
  session: Session,
  leafId: string,
  opts: { id: string; now: Date; parentSession: string },
): Promise<Buffer> {
  let dir: string;
  try {
    dir = await mkdtemp(join(tmpdir(), "sessfmt-fork-"));
  } catch (err) {
    throw ioError(err, tmpdir(), "cannot create a temp dir for the fork");
  }
  try {
    const branched = await createBranchedSession(session, leafId, { dir, id: opts.id, now: opts.now, durability: "throughput" });
    const bytes = await readFile(branched.file).catch((err: unknown) => Promise.reject(ioError(err, branched.file, "cannot read the fork")));
    const headerEnd = bytes.indexOf(0x0a);
    const header = newSessionHeader({
      id: opts.id,
      timestamp: opts.now.toISOString(),
      cwd: typeof session.header.cwd === "string" ? session.header.cwd : "",
      parentSession: opts.parentSession,
      dialect: session.dialect,
    });
    return Buffer.concat([Buffer.from(JSON.stringify(header), "utf8"), bytes.subarray(headerEnd)]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
