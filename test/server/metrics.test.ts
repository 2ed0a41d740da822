// Prometheus metrics, scraped over HTTP from a real `duck-flight --metrics-port 0` as Prometheus
// would, after real calls: the counters move by what the calls did.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromArrays } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { createServer, type Server } from 'node:net';
import { runCli, spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { rejectsWith } from './helpers.ts';

/** One scrape: each sample by its name and sorted labels, as `name{a="x",b="y"}`. */
type Samples = Map<string, number>;

function parseExposition(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `a sample line of the text format: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    samples.set(labels.length > 0 ? `${match[1]}{${labels.join(',')}}` : match[1]!, Number(match[3]));
  }
  return samples;
}

describe('Prometheus metrics (--metrics-port)', () => {
  let server: ServerProcess;
  let url: string;
  let client: DuckDBFlightClient;

  const scrape = async (): Promise<Samples> => {
    const response = await fetch(url);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await response.text());
  };
  /** How much a sample moved between two scrapes (a sample not yet there counts as 0). */
  const moved = (before: Samples, after: Samples, key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

  before(async () => {
    server = await spawnServer({ args: ['--metrics-port', '0'] });
    const line = /^duck-flight metrics on (http:\/\/127\.0\.0\.1:(\d+)\/metrics)$/m.exec(server.stdout());
    assert.ok(line, `the metrics address is printed before the ready line:\n${server.stdout()}`);
    assert.notEqual(Number(line[2]), server.port);
    url = line[1]!;
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0);
  });

  test('a DoGet, a DoPut and a failing call move the counters by what they did', async () => {
    const start = await scrape();
    const result = await client.executeQuery('SELECT range AS n, range::VARCHAR AS s FROM range(100000)');
    assert.equal(result.numRows, 100_000);
    const upload = tableFromArrays({ a: Int32Array.from({ length: 1234 }, (_, i) => i) });
    assert.equal((await client.uploadData('uploaded', upload)).rows, 1234);
    await rejectsWith(client.executeQuery('SELEC 1'), 'invalid-argument', /syntax error/);
    const end = await scrape();

    assert.equal(moved(start, end, 'duck_flight_calls_total{code="OK",method="DoGet"}'), 1);
    assert.equal(moved(start, end, 'duck_flight_calls_total{code="INVALID_ARGUMENT",method="DoGet"}'), 1);
    assert.equal(moved(start, end, 'duck_flight_calls_total{code="OK",method="DoPut"}'), 1);
    assert.equal(moved(start, end, 'duck_flight_rows_sent_total{method="DoGet"}'), 100_000);
    assert.equal(moved(start, end, 'duck_flight_rows_received_total{method="DoPut"}'), 1234);
    assert.equal(moved(start, end, 'duck_flight_rows_sent_total{method="DoPut"}'), 0);
    // At least the Arrow bodies: 8 bytes a BIGINT, and 1234 INTEGERs.
    assert.ok(moved(start, end, 'duck_flight_bytes_sent_total{method="DoGet"}') > 100_000 * 8);
    assert.ok(moved(start, end, 'duck_flight_bytes_received_total{method="DoPut"}') >= 1234 * 4);
    assert.equal(moved(start, end, 'duck_flight_call_duration_seconds_count{method="DoGet"}'), 2);
    assert.ok(moved(start, end, 'duck_flight_call_duration_seconds_sum{method="DoGet"}') > 0);
    assert.equal(
      end.get('duck_flight_call_duration_seconds_bucket{le="+Inf",method="DoGet"}'),
      end.get('duck_flight_call_duration_seconds_count{method="DoGet"}'),
    );
    assert.equal(end.get('duck_flight_active_streams'), 0);
    // DuckDB's memory, by component, and prom-client's process metrics.
    const memory = [...end].filter(([key]) => key.startsWith('duck_flight_duckdb_memory_bytes{tag='));
    assert.ok(
      memory.some(([key]) => key === 'duck_flight_duckdb_memory_bytes{tag="BASE_TABLE"}'),
      `duckdb_memory() tags: ${memory.map(([k]) => k).join(' ')}`,
    );
    assert.ok(memory.reduce((sum, [, bytes]) => sum + bytes, 0) > 0, 'the uploaded table takes memory');
    assert.ok((end.get('process_cpu_seconds_total') ?? 0) > 0);
    assert.ok((end.get('process_resident_memory_bytes') ?? 0) > 0);
    assert.ok(end.has('nodejs_eventloop_lag_seconds'));
  });

  test('a stream in progress is an active stream; cancelled, it is counted CANCELLED', async () => {
    const start = await scrape();
    const stream = client.streamQuery('SELECT * FROM range(10000000)');
    const iterator = stream[Symbol.asyncIterator]();
    assert.ok(!(await iterator.next()).done);
    assert.equal((await scrape()).get('duck_flight_active_streams'), 1);
    await iterator.return();
    // The server learns of the cancellation a moment later: scrape until it has.
    let end = await scrape();
    for (let tries = 0; end.get('duck_flight_active_streams') !== 0 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      end = await scrape();
    }
    assert.equal(end.get('duck_flight_active_streams'), 0);
    assert.equal(moved(start, end, 'duck_flight_calls_total{code="CANCELLED",method="DoGet"}'), 1);
    assert.equal(moved(start, end, 'duck_flight_calls_total{code="OK",method="DoGet"}'), 0);
    assert.ok(moved(start, end, 'duck_flight_rows_sent_total{method="DoGet"}') > 0, 'the rows sent before the cancellation count');
  });

  test('anything but GET /metrics is 404', async () => {
    const response = await fetch(url.replace('/metrics', '/'));
    assert.equal(response.status, 404);
    assert.match(await response.text(), /GET \/metrics/);
  });

  test('a metrics port in use: a message naming it and a non-zero exit, before the ready line', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { status, stdout, stderr } = runCli([
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--db-path',
        ':memory:',
        '--metrics-port',
        String(port),
      ]);
      assert.notEqual(status, 0);
      assert.equal(stdout, '', 'no ready line');
      assert.match(stderr, new RegExp(`duck-flight: .*address already in use 127\\.0\\.0\\.1:${port} \\(is the port already in use\\?\\)`));
    } finally {
      blocker.close();
    }
  });
});
