// Table comparison with a sentence naming the first difference, as test/peers/compare.py words
// it (the echo server's `compare` action answers with it, and the tests assert with it).

import { isDeepStrictEqual } from 'node:util';
import type { Table } from 'apache-arrow';
import { cell, fieldSignature, type SignatureOptions } from './arrow-matrix.ts';

function show(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
}

/**
 * Null when the tables are equal; else the first difference. Schemas compare by names, types
 * and nullability (metadata too unless `metadata: false`); values row by row, exactly (the
 * decoded value and, for fixed-width columns, its bits). Dictionary columns compare by decoded
 * values, so two dictionary layouts of the same data are equal.
 */
export function firstDifference(a: Table, b: Table, options: SignatureOptions = {}): string | null {
  const fa = a.schema.fields;
  const fb = b.schema.fields;
  if (fa.length !== fb.length) {
    return `schemas differ: ${fa.length} columns vs ${fb.length} (${show(fa.map((f) => f.name))} vs ${show(fb.map((f) => f.name))})`;
  }
  for (let i = 0; i < fa.length; i++) {
    const sa = fieldSignature(fa[i]!, options);
    const sb = fieldSignature(fb[i]!, options);
    if (!isDeepStrictEqual(sa, sb)) return `schemas differ at column ${i}: ${show(sa)} vs ${show(sb)}`;
  }
  if (options.metadata !== false && !isDeepStrictEqual([...a.schema.metadata].sort(), [...b.schema.metadata].sort())) {
    return `schema metadata differs: ${show([...a.schema.metadata])} vs ${show([...b.schema.metadata])}`;
  }
  if (a.numRows !== b.numRows) return `row counts differ: ${a.numRows} vs ${b.numRows}`;
  for (let c = 0; c < fa.length; c++) {
    const va = a.getChildAt(c)!;
    const vb = b.getChildAt(c)!;
    for (let row = 0; row < a.numRows; row++) {
      const x = cell(va, row);
      const y = cell(vb, row);
      if (!isDeepStrictEqual(x, y)) return `column '${fa[c]!.name}' differs at row ${row}: ${show(x)} vs ${show(y)}`;
    }
  }
  return null;
}
