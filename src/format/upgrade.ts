import { open, stat, type FileHandle } from "node:fs/promises";
import { SessfmtError, ioError } from "./errors.js";
import type { SessionDiagnostic, SessionOpenSkippedEntry } from "./diagnostics.js";
import { openSession } from "./read.js";
import type { Session } from "./session.js";
import type { EntryRecord } from "./record.js";
import { withLock } from "./lock.js";
import { rewriteFileAtomic, type AtomicOutput } from "./atomic.js";
import { serializeEntry } from "./new-entry.js";
import { CURRENT_SESSION_VERSION, type EntryBase, type SessionHeader } from "./types.js";

export interface UpgradeOptions {
  /** Report what would change; write nothing. */
  dryRun?: boolean;
  /** Keep the original (see rewriteFileAtomic; default true = `<file>.bak`). */
  backup?: boolean | string;
  /** Longest wait for the session lock (default 10 000 ms). */
  lockTimeoutMs?: number;
  /** fsync the new file and the directory (default true). */
  durable?: boolean;
  signal?: AbortSignal;
}

export interface UpgradeReport {
  file: string;
  fromVersion: number;
  toVersion: number;
  /** True when the file is older than version 3. */
  needed: boolean;
  /** True when the file was rewritten (false for dry runs and files already at version 3). */
  upgraded: boolean;
  dryRun: boolean;
  /** Entries in the file (each written as its upgraded object). */
  entries: number;
  /** v1: entries that received an id and parentId. */
  idsAssigned: number;
  /** v1/v2: messages whose role hookMessage became custom. */
  rolesRenamed: number;
  /** v1: compactions whose firstKeptEntryIndex became a firstKeptEntryId. */
  compactionIndexesMapped: number;
  /** v1: compactions whose index named no earlier entry (the field is dropped, as pi does). */
  compactionIndexesUnmapped: number;
  /** Lines the reader skipped, kept byte for byte in their place. */
  invalidLinesKept: number;
  blankLinesDropped: number;
  bytesBefore: number;
  /** Size of the upgraded file (computed without writing on a dry run). */
  bytesAfter: number;
  backupPath?: string;
  /** Open diagnostics of the original. */
  diagnostics: SessionDiagnostic[];
  message: string;
}

/**
 * Upgrade a version 1 or 2 session file to version 3 in place, under the session lock,
 * through rewriteFileAtomic (temp file, fsync, backup, rename). Unlike pi's in-place
 * upgrade, nothing is dropped: lines that do not parse are kept verbatim where they
 * were; only blank lines go. v1 ids are the reader's deterministic ones, so the upgraded
 * file opens to the same tree and context as the original did.
 */
export async function upgradeSession(file: string, opts: UpgradeOptions = {}): Promise<UpgradeReport> {
  return withLock(
    file,
    async (lock) => {
      const target = lock.file;
      const session = await openSession(target, { retainEntries: false, signal: opts.signal });
      const report = describe(target, session, opts.dryRun === true);
      if (!report.needed) return report;
      const st = await stat(target).catch((err: unknown) => {
        throw ioError(err, target, "cannot stat");
      });
      if (st.size !== session.size) {
        throw new SessfmtError("E_SOURCE_CHANGED", "the file changed while it was being read; nothing written", { file: target });
      }
      if (opts.dryRun) {
        let bytes = 0;
        await emitUpgraded(session, target, {
          bytesWritten: 0,
          write: async (d) => {
            bytes += typeof d === "string" ? Buffer.byteLength(d) : d.byteLength;
          },
        });
        report.bytesAfter = bytes;
        report.message = `would upgrade version ${session.version} to ${CURRENT_SESSION_VERSION} (${report.entries} entries); dry run, nothing written`;
        return report;
      }
      const result = await rewriteFileAtomic(target, (out) => emitUpgraded(session, target, out), {
        backup: opts.backup ?? true,
        expect: { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev },
        durable: opts.durable ?? true,
        signal: opts.signal,
      });
      lock.assertHeld();
      report.upgraded = true;
      report.bytesAfter = result.bytes;
      if (result.backupPath) report.backupPath = result.backupPath;
      report.message = `upgraded version ${session.version} to ${CURRENT_SESSION_VERSION} (${report.entries} entries)${result.backupPath ? `; original kept as ${result.backupPath}` : ""}`;
      return report;
    },
    { timeoutMs: opts.lockTimeoutMs, signal: opts.signal },
  );
}

function describe(file: string, session: Session, dryRun: boolean): UpgradeReport {
  let idsAssigned = 0;
  let rolesRenamed = 0;
  let mapped = 0;
  let unmapped = 0;
  for (const r of session.records) {
    const p = r.legacy;
    if (!p) continue;
    if (p.assignIds) idsAssigned++;
    if (p.hookMessage) rolesRenamed++;
    if (p.dropFirstKeptEntryIndex) {
      if (p.firstKeptEntryId !== undefined) mapped++;
      else unmapped++;
    }
  }
  const needed = session.version < CURRENT_SESSION_VERSION;
  return {
    file,
    fromVersion: session.version,
    toVersion: needed ? CURRENT_SESSION_VERSION : session.version,
    needed,
    upgraded: false,
    dryRun,
    entries: session.records.length,
    idsAssigned,
    rolesRenamed,
    compactionIndexesMapped: mapped,
    compactionIndexesUnmapped: unmapped,
    invalidLinesKept: session.diagnostics.skippedEntries.length,
    blankLinesDropped: session.diagnostics.byCode("blank_line").length,
    bytesBefore: session.size,
    bytesAfter: session.size,
    diagnostics: session.diagnostics.sorted(),
    message: needed
      ? `version ${session.version} needs an upgrade to ${CURRENT_SESSION_VERSION}`
      : session.version === CURRENT_SESSION_VERSION
        ? `already version ${CURRENT_SESSION_VERSION}; nothing to do`
        : `version ${session.version} is newer than ${CURRENT_SESSION_VERSION}; not touched`,
  };
}

/** The upgraded header: version 3 right after type, every other key kept in its order. */
function upgradedHeader(h: SessionHeader): Record<string, unknown> {
  const { type, version: _v, ...rest } = h;
  return { type, version: CURRENT_SESSION_VERSION, ...rest };
}

const MATERIALISE_BATCH = 1024;
const COPY_CHUNK = 4 * 1024 * 1024;

/** Write the upgraded file: header, then entries and kept invalid lines in physical line order. */
async function emitUpgraded(session: Session, file: string, out: AtomicOutput): Promise<void> {
  await out.write(`${JSON.stringify(upgradedHeader(session.header))}\n`);
  const records = session.records;
  const skipped = [...session.diagnostics.skippedEntries].sort((a, b) => a.line - b.line);
  let fh: FileHandle | undefined;
  try {
    let s = 0;
    for (let i = 0; i < records.length; i += MATERIALISE_BATCH) {
      const batch = records.slice(i, i + MATERIALISE_BATCH);
      const entries = session.materialise(batch);
      let text = "";
      for (let k = 0; k < batch.length; k++) {
        const r = batch[k] as EntryRecord;
        while (s < skipped.length && (skipped[s] as SessionOpenSkippedEntry).line < r.line) {
          if (text) await out.write(text);
          text = "";
          fh ??= await openForRead(file);
          await copyLine(fh, skipped[s++] as SessionOpenSkippedEntry, out, file);
        }
        text += `${serializeEntry(asV3(entries[k] as EntryBase), "ts")}\n`;
        // Drop the materialised object again: memory stays bounded on large files.
        delete r.value;
      }
      if (text) await out.write(text);
    }
    while (s < skipped.length) {
      fh ??= await openForRead(file);
      await copyLine(fh, skipped[s++] as SessionOpenSkippedEntry, out, file);
    }
  } finally {
    await fh?.close().catch(() => undefined);
  }
}

function asV3(e: EntryBase): EntryBase {
  return e.parentId === undefined ? { ...e, parentId: null } : e;
}

async function openForRead(file: string): Promise<FileHandle> {
  try {
    return await open(file, "r");
  } catch (err) {
    throw ioError(err, file, "cannot reopen for reading");
  }
}

/** Copy one skipped line verbatim (a "\r" before its "\n" included), then "\n". */
async function copyLine(fh: FileHandle, line: SessionOpenSkippedEntry, out: AtomicOutput, file: string): Promise<void> {
  const read = (buf: Buffer, length: number, position: number) =>
    fh.read(buf, 0, length, position).catch((err: unknown) => Promise.reject(ioError(err, file, `read failed at byte ${position}`)));
  const total = line.length + 1; // one more byte: a possible "\r"
  const buf = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(total, 1)));
  let done = 0;
  while (done < line.length) {
    const want = Math.min(buf.length, line.length - done);
    const { bytesRead } = await read(buf, want, line.offset + done);
    if (bytesRead !== want) {
      throw new SessfmtError("E_SOURCE_CHANGED", "the file changed while it was being upgraded", { file, line: line.line, offset: line.offset });
    }
    await out.write(buf.subarray(0, want));
    done += want;
  }
  const { bytesRead } = await read(buf, 1, line.offset + line.length);
  if (bytesRead === 1 && buf[0] === 0x0d) await out.write("\r");
  await out.write("\n");
}
