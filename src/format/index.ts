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
