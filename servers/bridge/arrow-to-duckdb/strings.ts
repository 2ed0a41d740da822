import { isUtf8 } from 'node:buffer';
import duckdb from '@duckdb/node-bindings';
import { DataType, type Data, type Vector } from 'apache-arrow';
import { int32sOf, Scratch, writeValidity, type ColumnWriter } from './column-writer.ts';

// duckdb_string_t (duckdb.h): a uint32 length, then the bytes inline (length <= 12, zero padded)
// or a prefix and a pointer. Inline strings are assembled here and copied into the vector in one
// call per chunk; only longer ones cost a call each (vector_assign_string_element_len copies them
// into the vector's string heap).
const HEADER = 16;
const INLINE_MAX = 12;
const TWO_32 = 4294967296;

/** Null bits of a Data, or undefined when it has none. */
function nullBits(data: Data): Uint8Array | undefined {
  const bitmap = data.nullBitmap;
  return bitmap !== undefined && bitmap.length > 0 && data.nullCount > 0 ? bitmap : undefined;
}

function isSet(bits: Uint8Array, index: number): boolean {
  return ((bits[index >> 3] >> (index & 7)) & 1) === 1;
}

/** Row `i` of a utf8 / binary (any offset width, views, fixed size) Data as a byte view. */
export function stringAt(data: Data, i: number): Uint8Array {
  const type = data.type;
  if (DataType.isUtf8View(type) || DataType.isBinaryView(type)) {
    const views = data.values as Uint8Array;
    const words = int32sOf(views);
    const length = words[i * 4];
    if (length <= INLINE_MAX) return views.subarray(i * HEADER + 4, i * HEADER + 4 + length);
    const buffer = data.variadicBuffers[words[i * 4 + 2]];
    const offset = words[i * 4 + 3];
    return buffer.subarray(offset, offset + length);
  }
  if (DataType.isFixedSizeBinary(type)) {
    const width = type.byteWidth;
    return (data.values as Uint8Array).subarray(i * width, (i + 1) * width);
  }
  const offsets = data.valueOffsets as Int32Array | BigInt64Array;
  if (offsets instanceof BigInt64Array) {
    const words = int32sOf(offsets);
    const start = words[i * 2] + words[i * 2 + 1] * TWO_32;
    const end = words[i * 2 + 2] + words[i * 2 + 3] * TWO_32;
    return (data.values as Uint8Array).subarray(start, end);
  }
  return (data.values as Uint8Array).subarray(offsets[i], offsets[i + 1]);
}

/** A UTF-8 lead byte or ASCII: where a character, so a string, may start. */
function startsCharacter(byte: number): boolean {
  return (byte & 0xc0) !== 0x80;
}

function invalidText(row: number): Error {
  return new Error(`bridge: row ${row} of a text column is not valid UTF-8 (send bytes as binary for a BLOB column)`);
}

/**
 * Checks that every non-null string of rows [row, row + count) of a 32-bit-offset utf8 Data is
 * valid UTF-8: DuckDB trusts a VARCHAR's bytes, and invalid ones crash it later (in statistics,
 * comparisons, output). The chunk's whole byte range is checked at once (simdutf, GB/s); it is
 * valid and every string starts on a character boundary exactly when each string is valid. When
 * the range fails (possibly only in the bytes of null rows), strings are checked one by one.
 */
export function checkUtf8Rows(data: Data, bits: Uint8Array | undefined, row: number, count: number): void {
  const offsets = data.valueOffsets as Int32Array;
  const bytes = data.values as Uint8Array;
  const end = offsets[row + count];
  if (isUtf8(bytes.subarray(offsets[row], end))) {
    let boundaries = true;
    for (let i = 0; i < count && boundaries; i++) {
      const start = offsets[row + i];
      if (start < end && !startsCharacter(bytes[start])) boundaries = false;
    }
    if (boundaries) return;
  }
  const bitBase = data.offset + row;
  for (let i = 0; i < count; i++) {
    if (bits !== undefined && !isSet(bits, bitBase + i)) continue;
    if (!isUtf8(bytes.subarray(offsets[row + i], offsets[row + i + 1]))) throw invalidText(row + i);
  }
}

/** Throws naming the row when a value's bytes are not a valid value of the target type. */
export type ValueCheck = (value: Uint8Array, row: number) => void;

/**
 * DuckDB's BIT layout: a byte counting the padding bits (0..7), then the bits, the padding
 * first and set to 1.
 */
export const checkBitBytes: ValueCheck = (value, row) => {
  const fail = (why: string): never => {
    throw new Error(`bridge: row ${row} is not a DuckDB BIT value (${why})`);
  };
  if (value.length < 2) fail(`${value.length} bytes; at least 2`);
  const padding = value[0]!;
  if (padding > 7) fail(`padding of ${padding} bits`);
  if (padding > 0 && value[1]! >> (8 - padding) !== (1 << padding) - 1) fail('padding bits not set');
};

/**
 * DuckDB's BIGNUM layout: a 3-byte big-endian header, its top bit set for a positive number,
 * holding the byte count of the magnitude that follows (the header and the bytes inverted for a
 * negative number).
 */
export const checkBignumBytes: ValueCheck = (value, row) => {
  if (value.length < 4) throw new Error(`bridge: row ${row} is not a DuckDB BIGNUM value (${value.length} bytes; at least 4)`);
  let header = (value[0]! << 16) | (value[1]! << 8) | value[2]!;
  if ((header & 0x800000) === 0) header = ~header & 0xffffff;
  const declared = header & 0x7fffff;
  if (declared !== value.length - 3) {
    throw new Error(`bridge: row ${row} is not a DuckDB BIGNUM value (its header declares ${declared} bytes, ${value.length - 3} follow)`);
  }
};

/** Rows of a chunk whose strings are too long to inline, and where their bytes sit in the blob. */
class LongStrings {
  rows = new Int32Array(256);
  positions = new Float64Array(256);
  count = 0;

  reset(capacity: number): void {
    if (this.rows.length < capacity) {
      this.rows = new Int32Array(capacity);
      this.positions = new Float64Array(capacity);
    }
    this.count = 0;
  }

  add(row: number, position: number): void {
    this.rows[this.count] = row;
    this.positions[this.count] = position;
    this.count++;
  }
}

const MAX_BLOB = 2147483647;
/** Masks keeping the low 0..4 bytes of a little-endian 32-bit word. */
const LOW_BYTES = [0, 0xff, 0xffff, 0xffffff, -1];

/**
 * Gives the long strings of a chunk their headers with one native call instead of one per
 * string: `blob` (bytes holding every long string, at `longs.positions`) is stored as the value
 * of the first long row, which copies it into the vector's string heap; reading that row's header
 * back gives the heap address, and each long string's header then points into the blob (length,
 * 4-byte prefix, address). The headers, the first long row's included, are copied in afterwards
 * by the caller; the appender copies the strings out of the heap when the chunk is appended.
 */
function attachLongStrings(
  vector: duckdb.Vector,
  words: Int32Array,
  blob: Uint8Array,
  lengthOf: (row: number) => number,
  longs: LongStrings,
): void {
  const first = longs.rows[0];
  duckdb.vector_assign_string_element_len(vector, first, blob);
  const back = duckdb.vector_get_data(vector, (first + 1) * HEADER);
  const backWords = new Uint32Array(back.buffer, back.byteOffset, (first + 1) * 4);
  const baseLow = backWords[first * 4 + 2];
  const baseHigh = backWords[first * 4 + 3];
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  for (let k = 0; k < longs.count; k++) {
    const row = longs.rows[k];
    const position = longs.positions[k];
    let low = baseLow + position;
    let high = baseHigh;
    if (low >= TWO_32) {
      const carry = Math.floor(low / TWO_32);
      low -= carry * TWO_32;
      high += carry;
    }
    words[row * 4] = lengthOf(row);
    words[row * 4 + 1] = view.getInt32(position, true);
    words[row * 4 + 2] = low;
    words[row * 4 + 3] = high;
  }
}

/** utf8 / binary (32- or 64-bit offsets, views, fixed size) -> VARCHAR, BLOB and other string types. */
export class StringWriter implements ColumnWriter {
  private readonly scratch = new Scratch();
  private readonly gathered = new Scratch();
  private readonly longs = new LongStrings();

  /**
   * `text`: the target is VARCHAR, so every value must be valid UTF-8. `check`: a test of each
   * value's bytes for targets that keep DuckDB's own binary layout (BIT, BIGNUM), which DuckDB
   * trusts when the bytes are appended.
   */
  constructor(
    private readonly text = false,
    private readonly check: ValueCheck | null = null,
  ) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    if (this.check !== null) {
      for (let i = 0; i < count; i++) if (data.getValid(row + i)) this.check(stringAt(data, row + i), row + i);
    }
    writeValidity(vector, data, row, count);
    const headers = this.scratch.bytes(count * HEADER);
    const words = int32sOf(headers);
    const bits = nullBits(data);
    const bitBase = data.offset + row;
    const type = data.type;
    const longs = this.longs;
    longs.reset(count);
    if (DataType.isUtf8(type) || DataType.isBinary(type)) {
      // The hot path (what most Arrow producers send): 32-bit offsets into one byte buffer. The
      // chunk's whole byte range is the blob for its long strings.
      if (this.text) checkUtf8Rows(data, bits, row, count);
      const offsets = data.valueOffsets as Int32Array;
      const bytes = data.values as Uint8Array;
      const source = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      // Inline strings are read a 32-bit word at a time where 12 bytes can be read, the bytes
      // past the string masked off: DuckDB compares inline strings on all 16 bytes.
      const wordReadEnd = bytes.length - INLINE_MAX;
      const base = offsets[row];
      for (let i = 0; i < count; i++) {
        if (bits !== undefined && !isSet(bits, bitBase + i)) continue;
        const start = offsets[row + i];
        const length = offsets[row + i + 1] - start;
        if (length > INLINE_MAX) {
          longs.add(i, start - base);
          continue;
        }
        const w = i * 4;
        words[w] = length;
        if (length === 0) continue;
        if (start <= wordReadEnd) {
          if (length <= 4) {
            words[w + 1] = source.getInt32(start, true) & LOW_BYTES[length];
          } else if (length <= 8) {
            words[w + 1] = source.getInt32(start, true);
            words[w + 2] = source.getInt32(start + 4, true) & LOW_BYTES[length - 4];
          } else {
            words[w + 1] = source.getInt32(start, true);
            words[w + 2] = source.getInt32(start + 4, true);
            words[w + 3] = source.getInt32(start + 8, true) & LOW_BYTES[length - 8];
          }
        } else {
          const to = i * HEADER + 4;
          for (let b = 0; b < length; b++) headers[to + b] = bytes[start + b];
        }
      }
      if (longs.count > 0) {
        const blob = bytes.subarray(base, offsets[row + count]);
        if (blob.length <= MAX_BLOB) {
          attachLongStrings(vector, words, blob, (i) => offsets[row + i + 1] - offsets[row + i], longs);
          longs.count = 0;
        }
      }
    } else {
      // Other layouts: long values are gathered into a scratch blob.
      let total = 0;
      for (let i = 0; i < count; i++) {
        if (bits !== undefined && !isSet(bits, bitBase + i)) continue;
        const value = stringAt(data, row + i);
        if (this.text && !isUtf8(value)) throw invalidText(row + i);
        if (value.length > INLINE_MAX) {
          longs.add(i, total);
          total += value.length;
          continue;
        }
        words[i * 4] = value.length;
        headers.set(value, i * HEADER + 4);
      }
      if (longs.count > 0 && total <= MAX_BLOB) {
        const blob = this.gathered.bytes(total);
        for (let k = 0; k < longs.count; k++) blob.set(stringAt(data, row + longs.rows[k]), longs.positions[k]);
        attachLongStrings(vector, words, blob, (i) => stringAt(data, row + i).length, longs);
        longs.count = 0;
      }
    }
    duckdb.copy_data_to_vector(vector, 0, headers.buffer as ArrayBuffer, 0, count * HEADER);
    // Beyond 2 GiB in one chunk: one call per string.
    for (let k = 0; k < longs.count; k++) {
      const i = longs.rows[k];
      duckdb.vector_assign_string_element_len(vector, i, stringAt(data, row + i));
    }
  }
}

/** A dictionary's values, decoded once into ready-made string headers. */
interface DecodedDictionary {
  headers: Int32Array;
  /** The bytes of values too long to inline, by dictionary index (undefined for inline ones). */
  long: (Uint8Array | undefined)[];
  /** 1 where the dictionary value itself is null. */
  nulls: Uint8Array;
  /** Every value was checked to be valid UTF-8. */
  text: boolean;
}

/** A dictionary decoded for a BLOB column, now written to a VARCHAR one: its values checked once. */
function checkDictionaryText(dictionary: Vector, decoded: DecodedDictionary): void {
  let index = 0;
  for (const chunk of dictionary.data) {
    for (let i = 0; i < chunk.length; i++, index++) {
      if (chunk.getValid(i) && !isUtf8(stringAt(chunk, i))) {
        throw new Error(`bridge: dictionary value ${index} of a text column is not valid UTF-8`);
      }
    }
  }
  decoded.text = true;
}

const decodedDictionaries = new WeakMap<Vector, DecodedDictionary>();

function decodeDictionary(dictionary: Vector, text: boolean): DecodedDictionary {
  let decoded = decodedDictionaries.get(dictionary);
  if (decoded !== undefined) {
    if (text && !decoded.text) checkDictionaryText(dictionary, decoded);
    return decoded;
  }
  const headerBytes = new Uint8Array(dictionary.length * HEADER);
  const lengths = new DataView(headerBytes.buffer);
  const long: (Uint8Array | undefined)[] = new Array(dictionary.length).fill(undefined);
  const nulls = new Uint8Array(dictionary.length);
  let index = 0;
  for (const chunk of dictionary.data) {
    for (let i = 0; i < chunk.length; i++, index++) {
      if (!chunk.getValid(i)) {
        nulls[index] = 1;
        continue;
      }
      const value = stringAt(chunk, i);
      if (text && !isUtf8(value)) throw new Error(`bridge: dictionary value ${index} of a text column is not valid UTF-8`);
      if (value.length > INLINE_MAX) {
        long[index] = value;
      } else {
        lengths.setUint32(index * HEADER, value.length, true);
        headerBytes.set(value, index * HEADER + 4);
      }
    }
  }
  decoded = { headers: new Int32Array(headerBytes.buffer), long, nulls, text };
  decodedDictionaries.set(dictionary, decoded);
  return decoded;
}

/** Reads dictionary indices of any integer width as numbers. */
export function indexReader(values: ArrayBufferView): (i: number) => number {
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    const words = int32sOf(values);
    return (i) => words[i * 2] + words[i * 2 + 1] * TWO_32;
  }
  const array = values as Int32Array;
  return (i) => array[i];
}

/** dictionary<utf8 | binary> -> VARCHAR / BLOB: values decoded once, headers copied per row. */
export class DictionaryStringWriter implements ColumnWriter {
  private readonly scratch = new Scratch();
  private readonly gathered = new Scratch();
  private readonly longs = new LongStrings();

  /** `text`: the target is VARCHAR, so every dictionary value must be valid UTF-8. */
  constructor(private readonly text = false) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const dictionary = decodeDictionary(data.dictionary as Vector, this.text);
    const headers = this.scratch.bytes(count * HEADER);
    const words = int32sOf(headers);
    const bits = nullBits(data);
    const bitBase = data.offset + row;
    const index = indexReader(data.values as ArrayBufferView);
    const longs = this.longs;
    longs.reset(count);
    let total = 0;
    for (let i = 0; i < count; i++) {
      if (bits !== undefined && !isSet(bits, bitBase + i)) continue;
      const entry = index(row + i);
      if (!(entry >= 0 && entry < dictionary.long.length)) throw new Error(`bridge: dictionary index ${entry} out of range`);
      if (dictionary.nulls[entry] === 1) {
        throw new Error('bridge: a valid dictionary index points at a null dictionary value; put the null in the indices');
      }
      const value = dictionary.long[entry];
      if (value !== undefined) {
        longs.add(i, total);
        total += value.length;
        continue;
      }
      const from = entry * 4;
      words[i * 4] = dictionary.headers[from];
      words[i * 4 + 1] = dictionary.headers[from + 1];
      words[i * 4 + 2] = dictionary.headers[from + 2];
      words[i * 4 + 3] = dictionary.headers[from + 3];
    }
    if (longs.count > 0) {
      if (total > MAX_BLOB) throw new Error('bridge: more than 2 GiB of dictionary strings in one chunk');
      const blob = this.gathered.bytes(total);
      for (let k = 0; k < longs.count; k++) blob.set(dictionary.long[index(row + longs.rows[k])]!, longs.positions[k]);
      attachLongStrings(vector, words, blob, (i) => dictionary.long[index(row + i)]!.length, longs);
    }
    duckdb.copy_data_to_vector(vector, 0, headers.buffer as ArrayBuffer, 0, count * HEADER);
  }
}

const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = HEX_VALUE[65 + i] = 10 + i;

/**
 * utf8 (canonical 36-character text, or 32 bare hex digits) or fixed_size_binary(16) (the arrow.uuid
 * layout: bytes in order) -> UUID, stored by DuckDB as a hugeint with the top bit flipped, i.e.
 * the UUID's bytes backwards with the last one xor 0x80.
 */
export class UuidWriter implements ColumnWriter {
  private readonly scratch = new Scratch();
  private readonly uuid = new Uint8Array(16);

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const out = this.scratch.bytes(count * 16);
    const bits = nullBits(data);
    const bitBase = data.offset + row;
    const text = !DataType.isFixedSizeBinary(data.type);
    const uuid = this.uuid;
    for (let i = 0; i < count; i++) {
      if (bits !== undefined && !isSet(bits, bitBase + i)) continue;
      const value = stringAt(data, row + i);
      if (text) parseUuid(value, uuid);
      else uuid.set(value);
      const base = i * 16;
      for (let k = 0; k < 16; k++) out[base + 15 - k] = uuid[k];
      out[base + 15] ^= 0x80;
    }
    duckdb.copy_data_to_vector(vector, 0, out.buffer as ArrayBuffer, 0, count * 16);
  }
}

function parseUuid(text: Uint8Array, out: Uint8Array): void {
  const dashed = text.length === 36;
  if (!dashed && text.length !== 32) throw invalidUuid(text);
  let p = 0;
  for (let k = 0; k < 16; k++) {
    if (dashed && (p === 8 || p === 13 || p === 18 || p === 23)) {
      if (text[p] !== 45) throw invalidUuid(text);
      p++;
    }
    const hi = HEX_VALUE[text[p]];
    const lo = HEX_VALUE[text[p + 1]];
    if (hi < 0 || lo < 0) throw invalidUuid(text);
    out[k] = (hi << 4) | lo;
    p += 2;
  }
}

function invalidUuid(text: Uint8Array): Error {
  return new Error(`bridge: "${new TextDecoder().decode(text)}" is not a UUID`);
}
