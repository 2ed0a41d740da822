// The DuckDB -> Arrow type matrix: for every DuckDB type, streamQuery yields the Arrow type
// DuckDB's own Arrow export gives (duckdb Python 1.5, default settings) and the right values,
// NULLs included, nested ones too. Every case runs on both bridges: the JavaScript one and the
// native addon (DuckDB's own converter, read back from the IPC messages it builds).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  Binary,
  Bool,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalMonthDayNano,
  List,
  Map_,
  SparseUnion,
  Struct,
  TimeMicrosecond,
  TimeNanosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  util,
  type DataType,
  type RecordBatch,
  type Vector,
} from 'apache-arrow';
import { streamQuery } from '../../servers/bridge/index.ts';
import { streamQueryNative } from '../../servers/bridge/native-export.ts';
import { columnValues, memoryDatabase, queryBatches, type Bridge } from './helpers.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;
/** The bridge the running suite exercises. */
let bridge: Bridge = 'js';

before(async () => {
  ({ instance, connection } = await memoryDatabase({ shared: true }));
  await connection.run("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
  await connection.run("CREATE TYPE wide AS ENUM (SELECT 'v' || range::VARCHAR FROM range(300))");
});

after(() => {
  connection.closeSync();
  instance.closeSync();
});

/** Rows k = 1, 2, 3 with the given SQL values (NULL in the middle by convention). */
function valuesQuery(values: string[]): string {
  return `SELECT v FROM (VALUES ${values.map((v, i) => `(${i + 1}, ${v})`).join(', ')}) t(k, v) ORDER BY k`;
}

async function column(values: string[]): Promise<{ type: DataType; field: Field; batches: RecordBatch[] }> {
  const { schema, batches } = await queryBatches(connection, valuesQuery(values), undefined, bridge);
  assert.equal(schema.fields.length, 1);
  return { type: schema.fields[0].type, field: schema.fields[0], batches };
}

function assertType(actual: DataType, expected: DataType): void {
  assert.ok(util.compareTypes(actual, expected), `expected Arrow type ${expected}, got ${actual}`);
}

/** Raw per-row values (null for NULL rows) read with `read` from each batch's column vector. */
function raw(batches: RecordBatch[], read: (vector: Vector, i: number) => unknown): unknown[] {
  const out: unknown[] = [];
  for (const batch of batches) {
    const vector = batch.getChildAt(0)!;
    for (let i = 0; i < vector.length; i++) out.push(vector.isValid(i) ? read(vector, i) : null);
  }
  return out;
}

/** A decimal128 value as the signed 128-bit integer it stores (the unscaled value). */
function decimalAt(vector: Vector, i: number): bigint {
  const words = vector.data[0].values as Uint32Array;
  let value = 0n;
  for (let w = 3; w >= 0; w--) value = (value << 32n) | BigInt(words[i * 4 + w]);
  return BigInt.asIntN(128, value);
}

const int64At = (vector: Vector, i: number) => (vector.data[0].values as BigInt64Array)[i];
const int32At = (vector: Vector, i: number) => (vector.data[0].values as Int32Array)[i];
const bytesAt = (vector: Vector, i: number) => Array.from(vector.get(i) as Uint8Array);

for (const suite of ['js', 'native'] as const) {
  describe(`DuckDB -> Arrow types (${suite} bridge)`, () => {
    before(() => {
      bridge = suite;
    });

    const integers: [string, DataType, string[], unknown[]][] = [
      ['BOOLEAN', new Bool(), ['true', 'NULL', 'false'], [true, null, false]],
      ['TINYINT', new Int8(), ['(-128)::TINYINT', 'NULL', '127::TINYINT'], [-128, null, 127]],
      ['SMALLINT', new Int16(), ['(-32768)::SMALLINT', 'NULL', '32767::SMALLINT'], [-32768, null, 32767]],
      ['INTEGER', new Int32(), ['(-2147483648)::INTEGER', 'NULL', '2147483647::INTEGER'], [-2147483648, null, 2147483647]],
      [
        'BIGINT',
        new Int64(),
        ['(-9223372036854775808)::BIGINT', 'NULL', '9223372036854775807::BIGINT'],
        [-9223372036854775808n, null, 9223372036854775807n],
      ],
      ['UTINYINT', new Uint8(), ['0::UTINYINT', 'NULL', '255::UTINYINT'], [0, null, 255]],
      ['USMALLINT', new Uint16(), ['0::USMALLINT', 'NULL', '65535::USMALLINT'], [0, null, 65535]],
      ['UINTEGER', new Uint32(), ['0::UINTEGER', 'NULL', '4294967295::UINTEGER'], [0, null, 4294967295]],
      ['UBIGINT', new Uint64(), ['0::UBIGINT', 'NULL', '18446744073709551615::UBIGINT'], [0n, null, 18446744073709551615n]],
      ['FLOAT', new Float32(), ['1.5::FLOAT', 'NULL', '-0.25::FLOAT'], [1.5, null, -0.25]],
      ['DOUBLE', new Float64(), ['1e300::DOUBLE', 'NULL', '-2.5::DOUBLE'], [1e300, null, -2.5]],
    ];
    for (const [name, type, values, expected] of integers) {
      test(name, async () => {
        const result = await column(values);
        assertType(result.type, type);
        assert.deepEqual(columnValues(result.batches, 'v'), expected);
      });
    }

    test('HUGEINT and UHUGEINT -> decimal128(38, 0), UHUGEINT by its bits as DuckDB does', async () => {
      const huge = await column(['(-170141183460469231731687303715884105728)::HUGEINT', 'NULL', '12345678901234567890123::HUGEINT']);
      assertType(huge.type, new Decimal(0, 38, 128));
      assert.deepEqual(raw(huge.batches, decimalAt), [-170141183460469231731687303715884105728n, null, 12345678901234567890123n]);
      const uhuge = await column(['340282366920938463463374607431768211455::UHUGEINT', 'NULL', '42::UHUGEINT']);
      assertType(uhuge.type, new Decimal(0, 38, 128));
      assert.deepEqual(raw(uhuge.batches, decimalAt), [-1n, null, 42n]);
    });

    const decimals: [string, number, number, string[], unknown[]][] = [
      ['DECIMAL(4,1) (int16 storage)', 4, 1, ['123.4::DECIMAL(4,1)', 'NULL', '-0.5::DECIMAL(4,1)'], [1234n, null, -5n]],
      ['DECIMAL(9,2) (int32 storage)', 9, 2, ['1234567.89::DECIMAL(9,2)', 'NULL', '-0.01::DECIMAL(9,2)'], [123456789n, null, -1n]],
      [
        'DECIMAL(18,3) (int64 storage)',
        18,
        3,
        ['123456789012345.678::DECIMAL(18,3)', 'NULL', '-999999999999999.999::DECIMAL(18,3)'],
        [123456789012345678n, null, -999999999999999999n],
      ],
      [
        'DECIMAL(38,10) (int128 storage)',
        38,
        10,
        ['1234567890123456789012345678.0123456789::DECIMAL(38,10)', 'NULL', '-0.0000000001::DECIMAL(38,10)'],
        [12345678901234567890123456780123456789n, null, -1n],
      ],
    ];
    for (const [name, width, scale, values, expected] of decimals) {
      test(`${name} -> decimal128(${width}, ${scale})`, async () => {
        const result = await column(values);
        assertType(result.type, new Decimal(scale, width, 128));
        assert.deepEqual(raw(result.batches, decimalAt), expected);
      });
    }

    test('VARCHAR -> utf8, inline and heap strings', async () => {
      const result = await column(["'short'", 'NULL', "'a string longer than twelve bytes'", "''", "'ünïcødé ✈'", "'exactly12byt'"]);
      assertType(result.type, new Utf8());
      assert.deepEqual(columnValues(result.batches, 'v'), [
        'short',
        null,
        'a string longer than twelve bytes',
        '',
        'ünïcødé ✈',
        'exactly12byt',
      ]);
    });

    test('JSON -> utf8', async () => {
      const result = await column([`'{"a": 1}'::JSON`, 'NULL']);
      assertType(result.type, new Utf8());
      assert.deepEqual(columnValues(result.batches, 'v'), ['{"a": 1}', null]);
    });

    test('BLOB -> binary', async () => {
      const result = await column(["'\\x00\\x01\\xFF'::BLOB", 'NULL', "'0123456789abcdefghij'::BLOB"]);
      assertType(result.type, new Binary());
      assert.deepEqual(raw(result.batches, bytesAt), [[0, 1, 255], null, [...Buffer.from('0123456789abcdefghij')]]);
    });

    test('BIT -> binary holding DuckDB bit strings', async () => {
      const result = await column(["'0101'::BIT", 'NULL']);
      assertType(result.type, new Binary());
      // A padding-count byte, then the bits with the padding set: what DuckDB's export gives.
      assert.deepEqual(raw(result.batches, bytesAt), [[0x04, 0xf5], null]);
    });

    test('BIGNUM -> binary tagged arrow.opaque', async () => {
      const result = await column(['1::BIGNUM', 'NULL']);
      assertType(result.type, new Binary());
      assert.equal(result.field.metadata.get('ARROW:extension:name'), 'arrow.opaque');
      assert.equal(result.field.metadata.get('ARROW:extension:metadata'), '{"type_name":"bignum","vendor_name":"DuckDB"}');
      assert.deepEqual(raw(result.batches, bytesAt), [[0x80, 0x00, 0x01, 0x01], null]);
    });

    test('GEOMETRY -> binary WKB tagged geoarrow.wkb', async () => {
      const result = await column(["'POINT(1 2)'::GEOMETRY", 'NULL']);
      assertType(result.type, new Binary());
      assert.equal(result.field.metadata.get('ARROW:extension:name'), 'geoarrow.wkb');
      const wkb = Buffer.alloc(21);
      wkb.writeUInt8(1, 0);
      wkb.writeUInt32LE(1, 1);
      wkb.writeDoubleLE(1, 5);
      wkb.writeDoubleLE(2, 13);
      assert.deepEqual(raw(result.batches, bytesAt), [[...wkb], null]);
    });

    test('DATE -> date32', async () => {
      const result = await column(["DATE '2020-02-29'", 'NULL', "DATE '1969-12-31'"]);
      assertType(result.type, new DateDay());
      assert.deepEqual(raw(result.batches, int32At), [18321, null, -1]);
    });

    test('TIME -> time64[us], TIME_NS -> time64[ns]', async () => {
      const time = await column(["TIME '01:02:03.456789'", 'NULL']);
      assertType(time.type, new TimeMicrosecond());
      assert.deepEqual(raw(time.batches, int64At), [3723456789n, null]);
      const timeNs = await column(["'01:02:03.123456789'::TIME_NS", 'NULL']);
      assertType(timeNs.type, new TimeNanosecond());
      assert.deepEqual(raw(timeNs.batches, int64At), [3723123456789n, null]);
    });

    test('TIME WITH TIME ZONE -> time64[us] of the local time, offset dropped as DuckDB does', async () => {
      const result = await column(["TIMETZ '01:02:03.5+05:30'", 'NULL', "TIMETZ '23:59:59-08'"]);
      assertType(result.type, new TimeMicrosecond());
      assert.deepEqual(raw(result.batches, int64At), [3723500000n, null, 86399000000n]);
    });

    test('TIMESTAMP_S / _MS / TIMESTAMP / _NS -> timestamp[s|ms|us|ns]', async () => {
      const cases: [string, DataType, bigint][] = [
        ["'2020-01-01 00:00:01'::TIMESTAMP_S", new TimestampSecond(), 1577836801n],
        ["'2020-01-01 00:00:01.5'::TIMESTAMP_MS", new TimestampMillisecond(), 1577836801500n],
        ["TIMESTAMP '2020-01-01 00:00:00.000001'", new TimestampMicrosecond(), 1577836800000001n],
        ["'1969-12-31 23:59:59.999999999'::TIMESTAMP_NS", new TimestampNanosecond(), -1n],
      ];
      for (const [sql, type, value] of cases) {
        const result = await column([sql, 'NULL']);
        assertType(result.type, type);
        assert.deepEqual(raw(result.batches, int64At), [value, null], sql);
      }
    });

    test('TIMESTAMPTZ -> timestamp[us] in the session time zone', async () => {
      const zone = (await connection.runAndReadAll("SELECT current_setting('TimeZone')")).getRows()[0][0] as string;
      const result = await column(["TIMESTAMPTZ '2020-01-01 00:00:00.25+00'", 'NULL']);
      assertType(result.type, new TimestampMicrosecond(zone));
      assert.deepEqual(raw(result.batches, int64At), [1577836800250000n, null]);
    });

    test('INTERVAL -> month_day_nano', async () => {
      const result = await column([
        "INTERVAL '1 month 2 days 3.000004 seconds'",
        'NULL',
        "INTERVAL '-1 microsecond'",
        "INTERVAL '-3 years'",
      ]);
      assertType(result.type, new IntervalMonthDayNano());
      const read = (vector: Vector, i: number) => {
        const words = vector.data[0].values as Int32Array;
        const nanos = (BigInt(words[i * 4 + 3]) << 32n) | BigInt(words[i * 4 + 2] >>> 0);
        return [words[i * 4], words[i * 4 + 1], nanos];
      };
      assert.deepEqual(raw(result.batches, read), [[1, 2, 3000004000n], null, [0, 0, -1000n], [-36, 0, 0n]]);
    });

    test('UUID -> utf8 in canonical form', async () => {
      const result = await column([
        "'12345678-1234-5678-1234-567812345678'::UUID",
        'NULL',
        "'ffffffff-0000-0000-0000-000000000001'::UUID",
        "'00000000-0000-0000-0000-000000000000'::UUID",
      ]);
      assertType(result.type, new Utf8());
      assert.deepEqual(columnValues(result.batches, 'v'), [
        '12345678-1234-5678-1234-567812345678',
        null,
        'ffffffff-0000-0000-0000-000000000001',
        '00000000-0000-0000-0000-000000000000',
      ]);
    });

    test('ENUM -> dictionary<utf8> with DuckDB-width indices', async () => {
      const small = await column(["'ok'::mood", 'NULL', "'sad'::mood"]);
      assertType(small.type, new Dictionary(new Utf8(), new Uint8(), (small.type as Dictionary).id, false));
      assert.deepEqual(columnValues(small.batches, 'v'), ['ok', null, 'sad']);
      assert.deepEqual([...small.batches[0].getChildAt(0)!.data[0].dictionary!], ['sad', 'ok', 'happy']);
      const wide = await column(["'v299'::wide", 'NULL']);
      assertType(wide.type, new Dictionary(new Utf8(), new Uint16(), (wide.type as Dictionary).id, false));
      assert.deepEqual(columnValues(wide.batches, 'v'), ['v299', null]);
    });

    test('LIST -> list<l: ...> with nulls inside and out', async () => {
      const result = await column(['[1, NULL, 3]::INTEGER[]', 'NULL', '[]::INTEGER[]', "['x', NULL]::INTEGER[]".replace("'x'", '7')]);
      assertType(result.type, new List(new Field('l', new Int32(), true)));
      assert.deepEqual(columnValues(result.batches, 'v'), [[1, null, 3], null, [], [7, null]]);
    });

    test('ARRAY -> fixed_size_list', async () => {
      const result = await column(['[1, 2]::INTEGER[2]', 'NULL', '[NULL, 4]::INTEGER[2]']);
      assertType(result.type, new FixedSizeList(2, new Field('', new Int32(), true)));
      assert.deepEqual(columnValues(result.batches, 'v'), [[1, 2], null, [null, 4]]);
    });

    test('STRUCT -> struct', async () => {
      const result = await column([
        "{'a': 1, 'b': 'x'}::STRUCT(a INTEGER, b VARCHAR)",
        'NULL',
        "{'a': NULL, 'b': 'a long string inside a struct'}::STRUCT(a INTEGER, b VARCHAR)",
      ]);
      assertType(result.type, new Struct([new Field('a', new Int32(), true), new Field('b', new Utf8(), true)]));
      assert.deepEqual(columnValues(result.batches, 'v'), [{ a: 1, b: 'x' }, null, { a: null, b: 'a long string inside a struct' }]);
    });

    test('MAP -> map<key, value> with non-null keys', async () => {
      const result = await column(["MAP {'k': 1, 'z': NULL}::MAP(VARCHAR, INTEGER)", 'NULL', 'MAP {}::MAP(VARCHAR, INTEGER)']);
      const entries = new Struct([new Field('key', new Utf8(), false), new Field('value', new Int32(), true)]);
      assertType(result.type, new Map_(new Field('entries', entries, false), false));
      assert.deepEqual(columnValues(result.batches, 'v'), [{ k: 1, z: null }, null, {}]);
    });

    test('UNION -> sparse union; a NULL union is type id 0 with a null member', async () => {
      const union = 'UNION(num INTEGER, str VARCHAR)';
      const result = await column([`union_value(num := 1)::${union}`, 'NULL', `union_value(str := 'x')::${union}`]);
      assertType(result.type, new SparseUnion([0, 1], [new Field('num', new Int32(), true), new Field('str', new Utf8(), true)]));
      assert.deepEqual(columnValues(result.batches, 'v'), [1, null, 'x']);
      assert.deepEqual([...result.batches[0].getChildAt(0)!.data[0].typeIds], [0, 0, 1]);
    });

    test('nested NULLs: lists of structs of lists and maps', async () => {
      const type = 'STRUCT(x INTEGER[], y MAP(INTEGER, VARCHAR))[]';
      const result = await column([
        `[{'x': [1, NULL], 'y': MAP {1: 'one', 2: NULL}}, NULL, {'x': NULL, 'y': NULL}]::${type}`,
        'NULL',
        `[]::${type}`,
      ]);
      assert.deepEqual(columnValues(result.batches, 'v'), [
        [{ x: [1, null], y: { 1: 'one', 2: null } }, null, { x: null, y: null }],
        null,
        [],
      ]);
    });

    test('a type with no Arrow mapping throws naming it, before the query runs', async () => {
      const start =
        bridge === 'js' ? streamQuery(connection, 'SELECT 1::VARIANT AS v') : streamQueryNative(connection, 'SELECT 1::VARIANT AS v');
      await assert.rejects(start, /VARIANT/);
      // The connection was released and still works.
      const { batches } = await queryBatches(connection, 'SELECT 42 AS answer', undefined, bridge);
      assert.deepEqual(columnValues(batches, 'answer'), [42]);
    });
  });
}
