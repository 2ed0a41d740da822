import duckdb from '@duckdb/node-bindings';
import { makeData, Utf8, type Binary, type Data } from 'apache-arrow';
import { ColumnBuilder, GrowableBytes, rowsExtent, uninitialisedBytes } from './column-builder.ts';
import { readMask, type Mask } from './validity.ts';

// duckdb_string_t (duckdb.h) is 16 bytes: a uint32 length, then either the bytes themselves
// (length <= 12, zero padded) or a 4-byte prefix and a pointer to the bytes.
const STRING_T = 16;
const INLINE_MAX = 12;
const TWO_32 = 4294967296;
const MAX_OFFSET = 2147483647;
const SLACK = 16;

/** Arrow offsets, growing by doubling; the first offset is 0, the others are written before use. */
class GrowableInt32 {
  values: Int32Array;
  constructor(initial: number) {
    this.values = int32s(Math.max(initial, 16));
    this.values[0] = 0;
  }
  reserve(count: number): Int32Array {
    if (this.values.length < count) {
      const grown = int32s(Math.max(count, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    return this.values;
  }
}

function int32s(count: number): Int32Array {
  const bytes = uninitialisedBytes(count * 4);
  return new Int32Array(bytes.buffer, bytes.byteOffset, count);
}

/**
 * VARCHAR, BLOB and the other types DuckDB keeps in duckdb_string_t (BIT, BIGNUM, GEOMETRY) ->
 * Arrow utf8 / binary. The 16-byte headers are read in one copy per vector; inline strings are
 * copied out of that copy; longer ones are fetched with get_data_from_pointer, one call per run
 * of strings lying back to back in DuckDB's memory (the usual case: a string heap is filled in
 * order, a storage block's dictionary in reverse order) rather than one call per string.
 */
export class StringBuilder extends ColumnBuilder {
  private offsets: GrowableInt32;
  private readonly data: GrowableBytes;
  private longRows = new Int32Array(256);
  private longTargets = new Int32Array(256);

  constructor(
    readonly type: Utf8 | Binary,
    capacityHint: number,
    override readonly metadata: Map<string, string> | undefined = undefined,
  ) {
    super(capacityHint);
    this.offsets = new GrowableInt32(capacityHint + 1);
    this.data = new GrowableBytes(capacityHint * 8);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count > 0) this.append(vector, start, count, null);
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count > 0) this.append(vector, 0, count, rows);
  }

  private append(vector: duckdb.Vector, start: number, count: number, rows: Int32Array | null): void {
    const extent = rows === null ? start + count : rowsExtent(rows, count);
    const mask = readMask(vector, extent);
    if (rows === null) this.validity.appendRange(mask, start, count);
    else this.validity.appendRows(mask, rows, count);
    const headers = duckdb.vector_get_data(vector, extent * STRING_T);
    if ((headers.byteOffset & 3) !== 0) throw new Error('bridge: string vector memory is not 4-byte aligned');
    const words = new Int32Array(headers.buffer, headers.byteOffset, extent * 4);

    const base = this.length;
    const offsets = this.offsets.reserve(base + count + 1);
    let position = offsets[base];
    // Inline strings are stored as their three 32-bit words, writing up to 12 bytes past their
    // end: the next strings overwrite those, and SLACK keeps the writes in bounds.
    let out = this.data.reserve(position + count * INLINE_MAX + SLACK);
    let view = this.data.view;
    if (this.longRows.length < count) {
      this.longRows = new Int32Array(Math.max(count, this.longRows.length * 2));
      this.longTargets = new Int32Array(this.longRows.length);
    }
    const longRows = this.longRows;
    const longTargets = this.longTargets;
    let longs = 0;
    if (rows === null && mask === null) {
      // The common case, a plain range without NULLs, in its own tight loop.
      for (let k = 0, w = start << 2; k < count; k++, w += 4) {
        const length = words[w];
        if (length <= INLINE_MAX) {
          // All three words, whatever the length: no branch to mispredict on mixed lengths.
          view.setInt32(position, words[w + 1], true);
          view.setInt32(position + 4, words[w + 2], true);
          view.setInt32(position + 8, words[w + 3], true);
        } else {
          const needed = position + length + (count - k - 1) * INLINE_MAX + SLACK;
          if (needed > out.length) {
            if (needed > MAX_OFFSET) {
              throw new Error(`bridge: more than 2 GiB of string data in one Arrow batch (${this.type}); lower batchRows`);
            }
            out = this.data.reserve(needed);
            view = this.data.view;
          }
          longRows[longs] = start + k;
          longTargets[longs] = position;
          longs++;
        }
        position += length;
        offsets[base + k + 1] = position;
      }
      if (longs > 0) copyLongStrings(headers, words, longRows, longTargets, longs, view, this.addresses(longs));
      this.length += count;
      return;
    }
    for (let k = 0; k < count; k++) {
      const row = rows === null ? start + k : rows[k];
      const w = row << 2;
      let length = words[w];
      if (mask !== null && ((mask[row >> 3] >> (row & 7)) & 1) === 0) {
        length = 0;
      } else if (length <= INLINE_MAX) {
        view.setInt32(position, words[w + 1], true);
        view.setInt32(position + 4, words[w + 2], true);
        view.setInt32(position + 8, words[w + 3], true);
      } else {
        const needed = position + length + (count - k - 1) * INLINE_MAX + SLACK;
        if (needed > MAX_OFFSET) {
          throw new Error(`bridge: more than 2 GiB of string data in one Arrow batch (${this.type}); lower batchRows`);
        }
        if (needed > out.length) {
          out = this.data.reserve(needed);
          view = this.data.view;
        }
        longRows[longs] = row;
        longTargets[longs] = position;
        longs++;
      }
      position += length;
      offsets[base + k + 1] = position;
    }
    if (longs > 0) copyLongStrings(headers, words, longRows, longTargets, longs, view, this.addresses(longs));
    this.length += count;
  }

  private addressScratch = new Float64Array(256);

  private addresses(count: number): Float64Array {
    if (this.addressScratch.length < count) this.addressScratch = new Float64Array(Math.max(count, this.addressScratch.length * 2));
    return this.addressScratch;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    const offsets = this.offsets.values;
    const valueOffsets = offsets.subarray(0, length + 1);
    const data = this.data.take(offsets[length]);
    this.offsets = new GrowableInt32(offsets.length);
    this.length = 0;
    return makeData({ type: this.type as Utf8, length, nullCount, nullBitmap, valueOffsets, data });
  }

  byteLength(): number {
    return this.offsets.values[this.length] + this.length * 4;
  }
}

function copyLongStrings(
  headers: Uint8Array,
  words: Int32Array,
  rows: Int32Array,
  targets: Int32Array,
  count: number,
  out: DataView,
  addresses: Float64Array,
): void {
  for (let j = 0; j < count;) {
    // Grow a run from j while the next strings continue it (forwards or backwards) or lie
    // inside it. Every byte of the run belongs to one of its strings, so reading it whole never
    // touches memory DuckDB did not hand us.
    let w = rows[j] << 2;
    let low = (words[w + 3] >>> 0) * TWO_32 + (words[w + 2] >>> 0);
    let high = low + words[w];
    let anchor = w;
    addresses[j] = low;
    let k = j + 1;
    for (; k < count; k++) {
      w = rows[k] << 2;
      const length = words[w];
      const address = (words[w + 3] >>> 0) * TWO_32 + (words[w + 2] >>> 0);
      if (address === high) {
        high += length;
      } else if (address + length === low) {
        low = address;
        anchor = w;
      } else if (address < low || address + length > high) {
        break;
      }
      addresses[k] = address;
    }
    const region = duckdb.get_data_from_pointer(headers.buffer as ArrayBuffer, headers.byteOffset + anchor * 4 + 8, high - low);
    const source = new DataView(region.buffer, region.byteOffset, region.byteLength);
    // Exact copies: the bytes right after each string already hold the next one.
    for (; j < k; j++) {
      const length = words[rows[j] << 2];
      const from = addresses[j] - low;
      const target = targets[j];
      const whole = length & ~3;
      let b = 0;
      for (; b < whole; b += 4) out.setInt32(target + b, source.getInt32(from + b, true), true);
      for (; b < length; b++) out.setUint8(target + b, source.getUint8(from + b));
    }
  }
}

const HEX = new Uint8Array([...'0123456789abcdef'].map((c) => c.charCodeAt(0)));
const DASH = 45;
const UUID_TEXT = 36;

/**
 * UUID -> utf8 in its canonical 36-character form, as DuckDB's Arrow export gives it. DuckDB
 * keeps a UUID as a hugeint (lower uint64, upper int64, little-endian) with the top bit flipped,
 * so the UUID's bytes are the 16 bytes of memory read backwards.
 */
export class UuidBuilder extends ColumnBuilder {
  readonly type = new Utf8();
  private offsets: GrowableInt32;
  private readonly data: GrowableBytes;

  constructor(capacityHint: number) {
    super(capacityHint);
    this.offsets = new GrowableInt32(capacityHint + 1);
    this.data = new GrowableBytes(capacityHint * UUID_TEXT);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count === 0) return;
    const mask = readMask(vector, start + count);
    this.validity.appendRange(mask, start, count);
    const src = duckdb.vector_get_data(vector, (start + count) * 16);
    for (let k = 0; k < count; k++) this.appendOne(src, mask, start + k);
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count === 0) return;
    const extent = rowsExtent(rows, count);
    const mask = readMask(vector, extent);
    this.validity.appendRows(mask, rows, count);
    const src = duckdb.vector_get_data(vector, extent * 16);
    for (let k = 0; k < count; k++) this.appendOne(src, mask, rows[k]);
  }

  private appendOne(src: Uint8Array, mask: Mask, row: number): void {
    const offsets = this.offsets.reserve(this.length + 2);
    let at = offsets[this.length];
    if (mask === null || ((mask[row >> 3] >> (row & 7)) & 1) === 1) {
      const out = this.data.reserve(at + UUID_TEXT);
      const last = row * 16 + 15;
      for (let k = 0; k < 16; k++) {
        if (k === 4 || k === 6 || k === 8 || k === 10) out[at++] = DASH;
        const byte = k === 0 ? src[last] ^ 0x80 : src[last - k];
        out[at++] = HEX[byte >> 4];
        out[at++] = HEX[byte & 15];
      }
    }
    offsets[this.length + 1] = at;
    this.length++;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    const offsets = this.offsets.values;
    const valueOffsets = offsets.subarray(0, length + 1);
    const data = this.data.take(offsets[length]);
    this.offsets = new GrowableInt32(offsets.length);
    this.length = 0;
    return makeData({ type: this.type, length, nullCount, nullBitmap, valueOffsets, data });
  }

  byteLength(): number {
    return this.offsets.values[this.length] + this.length * 4;
  }
}
