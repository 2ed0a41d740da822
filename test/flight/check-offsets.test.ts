// int32Decreases (flight/check-offsets.ts): whether a received column's offsets ever decrease,
// on the WebAssembly path, the JavaScript one, and the choice between them, each compared with
// a plain loop. A miss lets hostile offsets through to arrow-js and DuckDB.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Table, Utf8, makeData, makeVector } from 'apache-arrow';
import { decreasesInJs, decreasesInWasm, int32Decreases, usesWebAssembly } from '../../flight/check-offsets.ts';
import { FlightDataDecoder, FlightDataEncoder, decodeFlightData } from '../../flight/index.ts';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function reference(offsets: Int32Array, from: number, n: number): boolean {
  for (let i = from; i < n; i++) if (offsets[i + 1]! < offsets[i]!) return true;
  return false;
}

type Check = (offsets: Int32Array, from: number, n: number) => boolean;
const checks: [string, Check][] = [
  ['javascript', decreasesInJs],
  ['choice', int32Decreases],
  ...(usesWebAssembly ? [['webassembly', decreasesInWasm] as [string, Check]] : []),
];

/** Deterministic, so that a failure repeats. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
}

function nonDecreasing(length: number, next: () => number, start = 0): Int32Array {
  const offsets = new Int32Array(length);
  let value = start;
  for (let i = 0; i < length; i++) {
    offsets[i] = value;
    value += Math.floor(next() * 3); // steps of 0, 1 and 2: equal neighbours are common
  }
  return offsets;
}

function agree(check: Check, name: string, offsets: Int32Array, from: number, n: number, what: string): void {
  assert.equal(check(offsets, from, n), reference(offsets, from, n), `${name}: ${what}, length ${offsets.length}, from ${from}, n ${n}`);
}

test('the WebAssembly path is taken where WebAssembly runs', () => {
  assert.equal(usesWebAssembly, true);
});

test('non-decreasing offsets of every short length, and long ones, pass', () => {
  const next = random(1);
  for (const [name, check] of checks) {
    for (const length of [...Array.from({ length: 71 }, (_, i) => i), 255, 256, 257, 300, 100_000, 100_003]) {
      const offsets = nonDecreasing(length, next);
      for (const from of [0, 1, 2, 3, 5]) {
        for (const n of new Set([length - 1, length - 2, from, from + 1])) {
          if (n < from || n >= length) continue;
          agree(check, name, offsets, from, n, 'non-decreasing');
          assert.equal(check(offsets, from, n), false);
        }
      }
    }
  }
});

test('a single decrease is found at every position, every alignment, and from any start', () => {
  const next = random(2);
  for (const [name, check] of checks) {
    for (const length of [2, 3, 4, 5, 6, 7, 8, 9, 12, 17, 33, 70, 258, 263, 1029]) {
      const clean = nonDecreasing(length, next, 10);
      for (const from of [0, 1, 2, 3, 4, 7]) {
        if (from >= length) continue;
        const n = length - 1;
        // The pair (i, i + 1) decreases; pairs before `from` are not the check's business.
        for (let i = 0; i < n; i++) {
          const offsets = clean.slice();
          offsets[i + 1] = offsets[i]! - 1;
          for (let j = i + 2; j < length; j++) offsets[j] = Math.max(offsets[j]!, offsets[i + 1]!);
          agree(check, name, offsets, from, n, `decrease at pair ${i}`);
          assert.equal(check(offsets, from, n), i >= from, `${name}: pair ${i}, length ${length}, from ${from}`);
        }
      }
    }
  }
});

test('values past n, in the same buffer, are not compared', () => {
  for (const [name, check] of checks) {
    for (const length of [5, 6, 7, 8, 9, 300]) {
      const offsets = Int32Array.from({ length }, (_, i) => i);
      for (let n = 1; n < length; n++) {
        const after = offsets.slice();
        after.fill(-5, n + 1); // a decrease right after the last row, then garbage
        assert.equal(check(after, 0, n), false, `${name}: length ${length}, n ${n}`);
        // and on a view that ends at n, so the last group of four reaches past the view
        assert.equal(check(after.subarray(0, n + 1), 0, n), false, `${name}: view, length ${length}, n ${n}`);
      }
    }
  }
});

test('comparisons are signed: INT32_MIN and INT32_MAX', () => {
  const cases: number[][] = [
    [INT32_MIN, INT32_MAX],
    [INT32_MAX, INT32_MIN],
    [-1, 0],
    [0, -1],
    [INT32_MAX, INT32_MAX],
    [INT32_MIN, INT32_MIN],
    [INT32_MAX, INT32_MAX - 1],
    [INT32_MIN + 1, INT32_MIN],
    [-1, INT32_MAX],
    [INT32_MAX, -1],
  ];
  for (const [name, check] of checks) {
    for (const [a, b] of cases) {
      for (const position of [0, 1, 2, 3, 4, 5, 260, 261, 262, 263]) {
        // Equal values around the pair, chosen so that no other pair decreases.
        const length = position + 2 + 5;
        const offsets = new Int32Array(length);
        offsets.fill(Math.min(a!, b!), 0, position);
        offsets[position] = a!;
        offsets[position + 1] = b!;
        offsets.fill(Math.max(a!, b!), position + 2);
        agree(check, name, offsets, 0, length - 1, `pair ${a}, ${b} at ${position}`);
      }
    }
  }
});

test('random offsets, decreasing or not, agree with the plain loop', () => {
  const next = random(3);
  for (const [name, check] of checks) {
    for (let round = 0; round < 2000; round++) {
      const length = 1 + Math.floor(next() * (round % 10 === 0 ? 1000 : 80));
      const offsets = nonDecreasing(length, next, Math.floor(next() * 100));
      if (next() < 0.5) offsets[Math.floor(next() * length)] = Math.floor(next() * 2 ** 32) | 0;
      const from = Math.floor(next() * length);
      const n = from + Math.floor(next() * (length - from));
      agree(check, name, offsets, from, n, `round ${round}`);
    }
  }
});

test('the module memory grows for a larger column and still answers for smaller ones', () => {
  for (const length of [1 << 20, 10, 1 << 18, 300]) {
    const offsets = Int32Array.from({ length }, (_, i) => i);
    assert.equal(int32Decreases(offsets, 0, length - 1), false);
    offsets[length - 1] = 0;
    assert.equal(int32Decreases(offsets, 0, length - 1), length > 2);
  }
});

test('under node --jitless (no WebAssembly) the JavaScript path answers', () => {
  const script = `
    import { int32Decreases, usesWebAssembly } from './flight/check-offsets.ts';
    const rising = Int32Array.from({ length: 1000 }, (_, i) => i);
    const falling = rising.slice(); falling[999] = 0;
    console.log(JSON.stringify([usesWebAssembly, int32Decreases(rising, 0, 999), int32Decreases(falling, 0, 999), int32Decreases(falling, 0, 998)]));
  `;
  const child = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', '--input-type=module', '--eval', script], {
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  assert.deepEqual(JSON.parse(child.stdout), [false, false, true, false]);
});

test('the decoder refuses a received column whose offsets decrease, naming the row', () => {
  for (const [rows, row] of [
    [1000, 0],
    [1000, 517],
    [1000, 999],
    [5, 3],
  ] as const) {
    // Rising by one from 1, then one step back at `row`: the only decrease. The encoder rebases
    // the offsets to start at 0, so the receiver sees row - 1 after row.
    const offsets = Int32Array.from({ length: rows + 1 }, (_, i) => i + 1);
    offsets[row + 1] = row;
    const strings = makeData({ type: new Utf8(), length: rows, nullCount: 0, valueOffsets: offsets, data: new Uint8Array(rows + 1) });
    const table = new Table({ s: makeVector(strings) });
    const encoder = new FlightDataEncoder();
    const decoder = new FlightDataDecoder();
    decoder.decode(decodeFlightData(encoder.encodeSchema(table.schema)));
    const [message] = encoder.encodeBatch(table.batches[0]!);
    assert.throws(
      () => decoder.decode(decodeFlightData(message!)),
      new RegExp(`column of type Utf8: offsets decrease from ${row} to ${row - 1} at row ${row}`),
      `${rows} rows, decrease at row ${row}`,
    );
  }
});
