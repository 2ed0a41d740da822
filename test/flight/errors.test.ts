// What goes wrong, and what the peer is told: malformed FlightData and requests sent by a raw
// grpc-js client (no codec of ours on that side), the FlightError <-> gRPC status mapping in both
// directions for every kind, and handlers that fail in the middle of a stream.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  Dictionary,
  Field,
  Int32,
  Struct,
  Table,
  Utf8,
  makeData,
  makeVector,
  tableFromArrays,
  vectorFromArray,
  type RecordBatch,
} from 'apache-arrow';
import { BufferRegion, DictionaryBatch, Message, RecordBatchHeader, VectorAssembler } from '../../flight/arrow-internals.ts';
import {
  FlightClient,
  FlightDataEncoder,
  FlightDescriptor,
  FlightError,
  FlightServer,
  decodeFlightData,
  encodeFlightData,
  fromGrpcError,
  toGrpcStatus,
  type FlightErrorKind,
} from '../../flight/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { RawFlightClient, type RawOutcome } from '../support/raw-grpc.ts';
import { FlatbufferPatch } from '../fuzz/inputs.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();
// Plain utf8 (tableFromArrays would make the strings a dictionary column).
const table = new Table({ n: makeVector(Int32Array.from([1, 2, 3])), s: vectorFromArray(['a', 'b', 'c'], new Utf8()) });
const target = FlightDescriptor.path('raw', 'target');

/** A valid upload: [schema with descriptor, batch]. */
function validFrames(descriptor: FlightDescriptor | null = target): Buffer[] {
  const encoder = new FlightDataEncoder({ descriptor: descriptor ?? undefined });
  return [encoder.encodeSchema(table.schema), ...encoder.encodeBatch(table.batches[0]!)];
}

/** One FlightData carrying a record batch header built from `batch` with the given regions and body. */
function batchFrame(batch: RecordBatch, edit: { regions?: BufferRegion[]; bodyLength?: number; body?: Uint8Array } = {}): Buffer {
  const assembled = VectorAssembler.assemble(batch);
  const header = new RecordBatchHeader(batch.numRows, assembled.nodes, edit.regions ?? assembled.bufferRegions, null);
  const bodyLength = edit.bodyLength ?? assembled.byteLength;
  const full = encodeFlightData(Message.encode(Message.from(header, bodyLength)), {
    length: assembled.byteLength,
    buffers: assembled.buffers,
    offsets: assembled.bufferRegions.map((r) => r.offset),
  });
  if (!edit.body) return full;
  return encodeFlightData(decodeFlightData(full).dataHeader, { length: edit.body.byteLength, buffers: [edit.body], offsets: [0] });
}

function expectInvalid(outcome: RawOutcome, message: RegExp): void {
  assert.equal(outcome.code, GrpcStatus.INVALID_ARGUMENT, `got ${GrpcStatus[outcome.code]}: ${outcome.details}`);
  assert.match(outcome.details, message);
}

describe('malformed requests answer INVALID_ARGUMENT saying what was wrong, and the server keeps serving', () => {
  let echo: EchoServer;
  let raw: RawFlightClient;
  let client: FlightClient;

  before(async () => {
    echo = await startEchoServer();
    raw = new RawFlightClient(`127.0.0.1:${echo.port}`);
    client = new FlightClient(echo.location);
  });
  after(async () => {
    raw.close();
    client.close();
    await echo.close();
  });

  /** A normal upload and download right after: the bad call broke nothing. */
  async function stillServing(): Promise<void> {
    const sanity = await raw.bidi('DoPut', validFrames(FlightDescriptor.path('sanity')));
    assert.equal(sanity.code, GrpcStatus.OK, sanity.details);
    const got = await client.doGet('sanity').readAll();
    assert.deepEqual(
      got.toArray().map((r) => r.toJSON()),
      table.toArray().map((r) => r.toJSON()),
    );
    assert.ok(!echo.store.has('raw/target'), 'nothing was stored from the malformed upload');
  }

  test('the raw client itself: a valid upload succeeds', async () => {
    const outcome = await raw.bidi('DoPut', validFrames());
    assert.equal(outcome.code, GrpcStatus.OK, outcome.details);
    assert.equal(outcome.responses.length, 1, 'one PutResult');
    assert.equal(echo.store.get('raw/target')?.table.numRows, 3);
    echo.store.delete('raw/target');
  });

  // Schema.fbs lets any child field go unnamed; naming struct fields is the DuckDB server's rule
  // (test/fuzz/corpus.test.ts), not Flight's.
  test('DoPut: a struct whose field has no name is taken as it is', async () => {
    const struct = new Struct([new Field('a', new Int32(), true, new Map([['k', 'v']]))]);
    const named = new Table({ s: vectorFromArray([{ a: 1 }, { a: 2 }], struct) });
    const encoder = new FlightDataEncoder({ descriptor: target });
    const data = decodeFlightData(encoder.encodeSchema(named.schema));
    const patch = new FlatbufferPatch(data.dataHeader);
    // The metadata keeps the child's vtable apart from its parent's, which keeps its name.
    patch.absent(patch.element(patch.element(patch.child(patch.root(), 2), 1, 0), 5, 0), 0);
    const schema = encodeFlightData(patch.bytes, undefined, undefined, target);
    const outcome = await raw.bidi('DoPut', [schema, ...encoder.encodeBatch(named.batches[0]!)]);
    assert.equal(outcome.code, GrpcStatus.OK, outcome.details);
    const stored = echo.store.get('raw/target')!.table;
    echo.store.delete('raw/target');
    assert.equal(stored.schema.fields[0]!.name, 's');
    assert.equal(stored.schema.fields[0]!.type.children[0]!.name, null);
    assert.deepEqual([...stored.getChild('s')!.getChildAt(0)!], [1, 2]);
  });

  // Schema.fbs lets a column go unnamed too; the DuckDB server refuses it (test/fuzz/corpus.test.ts).
  test('DoPut: a column without a name is taken as it is', async () => {
    const named = new Table({ i: vectorFromArray([1, 2, 3], new Int32()) });
    const encoder = new FlightDataEncoder({ descriptor: target });
    const data = decodeFlightData(encoder.encodeSchema(named.schema));
    const patch = new FlatbufferPatch(data.dataHeader);
    patch.absent(patch.element(patch.child(patch.root(), 2), 1, 0), 0);
    const schema = encodeFlightData(patch.bytes, undefined, undefined, target);
    const outcome = await raw.bidi('DoPut', [schema, ...encoder.encodeBatch(named.batches[0]!)]);
    assert.equal(outcome.code, GrpcStatus.OK, outcome.details);
    const stored = echo.store.get('raw/target')!.table;
    echo.store.delete('raw/target');
    assert.equal(stored.schema.fields.length, 1);
    assert.deepEqual([...stored.getChildAt(0)!], [1, 2, 3]);
  });

  test('DoPut: a frame that is not protobuf', async () => {
    // Field 2 (data_header) declares 127 bytes; one follows.
    expectInvalid(
      await raw.bidi('DoPut', [Buffer.from([0x12, 0x7f, 0x01])]),
      /malformed FlightData: field declares 127 bytes but only 1 remain/,
    );
    await stillServing();
  });

  test('DoPut: a truncated varint in a later frame', async () => {
    const [schema] = validFrames();
    expectInvalid(await raw.bidi('DoPut', [schema!, Buffer.from([0x1a, 0xff])]), /malformed FlightData: truncated varint/);
    await stillServing();
  });

  test('DoPut: a data_header that is not an Arrow IPC flatbuffer', async () => {
    const garbage = encodeFlightData(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), undefined, undefined, target);
    expectInvalid(await raw.bidi('DoPut', [garbage]), /FlightData message 0: data_header is not a valid Arrow IPC flatbuffer/);
    await stillServing();
  });

  test('DoPut: a body shorter than the header declares', async () => {
    const [schema] = validFrames();
    const full = batchFrame(table.batches[0]!);
    const body = decodeFlightData(full).dataBody;
    const short = batchFrame(table.batches[0]!, { body: body.subarray(0, body.byteLength - 16) });
    expectInvalid(
      await raw.bidi('DoPut', [schema!, short]),
      new RegExp(`FlightData message 1: body is ${body.byteLength - 16} bytes but the header declares ${body.byteLength}`),
    );
    await stillServing();
  });

  test('DoPut: a buffer region outside the body', async () => {
    const [schema] = validFrames();
    const regions = VectorAssembler.assemble(table.batches[0]!).bufferRegions;
    const moved = regions.map((r, i) => (i === 1 ? new BufferRegion(4096, r.length) : r));
    expectInvalid(
      await raw.bidi('DoPut', [schema!, batchFrame(table.batches[0]!, { regions: moved })]),
      /FlightData message 1: a buffer at offset 4096 of \d+ bytes lies outside the \d+-byte body/,
    );
    await stillServing();
  });

  test('DoPut: a record batch before any schema', async () => {
    const encoder = new FlightDataEncoder({ descriptor: target });
    encoder.encodeSchema(table.schema); // the encoder's own bookkeeping; this message is not sent
    const [batch] = encoder.encodeBatch(table.batches[0]!);
    expectInvalid(await raw.bidi('DoPut', [batch!]), /FlightData message 0: a record batch before any schema/);
    await stillServing();
  });

  test('DoPut: a dictionary batch before any schema', async () => {
    const encoder = new FlightDataEncoder({ descriptor: target });
    const colors = new Table({ color: vectorFromArray(['red', 'red'], new Dictionary(new Utf8(), new Int32())) });
    encoder.encodeSchema(colors.schema); // not sent
    const [dictionary] = encoder.encodeBatch(colors.batches[0]!);
    expectInvalid(await raw.bidi('DoPut', [dictionary!]), /FlightData message 0: a dictionary batch before any schema/);
    await stillServing();
  });

  test('DoPut: a dictionary batch whose id is not in the schema', async () => {
    const [schema] = validFrames();
    const words = vectorFromArray(['x', 'y'], new Utf8());
    const assembled = VectorAssembler.assemble(words);
    const data = new RecordBatchHeader(2, assembled.nodes, assembled.bufferRegions, null);
    const header = Message.encode(Message.from(new DictionaryBatch(data, 7, false), assembled.byteLength));
    const frame = encodeFlightData(header, {
      length: assembled.byteLength,
      buffers: assembled.buffers,
      offsets: assembled.bufferRegions.map((r) => r.offset),
    });
    expectInvalid(await raw.bidi('DoPut', [schema!, frame]), /FlightData message 1: dictionary id 7 is not in the schema/);
    await stillServing();
  });

  test('DoPut: a batch that does not match the schema', async () => {
    const [schema] = validFrames();
    const other = tableFromArrays({ only: Int32Array.from([1, 2, 3]) }).batches[0]!;
    expectInvalid(await raw.bidi('DoPut', [schema!, batchFrame(other)]), /FlightData message 1: record batch does not match the schema/);
    await stillServing();
  });

  test('DoPut: string offsets past the end of the data buffer', async () => {
    const strings = makeData({
      type: new Utf8(),
      length: 2,
      nullCount: 0,
      valueOffsets: Int32Array.from([0, 3, 100]),
      data: new Uint8Array(8),
    });
    const ints = makeData({ type: new Int32(), length: 2, nullCount: 0, data: Int32Array.from([1, 2]) });
    const batch = new Table({ n: makeVector(ints), s: makeVector(strings) }).batches[0]!;
    const [schema] = validFrames();
    expectInvalid(
      await raw.bidi('DoPut', [schema!, batchFrame(batch)]),
      /FlightData message 1: column of type Utf8: offsets reach 100 but the data buffer holds 8/,
    );
    await stillServing();
  });

  test('DoPut: a first message without a FlightDescriptor', async () => {
    expectInvalid(await raw.bidi('DoPut', validFrames(null)), /DoPut: the first message must carry a FlightDescriptor/);
    await stillServing();
  });

  test('DoExchange: a frame that is not protobuf', async () => {
    expectInvalid(await raw.bidi('DoExchange', [Buffer.from([0x0a, 0x09, 0x08])]), /malformed FlightData/);
    await stillServing();
  });

  test('DoGet: a malformed Ticket', async () => {
    expectInvalid(
      await raw.serverStream('DoGet', Buffer.from([0x0a, 0x05, 0x61])),
      /malformed Ticket: field declares 5 bytes but only 1 remain/,
    );
    await stillServing();
  });

  for (const method of ['GetFlightInfo', 'GetSchema', 'PollFlightInfo']) {
    test(`${method}: a FlightDescriptor of an unknown type`, async () => {
      expectInvalid(await raw.unary(method, Buffer.from([0x08, 0x07])), /FlightDescriptor has type 7: expected PATH \(1\) or CMD \(2\)/);
      await stillServing();
    });
  }

  test('GetFlightInfo: a FlightDescriptor with a path segment that is not UTF-8', async () => {
    expectInvalid(
      await raw.unary('GetFlightInfo', Buffer.from([0x08, 0x01, 0x1a, 0x02, 0xc3, 0x28])),
      /malformed FlightDescriptor: string field is not valid UTF-8/,
    );
    await stillServing();
  });

  test('DoAction: a malformed Action', async () => {
    expectInvalid(await raw.serverStream('DoAction', Buffer.from([0x0a, 0x80])), /malformed Action: truncated varint/);
    await stillServing();
  });

  test('ListFlights: malformed Criteria', async () => {
    expectInvalid(await raw.serverStream('ListFlights', Buffer.from([0x0a, 0x03])), /malformed Criteria/);
    await stillServing();
  });
});

// Every kind, checked complete by the compiler; each is its gRPC code's name in kebab case, so
// the expected code is read from grpc-js by name rather than from a copy of flight/error.ts's table.
const KINDS = Object.keys({
  'invalid-argument': true,
  'not-found': true,
  'already-exists': true,
  unauthenticated: true,
  'permission-denied': true,
  unavailable: true,
  cancelled: true,
  'deadline-exceeded': true,
  unimplemented: true,
  'resource-exhausted': true,
  'failed-precondition': true,
  internal: true,
  unknown: true,
} satisfies Record<FlightErrorKind, true>) as FlightErrorKind[];

function codeNamed(kind: FlightErrorKind): GrpcStatus {
  const code = GrpcStatus[kind.toUpperCase().replaceAll('-', '_') as keyof typeof GrpcStatus];
  assert.equal(typeof code, 'number', `grpc-js has a status named after ${kind}`);
  return code;
}

function serviceError(code: GrpcStatus, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${GrpcStatus[code]}: ${details}`), { code, details, metadata });
}

describe('FlightError <-> gRPC status', () => {
  for (const kind of KINDS) {
    test(`${kind} <-> ${GrpcStatus[codeNamed(kind)]}`, () => {
      const error = new FlightError(kind, `a ${kind} happened`);
      assert.equal(error.code, codeNamed(kind));
      const status = toGrpcStatus(error);
      assert.equal(status.code, codeNamed(kind));
      assert.equal(status.details, `a ${kind} happened`);
      const back = fromGrpcError(serviceError(status.code, status.details));
      assert.equal(back.kind, kind);
      assert.equal(back.message, `a ${kind} happened`);
    });
  }

  test('every gRPC code maps to a kind; codes without one fold into the nearest', () => {
    assert.equal(fromGrpcError(serviceError(GrpcStatus.ABORTED, 'x')).kind, 'failed-precondition');
    assert.equal(fromGrpcError(serviceError(GrpcStatus.OUT_OF_RANGE, 'x')).kind, 'invalid-argument');
    assert.equal(fromGrpcError(serviceError(GrpcStatus.DATA_LOSS, 'x')).kind, 'internal');
    for (let code = 0; code <= 16; code++) {
      if (code === GrpcStatus.OK) continue;
      const kind = fromGrpcError(serviceError(code, 'x')).kind;
      assert.ok(KINDS.includes(kind), `code ${code} -> ${kind}`);
    }
  });

  test('anything that is not a FlightError is INTERNAL with its message; statuses pass through', () => {
    assert.deepEqual(
      [toGrpcStatus(new TypeError('bad type')).code, toGrpcStatus(new TypeError('bad type')).details],
      [GrpcStatus.INTERNAL, 'bad type'],
    );
    assert.equal(toGrpcStatus('a thrown string').details, 'a thrown string');
    assert.equal(toGrpcStatus(new Error('')).details, 'internal error');
    const upstream = toGrpcStatus(serviceError(GrpcStatus.NOT_FOUND, 'upstream lost it'));
    assert.deepEqual([upstream.code, upstream.details], [GrpcStatus.NOT_FOUND, 'upstream lost it']);
  });

  test('client side: non-status errors become cancelled (AbortError) or unknown', () => {
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    assert.equal(fromGrpcError(abort).kind, 'cancelled');
    const other = fromGrpcError(new RangeError('odd'));
    assert.equal(other.kind, 'unknown');
    assert.equal(other.message, 'odd');
    const same = FlightError.notFound('kept');
    assert.equal(fromGrpcError(same), same);
  });
});

describe('handler errors reach the client with their kind, message and trailers', () => {
  let server: FlightServer;
  let client: FlightClient;

  before(async () => {
    const kindOf = (bytes: Uint8Array) => text.decode(bytes) as FlightErrorKind;
    server = new FlightServer({
      async *doAction(action) {
        if (action.type === 'plain') throw new RangeError('a plain error');
        if (action.type === 'trailer') {
          const trailers = new Metadata();
          trailers.set('x-why', 'because');
          throw new FlightError('permission-denied', 'not for you', { metadata: trailers });
        }
        yield utf8.encode('never');
        throw new FlightError(kindOf(action.body), `action failed as ${text.decode(action.body)}`);
      },
      getFlightInfo(descriptor) {
        const kind = descriptor.type === 'path' ? (descriptor.path[0] as FlightErrorKind) : 'internal';
        throw new FlightError(kind, `info failed as ${kind}`);
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  for (const kind of KINDS) {
    test(`${kind} from a streaming handler and from a unary one`, async () => {
      const seen: string[] = [];
      await assert.rejects(
        (async () => {
          for await (const result of client.doAction('fail', kind)) seen.push(text.decode(result));
        })(),
        (error: unknown) => {
          assert.ok(error instanceof FlightError);
          assert.equal(error.kind, kind);
          assert.equal(error.message, `action failed as ${kind}`);
          return true;
        },
      );
      assert.deepEqual(seen, ['never'], 'the result before the failure arrived');
      await assert.rejects(client.getFlightInfo(FlightDescriptor.path(kind)), (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.equal(error.kind, kind);
        assert.equal(error.message, `info failed as ${kind}`);
        return true;
      });
    });
  }

  test('a plain Error is INTERNAL with its message', async () => {
    await assert.rejects(
      (async () => {
        for await (const _ of client.doAction('plain'));
      })(),
      { name: 'FlightError', kind: 'internal', message: 'a plain error' },
    );
  });

  test("a FlightError's metadata arrives as trailers", async () => {
    let trailers: Metadata | undefined;
    await assert.rejects(
      (async () => {
        for await (const _ of client.doAction('trailer', undefined, { onTrailers: (md) => (trailers = md) }));
      })(),
      (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.equal(error.kind, 'permission-denied');
        assert.deepEqual(error.metadata?.get('x-why'), ['because']);
        return true;
      },
    );
    assert.deepEqual(trailers?.get('x-why'), ['because']);
  });
});

describe('a handler failing in the middle of a stream', () => {
  let server: FlightServer;
  let client: FlightClient;
  const batchOf = (i: number) => tableFromArrays({ i: Int32Array.from([i, i, i]) }).batches[0]!;
  let putBatchesSeen = 0;

  before(async () => {
    server = new FlightServer({
      doGet() {
        return (async function* () {
          yield batchOf(0);
          yield batchOf(1);
          throw FlightError.unavailable('the source went away after 2 batches');
        })();
      },
      doExchange(reader) {
        return (async function* () {
          let n = 0;
          for await (const batch of reader) {
            if (++n > 2) throw FlightError.invalidArgument(`exchange refuses batch ${n}`);
            yield batch;
          }
        })();
      },
      async *doPut(reader) {
        for await (const _ of reader) {
          putBatchesSeen++;
          if (putBatchesSeen === 2) throw new FlightError('resource-exhausted', 'the store is full after 1 batch');
          yield utf8.encode(`stored ${putBatchesSeen}`);
        }
      },
      listActions: () => [{ type: 'ping', description: 'still alive' }],
    });
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('DoGet: the batches before the error, then the error', async () => {
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const batch of client.doGet('x')) seen.push(batch.getChild('i')!.get(0) as number);
      })(),
      { name: 'FlightError', kind: 'unavailable', message: 'the source went away after 2 batches' },
    );
    assert.deepEqual(seen, [0, 1]);
    assert.equal((await client.listActions()).length, 1);
  });

  test('DoExchange: the echoes before the error, then the error', async () => {
    const input = Array.from({ length: 5 }, (_, i) => batchOf(i));
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const batch of client.exchange(FlightDescriptor.command('x'), input)) seen.push(batch.getChild('i')!.get(0) as number);
      })(),
      { name: 'FlightError', kind: 'invalid-argument', message: 'exchange refuses batch 3' },
    );
    assert.deepEqual(seen, [0, 1]);
    assert.equal((await client.listActions()).length, 1);
  });

  test('DoExchange: writing after the server failed the call rejects with a FlightError', async () => {
    const exchange = client.doExchange(FlightDescriptor.command('x'));
    const reading = exchange.reader.readAll().catch((error: unknown) => error);
    const big = Int32Array.from({ length: 256 * 1024 }, (_, i) => i);
    let writeError: unknown = null;
    // The server refuses batch 3; the writes go on until one of them meets the ended call.
    for (let i = 0; i < 200 && writeError === null; i++) {
      await exchange.write(tableFromArrays({ i: big }).batches[0]!).catch((error: unknown) => (writeError = error));
    }
    assert.ok(writeError instanceof FlightError, `a write rejected with ${String(writeError)}`);
    assert.ok(['invalid-argument', 'cancelled'].includes((writeError as FlightError).kind), (writeError as FlightError).kind);
    assert.match(String(((await reading) as Error).message), /exchange refuses batch 3/);
    exchange.cancel();
  });

  test('DoPut: the error reaches the client while it is still writing', async () => {
    putBatchesSeen = 0;
    // 40 batches of 1 MiB: the server fails on the second, long before the client is done.
    const big = Int32Array.from({ length: 256 * 1024 }, (_, i) => i);
    const input = (function* () {
      for (let i = 0; i < 40; i++) yield tableFromArrays({ i: big }).batches[0]!;
    })();
    await assert.rejects(client.doPut(FlightDescriptor.path('full'), input), {
      name: 'FlightError',
      kind: 'resource-exhausted',
      message: 'the store is full after 1 batch',
    });
    assert.equal(putBatchesSeen, 2);
    assert.equal((await client.listActions()).length, 1);
  });
});
