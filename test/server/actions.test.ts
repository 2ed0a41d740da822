// DoAction and ListActions against the CLI as a process: every action the server lists, its
// errors, and transfer between two server processes (server-to-server and through the client).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { spawnServer, tempDir, type ServerProcess } from '../support/duck-server.ts';
import { fingerprint, one, rejectsWith, rows } from './helpers.ts';

const ACTIONS = [
  'query',
  'list_tables',
  'drop_table',
  'load_parquet',
  'transfer',
  'list_exchangers',
  'register_exchanger',
  'unregister_exchanger',
  'health',
  'version',
];

describe('actions', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let clientA: DuckDBFlightClient;
  let clientB: DuckDBFlightClient;
  const dir = tempDir();

  before(async () => {
    [a, b] = await Promise.all([spawnServer(), spawnServer()]);
    [clientA, clientB] = await Promise.all([a.connect(), b.connect()]);
  });
  after(async () => {
    clientA?.close();
    clientB?.close();
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    dir.remove();
    assert.deepEqual(codes, [0, 0], `a server did not exit cleanly:\n${a?.stderr()}\n${b?.stderr()}`);
  });

  test('ListActions describes every action', async () => {
    const actions = await clientA.flight.listActions();
    // The server's own actions first (Flight SQL's may follow).
    assert.deepEqual(actions.map((x) => x.type).slice(0, ACTIONS.length), ACTIONS);
    for (const action of actions) assert.ok(action.description.length > 20, `${action.type} has a description: ${action.description}`);
    assert.match(actions.find((x) => x.type === 'load_parquet')!.description, /"table","path","mode"/);
    assert.match(actions.find((x) => x.type === 'transfer')!.description, /"source".*"query".*"table"/);
  });

  test('query: a statement answers its type and rows changed', async () => {
    assert.deepEqual(await clientA.executeAction('query', 'CREATE TABLE q (n INTEGER, s VARCHAR)'), [
      { statement: 'CREATE', rows_changed: 0 },
    ]);
    assert.deepEqual(await clientA.executeAction('query', "INSERT INTO q VALUES (1, 'a'), (2, NULL), (3, 'c')"), [
      { statement: 'INSERT', rows_changed: 3 },
    ]);
  });

  test('query: a SELECT answers its columns and rows inline', async () => {
    assert.deepEqual(await clientA.executeAction('query', 'SELECT n, s, n * 10000000000 AS big FROM q ORDER BY n'), [
      {
        statement: 'SELECT',
        columns: ['n', 's', 'big'],
        rows: [
          [1, 'a', '10000000000'],
          [2, null, '20000000000'],
          [3, 'c', '30000000000'],
        ],
      },
    ]);
  });

  test('query: several statements run in order and the last one answers', async () => {
    const result = await clientA.executeAction(
      'query',
      'CREATE TABLE q2 AS SELECT 1 AS x; INSERT INTO q2 VALUES (2); SELECT sum(x) AS total FROM q2',
    );
    assert.deepEqual(result, [{ statement: 'SELECT', columns: ['total'], rows: [['3']] }]);
  });

  test('query: bad SQL is INVALID_ARGUMENT, a missing table NOT_FOUND, too many rows INVALID_ARGUMENT', async () => {
    await rejectsWith(
      clientA.executeAction('query', 'CREAT TABLE x (a INT)'),
      'invalid-argument',
      /Parser Error: syntax error at or near "CREAT"/,
    );
    await rejectsWith(clientA.executeAction('query', 'SELECT * FROM nowhere'), 'not-found', /Table with name nowhere does not exist/);
    await rejectsWith(
      clientA.executeAction('query', 'SELECT * FROM range(20000)'),
      'invalid-argument',
      /at most 10000 rows inline; use DoGet/,
    );
    await rejectsWith(clientA.executeAction('query', ''), 'invalid-argument', /empty/);
  });

  test('query: SQL that leaves a transaction open is refused, rolled back, and taints no other call', async () => {
    await rejectsWith(clientA.executeAction('query', 'BEGIN'), 'invalid-argument', /left a transaction open.*rolled back/);
    await rejectsWith(
      clientA.executeAction('query', "BEGIN; INSERT INTO q VALUES (4, 'lost')"),
      'invalid-argument',
      /left a transaction open/,
    );
    assert.deepEqual(
      await clientA.executeAction('query', 'BEGIN; INSERT INTO q2 VALUES (5); ROLLBACK; SELECT count(*)::INTEGER AS n FROM q2'),
      [{ statement: 'SELECT', columns: ['n'], rows: [[2]] }],
    );
    assert.deepEqual(await clientA.executeAction('query', 'SELECT count(*)::INTEGER AS n FROM q'), [
      { statement: 'SELECT', columns: ['n'], rows: [[3]] },
    ]);
    await rejectsWith(clientA.executeAction('query', '-- just a comment'), 'invalid-argument', /holds no statement/);
  });

  test('list_tables: every table with its row count', async () => {
    const [tables] = await clientA.executeAction('list_tables');
    assert.deepEqual(tables, [
      { database: 'memory', schema: 'main', name: 'q', rows: 3 },
      { database: 'memory', schema: 'main', name: 'q2', rows: 2 },
    ]);
    assert.deepEqual(await clientA.listTables(), tables);
  });

  test('drop_table: drops, then NOT_FOUND', async () => {
    assert.deepEqual(await clientA.executeAction('drop_table', 'q2'), [{ dropped: 'q2' }]);
    await rejectsWith(clientA.executeQuery('SELECT * FROM q2'), 'not-found', /q2/);
    await rejectsWith(clientA.dropTable('q2'), 'not-found', /Table with name q2 does not exist/);
  });

  test('drop_table: the body is a name, not SQL', async () => {
    await rejectsWith(clientA.executeAction('drop_table', 'q; DROP TABLE q'), 'not-found', /q; DROP TABLE q/);
    assert.deepEqual(await one(clientA, 'SELECT count(*) AS n FROM q'), { n: 3n });
  });

  test('load_parquet: replace, append and create from a file DuckDB wrote', async () => {
    const path = join(dir.path, 'points.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT range AS id, range * 1.5 AS x, CASE WHEN range % 3 = 0 THEN NULL ELSE 'p' || range END AS label FROM range(1000))
         TO '${path.replaceAll("'", "''")}' (FORMAT parquet)`,
    );
    connection.closeSync();
    instance.closeSync();

    const [loaded] = (await clientA.executeAction('load_parquet', { table: 'points', path })) as [Record<string, unknown>];
    assert.equal(loaded['table'], 'points');
    assert.equal(loaded['rows'], 1000);
    assert.equal(typeof loaded['seconds'], 'number');
    assert.deepEqual(
      await one(clientA, 'SELECT count(*) AS n, sum(id)::BIGINT AS ids, count(label) AS labels, max(x)::DOUBLE AS xmax FROM points'),
      {
        n: 1000n,
        ids: 499_500n,
        labels: 666n,
        xmax: 1498.5,
      },
    );
    const appended = (await clientA.executeAction('load_parquet', { table: 'points', path, mode: 'append' })) as [{ rows: number }];
    assert.equal(appended[0].rows, 1000);
    assert.equal((await fingerprint(clientA, 'points')).rows, 2000n);
    const replaced = (await clientA.executeAction('load_parquet', { table: 'points', path, mode: 'replace' })) as [{ rows: number }];
    assert.equal(replaced[0].rows, 1000);
    assert.equal((await fingerprint(clientA, 'points')).rows, 1000n);
    await rejectsWith(
      clientA.executeAction('load_parquet', { table: 'points', path, mode: 'create' }),
      'already-exists',
      /points.*already exists/,
    );
    await rejectsWith(
      clientA.executeAction('load_parquet', { table: 'nothing', path: join(dir.path, 'missing.parquet') }),
      'internal',
      /missing\.parquet/,
    );
    await rejectsWith(
      clientA.executeAction('load_parquet', { table: 'points', path, mode: 'upsert' }),
      'invalid-argument',
      /"mode" is replace, append or create/,
    );
    await rejectsWith(clientA.executeAction('load_parquet', { path }), 'invalid-argument', /"table" and "path" must be non-empty strings/);
    await rejectsWith(clientA.executeAction('load_parquet', 'not json'), 'invalid-argument', /body must be JSON/);
  });

  test("transfer: server B pulls a query's result from server A, value for value", async () => {
    await clientA.executeAction(
      'query',
      `CREATE TABLE src AS SELECT range AS id, 'name-' || range AS name, range / 7 AS ratio, DATE '2020-01-01' + range::INTEGER AS day
         FROM range(200000)`,
    );
    const source = await fingerprint(clientA, 'src');
    const [result] = (await clientB.executeAction('transfer', { source: a.location, query: 'SELECT * FROM src', table: 'dst' })) as [
      { table: string; rows: number; seconds: number },
    ];
    assert.equal(result.table, 'dst');
    assert.equal(result.rows, 200_000);
    assert.deepEqual(await fingerprint(clientB, 'dst'), source);
    const schemaA = (await clientA.executeQuery('SELECT * FROM src LIMIT 0')).schema.fields.map(String);
    const schemaB = (await clientB.executeQuery('SELECT * FROM dst LIMIT 0')).schema.fields.map(String);
    assert.deepEqual(schemaB, schemaA);
    // B can compare against A itself: pull A's rows into a scratch table and diff both ways.
    await clientB.executeAction('transfer', { source: a.location, query: 'SELECT * FROM src WHERE id % 1000 = 0', table: 'sample' });
    assert.deepEqual(
      await one(clientB, 'SELECT count(*) AS n FROM (SELECT * FROM sample EXCEPT ALL SELECT * FROM dst WHERE id % 1000 = 0)'),
      { n: 0n },
    );
    assert.deepEqual(
      await one(clientB, 'SELECT count(*) AS n FROM (SELECT * FROM dst WHERE id % 1000 = 0 EXCEPT ALL SELECT * FROM sample)'),
      { n: 0n },
    );
  });

  test('transfer modes: append needs the table, create makes it or appends, replace replaces', async () => {
    const body = { source: a.location, query: 'SELECT * FROM src WHERE id < 10', table: 'dst_modes' };
    await rejectsWith(
      clientB.executeAction('transfer', { ...body, mode: 'append' }),
      'invalid-argument',
      /table "dst_modes" does not exist/,
    );
    await clientB.executeAction('transfer', { ...body, mode: 'create' });
    await clientB.executeAction('transfer', { ...body, mode: 'create' });
    assert.equal((await fingerprint(clientB, 'dst_modes')).rows, 20n);
    await clientB.executeAction('transfer', { ...body, mode: 'append' });
    assert.equal((await fingerprint(clientB, 'dst_modes')).rows, 30n);
    await clientB.executeAction('transfer', { ...body, mode: 'replace' });
    assert.equal((await fingerprint(clientB, 'dst_modes')).rows, 10n);
  });

  test('transfer: errors of the source come back named, and nothing is written', async () => {
    await rejectsWith(
      clientB.executeAction('transfer', { source: a.location, query: 'SELECT * FROM not_on_a', table: 'never' }),
      'not-found',
      /transfer from grpc:\/\/127\.0\.0\.1:\d+: .*Table with name not_on_a does not exist/,
    );
    await rejectsWith(clientB.executeQuery('SELECT * FROM never'), 'not-found', /never/);
    await rejectsWith(
      clientB.executeAction('transfer', { source: a.location, table: 'x' }),
      'invalid-argument',
      /"query" must be a non-empty string/,
    );
    await rejectsWith(
      clientB.executeAction('transfer', { source: 'http://nowhere', query: 'SELECT 1', table: 'x' }),
      'invalid-argument',
      /unsupported Flight location/,
    );
  });

  // DuckDB's own message, or, now and then, its report that it interrupted its other threads in
  // place of the failure (servers/bridge/native-export.ts): either way INVALID_ARGUMENT, nothing written.
  const BOOM = /Invalid Input Error: boom at \d+|its own message was lost/;

  test('a source failing midway: neither transfer writes anything, the old table stays', async () => {
    // Fails once DuckDB reaches row 150,000: after the first batches have been sent. DuckDB's own
    // message, 'boom at ...', arrives: the native export reads the result's error itself
    // (@duckdb/node-bindings, under the JavaScript bridge, drops errors raised mid-stream).
    const failing =
      "SELECT CASE WHEN range < 150000 THEN range ELSE error('boom at ' || range) END AS id, 'x' AS name, 0.5 AS ratio, DATE '2020-01-01' AS day FROM range(300000)";
    const before = await fingerprint(clientB, 'dst');
    await rejectsWith(
      clientB.executeAction('transfer', { source: a.location, query: failing, table: 'dst', mode: 'append' }),
      'invalid-argument',
      // DuckDB 1.5 now and then reports the interrupt of its other threads in place of the failure (native-export.ts).
      /transfer from grpc:\/\/127\.0\.0\.1:\d+: (Invalid Input Error: boom at \d+|.*its own message was lost)/,
    );
    assert.deepEqual(await fingerprint(clientB, 'dst'), before);
    await rejectsWith(clientA.transfer(clientB, failing, 'dst', 'client'), 'invalid-argument', BOOM);
    assert.deepEqual(await fingerprint(clientB, 'dst'), before);
    await rejectsWith(clientA.transfer(clientB, failing, 'dst', 'direct'), 'invalid-argument', BOOM);
    assert.deepEqual(await fingerprint(clientB, 'dst'), before);
  });

  test('DuckDBFlightClient.transfer: through the client and direct, same rows', async () => {
    const source = await fingerprint(clientA, 'src');
    const viaClient = await clientA.transfer(clientB, 'SELECT * FROM src', 'via_client', 'client');
    assert.deepEqual(viaClient, { table: 'via_client', rows: 200_000, created: true });
    assert.deepEqual(await fingerprint(clientB, 'via_client'), source);
    const direct = await clientA.transfer(clientB, 'SELECT * FROM src', 'direct', 'direct');
    assert.equal(direct.rows, 200_000);
    assert.deepEqual(await fingerprint(clientB, 'direct'), source);
  });

  test('list_exchangers, register_exchanger, unregister_exchanger', async () => {
    const [before] = (await clientA.executeAction('list_exchangers')) as [{ name: string; kind: string }[]];
    assert.deepEqual(
      before.map((e) => [e.name, e.kind]),
      [
        ['my_streaming_exchanger', 'builtin'],
        ['echo', 'builtin'],
      ],
    );
    assert.deepEqual(
      await clientA.executeAction('register_exchanger', {
        name: 'doubler',
        sql: 'SELECT *, n * 2 AS twice FROM input',
        description: 'doubles n',
      }),
      [{ registered: 'doubler' }],
    );
    const [after] = (await clientA.executeAction('list_exchangers')) as [Record<string, unknown>[]];
    assert.deepEqual(after.at(-1), { name: 'doubler', kind: 'sql', description: 'doubles n', sql: 'SELECT *, n * 2 AS twice FROM input' });
    await rejectsWith(
      clientA.executeAction('register_exchanger', { name: 'echo', sql: 'SELECT * FROM input' }),
      'already-exists',
      /built-in/,
    );
    await rejectsWith(
      clientA.executeAction('register_exchanger', { name: 'no input', sql: 'SELECT * FROM input' }),
      'invalid-argument',
      /identifiers/,
    );
    await rejectsWith(clientA.executeAction('register_exchanger', { name: 'x', sql: 'SELECT 1' }), 'invalid-argument', /never names it/);
    // An exchanger runs on every exchange: only one query, never a statement that changes the database.
    await rejectsWith(
      clientA.executeAction('register_exchanger', { name: 'x', sql: 'CREATE TABLE input_copy AS SELECT * FROM input' }),
      'invalid-argument',
      /one SELECT query over `input` \(Only SELECT statements can be serialized\)/,
    );
    await rejectsWith(
      clientA.executeAction('register_exchanger', { name: 'x', sql: 'SELECT * FROM input; DROP TABLE t' }),
      'invalid-argument',
      /one SELECT query over `input`/,
    );
    await rejectsWith(
      clientA.executeAction('register_exchanger', { name: 'x', sql: 'SELECT * FROM input; SELECT * FROM input' }),
      'invalid-argument',
      /got 2 statements/,
    );
    await rejectsWith(
      clientA.executeAction('register_exchanger', { name: 'x', sql: 'SELEC * FROM input' }),
      'invalid-argument',
      /syntax error at or near "SELEC"/,
    );
    const names = (await clientA.executeAction('list_exchangers', '')) as { name: string }[];
    assert.ok(!names.some((e) => e.name === 'x'), 'no refused exchanger was registered');
    assert.deepEqual(await clientA.executeAction('unregister_exchanger', 'doubler'), [{ unregistered: 'doubler' }]);
    await rejectsWith(clientA.executeAction('unregister_exchanger', 'doubler'), 'not-found', /no exchanger named "doubler"/);
    await rejectsWith(
      clientA.executeAction('unregister_exchanger', 'echo'),
      'invalid-argument',
      /built-in exchanger and cannot be removed/,
    );
  });

  test('health', async () => {
    const [health] = (await clientA.executeAction('health')) as [{ status: string; uptime_seconds: number }];
    assert.equal(health.status, 'ok');
    assert.ok(Number.isInteger(health.uptime_seconds) && health.uptime_seconds >= 0);
  });

  test('version', async () => {
    const [version] = await clientA.executeAction('version');
    const engine = (await clientA.executeQuery('SELECT version() AS v')).getChild('v')!.get(0);
    assert.match(String(engine), /^v1\.5\.\d+$/);
    assert.deepEqual(version, { server: '0.1.0', duckdb: engine, node: process.version });
  });

  test('an unknown action is INVALID_ARGUMENT naming the known ones', async () => {
    await rejectsWith(
      clientA.executeAction('explode'),
      'invalid-argument',
      new RegExp(`unknown action "explode"; ListActions names: ${ACTIONS.join(', ')}`),
    );
  });

  test('rows come back intact after all of that', async () => {
    assert.deepEqual(rows(await clientA.executeQuery('SELECT * FROM q ORDER BY n')), [
      { n: 1, s: 'a' },
      { n: 2, s: null },
      { n: 3, s: 'c' },
    ]);
  });
});
