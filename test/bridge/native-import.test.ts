// The native import path (servers/bridge/native-import.ts) against the JavaScript bridge: the
// same batches into two databases, one through each, read back equal; which uploads take it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  DateDay,
  Dictionary,
  Field,
  Float64,
  Int32,
  List,
  Struct,
  Table,
  TimestampMicrosecond,
  Utf8,
  makeData,
  vectorFromArray,
  Vector,
  type RecordBatch,
} from 'apache-arrow';
import { appendBatches } from '../../servers/bridge/index.ts';
import { loadNative } from '../../servers/bridge/native.ts';
import { nativeImportSettings, nativeImportStats } from '../../servers/bridge/native-import.ts';
import { connectShared, openSharedDatabase } from '../../servers/bridge/shared-connection.ts';
import { duckRows, iterate } from './helpers.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

before(async () => {
  assert.ok(loadNative().addon, loadNative().reason);
  const shared = await openSharedDatabase(':memory:');
  instance = shared.instance;
  connection = await connectShared(shared.database);
});

after(() => {
  connection?.closeSync();
  instance?.closeSync();
});

/** The flights schema (date, 3 short strings, a double, 3 int32) with nulls, in batches of `rows`. */
function flights(batches: number, rows: number): RecordBatch[] {
  const out: RecordBatch[] = [];
  for (let b = 0; b < batches; b++) {
    const ids = Array.from({ length: rows }, (_, i) => b * rows + i);
    const table = new Table({
      day: vectorFromArray(
        ids.map((i) => (i % 11 === 0 ? null : new Date(Date.UTC(2024, 0, 1 + (i % 300))))),
        new DateDay(),
      ),
      carrier: vectorFromArray(
        ids.map((i) => ['AA', 'DL', 'UA', 'WN', 'éé'][i % 5]),
        new Utf8(),
      ),
      origin: vectorFromArray(
        ids.map((i) => (i % 7 === 0 ? null : `O${i % 97}`)),
        new Utf8(),
      ),
      dest: vectorFromArray(
        ids.map((i) => `a destination name longer than twelve bytes ${i % 13}`),
        new Utf8(),
      ),
      delay: vectorFromArray(
        ids.map((i) => (i % 5 === 0 ? null : i / 8)),
        new Float64(),
      ),
      dep: vectorFromArray(
        ids.map((i) => i),
        new Int32(),
      ),
      arr: vectorFromArray(
        ids.map((i) => (i % 3 === 0 ? null : -i)),
        new Int32(),
      ),
      distance: vectorFromArray(
        ids.map((i) => i % 4000),
        new Int32(),
      ),
    });
    out.push(...table.batches);
  }
  return out;
}

async function viaJs(batches: RecordBatch[], sql: string): Promise<unknown[][]> {
  const { instance: jsInstance, database } = await openSharedDatabase(':memory:');
  const jsConnection = await connectShared(database);
  try {
    await appendBatches(jsConnection, 't', batches[0].schema, iterate(batches), { bridge: 'js' });
    return await duckRows(jsConnection, sql);
  } finally {
    jsConnection.closeSync();
    jsInstance.closeSync();
  }
}

describe('native import', () => {
  test('the flights schema goes through the addon and reads back as the JavaScript bridge writes it', async () => {
    const batches = flights(3, 5000);
    const before = nativeImportStats.uploads;
    const result = await appendBatches(connection, 'flights', batches[0].schema, iterate(batches), { create: 'replace' });
    assert.deepEqual(result, { rows: 15000, created: true });
    assert.equal(nativeImportStats.uploads, before + 1);
    const sql = (table: string) => `SELECT * FROM ${table} ORDER BY dep`;
    assert.deepEqual(await duckRows(connection, sql('flights')), await viaJs(batches, sql('t')));
    const types = await duckRows(connection, "SELECT data_type FROM duckdb_columns() WHERE table_name = 'flights'");
    assert.deepEqual(types.flat(), ['DATE', 'VARCHAR', 'VARCHAR', 'VARCHAR', 'DOUBLE', 'INTEGER', 'INTEGER', 'INTEGER']);
  });

  test('lists, structs, zoned timestamps and sliced batches agree with the JavaScript bridge', async () => {
    const point = new Struct([new Field('x', new Int32()), new Field('label', new Utf8())]);
    const table = new Table({
      tags: vectorFromArray([['a', null], null, [], ['long enough to be out of line']], new List(new Field('item', new Utf8()))),
      point: vectorFromArray([{ x: 1, label: 'one' }, null, { x: null, label: null }, { x: 4, label: 'four' }], point),
      seen: vectorFromArray([0, null, 1700000000123, -5], new TimestampMicrosecond('Europe/Paris')),
    });
    const batches = [table.batches[0], table.batches[0].slice(1, 4), table.batches[0].slice(3)];
    const before = nativeImportStats.uploads;
    await appendBatches(connection, 'nested', table.schema, iterate(batches), { create: 'replace' });
    assert.equal(nativeImportStats.uploads, before + 1);
    const sql = (name: string) => `SELECT tags::VARCHAR, point::VARCHAR, epoch_us(seen) FROM ${name}`;
    assert.deepEqual(await duckRows(connection, sql('nested')), await viaJs(batches, sql('t')));
  });

  test('the appender alternative (bench/bridge.ts measures it) writes what the Arrow scan writes', async () => {
    const point = new Struct([new Field('x', new Int32()), new Field('label', new Utf8())]);
    const nested = new Table({
      tags: vectorFromArray([['a', null], null, [], ['long enough to be out of line']], new List(new Field('item', new Utf8()))),
      point: vectorFromArray([{ x: 1, label: 'one' }, null, { x: null, label: null }, { x: 4, label: 'four' }], point),
    });
    const cases: [RecordBatch[], string][] = [
      [flights(2, 5000), 'SELECT * FROM $ ORDER BY dep'],
      [[nested.batches[0], nested.batches[0].slice(1, 4)], 'SELECT tags::VARCHAR, point::VARCHAR FROM $'],
    ];
    nativeImportSettings.mode = 'appender';
    try {
      for (const [batches, sql] of cases) {
        const before = nativeImportStats.uploads;
        await appendBatches(connection, 'appended', batches[0].schema, iterate(batches), { create: 'replace' });
        assert.equal(nativeImportStats.uploads, before + 1);
        assert.deepEqual(await duckRows(connection, sql.replace('$', 'appended')), await viaJs(batches, sql.replace('$', 't')));
      }
    } finally {
      nativeImportSettings.mode = 'scan';
    }
  });

  test('invalid UTF-8 is refused before DuckDB sees it, naming the row; nothing is written', async () => {
    const good = flights(1, 100);
    await appendBatches(connection, 'checked', good[0].schema, iterate(good), { create: 'replace' });
    const bad = flights(1, 3)[0];
    const carrier = bad.getChild('carrier')!.data[0];
    const values = new Uint8Array(carrier.values);
    values[carrier.valueOffsets[1]] = 0xff;
    const broken = makeData({
      type: carrier.type,
      length: carrier.length,
      nullCount: 0,
      valueOffsets: carrier.valueOffsets,
      data: values,
    } as never);
    const columns = bad.schema.fields.map((f) => (f.name === 'carrier' ? new Vector([broken]) : bad.getChild(f.name)!));
    const lying = new Table(Object.fromEntries(bad.schema.fields.map((f, i) => [f.name, columns[i]]))).batches[0];
    const before = nativeImportStats.uploads;
    await assert.rejects(
      appendBatches(connection, 'checked', bad.schema, iterate([...flights(2, 50), lying])),
      /row 1 of a text column is not valid UTF-8/,
    );
    assert.equal(nativeImportStats.uploads, before + 1);
    assert.deepEqual(await duckRows(connection, 'SELECT count(*)::INTEGER FROM checked'), [[100]]);
  });

  test('a field the native path does not take sends the upload through the JavaScript bridge', async () => {
    const table = new Table({ mood: vectorFromArray(['ok', 'sad', 'ok'], new Dictionary(new Utf8(), new Int32())) });
    const before = nativeImportStats.uploads;
    await appendBatches(connection, 'moods', table.schema, iterate(table.batches), { create: 'replace' });
    assert.equal(nativeImportStats.uploads, before);
    assert.deepEqual(await duckRows(connection, 'SELECT mood FROM moods'), [['ok'], ['sad'], ['ok']]);
  });

  test('a schema the client declares differently per batch is refused; the table is untouched', async () => {
    const good = flights(1, 10);
    await appendBatches(connection, 'strict_schema', good[0].schema, iterate(good), { create: 'replace' });
    const other = new Table({ x: vectorFromArray([1], new Int32()) }).batches[0];
    await assert.rejects(
      appendBatches(connection, 'strict_schema', good[0].schema, iterate([...flights(1, 10), other])),
      /does not match the upload's schema/,
    );
    assert.deepEqual(await duckRows(connection, 'SELECT count(*)::INTEGER FROM strict_schema'), [[10]]);
  });
});
