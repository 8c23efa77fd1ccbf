import type { EntryRecord, SessionTree } from "../format/index.js";

/** One line of the drawn tree. */
export interface TreeRow {
  record: EntryRecord;
  /** Branch drawing before the entry ("│  ├─ " ...). */
  prefix: string;
  /** On the path from the root to the current leaf. */
  active: boolean;
  leaf: boolean;
}

/** Indent levels drawn before a prefix is cut (a tree can branch 10^5 times in a row). */
export const MAX_DRAWN_LEVELS = 40;

/** A vertical line kept open for later siblings; a persistent list, so children share it. */
interface Gutter {
  position: number;
  show: boolean;
  next: Gutter | null;
}

interface Frame {
  record: EntryRecord;
  indent: number;
  justBranched: boolean;
  showConnector: boolean;
  isLast: boolean;
  gutters: Gutter | null;
  virtualRootChild: boolean;
}

/**
 * The rows of pi's tree view (interactive /tree), in order: linear runs stay flat, a
 * branch point indents its children, the branch holding the current leaf comes first.
 * Iterative with an explicit stack: a 10^6-deep chain needs one frame at a time.
 */
export function* layoutTree(tree: SessionTree, leafId: string | null): Generator<TreeRow> {
  const activePath = new Set(tree.pathToRoot(leafId));
  const leaf = leafId === null ? undefined : tree.get(leafId);
  const roots = activeFirst(tree.roots, activePath);
  // Several roots hang from an invisible root that is not drawn.
  const multipleRoots = roots.length > 1;
  const stack: Frame[] = [];
  for (let i = roots.length - 1; i >= 0; i--) {
    stack.push({
      record: roots[i] as EntryRecord,
      indent: multipleRoots ? 1 : 0,
      justBranched: multipleRoots,
      showConnector: multipleRoots,
      isLast: i === roots.length - 1,
      gutters: null,
      virtualRootChild: multipleRoots,
    });
  }
  while (stack.length > 0) {
    const f = stack.pop() as Frame;
    const displayIndent = multipleRoots ? Math.max(0, f.indent - 1) : f.indent;
    const connectorShown = f.showConnector && !f.virtualRootChild;
    yield { record: f.record, prefix: drawPrefix(f, displayIndent, connectorShown), active: activePath.has(f.record), leaf: f.record === leaf };

    const children = activeFirst(tree.children(f.record.id), activePath);
    const multipleChildren = children.length > 1;
    // A branch point indents its children; the first generation after a branch is
    // indented once more so a branch's run reads as a group; plain chains stay flat.
    const childIndent = multipleChildren || (f.justBranched && f.indent > 0) ? f.indent + 1 : f.indent;
    const childGutters = connectorShown ? { position: Math.max(0, displayIndent - 1), show: !f.isLast, next: f.gutters } : f.gutters;
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({
        record: children[i] as EntryRecord,
        indent: childIndent,
        justBranched: multipleChildren,
        showConnector: multipleChildren,
        isLast: i === children.length - 1,
        gutters: childGutters,
        virtualRootChild: false,
      });
    }
  }
}

/** The branch holding the active path first, the rest in their given (timestamp) order. */
function activeFirst(records: readonly EntryRecord[], activePath: ReadonlySet<EntryRecord>): readonly EntryRecord[] {
  if (records.length < 2) return records;
  const i = records.findIndex((r) => activePath.has(r));
  if (i <= 0) return records;
  return [records[i] as EntryRecord, ...records.slice(0, i), ...records.slice(i + 1)];
}

function drawPrefix(f: Frame, displayIndent: number, connectorShown: boolean): string {
  if (displayIndent === 0) return "";
  const from = Math.max(0, displayIndent - MAX_DRAWN_LEVELS);
  const cells: string[] = new Array<string>(displayIndent - from).fill("   ");
  const taken = new Set<number>();
  // Gutters are newest (deepest) first with strictly falling positions: stop once left of the window.
  for (let g = f.gutters; g !== null && g.position >= from; g = g.next) {
    if (g.position < displayIndent) {
      cells[g.position - from] = g.show ? "│  " : "   ";
      taken.add(g.position);
    }
  }
  const connectorAt = displayIndent - 1;
  if (connectorShown && connectorAt >= from && !taken.has(connectorAt)) cells[connectorAt - from] = f.isLast ? "└─ " : "├─ ";
  return (from > 0 ? "…" : "") + cells.join("");
}
