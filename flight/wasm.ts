// What the two hand-assembled WebAssembly SIMD modules share (rebase-offsets.ts on the send path,
// check-offsets.ts on the receive path): instantiating one, and growing its memory to fit.

/** A module's exported memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

// Node's types leave out the WebAssembly global (TypeScript declares it in the DOM library).
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { readonly exports: unknown };
};

/** The module's exports, or null where WebAssembly (or its SIMD) is not available (node --jitless). */
export function instantiate<Exports>(bytes: Uint8Array): Exports | null {
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as Exports;
  } catch {
    return null;
  }
}

const PAGE = 65536;

/** Grows `memory` to hold at least `bytes`; true if it grew (its buffer is then a new one). */
export function ensureBytes(memory: WasmMemory, bytes: number): boolean {
  const have = memory.buffer.byteLength;
  if (have >= bytes) return false;
  memory.grow(Math.ceil((bytes - have) / PAGE));
  return true;
}
