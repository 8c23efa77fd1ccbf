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
  /**
   * Parent of each record by position in `records` (-1: a root, including an orphan, a
   * self-parent and the entry whose link closes a cycle). Typed arrays indexed by position
   * instead of maps keyed by record: a few bytes per entry, and no hashing, on the path
   * every open and every context walk takes.
   */
  private readonly parentPos: Int32Array;
  /** Position of records whose `index` is not their position (built only if there is one). */
  private positions: Map<EntryRecord, number> | undefined;
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
    const { links, backward } = this.parentLinks(orphans);
    orphans.sort((a, b) => a.record.index - b.record.index);
    this.orphans = orphans;
    // A walk along links that all point back in the file cannot come round: no cycle to look for.
    this.cycles = backward ? [] : this.findCycles(links);
    this.parentPos = links;
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
    const at = this.position(r);
    if (at < 0) return r.parentId === null || r.parentId === r.id ? undefined : this.byIdMap.get(r.parentId); // not one of ours
    const p = this.parentPos[at] as number;
    return p < 0 ? undefined : this.records[p];
  }

  /** Position of a record in `records`, or -1 when it is not one of them. */
  private position(r: EntryRecord): number {
    if (this.records[r.index] === r) return r.index;
    if (!this.positions) {
      this.positions = new Map();
      this.records.forEach((rec, i) => this.positions?.set(rec, i));
    }
    return this.positions.get(r) ?? -1;
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
    const path: EntryRecord[] = [r];
    let at = this.position(r);
    if (at < 0) {
      const p = this.parentOf(r);
      if (!p) return path;
      at = this.position(p);
      path.push(p);
    }
    // Parent links have no cycle (findCycles cut each one); the bound is a second guard.
    const records = this.records;
    const parentPos = this.parentPos;
    for (let p = parentPos[at] as number; p >= 0 && path.length <= records.length; p = parentPos[p] as number) {
      path.push(records[p] as EntryRecord);
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
   * Each record's parent by position, cycles not yet cut (-1: null, self, or orphaned
   * parent); the orphans (entries an id maps to whose parent is missing) are added to
   * `orphans`. `backward`: every parent comes before its child and none is the child
   * itself, as in a file written by appending (so there is no cycle).
   */
  private parentLinks(orphans: OrphanLink[]): { links: Int32Array; backward: boolean } {
    const records = this.records;
    const links = new Int32Array(records.length);
    let backward = true;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as EntryRecord;
      const parentId = r.parentId;
      if (parentId === null) {
        links[i] = -1;
      } else if (parentId === r.id) {
        links[i] = -1;
        backward = false;
      } else {
        const parent = this.byIdMap.get(parentId);
        const at = parent ? this.position(parent) : -1;
        links[i] = at;
        if (at >= i) backward = false;
        if (!parent && this.byIdMap.get(r.id) === r) orphans.push({ record: r, missingParentId: parentId });
      }
    }
    return { links, backward };
  }

  /**
   * Find parent cycles with a colouring walk (each entry visited once, O(n)). For every
   * cycle, the member that comes first in the file loses its parent link (set to -1 in
   * `links`).
   */
  private findCycles(links: Int32Array): string[][] {
    const ON_PATH = 1;
    const DONE = 2;
    const records = this.records;
    const state = new Uint8Array(records.length);
    const cycles: string[][] = [];
    const path: number[] = [];
    for (const start of this.byIdMap.values()) {
      let cur = this.position(start);
      if (state[cur] !== 0) continue;
      path.length = 0;
      while (cur >= 0 && state[cur] === 0) {
        state[cur] = ON_PATH;
        path.push(cur);
        const r = records[cur] as EntryRecord;
        if (r.parentId === null || r.parentId === r.id) break;
        cur = links[cur] as number;
      }
      if (cur >= 0 && state[cur] === ON_PATH) {
        const r = records[cur] as EntryRecord;
        if (r.parentId !== null && r.parentId !== r.id) {
          const members = path.slice(path.indexOf(cur));
          let breaker = members[0] as number;
          for (const m of members) if ((records[m] as EntryRecord).index < (records[breaker] as EntryRecord).index) breaker = m;
          links[breaker] = -1;
          cycles.push(members.map((m) => (records[m] as EntryRecord).id));
        } else if (r.parentId === r.id) {
          // A self-parent is a cycle of one: pi's getTree shows it as a root, but its
          // context and branch walks never end on it, so it must be reported too.
          cycles.push([r.id]);
        }
      }
      for (const p of path) state[p] = DONE;
    }
    return cycles;
  }
}
