import type { EntryRecord, Session } from "../format/index.js";
import type { LineBuffer } from "./io.js";

/**
 * `tree --json`: {file, leafId, roots: [{id, type, role?, label?, timestamp, line,
 * active?, leaf?, children: [...]}]}, children in timestamp order. Written piece by
 * piece with an explicit stack, because both building and JSON.stringify of a
 * 10^5-deep nested object would overflow the call stack.
 */
export function writeTreeJson(session: Session, leafId: string | null, out: LineBuffer): void {
  const tree = session.tree;
  const active = new Set(tree.pathToRoot(leafId));
  out.text(`{"file":${JSON.stringify(session.file ?? null)},"leafId":${JSON.stringify(leafId)},"roots":[`);
  const stack: { kids: readonly EntryRecord[]; next: number }[] = [{ kids: tree.roots, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { kids: readonly EntryRecord[]; next: number };
    if (top.next >= top.kids.length) {
      stack.pop();
      out.text(stack.length > 0 ? "]}" : "]");
      continue;
    }
    if (top.next > 0) out.text(",");
    const r = top.kids[top.next++] as EntryRecord;
    out.text(nodeHead(r, session.tree.label(r.id), active.has(r), r.id === leafId));
    stack.push({ kids: tree.children(r.id), next: 0 });
  }
  out.text("}\n");
}

/** The node's fields up to the opening of its children array. */
function nodeHead(r: EntryRecord, label: string | undefined, active: boolean, leaf: boolean): string {
  const node: Record<string, unknown> = { id: r.id, type: r.type };
  if (r.role !== undefined) node.role = r.role;
  if (label !== undefined) node.label = label;
  node.timestamp = r.timestamp;
  node.line = r.line;
  if (active) node.active = true;
  if (leaf) node.leaf = true;
  const json = JSON.stringify(node);
  return `${json.slice(0, -1)},"children":[`;
}
