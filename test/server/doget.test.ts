// DoGet against the duck-flight CLI as a real process: SQL tickets, the status table of
// statements that return no rows, DuckDB's errors with the right codes, malformed tickets,
// and a huge result that streams (first batch early, bounded memory, cancellable).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromArrays } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDescriptor } from '../../flight/index.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { one, rejectsWith, residentBytes, rows, waitFor } from './helpers.ts';

describe('DoGet with SQL tickets', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer({ logLevel: 'info' });
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, `the server did not exit cleanly:\n${server?.stderr()}`);
  });

  test('a SELECT ticket returns its rows and types', async () => {
    const table = await client.executeQuery(
      `SELECT i::INTEGER AS i, i * 2.5 AS d, 'v' || i AS s, i % 2 = 0 AS even, CASE WHEN i = 3 THEN NULL ELSE i END AS maybe
         FROM range(5) t(i) ORDER BY i`,
    );
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}: ${f.type}`),
      ['i: Int32', 'd: Decimal[21e+1]', 's: Utf8', 'even: Bool', 'maybe: Int64'],
    );
    assert.equal(table.numRows, 5);
    assert.deepEqual(table.getChild('i')!.toArray(), Int32Array.of(0, 1, 2, 3, 4));
    assert.deepEqual([...table.getChild('s')!], ['v0', 'v1', 'v2', 'v3', 'v4']);
    assert.deepEqual([...table.getChild('even')!], [true, false, true, false, true]);
    assert.deepEqual([...table.getChild('maybe')!], [0n, 1n, 2n, null, 4n]);
    // 2.5 * i as DECIMAL(21,1): the unscaled values are 0, 25, 50, 75, 100.
    const d = table.getChild('d')!;
    assert.deepEqual(
      Array.from({ length: 5 }, (_, k) => (d.get(k) as Uint32Array)[0]),
      [0, 25, 50, 75, 100],
    );
  });

  test('a ticket of several statements answers what the last one gives: a status table, or its rows', async () => {
    const inserted = await client.executeQuery('CREATE TABLE several (x INTEGER); INSERT INTO several VALUES (1), (2), (3)');
    assert.deepEqual(rows(inserted), [{ status: 'OK', statement: 'INSERT', rows_changed: 3n }]);
    const selected = await client.executeQuery('UPDATE several SET x = x * 10 WHERE x > 1; SELECT x FROM several ORDER BY x');
    assert.deepEqual(rows(selected), [{ x: 1 }, { x: 20 }, { x: 30 }]);
    const dropped = await client.executeQuery('SELECT 1; DROP TABLE several');
    assert.deepEqual(rows(dropped), [{ status: 'OK', statement: 'DROP', rows_changed: 0n }]);
  });

  test('CREATE and INSERT tickets answer the one-row status table', async () => {
    const created = await client.executeQuery('CREATE TABLE doget_t (a INTEGER, b VARCHAR)');
    assert.deepEqual(created.schema.names, ['status', 'statement', 'rows_changed']);
    assert.deepEqual(rows(created), [{ status: 'OK', statement: 'CREATE', rows_changed: 0n }]);
    const inserted = await client.executeQuery("INSERT INTO doget_t VALUES (1, 'one'), (2, 'two'), (3, NULL)");
    assert.deepEqual(rows(inserted), [{ status: 'OK', statement: 'INSERT', rows_changed: 3n }]);
    const updated = await client.executeQuery("UPDATE doget_t SET b = 'x' WHERE a >= 2");
    assert.deepEqual(rows(updated), [{ status: 'OK', statement: 'UPDATE', rows_changed: 2n }]);
    const deleted = await client.executeQuery('DELETE FROM doget_t WHERE a = 1');
    assert.deepEqual(rows(deleted), [{ status: 'OK', statement: 'DELETE', rows_changed: 1n }]);
    assert.deepEqual(rows(await client.executeQuery('SELECT * FROM doget_t ORDER BY a')), [
      { a: 2, b: 'x' },
      { a: 3, b: 'x' },
    ]);
  });

  test("bad SQL is INVALID_ARGUMENT with DuckDB's parser message", async () => {
    await rejectsWith(client.executeQuery('SELEC 1'), 'invalid-argument', /Parser Error: syntax error at or near "SELEC"/);
  });

  test('a conversion DuckDB refuses is INVALID_ARGUMENT with its message', async () => {
    await rejectsWith(
      client.executeQuery("SELECT 'abc'::INTEGER"),
      'invalid-argument',
      /Conversion Error: Could not convert string 'abc' to INT32/,
    );
  });

  test("a missing table is NOT_FOUND with DuckDB's catalog message", async () => {
    await rejectsWith(
      client.executeQuery('SELECT * FROM no_such_table'),
      'not-found',
      /Catalog Error: Table with name no_such_table does not exist/,
    );
  });

  test('a ticket that is not UTF-8 is INVALID_ARGUMENT', async () => {
    await rejectsWith(
      client.flight.doGet(Uint8Array.of(0x53, 0x45, 0xff, 0xfe)).readAll(),
      'invalid-argument',
      /ticket is not valid UTF-8/,
    );
  });

  test('an empty ticket is INVALID_ARGUMENT', async () => {
    await rejectsWith(client.flight.doGet(new Uint8Array(0)).readAll(), 'invalid-argument', /ticket is empty/);
  });

  test('a ticket of several statements runs them all and returns the last result', async () => {
    const table = await client.executeQuery('CREATE TABLE doget_multi AS SELECT 7 AS x; SELECT x + 1 AS y FROM doget_multi');
    assert.deepEqual(rows(table), [{ y: 8 }]);
  });

  test('a ticket with no statement (a comment, a semicolon, blanks) is INVALID_ARGUMENT', async () => {
    for (const ticket of ['-- nothing here', ';', '   ', '/* only a comment */']) {
      await rejectsWith(client.executeQuery(ticket), 'invalid-argument', /holds no statement/);
    }
  });

  test('a ticket that leaves a transaction open is refused and rolled back, and taints no other call', async () => {
    await rejectsWith(client.executeQuery('BEGIN TRANSACTION'), 'invalid-argument', /left a transaction open.*rolled back/);
    // The next calls (which may get the same pooled connection) run in their own transactions.
    const created = rows(await client.executeQuery('CREATE TABLE after_begin AS SELECT 1 AS x'))[0]!;
    assert.deepEqual([created['status'], created['statement']], ['OK', 'CREATE']);
    assert.equal((await client.uploadData('after_begin_upload', tableFromArrays({ v: Int32Array.of(1, 2) }))).rows, 2);
    await rejectsWith(client.executeQuery("BEGIN; INSERT INTO doget_t VALUES (9, 'lost')"), 'invalid-argument', /left a transaction open/);
    await rejectsWith(
      client.executeQuery("BEGIN; INSERT INTO doget_t VALUES (10, 'lost'); SELECT * FROM doget_t"),
      'invalid-argument',
      /left a transaction open/,
    );
    assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM doget_t WHERE a >= 9'), { n: 0n });
    assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM after_begin'), { n: 1n });
    assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM after_begin_upload'), { n: 2n });
  });

  test('a failure inside BEGIN ... COMMIT rolls it all back and taints no other call', async () => {
    await rejectsWith(
      client.executeQuery("BEGIN; INSERT INTO doget_t VALUES (11, 'lost'); SELECT * FROM no_such_table; COMMIT"),
      'not-found',
      /no_such_table/,
    );
    assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM doget_t WHERE a = 11'), { n: 0n });
    assert.equal((await client.uploadData('after_failed_txn', tableFromArrays({ v: Int32Array.of(3) }))).rows, 1);
  });

  test('a balanced BEGIN ... COMMIT in one ticket commits', async () => {
    const result = await client.executeQuery(
      "BEGIN; INSERT INTO doget_t VALUES (12, 'kept'); INSERT INTO doget_t VALUES (13, 'kept'); COMMIT",
    );
    // COMMIT, the last statement, decides the answer: a status table like any statement without rows.
    assert.deepEqual(rows(result), [{ status: 'OK', statement: 'TRANSACTION', rows_changed: 0n }]);
    assert.deepEqual(await one(client, "SELECT count(*) AS n FROM doget_t WHERE b = 'kept'"), { n: 2n });
  });

  test('a ticket that changes session state (SET, USE, PRAGMA) does not change it for later calls', async () => {
    const zone = (await one(client, "SELECT current_setting('TimeZone') AS tz"))['tz'];
    assert.notEqual(zone, 'Asia/Tokyo');
    await client.executeQuery("SET TimeZone = 'Asia/Tokyo'");
    await client.executeAction('query', "SET TimeZone = 'America/Lima'");
    await client.executeQuery('CREATE SCHEMA elsewhere; USE elsewhere');
    await client.executeQuery("SET search_path = 'elsewhere'");
    // GetSchema of a PRAGMA only prepares it: nothing changes.
    await client.flight.getSchema(FlightDescriptor.command('PRAGMA enable_profiling'));
    // The pool hands out the connection released last first; several calls make sure none is tainted.
    for (let i = 0; i < 4; i++) {
      assert.deepEqual(
        await one(
          client,
          "SELECT current_setting('TimeZone') AS tz, current_schema() AS s, current_setting('enable_profiling') AS profiling",
        ),
        { tz: zone, s: 'main', profiling: null },
      );
    }
    await client.uploadData('where_am_i', tableFromArrays({ v: Int32Array.of(1) }));
    assert.deepEqual(await one(client, "SELECT schema_name AS s FROM duckdb_tables() WHERE table_name = 'where_am_i'"), { s: 'main' });
    const tz = (await client.executeQuery("SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00' AS t")).schema.fields[0]!.type;
    assert.equal(String(tz), `Timestamp<MICROSECOND, ${zone}>`);
  });

  test('the server still answers after all those errors', async () => {
    assert.deepEqual(await one(client, 'SELECT 42 AS answer'), { answer: 42 });
  });
});

describe('DoGet streams a huge result', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer({ logLevel: 'info' });
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, `the server did not exit cleanly:\n${server?.stderr()}`);
  });

  /** Waits until the server has logged `count` DoGet calls ended as CANCELLED (logged after the query is closed). */
  async function cancelledCalls(count: number): Promise<void> {
    await waitFor(
      () => (server.stderr().match(/"msg":"call failed","method":"DoGet"[^\n]*"code":1\b/g) ?? []).length >= count,
      `the server to log ${count} cancelled DoGet call(s)`,
    );
  }

  test('SELECT * FROM range(100000000): the first batch arrives, memory stays bounded, an AbortSignal stops it', async () => {
    const rssBefore = residentBytes(server.child.pid!);
    const abort = new AbortController();
    const reader = client.streamQuery('SELECT * FROM range(100000000)', { signal: abort.signal, deadline: 120_000 });
    const iterator = reader[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.equal(first.value!.numRows, 65_536, 'the first batch holds --batch-rows rows');
    assert.equal(first.value!.getChild('range')!.get(0), 0n);
    // The whole result is 800 MB of int64. Not reading for a while must hold the server back
    // (backpressure), not make it buffer the result.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const rssPaused = residentBytes(server.child.pid!);
    assert.ok(
      rssPaused - rssBefore < 300 * 1024 * 1024,
      `the server grew by ${Math.round((rssPaused - rssBefore) / 2 ** 20)} MiB while the client was not reading`,
    );
    // A few more batches, in order.
    let expected = 65_536n;
    for (let i = 0; i < 5; i++) {
      const next = await iterator.next();
      assert.equal(next.done, false);
      assert.equal(next.value!.getChild('range')!.get(0), expected);
      expected += BigInt(next.value!.numRows);
    }
    abort.abort(new Error('enough'));
    await rejectsWith(
      (async () => {
        for (;;) if ((await iterator.next()).done) break;
      })(),
      'cancelled',
      /cancelled/,
    );
    await cancelledCalls(1);
    assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM range(1000)'), { n: 1000n });
  });

  test('breaking out of for-await over streamQuery cancels the query', async () => {
    let seen = 0;
    for await (const batch of client.streamQuery('SELECT * FROM range(100000000)', { deadline: 120_000 })) {
      assert.equal(batch.getChild('range')!.get(0), BigInt(seen * 65_536));
      if (++seen === 3) break;
    }
    assert.equal(seen, 3);
    await cancelledCalls(2);
    assert.deepEqual(await one(client, 'SELECT 2 AS ok'), { ok: 2 });
  });

  test('a deadline on a huge query ends it with DEADLINE_EXCEEDED and the server keeps serving', async () => {
    const reader = client.streamQuery('SELECT * FROM range(100000000)', { deadline: 1000 });
    let batches = 0;
    await rejectsWith(
      (async () => {
        for await (const _ of reader) {
          batches++;
          await new Promise((resolve) => setTimeout(resolve, 50)); // a slow reader
        }
      })(),
      'deadline-exceeded',
      /Deadline exceeded/i,
    );
    assert.ok(batches >= 1, 'some batches arrived before the deadline');
    assert.deepEqual(await one(client, 'SELECT 1 AS ok'), { ok: 1 });
  });
});
