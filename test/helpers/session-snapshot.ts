import type { Session } from "../../src/index.js";

/** What a session says, independent of how it was opened (materialised values left out: they depend on what was asked before). */
export function sessionSnapshot(s: Session): unknown {
  return {
    header: s.header,
    version: s.version,
    dialect: s.dialect,
    records: s.records.map(({ value: _v, ...r }) => r),
    entries: s.entries(),
    diagnostics: s.diagnostics.items,
    leaf: s.leafId,
    context: s.buildContext(),
    leafContexts: s.tree.leaves().map((l) => s.buildContext(l.id)),
    name: s.name,
    labels: [...s.labels],
  };
}
