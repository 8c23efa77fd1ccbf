import type { SharedFileList } from "./file-list.js";
import type { ArchiveOperation, FileOutcome, OperationOptions } from "./operations.js";

/**
 * What the runner and its worker threads share: the start data, the shared control slots
 * and the messages. Kept apart from worker.ts, whose import starts a worker's loop.
 */

/** Int32 slots of `WorkerInit.control`. */
export const CONTROL = {
  /** Index of the next file to take (workers add 1 atomically; it may pass the count). */
  cursor: 0,
  /** Non-zero once the run is aborted: take no more files. */
  stop: 1,
  /** From here, one slot per lane: the file index its worker is running, or -1. */
  lanes: 2,
} as const;

export function controlSlots(lanes: number): number {
  return CONTROL.lanes + lanes;
}

export interface WorkerInit {
  op: ArchiveOperation;
  options: OperationOptions;
  /** Int32Array over it: see CONTROL. */
  control: SharedArrayBuffer;
  lane: number;
  /** Send progress messages (only a progress bar needs them). */
  progress: boolean;
}

/** "start": the files are known, take them; "abort": abort the file in flight. */
export type WorkerRequest = { type: "start"; files: SharedFileList } | { type: "abort" };

export type WorkerReply = { type: "progress"; id: number; done: number; total: number } | { type: "done"; id: number; outcome: FileOutcome };
