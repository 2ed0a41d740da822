// GetFlightInfo, PollFlightInfo, GetSchema and ListFlights against the CLI as a process: by
// command (SQL) and by path (a table), with schemas, row counts, and tickets that redeem.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Schema } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDescriptor } from '../../flight/index.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { collect, rejectsWith, rows } from './helpers.ts';

const text = new TextDecoder();

function describeSchema(schema: Schema | null): string[] {
  if (!schema) throw new Error('the FlightInfo carries no schema');
  return schema.fields.map((f) => `${f.name}: ${f.type}${f.nullable ? '' : ' not null'}`);
}

describe('flight metadata RPCs', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer();
    client = await server.connect();
    await client.executeAction(
      'query',
      `CREATE TABLE people (id INTEGER NOT NULL, name VARCHAR, score DOUBLE);
       INSERT INTO people VALUES (1, 'ada', 9.5), (2, 'bob', NULL), (3, NULL, 7.25);
       CREATE TABLE pets (kind VARCHAR);
       INSERT INTO pets VALUES ('cat'), ('dog');
       CREATE SCHEMA zoo;
       CREATE TABLE zoo.animals (n BIGINT);
       INSERT INTO zoo.animals SELECT range FROM range(10);`,
    );
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, `the server did not exit cleanly:\n${server?.stderr()}`);
  });

  test('GetFlightInfo by command: schema, unknown row count, a ticket that redeems', async () => {
    const descriptor = FlightDescriptor.command('SELECT id, name FROM people WHERE id > 1 ORDER BY id');
    const info = await client.flight.getFlightInfo(descriptor);
    assert.deepEqual(describeSchema(info.schema), ['id: Int32', 'name: Utf8']);
    assert.equal(info.totalRecords, -1);
    assert.equal(info.totalBytes, -1);
    assert.equal(info.descriptor?.type, 'cmd');
    assert.equal(info.endpoints.length, 1);
    assert.deepEqual(info.endpoints[0]!.locations, []);
    const table = await client.flight.doGet(info.endpoints[0]!.ticket).readAll();
    assert.deepEqual(rows(table), [
      { id: 2, name: 'bob' },
      { id: 3, name: null },
    ]);
  });

  test("GetFlightInfo by path: the table's schema, its row count, a ticket that reads it all", async () => {
    const info = await client.flight.getFlightInfo(FlightDescriptor.path('people'));
    assert.deepEqual(describeSchema(info.schema), ['id: Int32', 'name: Utf8', 'score: Float64']);
    assert.equal(info.totalRecords, 3);
    assert.equal(info.descriptor?.type, 'path');
    assert.equal(text.decode(info.endpoints[0]!.ticket), 'SELECT * FROM "people"');
    const table = await client.flight.doGet(info.endpoints[0]!.ticket).readAll();
    assert.deepEqual(
      rows(table).sort((a, b) => (a['id'] as number) - (b['id'] as number)),
      [
        { id: 1, name: 'ada', score: 9.5 },
        { id: 2, name: 'bob', score: null },
        { id: 3, name: null, score: 7.25 },
      ],
    );
  });

  test('GetFlightInfo by a [schema, table] path', async () => {
    const info = await client.flight.getFlightInfo(FlightDescriptor.path('zoo', 'animals'));
    assert.deepEqual(describeSchema(info.schema), ['n: Int64']);
    assert.equal(info.totalRecords, 10);
    const table = await client.flight.doGet(info.endpoints[0]!.ticket).readAll();
    assert.equal(table.numRows, 10);
  });

  test('GetFlightInfo of a statement describes the status table without running it', async () => {
    const info = await client.flight.getFlightInfo(FlightDescriptor.command('DROP TABLE pets'));
    assert.deepEqual(info.schema?.names, ['status', 'statement', 'rows_changed']);
    assert.deepEqual(rows(await client.executeQuery('SELECT count(*) AS n FROM pets')), [{ n: 2n }]);
  });

  test('PollFlightInfo answers complete at once', async () => {
    const poll = await client.flight.pollFlightInfo(FlightDescriptor.path('pets'));
    assert.equal(poll.progress, 1);
    assert.equal(poll.info?.totalRecords, 2);
    assert.deepEqual(describeSchema(poll.info!.schema), ['kind: Utf8']);
  });

  test('GetSchema by command and by path', async () => {
    const byCommand = await client.flight.getSchema(
      FlightDescriptor.command('SELECT score * 2 AS twice, name IS NULL AS anon FROM people'),
    );
    assert.deepEqual(describeSchema(byCommand), ['twice: Float64', 'anon: Bool']);
    const byPath = await client.flight.getSchema(FlightDescriptor.path('people'));
    assert.deepEqual(describeSchema(byPath), ['id: Int32', 'name: Utf8', 'score: Float64']);
  });

  test('GetSchema does not run the query', async () => {
    const schema = await client.flight.getSchema(FlightDescriptor.command('SELECT * FROM range(1000000000000) t(x) ORDER BY x DESC'));
    assert.deepEqual(describeSchema(schema), ['x: Int64']);
  });

  test('GetSchema and GetFlightInfo of a query ending in a line comment do not run it', async () => {
    // error() raises only when the query runs; preparing it (or LIMIT 0) does not.
    const sql = "SELECT coalesce(error('the query ran'), 1)::INTEGER AS x FROM range(3) -- a note";
    assert.deepEqual(describeSchema(await client.flight.getSchema(FlightDescriptor.command(sql))), ['x: Int32']);
    const info = await client.flight.getFlightInfo(FlightDescriptor.command(sql));
    assert.deepEqual(describeSchema(info.schema), ['x: Int32']);
    await rejectsWith(client.flight.doGet(info.endpoints[0]!.ticket).readAll(), 'invalid-argument', /the query ran/);
  });

  test('GetSchema of an EXPLAIN ANALYZE, a PRAGMA or a CALL describes it without running it', async () => {
    const explain = await client.flight.getSchema(
      FlightDescriptor.command('EXPLAIN ANALYZE CREATE TABLE made_by_getschema AS SELECT 1 AS x'),
    );
    assert.deepEqual(describeSchema(explain), ['explain_key: Utf8', 'explain_value: Utf8']);
    const pragma = await client.flight.getSchema(FlightDescriptor.command("PRAGMA table_info('people')"));
    assert.ok(describeSchema(pragma).includes('name: Utf8'), describeSchema(pragma).join(', '));
    const call = await client.flight.getSchema(FlightDescriptor.command('CALL checkpoint()'));
    assert.ok(call.fields.length >= 1);
    const made = await client.executeQuery("SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'made_by_getschema'");
    assert.equal(made.getChild('n')!.get(0), 0n, 'the EXPLAIN ANALYZE did not run');
  });

  test('a path to a missing table is NOT_FOUND on GetFlightInfo and GetSchema', async () => {
    await rejectsWith(client.flight.getFlightInfo(FlightDescriptor.path('nobody')), 'not-found', /Table with name nobody does not exist/);
    await rejectsWith(client.flight.getSchema(FlightDescriptor.path('nobody')), 'not-found', /Table with name nobody does not exist/);
  });

  test('bad SQL in a command is INVALID_ARGUMENT', async () => {
    await rejectsWith(client.flight.getFlightInfo(FlightDescriptor.command('SELECT FROM WHERE')), 'invalid-argument', /Parser Error/);
    await rejectsWith(
      client.flight.getSchema(FlightDescriptor.command('SELECT nope FROM people')),
      'invalid-argument',
      /Binder Error.*nope/s,
    );
  });

  test('a path of four segments is INVALID_ARGUMENT', async () => {
    await rejectsWith(client.flight.getFlightInfo(FlightDescriptor.path('a', 'b', 'c', 'd')), 'invalid-argument', /4 segment/);
  });

  test('ListFlights lists every table with its path, schema and row count', async () => {
    const infos = await collect(client.flight.listFlights());
    const listed = infos.map((info) => ({
      path: info.descriptor?.type === 'path' ? info.descriptor.path.join('.') : '?',
      rows: info.totalRecords,
      schema: describeSchema(info.schema),
      ticket: text.decode(info.endpoints[0]!.ticket),
    }));
    assert.deepEqual(listed, [
      { path: 'people', rows: 3, schema: ['id: Int32', 'name: Utf8', 'score: Float64'], ticket: 'SELECT * FROM "people"' },
      { path: 'pets', rows: 2, schema: ['kind: Utf8'], ticket: 'SELECT * FROM "pets"' },
      { path: 'zoo.animals', rows: 10, schema: ['n: Int64'], ticket: 'SELECT * FROM "zoo"."animals"' },
    ]);
    for (const info of infos) {
      const table = await client.flight.doGet(info.endpoints[0]!.ticket).readAll();
      assert.equal(table.numRows, info.totalRecords);
    }
  });

  test('ListFlights criteria filter by table-name prefix', async () => {
    const infos = await collect(client.flight.listFlights('pe'));
    assert.deepEqual(
      infos.map((i) => (i.descriptor?.type === 'path' ? i.descriptor.path.join('.') : '?')),
      ['people', 'pets'],
    );
    assert.deepEqual(await collect(client.flight.listFlights('zzz')), []);
  });
});
