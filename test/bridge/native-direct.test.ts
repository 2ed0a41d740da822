// The native export's direct conversion (native/src/chunk_arrow.cc: DuckDB's vectors taken as
// they are) against DuckDB's own Arrow converter, on every type it handles, with nulls, text
// inline and on the heap, and batches cut at rows that are not multiples of 8 or of a chunk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { EncodedBatch } from '../../flight/index.ts';
import { streamQueryNative, type NativeStreamOptions } from '../../servers/bridge/native-export.ts';
import { connectShared, openSharedDatabase } from '../../servers/bridge/shared-connection.ts';
import { decodeEncoded } from '../support/native-ipc.ts';
import { columnValues } from './helpers.ts';

const HANDLED = `
  SELECT
    i,
    CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
    (i % 100 - 50)::TINYINT AS ti, (i % 30000)::SMALLINT AS si, CASE WHEN i % 5 = 0 THEN NULL ELSE i::INTEGER END AS n,
    (i * 1000003)::BIGINT AS bi, (i % 250)::UTINYINT AS uti, (i % 60000)::USMALLINT AS usi,
    (i * 7)::UINTEGER AS ui, (i * 1000000007)::UBIGINT AS ubi,
    (i / 3)::FLOAT AS f, CASE WHEN i % 11 = 0 THEN NULL ELSE i / 7 END AS d,
    DATE '1970-01-01' + (i % 40000)::INTEGER AS day, TIME '00:00:00' + INTERVAL (i) SECOND AS t,
    TIMESTAMP '2001-02-03 04:05:06' + INTERVAL (i) MINUTE AS ts,
    TIMESTAMPTZ '2001-02-03 04:05:06+00' + INTERVAL (i) HOUR AS tz,
    CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'short ' || i ELSE 'a string longer than twelve bytes ' || i END AS s,
    CASE WHEN i % 13 = 0 THEN '' ELSE repeat('é', i % 9) END AS u,
    CASE WHEN i % 4 = 0 THEN NULL ELSE ('\\x00\\xFF' || i::VARCHAR)::BLOB END AS blob
  FROM range(10000) r(i)`;

describe('native export: direct conversion against DuckDB converter', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  before(async () => {
    const shared = await openSharedDatabase(':memory:');
    instance = shared.instance;
    connection = await connectShared(shared.database);
    await connection.run(`CREATE TABLE handled AS ${HANDLED}`);
  });
  after(() => {
    connection.closeSync();
    instance.closeSync();
  });

  async function read(sql: string, options: NativeStreamOptions) {
    const stream = await streamQueryNative(connection, sql, options);
    const encoded: EncodedBatch[] = [];
    for await (const batch of stream) encoded.push(batch);
    return { converter: stream.converter, schema: stream.schema, batches: decodeEncoded(stream.schema, encoded) };
  }

  for (const [label, options] of [
    ['batches of 1,000 rows', { batchRows: 1000 }],
    ['batches cut by a 64 KiB message limit', { batchRows: 65_536, maxMessageBytes: 64 * 1024 }],
  ] as const) {
    test(`every handled type, ${label}: same schema and values`, async () => {
      const sql = 'SELECT * FROM handled ORDER BY i';
      const direct = await read(sql, options);
      const duckdb = await read(sql, { ...options, duckdbConverter: true });
      assert.equal(direct.converter, 'direct');
      assert.equal(duckdb.converter, 'duckdb');
      assert.equal(direct.schema.toString(), duckdb.schema.toString());
      assert.ok(direct.batches.length > 5, `${direct.batches.length} batches`);
      assert.deepEqual(
        direct.batches.map((b) => b.numRows),
        duckdb.batches.map((b) => b.numRows),
      );
      for (const field of direct.schema.fields) {
        const ours = columnValues(direct.batches, field.name);
        assert.equal(ours.length, 10_000);
        assert.deepEqual(ours, columnValues(duckdb.batches, field.name), `column ${field.name}`);
      }
      // The nulls made it as nulls, not as values.
      assert.equal(columnValues(direct.batches, 's').filter((v) => v === null).length, 3334);
    });
  }

  test('a column of a type it does not handle takes DuckDB converter for the whole result', async () => {
    const result = await read("SELECT i, [i, i] AS list, 'x' AS s FROM handled", {});
    assert.equal(result.converter, 'duckdb');
    assert.deepEqual(columnValues(result.batches, 'list').slice(0, 2), [
      [0n, 0n],
      [1n, 1n],
    ]);
  });
});
