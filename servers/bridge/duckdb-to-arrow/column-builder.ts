import type duckdb from '@duckdb/node-bindings';
import type { Data, DataType } from 'apache-arrow';
import { ValidityBuilder } from './validity.ts';

/**
 * Turns DuckDB vectors into one Arrow column, batch by batch. A builder is fed rows of flat
 * DuckDB vectors, either a contiguous range (the common case: a whole result chunk, or a list's
 * child range) or a list of row indexes (list entries that DuckDB left scattered over the child
 * vector), and hands out an Arrow `Data` for everything fed since the previous `finish()`.
 */
export abstract class ColumnBuilder {
  abstract readonly type: DataType;
  /** Arrow field metadata the column needs (extension types), if any. */
  readonly metadata: Map<string, string> | undefined = undefined;
  protected readonly validity: ValidityBuilder;
  protected length = 0;

  constructor(protected readonly capacityHint: number) {
    this.validity = new ValidityBuilder(capacityHint);
  }

  /** Appends rows [start, start + count) of `vector`. */
  abstract appendRange(vector: duckdb.Vector, start: number, count: number): void;

  /** Appends rows `rows[0..count)` of `vector`, in that order. */
  abstract appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void;

  /** The column for everything appended since the last call; the builder starts over. */
  abstract finish(): Data;

  /** Bytes held for the current batch, to bound batch sizes. */
  abstract byteLength(): number;

  /** Turns an appended position into a null (used by unions, whose nulls live in a child). */
  markNull(position: number): void {
    this.validity.markNull(position);
  }

  get rowCount(): number {
    return this.length;
  }
}

/**
 * Uninitialised memory: every byte a builder hands out is written first, so zero-filling each new
 * batch buffer would be wasted work (it is a measurable share of the export).
 */
export function uninitialisedBytes(length: number): Uint8Array {
  const buffer = Buffer.allocUnsafeSlow(length);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/** A byte buffer that grows by doubling, with a DataView for word-sized stores at any offset. */
export class GrowableBytes {
  bytes: Uint8Array;
  view: DataView;

  constructor(initialBytes: number) {
    this.bytes = uninitialisedBytes(Math.max(initialBytes, 64));
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  reserve(totalBytes: number): Uint8Array {
    if (this.bytes.length < totalBytes) {
      const grown = uninitialisedBytes(Math.max(totalBytes, this.bytes.length * 2));
      grown.set(this.bytes);
      this.bytes = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    }
    return this.bytes;
  }

  /** Hands out the first `used` bytes and starts a fresh buffer of the same capacity. */
  take(used: number): Uint8Array {
    const out = this.bytes.subarray(0, used);
    this.bytes = uninitialisedBytes(this.bytes.length);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    return out;
  }
}

/** Largest row index in `rows[0..count)` plus one: how much of a vector a selection touches. */
export function rowsExtent(rows: Int32Array, count: number): number {
  let max = -1;
  for (let i = 0; i < count; i++) if (rows[i] > max) max = rows[i];
  return max + 1;
}
