export { SessfmtError, isSessfmtError, type SessfmtErrorCode } from "./errors.js";
export * from "./types.js";
export {
  SessionOpenDiagnostics,
  type DiagnosticCode,
  type SkipReason,
  type SessionDiagnostic,
  type SessionOpenSkippedEntry,
  type SessionOpenOrphanedParentLink,
} from "./diagnostics.js";
export { scanFile, scanFileSync, scanBuffer, LineSplitter, type LineSpan, type ScanOptions } from "./scan.js";
export type { EntryRecord, LegacyPatch } from "./record.js";
export { SessionTree, type BranchInfo, type SiblingBranch } from "./tree.js";
export { Session } from "./session.js";
export { openSession, openSessionSync, openSessionFromBuffer, type OpenOptions } from "./read.js";
export { buildContextFromPath, messageText, type ForkPlan } from "./context.js";
export {
  encodeCwd,
  fileTimestamp,
  sessionFileName,
  sanitizeFileComponent,
  defaultSessionsRoot,
  sessionDirFor,
  sidecarPath,
  childPath,
  isInside,
} from "./paths.js";
export { findSessionFiles, probeSessionHeader, isSessionHeaderPrefix, HEADER_PROBE_BYTES, type FindSessionFilesOptions } from "./walk.js";
export { generateEntryId, generateSessionId, isShortEntryId, uuidV7Time, type IdRegistry } from "./ids.js";
export { acquireLock, withLock, lockPathFor, DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_LOCK_STALE_MS, type LockHandle, type LockOptions } from "./lock.js";
export {
  rewriteFileAtomic,
  writeFileExclusive,
  type AtomicOutput,
  type RewriteOptions,
  type RewriteResult,
  type ExclusiveWriteOptions,
} from "./atomic.js";
export { DEFAULT_DURABILITY, DEFAULT_SYNC_INTERVAL_MS, isDurabilityMode, type AutosaveDurabilityMode } from "./durability.js";
export { serializeEntry, prepareEntry, type NewEntry, type PreparedEntry } from "./new-entry.js";
export { SessionWriter, type SessionWriterOptions } from "./writer.js";
export { createSession, newSessionHeader, type CreateSessionOptions } from "./create.js";
export { createBranchedSession, forkFromUserMessage, type BranchedSession, type BranchedSessionOptions, type ForkResult } from "./fork.js";
export { upgradeSession, type UpgradeOptions, type UpgradeReport } from "./upgrade.js";
export {
  AutosaveQueue,
  type AutosaveFlushTrigger,
  type AutosaveQueueMetrics,
  type AutosaveQueueOptions,
  type AutosaveSink,
} from "./autosave.js";
export { exportSnapshot, type ExportSnapshot } from "./snapshot.js";
export { visitEntryValues } from "./entry-values.js";
export { messageActivityTime } from "./activity.js";
