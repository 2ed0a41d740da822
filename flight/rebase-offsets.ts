// Rebasing the 32-bit offsets of a sliced string or list column (each minus the first) as they
// are copied into an outgoing message. A JavaScript loop over an Int32Array ran at 2-4 ns per
// offset on our 2-core bench machine, well above a memory copy of the same bytes (0.1-0.6 ns);
// the same addition with WebAssembly's 128-bit SIMD, four offsets at a time, costs about as
// much as copying the offsets into its memory and out again: 0.5-1 ns per offset.

import { ensureBytes, instantiate, type WasmMemory } from './wasm.ts';

/*
 * The module, hand-assembled below from this text format:
 *
 *   (module
 *     (memory (export "memory") 1)
 *     (func (export "add") (param $at i32) (param $count i32) (param $delta i32)
 *       (local $end i32) (local $add v128)
 *       (local.set $add (i32x4.splat (local.get $delta)))
 *       (local.set $end (i32.add (local.get $at) (i32.shl (local.get $count) (i32.const 2))))
 *       (block $done
 *         (loop $next
 *           (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
 *           (v128.store (local.get $at) (i32x4.add (v128.load (local.get $at)) (local.get $add)))
 *           (local.set $at (i32.add (local.get $at) (i32.const 16)))
 *           (br $next)))))
 *
 * It works on whole groups of four: up to three values past `count` are changed too, so the
 * memory always has 16 bytes to spare.
 */
// One WebAssembly instruction a line, its bytes beside its text.
// prettier-ignore
const BODY = [
  0x02, 0x01, 0x7f, 0x01, 0x7b, // locals: one i32 ($end), one v128 ($add)
  0x20, 0x02, 0xfd, 0x11, 0x21, 0x04, // $add = i32x4.splat($delta)
  0x20, 0x00, 0x20, 0x01, 0x41, 0x02, 0x74, 0x6a, 0x21, 0x03, // $end = $at + ($count << 2)
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x00, 0x20, 0x03, 0x4f, 0x0d, 0x01, // br_if 1 ($at >= $end)
  0x20, 0x00, 0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x20, 0x04, 0xfd, 0xae, 0x01, 0xfd, 0x0b, 0x00, 0x00, // store(at, load(at) + add)
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // $at += 16
  0x0c, 0x00, 0x0b, 0x0b, 0x0b, // br 0; end loop, block, function
];
// One section of the module a line, its bytes beside what it holds.
// prettier-ignore
const MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x07, 0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00, // types: (i32, i32, i32) -> ()
  0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
  0x05, 0x03, 0x01, 0x00, 0x01, // memory: one, at least 1 page
  0x07, 0x10, 0x02, // exports: two
  0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, // "memory": memory 0
  0x03, 0x61, 0x64, 0x64, 0x00, 0x00, // "add": function 0
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // code: one body
]);

interface Simd {
  memory: WasmMemory;
  add: (at: number, count: number, delta: number) => void;
}

/** The module, or null where WebAssembly (or its SIMD) is not available (node --jitless). */
const simd = instantiate<Simd>(MODULE);

let scratch = new Int32Array(16 * 1024);

/** Writes `offsets` with `delta` added to each into `out` at byte `at` (any alignment). */
export function copyRebased(offsets: Int32Array, delta: number, out: Uint8Array, at: number): void {
  const bytes = offsets.byteLength;
  if (simd !== null) {
    const { memory } = simd;
    ensureBytes(memory, bytes + 16);
    const staged = new Uint8Array(memory.buffer, 0, bytes);
    staged.set(new Uint8Array(offsets.buffer, offsets.byteOffset, bytes));
    simd.add(0, offsets.length, delta);
    out.set(staged, at);
    return;
  }
  const n = offsets.length;
  if (scratch.length < n) scratch = new Int32Array(Math.max(n, 2 * scratch.length));
  addInto(scratch, offsets, delta);
  out.set(new Uint8Array(scratch.buffer, 0, bytes), at);
}

/**
 * The loop on its own, so that it is optimized once for the one shape it ever sees: compiled
 * inside a function with other paths, it was deoptimized each time a call took a path it had not
 * been compiled for.
 */
function addInto(target: Int32Array, offsets: Int32Array, delta: number): void {
  const n = offsets.length;
  for (let i = 0; i < n; i++) target[i] = offsets[i]! + delta;
}
