import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tableFromArrays, Table, RecordBatch } from 'apache-arrow';
import { FlightClient, FlightDataEncoder, FlightDescriptor, FlightError, decodeFlightData, encodeFlightData } from '../../flight/index.ts';
import { decodeMessages, encodeTable } from '../support/frames.ts';
import { RawFlightClient } from '../support/raw-grpc.ts';
import { descriptorKey, startEchoServer, type EchoServer } from '../support/echo-server.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, kind: FlightError['kind'], message: RegExp) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlightError, `expected FlightError, got ${String(error)}`);
    assert.equal(error.kind, kind);
    assert.match(error.message, message);
    return true;
  });
}

describe('every FlightService RPC against the echo store', () => {
  let echo: EchoServer;
  let client: FlightClient;
  const table = tableFromArrays({ id: Int32Array.from([1, 2, 3]), name: ['a', 'b', null] });

  before(async () => {
    echo = await startEchoServer();
    client = new FlightClient(echo.location);
  });
  after(async () => {
    client.close();
    await echo.close();
  });

  test('DoPut stores a table and answers one PutResult per batch', async () => {
    const results = await client.doPut(FlightDescriptor.path('t', 'one'), table);
    assert.deepEqual(
      results.map((r) => text.decode(r)),
      ['batch 0'],
    );
    assert.equal(echo.store.get('t/one')?.table.numRows, 3);
  });

  test('DoPut carries app_metadata with each batch', async () => {
    const chunks = table.batches.map((batch, i) => ({ batch, appMetadata: utf8.encode(`meta-${i}`) }));
    const results = await client.doPut(FlightDescriptor.command('t/cmd'), chunks);
    assert.deepEqual(
      results.map((r) => text.decode(r)),
      ['meta-0'],
    );
    assert.equal(echo.store.get('t/cmd')?.table.numRows, 3);
  });

  test('DoGet returns what was put, values intact', async () => {
    const got = await client.doGet('t/one').readAll();
    assert.deepEqual(
      got.toArray().map((r) => r.toJSON()),
      [
        { id: 1, name: 'a' },
        { id: 2, name: 'b' },
        { id: 3, name: null },
      ],
    );
  });

  test('DoGet of a missing key is NOT_FOUND with the key in the message', async () => {
    await rejectsWith(client.doGet('nope').readAll(), 'not-found', /no such key: nope/);
  });

  test('GetFlightInfo and GetSchema describe a stored table', async () => {
    const info = await client.getFlightInfo(FlightDescriptor.path('t', 'one'));
    assert.equal(info.totalRecords, 3);
    assert.deepEqual(
      info.schema?.fields.map((f) => f.name),
      ['id', 'name'],
    );
    assert.equal(text.decode(info.endpoints[0]!.ticket), 't/one');
    const schema = await client.getSchema(FlightDescriptor.path('t', 'one'));
    assert.equal(String(schema.fields[0]!.type), 'Int32');
    await rejectsWith(client.getSchema(FlightDescriptor.path('missing')), 'not-found', /missing/);
  });

  test('PollFlightInfo answers with the info and progress', async () => {
    const poll = await client.pollFlightInfo(FlightDescriptor.path('t', 'one'));
    assert.equal(poll.progress, 1);
    assert.equal(poll.info?.totalRecords, 3);
    assert.equal(poll.descriptor, undefined);
  });

  test('ListFlights lists keys, filtered by prefix', async () => {
    const all = await collect(client.listFlights());
    assert.deepEqual(
      all.map((i) => descriptorKey(i.descriptor!)),
      ['t/cmd', 't/one'],
    );
    // Each listed with the descriptor it was put under.
    assert.deepEqual(
      all.map((i) => i.descriptor?.type),
      ['cmd', 'path'],
    );
    const some = await collect(client.listFlights('t/o'));
    assert.equal(some.length, 1);
  });

  test('DoExchange echoes batches and metadata while the input streams', async () => {
    const exchange = client.doExchange(FlightDescriptor.command('echo'));
    const chunks = exchange.reader.chunks();
    for (let i = 0; i < 3; i++) {
      const batch = tableFromArrays({ i: Int32Array.from([i, i]) }).batches[0]!;
      await exchange.write(batch, utf8.encode(`m${i}`));
      const echoed = await chunks.next();
      assert.equal(echoed.done, false);
      assert.equal(text.decode(echoed.value!.appMetadata!), `m${i}`);
      assert.deepEqual([...echoed.value!.batch!.getChild('i')!], [i, i]);
    }
    await exchange.writeMetadata(utf8.encode('only-metadata'));
    const meta = await chunks.next();
    assert.equal(meta.value!.batch, undefined);
    assert.equal(text.decode(meta.value!.appMetadata!), 'only-metadata');
    exchange.end();
    assert.equal((await chunks.next()).done, true);
  });

  test('DoAction runs actions and maps errors', async () => {
    const echoed = await collect(client.doAction('echo', 'hello'));
    assert.deepEqual(
      echoed.map((b) => text.decode(b)),
      ['hello'],
    );
    await rejectsWith(collect(client.doAction('error', 'bad thing')), 'invalid-argument', /bad thing/);
    await rejectsWith(collect(client.doAction('nope')), 'unimplemented', /unknown action: nope/);
  });

  test('ListActions describes every action', async () => {
    const actions = await client.listActions();
    assert.deepEqual(
      actions.map((a) => a.type),
      ['echo', 'list', 'drop', 'error', 'compare'],
    );
    assert.ok(actions.every((a) => a.description.length > 0));
  });

  test('Handshake without auth is accepted', async () => {
    const responses = await client.handshake([{ protocolVersion: 0, payload: new Uint8Array(0) }]);
    assert.deepEqual(responses, []);
  });

  test('an error in the middle of a DoGet arrives after the batches before it', async () => {
    const reader = client.doGet('error-mid-stream');
    const seen: bigint[] = [];
    await rejectsWith(
      (async () => {
        for await (const batch of reader) seen.push(...(batch.getChild('n')!.toArray() as BigInt64Array));
      })(),
      'internal',
      /boom after 2 batches/,
    );
    assert.deepEqual(seen, [0n, 1n, 2n, 3n]);
  });

  test('empty streams keep their schema', async () => {
    const empty = new Table(table.schema);
    await client.doPut(FlightDescriptor.path('empty'), empty);
    const got = await client.doGet('empty').readAll();
    assert.equal(got.numRows, 0);
    assert.deepEqual(
      got.schema.fields.map((f) => f.name),
      ['id', 'name'],
    );
  });

  test('a batch larger than the message limit is sliced and reassembled', async () => {
    const n = 1_500_000; // 12 MB of int64 > the 4 MiB default
    const big = tableFromArrays({ v: BigInt64Array.from({ length: n }, (_, i) => BigInt(i)) });
    assert.equal(big.batches.length, 1);
    await client.doPut(FlightDescriptor.path('large'), big);
    const stored = echo.store.get('large')!.table;
    assert.ok(stored.batches.length >= 3, `expected the upload sliced, got ${stored.batches.length} batch(es)`);
    const reader = client.doGet('large');
    let rows = 0;
    let batches = 0;
    let expected = 0n;
    for await (const batch of reader) {
      batches++;
      const values = batch.getChild('v')!.toArray() as BigInt64Array;
      for (const v of values) assert.equal(v, expected++);
      rows += batch.numRows;
    }
    assert.equal(rows, n);
    assert.ok(batches >= 3);
  });

  test('unimplemented RPCs answer UNIMPLEMENTED naming the method', async () => {
    const { FlightServer } = await import('../../flight/index.ts');
    const bare = new FlightServer({});
    const port = await bare.listen('127.0.0.1', 0);
    const c = new FlightClient(`grpc://127.0.0.1:${port}`);
    try {
      await rejectsWith(c.getFlightInfo(FlightDescriptor.path('x')), 'unimplemented', /GetFlightInfo/);
      await rejectsWith(c.doGet('x').readAll(), 'unimplemented', /DoGet/);
      await rejectsWith(c.doPut(FlightDescriptor.path('x'), table), 'unimplemented', /DoPut/);
      await rejectsWith(c.doExchange(FlightDescriptor.path('x')).reader.readAll(), 'unimplemented', /DoExchange/);
      await rejectsWith(c.listActions(), 'unimplemented', /ListActions/);
      await rejectsWith(collect(c.listFlights()), 'unimplemented', /ListFlights/);
      await rejectsWith(c.pollFlightInfo(FlightDescriptor.path('x')), 'unimplemented', /PollFlightInfo/);
      await rejectsWith(c.getSchema(FlightDescriptor.path('x')), 'unimplemented', /GetSchema/);
      await rejectsWith(collect(c.doAction('x')), 'unimplemented', /DoAction/);
    } finally {
      c.close();
      await bare.close(100);
    }
  });

  test('a first message carrying only the descriptor (as pyarrow opens DoExchange) is no chunk', async () => {
    const raw = new RawFlightClient(`127.0.0.1:${echo.port}`);
    try {
      const encoder = new FlightDataEncoder();
      const frames = [
        encodeFlightData(new Uint8Array(0), undefined, undefined, FlightDescriptor.command('echo')),
        encoder.encodeSchema(table.schema),
        ...encoder.encodeBatch(table.batches[0]!, utf8.encode('with-batch')),
      ];
      const exchanged = await raw.bidi('DoExchange', frames);
      assert.equal(exchanged.code, 0, exchanged.details);
      const answers = exchanged.responses.map((r) => decodeFlightData(r));
      for (const a of answers) {
        assert.ok(a.dataHeader.byteLength > 0 || (a.appMetadata?.byteLength ?? 0) > 0, 'no empty message (pyarrow reads one as the end)');
      }
      const { table: echoed } = decodeMessages(answers);
      assert.deepEqual(
        echoed.toArray().map((r) => r.toJSON()),
        table.toArray().map((r) => r.toJSON()),
      );
      const put = await raw.bidi('DoPut', [
        encodeFlightData(new Uint8Array(0), undefined, undefined, FlightDescriptor.path('descriptor-first')),
        ...encodeTable(table),
      ]);
      assert.equal(put.code, 0, put.details);
      assert.equal(put.responses.length, 1, 'one PutResult: for the batch, none for the descriptor-only message');
      assert.equal(echo.store.get('descriptor-first')?.table.numRows, 3);
    } finally {
      raw.close();
    }
  });

  void RecordBatch;
});
