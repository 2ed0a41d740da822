// Flight SQL as arrow-go's flightsql client (v18.9.0) sees it, against the duck-flight CLI:
// test/peers/go runs its checks in one process and prints what the client saw; each test here
// asserts on one check. Built by `npm run peers` (scripts/setup-peers-go.sh); without it the
// tests fail saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { goPeer, runClientPeer, type ClientCheck } from '../support/peers.ts';

const NAMES = ['execute', 'execute_update', 'status_table', 'prepared_query', 'prepared_update', 'column_metadata', 'get_tables', 'ingest'];

describe("Flight SQL through arrow-go's flightsql client", () => {
  let server: ServerProcess;
  let checks: Map<string, ClientCheck>;

  before(async () => {
    const peer = goPeer();
    server = await spawnServer();
    checks = await runClientPeer(peer, `127.0.0.1:${server.port}`);
  });
  after(async () => {
    await server?.stop();
  });

  function seen(name: string): Record<string, unknown> {
    const check = checks.get(name);
    assert.ok(check, `the Go checks printed nothing for ${name}`);
    assert.equal(check.error, undefined, `${name}: ${check.error}\nserver stderr:\n${server.stderr().slice(-2000)}`);
    return check.result as Record<string, unknown>;
  }

  test('every check ran', () => {
    assert.deepEqual([...checks.keys()], NAMES);
  });

  test('Execute and DoGet', () => {
    assert.deepEqual(seen('execute'), {
      types: ['int64', 'utf8'],
      rows: [
        [0, 'v0'],
        [1, 'v1'],
        [2, 'v2'],
      ],
    });
  });

  test('ExecuteUpdate counts', () => {
    assert.deepEqual(seen('execute_update'), { create: 0, insert: 3, update: 2, delete: 1 });
  });

  test('a statement without rows read as a query: the status table, in plain utf8', () => {
    assert.deepEqual(seen('status_table'), { types: ['utf8', 'utf8', 'int64'], rows: [['OK', 'CREATE', 0]] });
  });

  test('a prepared query with a parameter: a dataset schema and the query hint', () => {
    assert.deepEqual(seen('prepared_query'), { dataset_fields: 2, hinted: true, is_update: false, rows: [[3, 'C']] });
  });

  test('a prepared INSERT with parameters: an empty dataset schema, the update hint, its count', () => {
    assert.deepEqual(seen('prepared_update'), { dataset_fields: 0, hinted: true, is_update: true, count: 2 });
  });

  test('column metadata through flightsql.ColumnMetadata, and total_records of a plain scan', () => {
    const result = seen('column_metadata');
    const flags = { auto_increment: false, searchable: true };
    assert.deepEqual((result['table_scan'] as Record<string, unknown>)['price'], {
      ...flags,
      type_name: 'DECIMAL(10,2)',
      precision: 10,
      scale: 2,
      catalog: 'memory',
      schema: 'main',
      table: 'go_t',
      nullable: true,
      case_sensitive: false,
      read_only: false,
    });
    assert.deepEqual((result['table_scan'] as Record<string, Record<string, unknown>>)['id']!['nullable'], false, 'NOT NULL');
    assert.deepEqual(result['computed'], {
      ...flags,
      type_name: 'DECIMAL(12,3)',
      precision: 12,
      scale: 3,
      nullable: true,
      case_sensitive: false,
      read_only: true,
    });
    assert.equal(result['streamed_same'], true, 'the DoGet stream carries the FlightInfo schema, metadata included');
    assert.equal(result['total_records'], 4);
    assert.equal(result['computed_total_records'], -1);
  });

  test('GetTables', () => {
    assert.deepEqual(seen('get_tables'), { tables: ['go_status', 'go_t'] });
  });

  test('ExecuteIngest of a UTC TIMESTAMPTZ comes back in UTC', () => {
    assert.deepEqual(seen('ingest'), {
      count: 2,
      types: ['timestamp[us, tz=UTC]', 'int64'],
      rows: [
        ['2023-11-14T22:13:20Z', 1],
        ['2023-11-14T22:13:21Z', 2],
      ],
    });
  });
});
