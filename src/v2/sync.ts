import { stat } from "node:fs/promises";
import { SessfmtError, ioError } from "../format/errors.js";
import { withLock } from "../format/lock.js";
import { openSessionFromBuffer } from "../format/read.js";
import { listSegmentFiles, readManifestFile } from "./artifacts.js";
import { buildSidecar, requireV3, type CreateSidecarOptions } from "./create.js";
import { cutStoreBack } from "./cut-back.js";
import { chainOf } from "./hash.js";
import { extendStoreFacts, readFrameHeads } from "./facts.js";
import { checkFreshness, fingerprintOf, linesOf, prefixEnd, readFingerprint, TAIL_HASH_BYTES, writeFingerprint, type Freshness, type FreshnessCheck, type PrefixEnd } from "./fingerprint.js";
import { readIndexFile } from "./index-file.js";
import { readEntryTable, remakeEntryTable, writeEntryTableBytes } from "./entry-table-io.js";
import { encodeEntryTable, holdsIds, type EntryTable, type EntryTableInput } from "./entry-table.js";
import type { OffsetIndexRow } from "./index-row.js";
import { inRoot } from "./layout.js";
import { publishManifest } from "./manifest-update.js";
import { quarantineFile, truncateFile } from "./fs-safe.js";
import { SegmentWriter, writerStateAfter, type SegmentWriterOptions } from "./segment-writer.js";
import { GrowingPrefixHash, readHeaderLine, readRange } from "./source-file.js";
import { payloadSha256 } from "./hash.js";
import { resolveTarget } from "./target.js";
import { checkRealDir } from "./fs-safe.js";

export interface SyncOptions extends SegmentWriterOptions {
  /** When the JSONL's indexed prefix changed (or freshness is unknown), rebuild the sidecar from it. */
  rebuild?: boolean;
  /** How the indexed prefix is compared (default "full": hash all of it). */
  check?: FreshnessCheck;
  signal?: AbortSignal;
  /** Bytes of new JSONL lines processed so far, of the new bytes. */
  onProgress?: (done: number, total: number) => void;
}

export interface SyncReport {
  root: string;
  file: string;
  /**
   * none: nothing new; appended: new lines were framed; rebuilt: the sidecar was rebuilt
   * from the JSONL; stale: the indexed prefix changed (or cannot be checked) and rebuild
   * was not requested, so nothing was written.
   */
  action: "none" | "appended" | "rebuilt" | "stale";
  /** How the JSONL related to the sidecar before the sync. */
  freshness: Freshness;
  /** Entries framed by this sync. */
  appended: number;
  /** New lines that are not entries (not framed). */
  skippedLines: number;
  /** What an interrupted earlier sync left behind and this one repaired. */
  repaired: string[];
  entries: number;
  chainHash: string;
}

/** New lines are read and framed in pieces of about this size. */
const PIECE_BYTES = 16 << 20;

/**
 * Bring the sidecar up to date with its JSONL. If the JSONL only grew, frame just the new
 * lines (the prefix is checked by hash, never re-parsed). If the indexed prefix changed,
 * report "stale", or rebuild from the JSONL when `rebuild` is set. Leftovers of an
 * interrupted sync (frames without rows, rows the fingerprint does not count) are removed
 * first and reported in `repaired`.
 */
export async function syncSidecar(file: string, opts: SyncOptions = {}): Promise<SyncReport> {
  const target = await resolveTarget(file);
  const jsonl = target.file;
  if (!jsonl) throw new SessfmtError("E_INVALID_ARGUMENT", "sync needs the JSONL file (the root's name does not say which)", { file: target.root });
  const root = target.root;
  if (!(await checkRealDir(root))) {
    if (!opts.rebuild) throw new SessfmtError("E_SIDECAR_MISSING", "no V2 sidecar to sync (create one first)", { file: root });
    const built = await buildSidecar(jsonl, root, opts);
    return { root, file: jsonl, action: "rebuilt", freshness: { state: "unknown", reason: "no sidecar" }, appended: built.entries, skippedLines: built.skippedLines, repaired: [], entries: built.entries, chainHash: built.chainHash };
  }
  return withLock(root, () => syncLocked(jsonl, root, opts), { signal: opts.signal });
}

async function rebuildFrom(jsonl: string, root: string, opts: SyncOptions, freshness: Freshness, repaired: string[]): Promise<SyncReport> {
  const built = await buildSidecar(jsonl, root, { ...opts, replace: true } as CreateSidecarOptions);
  return { root, file: jsonl, action: "rebuilt", freshness, appended: built.entries, skippedLines: built.skippedLines, repaired, entries: built.entries, chainHash: built.chainHash };
}

async function syncLocked(jsonl: string, root: string, opts: SyncOptions): Promise<SyncReport> {
  const now = opts.now ?? (() => new Date());
  const repaired: string[] = [];
  const fpRead = await readFingerprint(root);
  const stale = (freshness: Freshness, chainHash: string, entries: number): Promise<SyncReport> | SyncReport =>
    opts.rebuild ? rebuildFrom(jsonl, root, opts, freshness, repaired) : { root, file: jsonl, action: "stale", freshness, appended: 0, skippedLines: 0, repaired, entries, chainHash };

  const idx = await readIndexFile(root, { signal: opts.signal });
  if (!idx.exists || idx.problems.length > 0) {
    if (opts.rebuild) return rebuildFrom(jsonl, root, opts, { state: "unknown", reason: "the index is missing or damaged" }, repaired);
    throw new SessfmtError("E_SIDECAR_CORRUPT", `the index is ${idx.exists ? "damaged" : "missing"}; rebuild the index or sync with rebuild`, { file: root, data: { problems: idx.problems } });
  }
  if (fpRead.state !== "ok") {
    const reason = fpRead.state === "missing" ? "no source fingerprint" : `the source fingerprint is invalid (${fpRead.message})`;
    return stale({ state: "unknown", reason }, "", idx.rows.length);
  }
  let fp = fpRead.fingerprint;
  let rows = idx.rows;

  // Leftovers of an interrupted sync: rows after the fingerprint's entries, frames after the rows.
  if (rows.length < fp.entryCount) {
    return stale({ state: "unknown", reason: `the index has ${rows.length} rows but ${fp.entryCount} entries were indexed` }, fp.chainHash, rows.length);
  }
  if (rows.length > fp.entryCount) {
    const heads = readFrameHeads(root, rows.slice(0, fp.entryCount));
    if (heads.some((h) => !h) || chainOf(heads.map((h) => h?.payloadSha256 as string)) !== fp.chainHash) {
      return stale({ state: "unknown", reason: "the fingerprint's chain does not match the stored frames" }, fp.chainHash, rows.length);
    }
    const cut = await cutStoreBack(root, rows, fp.entryCount);
    repaired.push(`removed ${rows.length - fp.entryCount} index rows written after the last recorded sync`);
    for (const t of cut.truncated) repaired.push(`cut ${t.file} from ${t.from} to ${t.to} bytes`);
    for (const q of cut.quarantined) repaired.push(`moved unindexed segment aside to ${q}`);
    rows = rows.slice(0, fp.entryCount);
  }
  const last = rows[rows.length - 1];
  for (const s of await listSegmentFiles(root)) {
    const end = last && s.segmentSeq === last.segmentSeq ? last.byteOffset + last.byteLength : undefined;
    if (end !== undefined && s.size > end) {
      await truncateFile(inRoot(root, s.file), end);
      repaired.push(`cut ${s.size - end} unindexed bytes from ${s.file}`);
    } else if (s.segmentSeq > (last?.segmentSeq ?? 0)) {
      repaired.push(`moved unindexed segment aside to ${(await quarantineFile(inRoot(root, s.file))).slice(root.length + 1)}`);
    }
  }
  const indexSize = repaired.length > 0 ? (await readIndexFile(root)).size : idx.size;

  // The prefix is hashed once: checked here, and continued with the new lines for the new fingerprint.
  const prefixHash = new GrowingPrefixHash(jsonl, TAIL_HASH_BYTES);
  const freshness = await checkFreshness(jsonl, fp, opts.check ?? "full", opts.signal, (end) => prefixHash.digestTo(end, opts.signal));
  if (freshness.state === "stale" || freshness.state === "unknown") return stale(freshness, fp.chainHash, rows.length);

  let st;
  try {
    st = await stat(jsonl);
  } catch (err) {
    throw ioError(err, jsonl, "cannot stat");
  }
  let start = fp.lastIndexedOffset;
  let prefix: PrefixEnd = { end: fp.lastIndexedOffset, lastLine: fp.lastIndexedLine, openTail: fp.openTail };
  if (fp.openTail && st.size > start) {
    const next = await readRange(jsonl, start, 2);
    const eol = next[0] === 0x0a ? 1 : next[1] === 0x0a ? 2 : 0; // 0: a lone "\r" so far
    if (eol > 0) {
      // The open last line got its line end: it is now a whole line of the prefix.
      await prefixHash.feed(start, next.subarray(0, eol), opts.signal);
      start += eol;
      prefix = { end: start, lastLine: fp.lastIndexedLine, openTail: false };
    } else start = st.size;
  }
  const table = (await readEntryTable(root)).table;
  const writer = new SegmentWriter(root, writerStateAfter(rows, indexSize, fp.chainHash), opts);
  const added: EntryTableInput[] = [];
  let skipped = 0;
  if (st.size > start) {
    const header = (await readHeaderLine(jsonl)).bytes;
    let pieceStart = start;
    let firstLine = fp.lastIndexedLine + 1;
    const total = st.size - start;
    while (pieceStart < st.size) {
      if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "sync aborted", { file: jsonl, cause: opts.signal.reason });
      let piece = await readRange(jsonl, pieceStart, Math.min(PIECE_BYTES, st.size - pieceStart));
      const lastPiece = pieceStart + piece.length >= st.size;
      if (!lastPiece) {
        const nl = piece.lastIndexOf(0x0a);
        if (nl >= 0) piece = piece.subarray(0, nl + 1);
        else piece = await readRange(jsonl, pieceStart, st.size - pieceStart); // one line longer than a piece
      }
      const shift = header.length + 1;
      const session = openSessionFromBuffer(Buffer.concat([header, Buffer.from("\n"), piece]), { name: jsonl, retainEntries: false });
      requireV3(session, jsonl);
      const lines = linesOf(session);
      const records = lines.records;
      const payloads: Buffer[] = [];
      session.forEachRaw(records, (bytes) => payloads.push(Buffer.from(bytes)));
      for (let i = 0; i < records.length; i++) {
        const r = records[i] as (typeof records)[number];
        await writer.append({ entryId: r.id, parentEntryId: r.parentId, entryType: r.type, payload: payloads[i] as Buffer });
        added.push(r);
      }
      skipped += session.diagnostics.skippedEntries.length;
      const p = prefixEnd(lines);
      prefix = { end: p.end - shift + pieceStart, lastLine: p.lastLine - 2 + firstLine, openTail: p.openTail };
      // The framed bytes are the hashed bytes (a piece's tail after the prefix waits for the next sync).
      await prefixHash.feed(pieceStart, piece.subarray(0, prefix.end - pieceStart), opts.signal);
      const newlines = piece.reduce((n, b) => (b === 0x0a ? n + 1 : n), 0);
      pieceStart += piece.length;
      firstLine += newlines;
      opts.onProgress?.(pieceStart - start, total);
    }
  }
  const appended = writer.rows.length;
  if (appended === 0 && repaired.length === 0 && prefix.end === fp.lastIndexedOffset && st.size === fp.sourceSize) {
    if (!table) await remakeEntryTable(root, opts.signal); // a store from the Rust port or an older sessfmt
    return { root, file: jsonl, action: "none", freshness, appended: 0, skippedLines: skipped, repaired, entries: rows.length, chainHash: fp.chainHash };
  }
  await writer.commit();
  const oldChain = fp.chainHash;
  const allRows = [...rows, ...writer.rows];
  const bytes = table && table.count === rows.length ? tableAfterAppend(table, rows, writer.rows, added, writer.state.indexBytes) : undefined;
  if (bytes) await writeEntryTableBytes(root, bytes);
  else await remakeEntryTable(root, opts.signal);
  const header = await readHeaderLine(jsonl);
  fp = await fingerprintOf(
    jsonl,
    prefix,
    {
      sessionId: fp.sessionId,
      headerSha256: payloadSha256(header.bytes),
      entryCount: allRows.length,
      chainHash: writer.state.chainHash,
      sourceSize: st.size,
      sourceMtimeMs: st.mtimeMs,
      now: now(),
      indexedSha256: await prefixHash.digestTo(prefix.end, opts.signal),
      indexedTailSha256: prefixHash.tailDigest(),
    },
    opts.signal,
  );
  await writeFingerprint(root, fp);
  const prev = table && table.count === rows.length && repaired.length === 0 ? await readManifestFile(root) : undefined;
  const facts =
    prev?.state === "ok" && table
      ? await extendStoreFacts(root, { prev: prev.manifest, oldRows: rows, table, oldChain, newRows: writer.rows, expectedChain: writer.state.chainHash })
      : undefined;
  await publishManifest(root, allRows, { sessionId: fp.sessionId, expectedChain: writer.state.chainHash, now: now(), ...(facts ? { facts } : {}) });
  return { root, file: jsonl, action: appended > 0 ? "appended" : "none", freshness, appended, skippedLines: skipped, repaired, entries: allRows.length, chainHash: writer.state.chainHash };
}

/**
 * The entry table with the appended entries: the old table's bytes extended, or, when that
 * declines, all entries encoded again from the table's own inputs. Undefined when an id
 * has a lone surrogate, which the table's UTF-8 cannot hold (the store then gets no table:
 * remakeEntryTable finds the same), or the table's ids are not the rows' ids (a table
 * written before such ids were refused): it is then made again from the frames.
 */
function tableAfterAppend(table: EntryTable, oldRows: readonly OffsetIndexRow[], newRows: readonly OffsetIndexRow[], added: readonly EntryTableInput[], indexBytes: number): Buffer | undefined {
  if (!holdsIds(added)) return undefined;
  const bytes = table.appended(newRows, added, indexBytes);
  if (bytes) return bytes;
  const inputs = table.inputs();
  if (inputs.some((e, i) => e.id !== (oldRows[i] as OffsetIndexRow).entryId)) return undefined;
  return encodeEntryTable([...oldRows, ...newRows], [...inputs, ...added], indexBytes);
}
