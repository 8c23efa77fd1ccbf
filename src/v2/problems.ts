/**
 * What validate (and rebuild, sync, open) can find wrong with a sidecar. Every problem
 * has a stable code, a severity, the root-relative file it is in and, where it applies, a
 * byte offset in that file and the entrySeq / entry id concerned.
 *
 * Errors are damage to the store itself. Warnings are faithful copies of defects of the
 * source JSONL (a parent that no entry has, a duplicate id, a parent cycle), things the
 * Rust port would refuse to read that sessfmt reads fine, and missing optional files.
 */
export const PROBLEM_SEVERITY = {
  // the index
  index_missing: "error",
  index_row_invalid: "error",
  index_row_unterminated: "error",
  entry_seq_order: "error",
  entry_seq_gap: "error",
  segment_seq_order: "error",
  frame_seq_order: "error",
  row_offset_gap: "error",
  segment_missing: "error",
  row_out_of_bounds: "error",
  frame_too_large: "error",
  // frames
  frame_crc_mismatch: "error",
  frame_unterminated: "error",
  frame_invalid: "error",
  frame_row_mismatch: "error",
  payload_size_mismatch: "error",
  payload_hash_mismatch: "error",
  payload_invalid: "error",
  payload_field_mismatch: "error",
  // segments
  segment_unindexed_bytes: "error",
  segment_unindexed: "error",
  frame_torn: "error",
  frame_unterminated_healed: "warning",
  segment_quarantined: "error",
  // sessfmt's entry table (a cache of the index and the frames)
  entry_table_stale: "warning",
  entry_table_mismatch: "error",
  // the chain and the files that record it
  chain_mismatch: "error",
  manifest_missing: "warning",
  manifest_invalid: "error",
  manifest_mismatch: "error",
  checkpoint_invalid: "error",
  checkpoint_order: "error",
  checkpoint_mismatch: "error",
  ledger_invalid: "error",
  source_fingerprint_missing: "warning",
  source_fingerprint_invalid: "warning",
  source_fingerprint_mismatch: "warning",
  // copies of source defects
  parent_missing: "warning",
  duplicate_entry_id: "warning",
  parent_cycle: "warning",
  // readable by sessfmt, refused by the Rust port
  rust_entry_id: "warning",
  rust_entry_type: "warning",
  rust_session_id: "warning",
  rust_payload_whitespace: "warning",
  rust_invariant_false: "warning",
} as const;

export type SidecarProblemCode = keyof typeof PROBLEM_SEVERITY;
export type ProblemSeverity = "error" | "warning";

export interface SidecarProblem {
  code: SidecarProblemCode;
  severity: ProblemSeverity;
  message: string;
  /** Root-relative path, e.g. `segments/0000000000000001.seg`. */
  file?: string;
  /** Byte offset in `file`. */
  offset?: number;
  /** 1-based line in `file` (index rows, ledger lines). */
  line?: number;
  entrySeq?: number;
  entryId?: string;
}

export function problem(code: SidecarProblemCode, message: string, where: Omit<SidecarProblem, "code" | "severity" | "message"> = {}): SidecarProblem {
  const p: SidecarProblem = { code, severity: PROBLEM_SEVERITY[code], message };
  for (const [k, v] of Object.entries(where)) if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  return p;
}

export function hasErrors(problems: readonly SidecarProblem[]): boolean {
  return problems.some((p) => p.severity === "error");
}

/** "segments/…seg byte 120 (entrySeq 3): message" */
export function describeProblem(p: SidecarProblem): string {
  const where: string[] = [];
  if (p.file) where.push(p.file);
  if (p.line !== undefined) where.push(`line ${p.line}`);
  if (p.offset !== undefined) where.push(`byte ${p.offset}`);
  const seq = p.entrySeq !== undefined ? ` (entrySeq ${p.entrySeq})` : "";
  return `${where.join(":")}${seq}: [${p.code}] ${p.message}`;
}
