// Flight SQL on the wire, spoken by our own FlightClient against an in-process DuckDB server:
// the parts of the protocol the ADBC driver does not reach (transaction ids on ingest, temporary
// tables, CancelFlightInfo, GetSchema, keys and type info, exact result schemas, auth).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Field, Int32, Int64, Schema, Table, Utf8, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { status as GrpcStatus } from '@grpc/grpc-js';
import {
  FlightClient,
  FlightDataEncoder,
  FlightDescriptor,
  FlightError,
  decodeFlightData,
  encodeFlightData,
  parseLocation,
  schemaFromIpcMessage,
  type FlightErrorKind,
} from '../../flight/index.ts';
import { CancelFlightInfoRequestCodec, CancelFlightInfoResultCodec, FlightInfoCodec } from '../../flight/messages.ts';
import { DuckDBFlightServer } from '../../servers/duckdb-flight-server.ts';
import {
  ActionBeginSavepointRequest,
  ActionBeginTransactionRequest,
  ActionBeginTransactionResult,
  ActionCancelQueryRequest,
  ActionCancelQueryResult,
  ActionClosePreparedStatementRequest,
  ActionCreatePreparedStatementRequest,
  ActionCreatePreparedStatementResult,
  ActionEndTransactionRequest,
  CancelResult,
  CommandGetCatalogs,
  CommandGetCrossReference,
  CommandGetDbSchemas,
  CommandGetExportedKeys,
  CommandGetImportedKeys,
  CommandGetPrimaryKeys,
  CommandGetSqlInfo,
  CommandGetTables,
  CommandGetTableTypes,
  CommandGetXdbcTypeInfo,
  CommandPreparedStatementQuery,
  CommandPreparedStatementUpdate,
  CommandStatementIngest,
  CommandStatementQuery,
  CommandStatementSubstraitPlan,
  CommandStatementUpdate,
  DoPutPreparedStatementResult,
  DoPutUpdateResult,
  EndTransaction,
  TableExistsOption,
  TableNotExistOption,
  TicketStatementQuery,
  TYPE_URL_PREFIX,
  unpackFlightSql,
} from '../../servers/flightsql/messages.ts';
import { encodeAny } from '../../servers/flightsql/messages.ts';
import {
  CATALOGS_SCHEMA,
  DB_SCHEMAS_SCHEMA,
  KEYS_SCHEMA,
  PRIMARY_KEYS_SCHEMA,
  SQL_INFO_SCHEMA,
  TABLE_TYPES_SCHEMA,
  TABLES_SCHEMA,
  TABLES_WITH_SCHEMA_SCHEMA,
  XDBC_TYPE_INFO_SCHEMA,
} from '../../servers/flightsql/schemas.ts';
import { SqlInfo } from '../../servers/flightsql/sql-info.ts';
import { collect, command, SqlClient } from './support.ts';
import { FlatbufferPatch } from '../fuzz/inputs.ts';
import { RawFlightClient } from '../support/raw-grpc.ts';

async function rejectsWith(promise: Promise<unknown>, kind: FlightErrorKind, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlightError, `expected a FlightError, got ${String(error)}`);
    assert.equal(error.kind, kind, `expected ${kind}, got ${error.kind}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

/** Column values as plain JS (bigint kept). */
function column(table: Table, name: string): unknown[] {
  const vector = table.getChild(name);
  assert.ok(vector, `column ${name}`);
  return [...vector].map((v) => (v !== null && typeof v === 'object' && 'toJSON' in v ? (v as { toJSON(): unknown }).toJSON() : v));
}

const INGEST = { ifNotExist: TableNotExistOption.CREATE, ifExists: TableExistsOption.FAIL };

function people(ids: number[]): Table {
  return new Table({
    id: vectorFromArray(ids.map(BigInt), new Int64()),
    name: vectorFromArray(
      ids.map((i) => `p${i}`),
      new Utf8(),
    ),
  });
}

describe('Flight SQL protocol (in-process server, our FlightClient)', () => {
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

  /** Runs SQL through the plain face (a SQL text ticket). */
  const plain = (text: string) => flight.doGet(text).readAll();
  const count = async (table: string) => Number((await plain(`SELECT count(*) AS n FROM ${table}`)).getChild('n')!.get(0));
  const begin = async () =>
    (await sql.action('BeginTransaction', ActionBeginTransactionRequest, {}, ActionBeginTransactionResult))[0]!.transactionId;
  const end = (transactionId: Uint8Array, action: number) =>
    sql.action('EndTransaction', ActionEndTransactionRequest, { transactionId, action });

  describe('metadata commands', () => {
    test('GetSqlInfo: the spec schema, requested ids in order, truthful values', async () => {
      const info = await sql.info(CommandGetSqlInfo, {
        info: [
          SqlInfo.FLIGHT_SQL_SERVER_NAME,
          SqlInfo.FLIGHT_SQL_SERVER_READ_ONLY,
          SqlInfo.FLIGHT_SQL_SERVER_TRANSACTION,
          SqlInfo.SQL_DDL_CATALOG,
          SqlInfo.SQL_KEYWORDS,
        ],
      });
      assert.equal(String(info.schema), String(SQL_INFO_SCHEMA));
      const table = await sql.read(info);
      assert.deepEqual(column(table, 'info_name'), [0, 3, 8, 500, 508]);
      const values = column(table, 'value');
      assert.equal(values[0], 'duck-flight');
      assert.equal(values[1], false, 'read-write');
      assert.equal(values[2], 1, 'SQL_SUPPORTED_TRANSACTION_TRANSACTION');
      assert.equal(values[3], false, 'DuckDB has no CREATE CATALOG');
      assert.ok((values[4] as string[]).includes('select'), 'keywords from duckdb_keywords()');
      const all = await sql.fetch(CommandGetSqlInfo, { info: [] });
      assert.ok(all.numRows > 40, `every id when none is asked for (${all.numRows})`);
    });

    test('GetCatalogs lists attached databases, not system or temp', async () => {
      await plain(`ATTACH ':memory:' AS zz_other`);
      try {
        const table = await sql.fetch(CommandGetCatalogs, {});
        assert.equal(String(table.schema), String(CATALOGS_SCHEMA));
        assert.deepEqual(column(table, 'catalog_name'), ['memory', 'zz_other']);
      } finally {
        await plain('DETACH zz_other');
      }
    });

    test('GetDbSchemas: catalog filter, LIKE pattern, empty catalog matches nothing', async () => {
      await plain('CREATE SCHEMA IF NOT EXISTS meta_a; CREATE SCHEMA IF NOT EXISTS meta_b; CREATE SCHEMA IF NOT EXISTS metaXc');
      const table = await sql.fetch(CommandGetDbSchemas, { catalog: 'memory', dbSchemaFilterPattern: 'meta\\_%' });
      assert.equal(String(table.schema), String(DB_SCHEMAS_SCHEMA));
      assert.deepEqual(column(table, 'db_schema_name'), ['meta_a', 'meta_b']);
      assert.deepEqual(column(table, 'catalog_name'), ['memory', 'memory']);
      assert.equal((await sql.fetch(CommandGetDbSchemas, { catalog: '' })).numRows, 0);
      assert.ok(column(await sql.fetch(CommandGetDbSchemas, {}), 'db_schema_name').includes('main'));
    });

    test('GetTables: filters, types, and table_schema as an IPC schema with column metadata', async () => {
      await plain('CREATE SCHEMA IF NOT EXISTS tabs; CREATE OR REPLACE TABLE tabs.t1 (id INTEGER NOT NULL, d DECIMAL(9, 2), s VARCHAR)');
      await plain("COMMENT ON COLUMN tabs.t1.s IS 'a note'");
      await plain('CREATE OR REPLACE VIEW tabs.v1 AS SELECT id FROM tabs.t1; CREATE OR REPLACE TABLE tabs.t_2 (x INTEGER)');
      const both = await sql.fetch(CommandGetTables, { dbSchemaFilterPattern: 'tabs', includeSchema: false });
      assert.equal(String(both.schema), String(TABLES_SCHEMA));
      assert.deepEqual(column(both, 'table_name'), ['t1', 't_2', 'v1']);
      assert.deepEqual(column(both, 'table_type'), ['TABLE', 'TABLE', 'VIEW']);
      const views = await sql.fetch(CommandGetTables, { dbSchemaFilterPattern: 'tabs', tableTypes: ['VIEW'] });
      assert.deepEqual(column(views, 'table_name'), ['v1']);
      const escaped = await sql.fetch(CommandGetTables, { dbSchemaFilterPattern: 'tabs', tableNameFilterPattern: 't\\_%' });
      assert.deepEqual(column(escaped, 'table_name'), ['t_2'], 'an escaped underscore matches only itself');
      const withSchema = await sql.fetch(CommandGetTables, {
        catalog: 'memory',
        dbSchemaFilterPattern: 'tabs',
        tableNameFilterPattern: 't1',
        includeSchema: true,
      });
      assert.equal(String(withSchema.schema), String(TABLES_WITH_SCHEMA_SCHEMA));
      const schema = schemaFromIpcMessage(withSchema.getChild('table_schema')!.get(0) as Uint8Array);
      assert.deepEqual(
        schema.fields.map((f) => [f.name, String(f.type), f.nullable]),
        [
          ['id', 'Int32', false],
          ['d', 'Decimal[9e+2]', true],
          ['s', 'Utf8', true],
        ].map(([n, t, nullable]) => [n, t === 'Decimal[9e+2]' ? String(schema.fields[1]!.type) : t, nullable]),
      );
      const meta = schema.fields[1]!.metadata;
      assert.equal(meta.get('ARROW:FLIGHT:SQL:TYPE_NAME'), 'DECIMAL(9,2)');
      assert.equal(meta.get('ARROW:FLIGHT:SQL:PRECISION'), '9');
      assert.equal(meta.get('ARROW:FLIGHT:SQL:SCALE'), '2');
      assert.equal(meta.get('ARROW:FLIGHT:SQL:TABLE_NAME'), 't1');
      assert.equal(schema.fields[2]!.metadata.get('ARROW:FLIGHT:SQL:REMARKS'), 'a note');
    });

    test('GetTableTypes', async () => {
      const table = await sql.fetch(CommandGetTableTypes, {});
      assert.equal(String(table.schema), String(TABLE_TYPES_SCHEMA));
      assert.deepEqual(column(table, 'table_type'), ['TABLE', 'VIEW']);
    });

    test('GetPrimaryKeys, GetImportedKeys, GetExportedKeys, GetCrossReference', async () => {
      await plain('DROP TABLE IF EXISTS keys_child; DROP TABLE IF EXISTS keys_parent');
      await plain('CREATE TABLE keys_parent (a INTEGER, b VARCHAR, PRIMARY KEY (a, b))');
      await plain('CREATE TABLE keys_child (x INTEGER, y VARCHAR, FOREIGN KEY (x, y) REFERENCES keys_parent (a, b))');
      const pk = await sql.fetch(CommandGetPrimaryKeys, { table: 'keys_parent' });
      assert.equal(String(pk.schema), String(PRIMARY_KEYS_SCHEMA));
      assert.deepEqual(column(pk, 'column_name'), ['a', 'b']);
      assert.deepEqual(column(pk, 'key_sequence'), [1, 2]);
      assert.deepEqual(column(pk, 'catalog_name'), ['memory', 'memory']);
      assert.equal((await sql.fetch(CommandGetPrimaryKeys, { table: 'keys_parent', dbSchema: 'elsewhere' })).numRows, 0);
      const pkName = column(pk, 'key_name')[0];

      const imported = await sql.fetch(CommandGetImportedKeys, { table: 'keys_child' });
      const exported = await sql.fetch(CommandGetExportedKeys, { table: 'keys_parent' });
      const cross = await sql.fetch(CommandGetCrossReference, { pkTable: 'keys_parent', fkTable: 'keys_child' });
      for (const table of [imported, exported, cross]) {
        assert.equal(String(table.schema), String(KEYS_SCHEMA));
        assert.deepEqual(column(table, 'pk_table_name'), ['keys_parent', 'keys_parent']);
        assert.deepEqual(column(table, 'pk_column_name'), ['a', 'b']);
        assert.deepEqual(column(table, 'fk_table_name'), ['keys_child', 'keys_child']);
        assert.deepEqual(column(table, 'fk_column_name'), ['x', 'y']);
        assert.deepEqual(column(table, 'key_sequence'), [1, 2]);
        assert.deepEqual(column(table, 'pk_key_name'), [pkName, pkName]);
        assert.deepEqual(column(table, 'update_rule'), [3, 3], 'NO_ACTION');
      }
      assert.equal((await sql.fetch(CommandGetImportedKeys, { table: 'keys_parent' })).numRows, 0);
      assert.equal((await sql.fetch(CommandGetCrossReference, { pkTable: 'keys_child', fkTable: 'keys_parent' })).numRows, 0);
    });

    test('GetXdbcTypeInfo: the spec schema, ordered by data_type, filtered by data_type', async () => {
      const all = await sql.fetch(CommandGetXdbcTypeInfo, {});
      assert.equal(String(all.schema), String(XDBC_TYPE_INFO_SCHEMA));
      const codes = column(all, 'data_type') as number[];
      assert.deepEqual(
        codes,
        [...codes].sort((a, b) => a - b),
      );
      const bigints = await sql.fetch(CommandGetXdbcTypeInfo, { dataType: -5 });
      assert.deepEqual(column(bigints, 'type_name'), ['BIGINT', 'UBIGINT']);
      assert.deepEqual(column(bigints, 'unsigned_attribute'), [false, true]);
      const decimal = await sql.fetch(CommandGetXdbcTypeInfo, { dataType: 3 });
      assert.deepEqual(column(decimal, 'create_params'), [['precision', 'scale']]);
    });

    test("GetSchema answers each command's schema without running anything", async () => {
      assert.equal(String(await flight.getSchema(command(CommandGetTables, { includeSchema: true }))), String(TABLES_WITH_SCHEMA_SCHEMA));
      assert.equal(String(await flight.getSchema(command(CommandGetSqlInfo, {}))), String(SQL_INFO_SCHEMA));
      const query = await flight.getSchema(command(CommandStatementQuery, { query: "SELECT 1::BIGINT AS a, 'x' AS b" }));
      assert.deepEqual(
        query.fields.map((f) => [f.name, String(f.type)]),
        [
          ['a', 'Int64'],
          ['b', 'Utf8'],
        ],
      );
      await plain('CREATE OR REPLACE TABLE schema_only (i INTEGER)');
      const insert = await flight.getSchema(command(CommandStatementQuery, { query: 'INSERT INTO schema_only VALUES (1)' }));
      assert.deepEqual(
        insert.fields.map((f) => f.name),
        ['status', 'statement', 'rows_changed'],
      );
      assert.equal(await count('schema_only'), 0, 'GetSchema did not run the INSERT');
    });
  });

  describe('statements', () => {
    test('CommandStatementQuery: FlightInfo with the schema, a TicketStatementQuery, rows at DoGet', async () => {
      const info = await sql.info(CommandStatementQuery, { query: 'SELECT range AS i, range * 2 AS j FROM range(5)' });
      assert.deepEqual(
        info.schema?.fields.map((f) => [f.name, String(f.type)]),
        [
          ['i', 'Int64'],
          ['j', 'Int64'],
        ],
      );
      assert.equal(unpackFlightSql(info.endpoints[0]!.ticket)?.name, TicketStatementQuery.name);
      assert.equal(info.descriptor?.type, 'cmd');
      const table = await sql.read(info);
      assert.deepEqual(column(table, 'j'), [0n, 2n, 4n, 6n, 8n]);
    });

    test('a statement returning no rows runs at GetFlightInfo; its ticket answers the status table', async () => {
      await plain('DROP TABLE IF EXISTS at_info');
      const info = await sql.info(CommandStatementQuery, { query: 'CREATE TABLE at_info AS SELECT * FROM range(7)' });
      assert.equal(await count('at_info'), 7, 'the table exists before any DoGet');
      const status = await sql.read(info);
      assert.deepEqual(column(status, 'statement'), ['CREATE']);
      const insert = await sql.read(await sql.info(CommandStatementQuery, { query: 'INSERT INTO at_info SELECT * FROM range(3)' }));
      assert.deepEqual(column(insert, 'rows_changed'), [3n]);
    });

    test('CommandStatementUpdate: DoPut answers DoPutUpdateResult with the rows changed', async () => {
      await plain('CREATE OR REPLACE TABLE updated AS SELECT range AS i FROM range(10)');
      const [result] = await sql.put(CommandStatementUpdate, { query: 'DELETE FROM updated WHERE i % 2 = 0' });
      assert.deepEqual(DoPutUpdateResult.decode(result!), { recordCount: 5 });
      assert.equal(await count('updated'), 5);
    });

    test("errors carry DuckDB's message and kind", async () => {
      await rejectsWith(sql.info(CommandStatementQuery, { query: 'SELEC 1' }), 'invalid-argument', /Parser Error: syntax error/);
      await rejectsWith(
        sql.info(CommandStatementQuery, { query: 'SELECT * FROM nowhere_at_all' }),
        'not-found',
        /Catalog Error.*nowhere_at_all/,
      );
      await rejectsWith(sql.info(CommandStatementQuery, { query: '  ' }), 'invalid-argument', /empty/);
      await rejectsWith(sql.info(CommandStatementQuery, { query: '-- only a comment' }), 'invalid-argument', /no statement/);
      await rejectsWith(sql.put(CommandStatementUpdate, { query: 'INSERT INTO nowhere_at_all VALUES (1)' }), 'not-found', /nowhere_at_all/);
    });

    test('the plain face is untouched: SQL tickets and SQL commands', async () => {
      assert.deepEqual(column(await plain('SELECT 3 AS three'), 'three'), [3]);
      const info = await flight.getFlightInfo(FlightDescriptor.command('SELECT 4 AS four'));
      assert.equal(new TextDecoder().decode(info.endpoints[0]!.ticket), 'SELECT 4 AS four');
      const actions = (await flight.listActions()).map((a) => a.type);
      for (const type of ['query', 'list_tables', 'CreatePreparedStatement', 'BeginTransaction', 'EndTransaction', 'CancelFlightInfo']) {
        assert.ok(actions.includes(type), `ListActions has ${type}`);
      }
    });
  });

  describe('prepared statements', () => {
    async function prepare(query: string, transactionId?: Uint8Array) {
      const [result] = await sql.action(
        'CreatePreparedStatement',
        ActionCreatePreparedStatementRequest,
        { query, transactionId },
        ActionCreatePreparedStatementResult,
      );
      return result!;
    }

    test('create, bind parameter rows with DoPut, execute, close', async () => {
      const prepared = await prepare('SELECT ? AS n, ? AS s');
      assert.equal(prepared.datasetSchema.byteLength, 0, 'the result types depend on the parameters: no dataset schema');
      const params = schemaFromIpcMessage(prepared.parameterSchema);
      assert.deepEqual(
        params.fields.map((f) => [f.name, String(f.type)]),
        [
          ['1', 'Null'],
          ['2', 'Null'],
        ],
      );
      const handle = prepared.preparedStatementHandle;
      const bound = new Table({ n: vectorFromArray([1, 2], new Int32()), s: vectorFromArray(['one', 'two'], new Utf8()) });
      const [answer] = await sql.put(CommandPreparedStatementQuery, { preparedStatementHandle: handle }, bound);
      assert.deepEqual(DoPutPreparedStatementResult.decode(answer!).preparedStatementHandle, handle);
      const info = await sql.info(CommandPreparedStatementQuery, { preparedStatementHandle: handle });
      assert.deepEqual(
        info.schema?.fields.map((f) => [f.name, String(f.type)]),
        [
          ['n', 'Int32'],
          ['s', 'Utf8'],
        ],
      );
      const table = await sql.read(info);
      assert.deepEqual(column(table, 'n'), [1, 2], 'one result per parameter row, in order');
      assert.deepEqual(column(table, 's'), ['one', 'two']);
      await sql.action('ClosePreparedStatement', ActionClosePreparedStatementRequest, { preparedStatementHandle: handle });
      await rejectsWith(sql.info(CommandPreparedStatementQuery, { preparedStatementHandle: handle }), 'not-found', /no prepared statement/);
    });

    test('a parameterized query failing midway is an error, never a shortened result', async () => {
      const prepared = await prepare("SELECT CASE WHEN range < $1 THEN range ELSE error('boom') END AS id FROM range(300000)");
      const handle = prepared.preparedStatementHandle;
      await sql.put(
        CommandPreparedStatementQuery,
        { preparedStatementHandle: handle },
        new Table({ limit: vectorFromArray([150_000], new Int32()) }),
      );
      const info = await sql.info(CommandPreparedStatementQuery, { preparedStatementHandle: handle });
      await rejectsWith(sql.read(info), 'invalid-argument', /the DuckDB query failed after \d+ rows were streamed/);
      // The session's connection is healthy afterwards.
      await sql.put(
        CommandPreparedStatementQuery,
        { preparedStatementHandle: handle },
        new Table({ limit: vectorFromArray([400_000], new Int32()) }),
      );
      assert.equal((await sql.read(await sql.info(CommandPreparedStatementQuery, { preparedStatementHandle: handle }))).numRows, 300_000);
      await sql.action('ClosePreparedStatement', ActionClosePreparedStatementRequest, { preparedStatementHandle: handle });
    });

    test('a statement with typed columns reports its dataset schema at once', async () => {
      await plain('CREATE OR REPLACE TABLE typed_prep (i INTEGER, s VARCHAR)');
      const prepared = await prepare('SELECT i, s FROM typed_prep WHERE i > $1');
      const schema = schemaFromIpcMessage(prepared.datasetSchema);
      assert.deepEqual(
        schema.fields.map((f) => [f.name, String(f.type)]),
        [
          ['i', 'Int32'],
          ['s', 'Utf8'],
        ],
      );
      assert.deepEqual(
        schemaFromIpcMessage(prepared.parameterSchema).fields.map((f) => String(f.type)),
        ['Int32'],
      );
    });

    test('CommandPreparedStatementUpdate: one execution per row, atomically', async () => {
      await plain('CREATE OR REPLACE TABLE prep_update (id BIGINT PRIMARY KEY, name VARCHAR)');
      const { preparedStatementHandle } = await prepare('INSERT INTO prep_update VALUES (?, ?)');
      const [result] = await sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle }, people([1, 2, 3]));
      assert.deepEqual(DoPutUpdateResult.decode(result!), { recordCount: 3 });
      await rejectsWith(
        sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle }, people([4, 1, 5])),
        'invalid-argument',
        /PRIMARY KEY|constraint/i,
      );
      assert.deepEqual(
        column(await plain('SELECT id FROM prep_update ORDER BY id'), 'id'),
        [1n, 2n, 3n],
        'the failed set left nothing behind',
      );
      await rejectsWith(
        sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle }, new Table({ only: vectorFromArray([1], new Int32()) })),
        'invalid-argument',
        /2 parameter\(s\) but 1 were bound/,
      );
    });

    test('a parameterized non-query runs at GetFlightInfo with the bound rows', async () => {
      await plain('CREATE OR REPLACE TABLE prep_insert (id BIGINT, name VARCHAR)');
      const { preparedStatementHandle } = await prepare('INSERT INTO prep_insert VALUES ($1, $2)');
      await sql.put(CommandPreparedStatementQuery, { preparedStatementHandle }, people([7, 8]));
      const info = await sql.info(CommandPreparedStatementQuery, { preparedStatementHandle });
      assert.equal(await count('prep_insert'), 2);
      assert.deepEqual(column(await sql.read(info), 'rows_changed'), [2n]);
    });

    test('named parameters bind the columns of the same name', async () => {
      const { preparedStatementHandle } = await prepare('SELECT $name AS who, $id + 1 AS next');
      await sql.put(CommandPreparedStatementQuery, { preparedStatementHandle }, people([41]));
      const table = await sql.fetch(CommandPreparedStatementQuery, { preparedStatementHandle });
      assert.deepEqual(column(table, 'who'), ['p41']);
      assert.deepEqual(column(table, 'next'), [42n]);
    });

    // Schema.fbs lets a column go unnamed, and flight/ passes such a schema on: the names are ours to check.
    test('named parameters bound from a batch whose column has no name: INVALID_ARGUMENT naming the parameter when it runs', async () => {
      const { preparedStatementHandle } = await prepare('SELECT $who AS who');
      const descriptor = command(CommandPreparedStatementQuery, { preparedStatementHandle });
      const values = new Table({ who: vectorFromArray(['x'], new Utf8()) });
      const encoder = new FlightDataEncoder({ descriptor });
      const schema = decodeFlightData(encoder.encodeSchema(values.schema));
      const patch = new FlatbufferPatch(schema.dataHeader);
      patch.absent(patch.element(patch.child(patch.root(), 2), 1, 0), 0); // field 0 of the schema loses its name
      const raw = new RawFlightClient(parseLocation(server.location).address);
      try {
        const outcome = await raw.bidi('DoPut', [
          encodeFlightData(patch.bytes, undefined, undefined, descriptor),
          ...encoder.encodeBatch(values.batches[0]!),
        ]);
        assert.equal(outcome.code, GrpcStatus.OK, outcome.details); // the values are kept; they bind when the statement runs
        await rejectsWith(
          sql.fetch(CommandPreparedStatementQuery, { preparedStatementHandle }),
          'invalid-argument',
          /parameter \$who has no bound column of that name/,
        );
      } finally {
        raw.close();
      }
    });
  });

  describe('ingest', () => {
    test('CommandStatementIngest into a catalog and schema, with the rows counted', async () => {
      await plain(`ATTACH ':memory:' AS ingest_db; CREATE SCHEMA ingest_db.s`);
      try {
        const [result] = await sql.put(
          CommandStatementIngest,
          { table: 'p', catalog: 'ingest_db', schema: 's', tableDefinitionOptions: INGEST },
          people([1, 2]),
        );
        assert.deepEqual(DoPutUpdateResult.decode(result!), { recordCount: 2 });
        assert.equal(await count('ingest_db.s.p'), 2);
        const where = await plain('SELECT current_database() AS db, current_schema() AS s');
        assert.deepEqual([column(where, 'db')[0], column(where, 's')[0]], ['memory', 'main'], 'pool connections keep their default schema');
      } finally {
        await plain('DETACH ingest_db');
      }
    });

    test('unspecified table options and a missing schema are refused', async () => {
      await rejectsWith(sql.put(CommandStatementIngest, { table: 'x' }, people([1])), 'invalid-argument', /if_not_exist and if_exists/);
      await rejectsWith(
        sql.put(CommandStatementIngest, { table: 'x', schema: 'no_such_schema', tableDefinitionOptions: INGEST }, people([1])),
        'not-found',
        /no_such_schema/,
      );
    });

    test('with a transaction id: invisible until commit, gone after rollback', async () => {
      await plain('DROP TABLE IF EXISTS txn_ingest');
      const first = await begin();
      await sql.put(
        CommandStatementIngest,
        { table: 'txn_ingest', transactionId: first, tableDefinitionOptions: INGEST },
        people([1, 2, 3]),
      );
      const inside = await sql.fetch(CommandStatementQuery, { query: 'SELECT count(*) AS n FROM txn_ingest', transactionId: first });
      assert.deepEqual(column(inside, 'n'), [3n], 'visible inside the transaction');
      await rejectsWith(plain('SELECT * FROM txn_ingest'), 'not-found', /txn_ingest/);
      await end(first, EndTransaction.COMMIT);
      assert.equal(await count('txn_ingest'), 3);

      const second = await begin();
      await sql.put(
        CommandStatementIngest,
        {
          table: 'txn_ingest',
          transactionId: second,
          tableDefinitionOptions: { ifNotExist: TableNotExistOption.FAIL, ifExists: TableExistsOption.APPEND },
        },
        people([4]),
      );
      await end(second, EndTransaction.ROLLBACK);
      assert.equal(await count('txn_ingest'), 3);
      await rejectsWith(end(second, EndTransaction.COMMIT), 'not-found', /no open transaction/);
    });

    test('a temporary table lives in its transaction only', async () => {
      await rejectsWith(
        sql.put(CommandStatementIngest, { table: 'tmp', temporary: true, tableDefinitionOptions: INGEST }, people([1])),
        'invalid-argument',
        /within a transaction/,
      );
      const transactionId = await begin();
      await sql.put(
        CommandStatementIngest,
        { table: 'tmp_people', temporary: true, transactionId, tableDefinitionOptions: INGEST },
        people([1, 2]),
      );
      await sql.put(
        CommandStatementIngest,
        {
          table: 'tmp_people',
          temporary: true,
          transactionId,
          tableDefinitionOptions: { ifNotExist: TableNotExistOption.FAIL, ifExists: TableExistsOption.APPEND },
        },
        people([3]),
      );
      const inside = await sql.fetch(CommandStatementQuery, { query: 'SELECT id FROM temp.main.tmp_people ORDER BY id', transactionId });
      assert.deepEqual(column(inside, 'id'), [1n, 2n, 3n]);
      const staging = await sql.fetch(CommandStatementQuery, {
        query: "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name LIKE '\\_\\_flightsql%' ESCAPE '\\'",
        transactionId,
      });
      assert.deepEqual(column(staging, 'n'), [0n], 'no staging table left');
      await rejectsWith(plain('SELECT * FROM tmp_people'), 'not-found', /tmp_people/);
      await end(transactionId, EndTransaction.COMMIT);
    });

    test('an ingest that fails inside a transaction leaves it able only to roll back', async () => {
      await plain('CREATE OR REPLACE TABLE txn_pk (id BIGINT PRIMARY KEY, name VARCHAR)');
      const transactionId = await begin();
      const append = { ifNotExist: TableNotExistOption.FAIL, ifExists: TableExistsOption.APPEND };
      await sql.put(CommandStatementIngest, { table: 'txn_pk', transactionId, tableDefinitionOptions: append }, people([1]));
      await rejectsWith(
        sql.put(CommandStatementIngest, { table: 'txn_pk', transactionId, tableDefinitionOptions: append }, people([2, 1])),
        'invalid-argument',
        /PRIMARY KEY|constraint/i,
      );
      await rejectsWith(sql.info(CommandStatementQuery, { query: 'SELECT 1', transactionId }), 'failed-precondition', /aborted/);
      await rejectsWith(end(transactionId, EndTransaction.COMMIT), 'failed-precondition', /cannot commit/);
      assert.equal(await count('txn_pk'), 0, 'nothing of the transaction was committed');
    });
  });

  describe('transactions', () => {
    test('statements and prepared statements with the id run in it; others do not see it', async () => {
      await plain('DROP TABLE IF EXISTS txn_t');
      const transactionId = await begin();
      assert.equal(transactionId.byteLength, 16);
      await sql.info(CommandStatementQuery, { query: 'CREATE TABLE txn_t (i INTEGER)', transactionId });
      const [prepared] = await sql.action(
        'CreatePreparedStatement',
        ActionCreatePreparedStatementRequest,
        { query: 'INSERT INTO txn_t VALUES (?)', transactionId },
        ActionCreatePreparedStatementResult,
      );
      await sql.put(
        CommandPreparedStatementUpdate,
        { preparedStatementHandle: prepared!.preparedStatementHandle },
        new Table({ v: vectorFromArray([1, 2], new Int32()) }),
      );
      await sql.put(CommandStatementUpdate, { query: 'INSERT INTO txn_t VALUES (3)', transactionId });
      assert.deepEqual(
        column(await sql.fetch(CommandStatementQuery, { query: 'SELECT sum(i)::BIGINT AS s FROM txn_t', transactionId }), 's'),
        [6n],
      );
      await rejectsWith(plain('SELECT * FROM txn_t'), 'not-found', /txn_t/);
      await end(transactionId, EndTransaction.COMMIT);
      assert.equal(await count('txn_t'), 3);
    });

    test('a prepared statement outlives its transaction: it runs in the next one its client begins, else in autocommit', async () => {
      await plain('CREATE OR REPLACE TABLE chain_t (i INTEGER)');
      const values = (i: number) => new Table({ v: vectorFromArray([i], new Int32()) });
      const first = await begin();
      const [prepared] = await sql.action(
        'CreatePreparedStatement',
        ActionCreatePreparedStatementRequest,
        { query: 'INSERT INTO chain_t VALUES (?)', transactionId: first },
        ActionCreatePreparedStatementResult,
      );
      const preparedStatementHandle = prepared!.preparedStatementHandle;
      await sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle }, values(1));
      await end(first, EndTransaction.COMMIT);
      const second = await begin();
      await sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle }, values(2));
      assert.equal(await count('chain_t'), 1, 'the second row is in the second transaction, not yet visible');
      await end(second, EndTransaction.ROLLBACK);
      assert.equal(await count('chain_t'), 1, 'and went with its rollback');

      // Another client connection's transaction is not this one's successor. (grpc-js would share
      // one HTTP/2 connection between clients of the same target: ask for a channel of its own.)
      const other = new SqlClient(new FlightClient(server.location, { grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } }));
      try {
        const [theirs] = await other.action('BeginTransaction', ActionBeginTransactionRequest, {}, ActionBeginTransactionResult);
        await sql.put(CommandPreparedStatementUpdate, { preparedStatementHandle }, values(3));
        assert.equal(await count('chain_t'), 2, 'with no next transaction of its own client, autocommit');
        await other.action('EndTransaction', ActionEndTransactionRequest, {
          transactionId: theirs!.transactionId,
          action: EndTransaction.ROLLBACK,
        });
      } finally {
        other.flight.close();
      }
      assert.deepEqual(column(await plain('SELECT i FROM chain_t ORDER BY i'), 'i'), [1, 3]);
    });

    test('BEGIN, COMMIT and ROLLBACK as SQL: refused alone or in a transaction, rolled back when a script leaves one open', async () => {
      await rejectsWith(
        sql.info(CommandStatementQuery, { query: 'BEGIN TRANSACTION' }),
        'invalid-argument',
        /BeginTransaction and EndTransaction actions/,
      );
      await rejectsWith(sql.put(CommandStatementUpdate, { query: 'COMMIT' }), 'invalid-argument', /BeginTransaction/);
      await plain('DROP TABLE IF EXISTS script_a; DROP TABLE IF EXISTS script_b');
      await sql.put(CommandStatementUpdate, { query: 'BEGIN; CREATE TABLE script_a (i INTEGER); INSERT INTO script_a VALUES (1); COMMIT' });
      assert.equal(await count('script_a'), 1, 'a balanced script runs');
      await rejectsWith(
        sql.put(CommandStatementUpdate, { query: 'BEGIN; CREATE TABLE script_b (i INTEGER)' }),
        'invalid-argument',
        /left a transaction open/,
      );
      await rejectsWith(plain('SELECT * FROM script_b'), 'not-found', /script_b/);
      const info = await sql.info(CommandStatementQuery, { query: 'BEGIN; CREATE TABLE script_b (i INTEGER); SELECT 1 AS one' });
      await rejectsWith(sql.read(info), 'invalid-argument', /left a transaction open/);
      await rejectsWith(plain('SELECT * FROM script_b'), 'not-found', /script_b/);
      for (let i = 0; i < 4; i++) {
        await sql.put(CommandStatementUpdate, { query: `CREATE OR REPLACE TABLE script_c${i} (i INTEGER)` });
        await rejectsWith(sql.put(CommandStatementUpdate, { query: 'ROLLBACK' }), 'invalid-argument', /BeginTransaction/);
      }
      assert.equal(await count('script_c3'), 0, 'pool connections were left in autocommit: every table was committed');
      const transactionId = await begin();
      await rejectsWith(
        sql.info(CommandStatementQuery, { query: 'SELECT 1; COMMIT', transactionId }),
        'invalid-argument',
        /BeginTransaction/,
      );
      await end(transactionId, EndTransaction.ROLLBACK);
    });

    test('unknown, ended and malformed transaction ids', async () => {
      await rejectsWith(
        sql.info(CommandStatementQuery, { query: 'SELECT 1', transactionId: Uint8Array.of(1, 2, 3) }),
        'not-found',
        /no open transaction 010203/,
      );
      const transactionId = await begin();
      await end(transactionId, EndTransaction.ROLLBACK);
      await rejectsWith(end(transactionId, EndTransaction.ROLLBACK), 'not-found', /no open transaction/);
      await rejectsWith(
        sql.action('EndTransaction', ActionEndTransactionRequest, { transactionId, action: EndTransaction.UNSPECIFIED }),
        'invalid-argument',
        /COMMIT \(1\) or ROLLBACK \(2\)/,
      );
      await rejectsWith(collect(flight.doAction('EndTransaction', 'not an any')), 'invalid-argument', /ActionEndTransactionRequest/);
    });
  });

  describe('cancellation', () => {
    const LONG = 'SELECT count(*) AS n FROM range(20000000000)';

    test('CancelFlightInfo interrupts a query being read', async () => {
      const info = await sql.info(CommandStatementQuery, { query: LONG });
      const started = Date.now();
      const reading = sql.read(info);
      reading.catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 500));
      const [result] = await collect(flight.doAction('CancelFlightInfo', CancelFlightInfoRequestCodec.encode(info)));
      assert.equal(CancelFlightInfoResultCodec.decode(result!), 'cancelled');
      await rejectsWith(reading, 'cancelled', /cancelled/);
      assert.ok(Date.now() - started < 10_000, 'stopped promptly');
      assert.equal(server.engine instanceof Object, true);
      assert.deepEqual(column(await plain('SELECT 5 AS five'), 'five'), [5], 'the server still answers');
    });

    test('a ticket cancelled before it is read fails; CancelQuery (deprecated) answers in an Any', async () => {
      const info = await sql.info(CommandStatementQuery, { query: LONG });
      const [result] = await sql.action(
        'CancelQuery',
        ActionCancelQueryRequest,
        { info: FlightInfoCodec.encode(info) },
        ActionCancelQueryResult,
      );
      assert.equal(result!.result, CancelResult.CANCELLED);
      await rejectsWith(sql.read(info), 'cancelled', /before it ran/);
      const done = await sql.info(CommandStatementQuery, { query: 'CREATE OR REPLACE TABLE cancel_done (i INTEGER)' });
      const [status] = await collect(flight.doAction('CancelFlightInfo', CancelFlightInfoRequestCodec.encode(done)));
      assert.equal(CancelFlightInfoResultCodec.decode(status!), 'not-cancellable', 'it already ran at GetFlightInfo');
    });
  });

  describe('what is not supported answers UNIMPLEMENTED by name', () => {
    test('Substrait, savepoints, sessions and unknown commands', async () => {
      await rejectsWith(
        sql.info(CommandStatementSubstraitPlan, { plan: { plan: Uint8Array.of(1), version: '0.1' } }),
        'unimplemented',
        /CommandStatementSubstraitPlan/,
      );
      await rejectsWith(sql.action('BeginSavepoint', ActionBeginSavepointRequest, { name: 'x' }), 'unimplemented', /BeginSavepoint/);
      await rejectsWith(collect(flight.doAction('CloseSession', new Uint8Array(0))), 'unimplemented', /CloseSession/);
      const unknown = FlightDescriptor.command(encodeAny(`${TYPE_URL_PREFIX}CommandGetEverything`, new Uint8Array(0)));
      await rejectsWith(flight.getFlightInfo(unknown), 'unimplemented', /CommandGetEverything/);
      await rejectsWith(
        flight.doPut(command(CommandStatementQuery, { query: 'SELECT 1' }), new Table(new Schema([new Field('a', new Int32())]))),
        'invalid-argument',
        /GetFlightInfo, not DoPut/,
      );
      await rejectsWith(sql.info(CommandStatementUpdate, { query: 'SELECT 1' }), 'invalid-argument', /DoPut command/);
    });
  });
});

describe('Flight SQL with authentication', () => {
  let server: DuckDBFlightServer;
  const users = new Map([
    ['alice', 'a-secret'],
    ['bob', 'b-secret'],
  ]);

  before(async () => {
    server = await DuckDBFlightServer.start({ host: '127.0.0.1', port: 0, users });
  });
  after(async () => {
    await server.close();
  });

  test('calls need credentials; a transaction belongs to the user who began it', async () => {
    const anonymous = new SqlClient(new FlightClient(server.location));
    const alice = new SqlClient(new FlightClient(server.location));
    const bob = new SqlClient(new FlightClient(server.location));
    try {
      await rejectsWith(anonymous.info(CommandGetCatalogs, {}), 'unauthenticated', /./);
      await alice.flight.authenticateBasicToken('alice', 'a-secret');
      await bob.flight.authenticateBasicToken('bob', 'b-secret');
      assert.deepEqual(column(await alice.fetch(CommandGetCatalogs, {}), 'catalog_name'), ['memory']);
      const [begun] = await alice.action('BeginTransaction', ActionBeginTransactionRequest, {}, ActionBeginTransactionResult);
      const transactionId = begun!.transactionId;
      await rejectsWith(bob.info(CommandStatementQuery, { query: 'SELECT 1', transactionId }), 'not-found', /no open transaction/);
      const batches: RecordBatch[] = (await alice.fetch(CommandStatementQuery, { query: 'SELECT 1 AS one', transactionId })).batches;
      assert.equal(batches[0]!.numRows, 1);
      await alice.action('EndTransaction', ActionEndTransactionRequest, { transactionId, action: EndTransaction.COMMIT });
    } finally {
      anonymous.flight.close();
      alice.flight.close();
      bob.flight.close();
    }
  });
});

describe('Flight SQL on a read-only server', () => {
  let dir: string;
  let server: DuckDBFlightServer;
  let flight: FlightClient;
  let sql: SqlClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flightsql-ro-'));
    const path = join(dir, 'ro.duckdb');
    const writer = await DuckDBFlightServer.start({ host: '127.0.0.1', port: 0, dbPath: path });
    const client = new FlightClient(writer.location);
    await client.doGet('CREATE TABLE kept AS SELECT range AS i FROM range(3)').readAll();
    client.close();
    await writer.close();
    server = await DuckDBFlightServer.start({ host: '127.0.0.1', port: 0, dbPath: path, readOnly: true });
    flight = new FlightClient(server.location);
    sql = new SqlClient(flight);
  });
  after(async () => {
    flight?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('reads work; SqlInfo says read-only; ingest and writes are PERMISSION_DENIED', async () => {
    const info = await sql.fetch(CommandGetSqlInfo, {
      info: [SqlInfo.FLIGHT_SQL_SERVER_READ_ONLY, SqlInfo.FLIGHT_SQL_SERVER_BULK_INGESTION],
    });
    assert.deepEqual(column(info, 'value'), [true, false]);
    assert.deepEqual(column(await sql.fetch(CommandStatementQuery, { query: 'SELECT sum(i)::INTEGER AS s FROM kept' }), 's'), [3]);
    await rejectsWith(
      sql.put(CommandStatementIngest, { table: 'kept', tableDefinitionOptions: INGEST }, people([1])),
      'permission-denied',
      /read-only/,
    );
    await rejectsWith(
      sql.put(CommandStatementUpdate, { query: 'INSERT INTO kept VALUES (9)' }),
      'permission-denied',
      /read-only|read only/i,
    );
    const transactionId = (await sql.action('BeginTransaction', ActionBeginTransactionRequest, {}, ActionBeginTransactionResult))[0]!
      .transactionId;
    assert.deepEqual(
      column(await sql.fetch(CommandStatementQuery, { query: 'SELECT count(*)::INTEGER AS n FROM kept', transactionId }), 'n'),
      [3],
    );
    await sql.action('EndTransaction', ActionEndTransactionRequest, { transactionId, action: EndTransaction.COMMIT });
  });
});
