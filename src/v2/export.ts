import { createHash } from "node:crypto";
import { unlink } from "node:fs/promises";
import { resolve } from "node:path";
import { SessfmtError } from "../format/errors.js";
import { writeFully } from "../format/atomic.js";
import { syncDirectory } from "../format/durability.js";
import { dirname } from "node:path";
import { readManifestFile } from "./artifacts.js";
import { readFingerprint } from "./fingerprint.js";
import { checkIndexedFrame, CHEAP_CHECKS, FULL_CHECKS } from "./frame-check.js";
import { chainStep, GENESIS_CHAIN_HASH, payloadSha256 } from "./hash.js";
import { readIndexFile } from "./index-file.js";
import { createExclusive } from "./fs-safe.js";
import { problem, type SidecarProblem } from "./problems.js";
import { corrupt, SegmentReader } from "./segment-reader.js";
import { readHeaderLine } from "./source-file.js";
import { requireRoot, resolveTarget } from "./target.js";

export interface ExportOptions {
  /** Write to this new file (created exclusively, mode 0600, fsynced). */
  output?: string;
  /** Or hand each chunk to this function. Without output or write, the bytes are returned. */
  write?: (chunk: Buffer) => void | Promise<void>;
  /** The header line (default: read from the JSONL; the sidecar does not store it). */
  header?: Buffer;
  /** Check every frame's CRC-32C and payload SHA-256, and the chain (default true). */
  verify?: boolean;
  /** Export even if the JSONL's header is not the one the sidecar was built under. */
  allowHeaderChange?: boolean;
  signal?: AbortSignal;
  /** Entries written so far, of all entries. */
  onProgress?: (done: number, total: number) => void;
}

export interface ExportResult {
  entries: number;
  bytes: number;
  /** SHA-256 of everything written. */
  sha256: string;
  /** The exported bytes, when neither output nor write was given. */
  data?: Buffer;
  output?: string;
}

/**
 * Rebuild the JSONL from the header line and the sidecar: the header, then every payload
 * in entrySeq order, each followed by "\n". For a file whose lines all end in "\n" and are
 * all entries, the result is the original file byte for byte; otherwise it is the header
 * and the valid entry lines, each exactly as written, with "\n" line ends.
 */
export async function exportJsonlFromSidecar(fileOrRoot: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const target = await resolveTarget(fileOrRoot);
  await requireRoot(target);
  const root = target.root;
  const verify = opts.verify ?? true;
  let header = opts.header;
  if (!header) {
    if (!target.file) throw new SessfmtError("E_INVALID_ARGUMENT", "export needs the header line: pass the JSONL file or opts.header", { file: root });
    header = (await readHeaderLine(target.file)).bytes;
  }
  const fp = await readFingerprint(root);
  if (!opts.allowHeaderChange && fp.state === "ok" && payloadSha256(header) !== fp.fingerprint.headerSha256) {
    throw new SessfmtError("E_SIDECAR_STALE", "the header is not the one the sidecar was built under; sync with rebuild, or pass allowHeaderChange", { file: target.file ?? root });
  }
  const idx = await readIndexFile(root, { signal: opts.signal });
  if (!idx.exists || idx.problems.length > 0) {
    const p = idx.problems[0] ?? problem("index_missing", "index/offsets.jsonl does not exist", { file: "index/offsets.jsonl" });
    throw corrupt(root, p);
  }

  const out = opts.output ? resolve(opts.output) : undefined;
  const fh = out ? await createExclusive(out) : undefined;
  const collected: Buffer[] = [];
  const hash = createHash("sha256");
  let bytes = 0;
  const emit = async (chunk: Buffer): Promise<void> => {
    hash.update(chunk);
    bytes += chunk.length;
    if (fh) await writeFully(fh, chunk, out as string);
    else if (opts.write) await opts.write(chunk);
    else collected.push(chunk);
  };
  const reader = new SegmentReader(root);
  try {
    let pending: Buffer[] = [header, Buffer.from("\n")];
    let pendingBytes = header.length + 1;
    let chain = GENESIS_CHAIN_HASH;
    for (let i = 0; i < idx.rows.length; i++) {
      if (opts.signal?.aborted) throw new SessfmtError("E_ABORTED", "export aborted", { file: root, cause: opts.signal.reason });
      const row = idx.rows[i] as (typeof idx.rows)[number];
      const checked = checkIndexedFrame(await reader.read(row), row, verify ? FULL_CHECKS : CHEAP_CHECKS);
      const first = checked.problems[0];
      if (first || !checked.frame) throw corrupt(root, first ?? problem("frame_invalid", "frame does not decode", { entrySeq: row.entrySeq }));
      if (checked.actualPayloadSha256) chain = chainStep(chain, checked.actualPayloadSha256);
      pending.push(checked.frame.payload, Buffer.from("\n"));
      pendingBytes += checked.frame.payload.length + 1;
      if (pendingBytes >= 1 << 20) {
        await emit(Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      }
      if ((i + 1) % 1024 === 0) opts.onProgress?.(i + 1, idx.rows.length);
    }
    if (pendingBytes > 0) await emit(Buffer.concat(pending, pendingBytes));
    opts.onProgress?.(idx.rows.length, idx.rows.length);
    if (verify) {
      const recorded: [string, string | undefined][] = [];
      const mf = await readManifestFile(root);
      if (mf.state === "ok") recorded.push(["manifest.json", mf.manifest.integrity.chainHash]);
      if (fp.state === "ok" && fp.fingerprint.entryCount === idx.rows.length) recorded.push(["sessfmt-source.json", fp.fingerprint.chainHash]);
      for (const [file, c] of recorded) {
        if (c !== chain) throw corrupt(root, problem("chain_mismatch", `${file} records chain ${c}, the exported payloads give ${chain}`, { file }) as SidecarProblem);
      }
    }
    if (fh) {
      await fh.sync();
      await fh.close();
      await syncDirectory(dirname(out as string));
    }
  } catch (err) {
    if (fh) {
      await fh.close().catch(() => undefined);
      await unlink(out as string).catch(() => undefined);
    }
    throw err;
  } finally {
    await reader.close();
  }
  const result: ExportResult = { entries: idx.rows.length, bytes, sha256: hash.digest("hex") };
  if (out) result.output = out;
  else if (!opts.write) result.data = Buffer.concat(collected, bytes);
  return result;
}
