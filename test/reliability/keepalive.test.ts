// Keepalive: streams left idle for many keepalive periods (server and client both pinging every
// 250 ms) still work, and a client that vanishes without closing its socket (its packets stop,
// as when a network drops) is detected by the server's unanswered ping and its call freed.
// The CLI's defaults are the same mechanism at minutes instead of milliseconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeVector, Table } from 'apache-arrow';
import { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDescriptor, parseLocation } from '../../flight/index.ts';
import { CLIENT_KEEPALIVE } from '../../flight/client.ts';
import { SERVER_KEEPALIVE } from '../../flight/server.ts';
import { one, rejectsWith, waitFor } from '../server/helpers.ts';
import { spawnFixtureServer, uploadBatch, type FixtureServer } from './support.ts';

const PERIOD_MS = 250;
const SERVER_OPTIONS = {
  'grpc.keepalive_time_ms': PERIOD_MS,
  'grpc.keepalive_timeout_ms': 1000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 100,
};
const CLIENT_OPTIONS = {
  'grpc.keepalive_time_ms': PERIOD_MS,
  'grpc.keepalive_timeout_ms': 1000,
  'grpc.keepalive_permit_without_calls': 1,
};
const IDLE_MS = 3000; // twelve periods

/** Pings the server sent that the client answered, from grpc-js's keepalive trace. */
const answeredPings = (server: FixtureServer) => (server.stderr().match(/Received ping response/g) ?? []).length;

const numbers = (from: number, n: number) => new Table({ n: makeVector(Int32Array.from({ length: n }, (_, i) => from + i)) });

/** A TCP relay that can be frozen: both directions stop, the sockets stay open (a dropped network, not a closed socket). */
async function freezableRelay(target: string): Promise<{ port: number; freeze(): void; close(): void }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const pairs: [Socket, Socket][] = [];
  const relay: Server = createServer((downstream) => {
    const upstream = connect(port, host);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    downstream.on('error', () => upstream.destroy());
    upstream.on('error', () => downstream.destroy());
    pairs.push([downstream, upstream]);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    port: (relay.address() as { port: number }).port,
    freeze() {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    close() {
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
      relay.close();
    },
  };
}

describe('keepalive', () => {
  let server: FixtureServer;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnFixtureServer({ grpcOptions: SERVER_OPTIONS }, { GRPC_TRACE: 'keepalive,server', GRPC_VERBOSITY: 'DEBUG' });
    client = await DuckDBFlightClient.connect({ location: server.location, flight: { grpcOptions: CLIENT_OPTIONS } });
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, server?.stderr());
  });

  test('the defaults agree: the client pings no more often than the server accepts, and both ping', () => {
    assert.ok(CLIENT_KEEPALIVE['grpc.keepalive_time_ms']! >= SERVER_KEEPALIVE['grpc.http2.min_ping_interval_without_data_ms']!);
    assert.ok(SERVER_KEEPALIVE['grpc.keepalive_time_ms']! > 0 && SERVER_KEEPALIVE['grpc.keepalive_timeout_ms']! > 0);
    assert.ok(CLIENT_KEEPALIVE['grpc.keepalive_time_ms']! > 0);
  });

  test('a DoExchange idle for twelve keepalive periods carries on', async () => {
    const exchange = client.flight.doExchange(FlightDescriptor.command('echo'));
    const answers = exchange.reader[Symbol.asyncIterator]();
    const first = numbers(0, 1000);
    await exchange.writeSchema(first.schema);
    await exchange.write(first.batches[0]!);
    const echoed = await answers.next();
    assert.equal(echoed.done, false);
    assert.deepEqual([...echoed.value!.getChild('n')!], [...first.getChild('n')!]);

    const pingsBefore = answeredPings(server);
    await sleep(IDLE_MS);
    const pings = answeredPings(server) - pingsBefore;
    assert.ok(pings >= 5, `the server pinged and the client answered while the stream was idle (${pings} pings)`);

    const second = numbers(1000, 500);
    await exchange.write(second.batches[0]!);
    const again = await answers.next();
    assert.equal(again.done, false);
    assert.deepEqual([...again.value!.getChild('n')!], [...second.getChild('n')!]);
    exchange.end();
    assert.equal((await answers.next()).done, true);
  });

  test('a DoPut that pauses for twelve periods between batches is stored whole', async () => {
    const result = await client.uploadData(
      'paused_put',
      (async function* () {
        yield uploadBatch(0, 1000);
        await sleep(IDLE_MS);
        yield uploadBatch(1000, 1000);
      })(),
    );
    assert.deepEqual(result, { table: 'paused_put', rows: 2000, created: true });
    assert.deepEqual(await one(client, 'SELECT count(DISTINCT id) AS n, max(id) AS top FROM paused_put'), { n: 2000n, top: 1999n });
  });

  test('a DoGet whose reader stops for twelve periods (the server held back by flow control) resumes and completes', async () => {
    const reader = client.streamQuery('SELECT i FROM range(3000000) t(i)');
    const batches = reader[Symbol.asyncIterator]();
    let rows = 0;
    let sum = 0n;
    const take = (batch: Table['batches'][number]) => {
      assert.equal(batch.getChild('i')!.get(0), BigInt(rows));
      for (const v of batch.getChild('i')!.data[0]!.values as BigInt64Array) sum += v;
      rows += batch.numRows;
    };
    take((await batches.next()).value!);
    await sleep(IDLE_MS);
    for (let next = await batches.next(); !next.done; next = await batches.next()) take(next.value);
    assert.equal(rows, 3_000_000);
    assert.equal(sum, (3_000_000n * 2_999_999n) / 2n);
  });

  test('a client that vanishes without closing its socket is dropped by the unanswered ping, and its query stopped', async () => {
    const relay = await freezableRelay(parseLocation(server.location).address);
    const remote = await DuckDBFlightClient.connect({ location: `grpc://127.0.0.1:${relay.port}` });
    try {
      const reader = remote.streamQuery('SELECT * FROM range(1000000000)');
      const batches = reader[Symbol.asyncIterator]();
      assert.equal((await batches.next()).done, false);
      const timeoutsBefore = (server.stderr().match(/Ping timeout passed without response/g) ?? []).length;
      const cancelledBefore = (server.stderr().match(/"msg":"call failed","method":"DoGet"[^\n]*"code":1\b/g) ?? []).length;
      const frozenAt = performance.now();
      relay.freeze();
      await waitFor(
        () => (server.stderr().match(/"msg":"call failed","method":"DoGet"[^\n]*"code":1\b/g) ?? []).length > cancelledBefore,
        "the server to end the vanished client's DoGet",
        15_000,
      );
      const detectedMs = performance.now() - frozenAt;
      assert.ok(
        (server.stderr().match(/Ping timeout passed without response/g) ?? []).length > timeoutsBefore,
        'the keepalive ping timed out',
      );
      console.log(
        `# a vanished client was dropped ${Math.round(detectedMs)} ms after its packets stopped (ping every ${PERIOD_MS} ms, 1000 ms timeout)`,
      );
      assert.ok(detectedMs < 10_000);
      relay.close();
      // The client learns of it as its own connection breaks.
      await rejectsWith(
        (async () => {
          for (;;) if ((await batches.next()).done) break;
        })(),
        'unavailable',
        /./,
      );
    } finally {
      remote.close();
      relay.close();
    }
    assert.deepEqual(await one(client, 'SELECT 1 AS still_serving'), { still_serving: 1 });
  });
});
