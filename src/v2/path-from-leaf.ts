import type { EntryTable } from "./entry-table.js";

/**
 * The path from a leaf to its root in an entry table, walked from the leaf only as far as
 * it is asked for. The context of a long session is decided near its leaf (the last
 * compaction, thinking-level change and model), so an open that walks back only that far
 * reads one or two blocks of the table's columns instead of all of them, and takes a few
 * hundred steps instead of one per entry of the session.
 *
 * The steps taken are the whole walk's first steps only while each goes to a lower entrySeq:
 * then no entry walked can be cut off by a cycle (a cycle is cut at its member with the
 * lowest entrySeq, which lies at or beyond the last entry walked; see EntryTable.pathSeqs).
 * A parent at the same or a higher entrySeq — a cycle, or a parent written after its child —
 * makes the walk the whole one, cycle-cut, at once.
 */
/** Steps a walk takes beyond what it was asked for while it needs no block read. */
const FREE_STEPS = 256;

export class PathFromLeaf {
  /** entrySeqs walked so far, leaf first. */
  private back: number[] = [];
  /** The whole path, root first, once it is known. */
  private whole: Int32Array | undefined;
  /** The next entrySeq to step to; outside 1..count once the root was reached. */
  private next: number;

  constructor(
    private readonly table: EntryTable,
    readonly leafSeq: number,
  ) {
    this.next = leafSeq;
    if (!(leafSeq >= 1 && leafSeq <= table.count)) this.whole = new Int32Array(0);
  }

  /**
   * Walk on until `k` entries from the leaf are known or the path ends; the entries known
   * (more than `k` when the walk could go on without reading another block).
   */
  reach(k: number): number {
    const count = this.table.count;
    while (this.whole === undefined && this.back.length < k) {
      const seq = this.next;
      if (!(seq >= 1 && seq <= count)) {
        // The root (or a missing parent): the steps taken are the whole path.
        this.whole = Int32Array.from(this.back).reverse();
        this.back = [];
        break;
      }
      if (this.back.length > 0 && seq >= (this.back[this.back.length - 1] as number)) return this.all().length;
      this.next = this.table.walkBack(seq, k - this.back.length, FREE_STEPS, this.back);
    }
    return this.whole ? this.whole.length : this.back.length;
  }

  /** The entrySeq `d` steps back from the leaf (0: the leaf); `reach(d + 1)` must have covered it. */
  at(d: number): number {
    return this.whole ? (this.whole[this.whole.length - 1 - d] as number) : (this.back[d] as number);
  }

  /** The whole path, root first (every block of the columns read). */
  all(): Int32Array {
    if (!this.whole) {
      this.whole = this.table.pathSeqs(this.leafSeq);
      this.back = [];
    }
    return this.whole;
  }
}
