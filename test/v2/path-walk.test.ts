/**
 * SPEC 11.21: the parent walk of an active open, run as WebAssembly, against a plain walk.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { assembleModule } from "../../src/format/wasm-asm.js";
import { WALK_PROGRAM } from "../../src/v2/path-walk-program.js";
import { WALK_WASM, WalkSpace, walkPath } from "../../src/v2/path-walk.js";

/** The definition: follow parents from the leaf while in range; undefined on a cycle. */
function reference(parent: Int32Array, leaf: number): number[] | undefined {
  const out: number[] = [];
  const seen = new Set<number>();
  for (let seq = leaf; seq > 0 && seq <= parent.length; seq = parent[seq - 1] as number) {
    if (seen.has(seq)) return undefined;
    seen.add(seq);
    out.push(seq);
  }
  return out.reverse();
}

describe("11.21 Entry table: the path walk", () => {
  it("the module is the program assembled", () => {
    expect(Buffer.from(assembleModule([WALK_PROGRAM], 1)).toString("base64")).toBe(WALK_WASM);
  });

  it("gives the path root first, stops at roots, self-parents and missing parents, and refuses a cycle", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) =>
          fc.tuple(fc.array(fc.integer({ min: -3, max: n + 3 }), { minLength: n, maxLength: n }), fc.integer({ min: 1, max: n })),
        ),
        ([parents, leaf]) => {
          const parent = Int32Array.from(parents);
          const got = walkPath(parent, leaf);
          const want = reference(parent, leaf);
          expect(got === undefined ? undefined : Array.from(got)).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("walks a long chain (every entry the child of the one before) and leaves the parents as they were", () => {
    const n = 200_000;
    const parent = new Int32Array(n);
    for (let k = 1; k < n; k++) parent[k] = k;
    const copy = parent.slice();
    const path = walkPath(parent, n) as Int32Array;
    expect(path.length).toBe(n);
    expect(path[0]).toBe(1);
    expect(path[n - 1]).toBe(n);
    expect(path.every((v, i) => v === i + 1)).toBe(true);
    expect(parent).toEqual(copy);
    // A second walk has its own memory: the first path is unchanged.
    const other = walkPath(parent, 10) as Int32Array;
    expect(Array.from(other)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(path[n - 1]).toBe(n);
  });

  it("walks a parent column read into its memory in place, once; later walks copy", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }).chain((n) => fc.tuple(fc.array(fc.integer({ min: -3, max: n + 3 }), { minLength: n, maxLength: n }), fc.integer({ min: 1, max: n }))),
        ([parents, leaf]) => {
          const n = parents.length;
          const space = WalkSpace.create(n) as WalkSpace;
          expect(space.parents.length).toBe(n);
          space.parents.set(parents);
          const want = reference(Int32Array.from(parents), leaf);
          const got = space.walkOnce(space.parents, leaf);
          expect(got === undefined ? undefined : Array.from(got)).toEqual(want);
          // The column is as it was: the path went after it.
          expect(Array.from(space.parents)).toEqual(parents);
          // Once only (the path handed out is a view of this memory), and only over its own column.
          expect(space.walkOnce(space.parents, leaf)).toBeUndefined();
          expect((WalkSpace.create(n) as WalkSpace).walkOnce(Int32Array.from(parents), leaf)).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
