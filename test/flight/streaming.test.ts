// Streams under stress: cancellation from either side, deadlines, backpressure against a slow
// reader, an exchange whose client writes everything before reading, and headers and trailers.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { setTimeout as sleep } from 'node:timers/promises';
import { Metadata } from '@grpc/grpc-js';
import { RecordBatch, Schema, Table, makeVector, type Int32 } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, FlightServer, type CallContext, type FlightOutput } from '../../flight/index.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** A batch of `values` int32s (4 bytes each) whose first value is `index`. */
function numberedBatch(index: number, values = 16): RecordBatch<{ i: Int32 }> {
  const data = new Int32Array(values);
  data[0] = index;
  return new Table({ i: makeVector(data) }).batches[0]! as RecordBatch<{ i: Int32 }>;
}

/** Resolves when `predicate` holds, polling; rejects after `ms` naming what it waited for. */
async function eventually(predicate: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** What the server's producers saw: how far they got and whether they were stopped. */
interface ProducerLog {
  produced: number;
  stopped: boolean;
  signalAborted: boolean;
}

function endlessProducer(log: ProducerLog, context: CallContext, values = 16): FlightOutput {
  return (async function* () {
    try {
      for (let i = 0; ; i++) {
        log.produced = i + 1;
        yield numberedBatch(i, values);
      }
    } finally {
      log.stopped = true;
      log.signalAborted = context.signal.aborted;
    }
  })();
}

/** Waits on `signal` (never on a timer): the handler is held until the call ends. */
function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

describe('cancellation and deadlines', () => {
  let server: FlightServer;
  let client: FlightClient;
  const logs = new Map<string, ProducerLog>();
  const log = (key: string) => {
    const entry = { produced: 0, stopped: false, signalAborted: false };
    logs.set(key, entry);
    return entry;
  };

  before(async () => {
    server = new FlightServer({
      doGet(ticket, context) {
        const key = text.decode(ticket);
        if (key.startsWith('slow')) {
          const entry = log(key);
          return (async function* () {
            try {
              entry.produced = 1;
              yield numberedBatch(0);
              await untilAborted(context.signal); // a query that takes forever
              yield numberedBatch(1);
            } finally {
              entry.stopped = true;
              entry.signalAborted = context.signal.aborted;
            }
          })();
        }
        return endlessProducer(log(key), context);
      },
      async getFlightInfo(_descriptor, context) {
        const entry = log('unary');
        await untilAborted(context.signal);
        entry.signalAborted = true;
        throw FlightError.internal('unreachable: the client is gone');
      },
      doExchange(reader) {
        return (async function* () {
          let n = 0;
          for await (const batch of reader) {
            if (++n > 3) throw FlightError.invalidArgument(`the server stops at batch ${n}`);
            yield batch;
          }
        })();
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('an AbortSignal mid-DoGet stops the server-side producer', async () => {
    const controller = new AbortController();
    const reader = client.doGet('abort', { signal: controller.signal });
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const batch of reader) {
          assert.equal(batch.getChild('i')!.get(0), received);
          if (++received === 5) controller.abort(new Error('enough'));
        }
      })(),
      (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.equal(error.kind, 'cancelled');
        assert.match(error.message, /cancelled.*enough/);
        return true;
      },
    );
    assert.ok(received >= 5);
    const entry = logs.get('abort')!;
    await eventually(() => entry.stopped, "the producer's return()");
    assert.equal(entry.signalAborted, true, 'the handler saw context.signal abort');
    await eventually(() => server.activeCalls === 0, 'the call to finish on the server');
  });

  test('closing the reader early stops the server-side producer', async () => {
    const reader = client.doGet('close');
    const chunks = reader.chunks();
    for (let i = 0; i < 3; i++) assert.equal((await chunks.next()).value!.batch!.getChild('i')!.get(0), i);
    await reader.close();
    const entry = logs.get('close')!;
    await eventually(() => entry.stopped, "the producer's return()");
    assert.equal(entry.signalAborted, true);
  });

  test('breaking out of for-await stops the server-side producer', async () => {
    let seen = 0;
    for await (const batch of client.doGet('break')) {
      assert.equal(batch.getChild('i')!.get(0), seen);
      if (++seen === 2) break;
    }
    const entry = logs.get('break')!;
    await eventually(() => entry.stopped, "the producer's return()");
  });

  test('a DoGet deadline: DEADLINE_EXCEEDED, and the waiting producer is stopped', async () => {
    const started = Date.now();
    const reader = client.doGet('slow-deadline', { deadline: 300 });
    const seen: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const batch of reader) seen.push(batch.getChild('i')!.get(0)!);
      })(),
      (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.equal(error.kind, 'deadline-exceeded', `${error.kind}: ${error.message}`);
        return true;
      },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 5000, `the deadline fired after ${elapsed} ms`);
    assert.deepEqual(seen, [0], 'the batch before the wait arrived');
    const entry = logs.get('slow-deadline')!;
    await eventually(() => entry.stopped, "the producer's return()");
    assert.equal(entry.signalAborted, true);
  });

  test('a unary deadline: DEADLINE_EXCEEDED, and the handler sees its signal abort', async () => {
    await assert.rejects(client.getFlightInfo(FlightDescriptor.path('x'), { deadline: new Date(Date.now() + 200) }), {
      name: 'FlightError',
      kind: 'deadline-exceeded',
    });
    await eventually(() => logs.get('unary')?.signalAborted === true, 'the unary handler to see the abort');
  });

  test('an already-aborted signal cancels before anything is read', async () => {
    const controller = new AbortController();
    controller.abort(new Error('never mind'));
    await assert.rejects(client.doGet('pre-aborted', { signal: controller.signal }).readAll(), { name: 'FlightError', kind: 'cancelled' });
  });

  test('a server handler throwing mid-exchange stops the client-side input', async () => {
    let yielded = 0;
    let inputStopped = false;
    const input = (async function* () {
      try {
        for (;;) {
          yield numberedBatch(yielded++);
          await sleep(1);
        }
      } finally {
        inputStopped = true;
      }
    })();
    const echoed: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const batch of client.exchange(FlightDescriptor.command('x'), input)) echoed.push(batch.getChild('i')!.get(0)!);
      })(),
      { name: 'FlightError', kind: 'invalid-argument', message: 'the server stops at batch 4' },
    );
    assert.deepEqual(echoed, [0, 1, 2]);
    await eventually(() => inputStopped, "the client's input iterator to be stopped");
    assert.ok(yielded < 1000, `input kept going: ${yielded} batches`);
  });
});

describe('backpressure', () => {
  const BATCH_VALUES = 256 * 1024; // 1 MiB of int32 per batch
  let server: FlightServer;
  let client: FlightClient;
  const state = { produced: 0, consumed: 0, maxAhead: 0, putReceived: 0, putProduced: 0, putMaxAhead: 0 };

  before(async () => {
    server = new FlightServer({
      doGet(ticket) {
        const total = Number(text.decode(ticket));
        return (async function* () {
          // A fresh buffer per batch: a batch handed to the writer may be sent from later (no copy).
          for (let i = 0; i < total; i++) {
            const data = new Int32Array(BATCH_VALUES);
            data[0] = i;
            state.produced = i + 1;
            state.maxAhead = Math.max(state.maxAhead, state.produced - state.consumed);
            yield new Table({ i: makeVector(data) }).batches[0]!;
          }
        })();
      },
      async *doPut(reader) {
        for await (const batch of reader) {
          assert.equal(batch.getChild('i')!.get(0), state.putReceived);
          state.putReceived++;
          state.putMaxAhead = Math.max(state.putMaxAhead, state.putProduced - state.putReceived);
          await sleep(2); // a slow sink
        }
        yield utf8.encode(`${state.putReceived}`);
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('a slow reader of a 200 MB DoGet holds the producer back', async (t) => {
    const total = 200;
    let bytes = 0;
    for await (const batch of client.doGet(String(total))) {
      assert.equal(batch.getChild('i')!.get(0), state.consumed);
      bytes += batch.getChild('i')!.data[0]!.values.byteLength;
      state.consumed++;
      if (state.consumed % 4 === 0) await sleep(8); // about 0.4 s of reading
    }
    assert.equal(state.consumed, total);
    assert.equal(bytes, total * BATCH_VALUES * 4);
    // In flight at most: the server's 8 MiB write buffer, the client's 16 MiB flow-control
    // window, grpc-js's small read queue and the sockets. Without backpressure the producer
    // would finish all 200 batches while the reader is still at the start.
    t.diagnostic(`the producer ran at most ${state.maxAhead} batches (1 MiB each) ahead of the reader`);
    assert.ok(state.maxAhead <= 48, `the producer ran ${state.maxAhead} batches ahead of the reader`);
    assert.ok(state.maxAhead >= 2, `the producer never got ahead (${state.maxAhead}): the test measures nothing`);
  });

  test('a slow DoPut handler holds the client-side producer back', async (t) => {
    const total = 100;
    const input = (function* () {
      for (let i = 0; i < total; i++) {
        const data = new Int32Array(BATCH_VALUES);
        data[0] = i;
        state.putProduced = i + 1;
        yield new Table({ i: makeVector(data) }).batches[0]!;
      }
    })();
    const results = await client.doPut(FlightDescriptor.path('slow-sink'), input);
    assert.deepEqual(
      results.map((r) => text.decode(r)),
      [String(total)],
    );
    assert.equal(state.putReceived, total);
    // The server reads 8 messages ahead; add the client's 8 MiB write buffer, the window, sockets.
    t.diagnostic(`the client produced at most ${state.putMaxAhead} batches ahead of the handler`);
    assert.ok(state.putMaxAhead <= 48, `the client produced ${state.putMaxAhead} batches ahead of the handler`);
    assert.ok(state.putMaxAhead >= 2, `the client never got ahead (${state.putMaxAhead})`);
  });
});

describe('DoExchange whose client writes everything before reading', () => {
  let server: FlightServer;
  let client: FlightClient;

  before(async () => {
    server = new FlightServer({
      doExchange(reader) {
        return (async function* () {
          for await (const chunk of reader.chunks()) yield chunk;
        })();
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`);
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('64 MB in, then all of it echoed back (no deadlock)', async () => {
    const batches = 64;
    const values = 256 * 1024; // 1 MiB each
    const exchange = client.doExchange(FlightDescriptor.command('echo'), { deadline: 60_000 });
    for (let i = 0; i < batches; i++) {
      const data = new Int32Array(values);
      data[0] = i;
      data[values - 1] = -i;
      await exchange.write(new Table({ i: makeVector(data) }).batches[0]!, utf8.encode(`m${i}`));
    }
    exchange.end();
    let n = 0;
    for await (const chunk of exchange.reader.chunks()) {
      const column = chunk.batch!.getChild('i')!;
      assert.equal(column.length, values);
      assert.deepEqual([column.get(0), column.get(values - 1)], [n, n === 0 ? 0 : -n]);
      assert.equal(text.decode(chunk.appMetadata!), `m${n}`);
      n++;
    }
    assert.equal(n, batches);
  });
});

describe('the server receive window', () => {
  /**
   * The windows a plain HTTP/2 client is given by a FlightServer: per stream (SETTINGS) and for
   * the connection (a WINDOW_UPDATE after the first SETTINGS). Waits up to 5 s for them to reach
   * `expected`.
   */
  async function announced(
    options: ConstructorParameters<typeof FlightServer>[1],
    expected: number,
  ): Promise<{ stream: number | undefined; connection: number | undefined }> {
    const server = new FlightServer({}, options);
    const port = await server.listen('127.0.0.1', 0);
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once('remoteSettings', () => resolve());
        session.once('error', reject);
      });
      const seen = () => ({ stream: session.remoteSettings.initialWindowSize, connection: session.state.remoteWindowSize });
      for (let waited = 0; waited < 5000 && (seen().stream !== expected || seen().connection !== expected); waited += 10) await sleep(10);
      return seen();
    } finally {
      session.destroy();
      await server.close(100);
    }
  }

  test('http2: 4 MiB per stream and per connection unless told otherwise, so uploads are not held to 64 KiB per round trip', async () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(await announced({ transport: 'http2' }, 4 * MiB), { stream: 4 * MiB, connection: 4 * MiB });
    assert.deepEqual(await announced({ transport: 'http2', flowControlWindow: MiB }, MiB), { stream: MiB, connection: MiB });
  });

  // grpc-js's server has no option for its window, and we no longer reach into its private fields.
  test("grpc-js: HTTP/2's own 64 KiB, whatever flowControlWindow says", async () => {
    assert.deepEqual(await announced({ transport: 'grpc-js', flowControlWindow: 4 * 1024 * 1024 }, 65_535), {
      stream: 65_535,
      connection: 65_535,
    });
  });
});

describe('headers and trailers', () => {
  let server: FlightServer;
  let client: FlightClient;
  const seenHeaders: Record<string, unknown> = {};

  before(async () => {
    const trail = (context: CallContext, value: string) => context.trailers.set('x-trailer', value);
    server = new FlightServer({
      doGet(_ticket, context) {
        seenHeaders.doGet = [context.headers.get('x-call')[0], context.headers.get('x-client')[0]];
        trail(context, 'doGet');
        return [numberedBatch(0), numberedBatch(1)];
      },
      doExchange(reader, context) {
        trail(context, 'doExchange');
        return (async function* () {
          for await (const batch of reader) yield batch;
        })();
      },
      async *doPut(reader, context) {
        trail(context, 'doPut');
        for await (const _ of reader);
        yield utf8.encode('ok');
      },
      getFlightInfo(descriptor, context) {
        trail(context, 'getFlightInfo');
        if (descriptor.type === 'path' && descriptor.path[0] === 'fail') throw FlightError.notFound('no info, with trailers');
        return { schema: new Schema([]), descriptor, endpoints: [], totalRecords: -1, totalBytes: -1 };
      },
      async *doAction(action, context) {
        trail(context, 'doAction');
        if (action.type === 'fail') throw FlightError.notFound('gone, with trailers');
        yield action.body;
      },
    });
    const port = await server.listen('127.0.0.1', 0);
    client = new FlightClient(`grpc://127.0.0.1:${port}`, { headers: { 'x-client': 'every-call' } });
  });
  after(async () => {
    client.close();
    await server.close(100);
  });

  test('DoGet: request headers reach the handler; response headers and trailers reach the client', async () => {
    const events: string[] = [];
    const reader = client.doGet('t', {
      headers: { 'x-call': 'this-call' },
      onHeaders: () => events.push('headers'),
      onTrailers: (md) => events.push(`trailers:${String(md.get('x-trailer')[0])}`),
    });
    const table = await reader.readAll();
    assert.equal(table.numRows, 32);
    assert.deepEqual(seenHeaders.doGet, ['this-call', 'every-call']);
    assert.ok((await reader.headers) instanceof Metadata);
    assert.deepEqual((await reader.trailers).get('x-trailer'), ['doGet']);
    assert.deepEqual(events, ['headers', 'trailers:doGet']);
  });

  test('DoExchange: trailers on the reader', async () => {
    const reader = client.exchange(FlightDescriptor.command('x'), [numberedBatch(7)]);
    const table = await reader.readAll();
    assert.equal(table.getChild('i')!.get(0), 7);
    assert.deepEqual((await reader.trailers).get('x-trailer'), ['doExchange']);
  });

  test('DoPut, GetFlightInfo and DoAction: trailers through onTrailers', async () => {
    const got: string[] = [];
    const onTrailers = (md: Metadata) => got.push(String(md.get('x-trailer')[0]));
    await client.doPut(FlightDescriptor.path('p'), [numberedBatch(1)], { onTrailers });
    await client.getFlightInfo(FlightDescriptor.path('p'), { onTrailers });
    for await (const _ of client.doAction('echo', 'x', { onTrailers }));
    assert.deepEqual(got, ['doPut', 'getFlightInfo', 'doAction']);
  });

  test('trailers a handler set before failing still arrive with the error', async () => {
    let trailers: Metadata | undefined;
    await assert.rejects(
      (async () => {
        for await (const _ of client.doAction('fail', '', { onTrailers: (md) => (trailers = md) }));
      })(),
      { name: 'FlightError', kind: 'not-found', message: 'gone, with trailers' },
    );
    assert.deepEqual(trailers?.get('x-trailer'), ['doAction']);
    await assert.rejects(client.getFlightInfo(FlightDescriptor.path('fail')), (error: unknown) => {
      assert.ok(error instanceof FlightError);
      assert.equal(error.message, 'no info, with trailers');
      assert.deepEqual(error.metadata?.get('x-trailer'), ['getFlightInfo']);
      return true;
    });
  });
});
