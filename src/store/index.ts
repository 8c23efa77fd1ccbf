export type {
  CreateStoredSessionOptions,
  ForkFrom,
  SessionListQuery,
  SessionStore,
  SessionStoreOptions,
  StoreAppendOptions,
  StoreEvent,
  StoreForkOptions,
  StoreListener,
  StoreOp,
  StoredSessionInfo,
  StoreWriteOp,
} from "./types.js";
export { BaseSessionStore } from "./base-store.js";
export { MemorySessionStore } from "./memory-store.js";
export { JsonlSessionStore, type JsonlSessionStoreOptions } from "./jsonl-store.js";
export { SqliteSessionStore, type SqliteSessionStoreOptions } from "./sqlite-store.js";
export { ARCHIVE_DIR } from "./file-layout.js";
export { AUTO_NAME_MAX, deriveSessionName } from "./auto-name.js";
export { summarizeSession, type SessionSummary, type UsageBucket } from "./summary.js";
export { catalogSidecarStatus, type CatalogSidecarStatus } from "./sidecar-status.js";
export {
  SQLITE_LAYOUT_VERSION,
  createSqliteSessionFile,
  isSqliteFile,
  readSqliteSessionFile,
  readSqliteSessionId,
} from "./sqlite-session-file.js";
export { convertSessionFile, formatForPath, type ConvertResult, type SessionFileFormat } from "./convert.js";
export {
  SessionCatalog,
  type CatalogOptions,
  type CatalogQuery,
  type CatalogRefreshOptions,
  type CatalogRefreshReport,
  type CatalogSession,
  type CatalogStats,
  type CatalogTotals,
} from "./catalog.js";
export { CATALOG_FILE, CATALOG_SCHEMA_VERSION } from "./catalog-schema.js";
