// Whether a received column's 32-bit offsets ever decrease. Offsets come from the peer and
// arrow-js and DuckDB trust them, so every pair is compared, in every batch. A JavaScript loop
// over an Int32Array costs 1.2-3 ns per offset on our 2-core bench machine (unrolled by four, no
// better); copying the offsets into WebAssembly's memory and comparing four pairs at a time with
// its 128-bit SIMD costs 0.2-0.4 ns per offset, copy included, from a few thousand offsets up.
// The memory keeps the size of the largest column checked (4 bytes a row).

import { ensureBytes, instantiate, type WasmMemory } from './wasm.ts';

/*
 * The module, hand-assembled below from this text format:
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "decreases") (param $at i32) (param $pairs i32) (result i32)
 *       (local $end i32) (local $any v128)
 *       (local.set $end (i32.add (local.get $at) (i32.shl (local.get $pairs) (i32.const 2))))
 *       (block $done
 *         (loop $next
 *           (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
 *           (local.set $any (v128.or (local.get $any)
 *             (i32x4.lt_s (v128.load offset=4 (local.get $at)) (v128.load (local.get $at)))))
 *           (local.set $at (i32.add (local.get $at) (i32.const 16)))
 *           (br $next)))
 *       (v128.any_true (local.get $any))))
 *
 * It compares whole groups of four pairs, so the last group may read up to three values past
 * the last offset: the caller writes copies of the last offset there, equal pairs that are no
 * decrease.
 */
// One WebAssembly instruction a line, its bytes beside its text.
// prettier-ignore
const BODY = [
  0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: one i32 ($end), one v128 ($any)
  0x20, 0x00, 0x20, 0x01, 0x41, 0x02, 0x74, 0x6a, 0x21, 0x02, // $end = $at + ($pairs << 2)
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x00, 0x20, 0x02, 0x4f, 0x0d, 0x01, // br_if 1 ($at >= $end)
  0x20, 0x03, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x04, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, // $any, load(at + 4), load(at)
  0xfd, 0x39, 0xfd, 0x50, 0x21, 0x03, // $any = $any | (load(at + 4) < load(at))
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // $at += 16
  0x0c, 0x00, 0x0b, 0x0b, // br 0; end loop, block
  0x20, 0x03, 0xfd, 0x53, 0x0b, // v128.any_true($any); end function
];
// One section of the module a line, its bytes beside what it holds.
// prettier-ignore
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, // types: (i32, i32) -> i32
  0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: one, at least 1 page
  0x07, 0x16, 0x02, // exports: two
  0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // "memory": memory 0
  0x09, 0x64, 0x65, 0x63, 0x72, 0x65, 0x61, 0x73, 0x65, 0x73, 0x00, 0x00, // "decreases": function 0
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // code: one body
]);

interface Simd {
  memory: WasmMemory;
  decreases: (at: number, pairs: number) => number;
}

/** The module, or null where WebAssembly (or its SIMD) is not available (node --jitless). */
const simd = instantiate<Simd>(MODULE);

/** The module's memory as offsets; replaced when the memory grows (growing detaches it). */
let staged = simd === null ? new Int32Array(0) : new Int32Array(simd.memory.buffer);

/** Whether WebAssembly does the work here: false under node --jitless. */
export const usesWebAssembly = simd !== null;

/** Below this many pairs the JavaScript loop wins: a call to the module costs about 0.2 µs. */
const SIMD_FROM = 256;

/**
 * Whether any of `offsets[from + 1 ..= n]` is below the one before it. Only the answer: a caller
 * that must name the row looks for it again.
 *
 * @example int32Decreases(Int32Array.of(0, 3, 2), 0, 2) // true
 */
export function int32Decreases(offsets: Int32Array, from: number, n: number): boolean {
  return simd !== null && n - from >= SIMD_FROM ? decreasesInWasm(offsets, from, n) : decreasesInJs(offsets, from, n);
}

/** The module's answer, at any length (tests call it on short columns too). */
export function decreasesInWasm(offsets: Int32Array, from: number, n: number): boolean {
  if (simd === null) throw new Error('WebAssembly SIMD is not available');
  const pairs = n - from;
  if (pairs <= 0) return false;
  if (ensureBytes(simd.memory, (pairs + 4) * 4)) staged = new Int32Array(simd.memory.buffer);
  staged.set(offsets.subarray(from, n + 1));
  staged.fill(offsets[n]!, pairs + 1, pairs + 4);
  return simd.decreases(0, pairs) !== 0;
}

/** Branch-free: about twice as fast as comparing and branching per pair. */
export function decreasesInJs(offsets: Int32Array, from: number, n: number): boolean {
  let previous = offsets[from]!;
  let decreased = 0;
  for (let i = from + 1; i <= n; i++) {
    const next = offsets[i]!;
    decreased |= +(next < previous);
    previous = next;
  }
  return decreased !== 0;
}
