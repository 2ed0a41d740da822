// Flight SQL as the Arrow Flight SQL JDBC driver (18.3.0) sees it, against the duck-flight CLI:
// test/peers/jdbc/JdbcChecks.java runs its checks in one JVM and prints what JDBC reported;
// each test here asserts on one check. Built by `npm run peers` (scripts/setup-peers-jdbc.sh);
// without it the tests fail saying so.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { jdbcPeer, runClientPeer, type ClientCheck } from '../support/peers.ts';

const NAMES = ['connect', 'execute_query', 'execute_update', 'prepared_query', 'prepared_update', 'result_metadata', 'database_metadata'];

describe('Flight SQL through the Arrow Flight SQL JDBC driver', () => {
  let server: ServerProcess;
  let checks: Map<string, ClientCheck>;

  before(async () => {
    const peer = jdbcPeer();
    server = await spawnServer();
    checks = await runClientPeer(peer, `jdbc:arrow-flight-sql://127.0.0.1:${server.port}/?useEncryption=false`);
  });
  after(async () => {
    await server?.stop();
  });

  /** What the check saw; fails with the client's error (and the server's log) if it met one. */
  function seen(name: string): unknown {
    const check = checks.get(name);
    assert.ok(check, `JdbcChecks printed nothing for ${name}`);
    assert.equal(check.error, undefined, `${name}: ${check.error}\nserver stderr:\n${server.stderr().slice(-2000)}`);
    return check.result;
  }

  test('every check ran', () => {
    assert.deepEqual([...checks.keys()], NAMES);
  });

  test('connect: the server names itself', () => {
    assert.deepEqual(seen('connect'), { product: 'duck-flight', read_only: false });
  });

  test('executeQuery', () => {
    assert.deepEqual(seen('execute_query'), [
      [0, 'v0'],
      [1, 'v1'],
      [2, 'v2'],
    ]);
  });

  test('executeUpdate returns the real counts of CREATE, INSERT, UPDATE and DELETE', () => {
    assert.deepEqual(seen('execute_update'), { create: 0, insert: 3, update: 2, delete: 1 });
  });

  test('a prepared query with a parameter', () => {
    assert.deepEqual(seen('prepared_query'), [[3, 'C']]);
  });

  test('prepared INSERT, UPDATE and DELETE with parameters return their counts', () => {
    assert.deepEqual(seen('prepared_update'), { insert: 1, update: 2, delete: 1 });
  });

  test('ResultSetMetaData: DECIMAL(10,2) has precision 10 and scale 2; a plain scan names its table', () => {
    const result = seen('result_metadata') as Record<string, Record<string, Record<string, unknown>>>;
    const decimal = { type_name: 'DECIMAL', precision: 10, scale: 2, case_sensitive: false, searchable: true };
    assert.deepEqual(pick(result['table_scan']!['price']!, decimal), decimal);
    assert.deepEqual(pick(result['computed']!['d']!, decimal), decimal);
    assert.deepEqual(pick(result['prepared']!['price']!, decimal), decimal, "a prepared statement's metadata too");
    const origin = { table: 'jdbc_t', schema: 'main', catalog: 'memory', read_only: false };
    assert.deepEqual(pick(result['table_scan']!['name']!, origin), origin);
    assert.equal(result['table_scan']!['name']!['case_sensitive'], true);
    assert.deepEqual(
      pick(result['computed']!['d']!, { table: null, read_only: true }),
      { table: null, read_only: true },
      'a computed column claims no table',
    );
  });

  test('DatabaseMetaData: getTables and getColumns', () => {
    const result = seen('database_metadata') as { tables: unknown[]; columns: Record<string, unknown>[] };
    assert.deepEqual(result.tables, [['main', 'jdbc_t', 'TABLE']]);
    assert.deepEqual(
      result.columns.map((c) => [c['name'], c['type_name'], c['nullable']]),
      [
        ['id', 'INTEGER', 0],
        ['price', 'DECIMAL(10,2)', 1],
        ['name', 'VARCHAR', 1],
      ],
    );
    assert.deepEqual(pick(result.columns[1]!, { column_size: 10, decimal_digits: 2 }), { column_size: 10, decimal_digits: 2 });
  });
});

/** The entries of `from` that `like` names. */
function pick(from: Record<string, unknown>, like: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(like).map((k) => [k, from[k]]));
}
