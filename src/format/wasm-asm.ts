/**
 * A minimal WebAssembly assembler: just enough to write one function as nested
 * S-expressions in TypeScript and get the bytes of a module that exports it and its
 * memory. It keeps the scanner's source readable and in the repository (no binary blob,
 * no toolchain); the module is assembled once per process, in well under a millisecond.
 *
 * Structured control takes names (`block("done", ...)`, `br("done")`), resolved to
 * relative depths when the tree is flattened.
 */

/** A piece of code: raw bytes, a sequence, a structured block, or a branch by name. */
export type Node = number | readonly Node[] | Struct | Branch;

interface Struct {
  readonly kind: "struct";
  readonly opcode: 0x02 | 0x03 | 0x04;
  readonly label: string;
  readonly body: readonly Node[];
  readonly orElse?: readonly Node[];
}

interface Branch {
  readonly kind: "branch";
  readonly opcode: 0x0c | 0x0d | 0x0e;
  readonly labels: readonly string[];
}

export const I32 = 0x7f;
export const I64 = 0x7e;
export const V128 = 0x7b;

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (byte & 0x40) === 0) || (n === -1n && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

// ---- structure ----

export const block = (label: string, ...body: Node[]): Struct => ({ kind: "struct", opcode: 0x02, label, body });
export const loop = (label: string, ...body: Node[]): Struct => ({ kind: "struct", opcode: 0x03, label, body });
/** `if cond then ... [else ...]`; the `if` is a label too, but unnamed ones cannot be targeted. */
export const when = (cond: Node, body: readonly Node[], orElse?: readonly Node[]): Node => [
  cond,
  { kind: "struct", opcode: 0x04, label: "", body, ...(orElse ? { orElse } : {}) },
];
export const br = (label: string): Branch => ({ kind: "branch", opcode: 0x0c, labels: [label] });
export const brIf = (label: string, cond: Node): Node => [cond, { kind: "branch", opcode: 0x0d, labels: [label] }];
/** br_table: `labels[index]`, or the last label when index is out of range. */
export const brTable = (index: Node, labels: readonly string[]): Node => [index, { kind: "branch", opcode: 0x0e, labels }];
export const ret = (value: Node): Node => [value, 0x0f];

// ---- values ----

export const i32 = (n: number): Node => [0x41, ...sleb(BigInt(n | 0))];
export const i64 = (n: bigint): Node => [0x42, ...sleb(BigInt.asIntN(64, n))];
export const get = (local: number): Node => [0x20, ...uleb(local)];
export const set = (local: number, value: Node): Node => [value, 0x21, ...uleb(local)];
export const select = (ifTrue: Node, ifFalse: Node, cond: Node): Node => [ifTrue, ifFalse, cond, 0x1b];

const binary = (opcode: number) => (a: Node, b: Node): Node => [a, b, opcode];
export const eqz = (a: Node): Node => [a, 0x45];
export const eq = binary(0x46);
export const ne = binary(0x47);
export const ltU = binary(0x49);
export const gtU = binary(0x4b);
export const geS = binary(0x4e);
export const geU = binary(0x4f);
export const eq64 = binary(0x51);
export const add = binary(0x6a);
export const sub = binary(0x6b);
export const and = binary(0x71);
export const or = binary(0x72);
export const shl = binary(0x74);
export const shrU = binary(0x76);
export const ctz = (a: Node): Node => [a, 0x68];
/** Call function number `fn` of the module (its position in assembleModule's list). */
export const call = (fn: number, ...args: Node[]): Node => [args, 0x10, ...uleb(fn)];
/** memory.copy (bulk memory): `n` bytes from `src` to `dst`. */
export const memoryCopy = (dst: Node, src: Node, n: Node): Node => [dst, src, n, 0xfc, ...uleb(10), 0, 0];

// ---- memory (alignment hints 0: every access here may be unaligned) ----

const memarg = (offset: number): number[] => [0, ...uleb(offset)];
export const load8 = (addr: Node, offset = 0): Node => [addr, 0x2d, ...memarg(offset)];
export const load16 = (addr: Node, offset = 0): Node => [addr, 0x2f, ...memarg(offset)];
export const load32 = (addr: Node, offset = 0): Node => [addr, 0x28, ...memarg(offset)];
export const load64 = (addr: Node, offset = 0): Node => [addr, 0x29, ...memarg(offset)];
export const store8 = (addr: Node, value: Node, offset = 0): Node => [addr, value, 0x3a, ...memarg(offset)];
export const store32 = (addr: Node, value: Node, offset = 0): Node => [addr, value, 0x36, ...memarg(offset)];

// ---- SIMD (128-bit) ----

const simd = (op: number): number[] => [0xfd, ...uleb(op)];
export const v128load = (addr: Node, offset = 0): Node => [addr, ...simd(0x00), ...memarg(offset)];
export const v128store = (addr: Node, value: Node, offset = 0): Node => [addr, value, ...simd(0x0b), ...memarg(offset)];
export const i8x16splat = (a: Node): Node => [a, ...simd(0x0f)];
export const i8x16eq = (a: Node, b: Node): Node => [a, b, ...simd(0x23)];
export const i8x16ltU = (a: Node, b: Node): Node => [a, b, ...simd(0x26)];
export const v128or = (a: Node, b: Node): Node => [a, b, ...simd(0x50)];
export const i8x16bitmask = (a: Node): Node => [a, ...simd(0x64)];

/** Flatten a tree of code into bytes, resolving branch labels to relative depths. */
export function flatten(node: Node, labels: string[] = [], out: number[] = []): number[] {
  if (typeof node === "number") {
    out.push(node);
  } else if (Array.isArray(node)) {
    for (const n of node as readonly Node[]) flatten(n, labels, out);
  } else if ((node as Struct).kind === "struct") {
    const s = node as Struct;
    out.push(s.opcode, 0x40); // block type: no result
    labels.push(s.label);
    for (const n of s.body) flatten(n, labels, out);
    if (s.orElse) {
      out.push(0x05);
      for (const n of s.orElse) flatten(n, labels, out);
    }
    labels.pop();
    out.push(0x0b);
  } else {
    const b = node as Branch;
    const depths = b.labels.map((name) => depthOf(labels, name));
    out.push(b.opcode);
    if (b.opcode === 0x0e) out.push(...uleb(depths.length - 1));
    for (const d of depths) out.push(...uleb(d));
  }
  return out;
}

function depthOf(labels: readonly string[], name: string): number {
  const at = labels.lastIndexOf(name);
  if (at < 0 || name === "") throw new Error(`wasm-asm: no enclosing block named ${JSON.stringify(name)}`);
  return labels.length - 1 - at;
}

export interface FunctionDef {
  /** Export name. */
  name: string;
  params: readonly number[];
  results: readonly number[];
  /** Local groups after the parameters: [count, type]. */
  locals: readonly (readonly [number, number])[];
  body: Node;
}

function section(id: number, payload: readonly number[]): number[] {
  return [id, ...uleb(payload.length), ...payload];
}

function vec(items: readonly (readonly number[])[]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  const bytes = [...Buffer.from(s, "utf8")];
  return [...uleb(bytes.length), ...bytes];
}

/** Bytes placed in memory at `offset` when the module is instantiated. */
export interface DataSegment {
  offset: number;
  bytes: Uint8Array;
}

export const dataSegment = (offset: number, bytes: Uint8Array): DataSegment => ({ offset, bytes });

/** A module with one memory (exported as "memory", `pages` of 64 KiB to start), the given functions and data. */
export function assembleModule(fns: readonly FunctionDef[], pages: number, data: readonly DataSegment[] = []): Uint8Array {
  const types = section(1, vec(fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))])));
  const funcs = section(3, vec(fns.map((_, i) => uleb(i))));
  const memory = section(5, vec([[0x00, ...uleb(pages)]]));
  const exports = section(7, vec([[...name("memory"), 0x02, 0], ...fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])]));
  const code = section(
    10,
    vec(
      fns.map((f) => {
        const body = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...flatten(f.body), 0x0b];
        return [...uleb(body.length), ...body];
      }),
    ),
  );
  // Active segments of memory 0: offset as a constant expression, then the bytes.
  const dataSection = section(11, vec(data.map((d) => [0x00, 0x41, ...sleb(BigInt(d.offset)), 0x0b, ...uleb(d.bytes.length), ...d.bytes])));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...funcs, ...memory, ...exports, ...code, ...dataSection]);
}
