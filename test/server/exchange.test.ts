// DoExchange against the CLI as a process: Mallard's my_streaming_exchanger, echo, a SQL
// exchanger, errors, answers that stream while input still arrives, and a client that writes
// all of a large input before reading anything (it must get the whole answer: no deadlock).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Float64, RecordBatch, Table, Utf8, makeVector, tableFromArrays, vectorFromArray } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDescriptor } from '../../flight/index.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { collect, rejectsWith, rows } from './helpers.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Rows n = start.., x = n / 4, tag = 't<n % 5>' (NULL when n % 5 = 4). */
function batchOf(start: number, count: number): RecordBatch {
  const n = new BigInt64Array(count);
  const x = new Float64Array(count);
  const tag: (string | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    n[i] = BigInt(start + i);
    x[i] = (start + i) / 4;
    tag[i] = (start + i) % 5 === 4 ? null : `t${(start + i) % 5}`;
  }
  return new Table({ n: makeVector(n), x: makeVector(x), tag: vectorFromArray(tag, new Utf8()) }).batches[0]!;
}

describe('DoExchange', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer();
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, `the server did not exit cleanly:\n${server?.stderr()}`);
  });

  test('my_streaming_exchanger returns every row with processed = true appended', async () => {
    const input = new Table([batchOf(0, 1000), batchOf(1000, 500), batchOf(1500, 7)]);
    const output = await client.exchange('my_streaming_exchanger', input).readAll();
    assert.deepEqual(
      output.schema.fields.map((f) => `${f.name}: ${f.type}${f.nullable ? '' : ' not null'}`),
      ['n: Int64 not null', 'x: Float64 not null', 'tag: Utf8', 'processed: Bool not null'],
    );
    assert.equal(output.numRows, 1507);
    assert.deepEqual(
      output.batches.map((b) => b.numRows),
      [1000, 500, 7],
    );
    const processed = output.getChild('processed')!;
    assert.equal(processed.nullCount, 0);
    assert.ok(
      [...processed].every((v) => v === true),
      'processed is true on every row',
    );
    assert.deepEqual([...output.getChild('n')!], [...input.getChild('n')!]);
    assert.deepEqual([...output.getChild('x')!], [...input.getChild('x')!]);
    assert.deepEqual([...output.getChild('tag')!], [...input.getChild('tag')!]);
  });

  test('my_streaming_exchanger answers each batch before the next one is sent', async () => {
    const exchange = client.flight.doExchange(FlightDescriptor.command('my_streaming_exchanger'));
    const answers = exchange.reader[Symbol.asyncIterator]();
    for (let i = 0; i < 4; i++) {
      await exchange.write(batchOf(i * 100, 100));
      const answer = await answers.next();
      assert.equal(answer.done, false);
      assert.equal(answer.value!.getChild('n')!.get(0), BigInt(i * 100));
      assert.equal(answer.value!.getChild('processed')!.get(99), true);
    }
    exchange.end();
    assert.equal((await answers.next()).done, true);
  });

  test('my_streaming_exchanger refuses input that already has a processed column', async () => {
    const input = tableFromArrays({ processed: Int32Array.of(1) });
    await rejectsWith(
      client.exchange('my_streaming_exchanger', input).readAll(),
      'invalid-argument',
      /already has a column named "processed"/,
    );
  });

  test('echo returns each batch and its app_metadata unchanged, and metadata-only messages too', async () => {
    const exchange = client.flight.doExchange(FlightDescriptor.command('echo'));
    const reading = collect(exchange.reader.chunks());
    await exchange.write(batchOf(0, 10), utf8.encode('first'));
    await exchange.writeMetadata(utf8.encode('just metadata'));
    await exchange.write(batchOf(10, 5));
    exchange.end();
    const chunks = await reading;
    assert.deepEqual(
      chunks.map((c) => [c.batch?.numRows ?? null, c.appMetadata ? text.decode(c.appMetadata) : null]),
      [
        [10, 'first'],
        [null, 'just metadata'],
        [5, null],
      ],
    );
    assert.deepEqual([...chunks[2]!.batch!.getChild('n')!], [10n, 11n, 12n, 13n, 14n]);
    assert.deepEqual([...chunks[0]!.batch!.getChild('tag')!].slice(3, 6), ['t3', null, 't0']);
  });

  test("a registered SQL exchanger transforms each batch (Mallard's SPEED example)", async () => {
    await client.executeAction('register_exchanger', { name: 'speed', sql: 'SELECT *, DISTANCE / AIR_TIME AS SPEED FROM input' });
    const flights = tableFromArrays({
      DISTANCE: Float64Array.of(300, 1200, 0, 500),
      AIR_TIME: Float64Array.of(60, 150, 10, 0),
    });
    const output = await client.exchange('speed', flights).readAll();
    assert.deepEqual(output.schema.names, ['DISTANCE', 'AIR_TIME', 'SPEED']);
    assert.deepEqual([...output.getChild('SPEED')!], [5, 8, 0, Infinity]);
    assert.deepEqual([...output.getChild('DISTANCE')!], [300, 1200, 0, 500]);
  });

  test("a SQL exchanger can aggregate each batch and join the server's tables", async () => {
    await client.executeAction(
      'query',
      "CREATE TABLE tag_names AS SELECT * FROM (VALUES ('t0', 'zero'), ('t1', 'one'), ('t2', 'two')) v(tag, label)",
    );
    await client.executeAction('register_exchanger', {
      name: 'per_tag',
      sql: 'SELECT input.tag, any_value(label) AS label, count(*)::INTEGER AS n FROM input LEFT JOIN tag_names USING (tag) GROUP BY input.tag ORDER BY input.tag NULLS LAST',
    });
    const output = await client.exchange('per_tag', new Table([batchOf(0, 10), batchOf(10, 5)])).readAll();
    assert.deepEqual(rows(output), [
      { tag: 't0', label: 'zero', n: 2 },
      { tag: 't1', label: 'one', n: 2 },
      { tag: 't2', label: 'two', n: 2 },
      { tag: 't3', label: null, n: 2 },
      { tag: null, label: null, n: 2 },
      { tag: 't0', label: 'zero', n: 1 },
      { tag: 't1', label: 'one', n: 1 },
      { tag: 't2', label: 'two', n: 1 },
      { tag: 't3', label: null, n: 1 },
      { tag: null, label: null, n: 1 },
    ]);
  });

  test("a SQL exchanger that fails on a later batch ends the exchange with DuckDB's error", async () => {
    await client.executeAction('register_exchanger', { name: 'narrow', sql: 'SELECT n::UTINYINT AS small FROM input' });
    const reader = client.exchange('narrow', new Table([batchOf(0, 200), batchOf(200, 200)]));
    const seen: number[] = [];
    await rejectsWith(
      (async () => {
        for await (const batch of reader) seen.push(batch.numRows);
      })(),
      'invalid-argument',
      /Conversion Error: .*(out of range|UINT8)/is,
    );
    assert.deepEqual(seen, [200]);
  });

  test('an unknown exchanger is NOT_FOUND naming the known ones', async () => {
    await rejectsWith(
      client.exchange('no_such_exchanger', new Table([batchOf(0, 3)])).readAll(),
      'not-found',
      /no exchanger named "no_such_exchanger"; available: my_streaming_exchanger, echo/,
    );
  });

  test('a client that writes 2,000,000 rows before reading anything gets its whole answer', async () => {
    const exchange = client.flight.doExchange(FlightDescriptor.command('my_streaming_exchanger'), { deadline: 240_000 });
    const rowsPerBatch = 50_000;
    const batches = 40;
    for (let i = 0; i < batches; i++) await exchange.write(batchOf(i * rowsPerBatch, rowsPerBatch));
    exchange.end();
    let count = 0;
    let sum = 0n;
    let allProcessed = true;
    let expectedFirst = 0n;
    for await (const batch of exchange.reader) {
      const n = batch.getChild('n')!;
      assert.equal(n.get(0), expectedFirst, 'batches come back in order');
      expectedFirst += BigInt(batch.numRows);
      for (const v of n) sum += v as bigint;
      for (const p of batch.getChild('processed')!) allProcessed &&= p === true;
      count += batch.numRows;
    }
    assert.equal(count, 2_000_000);
    assert.equal(sum, (1_999_999n * 2_000_000n) / 2n);
    assert.ok(allProcessed, 'processed is true on every row');
  });

  test('a SQL exchanger with a large input written before reading also completes', async () => {
    await client.executeAction('register_exchanger', { name: 'scale', sql: 'SELECT n, x * 4 AS x4 FROM input' });
    const exchange = client.flight.doExchange(FlightDescriptor.command('scale'), { deadline: 240_000 });
    for (let i = 0; i < 10; i++) await exchange.write(batchOf(i * 50_000, 50_000));
    exchange.end();
    const output = await exchange.reader.readAll();
    assert.equal(output.numRows, 500_000);
    const n = output.getChild('n')!;
    const x4 = output.getChild('x4')!;
    for (const row of [0, 1, 77_777, 499_999]) assert.equal(x4.get(row), Number(n.get(row)));
    assert.deepEqual(
      output.schema.fields.map((f) => `${f.name}: ${f.type}`),
      ['n: Int64', 'x4: Float64'],
    );
  });

  test('the server serves after all of that', async () => {
    const output = await client.exchange('echo', new Table({ v: vectorFromArray([1.5, null], new Float64()) })).readAll();
    assert.deepEqual([...output.getChild('v')!], [1.5, null]);
  });
});
