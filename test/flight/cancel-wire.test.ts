// A cancelled call on the wire. A DoPut whose source fails must reach the server as RST_STREAM
// (CANCEL) alone: were END_STREAM to go first, the server would see a complete upload and commit
// the part it had. A TCP relay between our client and server reads the client's HTTP/2 frames
// and keeps, per stream, the order of END_STREAM and RST_STREAM.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordBatch, Table, makeVector } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, FlightServer } from '../../flight/index.ts';
import { FrameTap, FrameType } from '../support/h2-wire.ts';

const FLAG_END_STREAM = 0x1;
const NGHTTP2_CANCEL = 8;

type WireEvent = { kind: 'end-stream' } | { kind: 'rst-stream'; code: number };

/** What each stream the client opened sent through the tap, in order: END_STREAM, RST_STREAM. */
function clientStreams(tap: FrameTap): Map<number, WireEvent[]> {
  const streams = new Map<number, WireEvent[]>();
  for (const frame of tap.frames) {
    if (frame.direction !== 'up' || frame.stream === 0) continue;
    const events = streams.get(frame.stream) ?? [];
    if ((frame.type === FrameType.DATA || frame.type === FrameType.HEADERS) && frame.flags & FLAG_END_STREAM)
      events.push({ kind: 'end-stream' });
    if (frame.type === FrameType.RST_STREAM) events.push({ kind: 'rst-stream', code: frame.payload.readUInt32BE(0) });
    streams.set(frame.stream, events);
  }
  return streams;
}

function batch(first: number): RecordBatch {
  return new Table({ i: makeVector(Int32Array.from({ length: 1000 }, (_, k) => first + k)) }).batches[0]!;
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const transport of ['http2', 'node-http2'] as const) {
  describe(`${transport}: a cancelled call resets its stream without half-closing it first`, () => {
    let server: FlightServer;
    let relay: FrameTap;
    let client: FlightClient;
    /** How each DoPut ended on the server: 'complete' (the input ended) or 'cancelled'. */
    const outcomes: string[] = [];
    /** DoPut handlers started so far: a source fails only once its call has reached the server. */
    let started = 0;

    before(async () => {
      server = new FlightServer({
        async doPut(reader, context) {
          started++;
          let rows = 0;
          try {
            for await (const b of reader) rows += b.numRows;
          } catch {
            outcomes.push('cancelled');
            throw FlightError.cancelled('the upload was cancelled');
          }
          outcomes.push(context.signal.aborted ? 'cancelled' : 'complete');
          return [new TextEncoder().encode(String(rows))];
        },
      });
      const port = await server.listen('127.0.0.1', 0);
      relay = new FrameTap(port);
      client = new FlightClient(`grpc://${await relay.listen()}`, { transport });
    });
    after(async () => {
      client.close();
      await relay.close();
      await server.close(100);
    });

    /** The events of the streams opened since `known`, in stream-id order. */
    const newStreams = (known: Set<number>) =>
      [...clientStreams(relay).entries()].filter(([id]) => !known.has(id)).map(([, events]) => events);

    test('a DoPut whose source fails: RST_STREAM(CANCEL), no END_STREAM, and the server sees a cancellation', async () => {
      for (let round = 0; round < 20; round++) {
        const known = new Set(clientStreams(relay).keys());
        const before = outcomes.length;
        const startedBefore = started;
        const source = (async function* () {
          yield batch(0);
          yield batch(1000);
          // The writer is idle (nothing pending) and the server holds the call.
          await until(() => started > startedBefore, 'the server handler to start');
          throw new Error('the source failed');
        })();
        await assert.rejects(client.doPut(FlightDescriptor.path('t'), source), /the source failed/);
        await until(() => outcomes.length > before, 'the server handler to finish');
        assert.equal(outcomes.at(-1), 'cancelled', `round ${round}: the server took a failed upload for a complete one`);
        const [events] = newStreams(known);
        assert.deepEqual(events, [{ kind: 'rst-stream', code: NGHTTP2_CANCEL }], `round ${round}`);
      }
    });

    test('a DoPut aborted by its AbortSignal: the same', async () => {
      const known = new Set(clientStreams(relay).keys());
      const before = outcomes.length;
      const startedBefore = started;
      const controller = new AbortController();
      const source = (async function* () {
        yield batch(0);
        await until(() => started > startedBefore, 'the server handler to start');
        controller.abort(new Error('stop'));
        await new Promise((resolve) => setTimeout(resolve, 1000));
        yield batch(1);
      })();
      await assert.rejects(client.doPut(FlightDescriptor.path('t'), source, { signal: controller.signal }), (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.equal(error.kind, 'cancelled');
        return true;
      });
      await until(() => outcomes.length > before, 'the server handler to finish');
      assert.equal(outcomes.at(-1), 'cancelled');
      assert.deepEqual(newStreams(known)[0], [{ kind: 'rst-stream', code: NGHTTP2_CANCEL }]);
    });

    test('an aborted DoPut rejects while its source is still waiting for its next batch', { timeout: 30_000 }, async () => {
      const before = outcomes.length;
      const startedBefore = started;
      const controller = new AbortController();
      let released: () => void = () => {};
      const stuck = new Promise<void>((resolve) => (released = resolve));
      const source = (async function* () {
        yield batch(0);
        await until(() => started > startedBefore, 'the server handler to start');
        controller.abort(new Error('stop'));
        await stuck; // resolved only after doPut has rejected: a doPut that waited for it would hang
        yield batch(1);
      })();
      await assert.rejects(client.doPut(FlightDescriptor.path('t'), source, { signal: controller.signal }), (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.equal(error.kind, 'cancelled');
        return true;
      });
      released();
      await until(() => outcomes.length > before, 'the server handler to finish');
      assert.equal(outcomes.at(-1), 'cancelled');
    });

    test('a DoPut that completes half-closes with END_STREAM and is never reset', async () => {
      const known = new Set(clientStreams(relay).keys());
      const results = await client.doPut(FlightDescriptor.path('t'), [batch(0), batch(1000)]);
      assert.equal(new TextDecoder().decode(results[0]), '2000');
      assert.equal(outcomes.at(-1), 'complete');
      assert.deepEqual(newStreams(known)[0], [{ kind: 'end-stream' }]);
    });
  });
}
