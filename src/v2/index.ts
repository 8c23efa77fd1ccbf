// The V2 sidecar store: an indexed, checksummed copy of a JSONL session's entry lines,
// laid out as the Rust port of the agent reads it. See SPEC.md section 11.
export { crc32c, crc32cHex, crc32cUpdate } from "./crc32c.js";
export { payloadSha256, chainStep, chainOf, GENESIS_CHAIN_HASH } from "./hash.js";
export {
  SEGMENT_FRAME_SCHEMA,
  encodeFrame,
  decodeFrame,
  decodeFrameHead,
  parsePayload,
  type SegmentFrame,
  type SegmentFrameHead,
  type DecodedFrame,
  type FrameFields,
  type Decoded,
} from "./frame.js";
export { OFFSET_INDEX_SCHEMA, encodeIndexRow, decodeIndexRow, makeIndexRow, type OffsetIndexRow } from "./index-row.js";
export {
  CHECKPOINT_SCHEMA,
  CHECKPOINT_REASONS,
  encodeCheckpoint,
  decodeCheckpoint,
  makeCheckpoint,
  isCheckpointReason,
  type Checkpoint,
  type CheckpointReason,
} from "./checkpoint.js";
export {
  MANIFEST_SCHEMA,
  STORE_VERSION,
  SOURCE_FORMATS,
  INVARIANT_KEYS,
  encodeManifest,
  decodeManifest,
  manifestHash,
  type Manifest,
  type StoreHead,
  type ManifestCounters,
  type ManifestFiles,
  type ManifestIntegrity,
  type ManifestInvariants,
  type SourceFormat,
} from "./manifest.js";
export {
  MIGRATION_EVENT_SCHEMA,
  MIGRATION_PHASES,
  MIGRATION_OUTCOMES,
  MIGRATION_ERROR_CLASSES,
  MIGRATION_FORMATS,
  encodeLedgerEvent,
  decodeLedgerEvent,
  checkLedgerEvent,
  isUuid,
  type MigrationEvent,
  type MigrationVerification,
  type MigrationPhase,
  type MigrationOutcome,
  type MigrationErrorClass,
  type MigrationFormat,
} from "./ledger.js";
export {
  INDEX_FILE,
  MANIFEST_FILE,
  LEDGER_FILE,
  SOURCE_FILE,
  segmentFileName,
  segmentRelPath,
  checkpointFileName,
  checkpointRelPath,
  sidecarRootFor,
  jsonlFileFor,
} from "./layout.js";
export { PROBLEM_SEVERITY, describeProblem, hasErrors, type SidecarProblem, type SidecarProblemCode, type ProblemSeverity } from "./problems.js";
export { newReadStats, type ReadStats, type ReadObserver } from "./read-stats.js";
export { DEFAULT_MAX_FRAME_BYTES } from "./segment-reader.js";
export { DEFAULT_SEGMENT_BYTES, type SegmentWriterOptions } from "./segment-writer.js";
export type { SidecarRecord } from "./frame-check.js";
export {
  SOURCE_FINGERPRINT_SCHEMA,
  checkFreshness,
  readFingerprint,
  type SourceFingerprint,
  type Freshness,
  type FreshnessState,
  type FreshnessCheck,
} from "./fingerprint.js";
export { parseV2OpenMode, isV2OpenMode, type V2OpenMode, type ParsedOpenMode } from "./open-mode.js";
export { SidecarStore, type SidecarEntry } from "./store.js";
export { openSidecar, type OpenSidecarOptions } from "./open.js";
export { createV2SidecarFromJsonl, type CreateSidecarOptions, type CreateSidecarResult } from "./create.js";
export { validateSidecar, RUST_ENTRY_TYPES, type ValidateOptions, type ValidationReport } from "./validate.js";
export { rebuildSidecarIndex, type RebuildOptions, type RebuildReport } from "./rebuild.js";
export { syncSidecar, type SyncOptions, type SyncReport } from "./sync.js";
export { createCheckpoint, listCheckpoints, type CreateCheckpointOptions, type CheckpointList } from "./checkpoints.js";
export { rollbackToCheckpoint, type RollbackOptions, type RollbackReport } from "./rollback.js";
export { exportJsonlFromSidecar, type ExportOptions, type ExportResult } from "./export.js";
export { sidecarInfo, type SidecarInfo, type SegmentInfo, type InfoOptions } from "./info.js";
export { readMigrationEvents, appendMigrationEvent, readManifest } from "./records-io.js";
export type { LedgerRead, ManifestRead } from "./artifacts.js";
