// DuckDBFlightClient's own behaviour against the CLI as a process: connect retries until the
// server is up (the seed's max_attempts), gives up naming the location, and the helpers
// (listTables, dropTable, uploadData from a stream, executeAction's parsing) do what they say.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Table, makeVector, tableFromArrays, type RecordBatch } from 'apache-arrow';
import { DuckDBFlightClient } from '../../client/index.ts';
import { freePort, spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { fingerprint, one, rejectsWith, rows } from './helpers.ts';

describe('DuckDBFlightClient.connect', () => {
  test('retries until a server starts on the port', async () => {
    const port = await freePort();
    // Started first: the server comes up while the client is retrying.
    const connecting = DuckDBFlightClient.connect({ host: '127.0.0.1', port, maxAttempts: 7, retryDelayMs: 250 });
    const server = await spawnServer({ port }).catch((error: unknown) => {
      void connecting.then(
        (c) => c.close(),
        () => undefined,
      );
      throw error;
    });
    try {
      assert.equal(server.port, port);
      const client = await connecting;
      assert.equal(client.location, `grpc://127.0.0.1:${port}`);
      assert.deepEqual(await one(client, 'SELECT 1 AS up'), { up: 1 });
      client.close();
    } finally {
      await server.stop();
    }
  });

  test('gives up after maxAttempts with UNAVAILABLE naming the location', async () => {
    const port = await freePort();
    await rejectsWith(
      DuckDBFlightClient.connect({ host: '127.0.0.1', port, maxAttempts: 2, retryDelayMs: 50 }),
      'unavailable',
      new RegExp(`could not reach grpc://127\\.0\\.0\\.1:${port} after 2 attempt\\(s\\)`),
    );
  });
});

describe('DuckDBFlightClient helpers', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer();
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0);
  });

  test('uploadData takes an async iterable of batches and appends them all', async () => {
    async function* batches(): AsyncGenerator<RecordBatch> {
      for (let i = 0; i < 4; i++) yield new Table({ n: makeVector(Int32Array.from({ length: 1000 }, (_, k) => i * 1000 + k)) }).batches[0]!;
    }
    assert.deepEqual(await client.uploadData('streamed', batches()), { table: 'streamed', rows: 4000, created: true });
    assert.deepEqual(await one(client, 'SELECT count(DISTINCT n) AS d, min(n) AS lo, max(n) AS hi FROM streamed'), {
      d: 4000n,
      lo: 0,
      hi: 3999,
    });
  });

  test('uploadData takes a streamQuery reader (a copy within one server, batch by batch)', async () => {
    const result = await client.uploadData('streamed_copy', client.streamQuery('SELECT * FROM streamed'));
    assert.deepEqual(result, { table: 'streamed_copy', rows: 4000, created: true });
    assert.deepEqual(await fingerprint(client, 'streamed_copy'), await fingerprint(client, 'streamed'));
  });

  test('uploadData of a query with no rows still creates the table from its schema', async () => {
    const result = await client.uploadData('no_rows', client.streamQuery('SELECT n, n::VARCHAR AS s FROM streamed WHERE n < 0'));
    assert.deepEqual(result, { table: 'no_rows', rows: 0, created: true });
    const table = await client.executeQuery('SELECT * FROM no_rows');
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}: ${f.type}`),
      ['n: Int32', 's: Utf8'],
    );
  });

  test('listTables and dropTable', async () => {
    assert.deepEqual(
      (await client.listTables()).map((t) => [t.name, t.rows]),
      [
        ['no_rows', 0],
        ['streamed', 4000],
        ['streamed_copy', 4000],
      ],
    );
    await client.dropTable('no_rows');
    assert.deepEqual(
      (await client.listTables()).map((t) => t.name),
      ['streamed', 'streamed_copy'],
    );
  });

  test('executeAction sends an object as JSON and parses the JSON answers', async () => {
    const [loaded] = await client.executeAction('register_exchanger', { name: 'evens', sql: 'SELECT * FROM input WHERE n % 2 = 0' });
    assert.deepEqual(loaded, { registered: 'evens' });
    const evens = await client.exchange('evens', tableFromArrays({ n: Int32Array.of(1, 2, 3, 4) })).readAll();
    assert.deepEqual(rows(evens), [{ n: 2 }, { n: 4 }]);
  });
});
