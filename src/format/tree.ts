import { SessfmtError } from "./errors.js";
import type { EntryRecord } from "./record.js";

/** A node with more than one child. */
export interface BranchInfo {
  entryId: string;
  line: number;
  /** Children in display order (timestamp, stable on ties). */
  childIds: string[];
}

/** One branch leaving the nearest fork above a leaf. */
export interface SiblingBranch {
  /** The fork (the entry with several children). */
  forkPointId: string;
  /** The child of the fork that starts this branch. */
  entryId: string;
  /** The most recently appended leaf of the branch (file order). */
  leafId: string;
  /** True for the branch that holds the given leaf. */
  isCurrent: boolean;
  /** Label of the branch's first entry or of its leaf, if any. */
  label?: string;
  timestamp: string;
  /** Entries in the branch (the subtree under the fork's child). */
  entryCount: number;
}

export interface OrphanLink {
  record: EntryRecord;
  missingParentId: string;
}

export interface DuplicateId {
  record: EntryRecord;
  first: EntryRecord;
}

/** Timestamp order as pi's getTree sorts children (NaN compares equal; sort is stable). */
function byTimestamp(a: EntryRecord, b: EntryRecord): number {
  return new Date(a.timestamp).getTime() - new Date(b.timestamp).getTime();
}

/**
 * The session tree over entry records. Ids: the later entry wins (as in pi). Roots are
 * entries with a null parent, a self-parent, an orphaned parent, or the entry chosen to
 * break a parent cycle (the cycle member that comes first in the file). Every walk is
 * iterative and cycle-guarded, so depth 10^6 and cyclic files are fine.
 */
export class SessionTree {
  /** All entries in file order, including ones whose id a later entry took. */
  readonly records: readonly EntryRecord[];
  readonly orphans: readonly OrphanLink[];
  readonly duplicates: readonly DuplicateId[];
  /** Each parent cycle once, as ids in parent-walk order (a self-parent is a cycle of one). */
  readonly cycles: readonly string[][];

  private readonly byIdMap = new Map<string, EntryRecord>();
  /** Entries whose parent link is ignored because it closes a cycle. */
  private readonly cycleBreaks = new Set<EntryRecord>();
  private childMap: Map<EntryRecord, EntryRecord[]> | undefined;
  private rootList: EntryRecord[] | undefined;
  private labelMap: Map<string, string> | undefined;
  private currentLeaf: EntryRecord | null;

  constructor(records: readonly EntryRecord[]) {
    this.records = records;
    const duplicates: DuplicateId[] = [];
    for (const r of records) {
      const prev = this.byIdMap.get(r.id);
      if (prev) duplicates.push({ record: r, first: prev });
      this.byIdMap.set(r.id, r);
    }
    this.duplicates = duplicates;
    const orphans: OrphanLink[] = [];
    for (const r of this.byIdMap.values()) {
      if (r.parentId !== null && r.parentId !== r.id && !this.byIdMap.has(r.parentId)) {
        orphans.push({ record: r, missingParentId: r.parentId });
      }
    }
    orphans.sort((a, b) => a.record.index - b.record.index);
    this.orphans = orphans;
    this.cycles = this.findCycles();
    this.currentLeaf = records.length > 0 ? (records[records.length - 1] as EntryRecord) : null;
  }

  /** Number of distinct entries in the tree. */
  get size(): number {
    return this.byIdMap.size;
  }

  get(id: string): EntryRecord | undefined {
    return this.byIdMap.get(id);
  }

  has(id: string): boolean {
    return this.byIdMap.has(id);
  }

  /** The parent record, or undefined for a root (null, self, orphaned or cycle-breaking parent). */
  parentOf(r: EntryRecord): EntryRecord | undefined {
    if (r.parentId === null || r.parentId === r.id || this.cycleBreaks.has(r)) return undefined;
    return this.byIdMap.get(r.parentId);
  }

  // ---- leaf ----

  /** The current leaf: the last entry in file order after open; settable. */
  get leafId(): string | null {
    return this.currentLeaf ? this.currentLeaf.id : null;
  }

  get leaf(): EntryRecord | undefined {
    return this.currentLeaf ?? undefined;
  }

  /** Move the leaf (null = before the first entry, as pi's resetLeaf). */
  setLeaf(id: string | null): void {
    if (id === null) {
      this.currentLeaf = null;
      return;
    }
    const r = this.byIdMap.get(id);
    if (!r) throw new SessfmtError("E_ENTRY_NOT_FOUND", `no entry with id ${JSON.stringify(id)}`);
    this.currentLeaf = r;
  }

  // ---- shape ----

  /** Roots in file order. */
  get roots(): readonly EntryRecord[] {
    this.ensureChildren();
    return this.rootList as EntryRecord[];
  }

  /** Children of an entry (or the roots for null), oldest first by timestamp, stable on ties. */
  children(id: string | null): readonly EntryRecord[] {
    if (id === null) return this.roots;
    this.ensureChildren();
    const r = this.byIdMap.get(id);
    return (r && this.childMap?.get(r)) ?? [];
  }

  /** Entries without children, in file order. */
  leaves(): EntryRecord[] {
    this.ensureChildren();
    const out: EntryRecord[] = [];
    for (const r of this.byIdMap.values()) if (!this.childMap?.has(r)) out.push(r);
    return out.sort((a, b) => a.index - b.index);
  }

  /** Entries with more than one child, in file order. */
  branchPoints(): BranchInfo[] {
    this.ensureChildren();
    const out: BranchInfo[] = [];
    for (const [r, kids] of this.childMap as Map<EntryRecord, EntryRecord[]>) {
      if (kids.length > 1) out.push({ entryId: r.id, line: r.line, childIds: kids.map((k) => k.id) });
    }
    return out.sort((a, b) => a.line - b.line);
  }

  /** Path from the root down to the entry (inclusive). Empty for an unknown id or null. */
  pathToRoot(id: string | null | undefined): EntryRecord[] {
    if (id === null || id === undefined) return [];
    const start = this.byIdMap.get(id);
    return start ? this.pathFrom(start) : [];
  }

  /** Root-first path ending at `r`; stops at any repeat, so it always terminates. */
  pathFrom(r: EntryRecord): EntryRecord[] {
    const path: EntryRecord[] = [];
    const seen = new Set<EntryRecord>();
    let cur: EntryRecord | undefined = r;
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      path.push(cur);
      cur = this.parentOf(cur);
    }
    return path.reverse();
  }

  /** Depth of an entry (a root has depth 0). */
  depth(id: string): number {
    return Math.max(0, this.pathToRoot(id).length - 1);
  }

  /**
   * The branches leaving the nearest fork at or above `leafId` (default: the current
   * leaf). Empty when the path has no fork.
   */
  siblingBranches(leafId: string | null = this.leafId): SiblingBranch[] {
    const path = this.pathToRoot(leafId);
    this.ensureChildren();
    const childMap = this.childMap as Map<EntryRecord, EntryRecord[]>;
    for (let i = path.length - 2; i >= 0; i--) {
      const fork = path[i] as EntryRecord;
      const kids = childMap.get(fork) ?? [];
      if (kids.length < 2) continue;
      const onPath = path[i + 1] as EntryRecord;
      return kids.map((kid) => {
        const { leaf, count } = this.newestLeaf(kid);
        const label = this.label(kid.id) ?? this.label(leaf.id);
        const b: SiblingBranch = {
          forkPointId: fork.id,
          entryId: kid.id,
          leafId: leaf.id,
          isCurrent: kid === onPath,
          timestamp: kid.timestamp,
          entryCount: count,
        };
        if (label !== undefined) b.label = label;
        return b;
      });
    }
    return [];
  }

  // ---- labels, name, counts ----

  /** Labels by target id: replayed in file order, last wins, empty or missing clears. */
  get labels(): ReadonlyMap<string, string> {
    if (!this.labelMap) {
      const m = new Map<string, string>();
      for (const r of this.records) {
        if (r.type !== "label" || r.targetId === undefined) continue;
        if (r.label) m.set(r.targetId, r.label);
        else m.delete(r.targetId);
      }
      this.labelMap = m;
    }
    return this.labelMap;
  }

  label(id: string): string | undefined {
    return this.labels.get(id);
  }

  /** Session name: the latest session_info entry's name, trimmed; an empty one clears. */
  get name(): string | undefined {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i] as EntryRecord;
      if (r.type === "session_info") return r.name?.trim() || undefined;
    }
    return undefined;
  }

  /** Number of `message` entries in the file. */
  get messageCount(): number {
    let n = 0;
    for (const r of this.records) if (r.type === "message") n++;
    return n;
  }

  // ---- internals ----

  private ensureChildren(): void {
    if (this.childMap) return;
    const childMap = new Map<EntryRecord, EntryRecord[]>();
    const roots: EntryRecord[] = [];
    for (const r of this.records) {
      if (this.byIdMap.get(r.id) !== r) continue; // shadowed by a later duplicate
      const parent = this.parentOf(r);
      if (!parent) {
        roots.push(r);
        continue;
      }
      let kids = childMap.get(parent);
      if (!kids) childMap.set(parent, (kids = []));
      kids.push(r);
    }
    for (const kids of childMap.values()) if (kids.length > 1) kids.sort(byTimestamp);
    this.childMap = childMap;
    this.rootList = roots;
  }

  /** Newest leaf (highest file index) under `top`, and the subtree size. Iterative. */
  private newestLeaf(top: EntryRecord): { leaf: EntryRecord; count: number } {
    const childMap = this.childMap as Map<EntryRecord, EntryRecord[]>;
    let best: EntryRecord | undefined;
    let count = 0;
    const stack = [top];
    while (stack.length > 0) {
      const r = stack.pop() as EntryRecord;
      count++;
      const kids = childMap.get(r);
      if (!kids || kids.length === 0) {
        if (!best || r.index > best.index) best = r;
      } else {
        for (const k of kids) stack.push(k);
      }
    }
    return { leaf: best ?? top, count };
  }

  /**
   * Find parent cycles with a colouring walk (each entry visited once, O(n)). For every
   * cycle, the member that comes first in the file loses its parent link.
   */
  private findCycles(): string[][] {
    const DONE = 2;
    const ON_PATH = 1;
    const state = new Map<EntryRecord, number>();
    const cycles: string[][] = [];
    for (const start of this.byIdMap.values()) {
      if (state.has(start)) continue;
      const path: EntryRecord[] = [];
      let cur: EntryRecord | undefined = start;
      while (cur && !state.has(cur)) {
        state.set(cur, ON_PATH);
        path.push(cur);
        if (cur.parentId === null || cur.parentId === cur.id) break;
        cur = this.byIdMap.get(cur.parentId);
      }
      if (cur && state.get(cur) === ON_PATH && cur.parentId !== null && cur.parentId !== cur.id) {
        const at = path.indexOf(cur);
        const members = path.slice(at);
        let breaker = members[0] as EntryRecord;
        for (const m of members) if (m.index < breaker.index) breaker = m;
        this.cycleBreaks.add(breaker);
        cycles.push(members.map((m) => m.id));
      } else if (cur && state.get(cur) === ON_PATH && cur.parentId === cur.id) {
        // A self-parent is a cycle of one: pi's getTree shows it as a root, but its
        // context and branch walks never end on it, so it must be reported too.
        cycles.push([cur.id]);
      }
      for (const p of path) state.set(p, DONE);
    }
    return cycles;
  }
}
