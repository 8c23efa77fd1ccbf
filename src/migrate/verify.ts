import { join } from "node:path";
import { SessfmtError } from "../format/errors.js";
import type { EntryRecord } from "../format/record.js";
import {
  GENESIS_CHAIN_HASH,
  chainStep,
  checkFreshness,
  crc32c,
  crc32cHex,
  decodeFrame,
  decodeFrameHead,
  payloadSha256,
  readFingerprint,
  readManifest,
  validateSidecar,
  type Freshness,
  type MigrationVerification,
  type OffsetIndexRow,
  type SidecarProblem,
  type SidecarProblemCode,
} from "../v2/index.js";
import { wasmHeadFields, type HeadFields } from "../v2/fixed-fields.js";
import { RangeWindowReader } from "../v2/range-window.js";
import { PrefixHasher } from "../v2/source-file.js";
import { exists, statMaybe } from "./fs.js";
import { sessionPaths, type SessionPaths } from "./names.js";
import { HashList, type KeptHashes } from "./hash-list.js";
import { everyPackedRowIs, RowPacker, rowsByEntrySeq, samePacked } from "./prechecked-rows.js";
import { readQuarantine, sha256 } from "./quarantine.js";
import { FrameReader, indexLineBatches, type IndexLine } from "./sidecar-read.js";
import { readLineBytes, scanSource, type SourceScan } from "./source.js";
import { startThreadedValidation, threadedValidationPays, validationThreadAvailable, type IdleValidationThread, type ThreadedValidation } from "./validate-thread.js";

/**
 * verify: an independent, entry-by-entry comparison of a sidecar with its JSONL. The
 * JSONL is read with the format reader; the sidecar's index and frames are read here
 * with the v2 codecs (not with the v2 store), so a bug in the store's reader cannot hide
 * a bad sidecar. The chain is recomputed from the JSONL lines. Every index row and CRC is
 * checked, and validateSidecar adds the structural checks (manifest, checkpoints, ledger,
 * segment coverage). Changes nothing.
 *
 * One sequential pass over the JSONL lines and the segments (4 MiB windows), each line
 * hashed once; validation does not repeat the CRC and payload hash of frames this pass has
 * checked in full, and for large sessions runs in a second thread meanwhile (SPEC 14.4).
 */

export type VerifyMismatchCode =
  | "entry_missing"
  | "entry_extra"
  | "entry_id_mismatch"
  | "parent_mismatch"
  | "type_mismatch"
  | "payload_mismatch"
  | "payload_hash_mismatch"
  | "payload_size_mismatch"
  | "frame_unreadable"
  | "frame_invalid"
  | "crc_mismatch"
  | "index_mismatch"
  | "index_row_invalid"
  | "chain_mismatch"
  | "prefix_changed"
  | "quarantine_missing"
  | "quarantine_extra"
  | "quarantine_mismatch"
  | "quarantine_invalid";

export interface VerifyMismatch {
  code: VerifyMismatchCode;
  message: string;
  /** The entry concerned (the JSONL's id where there is one). */
  entryId?: string;
  /** 1-based line in the JSONL. */
  line?: number;
  entrySeq?: number;
  /** Root-relative file in the sidecar (segment, index) and byte offset in it. */
  file?: string;
  offset?: number;
}

export interface VerifyOptions {
  /** Verify this root instead of `<stem>.v2` (e.g. a staging directory). */
  root?: string;
  /** Mismatches kept in the report (all are counted; default 1000). */
  maxMismatches?: number;
  signal?: AbortSignal;
  /** Entries compared so far, of the entries to compare. */
  onProgress?: (done: number, total: number) => void;
  /** Chain values to report at these entrySeqs (used to keep checkpoints across a rebuild). */
  chainsAt?: readonly number[];
  /**
   * The JSONL as already scanned by the caller (migrate, which has just built the sidecar
   * from this scan). It must be a scan of `file`; its lines are read again from the file.
   */
  source?: SourceScan;
  /**
   * SHA-256 of each record's line, in record order, computed by the caller while it read
   * those bytes (migrate, as it framed them). Each stored payload is still compared byte
   * for byte with the line as read again now, and its recorded hash with this one, so a
   * frame written wrong is found without hashing every line again.
   */
  lineHashes?: readonly string[];
  /**
   * Validate the sidecar in a second thread while the entries are compared: "auto" (the
   * default) for large sessions from the main thread of the built package, "always" from
   * the built package whatever the size, "never". Same report either way.
   */
  validationThread?: "auto" | "always" | "never";
  /**
   * A validation thread the caller started ahead (prestartValidationThread), used when
   * validation gets a thread; the caller stops it either way.
   */
  idleThread?: IdleValidationThread;
}

export interface VerifyReport {
  file: string;
  root: string;
  /** No mismatch and no validation error. */
  ok: boolean;
  /** Entries of the JSONL inside the sidecar's indexed prefix, and rows of the sidecar. */
  entries: { jsonl: number; sidecar: number };
  /** Complete entry lines of the JSONL after the indexed prefix (the sidecar is behind: not a mismatch). */
  behind: number;
  chain: { jsonl: string; frames: string | undefined; manifest?: string; fingerprint?: string };
  verification: MigrationVerification;
  freshness: Freshness;
  quarantine: { expected: number; stored: number; present: boolean };
  /** Invalid JSONL lines inside the prefix that no quarantine holds (the sidecar was made without one). */
  unquarantined: number;
  mismatchCount: number;
  mismatches: VerifyMismatch[];
  validation: { ok: boolean; errors: number; warnings: number; problems: SidecarProblem[]; warningCodes: Partial<Record<SidecarProblemCode, number>> };
  chainsAt: Record<number, string>;
  durationMs: number;
}

const BATCH = 256;

/** Compare a JSONL session with its V2 sidecar, entry by entry. */
export async function verifyV2AgainstJsonl(file: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const started = Date.now();
  const p = sessionPaths(file);
  const root = opts.root ?? p.root;
  const st = await statMaybe(p.file);
  if (!st) throw new SessfmtError("E_NOT_FOUND", "no such file", { file: p.file });
  if (!(await exists(root))) throw new SessfmtError("E_SIDECAR_MISSING", "no V2 sidecar to verify (run migrate first)", { file: root });
  if (!(await exists(join(root, "index", "offsets.jsonl")))) throw new SessfmtError("E_SIDECAR_CORRUPT", "the sidecar has no index (run recover)", { file: root });
  // A large sidecar's structural validation runs in a second thread meanwhile.
  const mode = opts.validationThread ?? "auto";
  const thread = mode === "always" ? validationThreadAvailable() : mode === "auto" && threadedValidationPays(st.size);
  const req = { root };
  const threaded = thread ? (opts.idleThread ? opts.idleThread.begin(req) : startThreadedValidation(req)) : undefined;
  try {
    return await compareAll(p, root, opts, threaded, started);
  } finally {
    await threaded?.stop();
  }
}

async function compareAll(p: SessionPaths, root: string, opts: VerifyOptions, threaded: ThreadedValidation | undefined, started: number): Promise<VerifyReport> {
  const max = opts.maxMismatches ?? 1000;
  const mismatches: VerifyMismatch[] = [];
  let count = 0;
  const add = (m: VerifyMismatch) => {
    count++;
    if (mismatches.length < max) mismatches.push(m);
  };

  const src = opts.source ?? (await scanSource(p.file, { signal: opts.signal }));
  if (src.version < 3) throw new SessfmtError("E_UNSUPPORTED_VERSION", `session version ${src.version}: a V2 sidecar holds version 3 lines only`, { file: p.file });
  const fpRead = await readFingerprint(root);
  const fp = fpRead.state === "ok" ? fpRead.fingerprint : undefined;
  const limit = fp ? fp.lastIndexedOffset : Infinity;
  const records = src.records.filter((r) => r.offset < limit);
  const behind = src.records.length - records.length;
  // Hashes computed by the caller are for the caller's scan's records only.
  const lineHashes = opts.source && opts.lineHashes?.length === src.records.length ? opts.lineHashes : undefined;
  // The freshness check's prefix hash is computed by this pass, from the very bytes it
  // reads for the lines (from byte 0; the rest of the prefix, if any, is read after the
  // pass): no second pass over the JSONL. (In the validation thread instead, it would
  // make that thread, the longer of the two, longer still.)
  const prefixHash = fp ? new PrefixHasher(p.file, fp.lastIndexedOffset) : undefined;
  let passEnded = (_done: boolean) => {};
  const passEnd = new Promise<boolean>((resolve) => (passEnded = resolve));
  const prefixSha256 = async (end: number) => {
    if (!prefixHash || end !== prefixHash.end) return undefined;
    // A pass that failed has failed verify: the rest of the prefix is not read for nothing.
    if (!(await passEnd)) throw new SessfmtError("E_ABORTED", "the comparison ended early", { file: p.file });
    return prefixHash.digest(opts.signal);
  };
  const freshnessCheck = checkFreshness(p.file, fp, "full", opts.signal, prefixSha256);
  freshnessCheck.catch(() => undefined); // awaited below; a comparison that throws first leaves it unobserved

  const chainWanted = new Set(opts.chainsAt ?? []);
  const chainsAt: Record<number, string> = {};
  let chainJ = GENESIS_CHAIN_HASH;
  let chainF: string | undefined = GENESIS_CHAIN_HASH;
  // While every row is in place and every frame holds its line and records its hash, the
  // lines' chain is the chain validation computes over the recorded hashes (in the other
  // thread, for a large file): the lines' hashes are kept, and folded into chainJ here
  // only when that stops holding (or when checkpoint chains are wanted as the pass goes).
  // (The caller's hashes, when given, are kept by the caller: only how many is counted.)
  let lineShas: KeptHashes | undefined = chainWanted.size === 0 ? (lineHashes ? countOf(lineHashes) : new HashList()) : undefined;
  /** Fold the kept hashes into chainJ and fold as the pass goes from now on; the chain before the last. */
  const foldLines = (): string => {
    let before = chainJ;
    for (let k = 0; k < (lineShas?.length ?? 0); k++) {
      before = chainJ;
      chainJ = chainStep(chainJ, (lineShas as KeptHashes).at(k));
    }
    lineShas = undefined;
    return before;
  };
  /** Every frame so far stored its line's hash: the frames' chain is chainJ. */
  let framesSame = true;
  let rowsSeen = 0;
  let indexOk = true;
  // Rows whose frame this pass found right in full (CRC, payload bytes and hash), packed as
  // they come (the rows themselves are not kept to the end of the pass).
  const vouched = new RowPacker();
  // Each line and frame is used before the next is read: both readers reuse their buffers.
  const reader = new FrameReader(root, undefined, true);
  // Index rows come a read's worth at a time; lines and frames mostly from the current
  // window: the pass awaits only when a read is needed, not three times per entry.
  const batches = indexLineBatches(root, opts.signal)[Symbol.asyncIterator]();
  let batch: IndexLine[] = [];
  let at = 0;
  const rowHere = (): IndexLine | undefined => (at < batch.length ? batch[at++] : undefined);
  const nextRow = async (): Promise<IndexLine | undefined> => {
    for (;;) {
      const r = await batches.next();
      if (r.done) return undefined;
      batch = r.value;
      at = 0;
      if (batch.length > 0) return batch[at++];
    }
  };
  let passDone = false;
  const lines = await RangeWindowReader.open(p.file, src.identity).catch((err: unknown) => {
    passEnded(false);
    throw err;
  });
  lines.reuseWindows();
  try {
    if (prefixHash) {
      lines.observe((start, bytes) => prefixHash.feed(start, bytes));
      await lines.begin(0);
    }
    for (let i = 0; i < records.length; i++) {
      if (i % BATCH === 0 && opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "verify aborted", { file: p.file, cause: opts.signal.reason });
      const rec = records[i] as EntryRecord;
      const line = lines.peek(rec.offset, rec.length) ?? (await lines.read(rec.offset, rec.length));
      const seq = i + 1;
      const sha = lineHashes?.[i] ?? payloadSha256(line);
      let prevJ = chainJ;
      if (lineShas) lineShas.push(sha);
      else {
        chainJ = chainStep(chainJ, sha);
        if (chainWanted.has(seq)) chainsAt[seq] = chainJ;
      }
      let row = rowHere() ?? (await nextRow());
      while (row && !row.ok) {
        indexOk = false;
        add({ code: "index_row_invalid", message: row.message, file: "index/offsets.jsonl", offset: row.offset });
        row = rowHere() ?? (await nextRow());
      }
      if (!row) {
        if (lineShas) foldLines();
        add({ code: "entry_missing", message: `entry ${JSON.stringify(rec.id)} (JSONL line ${rec.line}) is not in the sidecar`, entryId: rec.id, line: rec.line, entrySeq: seq });
        chainF = undefined;
        framesSame = false;
      } else {
        rowsSeen++;
        const frame = reader.peek(row.row) ?? (await reader.read(row.row));
        const f = compareFrame(frame, row.row, seq, rec, line, sha, add);
        if (!f.indexOk) indexOk = false;
        if (f.vouched) vouched.add(row.row);
        // While every stored payload hashes as its line, the frames' chain is the lines'
        // chain: it is only computed apart from the first difference on.
        if (lineShas && f.payloadSha256 !== sha) prevJ = foldLines();
        if (!framesSame || f.payloadSha256 !== sha) {
          if (framesSame) chainF = prevJ;
          framesSame = false;
          chainF = chainF !== undefined && f.payloadSha256 !== undefined ? chainStep(chainF, f.payloadSha256) : undefined;
        }
      }
      if ((i + 1) % BATCH === 0 || i + 1 === records.length) opts.onProgress?.(i + 1, records.length);
    }
    for (let row = rowHere() ?? (await nextRow()); row; row = rowHere() ?? (await nextRow())) {
      if (!row.ok) {
        indexOk = false;
        add({ code: "index_row_invalid", message: row.message, file: "index/offsets.jsonl", offset: row.offset });
        continue;
      }
      rowsSeen++;
      add({ code: "entry_extra", message: `the sidecar holds entry ${JSON.stringify(row.row.entryId)} at entrySeq ${row.row.entrySeq}, which the JSONL does not have there`, entryId: row.row.entryId, entrySeq: row.row.entrySeq });
      chainF = undefined;
    }
    passDone = true;
  } finally {
    passEnded(passDone);
    await lines.close();
    await reader.close();
    await batches.return?.(undefined);
  }

  const freshness = await freshnessCheck;
  if (freshness.state === "stale") {
    // Reported first, as the check it comes from runs first.
    count++;
    mismatches.unshift({ code: "prefix_changed", message: `the JSONL no longer matches the sidecar's source fingerprint: ${freshness.reason}` });
    if (mismatches.length > max) mismatches.pop();
  }

  // The frames this pass has vouched for (read with its own reader, CRC and payload hash
  // checked) skip those two checks in validation, which checks everything else, and those
  // two for any other row. The other thread's validation took every row as vouched for:
  // its report stands only if this pass did vouch for each of them.
  // The healthy case compares the two packings whole; any other goes row by row.
  const mine = vouched.packed();
  const t = await threaded?.wait(opts.signal, p.file);
  let byEntrySeq: (OffsetIndexRow | undefined)[] | undefined;
  const rowsVouched = () => (byEntrySeq ??= rowsByEntrySeq(mine));
  const prechecked = (r: OffsetIndexRow) => sameRow(rowsVouched()[r.entrySeq], r);
  const threadStands = t !== undefined && (samePacked(t.prechecked, mine) || everyPackedRowIs(t.prechecked, rowsVouched()));
  const v = t && threadStands ? t.report : await validateSidecar(root, { signal: opts.signal, prechecked });
  // Nothing found amiss, every row in place: validation's chain over the recorded hashes
  // is the chain over the lines' hashes (each recorded hash was compared with its line's).
  if (lineShas && count === 0 && rowsSeen === records.length && lineShas.length === records.length && v.chainHash !== undefined) {
    chainJ = v.chainHash;
    lineShas = undefined;
  } else foldLines();
  if (framesSame) chainF = chainJ;

  const mf = await readManifest(root);
  const chain: VerifyReport["chain"] = { jsonl: chainJ, frames: chainF };
  if (mf.state === "ok") {
    chain.manifest = mf.manifest.integrity.chainHash;
    if (mf.manifest.integrity.chainHash !== chainJ) add({ code: "chain_mismatch", message: `the manifest records chain ${mf.manifest.integrity.chainHash}; the JSONL lines give ${chainJ}`, file: "manifest.json" });
  }
  if (fp) {
    chain.fingerprint = fp.chainHash;
    if (fp.entryCount === records.length && fp.chainHash !== chainJ) add({ code: "chain_mismatch", message: `sessfmt-source.json records chain ${fp.chainHash}; the JSONL lines give ${chainJ}`, file: "sessfmt-source.json" });
  }

  // The quarantine must hold exactly the invalid lines inside the prefix, byte for byte.
  const expectedInvalid = src.invalid.filter((l) => l.offset < limit);
  const q = await readQuarantine(root);
  let unquarantined = 0;
  for (const prob of q.problems) add({ code: "quarantine_invalid", message: `quarantine line ${prob.line}: ${prob.message}`, file: "sessfmt-quarantine.jsonl" });
  if (q.exists) {
    const byOffset = new Map(q.records.map((r) => [r.offset, r]));
    for (const l of expectedInvalid) {
      const r = byOffset.get(l.offset);
      byOffset.delete(l.offset);
      if (!r) {
        add({ code: "quarantine_missing", message: `invalid JSONL line ${l.line} (${l.reason}) is not in the quarantine`, line: l.line });
        continue;
      }
      const { text } = await readLineBytes(p.file, l);
      if (r.line !== l.line || r.sha256 !== sha256(text) || r.length !== text.length) {
        add({ code: "quarantine_mismatch", message: `the quarantine's copy of JSONL line ${l.line} differs from the line`, line: l.line });
      }
    }
    for (const r of byOffset.values()) add({ code: "quarantine_extra", message: `the quarantine holds a line ${r.line} (byte ${r.offset}) that is not an invalid line of the JSONL`, line: r.line });
  } else unquarantined = expectedInvalid.length;

  const errors = v.problems.filter((x) => x.severity === "error");
  const warningCodes: Partial<Record<SidecarProblemCode, number>> = {};
  for (const w of v.problems) if (w.severity === "warning") warningCodes[w.code] = (warningCodes[w.code] ?? 0) + 1;
  const indexCodes = new Set<VerifyMismatchCode>(["index_row_invalid", "index_mismatch", "crc_mismatch", "frame_unreadable", "frame_invalid"]);
  const verification: MigrationVerification = {
    entryCountMatch: records.length === rowsSeen,
    hashChainMatch: chainF === chainJ && (chain.manifest === undefined || chain.manifest === chainJ) && !mismatches.some((m) => m.code === "chain_mismatch"),
    indexConsistent: indexOk && !mismatches.some((m) => indexCodes.has(m.code)) && errors.length === 0,
  };
  return {
    file: p.file,
    root,
    ok: count === 0 && errors.length === 0,
    entries: { jsonl: records.length, sidecar: rowsSeen },
    behind,
    chain,
    verification,
    freshness,
    quarantine: { expected: expectedInvalid.length, stored: q.records.length, present: q.exists },
    unquarantined,
    mismatchCount: count,
    mismatches,
    validation: { ok: v.ok, errors: errors.length, warnings: v.problems.length - errors.length, problems: errors.slice(0, max), warningCodes },
    chainsAt,
    durationMs: Date.now() - started,
  };
}

/**
 * The caller's line hashes as KeptHashes: the pass pushes them again in order (it takes
 * each line's hash from there), so only their number is kept. A push out of order would be
 * a bug in the pass, not bad input.
 */
function countOf(hashes: readonly string[]): KeptHashes {
  let length = 0;
  return {
    get length() {
      return length;
    },
    push(h: string) {
      if (hashes[length] !== h) throw new Error("line hashes pushed out of order");
      length++;
    },
    at: (k: number) => hashes[k] as string,
  };
}

function sameRow(a: OffsetIndexRow | undefined, b: OffsetIndexRow): boolean {
  return a !== undefined && a.entrySeq === b.entrySeq && a.entryId === b.entryId && a.segmentSeq === b.segmentSeq && a.frameSeq === b.frameSeq && a.byteOffset === b.byteOffset && a.byteLength === b.byteLength && a.crc32c === b.crc32c;
}

interface Compared {
  indexOk: boolean;
  /** SHA-256 of the stored payload (undefined when the frame cannot be decoded). */
  payloadSha256: string | undefined;
  /** CRC, payload bytes, recorded hash and size all match: nothing about this frame is left to check. */
  vouched: boolean;
}

/**
 * The frame's fixed fields and payload. When the stored payload is byte for byte the JSONL
 * line (the usual case) it is a JSON value already (the JSONL reader validated the line),
 * so only the head is decoded; otherwise the whole frame is, for decodeFrame's diagnosis.
 */
function decodeAgainst(body: Buffer, line: Buffer): { ok: true; head: Omit<HeadFields, "payloadStart">; payload: Buffer; same: boolean } | { ok: false; message: string } {
  // A head of the writer's shape is read by WebAssembly (the fields compared here, read as
  // decodeFrameHead reads them); any other by decodeFrameHead.
  const fast = wasmHeadFields(body);
  const h = fast ? { ok: true as const, value: fast } : decodeFrameHead(body);
  if (h.ok && body[body.length - 1] === 0x7d && h.value.payloadStart < body.length - 1) {
    const payload = body.subarray(h.value.payloadStart, body.length - 1);
    if (payload.equals(line)) return { ok: true, head: h.value, payload, same: true };
  }
  const d = decodeFrame(body);
  if (!d.ok) return d;
  return { ok: true, head: d.value, payload: d.value.payload, same: d.value.payload.equals(line) };
}

/** Check one row's frame (its bytes, or why they cannot be read) against the JSONL entry it must hold. */
function compareFrame(
  read: Buffer | { ok: true; bytes: Buffer } | { ok: false; message: string },
  row: OffsetIndexRow,
  seq: number,
  rec: EntryRecord,
  line: Buffer,
  lineSha: string,
  add: (m: VerifyMismatch) => void,
): Compared {
  // Where a mismatch is: built only for one (most frames have none).
  const where = () => ({ entryId: rec.id, line: rec.line, entrySeq: seq, file: `segments/${String(row.segmentSeq).padStart(16, "0")}.seg`, offset: row.byteOffset });
  let indexOk = true;
  if (row.entrySeq !== seq) {
    indexOk = false;
    add({ ...where(), code: "index_mismatch", message: `index row ${seq} has entrySeq ${row.entrySeq}` });
  }
  if (!Buffer.isBuffer(read) && !read.ok) {
    add({ ...where(), code: "frame_unreadable", message: read.message });
    return { indexOk: false, payloadSha256: undefined, vouched: false };
  }
  const bytes = Buffer.isBuffer(read) ? read : read.bytes;
  // Compared as numbers (a decoded row's crc32c is 8 hex digits): no hex string per frame.
  const crc = crc32c(bytes);
  const crcOk = crc === Number.parseInt(row.crc32c, 16);
  if (!crcOk) {
    indexOk = false;
    add({ ...where(), code: "crc_mismatch", message: `CRC-32C of the frame is ${crc32cHex(bytes)}, the index row says ${row.crc32c}` });
  }
  if (bytes[bytes.length - 1] !== 0x0a) {
    add({ ...where(), code: "frame_invalid", message: "the frame does not end with a line end" });
    return { indexOk: false, payloadSha256: undefined, vouched: false };
  }
  const d = decodeAgainst(bytes.subarray(0, bytes.length - 1), line);
  if (!d.ok) {
    add({ ...where(), code: "frame_invalid", message: d.message });
    return { indexOk: false, payloadSha256: undefined, vouched: false };
  }
  const f = d.head;
  if (f.entrySeq !== row.entrySeq || f.entryId !== row.entryId || f.segmentSeq !== row.segmentSeq || f.frameSeq !== row.frameSeq) {
    indexOk = false;
    add({ ...where(), code: "index_mismatch", message: `frame (entrySeq ${f.entrySeq}, ${JSON.stringify(f.entryId)}, segment ${f.segmentSeq} frame ${f.frameSeq}) and its index row disagree` });
  }
  if (f.entryId !== rec.id) add({ ...where(), code: "entry_id_mismatch", message: `entrySeq ${seq} is ${JSON.stringify(f.entryId)} in the sidecar, ${JSON.stringify(rec.id)} at JSONL line ${rec.line}` });
  const parent = f.parentEntryId ?? null;
  if (parent !== rec.parentId) add({ ...where(), code: "parent_mismatch", message: `entry ${JSON.stringify(rec.id)}: parent ${JSON.stringify(parent)} in the sidecar, ${JSON.stringify(rec.parentId)} in the JSONL` });
  if (f.entryType !== rec.type) add({ ...where(), code: "type_mismatch", message: `entry ${JSON.stringify(rec.id)}: type ${JSON.stringify(f.entryType)} in the sidecar, ${JSON.stringify(rec.type)} in the JSONL` });
  // Equal bytes have equal hashes: the line's hash is the stored payload's.
  const stored = d.same ? lineSha : payloadSha256(d.payload);
  if (!d.same) add({ ...where(), code: "payload_mismatch", message: `entry ${JSON.stringify(rec.id)}: the stored payload (sha256 ${stored}) is not JSONL line ${rec.line} (sha256 ${lineSha})` });
  const hashOk = f.payloadSha256 === lineSha;
  if (!hashOk) add({ ...where(), code: "payload_hash_mismatch", message: `entry ${JSON.stringify(rec.id)}: the frame records payloadSha256 ${f.payloadSha256}, JSONL line ${rec.line} hashes to ${lineSha}` });
  const sizeOk = f.payloadBytes === line.length;
  if (!sizeOk) add({ ...where(), code: "payload_size_mismatch", message: `entry ${JSON.stringify(rec.id)}: the frame records ${f.payloadBytes} payload bytes, JSONL line ${rec.line} has ${line.length}` });
  return { indexOk, payloadSha256: stored, vouched: crcOk && d.same && hashOk && sizeOk };
}
