// The native export's life cycle on one connection: closing interrupts a query that is still
// running and leaves the connection with no active query (a write and a CHECKPOINT succeed on
// it next), breaking out of the iteration does the same, and the lease refuses a second user.
// With reuseBodies, a long result's bodies take turns in a few slabs, each right when it is read.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { streamQueryNative } from '../../servers/bridge/native-export.ts';
import { connectShared, openSharedDatabase } from '../../servers/bridge/shared-connection.ts';

describe('native export: stopping', () => {
  let dir: string;
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'native-export-'));
    const shared = await openSharedDatabase(join(dir, 'db.duckdb'));
    instance = shared.instance;
    connection = await connectShared(shared.database);
    await connection.run('CREATE TABLE big AS SELECT i FROM range(3000000) t(i)');
  });
  after(() => {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  test('close() interrupts a query still computing its first row; the connection writes and checkpoints next', async () => {
    // A cross join that takes minutes before its one row: only an interrupt ends it early.
    const stream = await streamQueryNative(connection, 'SELECT count(*) FROM big a, big b WHERE a.i + b.i = -1');
    const iterator = stream[Symbol.asyncIterator]();
    const first = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await stream.close();
    assert.ok(Date.now() - started < 20_000, `close() took ${Date.now() - started} ms: the query was not interrupted`);
    assert.deepEqual(await first, { done: true, value: undefined });
    await connection.run('INSERT INTO big VALUES (-5)');
    await connection.run('CHECKPOINT');
    const reader = await connection.runAndReadAll('SELECT count(*) FROM big');
    assert.equal(reader.getRows()[0]![0], 3000001n);
  });

  test('breaking out of the iteration stops the stream and frees the connection', async () => {
    const stream = await streamQueryNative(connection, 'SELECT i, i::VARCHAR AS s FROM big', { batchRows: 10_000 });
    let batches = 0;
    for await (const batch of stream) {
      if (batch.numRows > 0 && ++batches === 2) break;
    }
    await connection.run('DELETE FROM big WHERE i = -5');
    await connection.run('CHECKPOINT');
    const again = await streamQueryNative(connection, 'SELECT 1 AS one');
    let rows = 0;
    for await (const batch of again) rows += batch.numRows;
    assert.equal(rows, 1);
  });

  test('a second stream on a connection in use is refused, the first goes on', async () => {
    const stream = await streamQueryNative(connection, 'SELECT i FROM big');
    await assert.rejects(streamQueryNative(connection, 'SELECT 1'), /busy with streamQueryNative/);
    let rows = 0;
    for await (const batch of stream) rows += batch.numRows;
    assert.equal(rows, 3_000_000);
  });

  test('SQL that does not prepare rejects with DuckDB message and releases the connection', async () => {
    await assert.rejects(
      streamQueryNative(connection, 'SELECT * FROM no_such_table'),
      /Catalog Error: Table with name no_such_table does not exist/,
    );
    const stream = await streamQueryNative(connection, 'SELECT 2 AS two');
    for await (const _ of stream);
  });

  test('reuseBodies: the bodies take turns in a few slabs, and each holds its batch when it is read', async () => {
    const sql = 'SELECT i, i::VARCHAR AS s FROM big ORDER BY i';
    const digests = async (reuseBodies: boolean) => {
      const stream = await streamQueryNative(connection, sql, { batchRows: 65_536, reuseBodies });
      const seen: string[] = [];
      const memory = new Set<ArrayBufferLike>();
      for await (const batch of stream) {
        seen.push(createHash('sha256').update(batch.header).update(batch.body).digest('hex'));
        memory.add(batch.body.buffer);
      }
      return { seen, memory: memory.size };
    };
    const fresh = await digests(false);
    const reused = await digests(true);
    assert.ok(fresh.seen.length > 40, `${fresh.seen.length} batches`);
    assert.deepEqual(reused.seen, fresh.seen);
    // Read ahead (3), the one being read and the one being written.
    assert.ok(reused.memory <= 5, `the reused bodies came in ${reused.memory} ArrayBuffers`);
    assert.equal(fresh.memory, fresh.seen.length);
  });
});
