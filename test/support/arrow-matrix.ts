// The type matrix as arrow-js writes it: one column per Arrow type arrow-js can build, five rows,
// a NULL in row 2 of every nullable column (the same shape as test/peers/type_matrix.py). Fixed-
// width columns are laid out by hand with makeData so that their exact bits are known; nested and
// variable-width ones go through arrow-js's builders. `normalize` turns any value arrow-js reads
// back into plain data that assert.deepStrictEqual compares exactly.

import {
  Binary,
  BinaryView,
  Bool,
  Data,
  DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  DenseUnion,
  Dictionary,
  DurationMicrosecond,
  DurationMillisecond,
  DurationNanosecond,
  DurationSecond,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  RecordBatch,
  Schema,
  SparseUnion,
  Struct,
  Table,
  TimeMicrosecond,
  TimeMillisecond,
  TimeNanosecond,
  TimeSecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Utf8View,
  Vector,
  MapRow,
  StructRow,
  makeData,
  vectorFromArray,
} from 'apache-arrow';

export const ROWS = 5;
/** Every nullable column has its NULL here. */
export const NULL_ROW = 2;

/** A validity bitmap for ROWS rows with NULL_ROW unset. */
function validity(): Uint8Array {
  const bitmap = new Uint8Array(8); // padded; one byte holds the five bits
  for (let i = 0; i < ROWS; i++) if (i !== NULL_ROW) bitmap[0]! |= 1 << i;
  return bitmap;
}

/** A fixed-width column from its raw values (NULL_ROW's slot holds whatever is given: it must not matter). */
function fixed<T extends DataType>(type: T, values: ArrayBufferView): Data<T> {
  return makeData({ type, length: ROWS, nullCount: 1, nullBitmap: validity(), data: values } as never) as Data<T>;
}

function built<T extends DataType>(type: T, values: readonly unknown[]): Data<T> {
  const vector = vectorFromArray(values, type);
  if (vector.data.length !== 1) throw new Error(`builder for ${String(type)} made ${vector.data.length} chunks`);
  return vector.data[0]!;
}

/** Little-endian two's complement words of `value`, `words` 32-bit words long. */
export function decimalWords(value: bigint, words: number): Uint32Array {
  const out = new Uint32Array(words);
  let v = BigInt.asUintN(words * 32, value);
  for (let i = 0; i < words; i++) {
    out[i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
  return out;
}

function decimals(values: bigint[], bitWidth: 128 | 256): Uint32Array {
  const words = bitWidth / 32;
  const out = new Uint32Array(words * values.length);
  values.forEach((v, i) => out.set(decimalWords(v, words), i * words));
  return out;
}

/** Float16 bit patterns: 1.5, -2, (null), 65504 (max), 2^-10. */
const FLOAT16_BITS = Uint16Array.from([0x3e00, 0xc000, 0x0000, 0x7bff, 0x1400]);

interface Column {
  name: string;
  data: Data;
  nullable?: boolean;
  metadata?: Map<string, string>;
}

function columns(): Column[] {
  const I64 = (xs: (number | bigint)[]) => BigInt64Array.from(xs, (x) => BigInt(x));
  return [
    { name: 'int8', data: fixed(new Int8(), Int8Array.from([-128, 127, 0, 0, -1])) },
    { name: 'int16', data: fixed(new Int16(), Int16Array.from([-32768, 32767, 0, 0, 1])) },
    { name: 'int32', data: fixed(new Int32(), Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, 0, 42])) },
    { name: 'int64', data: fixed(new Int64(), I64([-(2n ** 63n), 2n ** 63n - 1n, 0, 0, 9007199254740993n])) },
    { name: 'uint8', data: fixed(new Uint8(), Uint8Array.from([0, 255, 0, 1, 128])) },
    { name: 'uint16', data: fixed(new Uint16(), Uint16Array.from([0, 65535, 0, 1, 32768])) },
    { name: 'uint32', data: fixed(new Uint32(), Uint32Array.from([0, 2 ** 32 - 1, 0, 1, 2 ** 31])) },
    { name: 'uint64', data: fixed(new Uint64(), BigUint64Array.from([0n, 2n ** 64n - 1n, 0n, 1n, 2n ** 63n])) },
    { name: 'float16', data: fixed(new Float16(), FLOAT16_BITS) },
    { name: 'float32', data: fixed(new Float32(), Float32Array.from([1.5, -3.25, 0, Infinity, NaN])) },
    { name: 'float64', data: fixed(new Float64(), Float64Array.from([0.1, -1e300, 0, -0, 5e-324])) },
    {
      name: 'decimal128_38_10',
      data: fixed(new Decimal(10, 38, 128), decimals([12345678901234567890123456789012345678n, -1n, 0n, 0n, -(10n ** 38n - 1n)], 128)),
    },
    {
      name: 'decimal256_76_5',
      data: fixed(new Decimal(5, 76, 256), decimals([10n ** 75n + 12345n, -1n, 0n, 0n, -(2n ** 250n)], 256)),
    },
    { name: 'utf8', data: built(new Utf8(), ['hello', '', null, 'ünïcødé ✈ 🦆', 'a longer string, past twelve bytes']) },
    { name: 'large_utf8', data: built(new LargeUtf8(), ['large', '', null, 'Ω', 'x'.repeat(40)]) },
    { name: 'utf8_view', data: built(new Utf8View(), ['short', '', null, 'a string longer than twelve bytes', 'twelve bytes']) },
    {
      name: 'binary',
      data: built(new Binary(), [
        Uint8Array.from([0, 1, 2]),
        new Uint8Array(0),
        null,
        new Uint8Array(20).fill(255),
        Uint8Array.from([98, 105, 110]),
      ]),
    },
    {
      name: 'large_binary',
      data: built(new LargeBinary(), [
        Uint8Array.from([76]),
        new Uint8Array(0),
        null,
        new Uint8Array(13),
        Uint8Array.from([0xde, 0xad, 0xbe, 0xef]),
      ]),
    },
    {
      name: 'binary_view',
      data: built(new BinaryView(), [
        Uint8Array.from([1]),
        new Uint8Array(0),
        null,
        new Uint8Array(30).fill(7),
        new Uint8Array(12).fill(9),
      ]),
    },
    {
      name: 'fixed_size_binary_4',
      data: fixed(
        new FixedSizeBinary(4),
        Uint8Array.from([97, 98, 99, 100, 0, 0, 0, 0, 0, 0, 0, 0, 255, 254, 253, 252, 119, 120, 121, 122]),
      ),
    },
    { name: 'bool', data: fixed(new Bool(), Uint8Array.from([0b01001, 0, 0, 0, 0, 0, 0, 0])) },
    { name: 'date_day', data: fixed(new DateDay(), Int32Array.from([19782, 0, 0, -719162, 2932896])) },
    { name: 'date_ms', data: fixed(new DateMillisecond(), I64([1709164800000, 0, 0, -86400000, 4102444800000])) },
    { name: 'time_s', data: fixed(new TimeSecond(), Int32Array.from([0, 86399, 0, 3600, 45296])) },
    { name: 'time_ms', data: fixed(new TimeMillisecond(), Int32Array.from([0, 86399999, 0, 1, 45296789])) },
    { name: 'time_us', data: fixed(new TimeMicrosecond(), I64([0, 86399999999, 0, 1, 45296789012])) },
    { name: 'time_ns', data: fixed(new TimeNanosecond(), I64([0, 86399999999999n, 0, 1, 45296789012345n])) },
    { name: 'timestamp_s', data: fixed(new TimestampSecond(), I64([0, 1709210096, 0, -1, 253402300799])) },
    { name: 'timestamp_ms', data: fixed(new TimestampMillisecond(), I64([0, 1709210096789, 0, -1, -62135596800000])) },
    { name: 'timestamp_us', data: fixed(new TimestampMicrosecond(), I64([1709210096789012, 0, 0, -1, 253402300799999999n])) },
    { name: 'timestamp_ns', data: fixed(new TimestampNanosecond(), I64([0, 1709210096789012345n, 0, -1, 2n ** 63n - 1n])) },
    {
      name: 'timestamp_us_utc',
      data: fixed(new TimestampMicrosecond('UTC'), I64([1709210096789012, 0, 0, 946684800000000, -2194297077000000])),
    },
    {
      name: 'timestamp_ms_new_york',
      data: fixed(new TimestampMillisecond('America/New_York'), I64([0, 1709210096789, 0, 1710054000000, -1])),
    },
    { name: 'interval_year_month', data: fixed(new IntervalYearMonth(), Int32Array.from([14, -1, 0, 0, 1200])) },
    { name: 'interval_day_time', data: fixed(new IntervalDayTime(), Int32Array.from([1, 500, -3, -86399999, 0, 0, 0, 0, 365, 1])) },
    {
      name: 'interval_month_day_nano',
      // Per row: int32 months, int32 days, int64 nanoseconds (as two int32 words, little-endian).
      data: fixed(
        new IntervalMonthDayNano(),
        Int32Array.from([1, 2, 3, 0, -1, -15, -1000000000, -1, 0, 0, 0, 0, 0, 0, 0, 0, 120, 0, 0x4e72a000, 0x4e94]),
      ),
    },
    { name: 'duration_s', data: fixed(new DurationSecond(), I64([0, 1, 0, -86400, 2 ** 40])) },
    { name: 'duration_ms', data: fixed(new DurationMillisecond(), I64([0, 1500, 0, -1, 2 ** 50])) },
    { name: 'duration_us', data: fixed(new DurationMicrosecond(), I64([0, 1500000, 0, -1, 2n ** 60n])) },
    { name: 'duration_ns', data: fixed(new DurationNanosecond(), I64([0, 1500000000, 0, -(2n ** 63n), 2n ** 63n - 1n])) },
    {
      name: 'list_int32',
      data: built(new List(new Field('item', new Int32(), true)), [[1, 2, 3], [], null, [null, 7], [2 ** 31 - 1]]),
    },
    {
      name: 'large_list_utf8',
      data: built(new LargeList(new Field('item', new Utf8(), true)), [['a', 'bc'], [], null, [null, 'd'], ['long string '.repeat(3)]]),
    },
    {
      name: 'fixed_size_list_float64_3',
      data: built(new FixedSizeList(3, new Field('item', new Float64(), true)), [
        [1, 2, 3],
        [0, -0.5, 1e10],
        null,
        [null, 1, null],
        [4, 5, 6],
      ]),
    },
    {
      name: 'struct_a_int32_b_utf8',
      data: built(new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)]), [
        { a: 1, b: 'one' },
        { a: null, b: 'no a' },
        null,
        { a: 3, b: null },
        { a: -4, b: '' },
      ]),
    },
    {
      name: 'map_utf8_int64',
      data: built(
        new Map_(
          new Field(
            'entries',
            new Struct<{ key: Utf8; value: Int64 }>([new Field('key', new Utf8(), false), new Field('value', new Int64(), true)]),
            false,
          ),
        ),
        [
          new Map([
            ['x', 1n],
            ['y', 2n],
          ]),
          new Map(),
          null,
          new Map([['z', null]]),
          new Map([['k', 2n ** 62n]]),
        ],
      ),
    },
    { name: 'dictionary_int32_utf8', data: dictionaryColumn(['red', 'green', 'blue'], [0, 1, 0, 0, 2], 0, true) },
    { name: 'null', data: makeData({ type: new Null(), length: ROWS, nullCount: ROWS }) },
    {
      name: 'sparse_union',
      data: sparseUnion(),
    },
    {
      name: 'dense_union',
      data: denseUnion(),
    },
    {
      name: 'not_null_int32',
      data: makeData({ type: new Int32(), length: ROWS, nullCount: 0, data: Int32Array.from([1, 2, 3, 4, 5]) }),
      nullable: false,
      metadata: new Map([['comment', 'a non-nullable column with field metadata']]),
    },
  ];
}

/** A dictionary<int32, utf8> column; `id` numbers the dictionary within the schema. With `withNull`, row NULL_ROW is NULL. */
export function dictionaryColumn(words: string[], indices: number[], id: number, withNull = false): Data<Dictionary<Utf8, Int32>> {
  const dictionary = vectorFromArray(words, new Utf8());
  const type = new Dictionary(new Utf8(), new Int32(), id, false);
  return makeData({
    type,
    length: indices.length,
    nullCount: withNull ? 1 : 0,
    nullBitmap: withNull ? validity() : null,
    data: Int32Array.from(indices),
    dictionary,
  });
}

// Unions carry no validity bitmap: the NULL of row 2 lives in the selected child.
function unionChildren() {
  return [new Field('i', new Int32(), true), new Field('s', new Utf8(), true)];
}

function sparseUnion(): Data {
  const type = new SparseUnion([0, 1], unionChildren());
  const ints = makeData({ type: new Int32(), length: ROWS, nullCount: 1, nullBitmap: validity(), data: Int32Array.from([7, 0, 0, -7, 0]) });
  const strings = built(new Utf8(), ['', 'one', null, '', 'four']);
  return makeData({ type, length: ROWS, nullCount: 0, typeIds: Int8Array.from([0, 1, 1, 0, 1]), children: [ints, strings] });
}

function denseUnion(): Data {
  const type = new DenseUnion([0, 1], unionChildren());
  const ints = makeData({ type: new Int32(), length: 2, nullCount: 0, data: Int32Array.from([11, -11]) });
  const strings = built(new Utf8(), ['eleven', null, 'x']);
  return makeData({
    type,
    length: ROWS,
    nullCount: 0,
    typeIds: Int8Array.from([0, 1, 1, 0, 1]),
    valueOffsets: Int32Array.from([0, 0, 1, 1, 2]),
    children: [ints, strings],
  });
}

export const SCHEMA_METADATA = new Map([
  ['origin', 'duck-takes-flight type matrix'],
  ['ünïcode', '✈'],
]);

/** The matrix as one record batch, with schema and field metadata. */
export function arrowMatrix(): Table {
  const cols = columns();
  const fields = cols.map((c) => new Field(c.name, c.data.type, c.nullable ?? true, c.metadata ?? new Map()));
  const schema = new Schema(fields, SCHEMA_METADATA);
  const struct = makeData({ type: new Struct(fields), length: ROWS, nullCount: 0, children: cols.map((c) => c.data) });
  return new Table(schema, [new RecordBatch(schema, struct)]);
}

/** Names of the matrix's columns, in order. */
export function matrixColumnNames(): string[] {
  return columns().map((c) => c.name);
}

/**
 * Plain data for a value arrow-js read: numbers, bigints, strings and booleans as they are,
 * byte arrays and other typed arrays as [kind, ...elements], nested values recursively.
 * Two values are equal exactly when their normalized forms are deepStrictEqual.
 */
export function normalize(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'number':
    case 'bigint':
    case 'string':
    case 'boolean':
      return value;
    default:
      break;
  }
  if (value instanceof Date) return ['date', value.getTime()];
  if (ArrayBuffer.isView(value)) {
    const elements = Array.from(value as unknown as ArrayLike<number | bigint>);
    return [value.constructor.name, ...elements];
  }
  if (value instanceof Vector) return ['vector', ...[...value].map(normalize)];
  if (value instanceof Map) return ['map', ...[...value].map(([k, v]) => [normalize(k), normalize(v)])];
  if (value instanceof MapRow) {
    return ['map', ...[...(value as Iterable<[unknown, unknown]>)].map(([k, v]) => [normalize(k), normalize(v)])];
  }
  if (value instanceof StructRow) {
    const row = value as unknown as Record<string, unknown>;
    return ['struct', ...Object.keys(row).map((k) => [k, normalize(row[k])])];
  }
  throw new Error(`normalize: no plain form for ${Object.prototype.toString.call(value)} (${String(value)})`);
}

/**
 * The exact bits of one valid slot of a fixed-width column (get() rounds some: nanosecond
 * timestamps come back as float milliseconds), or null for types whose values are not one flat
 * buffer of fixed-size slots (variable width, views, nested, dictionary, null, union).
 */
export function rawSlot(vector: Vector, index: number): unknown {
  const type = vector.type as DataType;
  if (DataType.isDictionary(type) || DataType.isUnion(type) || DataType.isNull(type)) return null;
  if (DataType.isUtf8View(type) || DataType.isBinaryView(type)) return null;
  if (type.children?.length > 0) return null;
  let row = index;
  for (const data of vector.data) {
    if (row >= data.length) {
      row -= data.length;
      continue;
    }
    if (data.valueOffsets || !data.values || !data.getValid(row)) return null;
    // arrow-js cuts a sliced column's values buffer at the slice start, except a boolean's bits.
    if (DataType.isBool(type)) {
      const bit = data.offset + row;
      return ((data.values[bit >> 3]! >> (bit & 7)) & 1) === 1;
    }
    return Array.from(data.values.subarray(data.stride * row, data.stride * (row + 1)) as ArrayLike<number | bigint>);
  }
  throw new Error(`rawSlot: row ${index} is past the ${vector.length} rows of the column`);
}

/** Row `index` of a column as plain data: null when invalid, else [value, exact bits]. */
export function cell(vector: Vector, index: number): unknown {
  return vector.isValid(index) ? [normalize(vector.get(index)), rawSlot(vector, index)] : null;
}

type Signature = { [key: string]: unknown };

export interface SignatureOptions {
  /** Include schema and field metadata (default true). */
  metadata?: boolean;
  /** Include dictionary ids (default true; pyarrow's type equality has none). */
  dictionaryIds?: boolean;
}

/** Everything that defines a field: name, nullability, metadata and the full type, recursively. */
export function fieldSignature(field: Field, options: SignatureOptions = {}): Signature {
  return {
    name: field.name,
    nullable: field.nullable,
    ...(options.metadata === false ? {} : { metadata: [...field.metadata].sort() }),
    type: typeSignature(field.type as DataType, options),
  };
}

export function typeSignature(type: DataType, options: SignatureOptions = {}): Signature {
  const out: Signature = { typeId: type.typeId, text: String(type) };
  for (const [key, value] of Object.entries(type)) {
    if (key === 'children' || key === 'dictionary' || key === 'indices' || key === 'typeIdToChildIndex') continue;
    if (key === 'id' && options.dictionaryIds === false) continue;
    // undefined and null both mean "absent" (a timestamp's time zone): arrow-js decodes absent as null.
    if (value === null || value === undefined) out[key] = null;
    else if (['number', 'string', 'boolean', 'bigint'].includes(typeof value)) out[key] = value;
    else if (ArrayBuffer.isView(value)) out[key] = Array.from(value as unknown as ArrayLike<number>);
    else throw new Error(`typeSignature: unexpected property ${key} of ${String(type)}`);
  }
  if (type.children) out.children = type.children.map((child: Field) => fieldSignature(child, options));
  if (DataType.isDictionary(type)) {
    out.dictionary = typeSignature(type.dictionary as DataType, options);
    out.indices = typeSignature(type.indices as DataType, options);
  }
  return out;
}

export function schemaSignature(schema: Schema, options: SignatureOptions = {}): Signature {
  return {
    ...(options.metadata === false ? {} : { metadata: [...schema.metadata].sort() }),
    fields: schema.fields.map((f) => fieldSignature(f, options)),
  };
}
