import { add, block, br, brIf, eqz, geU, get, gtU, i32, I32, load32, loop, ret, set, shl, shrU, store32, sub, when, type FunctionDef } from "../format/wasm-asm.js";

/**
 * The parent walk of an entry table (EntryTable.pathSeqs) as one WebAssembly function.
 * A path is most of a session's entries (23k of 27k in a 100 MB session, 230k in 1 GB):
 * the same loop in JavaScript runs in the interpreter or the baseline compiler for most of
 * a fresh process's first walk (10-15 ns a step), here it runs compiled from the first step.
 *
 *   walk(parent, count, leaf, outEnd) -> n
 *
 * parent: byte offset of `count` i32 parentSeqs (entry k's at parent + 4k); from `leaf`,
 * each entrySeq visited is stored at outEnd - 4, outEnd - 8, ... so that the n entrySeqs of
 * the path end up root first in [outEnd - 4n, outEnd). The walk stops at a seq <= 0 or
 * > count (a root, a self-parent or a missing parent: the table stores those as 0 and -1).
 * After `count` steps it has met a cycle: it returns -1 and the caller cuts the cycle.
 */
const PARENT = 0;
const COUNT = 1;
const LEAF = 2;
const OUT_END = 3;
const SEQ = 4;
const OUT = 5;
const LOW = 6;

/** seq is not an entry (<= 0 or > count): as unsigned, seq - 1 >= count. One compare for both ends. */
const outOfRange = () => geU(sub(get(SEQ), i32(1)), get(COUNT));

export const WALK_PROGRAM: FunctionDef = {
  name: "walk",
  params: [I32, I32, I32, I32],
  results: [I32],
  locals: [[3, I32]],
  body: [
    set(SEQ, get(LEAF)),
    set(OUT, get(OUT_END)),
    // After `count` entries the walk has come round: stop when the output reaches LOW.
    set(LOW, sub(get(OUT_END), shl(get(COUNT), i32(2)))),
    // Entry k's parent is at parent + 4(k - 1): fold the -4 in once.
    set(PARENT, sub(get(PARENT), i32(4))),
    block(
      "done",
      loop(
        "step",
        brIf("done", outOfRange()),
        brIf("done", eqz(gtU(get(OUT), get(LOW)))),
        set(OUT, sub(get(OUT), i32(4))),
        store32(get(OUT), get(SEQ)),
        set(SEQ, load32(add(get(PARENT), shl(get(SEQ), i32(2))))),
        br("step"),
      ),
    ),
    // Stopped on an entry still in range: the walk came round.
    when(eqz(outOfRange()), [ret(i32(-1))]),
    shrU(sub(get(OUT_END), get(OUT)), i32(2)),
  ],
};
