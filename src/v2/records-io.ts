import { withLock } from "../format/lock.js";
import { appendLedgerEvent, readLedger, readManifestFile, type LedgerRead, type ManifestRead } from "./artifacts.js";
import type { MigrationEvent } from "./ledger.js";
import { requireRoot, resolveTarget } from "./target.js";

/** The migration ledger's events (and any lines that do not decode), by JSONL file or root. */
export async function readMigrationEvents(fileOrRoot: string): Promise<LedgerRead> {
  const t = await resolveTarget(fileOrRoot);
  await requireRoot(t);
  return readLedger(t.root);
}

/**
 * Append an event to migrations/ledger.jsonl (durably, under the sidecar's lock). Refused
 * (E_INVALID_ARGUMENT) when the event breaks the contract the Rust port checks, and
 * (E_SIDECAR_CORRUPT) when the ledger already holds a damaged line.
 */
export async function appendMigrationEvent(fileOrRoot: string, event: MigrationEvent): Promise<void> {
  const t = await resolveTarget(fileOrRoot);
  await requireRoot(t);
  await withLock(t.root, () => appendLedgerEvent(t.root, event));
}

/** manifest.json, decoded and hash-checked (state "missing" / "invalid" / "ok"). */
export async function readManifest(fileOrRoot: string): Promise<ManifestRead> {
  const t = await resolveTarget(fileOrRoot);
  await requireRoot(t);
  return readManifestFile(t.root);
}
