// The two bridges as a server runs them: the native addon (the default when it loads) and the
// JavaScript one (--bridge js), the same answers from both, and what only the native path does:
// a query failing mid-stream reaches the client with DuckDB's own message.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { rejectsWith } from './helpers.ts';

const MIXED = `SELECT i, 'v' || i AS s, CASE WHEN i % 7 = 0 THEN NULL ELSE i / 3 END AS d, [i, NULL] AS l, {'a': i} AS st
                 FROM range(70000) t(i) ORDER BY i`;

describe('--bridge native and --bridge js', () => {
  const servers: Record<'native' | 'js', ServerProcess | undefined> = { native: undefined, js: undefined };
  const clients: Record<'native' | 'js', DuckDBFlightClient | undefined> = { native: undefined, js: undefined };

  before(async () => {
    for (const bridge of ['native', 'js'] as const) {
      servers[bridge] = await spawnServer({ logLevel: 'info', args: ['--bridge', bridge] });
      clients[bridge] = await servers[bridge].connect();
    }
  });
  after(async () => {
    for (const bridge of ['native', 'js'] as const) {
      clients[bridge]?.close();
      assert.equal(await servers[bridge]?.stop(), 0, `the ${bridge} server did not exit cleanly:\n${servers[bridge]?.stderr()}`);
    }
  });

  test('each server logs the bridge it uses, and why', () => {
    assert.match(servers.native!.stderr(), /"msg":"bridge: native","bridge":"native","reason":"native addon loaded \(DuckDB v1\.5\.5\)"/);
    assert.match(servers.js!.stderr(), /"msg":"bridge: js","bridge":"js","reason":"requested \(--bridge js\)"/);
  });

  test('both answer a DoGet with the same schema, batches and values', async () => {
    const native = await clients.native!.executeQuery(MIXED);
    const js = await clients.js!.executeQuery(MIXED);
    assert.deepEqual(native.schema.fields.map(String), js.schema.fields.map(String));
    assert.deepEqual(
      native.batches.map((b) => b.numRows),
      js.batches.map((b) => b.numRows),
    );
    assert.deepEqual(native.batches[0]!.numRows, 65_536);
    for (const name of ['i', 's', 'd', 'l', 'st']) {
      assert.deepEqual(JSON.stringify(native.getChild(name)!.toJSON(), big), JSON.stringify(js.getChild(name)!.toJSON(), big), name);
    }
  });

  // 65,536 rows of these take about 4.3 MB: the native export cut its batch after the chunk that
  // crossed 4 MiB, and a client holding to gRPC's 4 MiB default refused the message.
  test("every message fits a client with gRPC's default 4 MiB limit, on both bridges", async () => {
    const sql = `SELECT i, repeat('x', 40) || i AS s, i * 1.5 AS d FROM range(300000) t(i) ORDER BY i`;
    const tables = [];
    for (const bridge of ['native', 'js'] as const) {
      const client = await servers[bridge]!.connect({ flight: { maxReceiveMessageBytes: 4 * 1024 * 1024 } });
      try {
        tables.push(await client.executeQuery(sql));
      } finally {
        client.close();
      }
    }
    const [native, js] = tables as [Awaited<ReturnType<DuckDBFlightClient['executeQuery']>>, (typeof tables)[number]];
    assert.equal(native.numRows, 300_000);
    assert.ok(native.batches[0]!.numRows < 65_536, `the first batch was cut by size (${native.batches[0]!.numRows} rows)`);
    for (const name of ['i', 's', 'd']) {
      assert.deepEqual(JSON.stringify(native.getChild(name)!.toJSON(), big), JSON.stringify(js.getChild(name)!.toJSON(), big), name);
    }
  });

  test('a query that fails mid-stream reaches the client with DuckDB message (native)', async () => {
    const sql = "SELECT CASE WHEN i < 3000000 THEN i ELSE error('boom') END AS v FROM range(4000000) t(i)";
    let rows = 0;
    const error = await rejectsWith(
      (async () => {
        for await (const batch of clients.native!.streamQuery(sql)) rows += batch.numRows;
      })(),
      'invalid-argument',
      // DuckDB 1.5 now and then reports the interrupt of its other threads in place of the failure (native-export.ts).
      /Invalid Input Error: boom|its own message was lost/,
    );
    assert.ok(rows < 4_000_000, `${rows} rows arrived before the error`);
    assert.doesNotMatch(error.message, /without their message/);
    // The connection it ran on was not kept half-used: the server answers the next query.
    const table = await clients.native!.executeQuery('SELECT 42 AS answer');
    assert.equal(table.getChild('answer')!.get(0), 42);
  });

  test('an empty result sends its schema and no batch', async () => {
    const table = await clients.native!.executeQuery('SELECT i::INTEGER AS i FROM range(10) t(i) WHERE i > 100');
    assert.deepEqual(table.schema.fields.map(String), ['i: Int32']);
    assert.equal(table.numRows, 0);
  });
});

function big(_: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `${value}n` : value;
}
