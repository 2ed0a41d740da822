// streamQuery as a stream: batches before the result exists, schema up front, batch sizes,
// stopping (close, break, abort), errors, and one stream per connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Int32, Int64, Utf8, util } from 'apache-arrow';
import { appendBatches, streamQuery } from '../../servers/bridge/index.ts';
import { columnValues, memoryDatabase, queryBatches } from './helpers.ts';

let instance: DuckDBInstance;
let connection: DuckDBConnection;

before(async () => {
  ({ instance, connection } = await memoryDatabase());
});

after(() => {
  connection.closeSync();
  instance.closeSync();
});

async function answer(on: DuckDBConnection = connection): Promise<unknown[]> {
  const { batches } = await queryBatches(on, 'SELECT 42 AS answer');
  return columnValues(batches, 'answer');
}

describe('streamQuery streaming', () => {
  // range(10_000_000_000) is 80 GB of BIGINTs: the first batch can only arrive if the result is
  // streamed, and close() has to stop the query for the test to end.
  test('the first batch of a huge result arrives, then close() stops the query', { timeout: 120_000 }, async () => {
    const stream = await streamQuery(connection, 'SELECT range AS n FROM range(10000000000)', { batchRows: 65536 });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    assert.equal(first.value!.numRows, 65536);
    assert.deepEqual(columnValues([first.value!], 'n').slice(0, 3), [0n, 1n, 2n]);
    const second = await iterator.next();
    assert.equal((columnValues([second.value!], 'n') as bigint[])[0], 65536n);
    await stream.close();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    // The connection is free and clean again.
    assert.deepEqual(await answer(), [42]);
  });

  test('breaking out of for-await stops the query too', { timeout: 120_000 }, async () => {
    const stream = await streamQuery(connection, 'SELECT range AS n FROM range(10000000000)');
    let batches = 0;
    for await (const batch of stream) {
      assert.ok(batch.numRows > 0);
      if (++batches === 3) break;
    }
    assert.equal(batches, 3);
    await stream.close(); // idempotent after the iterator finished
    assert.deepEqual(await answer(), [42]);
  });

  test('close() before iterating stops the query and frees the connection', { timeout: 120_000 }, async () => {
    const stream = await streamQuery(connection, 'SELECT range AS n FROM range(10000000000)');
    await stream.close();
    assert.throws(() => stream[Symbol.asyncIterator](), /only once/);
    assert.deepEqual(await answer(), [42]);
    // Also when an iterator was taken but never advanced.
    const again = await streamQuery(connection, 'SELECT range AS n FROM range(10000000000)');
    const iterator = again[Symbol.asyncIterator]();
    await again.close();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
    assert.deepEqual(await answer(), [42]);
  });

  test('aborting the signal mid-stream stops the query; iteration throws the reason', { timeout: 120_000 }, async () => {
    const controller = new AbortController();
    const stream = await streamQuery(connection, 'SELECT range AS n FROM range(10000000000)', { signal: controller.signal });
    let seen = 0;
    await assert.rejects(
      (async () => {
        for await (const batch of stream) {
          seen += batch.numRows;
          controller.abort(new Error('client went away'));
        }
      })(),
      /client went away/,
    );
    assert.equal(seen, 65536);
    assert.deepEqual(await answer(), [42]);
  });

  test('an already aborted signal refuses to start', async () => {
    const controller = new AbortController();
    controller.abort(new Error('too late'));
    await assert.rejects(streamQuery(connection, 'SELECT 1', { signal: controller.signal }), /too late/);
    assert.deepEqual(await answer(), [42]);
  });

  test('a zero-row result still has its schema', async () => {
    const { schema, batches } = await queryBatches(connection, "SELECT 1::INTEGER AS a, 'x' AS b, 2::BIGINT AS c WHERE false");
    assert.deepEqual(
      schema.fields.map((f) => f.name),
      ['a', 'b', 'c'],
    );
    assert.ok(util.compareTypes(schema.fields[0].type, new Int32()));
    assert.ok(util.compareTypes(schema.fields[1].type, new Utf8()));
    assert.ok(util.compareTypes(schema.fields[2].type, new Int64()));
    assert.equal(batches.length, 0);
  });

  test('batchRows is respected, splitting and gathering DuckDB chunks', async () => {
    const sizes = async (rows: number, batchRows: number) =>
      (await queryBatches(connection, `SELECT range AS n FROM range(${rows})`, { batchRows })).batches.map((b) => b.numRows);
    assert.deepEqual(await sizes(10000, 1000), Array(10).fill(1000));
    assert.deepEqual(await sizes(10000, 3000), [3000, 3000, 3000, 1000]);
    assert.deepEqual(await sizes(150000, 100000), [100000, 50000]);
    assert.deepEqual(await sizes(5, 2), [2, 2, 1]);
    const { batches } = await queryBatches(connection, 'SELECT range AS n FROM range(10000)', { batchRows: 3000 });
    assert.deepEqual(
      columnValues(batches, 'n'),
      Array.from({ length: 10000 }, (_, i) => BigInt(i)),
    );
    await assert.rejects(streamQuery(connection, 'SELECT 1', { batchRows: 0 }), /batchRows/);
  });

  test('a batch is cut early once it holds maxBatchBytes', async () => {
    const { batches } = await queryBatches(connection, "SELECT repeat('x', 1000) AS s FROM range(10000)", {
      batchRows: 65536,
      maxBatchBytes: 1_000_000,
    });
    // Checked after each DuckDB chunk: 2048 rows of 1000 bytes go over 1 MB.
    assert.deepEqual(
      batches.map((b) => b.numRows),
      [2048, 2048, 2048, 2048, 1808],
    );
  });

  test('errors carry DuckDB message, at the start or mid-stream', async () => {
    await assert.rejects(streamQuery(connection, 'SELECT * FROM no_such_table'), /Table with name no_such_table does not exist/);
    await assert.rejects(streamQuery(connection, 'SELEKT 1'), /syntax error/);
    await assert.rejects(queryBatches(connection, "SELECT error('early boom') AS n FROM range(10)"), /early boom/);
    // An error after rows have gone out ends the stream with an error, never as a shorter result.
    // (@duckdb/node-bindings 1.5 drops DuckDB's message for errors raised while streaming.)
    await assert.rejects(
      queryBatches(connection, "SELECT CASE WHEN range > 300000 THEN error('late boom') ELSE range END AS n FROM range(400000)"),
      /query failed after \d+ rows were streamed/,
    );
    assert.deepEqual(await answer(), [42]);
  });

  test('several statements: all run, the last one streams', async () => {
    const { batches } = await queryBatches(
      connection,
      'CREATE TEMP TABLE multi AS SELECT 1 AS x; INSERT INTO multi VALUES (2); SELECT x FROM multi ORDER BY x',
    );
    assert.deepEqual(columnValues(batches, 'x'), [1, 2]);
  });

  test('one stream per connection: a second user is refused, not silently truncating the first', async () => {
    const stream = await streamQuery(connection, 'SELECT range AS n FROM range(100000)');
    await assert.rejects(streamQuery(connection, 'SELECT 1'), /busy with streamQuery/);
    await assert.rejects(appendBatches(connection, 'x', stream.schema, (async function* () {})()), /busy with streamQuery/);
    let rows = 0;
    for await (const batch of stream) rows += batch.numRows;
    assert.equal(rows, 100000);
    // Another connection of the same instance streams at the same time without trouble.
    const other = await instance.connect();
    try {
      const [a, b] = await Promise.all([
        queryBatches(connection, 'SELECT count(*) AS c FROM range(1000)'),
        queryBatches(other, 'SELECT count(*) AS c FROM range(2000)'),
      ]);
      assert.deepEqual([columnValues(a.batches, 'c'), columnValues(b.batches, 'c')], [[1000n], [2000n]]);
    } finally {
      other.closeSync();
    }
  });
});
