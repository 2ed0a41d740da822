import duckdb from '@duckdb/node-bindings';
import type { Data } from 'apache-arrow';
import { copyBits } from '../bits.ts';

/**
 * Writes Arrow values into a DuckDB vector of one fixed type. `write` fills rows [0, count) of
 * the vector from rows [row, row + count) of `data`, following arrow-js conventions: value and
 * offset buffers start at the Data's first row, validity and boolean bits at `data.offset`,
 * struct and fixed-size-list children are sliced along with their parent.
 */
export interface ColumnWriter {
  write(vector: duckdb.Vector, data: Data, row: number, count: number): void;
}

/** A reusable scratch buffer: the bindings copy out of it at once, so one per writer is enough. */
export class Scratch {
  private buffer = new ArrayBuffer(0);

  /** `bytes` zeroed bytes. */
  bytes(bytes: number): Uint8Array {
    if (this.buffer.byteLength < bytes) this.buffer = new ArrayBuffer(Math.max(bytes, this.buffer.byteLength * 2, 64));
    const view = new Uint8Array(this.buffer, 0, bytes);
    view.fill(0);
    return view;
  }
}

/** Whether row `row` of `data` is valid (arrow-js bitmaps are indexed from `data.offset`). */
export function arrowRowValid(data: Data, row: number): boolean {
  const bitmap = data.nullBitmap;
  if (bitmap === undefined || bitmap.length === 0 || data.nullCount === 0) return true;
  const bit = data.offset + row;
  return ((bitmap[bit >> 3] >> (bit & 7)) & 1) === 1;
}

/** Copies the validity of rows [row, row + count) of `data` into rows [0, count) of `vector`. */
export function writeValidity(vector: duckdb.Vector, data: Data, row: number, count: number): void {
  const bitmap = data.nullBitmap;
  if (count === 0 || bitmap === undefined || bitmap.length === 0 || data.nullCount === 0) return;
  duckdb.vector_ensure_validity_writable(vector);
  const bit = data.offset + row;
  const bytes = (count + 7) >> 3;
  if ((bit & 7) === 0) {
    duckdb.copy_data_to_vector_validity(vector, 0, bitmap.buffer as ArrayBuffer, bitmap.byteOffset + (bit >> 3), bytes);
  } else {
    const aligned = new Uint8Array(bytes);
    copyBits(bitmap, bit, aligned, 0, count);
    duckdb.copy_data_to_vector_validity(vector, 0, aligned.buffer, 0, bytes);
  }
}

/** Marks rows [0, count) of `vector` NULL. */
export function writeAllNull(vector: duckdb.Vector, count: number): void {
  if (count === 0) return;
  duckdb.vector_ensure_validity_writable(vector);
  const zeros = new Uint8Array((count + 7) >> 3);
  duckdb.copy_data_to_vector_validity(vector, 0, zeros.buffer, 0, zeros.length);
}

/** The bytes behind a typed array. */
export function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** An Int32Array over the same bytes (arrow-js buffers are at least 8-byte aligned). */
export function int32sOf(view: ArrayBufferView): Int32Array {
  if ((view.byteOffset & 3) !== 0) throw new Error('bridge: Arrow buffer is not 4-byte aligned');
  return new Int32Array(view.buffer, view.byteOffset, view.byteLength >> 2);
}
