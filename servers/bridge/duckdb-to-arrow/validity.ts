import duckdb from '@duckdb/node-bindings';
import { copyBits, countSetBits, getBit, setBits, clearBit } from '../bits.ts';

/** A validity mask read from a DuckDB vector: null when every row is valid. */
export type Mask = Uint8Array | null;

/** Reads the validity of rows [0, rows) of a vector (one copy; null when DuckDB has no mask). */
export function readMask(vector: duckdb.Vector, rows: number): Mask {
  if (rows === 0) return null;
  return duckdb.vector_get_validity(vector, ((rows + 63) >>> 6) * 8);
}

export function isValid(mask: Mask, row: number): boolean {
  return mask === null || getBit(mask, row) === 1;
}

/**
 * Accumulates an Arrow validity bitmap. The bitmap is only allocated once a null shows up, so
 * columns without nulls cost nothing here.
 */
export class ValidityBuilder {
  private bitmap: Uint8Array | null = null;
  private length = 0;
  private nulls = 0;

  constructor(private capacityHint: number) {}

  get nullCount(): number {
    return this.nulls;
  }

  /** Appends rows [start, start + count) of `mask`. */
  appendRange(mask: Mask, start: number, count: number): void {
    if (mask === null) {
      this.appendValid(count);
      return;
    }
    const nulls = count - countSetBits(mask, start, count);
    if (nulls === 0) {
      this.appendValid(count);
      return;
    }
    const bitmap = this.reserve(this.length + count);
    copyBits(mask, start, bitmap, this.length, count);
    this.length += count;
    this.nulls += nulls;
  }

  /** Appends the validity of the given rows of `mask`. */
  appendRows(mask: Mask, rows: Int32Array, count: number): void {
    if (mask === null) {
      this.appendValid(count);
      return;
    }
    for (let i = 0; i < count; i++) {
      if (getBit(mask, rows[i]) === 1) this.appendValid(1);
      else this.appendNull();
    }
  }

  appendValid(count: number): void {
    if (this.bitmap !== null) setBits(this.reserve(this.length + count), this.length, count);
    this.length += count;
  }

  appendNull(): void {
    const bitmap = this.reserve(this.length + 1);
    clearBit(bitmap, this.length);
    this.length++;
    this.nulls++;
  }

  /** Turns an already appended valid position into a null. */
  markNull(position: number): void {
    const bitmap = this.reserve(this.length);
    if (getBit(bitmap, position) === 1) {
      clearBit(bitmap, position);
      this.nulls++;
    }
  }

  /** Hands out the bitmap for the rows appended so far and starts over. */
  finish(): { nullCount: number; nullBitmap: Uint8Array | undefined } {
    const out = {
      nullCount: this.nulls,
      nullBitmap: this.nulls > 0 && this.bitmap !== null ? this.bitmap.subarray(0, (this.length + 7) >> 3) : undefined,
    };
    this.bitmap = null;
    this.length = 0;
    this.nulls = 0;
    return out;
  }

  private reserve(bits: number): Uint8Array {
    const needed = (bits + 7) >> 3;
    let bitmap = this.bitmap;
    if (bitmap === null) {
      bitmap = new Uint8Array(Math.max(needed, (this.capacityHint + 7) >> 3, 8));
      setBits(bitmap, 0, this.length);
      this.bitmap = bitmap;
    } else if (bitmap.length < needed) {
      const grown = new Uint8Array(Math.max(needed, bitmap.length * 2));
      grown.set(bitmap);
      this.bitmap = bitmap = grown;
    }
    return bitmap;
  }
}
