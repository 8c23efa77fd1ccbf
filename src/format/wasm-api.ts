/**
 * The few WebAssembly declarations the project uses (its type libraries have none), and
 * compiling a module once per process where the engine has WebAssembly.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export interface WasmModule {
  readonly kind?: "module";
}
export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => WasmInstance;
}

/** Bytes of a WebAssembly memory page. */
export const WASM_PAGE = 65536;

/** Undefined where the engine has no WebAssembly (e.g. node --jitless). */
const wasm = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;

/** A module compiled from base64 bytes, or null where WebAssembly (or a feature it uses) is unavailable. */
export function compileWasm(base64: string): WasmModule | null {
  try {
    return wasm ? new wasm.Module(Buffer.from(base64, "base64")) : null;
  } catch {
    return null; // e.g. --jitless: every caller has a JavaScript path with the same results
  }
}

/** A new instance (with its own memory) of a compiled module. */
export function instantiateWasm(module: WasmModule): WasmInstance {
  return new (wasm as WasmApi).Instance(module, {});
}
