// Sending a batch's large buffers in place (FlightDataMessage.writeChunks, BackpressureWriter on
// our HTTP/2 transport): the chunks add up to the same bytes as the gathered message, the large
// buffers go out as views of the batch's memory, and sliced batches with rebased offsets arrive
// intact over DoGet and DoExchange.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Bool, Field, Float64, Int32, RecordBatch, Schema, Struct, Table, Utf8, makeData } from 'apache-arrow';
import { FlightClient, FlightDataEncoder, FlightDescriptor, FlightServer } from '../../flight/index.ts';
import { GRPC_PREFIX } from '../../flight/transport/grpc-server.ts';
import { firstDifference } from '../support/compare.ts';

const ROWS = 100_000;

/** Strings of 0-11 bytes with every 7th null, int32s, doubles with every 5th null, booleans. */
function wideBatch(seed: number): RecordBatch {
  const utf8 = new TextEncoder();
  const offsets = new Int32Array(ROWS + 1);
  const words = Array.from({ length: 12 }, (_, n) => utf8.encode('abcdefghijkl'.slice(0, n)));
  let bytes = 0;
  for (let i = 0; i < ROWS; i++) {
    bytes += i % 7 === 0 ? 0 : words[(i + seed) % 12]!.byteLength;
    offsets[i + 1] = bytes;
  }
  const data = new Uint8Array(bytes);
  for (let i = 0; i < ROWS; i++) data.set(i % 7 === 0 ? new Uint8Array(0) : words[(i + seed) % 12]!, offsets[i]!);
  const bitmap = (every: number) => {
    const bits = new Uint8Array((ROWS + 7) >> 3).fill(0xff);
    for (let i = 0; i < ROWS; i += every) bits[i >> 3]! &= ~(1 << (i & 7));
    return bits;
  };
  const ints = Int32Array.from({ length: ROWS }, (_, i) => i * 3 + seed);
  const doubles = Float64Array.from({ length: ROWS }, (_, i) => i / 4 + seed);
  const flags = new Uint8Array((ROWS + 7) >> 3).map((_, i) => (i * 37 + seed) & 0xff);
  const fields = [
    new Field('s', new Utf8(), true),
    new Field('i', new Int32(), false),
    new Field('d', new Float64(), true),
    new Field('b', new Bool(), false),
  ];
  const children = [
    makeData({ type: new Utf8(), length: ROWS, nullCount: Math.ceil(ROWS / 7), nullBitmap: bitmap(7), valueOffsets: offsets, data }),
    makeData({ type: new Int32(), length: ROWS, data: ints }),
    makeData({ type: new Float64(), length: ROWS, nullCount: ROWS / 5, nullBitmap: bitmap(5), data: doubles }),
    makeData({ type: new Bool(), length: ROWS, data: flags }),
  ];
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: ROWS, nullCount: 0, children }));
}

describe('FlightDataMessage.writeChunks', () => {
  const batch = wideBatch(1);
  const encoder = new FlightDataEncoder({ maxMessageBytes: 512 * 1024 });
  encoder.encodeSchema(batch.schema);
  const messages = encoder.encodeBatchMessages(batch);

  test('the batch is sliced, so that later slices have offsets to rebase', () => {
    assert.ok(messages.length >= 2, `${messages.length} messages`);
  });

  for (const minBytes of [1, 16 * 1024, Infinity]) {
    test(`chunks sending buffers of ${minBytes} bytes and more in place add up to the gathered message`, () => {
      for (const message of messages) {
        const out = Buffer.alloc(GRPC_PREFIX + message.copiedLength(minBytes));
        const chunks = message.writeChunks(out, GRPC_PREFIX, minBytes);
        const joined = Buffer.concat(chunks);
        assert.equal(joined.byteLength, GRPC_PREFIX + message.byteLength);
        assert.ok(joined.subarray(GRPC_PREFIX).equals(message.toBuffer()));
        assert.equal(
          chunks.filter((c) => c.buffer === out.buffer).reduce((n, c) => n + c.byteLength, 0),
          out.byteLength,
        );
      }
    });
  }

  test('large buffers are views of the batch, not copies; offsets to rebase are copied', () => {
    const [ints, doubles] = [batch.getChild('i')!.data[0]!.values.buffer, batch.getChild('d')!.data[0]!.values.buffer];
    const stringOffsets = batch.getChild('s')!.data[0]!.valueOffsets.buffer;
    for (const [index, message] of messages.entries()) {
      const chunks = message.writeChunks(Buffer.alloc(GRPC_PREFIX + message.copiedLength(16 * 1024)), GRPC_PREFIX, 16 * 1024);
      const memory = new Set(chunks.map((c) => c.buffer));
      assert.ok(memory.has(ints) && memory.has(doubles), `message ${index}`);
      assert.equal(memory.has(stringOffsets), index === 0, `message ${index}: only the first slice's offsets start at 0`);
    }
  });
});

describe('DoGet and DoExchange on the HTTP/2 transport, with buffers sent in place', () => {
  let server: FlightServer;
  let client: FlightClient;
  const batches = [wideBatch(1), wideBatch(2)];

  before(async () => {
    server = new FlightServer(
      {
        doGet: () => ({ schema: batches[0]!.schema, [Symbol.iterator]: () => batches[Symbol.iterator]() }),
        doExchange: (reader) =>
          (async function* () {
            for await (const chunk of reader.chunks()) yield chunk;
          })(),
      },
      { transport: 'http2', maxMessageBytes: 512 * 1024 },
    );
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('sliced batches arrive as they were sent', async () => {
    const got = await client.doGet('all').readAll();
    assert.equal(firstDifference(got, new Table(batches)), null);
  });

  test('batches echoed back (views of the received messages, sent in place) arrive intact', async () => {
    const exchange = client.doExchange(FlightDescriptor.command('echo'));
    for (const batch of batches) await exchange.write(batch);
    exchange.end();
    const got = await exchange.reader.readAll();
    assert.equal(firstDifference(got, new Table(batches)), null);
  });
});
