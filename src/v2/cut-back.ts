import { unlink } from "node:fs/promises";
import type { OffsetIndexRow } from "./index-row.js";
import { writeIndexFile } from "./index-file.js";
import { readEntryTable, remakeEntryTable, removeEntryTable, writeEntryTable } from "./entry-table-io.js";
import { inRoot } from "./layout.js";
import { listSegmentFiles } from "./artifacts.js";
import { quarantineFile, truncateFile } from "./fs-safe.js";

export interface CutBackResult {
  /** Segments cut short: root-relative file, old size, new size. */
  truncated: { file: string; from: number; to: number }[];
  /** Segments with no kept frame, moved aside to `.bak` names (root-relative). */
  quarantined: string[];
}

/**
 * Shrink a store to its first `keep` rows: the index is replaced atomically first, then
 * segments are cut to the end of their last kept frame and segments with no kept frame are
 * moved aside. A crash in between leaves an index that is consistent with bytes beyond
 * it (unindexed bytes: detected by validate, removed by the next sync).
 */
export async function cutStoreBack(root: string, rows: readonly OffsetIndexRow[], keep: number): Promise<CutBackResult> {
  const kept = rows.slice(0, keep);
  const table = (await readEntryTable(root)).table;
  await removeEntryTable(root);
  const indexBytes = await writeIndexFile(root, kept);
  const keepLen = new Map<number, number>();
  for (const r of kept) keepLen.set(r.segmentSeq, Math.max(keepLen.get(r.segmentSeq) ?? 0, r.byteOffset + r.byteLength));
  const out: CutBackResult = { truncated: [], quarantined: [] };
  for (const s of await listSegmentFiles(root)) {
    const len = keepLen.get(s.segmentSeq);
    if (len !== undefined) {
      if (s.size > len) {
        await truncateFile(inRoot(root, s.file), len);
        out.truncated.push({ file: s.file, from: s.size, to: len });
      }
    } else if (s.size === 0) {
      await unlink(inRoot(root, s.file));
    } else {
      const moved = await quarantineFile(inRoot(root, s.file));
      out.quarantined.push(moved.slice(root.length + 1));
    }
  }
  // The kept prefix's table is the old table's first rows (parents re-resolved among them).
  if (table && table.count >= keep) await writeEntryTable(root, kept, table.inputs().slice(0, keep), indexBytes);
  else await remakeEntryTable(root);
  return out;
}
