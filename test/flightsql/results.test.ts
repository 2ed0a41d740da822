// What real SQL clients read from results beyond the rows (issue 12, items 7-11), on the wire
// with our own FlightClient against an in-process server: prepared DML described as an update,
// the Flight SQL column metadata, the status table's plain strings, TIMESTAMPTZ zones, and the
// row counts GetFlightInfo reports. The JDBC and Go clients see the same in jdbc.test.ts and
// go.test.ts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Field, Int32, Schema, Table, TimestampMicrosecond, Type, vectorFromArray, type DataType } from 'apache-arrow';
import { FlightClient, FlightDescriptor, schemaFromIpcMessage } from '../../flight/index.ts';
import { DuckDBFlightServer } from '../../servers/duckdb-flight-server.ts';
import {
  ActionBeginTransactionRequest,
  ActionBeginTransactionResult,
  ActionCreatePreparedStatementRequest,
  ActionCreatePreparedStatementResult,
  ActionEndTransactionRequest,
  CommandPreparedStatementQuery,
  CommandPreparedStatementUpdate,
  CommandStatementQuery,
  DoPutUpdateResult,
  EndTransaction,
} from '../../servers/flightsql/messages.ts';
import { command, SqlClient } from './support.ts';

const KEY = 'ARROW:FLIGHT:SQL:';

function metadataOf(schema: Schema, name: string): Record<string, string> {
  const field = schema.fields.find((f) => f.name === name);
  assert.ok(field, `field ${name} in ${String(schema)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of field.metadata) if (k.startsWith(KEY)) out[k.slice(KEY.length)] = v;
  return out;
}

const typeIds = (schema: Schema) => schema.fields.map((f) => [f.name, Type[f.typeId]]);

describe('Flight SQL results as real clients read them (in-process server)', () => {
  let server: DuckDBFlightServer;
  let flight: FlightClient;
  let sql: SqlClient;

  before(async () => {
    server = await DuckDBFlightServer.start({ host: '127.0.0.1', port: 0 });
    flight = new FlightClient(server.location);
    sql = new SqlClient(flight);
  });
  after(async () => {
    flight.close();
    await server.close();
  });

  const plain = (text: string) => flight.doGet(text).readAll();
  const prepare = async (query: string, transactionId?: Uint8Array) =>
    (
      await sql.action(
        'CreatePreparedStatement',
        ActionCreatePreparedStatementRequest,
        { query, transactionId },
        ActionCreatePreparedStatementResult,
      )
    )[0]!;
  const update = async (handle: Uint8Array, parameters?: Table) =>
    DoPutUpdateResult.decode((await sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle: handle }, parameters))[0]!)
      .recordCount;

  describe('prepared statements that return no rows (item 7)', () => {
    test('CREATE, INSERT, UPDATE, DELETE: an empty dataset schema, and the update path answers each count', async () => {
      const create = await prepare('CREATE TABLE p_dml (id INTEGER, v VARCHAR)');
      assert.equal(schemaFromIpcMessage(create.datasetSchema).fields.length, 0, 'CREATE returns no rows: its dataset schema is empty');
      assert.equal(create.isUpdate, true, 'and the is_update hint says so');
      assert.equal(await update(create.preparedStatementHandle), 0);

      const insert = await prepare('INSERT INTO p_dml VALUES (?, ?)');
      assert.equal(schemaFromIpcMessage(insert.datasetSchema).fields.length, 0, 'INSERT returns no rows: its dataset schema is empty');
      const rows = new Table({ id: vectorFromArray([1, 2, 3], new Int32()), v: vectorFromArray(['a', 'b', 'c']) });
      assert.equal(await update(insert.preparedStatementHandle, rows), 3);

      const change = await prepare("UPDATE p_dml SET v = 'z' WHERE id >= ?");
      assert.equal(schemaFromIpcMessage(change.datasetSchema).fields.length, 0);
      assert.equal(await update(change.preparedStatementHandle, new Table({ id: vectorFromArray([2], new Int32()) })), 2);

      const remove = await prepare('DELETE FROM p_dml WHERE id = 1');
      assert.equal(schemaFromIpcMessage(remove.datasetSchema).fields.length, 0);
      assert.equal(await update(remove.preparedStatementHandle), 1);
      assert.deepEqual((await plain('SELECT v FROM p_dml ORDER BY id')).getChild('v')!.toArray(), ['z', 'z']);
    });

    test('a query keeps its dataset schema', async () => {
      const query = await prepare('SELECT 1::INTEGER AS one');
      assert.deepEqual(typeIds(schemaFromIpcMessage(query.datasetSchema)), [['one', 'Int']]);
      assert.equal(query.isUpdate, false);
    });
  });

  describe('column metadata (item 8)', () => {
    test('types, precision and scale of computed columns, on FlightInfo, GetSchema, DoGet and the prepared dataset schema', async () => {
      const text = "SELECT 12.5::DECIMAL(10,2) AS d, 'x' AS s, 7::BIGINT AS n";
      const info = await sql.info(CommandStatementQuery, { query: text });
      const fromGetSchema = await flight.getSchema(command(CommandStatementQuery, { query: text }));
      const streamed = (await sql.read(info)).schema;
      const prepared = schemaFromIpcMessage((await prepare(text)).datasetSchema);
      for (const [where, schema] of [
        ['FlightInfo', info.schema!],
        ['GetSchema', fromGetSchema],
        ['DoGet', streamed],
        ['prepared', prepared],
      ] as const) {
        assert.deepEqual(
          metadataOf(schema, 'd'),
          {
            TYPE_NAME: 'DECIMAL(10,2)',
            PRECISION: '10',
            SCALE: '2',
            IS_AUTO_INCREMENT: '0',
            IS_CASE_SENSITIVE: '0',
            IS_READ_ONLY: '1',
            IS_SEARCHABLE: '1',
          },
          where,
        );
        assert.deepEqual(
          metadataOf(schema, 's'),
          { TYPE_NAME: 'VARCHAR', IS_AUTO_INCREMENT: '0', IS_CASE_SENSITIVE: '1', IS_READ_ONLY: '1', IS_SEARCHABLE: '1' },
          where,
        );
        assert.equal(metadataOf(schema, 'n')['TYPE_NAME'], 'BIGINT', where);
      }
    });

    test("a plain scan of a table names the table, its columns' nullability and auto-increment", async () => {
      await plain('CREATE SEQUENCE meta_seq');
      await plain("CREATE TABLE meta_t (id INTEGER DEFAULT nextval('meta_seq') NOT NULL, price DECIMAL(10,2), name VARCHAR)");
      await plain("INSERT INTO meta_t (price, name) VALUES (1.25, 'a'), (NULL, NULL)");
      const info = await sql.info(CommandStatementQuery, { query: 'SELECT * FROM meta_t' });
      const table = await sql.read(info);
      assert.deepEqual(table.getChild('id')!.toArray(), Int32Array.of(1, 2), 'the rows stream under the described schema');
      for (const [where, schema] of [
        ['FlightInfo', info.schema!],
        ['DoGet', table.schema],
      ] as const) {
        assert.deepEqual(
          metadataOf(schema, 'id'),
          {
            TYPE_NAME: 'INTEGER',
            CATALOG_NAME: 'memory',
            SCHEMA_NAME: 'main',
            TABLE_NAME: 'meta_t',
            IS_AUTO_INCREMENT: '1',
            IS_CASE_SENSITIVE: '0',
            IS_READ_ONLY: '0',
            IS_SEARCHABLE: '1',
          },
          where,
        );
        assert.equal(metadataOf(schema, 'price')['PRECISION'], '10', where);
        assert.equal(metadataOf(schema, 'price')['SCALE'], '2', where);
        assert.deepEqual(
          schema.fields.map((f) => f.nullable),
          [false, true, true],
          `${where}: NOT NULL is carried`,
        );
      }
      // Anything more than a plain scan: the origin is not known, so it is not claimed.
      const filtered = await sql.info(CommandStatementQuery, { query: 'SELECT * FROM meta_t WHERE id > 0' });
      assert.equal(metadataOf(filtered.schema!, 'id')['TABLE_NAME'], undefined);
      assert.equal(metadataOf(filtered.schema!, 'id')['IS_READ_ONLY'], '1');
    });
  });

  test('the status table of a statement without rows is plain utf8, not dictionary-encoded (item 9)', async () => {
    await plain('DROP TABLE IF EXISTS status_t');
    const expected = [
      ['status', 'Utf8'],
      ['statement', 'Utf8'],
      ['rows_changed', 'Int'],
    ];
    assert.deepEqual(typeIds((await plain('CREATE TABLE status_t (i INTEGER)')).schema), expected, 'plain DoGet');
    const info = await sql.info(CommandStatementQuery, { query: 'INSERT INTO status_t VALUES (1)' });
    assert.deepEqual(typeIds(info.schema!), expected, 'Flight SQL FlightInfo');
    assert.deepEqual(typeIds((await sql.read(info)).schema), expected, 'Flight SQL DoGet');
    assert.deepEqual(
      typeIds(await flight.getSchema(FlightDescriptor.command('INSERT INTO status_t VALUES (2)'))),
      expected,
      'plain GetSchema',
    );
  });

  test("a TIMESTAMPTZ uploaded in UTC comes back in UTC, not the host's zone name (item 10)", async () => {
    const type: DataType = new TimestampMicrosecond('UTC');
    const micros = 1_700_000_000_000_000;
    const upload = new Table({ happened: vectorFromArray([micros], type) });
    assert.equal(String(upload.schema.fields[0]!.type), String(type));
    await flight.doPut(FlightDescriptor.path('tz_t'), upload);
    const back = await plain('SELECT happened FROM tz_t');
    const field = back.schema.fields[0] as Field<TimestampMicrosecond>;
    assert.equal(field.type.timezone, 'UTC');
    assert.equal(Number(back.getChild('happened')!.get(0)), micros, 'the same instant');
    const viaSql = await sql.fetch(CommandStatementQuery, { query: 'SELECT happened FROM tz_t' });
    assert.equal((viaSql.schema.fields[0] as Field<TimestampMicrosecond>).type.timezone, 'UTC');
  });

  describe('total_records (item 11)', () => {
    before(async () => {
      await plain('CREATE TABLE counted AS SELECT range AS i FROM range(1000)');
      await plain('DELETE FROM counted WHERE i < 10');
    });

    test("a plain scan reports the table's rows, deleted rows excluded; other queries -1", async () => {
      assert.equal((await sql.info(CommandStatementQuery, { query: 'SELECT * FROM counted' })).totalRecords, 990);
      assert.equal((await sql.info(CommandStatementQuery, { query: 'FROM main.counted' })).totalRecords, 990);
      assert.equal((await sql.info(CommandStatementQuery, { query: 'SELECT * FROM counted WHERE i > 500' })).totalRecords, -1);
      assert.equal((await sql.info(CommandStatementQuery, { query: 'SELECT * FROM counted LIMIT 3' })).totalRecords, -1);
      assert.equal((await sql.info(CommandStatementQuery, { query: 'SELECT i FROM counted' })).totalRecords, -1);
      const prepared = await prepare('SELECT * FROM counted');
      assert.equal(
        (await sql.info(CommandPreparedStatementQuery, { preparedStatementHandle: prepared.preparedStatementHandle })).totalRecords,
        990,
      );
    });

    test('inside a transaction, the count is what the transaction sees', async () => {
      const [begun] = await sql.action('BeginTransaction', ActionBeginTransactionRequest, {}, ActionBeginTransactionResult);
      const transactionId = begun!.transactionId;
      try {
        const insert = await prepare('INSERT INTO counted SELECT range FROM range(5)', transactionId);
        assert.equal(await update(insert.preparedStatementHandle), 5);
        assert.equal((await sql.info(CommandStatementQuery, { query: 'SELECT * FROM counted', transactionId })).totalRecords, 995);
        assert.equal((await sql.info(CommandStatementQuery, { query: 'SELECT * FROM counted' })).totalRecords, 990, 'not committed');
      } finally {
        await sql.action('EndTransaction', ActionEndTransactionRequest, { transactionId, action: EndTransaction.ROLLBACK });
      }
    });

    test('the plain face: a path and a plain-scan command report the rows', async () => {
      assert.equal((await flight.getFlightInfo(FlightDescriptor.path('counted'))).totalRecords, 990);
      assert.equal((await flight.getFlightInfo(FlightDescriptor.command('SELECT * FROM counted'))).totalRecords, 990);
      assert.equal((await flight.getFlightInfo(FlightDescriptor.command('SELECT count(*) FROM counted'))).totalRecords, -1);
    });
  });
});

// A statement's DoGet runs on the server's bridge: the native export when the addon loads. Both
// bridges must give a Flight SQL client the same schema (column metadata included) and rows.
describe('Flight SQL statement results on both bridges', () => {
  const QUERY = `SELECT i, i * 0.5 AS half, 'row ' || i AS label, CAST(i AS DECIMAL(10, 2)) AS price,
    TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_seconds(i) AS at, [i, i + 1] AS pair, {'a': i, 'b': NULL} AS s
    FROM range(5000) t(i) ORDER BY i`;

  async function run(bridge: 'native' | 'js'): Promise<{ schema: Schema; rows: unknown[]; batches: number }> {
    const server = await DuckDBFlightServer.start({ host: '127.0.0.1', port: 0, bridge, batchRows: 1024 });
    const flight = new FlightClient(server.location);
    try {
      const sql = new SqlClient(flight);
      const info = await sql.info(CommandStatementQuery, { query: QUERY });
      const reader = flight.doGet(info.endpoints[0]!.ticket!);
      const batches = [];
      for await (const batch of reader) batches.push(batch);
      const table = new Table(batches);
      return {
        schema: (await reader.schema())!,
        rows: table.toArray().map((row) => JSON.stringify(row.toJSON(), bigints)),
        batches: batches.length,
      };
    } finally {
      flight.close();
      await server.close();
    }
  }
  const bigints = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

  test('native and JavaScript bridges agree on schema, metadata and rows', async () => {
    const native = await run('native');
    const js = await run('js');
    assert.equal(native.rows.length, 5000);
    assert.ok(native.batches > 1, `several batches (${native.batches})`);
    assert.deepEqual(
      native.schema.fields.map((f) => [f.name, String(f.type), f.nullable, [...f.metadata]]),
      js.schema.fields.map((f) => [f.name, String(f.type), f.nullable, [...f.metadata]]),
    );
    assert.deepEqual(native.rows, js.rows);
  });
});
