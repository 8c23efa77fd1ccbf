import { writeFully } from "../format/atomic.js";
import { SessfmtError } from "../format/errors.js";
import { withLock } from "../format/lock.js";
import { listSegmentFiles, type SegmentFile } from "./artifacts.js";
import { crc32cHex } from "./crc32c.js";
import type { FrameHeadFacts } from "./facts.js";
import { readFingerprint } from "./fingerprint.js";
import { decodeFrame } from "./frame.js";
import { chainStep, GENESIS_CHAIN_HASH, payloadSha256 } from "./hash.js";
import { makeIndexRow, type OffsetIndexRow } from "./index-row.js";
import { writeIndexFile } from "./index-file.js";
import { remakeEntryTable, removeEntryTable } from "./entry-table-io.js";
import { inRoot } from "./layout.js";
import { publishManifest } from "./manifest-update.js";
import { openAppend, openRead, quarantineFile, truncateFile } from "./fs-safe.js";
import { describeProblem, problem, type SidecarProblem, type SidecarProblemCode } from "./problems.js";
import { scanHandle } from "./scan-handle.js";
import { DEFAULT_MAX_FRAME_BYTES } from "./segment-reader.js";
import { refitFingerprint } from "./source-match.js";
import { requireRoot, resolveTarget } from "./target.js";

export interface RebuildOptions {
  /**
   * What to do about a damaged frame that is not a torn last frame: "stop" (default) throws
   * E_SIDECAR_CORRUPT with the report and changes nothing; "truncate" cuts its segment
   * there and moves every later segment aside (each reported).
   */
  onCorruption?: "stop" | "truncate";
  maxFrameBytes?: number;
  now?: () => Date;
  signal?: AbortSignal;
  /** Segments scanned so far, of all segments. */
  onProgress?: (done: number, total: number) => void;
}

export interface RebuildReport {
  root: string;
  entries: number;
  segments: number;
  chainHash: string;
  /** Everything found and done: torn frames cut, frames healed, corruption, segments moved aside. */
  problems: SidecarProblem[];
  /** Segments cut short (root-relative file, offset cut at, bytes removed). */
  truncated: { file: string; at: number; bytes: number }[];
  /** Segments moved aside (their new root-relative names). */
  quarantined: string[];
  /** Frames in the bytes that were cut or moved aside. */
  droppedFrames: number;
  /** What happened to sessfmt-source.json. */
  fingerprint: "kept" | "rewritten" | "removed";
}

interface Damage {
  seg: SegmentFile;
  index: number;
  offset: number;
  code: SidecarProblemCode;
  message: string;
  /** A torn last frame (cut without asking). */
  torn: boolean;
}

function countLines(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * Rebuild index/offsets.jsonl from the segment files alone: every frame is decoded, its
 * payload hash and size checked, its segmentSeq/frameSeq/entrySeq checked for continuity.
 * A torn last frame (no line end, does not decode) is cut and reported; a valid last frame
 * without its line end gets one. Damage anywhere else stops the rebuild (or, with
 * onCorruption "truncate", cuts there and moves later segments aside, saying so).
 */
export async function rebuildSidecarIndex(fileOrRoot: string, opts: RebuildOptions = {}): Promise<RebuildReport> {
  const target = await resolveTarget(fileOrRoot);
  await requireRoot(target);
  return withLock(target.root, () => rebuildLocked(target.root, target.file, opts), { signal: opts.signal });
}

async function rebuildLocked(root: string, file: string | undefined, opts: RebuildOptions): Promise<RebuildReport> {
  const maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const segments = await listSegmentFiles(root);
  const rows: OffsetIndexRow[] = [];
  const heads: FrameHeadFacts[] = [];
  const problems: SidecarProblem[] = [];
  let chain = GENESIS_CHAIN_HASH;
  let damage: Damage | undefined;
  let heal: SegmentFile | undefined;

  for (let si = 0; si < segments.length && !damage; si++) {
    const seg = segments[si] as SegmentFile;
    const lastSegment = si === segments.length - 1;
    let frameSeq = 1;
    const fh = await openRead(inRoot(root, seg.file));
    try {
      await scanHandle(
        fh,
        seg.file,
        (bytes, span) => {
          if (damage) return;
          const hit = (code: SidecarProblemCode, message: string, torn = false) => {
            damage = { seg, index: si, offset: span.offset, code, message, torn };
          };
          const lastLine = span.offset + span.length + span.eol >= seg.size;
          if (span.oversize) return hit("frame_too_large", `line of ${span.length} bytes exceeds the ${maxFrameBytes}-byte frame limit`);
          const d = decodeFrame(bytes);
          if (!d.ok) return hit(span.eol === 0 && lastSegment && lastLine ? "frame_torn" : "frame_invalid", span.eol === 0 && lastSegment && lastLine ? `torn last frame (${d.message})` : d.message, span.eol === 0 && lastSegment && lastLine);
          const f = d.value;
          if (span.eol === 0) {
            if (!lastSegment) return hit("frame_unterminated", "a frame without a line end at the end of a segment that is not the last");
            heal = seg;
          }
          if (f.segmentSeq !== seg.segmentSeq || f.frameSeq !== frameSeq) return hit("frame_row_mismatch", `frame says segment ${f.segmentSeq} frame ${f.frameSeq}; its place is segment ${seg.segmentSeq} frame ${frameSeq}`);
          if (f.entrySeq !== rows.length + 1) return hit(f.entrySeq <= rows.length ? "entry_seq_order" : "entry_seq_gap", `frame has entrySeq ${f.entrySeq} where ${rows.length + 1} comes next`);
          if (f.payloadBytes !== f.payload.length) return hit("payload_size_mismatch", `payload is ${f.payload.length} bytes, the frame says ${f.payloadBytes}`);
          const sha = payloadSha256(f.payload);
          if (sha !== f.payloadSha256) return hit("payload_hash_mismatch", `payload SHA-256 is ${sha}, the frame says ${f.payloadSha256}`);
          const line = Buffer.concat([bytes, Buffer.from(span.eol === 2 ? "\r\n" : "\n")]);
          rows.push(makeIndexRow({ entrySeq: f.entrySeq, entryId: f.entryId, segmentSeq: seg.segmentSeq, frameSeq, byteOffset: span.offset, byteLength: line.length, crc32c: crc32cHex(line) }));
          const h: FrameHeadFacts = { entrySeq: f.entrySeq, entryId: f.entryId, segmentSeq: seg.segmentSeq, frameSeq, entryType: f.entryType, payloadSha256: sha };
          if (f.parentEntryId !== undefined) h.parentEntryId = f.parentEntryId;
          heads.push(h);
          chain = chainStep(chain, sha);
          frameSeq++;
        },
        { maxLineBytes: maxFrameBytes, signal: opts.signal },
      );
    } finally {
      await fh.close();
    }
    opts.onProgress?.(si + 1, segments.length);
  }

  const report: RebuildReport = { root, entries: 0, segments: 0, chainHash: GENESIS_CHAIN_HASH, problems, truncated: [], quarantined: [], droppedFrames: 0, fingerprint: "kept" };
  const dmg = damage as Damage | undefined;
  if (dmg) {
    problems.push(problem(dmg.code, dmg.message, { file: dmg.seg.file, offset: dmg.offset }));
    if (!dmg.torn && (opts.onCorruption ?? "stop") === "stop") {
      const later = segments.slice(dmg.index + 1).map((s) => s.file);
      throw new SessfmtError(
        "E_SIDECAR_CORRUPT",
        `damaged frame in the middle of the store: ${describeProblem(problems[problems.length - 1] as SidecarProblem)}; ${later.length} later segment(s) not indexed${later.length ? ` (${later.join(", ")})` : ""}; nothing was changed (rebuild with onCorruption "truncate" to cut here)`,
        { file: inRoot(root, dmg.seg.file), offset: dmg.offset, data: { problems, laterSegments: later } },
      );
    }
  }
  if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "rebuild aborted", { file: root, cause: opts.signal.reason });

  // Mutations, now that the plan is known.
  if (dmg) {
    const path = inRoot(root, dmg.seg.file);
    const fh = await openRead(path);
    let cutBytes: Buffer;
    try {
      cutBytes = Buffer.alloc(dmg.seg.size - dmg.offset);
      await fh.read(cutBytes, 0, cutBytes.length, dmg.offset);
    } finally {
      await fh.close();
    }
    report.droppedFrames += Math.max(1, countLines(cutBytes));
    await truncateFile(path, dmg.offset);
    report.truncated.push({ file: dmg.seg.file, at: dmg.offset, bytes: cutBytes.length });
    for (const s of segments.slice(dmg.index + 1)) {
      const sfh = await openRead(inRoot(root, s.file));
      let lines: number;
      try {
        lines = countLines(await sfh.readFile());
      } finally {
        await sfh.close();
      }
      const moved = (await quarantineFile(inRoot(root, s.file))).slice(root.length + 1);
      report.quarantined.push(moved);
      report.droppedFrames += lines;
      problems.push(problem("segment_quarantined", `segment after the damage moved aside to ${moved} (${lines} frames not indexed)`, { file: s.file }));
    }
  } else if (heal) {
    const path = inRoot(root, heal.file);
    const fh = await openAppend(path);
    try {
      await writeFully(fh, Buffer.from("\n"), path);
      await fh.sync();
    } finally {
      await fh.close();
    }
    // Its row was made for the line with its line end (byteLength and CRC count the "\n").
    const last = rows[rows.length - 1] as OffsetIndexRow;
    problems.push(problem("frame_unterminated_healed", "the last frame had no line end; one was appended", { file: heal.file, offset: last.byteOffset, entrySeq: last.entrySeq }));
  }

  await removeEntryTable(root);
  await writeIndexFile(root, rows);
  const now = (opts.now ?? (() => new Date()))();
  const fp = await readFingerprint(root);
  if (!(fp.state === "ok" && fp.fingerprint.entryCount === rows.length && fp.fingerprint.chainHash === chain)) {
    report.fingerprint = await refitFingerprint(root, file, heads, chain, now, opts.signal);
  }
  await publishManifest(root, rows, { expectedChain: chain, now, ...(file ? { file } : {}) });
  await remakeEntryTable(root, opts.signal);
  report.entries = rows.length;
  report.segments = new Set(rows.map((r) => r.segmentSeq)).size;
  report.chainHash = chain;
  return report;
}
