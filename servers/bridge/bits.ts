// Bit-level helpers shared by both directions of the bridge.
//
// DuckDB's validity mask is an array of 64-bit words, row r at bit (r % 64) of word (r / 64).
// On a little-endian machine those words laid out in memory are exactly Arrow's validity bitmap
// (row r at bit (r % 8) of byte (r / 8)), so a mask read as bytes is an Arrow bitmap and the
// other way round. Everything here works on byte arrays with arbitrary bit offsets.

const POPCOUNT = new Uint8Array(256);
for (let i = 1; i < 256; i++) POPCOUNT[i] = (i & 1) + POPCOUNT[i >> 1];

/** Number of set bits in `bits[start, start + count)`. */
export function countSetBits(bytes: Uint8Array, start: number, count: number): number {
  let set = 0;
  let bit = start;
  const end = start + count;
  while (bit < end && (bit & 7) !== 0) {
    set += (bytes[bit >> 3] >> (bit & 7)) & 1;
    bit++;
  }
  const wholeEnd = end & ~7;
  for (let i = bit >> 3, last = wholeEnd >> 3; i < last; i++) set += POPCOUNT[bytes[i]];
  bit = Math.max(bit, wholeEnd);
  while (bit < end) {
    set += (bytes[bit >> 3] >> (bit & 7)) & 1;
    bit++;
  }
  return set;
}

/** Sets `bits[start, start + count)` to 1. */
export function setBits(bytes: Uint8Array, start: number, count: number): void {
  let bit = start;
  const end = start + count;
  while (bit < end && (bit & 7) !== 0) {
    bytes[bit >> 3] |= 1 << (bit & 7);
    bit++;
  }
  const wholeEnd = end & ~7;
  if (bit < wholeEnd) {
    bytes.fill(0xff, bit >> 3, wholeEnd >> 3);
    bit = wholeEnd;
  }
  while (bit < end) {
    bytes[bit >> 3] |= 1 << (bit & 7);
    bit++;
  }
}

/** Clears bit `index`. */
export function clearBit(bytes: Uint8Array, index: number): void {
  bytes[index >> 3] &= ~(1 << (index & 7));
}

/** Reads bit `index`. */
export function getBit(bytes: Uint8Array, index: number): number {
  return (bytes[index >> 3] >> (index & 7)) & 1;
}

/**
 * Copies `count` bits from `src` at bit `srcStart` into `dst` at bit `dstStart`, overwriting
 * both ones and zeros. Bits of `dst` outside the target range are left alone.
 */
export function copyBits(src: Uint8Array, srcStart: number, dst: Uint8Array, dstStart: number, count: number): void {
  let s = srcStart;
  let d = dstStart;
  let n = count;
  while (n > 0 && (d & 7) !== 0) {
    writeBit(dst, d, (src[s >> 3] >> (s & 7)) & 1);
    s++;
    d++;
    n--;
  }
  const bytes = n >> 3;
  if (bytes > 0) {
    const shift = s & 7;
    const si = s >> 3;
    const di = d >> 3;
    if (shift === 0) {
      dst.set(src.subarray(si, si + bytes), di);
    } else {
      const back = 8 - shift;
      const lastSrcByte = (s + n - 1) >> 3;
      for (let i = 0; i < bytes; i++) {
        const next = si + i + 1 <= lastSrcByte ? src[si + i + 1] : 0;
        dst[di + i] = ((src[si + i] >> shift) | (next << back)) & 0xff;
      }
    }
    s += bytes << 3;
    d += bytes << 3;
    n -= bytes << 3;
  }
  while (n > 0) {
    writeBit(dst, d, (src[s >> 3] >> (s & 7)) & 1);
    s++;
    d++;
    n--;
  }
}

function writeBit(bytes: Uint8Array, index: number, value: number): void {
  if (value) bytes[index >> 3] |= 1 << (index & 7);
  else bytes[index >> 3] &= ~(1 << (index & 7));
}

/**
 * Packs one-byte booleans (`src[srcStart + i] !== 0`) into bits `dst[dstStart + i]`, for
 * `count` values. DuckDB stores BOOLEAN as one byte per value, Arrow as one bit.
 */
export function packBooleans(src: Uint8Array, srcStart: number, dst: Uint8Array, dstStart: number, count: number): void {
  let i = 0;
  let d = dstStart;
  while (i < count && (d & 7) !== 0) {
    writeBit(dst, d, src[srcStart + i] !== 0 ? 1 : 0);
    i++;
    d++;
  }
  let di = d >> 3;
  for (; i + 8 <= count; i += 8) {
    const p = srcStart + i;
    dst[di++] =
      (src[p] !== 0 ? 1 : 0) |
      (src[p + 1] !== 0 ? 2 : 0) |
      (src[p + 2] !== 0 ? 4 : 0) |
      (src[p + 3] !== 0 ? 8 : 0) |
      (src[p + 4] !== 0 ? 16 : 0) |
      (src[p + 5] !== 0 ? 32 : 0) |
      (src[p + 6] !== 0 ? 64 : 0) |
      (src[p + 7] !== 0 ? 128 : 0);
  }
  d = di << 3;
  for (; i < count; i++, d++) writeBit(dst, d, src[srcStart + i] !== 0 ? 1 : 0);
}

/** Unpacks bits `src[srcStart + i]` into one byte each (0 or 1) at `dst[i]`, for `count` values. */
export function unpackBooleans(src: Uint8Array, srcStart: number, dst: Uint8Array, count: number): void {
  for (let i = 0; i < count; i++) {
    const bit = srcStart + i;
    dst[i] = (src[bit >> 3] >> (bit & 7)) & 1;
  }
}
