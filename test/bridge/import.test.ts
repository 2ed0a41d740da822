// appendBatches: the Arrow types clients send, conversions into existing tables, all-or-nothing
// failures, identifiers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  Binary,
  Bool,
  DateMillisecond,
  Decimal,
  Dictionary,
  DurationMillisecond,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Int32,
  Int64,
  IntervalDayTime,
  LargeBinary,
  LargeUtf8,
  List,
  makeData,
  Map_,
  Null,
  RecordBatch,
  Schema,
  SparseUnion,
  Struct,
  Table,
  TimeMillisecond,
  TimeNanosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  Utf8View,
  Vector,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import { appendBatches, duckdbColumnTypeSql, quoteIdentifier } from '../../servers/bridge/index.ts';
import { duckRows, iterate, memoryDatabase } from './helpers.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

before(async () => {
  ({ instance, connection } = await memoryDatabase());
});

after(() => {
  connection?.closeSync();
  instance?.closeSync();
});

function tableOf(columns: Record<string, Vector>): Table {
  return new Table(columns);
}

/** `rows` rows per batch, in `count` batches, of an INTEGER id and a VARCHAR note. */
function simpleBatches(count: number, rows: number, start = 0): RecordBatch[] {
  const batches: RecordBatch[] = [];
  for (let b = 0; b < count; b++) {
    const ids = Array.from({ length: rows }, (_, i) => start + b * rows + i);
    const table = tableOf({
      id: vectorFromArray(ids, new Int32()),
      note: vectorFromArray(
        ids.map((i) => (i % 10 === 0 ? null : `note ${i}${i % 3 === 0 ? ' with a longer tail' : ''}`)),
        new Utf8(),
      ),
    });
    batches.push(...table.batches);
  }
  return batches;
}

async function snapshot(table: string): Promise<unknown[][]> {
  return duckRows(connection, `SELECT * FROM ${quoteIdentifier(table)} ORDER BY ALL`);
}

describe('duckdbColumnTypeSql', () => {
  test('maps Arrow types to DuckDB column types, quoting names', () => {
    const cases: [DataType, string][] = [
      [new Int32(), 'INTEGER'],
      [new Uint64(), 'UBIGINT'],
      [new LargeUtf8(), 'VARCHAR'],
      [new LargeBinary(), 'BLOB'],
      [new FixedSizeBinary(4), 'BLOB'],
      [new DateMillisecond(), 'DATE'],
      [new TimestampNanosecond('UTC'), 'TIMESTAMP WITH TIME ZONE'],
      [new TimestampMillisecond(), 'TIMESTAMP_MS'],
      [new TimeNanosecond(), 'TIME_NS'],
      [new TimeMillisecond(), 'TIME'],
      [new Decimal(2, 10, 128), 'DECIMAL(10, 2)'],
      [new DurationMillisecond(), 'INTERVAL'],
      [new Dictionary(new Utf8(), new Int32()), 'VARCHAR'],
      [new Null(), 'INTEGER'],
      [new FixedSizeList(3, new Field('item', new Float32())), 'FLOAT[3]'],
      [
        new List(new Field('item', new Struct([new Field('x', new Int32()), new Field('y "q"', new Utf8())]))),
        'STRUCT("x" INTEGER, "y ""q""" VARCHAR)[]',
      ],
      [
        new Map_(new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', new Int64())]), false) as never),
        'MAP(VARCHAR, BIGINT)',
      ],
      [new SparseUnion([0, 1], [new Field('n', new Int32()), new Field('s', new Utf8())]), 'UNION("n" INTEGER, "s" VARCHAR)'],
    ];
    for (const [type, sql] of cases) assert.equal(duckdbColumnTypeSql(new Field('c', type)), sql, String(type));
    const uuid = new Field('u', new FixedSizeBinary(16), true, new Map([['ARROW:extension:name', 'arrow.uuid']]));
    assert.equal(duckdbColumnTypeSql(uuid), 'UUID');
  });

  test('throws naming the column and an Arrow type DuckDB has no column type for', () => {
    assert.throws(() => duckdbColumnTypeSql(new Field('half', new Float16())), /Float16.*"half"/);
    assert.throws(() => duckdbColumnTypeSql(new Field('wide', new Decimal(0, 50, 256))), /Decimal.*"wide".*38 digits/);
    assert.throws(() => duckdbColumnTypeSql(new Field('d', new Dictionary(new Int32(), new Int32()))), /"d".*dictionaries of strings/);
  });
});

describe('appendBatches', () => {
  test('the Arrow types a pyarrow client sends land as DuckDB types with their values', async () => {
    const union = new SparseUnion([0, 1], [new Field('n', new Int32()), new Field('s', new Utf8())]);
    const unionData = makeData({
      type: union,
      length: 3,
      nullCount: 0,
      typeIds: new Int8Array([0, 1, 0]),
      children: [vectorFromArray([7, null, null], new Int32()).data[0], vectorFromArray([null, 'sss', null], new Utf8()).data[0]],
    } as never);
    const entries = new Field('entries', new Struct([new Field('key', new Utf8(), false), new Field('value', new Int32())]), false);
    const table = tableOf({
      big_text: vectorFromArray(['a', null, 'a large_utf8 value over twelve'], new LargeUtf8()),
      big_bytes: vectorFromArray([new Uint8Array([1, 2]), null, new Uint8Array(20).fill(9)], new LargeBinary()),
      view_text: vectorFromArray(['inline', 'a utf8view string past twelve bytes', null], new Utf8View()),
      day64: vectorFromArray([new Date(Date.UTC(2024, 1, 29, 13)), null, new Date(Date.UTC(1969, 11, 31, 23))], new DateMillisecond()),
      ts_utc: vectorFromArray([Date.UTC(2020, 0, 1, 12, 30), null, 0], new TimestampNanosecond('UTC')),
      ts_ny: vectorFromArray([Date.UTC(2020, 0, 1, 12, 30, 0, 250), null, -1], new TimestampMillisecond('America/New_York')),
      category: vectorFromArray(['red', 'a much longer category name', null], new Dictionary(new Utf8(), new Int32())),
      pair: vectorFromArray([[1, 2], null, [3, null]], new FixedSizeList(2, new Field('item', new Int32()))),
      attrs: vectorFromArray(
        [
          new Map([['a', 1]]),
          null,
          new Map([
            ['b', null],
            ['c', 3],
          ]),
        ],
        new Map_(entries),
      ),
      point: vectorFromArray(
        [{ x: 1, y: 'one' }, null, { x: null, y: 'three, a long one' }],
        new Struct([new Field('x', new Int32()), new Field('y', new Utf8())]),
      ),
      price: vectorFromArray(
        [new Uint32Array([12345, 0, 0, 0]), null, new Uint32Array([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff])],
        new Decimal(2, 10, 128),
      ),
      u8: vectorFromArray([255, null, 0], new Uint8()),
      u16: vectorFromArray([65535, null, 0], new Uint16()),
      u32: vectorFromArray([4294967295, null, 0], new Uint32()),
      u64: vectorFromArray([18446744073709551615n, null, 0n], new Uint64()),
      flag: vectorFromArray([true, null, false], new Bool()),
      clock: vectorFromArray([3723456, null, 0], new TimeMillisecond()),
      wait: vectorFromArray([1500n, null, -1n], new DurationMillisecond()),
      gap: vectorFromArray([new Int32Array([2, 500]), null, new Int32Array([-1, -1])], new IntervalDayTime()),
      nothing: vectorFromArray([null, null, null], new Null()),
      choice: new Vector([unionData]),
    });
    const result = await appendBatches(connection, 'from_pyarrow', table.schema, iterate(table.batches));
    assert.deepEqual(result, { rows: 3, created: true });
    const types = await duckRows(connection, "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'from_pyarrow'");
    assert.deepEqual(Object.fromEntries(types as [string, string][]), {
      big_text: 'VARCHAR',
      big_bytes: 'BLOB',
      view_text: 'VARCHAR',
      day64: 'DATE',
      ts_utc: 'TIMESTAMP WITH TIME ZONE',
      ts_ny: 'TIMESTAMP WITH TIME ZONE',
      category: 'VARCHAR',
      pair: 'INTEGER[2]',
      attrs: 'MAP(VARCHAR, INTEGER)',
      point: 'STRUCT(x INTEGER, y VARCHAR)',
      price: 'DECIMAL(10,2)',
      u8: 'UTINYINT',
      u16: 'USMALLINT',
      u32: 'UINTEGER',
      u64: 'UBIGINT',
      flag: 'BOOLEAN',
      clock: 'TIME',
      wait: 'INTERVAL',
      gap: 'INTERVAL',
      nothing: 'INTEGER',
      choice: 'UNION(n INTEGER, s VARCHAR)',
    });
    const rows = await duckRows(
      connection,
      `SELECT big_text, big_bytes::VARCHAR, view_text, day64::VARCHAR, ts_utc::VARCHAR, epoch_ms(ts_ny), category, pair, attrs::VARCHAR,
        point::VARCHAR, price::VARCHAR, u8, u16, u32, u64::VARCHAR, flag, clock::VARCHAR, wait::VARCHAR, gap::VARCHAR, nothing, choice::VARCHAR
       FROM from_pyarrow`,
    );
    assert.deepEqual(rows, [
      [
        'a',
        '\\x01\\x02',
        'inline',
        '2024-02-29',
        '2020-01-01 12:30:00+00',
        '1577881800250',
        'red',
        [1, 2],
        '{a=1}',
        "{'x': 1, 'y': one}",
        '123.45',
        255,
        65535,
        4294967295,
        '18446744073709551615',
        true,
        '01:02:03.456',
        '00:00:01.5',
        '2 days 00:00:00.5',
        null,
        '7',
      ],
      [
        null,
        null,
        'a utf8view string past twelve bytes',
        null,
        null,
        null,
        'a much longer category name',
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        'sss',
      ],
      [
        'a large_utf8 value over twelve',
        '\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09\\x09',
        null,
        '1969-12-31',
        '1970-01-01 00:00:00+00',
        '-1',
        null,
        [3, null],
        '{b=NULL, c=3}',
        "{'x': NULL, 'y': 'three, a long one'}",
        '-0.01',
        0,
        0,
        0,
        '0',
        false,
        '00:00:00',
        '-00:00:00.001',
        '-1 day -00:00:00.001',
        null,
        null,
      ],
    ]);
  });

  test('into existing columns: implicit casts, text and dictionaries into ENUM, text into UUID, decimal128 into HUGEINT', async () => {
    await connection.run(`CREATE TABLE typed (n BIGINT, mood ENUM('sad', 'ok', 'happy'), mood2 ENUM('sad', 'ok', 'happy'),
      id UUID, big HUGEINT, t TIME WITH TIME ZONE, f DOUBLE)`);
    const table = tableOf({
      n: vectorFromArray([1, null, -3], new Int32()),
      mood: vectorFromArray(['ok', null, 'happy'], new Utf8()),
      mood2: vectorFromArray(['sad', 'happy', null], new Dictionary(new Utf8(), new Uint8())),
      id: vectorFromArray(['12345678-1234-5678-1234-567812345678', null, 'FFFFFFFF000000000000000000000001'], new Utf8()),
      big: vectorFromArray([new Uint32Array([5, 0, 0, 0]), null, new Uint32Array([0, 0, 0, 0x80000000])], new Decimal(0, 38, 128)),
      t: new Vector([
        makeData({
          type: new TimeNanosecond(),
          length: 3,
          nullCount: 1,
          nullBitmap: new Uint8Array([0b101]),
          data: new BigInt64Array([3723000000n, 0n, 0n]),
        }),
      ]),
      f: vectorFromArray([1.5, null, 2], new Float32()),
    });
    const result = await appendBatches(connection, 'typed', table.schema, iterate(table.batches), { create: 'never' });
    assert.deepEqual(result, { rows: 3, created: false });
    assert.deepEqual(
      await duckRows(connection, 'SELECT n, mood::VARCHAR, mood2::VARCHAR, id::VARCHAR, big::VARCHAR, t::VARCHAR, f FROM typed'),
      [
        ['1', 'ok', 'sad', '12345678-1234-5678-1234-567812345678', '5', '00:00:03.723+00', 1.5],
        [null, null, 'happy', null, null, null, null],
        ['-3', 'happy', null, 'ffffffff-0000-0000-0000-000000000001', '-170141183460469231731687303715884105728', '00:00:00+00', 2],
      ],
    );
  });

  test('a batch spanning many DuckDB chunks, and sliced batches with unaligned offsets', async () => {
    const [whole] = simpleBatches(1, 10000);
    const sliced = whole.slice(3, 4997 + 3);
    await appendBatches(connection, 'sliced', whole.schema, iterate([whole.slice(0, 3), sliced, whole.slice(5000)]));
    assert.deepEqual(await duckRows(connection, 'SELECT count(*)::INTEGER, count(note)::INTEGER, sum(id)::BIGINT FROM sliced'), [
      [10000, 9000, '49995000'],
    ]);
    assert.deepEqual(await duckRows(connection, 'SELECT id, note FROM sliced WHERE id IN (2, 3, 10, 4999, 5000, 9999) ORDER BY id'), [
      [2, 'note 2'],
      [3, 'note 3 with a longer tail'],
      [10, null],
      [4999, 'note 4999'],
      [5000, null],
      [9999, 'note 9999 with a longer tail'],
    ]);
  });

  test('a schema mismatch is refused before anything is written, naming the column and both types', async () => {
    await connection.run('CREATE TABLE guarded (id INTEGER, note VARCHAR)');
    await appendBatches(connection, 'guarded', simpleBatches(1, 5)[0].schema, iterate(simpleBatches(1, 5)));
    const before = await snapshot('guarded');
    const wrongType = tableOf({ id: vectorFromArray(['1'], new Utf8()), note: vectorFromArray(['x'], new Utf8()) });
    await assert.rejects(
      appendBatches(connection, 'guarded', wrongType.schema, iterate(wrongType.batches)),
      /column "id" of table "guarded" is INTEGER but the data's field has Arrow type Utf8 \(DuckDB VARCHAR\)/,
    );
    const wrongCount = tableOf({ id: vectorFromArray([1], new Int32()) });
    await assert.rejects(
      appendBatches(connection, 'guarded', wrongCount.schema, iterate(wrongCount.batches)),
      /has 2 columns \(id, note\) but the data has 1 \(id\)/,
    );
    const wrongName = tableOf({ id: vectorFromArray([1], new Int32()), remark: vectorFromArray(['x'], new Utf8()) });
    await assert.rejects(
      appendBatches(connection, 'guarded', wrongName.schema, iterate(wrongName.batches)),
      /column 2 of table "guarded" is "note" but the data's field 2 is "remark"/,
    );
    // A batch that does not match the declared schema.
    const [good] = simpleBatches(1, 5, 100);
    await assert.rejects(
      appendBatches(connection, 'guarded', good.schema, iterate([good, wrongType.batches[0]])),
      /batch 1 does not match/,
    );
    assert.deepEqual(await snapshot('guarded'), before);
    await assert.rejects(appendBatches(connection, 'no_such_table', good.schema, iterate([good]), { create: 'never' }), /does not exist/);
  });

  test('struct fields and union members without names are refused before anything is written', async () => {
    // Schema.fbs lets a child field go unnamed (a Flight decoder takes it); DuckDB names STRUCT
    // fields and UNION tags after them.
    const unnamed = (type: DataType) => new Field(null as unknown as string, type);
    const struct = new Struct([new Field('x', new Int32()), unnamed(new Utf8())]);
    const union = new SparseUnion([0, 1], [new Field('n', new Int32()), unnamed(new Utf8())]);
    const listOfStructs = new List(new Field('item', struct));
    assert.throws(() => duckdbColumnTypeSql(new Field('s', struct)), /column "s": struct field 2 has no name/);
    assert.throws(() => duckdbColumnTypeSql(new Field('u', union)), /column "u": union member 2 has no name/);
    const schemaOf = (type: DataType) => new Schema([new Field('id', new Int32()), new Field('c', type)]);
    await assert.rejects(appendBatches(connection, 'unnamed_new', schemaOf(union), iterate([])), /column "c": union member 2 has no name/);
    await assert.rejects(
      appendBatches(connection, 'unnamed_new', schemaOf(listOfStructs), iterate([])),
      /column "c\.item": struct field 2 has no name/,
    );
    assert.deepEqual(await duckRows(connection, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'unnamed_new'"), [['0']]);
    await connection.run('CREATE TABLE unnamed_old (id INTEGER, c STRUCT(x INTEGER, y VARCHAR)[])');
    await connection.run("INSERT INTO unnamed_old VALUES (1, [{'x': 1, 'y': 'a'}])");
    const before = await snapshot('unnamed_old');
    await assert.rejects(
      appendBatches(connection, 'unnamed_old', schemaOf(listOfStructs), iterate([])),
      /column "c\.item": struct field 2 has no name/,
    );
    assert.deepEqual(await snapshot('unnamed_old'), before);
  });

  test('a bad value midway rolls everything back', async () => {
    await connection.run('CREATE TABLE strict (id INTEGER NOT NULL, note VARCHAR)');
    await appendBatches(connection, 'strict', simpleBatches(1, 3)[0].schema, iterate(simpleBatches(1, 3)));
    const before = await snapshot('strict');
    const batches = simpleBatches(3, 3000, 10);
    const broken = tableOf({ id: vectorFromArray([1, null, 3], new Int32()), note: vectorFromArray(['a', 'b', 'c'], new Utf8()) });
    await assert.rejects(appendBatches(connection, 'strict', batches[0].schema, iterate([...batches, ...broken.batches])), /NOT NULL/);
    assert.deepEqual(await snapshot('strict'), before);

    // A violation met while the appender flushes mid-upload (it flushes every ~200k rows).
    const many = simpleBatches(4, 100000, 1000);
    const late = tableOf({ id: vectorFromArray([null], new Int32()), note: vectorFromArray(['late'], new Utf8()) });
    await assert.rejects(
      appendBatches(connection, 'strict', many[0].schema, iterate([...many.slice(0, 2), ...late.batches, ...many.slice(2)])),
      /NOT NULL/,
    );
    assert.deepEqual(await snapshot('strict'), before);
    // The connection is out of the failed transaction and usable.
    await appendBatches(connection, 'strict', many[0].schema, iterate(simpleBatches(1, 2, 500)));
    assert.deepEqual(await duckRows(connection, 'SELECT count(*)::INTEGER FROM strict'), [[5]]);
    await connection.run('DELETE FROM strict WHERE id >= 500');

    await connection.run("CREATE TABLE moods (id INTEGER, mood ENUM('sad', 'ok'))");
    const good = tableOf({
      id: vectorFromArray([1, 2], new Int32()),
      mood: vectorFromArray(['ok', 'sad'], new Dictionary(new Utf8(), new Int32())),
    });
    const bad = tableOf({
      id: vectorFromArray([3], new Int32()),
      mood: vectorFromArray(['furious'], new Dictionary(new Utf8(), new Int32())),
    });
    await assert.rejects(
      appendBatches(connection, 'moods', good.schema, iterate([...good.batches, ...bad.batches])),
      /"furious" is not a value of ENUM\('sad', 'ok'\)/,
    );
    assert.deepEqual(await snapshot('moods'), []);
  });

  test('a failing producer rolls everything back', async () => {
    await connection.run('CREATE TABLE produced (id INTEGER, note VARCHAR)');
    const schema = simpleBatches(1, 1)[0].schema;
    async function* failing() {
      yield* simpleBatches(2, 3000);
      throw new Error('upstream connection reset');
    }
    await assert.rejects(appendBatches(connection, 'produced', schema, failing()), /upstream connection reset/);
    assert.deepEqual(await snapshot('produced'), []);
  });

  test('aborting midway rolls everything back, even while the producer is stuck', async () => {
    await connection.run('CREATE TABLE aborted (id INTEGER, note VARCHAR)');
    await appendBatches(connection, 'aborted', simpleBatches(1, 2)[0].schema, iterate(simpleBatches(1, 2)));
    const before = await snapshot('aborted');
    const controller = new AbortController();
    const schema = simpleBatches(1, 1)[0].schema;
    async function* stuck() {
      yield* simpleBatches(2, 3000, 50);
      controller.abort(new Error('client cancelled the upload'));
      await new Promise(() => {}); // never yields again
    }
    await assert.rejects(
      appendBatches(connection, 'aborted', schema, stuck(), { signal: controller.signal }),
      /client cancelled the upload/,
    );
    assert.deepEqual(await snapshot('aborted'), before);
    // Aborted while the next batch is awaited, right after a big one went in.
    const second = new AbortController();
    async function* abortingDuring() {
      const [big] = simpleBatches(1, 20000, 1000);
      setImmediate(() => second.abort(new Error('cancelled mid-batch')));
      yield big;
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield big;
    }
    await assert.rejects(appendBatches(connection, 'aborted', schema, abortingDuring(), { signal: second.signal }), /cancelled mid-batch/);
    assert.deepEqual(await snapshot('aborted'), before);
    // The connection is usable afterwards, outside any transaction.
    await appendBatches(connection, 'aborted', schema, iterate(simpleBatches(1, 1, 77)));
    assert.deepEqual(await duckRows(connection, 'SELECT count(*)::INTEGER FROM aborted'), [[3]]);
  });

  test("create: 'replace' swaps the table atomically; a failed replace keeps the old one", async () => {
    await appendBatches(connection, 'swapped', simpleBatches(1, 1)[0].schema, iterate(simpleBatches(1, 4)));
    const other = tableOf({ code: vectorFromArray(['x', 'y'], new Utf8()) });
    assert.deepEqual(await appendBatches(connection, 'swapped', other.schema, iterate(other.batches), { create: 'replace' }), {
      rows: 2,
      created: true,
    });
    assert.deepEqual(await duckRows(connection, 'SELECT * FROM swapped ORDER BY code'), [['x'], ['y']]);
    async function* failing() {
      yield* simpleBatches(1, 10);
      throw new Error('gone');
    }
    await assert.rejects(appendBatches(connection, 'swapped', simpleBatches(1, 1)[0].schema, failing(), { create: 'replace' }), /gone/);
    assert.deepEqual(await duckRows(connection, 'SELECT * FROM swapped ORDER BY code'), [['x'], ['y']]);
  });

  test('table names are identifiers: quotes, spaces and unicode work, SQL cannot be injected', async () => {
    await connection.run('CREATE TABLE victim (x INTEGER)');
    const names = ['we"ird name', 'spaces here', 'ünïcødé 表', 'x"; DROP TABLE victim; --', "o'quote", 'Mixed Case'];
    for (const name of names) {
      const schema = simpleBatches(1, 1)[0].schema;
      assert.deepEqual(await appendBatches(connection, name, schema, iterate(simpleBatches(1, 3))), { rows: 3, created: true }, name);
      assert.deepEqual(await appendBatches(connection, name, schema, iterate(simpleBatches(1, 2, 3))), { rows: 2, created: false }, name);
      assert.deepEqual(await duckRows(connection, `SELECT count(*)::INTEGER FROM ${quoteIdentifier(name)}`), [[5]], name);
    }
    // DuckDB resolves names without regard to case: this appends to "Mixed Case".
    await appendBatches(connection, 'mixed case', simpleBatches(1, 1)[0].schema, iterate(simpleBatches(1, 1, 9)));
    assert.deepEqual(await duckRows(connection, 'SELECT count(*)::INTEGER FROM "Mixed Case"'), [[6]]);
    assert.deepEqual(await duckRows(connection, "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name = 'victim'"), [[1]]);
    const schema = new Schema([new Field('a"b', new Int32()), new Field('c; DROP TABLE victim', new Utf8())]);
    const table = tableOf({ 'a"b': vectorFromArray([1], new Int32()), 'c; DROP TABLE victim': vectorFromArray(['z'], new Utf8()) });
    await appendBatches(connection, 'odd columns', schema, iterate(table.batches));
    assert.deepEqual(await duckRows(connection, 'SELECT "a""b", "c; DROP TABLE victim" FROM "odd columns"'), [[1, 'z']]);
    assert.deepEqual(await duckRows(connection, "SELECT count(*)::INTEGER FROM duckdb_tables() WHERE table_name = 'victim'"), [[1]]);
  });

  test('an upload inside a transaction of its own: refused when the connection is already in one', async () => {
    await connection.run('BEGIN TRANSACTION');
    try {
      await assert.rejects(appendBatches(connection, 'inside', simpleBatches(1, 1)[0].schema, iterate(simpleBatches(1, 1))), /transaction/);
    } finally {
      await connection.run('ROLLBACK');
    }
  });

  test('short strings read back equal to the same text typed in SQL', async () => {
    const texts = ['ab', 'cd', 'ab', 'abcdefgh', 'abcdefghijkl', 'abcdefghi', 'x', 'abcdefghijklm', 'abcd'];
    const table = tableOf({
      s: vectorFromArray(texts, new Utf8()),
      b: vectorFromArray(
        texts.map((t) => new TextEncoder().encode(t)),
        new Binary(),
      ),
    });
    await appendBatches(connection, 'padded', table.schema, iterate(table.batches));
    assert.deepEqual(await duckRows(connection, "SELECT count(*)::INTEGER FROM padded WHERE s = 'ab' AND b = 'ab'::BLOB"), [[2]]);
    assert.deepEqual(
      await duckRows(
        connection,
        "SELECT s, count(*)::INTEGER FROM padded WHERE s IN ('abcd', 'abcdefgh', 'abcdefghi', 'abcdefghijkl', 'x') GROUP BY s ORDER BY s",
      ),
      [
        ['abcd', 1],
        ['abcdefgh', 1],
        ['abcdefghi', 1],
        ['abcdefghijkl', 1],
        ['x', 1],
      ],
    );
  });

  test('nulls in list slots with a non-empty range are ignored', async () => {
    // Arrow lets a null list slot span child values; DuckDB must not see them.
    const child = vectorFromArray([1, 2, 3, 4, 5], new Int32()).data[0];
    const type = new List(new Field('item', new Int32()));
    const data = makeData({
      type,
      length: 3,
      nullCount: 1,
      nullBitmap: new Uint8Array([0b101]),
      valueOffsets: new Int32Array([0, 1, 4, 5]),
      child,
    });
    const batch = new RecordBatch(
      new Schema([new Field('l', type)]),
      makeData({ type: new Struct([new Field('l', type)]), length: 3, children: [data] }),
    );
    await appendBatches(connection, 'sparse_lists', batch.schema, iterate([batch]));
    assert.deepEqual(await duckRows(connection, 'SELECT l FROM sparse_lists'), [[[1]], [null], [[5]]]);
  });
});

describe('concurrent uploads creating one table', () => {
  /** Yields the batches with a pause before each, so that two uploads overlap. */
  async function* slowly(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
    for (const batch of batches) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield batch;
    }
  }

  test('both go in: one creates the table, the other waits and appends', async () => {
    const a = await instance.connect();
    const b = await instance.connect();
    try {
      const first = simpleBatches(4, 100, 0);
      const second = simpleBatches(4, 100, 10_000);
      const [ra, rb] = await Promise.all([
        appendBatches(a, 'made_twice', first[0]!.schema, slowly(first)),
        appendBatches(b, 'made_twice', second[0]!.schema, slowly(second)),
      ]);
      assert.deepEqual([ra.rows, rb.rows], [400, 400]);
      assert.deepEqual([ra.created, rb.created].sort(), [false, true]);
      assert.deepEqual(await duckRows(connection, 'SELECT count(*), count(DISTINCT id) FROM made_twice'), [['800', '800']]);
    } finally {
      a.closeSync();
      b.closeSync();
    }
  });

  test('when the creating upload fails, the waiting one creates the table itself', async () => {
    const a = await instance.connect();
    const b = await instance.connect();
    try {
      const good = simpleBatches(2, 50, 0);
      async function* failing(): AsyncGenerator<RecordBatch> {
        yield* slowly(simpleBatches(2, 50, 500));
        throw new Error('the client went away');
      }
      const failed = appendBatches(a, 'made_after_failure', good[0]!.schema, failing());
      await new Promise((resolve) => setTimeout(resolve, 5));
      const succeeded = appendBatches(b, 'made_after_failure', good[0]!.schema, slowly(good));
      await assert.rejects(failed, /the client went away/);
      assert.deepEqual(await succeeded, { rows: 100, created: true });
      assert.deepEqual(await duckRows(connection, 'SELECT count(*), min(id), max(id) FROM made_after_failure'), [['100', 0, 99]]);
    } finally {
      a.closeSync();
      b.closeSync();
    }
  });
});

describe('bytes DuckDB trusts are checked before they are appended', () => {
  function binaryTable(values: Uint8Array[]): Table {
    const offsets = new Int32Array(values.length + 1);
    values.forEach((v, i) => (offsets[i + 1] = offsets[i]! + v.length));
    const data = new Uint8Array(offsets[values.length]!);
    values.forEach((v, i) => data.set(v, offsets[i]!));
    return new Table({
      b: new Vector([makeData({ type: new Binary(), length: values.length, nullCount: 0, valueOffsets: offsets, data })]),
    });
  }

  const cases: [string, Uint8Array[], Uint8Array, RegExp][] = [
    // '101'::BIT is [5, 0b11111101]: five padding bits, set.
    ['BIT', [Uint8Array.of(5, 0b11111101)], Uint8Array.of(0xff, 0xff, 0xff), /row 1 is not a DuckDB BIT value \(padding of 255 bits\)/],
    ['BIT', [Uint8Array.of(0, 7)], Uint8Array.of(3, 0), /padding bits not set/],
    ['BIT', [Uint8Array.of(7, 0xff)], Uint8Array.of(), /0 bytes; at least 2/],
    // 5::BIGNUM is [0x80, 0, 1, 5]; -5 the same inverted.
    [
      'BIGNUM',
      [Uint8Array.of(0x80, 0, 1, 5), Uint8Array.of(0x7f, 0xff, 0xfe, 0xfa)],
      Uint8Array.of(0x80, 0, 9, 1),
      /declares 9 bytes, 1 follow/,
    ],
  ];
  for (const [type, good, bad, message] of cases) {
    test(`${type}: ${bad.length} bytes refused, nothing written`, async () => {
      const table = `checked_${type.toLowerCase()}`;
      await connection.run(`CREATE OR REPLACE TABLE ${table} (b ${type})`);
      assert.deepEqual(await appendBatches(connection, table, binaryTable(good).schema, iterate(binaryTable(good).batches)), {
        rows: good.length,
        created: false,
      });
      const refused = binaryTable([...good, bad]);
      await assert.rejects(appendBatches(connection, table, refused.schema, iterate(refused.batches)), message);
      assert.deepEqual(await duckRows(connection, `SELECT count(*) FROM ${table}`), [[String(good.length)]]);
      // What went in reads back.
      await duckRows(connection, `SELECT b::VARCHAR FROM ${table}`);
    });
  }
});
