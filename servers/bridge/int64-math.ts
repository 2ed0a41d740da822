// Exact 64-bit integer scaling without BigInt: values are read and written as (low, high) pairs
// of 32-bit words, the little-endian layout of DuckDB and Arrow alike. Used for unit conversions
// (microseconds <-> nanoseconds, seconds -> microseconds, ...) on whole columns, where a BigInt
// per value would allocate.

const TWO_32 = 4294967296;

export interface Int64ScaleLayout {
  /** Index (in 32-bit words) of the first value's low word in `src`. */
  srcWord: number;
  /** Distance in 32-bit words between consecutive values in `src`. */
  srcStride: number;
  dstWord: number;
  dstStride: number;
}

/**
 * dst = src * factor for `count` values, factor a positive integer of at most 2^21 (so that every
 * intermediate stays exact in a double). Overflow of the 64-bit result throws when `what` is
 * given and wraps otherwise.
 */
export function multiplyInt64(
  src: Int32Array,
  dst: Int32Array,
  layout: Int64ScaleLayout,
  count: number,
  factor: number,
  what?: string,
): void {
  const { srcStride, dstStride } = layout;
  let s = layout.srcWord;
  let d = layout.dstWord;
  for (let i = 0; i < count; i++, s += srcStride, d += dstStride) {
    const lo = src[s] >>> 0;
    const product = lo * factor;
    const carry = Math.floor(product / TWO_32);
    const hi = src[s + 1] * factor + carry;
    if (what !== undefined && (hi > 2147483647 || hi < -2147483648)) {
      throw new Error(`bridge: ${what}: a value is out of range after scaling by ${factor}`);
    }
    dst[d] = product - carry * TWO_32;
    dst[d + 1] = hi;
  }
}

/** dst = floor(src / divisor) for `count` values, divisor a positive integer of at most 2^20. */
export function divideInt64(src: Int32Array, dst: Int32Array, layout: Int64ScaleLayout, count: number, divisor: number): void {
  const { srcStride, dstStride } = layout;
  let s = layout.srcWord;
  let d = layout.dstWord;
  for (let i = 0; i < count; i++, s += srcStride, d += dstStride) {
    const hi = src[s + 1];
    const highQuotient = Math.floor(hi / divisor);
    const rest = (hi - highQuotient * divisor) * TWO_32 + (src[s] >>> 0);
    dst[d] = Math.floor(rest / divisor);
    dst[d + 1] = highQuotient;
  }
}

/** The int64 at word `word` of `words` as a double (exact below 2^53). */
export function int64ToNumber(words: Int32Array, word: number): number {
  return words[word + 1] * TWO_32 + (words[word] >>> 0);
}

/** Writes an integral double (|value| < 2^53) as an int64 at word `word`. */
export function writeNumberAsInt64(words: Int32Array, word: number, value: number): void {
  const hi = Math.floor(value / TWO_32);
  words[word] = value - hi * TWO_32;
  words[word + 1] = hi;
}
