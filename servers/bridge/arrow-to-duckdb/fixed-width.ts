import duckdb from '@duckdb/node-bindings';
import type { Data } from 'apache-arrow';
import { unpackBooleans } from '../bits.ts';
import { divideInt64, int64ToNumber, multiplyInt64 } from '../int64-math.ts';
import { bytesOf, int32sOf, Scratch, writeAllNull, writeValidity, type ColumnWriter } from './column-writer.ts';

/**
 * Converts `count` Arrow values, starting at value `row` of the Data's value buffer `values`,
 * into DuckDB's representation at the start of `out`.
 */
export type ImportKernel = (values: ArrayBufferView, row: number, out: Uint8Array, count: number) => void;

/** Values with the same layout on both sides: one memory copy straight out of the Arrow buffer. */
export class CopyWriter implements ColumnWriter {
  constructor(private readonly width: number) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const values = data.values as ArrayBufferView;
    duckdb.copy_data_to_vector(vector, 0, values.buffer as ArrayBuffer, values.byteOffset + row * this.width, count * this.width);
  }
}

/** Values that need converting: through a scratch buffer, then one copy into the vector. */
export class ConvertWriter implements ColumnWriter {
  private readonly scratch = new Scratch();

  constructor(
    private readonly outWidth: number,
    private readonly kernel: ImportKernel,
  ) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const out = this.scratch.bytes(count * this.outWidth);
    this.kernel(data.values as ArrayBufferView, row, out, count);
    duckdb.copy_data_to_vector(vector, 0, out.buffer as ArrayBuffer, 0, out.byteLength);
  }
}

/** Arrow bits -> DuckDB one-byte booleans. */
export class BooleanWriter implements ColumnWriter {
  private readonly scratch = new Scratch();

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const out = this.scratch.bytes(count);
    unpackBooleans(data.values as Uint8Array, data.offset + row, out, count);
    duckdb.copy_data_to_vector(vector, 0, out.buffer as ArrayBuffer, 0, count);
  }
}

/** An Arrow null column: every row NULL, whatever the DuckDB type. */
export class NullWriter implements ColumnWriter {
  write(vector: duckdb.Vector, _data: Data, _row: number, count: number): void {
    writeAllNull(vector, count);
  }
}

/** decimal32/64/128 -> DuckDB's DECIMAL storage (int16/32/64/128): keep the low words. */
export function narrowDecimalKernel(inWords: 1 | 2 | 4, outBytes: 2 | 4 | 8 | 16): ImportKernel {
  return (values, row, out, count) => {
    const input = int32sOf(values);
    let s = row * inWords;
    if (outBytes === 2) {
      const output = new Int16Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++, s += inWords) output[i] = input[s];
      return;
    }
    const output = int32sOf(out);
    const outWords = outBytes >> 2;
    for (let i = 0, o = 0; i < count; i++, s += inWords, o += outWords) {
      output[o] = input[s];
      if (outWords > 1) {
        const sign = input[s] >> 31;
        output[o + 1] = inWords > 1 ? input[s + 1] : sign;
        if (outWords > 2) {
          const high = inWords > 1 ? input[s + 1] >> 31 : sign;
          output[o + 2] = inWords > 2 ? input[s + 2] : high;
          output[o + 3] = inWords > 2 ? input[s + 3] : high;
        }
      }
    }
  };
}

/** int64 values times `factor` (unit conversions towards finer units). */
export function multiplyKernel(factor: number, what: string): ImportKernel {
  return (values, row, out, count) =>
    multiplyInt64(int32sOf(values), int32sOf(out), { srcWord: row * 2, srcStride: 2, dstWord: 0, dstStride: 2 }, count, factor, what);
}

/** int64 values divided by `divisor`, rounding down (towards coarser units, as DuckDB truncates). */
export function divideKernel(divisor: number): ImportKernel {
  return (values, row, out, count) =>
    divideInt64(int32sOf(values), int32sOf(out), { srcWord: row * 2, srcStride: 2, dstWord: 0, dstStride: 2 }, count, divisor);
}

/** int32 values times `factor` into int64 (time32 seconds / milliseconds -> TIME microseconds). */
export function widenInt32Kernel(factor: number): ImportKernel {
  return (values, row, out, count) => {
    const input = int32sOf(values);
    const output = int32sOf(out);
    for (let i = 0; i < count; i++) {
      const v = input[row + i] * factor;
      const hi = Math.floor(v / 4294967296);
      output[i * 2] = v - hi * 4294967296;
      output[i * 2 + 1] = hi;
    }
  };
}

/** date64 (int64 milliseconds) -> DATE (int32 days). */
export const date64Kernel: ImportKernel = (values, row, out, count) => {
  const input = int32sOf(values);
  const output = int32sOf(out);
  for (let i = 0; i < count; i++) output[i] = Math.floor(int64ToNumber(input, (row + i) * 2) / 86400000);
};

/**
 * Time of day in `unit` ticks per second (int32 for seconds and milliseconds, int64 beyond) ->
 * TIME WITH TIME ZONE at offset +00:00: micros << 24 | encoded offset, where offset 0 encodes
 * as 57599 (duckdb.h).
 */
export function timeTzKernel(ticksPerSecond: number): ImportKernel {
  return (values, row, out, count) => {
    const input = int32sOf(values);
    const output = int32sOf(out);
    for (let i = 0; i < count; i++) {
      const ticks = ticksPerSecond <= 1000 ? input[row + i] : int64ToNumber(input, (row + i) * 2);
      const micros = ticksPerSecond > 1000000 ? Math.floor(ticks / (ticksPerSecond / 1000000)) : ticks * (1000000 / ticksPerSecond);
      output[i * 2] = (micros % 256) * 16777216 + 57599;
      output[i * 2 + 1] = Math.floor(micros / 256);
    }
  };
}

/** Arrow month_day_nano {int32, int32, int64 ns} -> DuckDB INTERVAL {int32, int32, int64 us}. */
export const monthDayNanoKernel: ImportKernel = (values, row, out, count) => {
  const input = int32sOf(values);
  const output = int32sOf(out);
  for (let i = 0, s = row * 4, o = 0; i < count; i++, s += 4, o += 4) {
    output[o] = input[s];
    output[o + 1] = input[s + 1];
  }
  divideInt64(input, output, { srcWord: row * 4 + 2, srcStride: 4, dstWord: 2, dstStride: 4 }, count, 1000);
};

/** Arrow day_time {int32 days, int32 ms} -> INTERVAL. */
export const dayTimeKernel: ImportKernel = (values, row, out, count) => {
  const input = int32sOf(values);
  const output = int32sOf(out);
  for (let i = 0, s = row * 2, o = 0; i < count; i++, s += 2, o += 4) {
    output[o + 1] = input[s];
    const micros = input[s + 1] * 1000;
    const hi = Math.floor(micros / 4294967296);
    output[o + 2] = micros - hi * 4294967296;
    output[o + 3] = hi;
  }
};

/** Arrow year_month {int32 months} -> INTERVAL. */
export const yearMonthKernel: ImportKernel = (values, row, out, count) => {
  const input = int32sOf(values);
  const output = int32sOf(out);
  for (let i = 0; i < count; i++) output[i * 4] = input[row + i];
};

/** Arrow duration (int64 in `unit`) -> INTERVAL {0, 0, micros}. */
export function durationKernel(scale: ImportKernel): ImportKernel {
  return (values, row, out, count) => {
    const micros = new Uint8Array(count * 8);
    scale(values, row, micros, count);
    const input = int32sOf(micros);
    const output = int32sOf(out);
    for (let i = 0; i < count; i++) {
      output[i * 4 + 2] = input[i * 2];
      output[i * 4 + 3] = input[i * 2 + 1];
    }
  };
}

/** Plain copy through the kernel interface (durations already in microseconds). */
export function copyBytesKernel(width: number): ImportKernel {
  return (values, row, out, count) => out.set(bytesOf(values).subarray(row * width, (row + count) * width));
}
