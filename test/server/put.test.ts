// DoPut against the CLI as a process: by path and by command, create then append, replace,
// and all-or-nothing: a schema mismatch, a cancelled stream, a bad batch or a value DuckDB
// rejects midway all leave the table exactly as it was (row count and checksum).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Int32, RecordBatch, Table, Utf8, makeVector, tableFromArrays, vectorFromArray } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDataEncoder, FlightDescriptor } from '../../flight/index.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { rawDoPut } from '../support/raw-put.ts';
import { fingerprint, rejectsWith, rows, waitFor } from './helpers.ts';

const text = new TextDecoder();

/** Rows id = start..start+count-1 with v = id * 0.5 and s = 'r<id>' (every 7th NULL). */
function batchOf(start: number, count: number): RecordBatch {
  const id = new BigInt64Array(count);
  const v = new Float64Array(count);
  const s: (string | null)[] = new Array(count);
  for (let i = 0; i < count; i++) {
    id[i] = BigInt(start + i);
    v[i] = (start + i) * 0.5;
    s[i] = (start + i) % 7 === 0 ? null : `r${start + i}`;
  }
  return new Table({ id: makeVector(id), v: makeVector(v), s: vectorFromArray(s, new Utf8()) }).batches[0]!;
}

function tableOf(start: number, count: number): Table {
  return new Table([batchOf(start, count)]);
}

/** Batches of `rows` rows, numbered on, until `limit` batches (or forever); counts what it yields. */
function batchStream(rowsPerBatch: number, limit = Infinity) {
  const state = { yielded: 0, returned: false };
  async function* generate(): AsyncGenerator<RecordBatch> {
    try {
      for (let i = 0; i < limit; i++) {
        state.yielded++;
        yield batchOf(1_000_000 + i * rowsPerBatch, rowsPerBatch);
      }
    } finally {
      state.returned = true;
    }
  }
  return { state, batches: generate() };
}

describe('DoPut', () => {
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

  test('by path: the first upload creates the table, the second appends', async () => {
    assert.deepEqual(await client.uploadData('by_path', tableOf(0, 3)), { table: 'by_path', rows: 3, created: true });
    assert.deepEqual(await client.uploadData('by_path', tableOf(3, 2)), { table: 'by_path', rows: 2, created: false });
    const table = await client.executeQuery('SELECT * FROM by_path ORDER BY id');
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}: ${f.type}`),
      ['id: Int64', 'v: Float64', 's: Utf8'],
    );
    assert.deepEqual(rows(table), [
      { id: 0n, v: 0, s: null },
      { id: 1n, v: 0.5, s: 'r1' },
      { id: 2n, v: 1, s: 'r2' },
      { id: 3n, v: 1.5, s: 'r3' },
      { id: 4n, v: 2, s: 'r4' },
    ]);
  });

  test('by command (Mallard): the command is the table name', async () => {
    const first = await client.flight.doPut(FlightDescriptor.command('by_cmd'), tableOf(10, 4));
    assert.deepEqual(
      first.map((r) => JSON.parse(text.decode(r))),
      [{ table: 'by_cmd', rows: 4, created: true }],
    );
    const second = await client.flight.doPut(FlightDescriptor.command('by_cmd'), tableOf(14, 1));
    assert.deepEqual(
      second.map((r) => JSON.parse(text.decode(r))),
      [{ table: 'by_cmd', rows: 1, created: false }],
    );
    assert.deepEqual(rows(await client.executeQuery('SELECT min(id) AS lo, max(id) AS hi, count(*) AS n FROM by_cmd')), [
      { lo: 10n, hi: 14n, n: 5n },
    ]);
  });

  test('a stream of many batches is appended whole', async () => {
    const { batches, state } = batchStream(10_000, 25);
    const result = await client.uploadData('many', batches);
    assert.deepEqual(result, { table: 'many', rows: 250_000, created: true });
    assert.equal(state.yielded, 25);
    const check = rows(await client.executeQuery('SELECT count(*) AS n, sum(id)::BIGINT AS total, count(s) AS named FROM many'));
    // ids 1,000,000 .. 1,249,999; every 7th id has a NULL s.
    const expectedNulls = Array.from({ length: 250_000 }, (_, i) => (1_000_000 + i) % 7 === 0).filter(Boolean).length;
    assert.deepEqual(check, [
      { n: 250_000n, total: 250_000n * 1_000_000n + (249_999n * 250_000n) / 2n, named: BigInt(250_000 - expectedNulls) },
    ]);
  });

  test('a schema that does not match the existing table is INVALID_ARGUMENT and changes nothing', async () => {
    await client.uploadData('strict', tableOf(0, 5));
    const before = await fingerprint(client, 'strict');
    const wrongType = tableFromArrays({ id: ['a', 'b'], v: Float64Array.of(1, 2), s: ['x', 'y'] });
    await rejectsWith(
      client.uploadData('strict', wrongType),
      'invalid-argument',
      /column "id" of table "strict" is BIGINT but the data's field has Arrow type/,
    );
    const wrongNames = tableFromArrays({ id: BigInt64Array.of(1n), w: Float64Array.of(1), s: ['x'] });
    await rejectsWith(
      client.uploadData('strict', wrongNames),
      'invalid-argument',
      /column 2 of table "strict" is "v" but the data's field 2 is "w"/,
    );
    const tooFew = tableFromArrays({ id: BigInt64Array.of(1n) });
    await rejectsWith(client.uploadData('strict', tooFew), 'invalid-argument', /has 3 columns .* but the data has 1/);
    assert.deepEqual(await fingerprint(client, 'strict'), before);
    assert.equal(before.rows, 5n);
  });

  test('an upload cancelled midway (AbortSignal after 30 batches of an endless stream) leaves the table unchanged', async () => {
    await client.uploadData('cancel_me', tableOf(0, 1000));
    const before = await fingerprint(client, 'cancel_me');
    const { batches, state } = batchStream(20_000);
    const abort = new AbortController();
    const counting = (async function* () {
      for await (const batch of batches) {
        yield batch;
        if (state.yielded === 30) abort.abort(new Error('stop the upload'));
      }
    })();
    await rejectsWith(client.uploadData('cancel_me', counting, { signal: abort.signal }), 'cancelled', /cancel/i);
    assert.ok(state.yielded >= 30 && state.yielded < 40, `the producer yielded ${state.yielded} batches`);
    // The server logs the call's end once the upload has been rolled back.
    await waitFor(
      () => /"msg":"call failed","method":"DoPut"[^\n]*"code":1\b/.test(server.stderr()),
      'the server to end the cancelled DoPut',
    );
    assert.deepEqual(await fingerprint(client, 'cancel_me'), before);
    // The table takes uploads again afterwards.
    assert.equal((await client.uploadData('cancel_me', tableOf(1000, 10))).rows, 10);
    assert.equal((await fingerprint(client, 'cancel_me')).rows, 1010n);
  });

  test('a second schema in the middle of the stream fails the upload and changes nothing', async () => {
    await client.uploadData('mid_schema', tableOf(0, 100));
    const before = await fingerprint(client, 'mid_schema');
    const encoder = new FlightDataEncoder({ descriptor: FlightDescriptor.path('mid_schema') });
    const messages = [encoder.encodeSchema(batchOf(0, 1).schema)];
    for (let i = 0; i < 5; i++) messages.push(...encoder.encodeBatch(batchOf(100 + i * 1000, 1000)));
    const other = new FlightDataEncoder();
    messages.push(other.encodeSchema(tableFromArrays({ x: Int32Array.of(1) }).schema));
    messages.push(...encoder.encodeBatch(batchOf(9000, 1000)));
    await rejectsWith(rawDoPut(server.location, messages), 'invalid-argument', /a second schema in one stream/);
    assert.deepEqual(await fingerprint(client, 'mid_schema'), before);
  });

  test('a batch laid out for a different schema midway fails the upload and changes nothing', async () => {
    await client.uploadData('mid_batch', tableOf(0, 100));
    const before = await fingerprint(client, 'mid_batch');
    const encoder = new FlightDataEncoder({ descriptor: FlightDescriptor.path('mid_batch') });
    const messages = [encoder.encodeSchema(batchOf(0, 1).schema)];
    for (let i = 0; i < 5; i++) messages.push(...encoder.encodeBatch(batchOf(100 + i * 1000, 1000)));
    // Encoded as one Int32 column: a record batch with one field node where the schema has three.
    messages.push(...encoder.encodeBatch(tableFromArrays({ x: Int32Array.of(1, 2, 3) }).batches[0]!));
    const error = await rejectsWith(rawDoPut(server.location, messages), 'invalid-argument', /.+/);
    assert.match(error.message, /FlightData message 6|field nodes|columns|schema/i);
    assert.deepEqual(await fingerprint(client, 'mid_batch'), before);
  });

  test('a value DuckDB rejects (a duplicate primary key) in a late batch leaves the table unchanged', async () => {
    await client.executeAction('query', 'CREATE TABLE keyed (id BIGINT PRIMARY KEY, v DOUBLE, s VARCHAR)');
    await client.uploadData('keyed', tableOf(0, 50));
    const before = await fingerprint(client, 'keyed');
    const batches = [batchOf(1000, 5000), batchOf(6000, 5000), batchOf(11_000, 5000), batchOf(10, 3)];
    await rejectsWith(client.uploadData('keyed', batches), 'invalid-argument', /Duplicate key "id: 10" violates primary key constraint/);
    assert.deepEqual(await fingerprint(client, 'keyed'), before);
  });

  test('the same duplicate key through SQL (an INSERT ticket) is INVALID_ARGUMENT too', async () => {
    await rejectsWith(
      client.executeQuery("INSERT INTO keyed VALUES (3, 0, 'dup')"),
      'invalid-argument',
      /Constraint Error: Duplicate key "id: 3"/,
    );
  });

  test('a value failing a CHECK constraint in a late batch leaves the table unchanged', async () => {
    await client.executeAction('query', 'CREATE TABLE checked (id BIGINT CHECK (id < 100000), v DOUBLE, s VARCHAR)');
    await client.uploadData('checked', tableOf(0, 10));
    const before = await fingerprint(client, 'checked');
    await rejectsWith(
      client.uploadData('checked', [batchOf(100, 2000), batchOf(99_999, 2)]),
      'invalid-argument',
      /CHECK constraint failed/,
    );
    assert.deepEqual(await fingerprint(client, 'checked'), before);
  });

  test('a NULL into a NOT NULL column in a late batch leaves the table unchanged', async () => {
    await client.executeAction('query', 'CREATE TABLE not_null (id BIGINT, v DOUBLE, s VARCHAR NOT NULL)');
    await client.uploadData('not_null', tableOf(1, 6)); // ids 1..6: none is a multiple of 7
    const before = await fingerprint(client, 'not_null');
    // 2100 and later: every 7th s is NULL.
    await rejectsWith(
      client.uploadData('not_null', [batchOf(8, 6), batchOf(2100, 50)]),
      'invalid-argument',
      /NOT NULL constraint failed: not_null\.s/,
    );
    assert.deepEqual(await fingerprint(client, 'not_null'), before);
  });

  test('text that is not a value of an ENUM column is refused and changes nothing', async () => {
    await client.executeAction('query', "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy'); CREATE TABLE moods (m mood)");
    assert.equal((await client.uploadData('moods', tableFromArrays({ m: ['ok', 'happy', null] }))).rows, 3);
    const before = await fingerprint(client, 'moods');
    await rejectsWith(client.uploadData('moods', tableFromArrays({ m: ['sad', 'furious'] })), 'invalid-argument', /furious/);
    assert.deepEqual(await fingerprint(client, 'moods'), before);
    // ENUM order: sad < ok < happy.
    assert.deepEqual(rows(await client.executeQuery('SELECT m::VARCHAR AS m FROM moods ORDER BY moods.m NULLS LAST')), [
      { m: 'ok' },
      { m: 'happy' },
      { m: null },
    ]);
  });

  test('x-duck-flight-put-mode: replace swaps the table, new schema and all', async () => {
    await client.uploadData('swap', tableOf(0, 20));
    const replacement = tableFromArrays({ name: ['only', 'two'], n: Int32Array.of(1, 2) });
    const result = await client.flight.doPut(FlightDescriptor.path('swap'), replacement, {
      headers: { 'x-duck-flight-put-mode': 'replace' },
    });
    assert.deepEqual(JSON.parse(text.decode(result[0]!)), { table: 'swap', rows: 2, created: true });
    const table = await client.executeQuery('SELECT * FROM swap ORDER BY n');
    assert.deepEqual(
      table.schema.fields.map((f) => `${f.name}: ${f.type}`),
      ['name: Utf8', 'n: Int32'],
    );
    assert.deepEqual(rows(table), [
      { name: 'only', n: 1 },
      { name: 'two', n: 2 },
    ]);
    // DuckDBFlightClient's mode: 'replace' sends the same header.
    assert.deepEqual(await client.uploadData('swap', tableOf(0, 3), { mode: 'replace' }), { table: 'swap', rows: 3, created: true });
    assert.equal((await fingerprint(client, 'swap')).rows, 3n);
  });

  test('a failed replace keeps the old table', async () => {
    await client.uploadData('keep', tableOf(0, 30));
    const before = await fingerprint(client, 'keep');
    const abort = new AbortController();
    const { batches, state } = batchStream(20_000);
    const stopping = (async function* () {
      for await (const batch of batches) {
        yield batch;
        if (state.yielded === 10) abort.abort(new Error('stop'));
      }
    })();
    await rejectsWith(client.uploadData('keep', stopping, { mode: 'replace', signal: abort.signal }), 'cancelled', /cancel/i);
    await waitFor(
      () => (server.stderr().match(/"method":"DoPut"[^\n]*"code":1\b/g) ?? []).length >= 2,
      'the server to end the cancelled replace',
    );
    assert.deepEqual(await fingerprint(client, 'keep'), before);
  });

  test('an unknown put mode is INVALID_ARGUMENT', async () => {
    await rejectsWith(
      client.flight.doPut(FlightDescriptor.path('whatever'), tableOf(0, 1), { headers: { 'x-duck-flight-put-mode': 'merge' } }),
      'invalid-argument',
      /x-duck-flight-put-mode is append \(default\), replace or append-existing; got "merge"/,
    );
    await rejectsWith(client.executeQuery('SELECT * FROM whatever'), 'not-found', /whatever/);
  });

  test('a path of two segments is INVALID_ARGUMENT', async () => {
    await rejectsWith(
      client.flight.doPut(FlightDescriptor.path('a', 'b'), tableOf(0, 1)),
      'invalid-argument',
      /descriptor path must be \[table\]/,
    );
  });

  test('a schema with no batches creates an empty table', async () => {
    const empty = new Table(batchOf(0, 1).schema);
    assert.deepEqual(await client.uploadData('empty_one', empty), { table: 'empty_one', rows: 0, created: true });
    const info = await client.flight.getFlightInfo(FlightDescriptor.path('empty_one'));
    assert.equal(info.totalRecords, 0);
    assert.deepEqual(info.schema?.names, ['id', 'v', 's']);
  });

  test('Int32 data appends to a BIGINT column (an implicit cast)', async () => {
    await client.executeAction('query', 'CREATE TABLE widen (id BIGINT)');
    const narrow = new Table({ id: vectorFromArray([1, 2, null], new Int32()) });
    assert.equal((await client.uploadData('widen', narrow)).rows, 3);
    assert.deepEqual(rows(await client.executeQuery('SELECT id FROM widen ORDER BY id NULLS LAST')), [
      { id: 1n },
      { id: 2n },
      { id: null },
    ]);
  });
});
