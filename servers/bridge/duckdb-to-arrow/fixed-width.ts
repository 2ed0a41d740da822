import duckdb from '@duckdb/node-bindings';
import { Bool, makeData, type Data, type DataType } from 'apache-arrow';
import { packBooleans } from '../bits.ts';
import { multiplyInt64 } from '../int64-math.ts';
import { ColumnBuilder, GrowableBytes, rowsExtent } from './column-builder.ts';
import { readMask } from './validity.ts';

/**
 * Moves `count` values from DuckDB vector memory (`src`, starting at value `srcRow`) into an
 * Arrow buffer (`dst`, starting at value `dstRow`), converting the representation if needed.
 */
export type Kernel = (src: Uint8Array, srcRow: number, dst: Uint8Array, dstRow: number, count: number) => void;

function int32View(bytes: Uint8Array): Int32Array {
  if ((bytes.byteOffset & 3) !== 0) throw new Error('bridge: vector memory is not 4-byte aligned');
  return new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
}

/** Same representation on both sides: a memory copy. */
export function copyKernel(width: number): Kernel {
  return (src, srcRow, dst, dstRow, count) => {
    const from = srcRow * width;
    const bytes = count * width;
    if (bytes <= 64) {
      const to = dstRow * width;
      for (let i = 0; i < bytes; i++) dst[to + i] = src[from + i];
    } else {
      dst.set(src.subarray(from, from + bytes), dstRow * width);
    }
  };
}

/**
 * DECIMAL stored in 2, 4 or 8 bytes -> Arrow decimal128 (DuckDB's own Arrow export always uses
 * 128 bits): sign-extend each value to four 32-bit words.
 */
export function widenDecimalKernel(srcWidth: 2 | 4 | 8): Kernel {
  return (src, srcRow, dst, dstRow, count) => {
    const out = int32View(dst);
    let o = dstRow * 4;
    if (srcWidth === 8) {
      const input = int32View(src);
      for (let i = 0, s = srcRow * 2; i < count; i++, s += 2, o += 4) {
        const hi = input[s + 1];
        out[o] = input[s];
        out[o + 1] = hi;
        out[o + 2] = out[o + 3] = hi >> 31;
      }
    } else {
      const input = srcWidth === 4 ? int32View(src) : new Int16Array(src.buffer, src.byteOffset, src.byteLength >> 1);
      for (let i = 0, s = srcRow; i < count; i++, s++, o += 4) {
        const v = input[s];
        out[o] = v;
        out[o + 1] = out[o + 2] = out[o + 3] = v >> 31;
      }
    }
  };
}

/** INTERVAL {int32 months, int32 days, int64 micros} -> Arrow month_day_nano {.., int64 nanos}. */
export const intervalKernel: Kernel = (src, srcRow, dst, dstRow, count) => {
  const input = int32View(src);
  const out = int32View(dst);
  for (let i = 0, s = srcRow * 4, o = dstRow * 4; i < count; i++, s += 4, o += 4) {
    out[o] = input[s];
    out[o + 1] = input[s + 1];
  }
  // DuckDB's export multiplies the same way and lets an (absurdly large) interval wrap.
  multiplyInt64(input, out, { srcWord: srcRow * 4 + 2, srcStride: 4, dstWord: dstRow * 4 + 2, dstStride: 4 }, count, 1000);
};

/**
 * TIME WITH TIME ZONE (uint64: micros << 24 | encoded offset) -> time64[us] holding the local
 * time of day, dropping the offset: what DuckDB's own Arrow export does.
 */
export const timeTzKernel: Kernel = (src, srcRow, dst, dstRow, count) => {
  const input = int32View(src);
  const out = int32View(dst);
  for (let i = 0, s = srcRow * 2, o = dstRow * 2; i < count; i++, s += 2, o += 2) {
    const micros = (input[s + 1] >>> 0) * 256 + (input[s] >>> 24);
    const hi = Math.floor(micros / 4294967296);
    out[o] = micros - hi * 4294967296;
    out[o + 1] = hi;
  }
};

/** A column whose DuckDB values have a fixed width (numbers, dates, times, decimals, ...). */
export class FixedWidthBuilder extends ColumnBuilder {
  private readonly data: GrowableBytes;

  constructor(
    readonly type: DataType,
    private readonly srcWidth: number,
    private readonly dstWidth: number,
    private readonly kernel: Kernel,
    capacityHint: number,
  ) {
    super(capacityHint);
    this.data = new GrowableBytes(capacityHint * dstWidth);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count === 0) return;
    const extent = start + count;
    this.validity.appendRange(readMask(vector, extent), start, count);
    const src = duckdb.vector_get_data(vector, extent * this.srcWidth);
    const dst = this.data.reserve((this.length + count) * this.dstWidth);
    this.kernel(src, start, dst, this.length, count);
    this.length += count;
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count === 0) return;
    const extent = rowsExtent(rows, count);
    this.validity.appendRows(readMask(vector, extent), rows, count);
    const src = duckdb.vector_get_data(vector, extent * this.srcWidth);
    const dst = this.data.reserve((this.length + count) * this.dstWidth);
    for (let i = 0; i < count; i++) this.kernel(src, rows[i], dst, this.length + i, 1);
    this.length += count;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    this.length = 0;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- one builder serves many Arrow types
    return makeData({ type: this.type as any, length, nullCount, nullBitmap, data: this.data.take(length * this.dstWidth) });
  }

  byteLength(): number {
    return this.length * this.dstWidth;
  }
}

/** BOOLEAN: one byte per value in DuckDB, one bit in Arrow. */
export class BooleanBuilder extends ColumnBuilder {
  readonly type = new Bool();
  private readonly bits: GrowableBytes;

  constructor(capacityHint: number) {
    super(capacityHint);
    this.bits = new GrowableBytes((capacityHint + 7) >> 3);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count === 0) return;
    const extent = start + count;
    this.validity.appendRange(readMask(vector, extent), start, count);
    const src = duckdb.vector_get_data(vector, extent);
    const dst = this.bits.reserve((this.length + count + 7) >> 3);
    packBooleans(src, start, dst, this.length, count);
    this.length += count;
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count === 0) return;
    const extent = rowsExtent(rows, count);
    this.validity.appendRows(readMask(vector, extent), rows, count);
    const src = duckdb.vector_get_data(vector, extent);
    const dst = this.bits.reserve((this.length + count + 7) >> 3);
    for (let i = 0; i < count; i++) packBooleans(src, rows[i], dst, this.length + i, 1);
    this.length += count;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    this.length = 0;
    const data = this.bits.take((length + 7) >> 3);
    // The buffer is uninitialised memory: clear the bits past the last value.
    if ((length & 7) !== 0) data[length >> 3] &= (1 << (length & 7)) - 1;
    return makeData({ type: this.type, length, nullCount, nullBitmap, data });
  }

  byteLength(): number {
    return (this.length + 7) >> 3;
  }
}
