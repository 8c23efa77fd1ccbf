import { randomBytes } from "node:crypto";
import { readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { SessfmtError, ioError } from "../format/errors.js";
import { syncDirectory } from "../format/durability.js";
import { childPath, sidecarPath } from "../format/paths.js";
import { openSession } from "../format/read.js";
import type { Session } from "../format/session.js";
import type { EntryRecord } from "../format/record.js";
import { withLock } from "../format/lock.js";
import { readCheckpoints, readManifestFile } from "./artifacts.js";
import { encodeCheckpoint } from "./checkpoint.js";
import { fingerprintOf, linesOf, prefixEnd, writeFingerprint, type SourceFingerprint } from "./fingerprint.js";
import { checkpointRelPath, inRoot, LEDGER_FILE, ROOT_DIRS } from "./layout.js";
import { checkRealDir, lstatOrUndefined, mkdirPrivate, writeFileAtomic, writeFileNoReplace } from "./fs-safe.js";
import type { Manifest } from "./manifest.js";
import { publishManifest } from "./manifest-update.js";
import { emptyWriterState, SegmentWriter, type SegmentWriterOptions } from "./segment-writer.js";
import { payloadSha256 } from "./hash.js";
import { writeEntryTable } from "./entry-table-io.js";
import { validateSidecar, type ValidationReport } from "./validate.js";
import { describeProblem } from "./problems.js";
import { RangeWindowReader } from "./range-window.js";
import { PrefixHasher } from "./source-file.js";

export interface CreateSidecarOptions extends SegmentWriterOptions {
  /** Where the sidecar goes (default `<dir>/<stem>.v2` beside the file). */
  root?: string;
  /**
   * Replace an existing sidecar (default false: E_EXISTS). Its ledger is carried over,
   * and its checkpoints that still describe a prefix of the new store.
   */
  replace?: boolean;
  /** Validate the new sidecar fully before it takes the root's name (default true). */
  verify?: boolean;
  signal?: AbortSignal;
  /** Entries framed so far, of all entries. */
  onProgress?: (done: number, total: number) => void;
  /**
   * The session as the caller has just opened it (retainEntries false), so that it is not
   * opened a second time. It must be an open of `file`; the lines are read again from the
   * file, which must still be the same inode.
   */
  session?: Session;
}

export interface CreateSidecarResult {
  root: string;
  file: string;
  sessionId: string;
  entries: number;
  segments: number;
  bytes: number;
  chainHash: string;
  /** JSONL lines that are not entries and so are not in the sidecar (see the open diagnostics). */
  skippedLines: number;
  manifest: Manifest;
  fingerprint: SourceFingerprint;
  /** The validation of the new sidecar (when verify was on). */
  validation?: ValidationReport;
  /** Checkpoints of a replaced sidecar that were kept / dropped. */
  keptCheckpoints: number[];
  droppedCheckpoints: number[];
  /** SHA-256 of each framed line, in entry order (what each frame records as payloadSha256). */
  lineHashes: string[];
}

const BATCH = 512;

function aborted(file: string, signal: AbortSignal): SessfmtError {
  return new SessfmtError("E_ABORTED", "sidecar creation aborted", { file, cause: signal.reason });
}

/** The session must be version 3: the sidecar stores lines as they are, and v1/v2 lines need an in-memory upgrade. */
export function requireV3(session: Session, file: string): void {
  if (session.version < 3) {
    throw new SessfmtError("E_UNSUPPORTED_VERSION", `session version ${session.version}: the V2 sidecar holds version 3 lines only; upgrade the file first`, { file });
  }
}

/**
 * Build the V2 sidecar of a JSONL session: one frame per entry line (the line's exact
 * bytes as payload), the offset index, the source fingerprint and the manifest. The
 * sidecar is built in a staging directory beside the root and renamed into place, so a
 * failure leaves no half sidecar.
 */
export async function createV2SidecarFromJsonl(file: string, opts: CreateSidecarOptions = {}): Promise<CreateSidecarResult> {
  const root = resolve(opts.root ?? sidecarPath(resolve(file)));
  if (opts.replace) return withLock(root, () => buildSidecar(resolve(file), root, opts), { signal: opts.signal });
  return buildSidecar(resolve(file), root, opts);
}

/** createV2SidecarFromJsonl without taking the lock (callers that hold it). */
export async function buildSidecar(file: string, root: string, opts: CreateSidecarOptions): Promise<CreateSidecarResult> {
  const existing = await lstatOrUndefined(root);
  if (existing?.isSymbolicLink()) throw new SessfmtError("E_PATH_UNSAFE", "sidecar root is a symbolic link; refusing to follow it", { file: root });
  if (existing && !opts.replace) throw new SessfmtError("E_EXISTS", "a sidecar already exists (pass replace to rebuild it)", { file: root });
  if (existing && !existing.isDirectory()) throw new SessfmtError("E_NOT_A_FILE", "sidecar root exists and is not a directory", { file: root });

  let before;
  try {
    before = await stat(file);
  } catch (err) {
    throw ioError(err, file, "cannot open session");
  }
  const session = opts.session ?? (await openSession(file, { retainEntries: false, signal: opts.signal }));
  requireV3(session, file);

  const parent = dirname(root);
  const staging = childPath(parent, `.${basename(root)}.staging-${randomBytes(6).toString("hex")}`);
  await mkdirPrivate(staging, true);
  try {
    for (const d of ROOT_DIRS) await mkdirPrivate(inRoot(staging, d), true);
    const writer = new SegmentWriter(staging, emptyWriterState(), opts);
    const lines = linesOf(session);
    const records = lines.records;
    const chains: string[] = [];
    // The lines are read in file order through one large window: one read per 4 MiB, not
    // one per line. The writer copies each payload into its frame before the next line is
    // read, so views are enough, and the window buffers are reused.
    // The fingerprint's hash of the indexed prefix is computed from the same reads (from
    // byte 0, the header's window first): the bytes framed are the bytes hashed.
    const prefix = prefixEnd(lines);
    const prefixHash = new PrefixHasher(file, prefix.end);
    const lineReader = (await RangeWindowReader.open(file, { dev: before.dev, ino: before.ino, size: session.size })).reuseWindows();
    try {
      lineReader.observe((start, bytes) => prefixHash.feed(start, bytes));
      await lineReader.begin(0);
      for (let i = 0; i < records.length; i++) {
        if (i % BATCH === 0 && opts.signal?.aborted) throw aborted(file, opts.signal);
        const r = records[i] as EntryRecord;
        await writer.append({ entryId: r.id, parentEntryId: r.parentId, entryType: r.type, payload: lineReader.peek(r.offset, r.length) ?? (await lineReader.read(r.offset, r.length)) });
        chains.push(writer.state.chainHash);
        if ((i + 1) % BATCH === 0 || i + 1 === records.length) opts.onProgress?.(i + 1, records.length);
      }
    } finally {
      await lineReader.close();
    }
    await writer.commit();
    await writeEntryTable(staging, writer.rows, records, writer.state.indexBytes);

    const headerSha256 = payloadSha256(session.rawHeader());
    const now = opts.now ?? (() => new Date());
    const fingerprint = await fingerprintOf(
      file,
      prefix,
      {
        sessionId: session.id,
        headerSha256,
        entryCount: records.length,
        chainHash: writer.state.chainHash,
        sourceSize: session.size,
        sourceMtimeMs: before.mtimeMs,
        now: now(),
        indexedSha256: await prefixHash.digest(opts.signal),
      },
      opts.signal,
    );
    const after = await stat(file);
    if (after.ino !== before.ino || after.dev !== before.dev || after.size < session.size) {
      throw new SessfmtError("E_SOURCE_CHANGED", "the JSONL was replaced or cut while the sidecar was being built; nothing was written", { file });
    }
    await writeFingerprint(staging, fingerprint);

    const kept: number[] = [];
    const dropped: number[] = [];
    let createdAt: string | undefined;
    if (existing) {
      const old = await readManifestFile(root);
      if (old.state === "ok") createdAt = old.manifest.createdAt;
      const ledger = await lstatOrUndefined(inRoot(root, LEDGER_FILE));
      if (ledger?.isFile()) await writeFileAtomic(staging, LEDGER_FILE, await readFile(inRoot(root, LEDGER_FILE)));
      for (const c of (await readCheckpoints(root)).checkpoints) {
        const row = writer.rows[c.headEntrySeq - 1];
        if (row && row.entryId === c.headEntryId && chains[c.headEntrySeq - 1] === c.chainHash) {
          await writeFileNoReplace(staging, checkpointRelPath(c.checkpointSeq), encodeCheckpoint(c));
          kept.push(c.checkpointSeq);
        } else dropped.push(c.checkpointSeq);
      }
    }
    // The writer's own record of the frame heads: reading them back from disk here would
    // prove nothing that validation (or migrate's integrity check) does not prove again.
    const manifest = await publishManifest(staging, writer.rows, { sessionId: session.id, expectedChain: writer.state.chainHash, now: now(), heads: writer.heads, ...(createdAt ? { createdAt } : {}) });

    let validation: ValidationReport | undefined;
    if (opts.verify ?? true) {
      validation = await validateSidecar(staging, { signal: opts.signal, maxFrameBytes: opts.maxFrameBytes });
      if (!validation.ok) {
        const first = validation.problems.find((p) => p.severity === "error");
        throw new SessfmtError("E_SIDECAR_CORRUPT", `the new sidecar does not validate: ${first ? describeProblem(first) : "?"}`, { file: staging, data: validation });
      }
    }
    if (opts.signal?.aborted) throw aborted(file, opts.signal);
    await syncDirectory(staging);
    await cutover(staging, root, Boolean(existing));
    return {
      root,
      file,
      sessionId: session.id,
      entries: records.length,
      segments: new Set(writer.rows.map((r) => r.segmentSeq)).size,
      bytes: writer.rows.reduce((n, r) => n + r.byteLength, 0),
      chainHash: writer.state.chainHash,
      skippedLines: session.diagnostics.skippedEntries.length,
      manifest,
      fingerprint,
      ...(validation ? { validation } : {}),
      keptCheckpoints: kept,
      droppedCheckpoints: dropped,
      lineHashes: writer.heads.map((h) => h.payloadSha256),
    };
  } catch (err) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw err;
  }
}

/** Put the staged root in place: exclusively for a new sidecar, by swapping for a replacement. */
async function cutover(staging: string, root: string, replacing: boolean): Promise<void> {
  const parent = dirname(root);
  if (!replacing) {
    await mkdirPrivate(root, true); // claims the name: a concurrent creator gets E_EXISTS
    try {
      await rename(staging, root); // an empty directory is replaced atomically
    } catch (err) {
      throw ioError(err, root, "cannot move the new sidecar into place");
    }
  } else {
    const old = childPath(parent, `.${basename(root)}.old-${randomBytes(6).toString("hex")}`);
    await checkRealDir(root);
    await rename(root, old);
    try {
      await rename(staging, root);
    } catch (err) {
      await rename(old, root).catch(() => undefined);
      throw ioError(err, root, "cannot move the rebuilt sidecar into place");
    }
    await rm(old, { recursive: true, force: true });
  }
  await syncDirectory(parent);
}
