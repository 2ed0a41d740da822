// Our client HTTP/2 (flight/transport/h2-connection.ts under flight/transport/grpc-client.ts) at its edges: padded
// and CONTINUATION-split frames, flow control both ways, a server's stream limit, GOAWAY, PING,
// RST_STREAM codes, TLS without h2, and hostile servers that break the protocol. Well-behaved
// servers are node:http2 (nghttp2); hostile ones are raw sockets writing bytes made here
// (test/support/h2-wire.ts), which also read back what our client answered.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { FlightClient, FlightError } from '../../flight/index.ts';
import { Http2GrpcChannel, type Http2ChannelOptions, type Http2ClientCall } from '../../flight/transport/grpc-client.ts';
import {
  FrameFlag,
  FrameTap,
  FrameType,
  RawH2Server,
  encodeFrame,
  settingsFrame,
  u32,
  type RawConnection,
  type RawScenario,
} from '../support/h2-wire.ts';
import { makeTestCertificates } from '../support/tls.ts';

const MiB = 1024 * 1024;
const KiB = 1024;
const PATH = '/test.H2/Call';
const H2_PROTOCOL_ERROR = 0x1;
const H2_FLOW_CONTROL_ERROR = 0x3;
const H2_FRAME_SIZE_ERROR = 0x6;
const H2_COMPRESSION_ERROR = 0x9;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const { NGHTTP2_REFUSED_STREAM, NGHTTP2_CANCEL, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const identity = (value: unknown) => value as Buffer;
const asBuffer = (bytes: Buffer) => bytes;

function channel(address: string, options: Partial<Http2ChannelOptions> = {}): Http2GrpcChannel {
  const made = new Http2GrpcChannel(address, {
    windowBytes: 16 * MiB,
    maxReceiveMessageBytes: 256 * MiB,
    keepaliveTimeMs: 0,
    keepaliveTimeoutMs: 20_000,
    ...options,
  });
  cleanups.push(() => made.close());
  return made;
}

interface Outcome {
  status: StatusObject;
  headers: Metadata | undefined;
  messages: Buffer[];
}

/** Reads a call to its end: every message, the response headers, the status. */
function outcome(call: Http2ClientCall): Promise<Outcome> {
  const messages: Buffer[] = [];
  let headers: Metadata | undefined;
  let status: StatusObject | undefined;
  call.on('metadata', (metadata: Metadata) => (headers = metadata));
  call.on('status', (s: StatusObject) => (status = s));
  call.on('data', (message: Buffer) => messages.push(message));
  call.on('error', () => {}); // the status says it
  return new Promise((resolve) => call.once('close', () => resolve({ status: status!, headers, messages })));
}

function serverStream(on: Http2GrpcChannel, request: Buffer = Buffer.alloc(0)): Http2ClientCall {
  return on.makeServerStreamRequest(PATH, identity, asBuffer, request, new Metadata(), {});
}

/** A message behind its gRPC prefix. */
function prefixed(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** The messages of a gRPC body. */
function splitMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.byteLength;) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

function readBody(stream: http2.ServerHttp2Stream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return once(stream, 'end').then(() => Buffer.concat(chunks));
}

/** A gRPC response on a node:http2 stream: headers, the messages, trailers with grpc-status 0. */
function respond(
  stream: http2.ServerHttp2Stream,
  messages: readonly Uint8Array[],
  extra: { headers?: http2.OutgoingHttpHeaders; trailers?: http2.OutgoingHttpHeaders } = {},
): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...extra.headers }, { waitForTrailers: true });
  stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', ...extra.trailers }));
  for (const message of messages) stream.write(prefixed(message));
  stream.end();
}

interface TestServer {
  address: string;
  port: number;
  sessions: http2.ServerHttp2Session[];
}

/** A node:http2 server on port 0 whose streams go to `handler`; closed after the file. */
async function h2Server(options: http2.ServerOptions, handler: (stream: http2.ServerHttp2Stream) => void): Promise<TestServer> {
  const server = http2.createServer(options);
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (session) => {
    sessions.push(session);
    session.on('error', () => {});
  });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    handler(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  cleanups.push(() => {
    for (const session of sessions) session.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { address: `127.0.0.1:${port}`, port, sessions };
}

async function tap(target: number): Promise<{ tap: FrameTap; address: string }> {
  const made = new FrameTap(target);
  const address = await made.listen();
  cleanups.push(() => made.close());
  return { tap: made, address };
}

async function rawServer(scenario: RawScenario): Promise<{ raw: RawH2Server; address: string }> {
  const raw = new RawH2Server(scenario);
  const address = await raw.listen();
  cleanups.push(() => raw.close());
  return { raw, address };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('frames the client must take apart', () => {
  test('padded DATA and HEADERS (nghttp2 PADDING_STRATEGY_MAX) arrive byte-identical', { timeout: 30_000 }, async () => {
    const sizes = [0, 1, 100, 16_379, 16_380, 16_384, 65_536, MiB, MiB + 7, 2 * MiB];
    const messages = sizes.map((size) => randomBytes(size));
    const server = await h2Server({ paddingStrategy: http2.constants.PADDING_STRATEGY_MAX }, (stream) => {
      respond(stream, messages, { headers: { 'x-padded': 'headers' }, trailers: { 'x-padded': 'trailers' } });
    });
    const { tap: wire, address } = await tap(server.port);

    const result = await outcome(serverStream(channel(address)));

    assert.equal(result.status.code, Status.OK, result.status.details);
    assert.equal(result.messages.length, messages.length);
    result.messages.forEach((message, i) => assert.ok(message.equals(messages[i]!), `message ${i} (${sizes[i]} bytes) differs`));
    assert.deepEqual(result.headers?.get('x-padded'), ['headers']);
    assert.deepEqual(result.status.metadata.get('x-padded'), ['trailers']);
    // The point of the test: the server really padded both kinds of frame.
    const down = wire.frames.filter((f) => f.direction === 'down');
    assert.ok(
      down.some((f) => f.type === FrameType.DATA && f.flags & FrameFlag.PADDED),
      'no padded DATA frame was sent',
    );
    assert.ok(
      down.some((f) => f.type === FrameType.HEADERS && f.flags & FrameFlag.PADDED),
      'no padded HEADERS frame was sent',
    );
  });

  test('headers and trailers over 16 KiB, split into HEADERS + CONTINUATION, arrive intact', { timeout: 30_000 }, async () => {
    const letters = (n: number) =>
      randomBytes(n)
        .toString('base64')
        .replace(/[^A-Za-z0-9]/g, 'x')
        .slice(0, n);
    const bigHeader = letters(40 * KiB);
    const bigTrailer = letters(40 * KiB);
    const server = await h2Server({ maxSendHeaderBlockLength: 256 * KiB } as http2.ServerOptions, (stream) => {
      respond(stream, [Buffer.from('body')], { headers: { 'x-big-header': bigHeader }, trailers: { 'x-big-trailer': bigTrailer } });
    });
    const { tap: wire, address } = await tap(server.port);

    const result = await outcome(serverStream(channel(address)));

    assert.equal(result.status.code, Status.OK, result.status.details);
    assert.deepEqual(result.messages.map(String), ['body']);
    assert.equal(result.headers?.get('x-big-header')[0], bigHeader);
    assert.equal(result.status.metadata.get('x-big-trailer')[0], bigTrailer);
    const down = wire.frames.filter((f) => f.direction === 'down');
    const unfinished = down.filter((f) => f.type === FrameType.HEADERS && !(f.flags & FrameFlag.END_HEADERS));
    assert.equal(unfinished.length, 2, 'both header blocks should have been split');
    assert.ok(down.filter((f) => f.type === FrameType.CONTINUATION).length >= 2, 'no CONTINUATION frames were sent');
  });
});

describe('flow control and concurrency', () => {
  test(
    'a 20 MiB upload to a slow reader with a 64 KiB window and 16 KiB frames arrives whole and in order',
    { timeout: 30_000 },
    async () => {
      const WINDOW = 64 * KiB;
      const server = await h2Server({ settings: { initialWindowSize: WINDOW, maxFrameSize: 16_384 } }, (stream) => {
        const hash = createHash('sha256');
        let bytes = 0;
        let sincePause = 0;
        stream.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.byteLength;
          sincePause += chunk.byteLength;
          if (sincePause >= 128 * KiB) {
            // Reads slowly: a pause every 128 KiB holds back the window updates.
            sincePause = 0;
            stream.pause();
            setTimeout(() => stream.resume(), 2);
          }
        });
        stream.on('end', () => respond(stream, [Buffer.from(`${bytes} ${hash.digest('hex')}`)]));
      });
      const { tap: wire, address } = await tap(server.port);

      const call = channel(address).makeBidiStreamRequest(PATH, identity, asBuffer, new Metadata(), {});
      const done = outcome(call);
      const expected = createHash('sha256');
      let sent = 0;
      const block = randomBytes(256 * KiB);
      for (let i = 0; i < 80; i++) {
        const message = Buffer.from(block);
        message.writeUInt32BE(i, 0); // each message distinct, so that reordering shows
        expected.update(prefixed(message));
        sent += 5 + message.byteLength;
        if (!call.write(message)) await once(call, 'drain');
      }
      call.end();
      const result = await done;

      assert.equal(result.status.code, Status.OK, result.status.details);
      assert.deepEqual(result.messages.map(String), [`${sent} ${expected.digest('hex')}`]);
      // What the client put on the wire kept to the frame size and to the windows the server gave.
      let peerInitial = 65_535;
      let connectionWindow = 65_535;
      const streamWindows = new Map<number, number>();
      const windowOf = (stream: number) => streamWindows.get(stream) ?? peerInitial;
      let uploaded = 0;
      for (const f of wire.frames) {
        if (f.direction === 'down' && f.type === FrameType.SETTINGS && !(f.flags & FrameFlag.ACK)) {
          for (let at = 0; at < f.payload.byteLength; at += 6) {
            if (f.payload.readUInt16BE(at) !== SETTINGS_INITIAL_WINDOW_SIZE) continue;
            const value = f.payload.readUInt32BE(at + 2);
            for (const [stream, window] of streamWindows) streamWindows.set(stream, window + value - peerInitial);
            peerInitial = value;
          }
        } else if (f.direction === 'down' && f.type === FrameType.WINDOW_UPDATE) {
          const increment = f.payload.readUInt32BE(0) & 0x7fffffff;
          if (f.stream === 0) connectionWindow += increment;
          else streamWindows.set(f.stream, windowOf(f.stream) + increment);
        } else if (f.direction === 'up' && f.type === FrameType.DATA) {
          assert.ok(f.length <= 16_384, `a ${f.length}-byte DATA frame, over the server's 16384`);
          streamWindows.set(f.stream, windowOf(f.stream) - f.length);
          connectionWindow -= f.length;
          uploaded += f.length;
          assert.ok(windowOf(f.stream) >= 0, `stream ${f.stream} overran its send window by ${-windowOf(f.stream)} bytes`);
          assert.ok(connectionWindow >= 0, `the connection send window was overrun by ${-connectionWindow} bytes`);
        }
      }
      assert.equal(peerInitial, WINDOW);
      assert.equal(uploaded, sent);
    },
  );

  test('a server allowing 2 concurrent streams gets 10 concurrent calls, all answered', { timeout: 30_000 }, async () => {
    let open = 0;
    let mostOpen = 0;
    const server = await h2Server({ settings: { maxConcurrentStreams: 2 } }, (stream) => {
      open++;
      mostOpen = Math.max(mostOpen, open);
      stream.once('close', () => open--);
      void readBody(stream).then(async (body) => {
        await delay(30); // held open, so that the limit is reached
        respond(
          stream,
          splitMessages(body).map((m) => Buffer.concat([Buffer.from('echo '), m])),
        );
      });
    });
    const client = channel(server.address);

    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => outcome(serverStream(client, Buffer.from(`call ${i}`)))));

    results.forEach((result, i) => {
      assert.equal(result.status.code, Status.OK, `call ${i}: ${result.status.details}`);
      assert.deepEqual(result.messages.map(String), [`echo call ${i}`]);
    });
    assert.equal(mostOpen, 2, 'the server saw other than 2 calls at once at most');
    assert.equal(server.sessions.length, 1, 'the calls should have shared one connection');
  });

  /**
   * A server writing `count` messages of `messageBytes` as fast as it can to a call nobody reads
   * yet: what it got out (write callbacks) and what reached the client (DATA on the wire) once it
   * stops making progress; then the call is read to the end and checked.
   */
  async function pausedReader(messageBytes: number, count: number): Promise<{ flushed: number; received: number }> {
    const pattern = (i: number) => {
      const message = Buffer.alloc(messageBytes, i);
      message.writeUInt32BE(i, 0);
      return message;
    };
    let flushed = 0;
    let serverDone = false;
    const server = await h2Server({}, (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      void (async () => {
        for (let i = 0; i < count && !stream.destroyed; i++) {
          const frame = prefixed(pattern(i));
          const more = stream.write(frame, (error) => {
            if (!error) flushed += frame.byteLength;
          });
          if (!more) await once(stream, 'drain');
        }
        stream.end();
        serverDone = true;
      })();
    });
    const { tap: wire, address } = await tap(server.port);
    const call = serverStream(channel(address));
    const status = new Promise<StatusObject>((resolve) => call.once('status', resolve));

    // Nobody reads the call. Wait until the server stops making progress.
    let last = -1;
    let still = 0;
    for (let polls = 0; polls < 100 && still < 5; polls++) {
      await delay(100);
      still = flushed === last && flushed > 0 ? still + 1 : 0;
      last = flushed;
    }
    const stalled = {
      flushed,
      received: wire.frames.reduce((sum, f) => sum + (f.direction === 'down' && f.type === FrameType.DATA ? f.length : 0), 0),
    };
    assert.ok(!serverDone && !call.finished, 'the server finished although the client read nothing');
    assert.ok(
      stalled.received >= 8 * MiB,
      `only ${stalled.received} bytes reached the client: the measure is broken or the window too small`,
    );

    let read = 0;
    for await (const message of call as AsyncIterable<Buffer>) {
      assert.ok(message.equals(pattern(read)), `message ${read} differs`);
      read++;
    }
    assert.equal(read, count);
    assert.equal((await status).code, Status.OK);
    assert.equal(flushed, count * (messageBytes + 5));
    return stalled;
  }

  test('a paused reader holds a fast writer of 64 MiB (1 MiB messages) to a bound, then reads it all', { timeout: 30_000 }, async () => {
    const { flushed, received } = await pausedReader(MiB, 64);

    assert.ok(flushed < 40 * MiB, `the server wrote ${(flushed / MiB).toFixed(1)} MiB to a client that read nothing`);
    // The call holds up to 4 MiB of unread messages (and the one that crossed the line) before it
    // pauses the stream; one 16 MiB window more may arrive after that.
    assert.ok(
      received <= 16 * MiB + 4 * MiB + 2 * (MiB + 5) + 64 * KiB,
      `${(received / MiB).toFixed(1)} MiB reached a client that read nothing`,
    );
  });

  test(
    'a paused reader holds a fast writer to about one window whatever the message size (4 MiB messages)',
    { timeout: 60_000 },
    async () => {
      const { flushed, received } = await pausedReader(4 * MiB, 32);

      assert.ok(received < 40 * MiB, `${(received / MiB).toFixed(1)} MiB reached a client that read nothing`);
      assert.ok(flushed < 40 * MiB, `the server wrote ${(flushed / MiB).toFixed(1)} MiB to a client that read nothing`);
    },
  );
});

describe('the server ends or refuses things', () => {
  test('GOAWAY while a call is open: the call completes and the next call opens a new connection', { timeout: 30_000 }, async () => {
    let calls = 0;
    const server = await h2Server({}, (stream) => {
      const first = calls++ === 0;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.write(prefixed(Buffer.from(first ? 'before goaway' : 'new connection')));
      if (!first) {
        stream.end();
        return;
      }
      stream.session!.close(); // GOAWAY now; the open stream may finish
      setTimeout(() => {
        stream.write(prefixed(Buffer.from('after goaway')));
        stream.end();
      }, 100);
    });
    const { tap: wire, address } = await tap(server.port);
    const client = channel(address);

    const first = await outcome(serverStream(client));
    assert.equal(first.status.code, Status.OK, first.status.details);
    assert.deepEqual(first.messages.map(String), ['before goaway', 'after goaway']);
    const down = wire.frames.filter((f) => f.direction === 'down');
    const goaway = down.findIndex((f) => f.type === FrameType.GOAWAY);
    const trailers = down.findIndex((f) => f.type === FrameType.HEADERS && f.stream === 1 && f.flags & FrameFlag.END_STREAM);
    assert.ok(goaway >= 0 && goaway < trailers, 'the GOAWAY should have come while the call was open');

    const second = await outcome(serverStream(client));
    assert.equal(second.status.code, Status.OK, second.status.details);
    assert.deepEqual(second.messages.map(String), ['new connection']);
    assert.equal(server.sessions.length, 2);
  });

  for (const [code, name, expected, details] of [
    [NGHTTP2_REFUSED_STREAM, 'REFUSED_STREAM', Status.UNAVAILABLE, /refused/i],
    [NGHTTP2_CANCEL, 'CANCEL', Status.CANCELLED, /cancel/i],
    [NGHTTP2_ENHANCE_YOUR_CALM, 'ENHANCE_YOUR_CALM', Status.RESOURCE_EXHAUSTED, /exhausted|exceeded/i],
  ] as const) {
    test(`RST_STREAM ${name} from the server is ${Status[expected]}`, { timeout: 30_000 }, async () => {
      const server = await h2Server({}, (stream) => stream.close(code));
      const { tap: wire, address } = await tap(server.port);

      const result = await outcome(serverStream(channel(address)));

      assert.equal(result.status.code, expected, `${Status[result.status.code]}: ${result.status.details}`);
      assert.match(result.status.details, details);
      const reset = wire.frames.find((f) => f.direction === 'down' && f.type === FrameType.RST_STREAM);
      assert.equal(reset?.payload.readUInt32BE(0), code, 'the server did not reset with the code under test');
    });
  }

  test('a PING from the server is acknowledged with the same payload (raw server)', { timeout: 30_000 }, async () => {
    const payload = Buffer.from('h2-ping!');
    const { raw, address } = await rawServer({
      onFrame(connection, frame) {
        if (frame.type === FrameType.SETTINGS && !(frame.flags & FrameFlag.ACK))
          connection.write(encodeFrame(FrameType.PING, 0, 0, payload));
      },
    });
    const client = channel(address);
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())));

    const ack = await within(
      raw.connections[0]!.frame((f) => f.type === FrameType.PING),
      5000,
      'the PING acknowledgement',
    );

    assert.equal(ack.flags & FrameFlag.ACK, FrameFlag.ACK);
    assert.equal(ack.stream, 0);
    assert.ok(ack.payload.equals(payload), `acknowledged ${ack.payload.toString('hex')}`);
  });

  test('a PING from a node:http2 server gets its round trip measured', { timeout: 30_000 }, async () => {
    const server = await h2Server({}, (stream) => respond(stream, []));
    const client = channel(server.address);
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 5000, (error) => (error ? reject(error) : resolve())));
    const payload = Buffer.from('01234567');

    const echoed = await new Promise<Buffer>((resolve, reject) => {
      server.sessions[0]!.ping(payload, (error, _duration, back) => (error ? reject(error) : resolve(back)));
    });

    assert.ok(echoed.equals(payload));
  });
});

describe('hostile servers', () => {
  const GOAWAY = FrameType.GOAWAY;

  /** A raw server that answers every request HEADERS with `reply`. */
  const onRequest = (reply: (connection: RawConnection, stream: number) => void): RawScenario => ({
    onFrame(connection, frame) {
      if (frame.type === FrameType.HEADERS) reply(connection, frame.stream);
    },
  });

  interface Hostile {
    name: string;
    scenario: RawScenario;
    kind: 'unavailable' | 'internal';
    message: RegExp;
    /** The client's GOAWAY code, for a connection error; undefined for a stream error. */
    goaway: number | undefined;
  }

  const cases: Hostile[] = [
    {
      name: '(a) an HTTP/1.1 400 answer',
      scenario: { onConnect: (connection) => connection.write(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')) },
      kind: 'unavailable',
      message: /did not begin with HTTP\/2 SETTINGS/,
      goaway: H2_PROTOCOL_ERROR,
    },
    {
      name: '(b) DATA on stream 0',
      scenario: onRequest((connection) => connection.write(encodeFrame(FrameType.DATA, 0, 0, Buffer.from('x')))),
      kind: 'unavailable',
      message: /DATA on stream 0/,
      goaway: H2_PROTOCOL_ERROR,
    },
    {
      name: '(c) a frame over the 1 MiB maximum frame size the client announced',
      scenario: onRequest((connection, stream) => {
        const head = encodeFrame(FrameType.DATA, 0, stream);
        head.writeUIntBE(MiB + 1, 0, 3);
        connection.write(Buffer.concat([head, Buffer.alloc(64 * KiB)]));
      }),
      kind: 'unavailable',
      message: /1048577-byte frame/,
      goaway: H2_FRAME_SIZE_ERROR,
    },
    {
      name: '(d) HEADERS with an HPACK index past the table',
      scenario: onRequest((connection, stream) => {
        connection.write(encodeFrame(FrameType.HEADERS, FrameFlag.END_HEADERS, stream, Buffer.from([0x80 | 70])));
      }),
      kind: 'unavailable',
      message: /header block we cannot decode/,
      goaway: H2_COMPRESSION_ERROR,
    },
    {
      name: '(e) a WINDOW_UPDATE that overflows the connection window',
      scenario: onRequest((connection) => connection.write(encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)))),
      kind: 'unavailable',
      message: /connection window past 2\^31-1/,
      goaway: H2_FLOW_CONTROL_ERROR,
    },
    {
      name: '(f) DATA on a stream the client never opened',
      scenario: onRequest((connection, stream) => connection.write(encodeFrame(FrameType.DATA, 0, stream + 2, Buffer.from('x')))),
      kind: 'unavailable',
      message: /DATA on stream \d+, which we never opened/,
      goaway: H2_PROTOCOL_ERROR,
    },
    {
      name: '(g) response DATA before the response HEADERS',
      scenario: onRequest((connection, stream) => connection.write(encodeFrame(FrameType.DATA, 0, stream, prefixed(Buffer.from('early'))))),
      kind: 'internal',
      message: /DATA before its response headers/,
      goaway: undefined,
    },
  ];

  for (const hostile of cases) {
    test(hostile.name, { timeout: 30_000 }, async () => {
      const { raw } = await rawServer(hostile.scenario);
      const client = new FlightClient(`grpc://127.0.0.1:${raw.port}`, { transport: 'http2' });
      cleanups.push(() => client.close());

      const failure = async () => {
        const error = await client.listActions().then(
          () => assert.fail('the call succeeded'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof FlightError, `not a FlightError: ${String(error)}`);
        assert.equal(error.kind, hostile.kind, error.message);
        assert.match(error.message, hostile.message);
      };

      await failure();
      const first = raw.connections[0]!;
      if (hostile.goaway !== undefined) {
        await within(
          first.frame((f) => f.type === GOAWAY),
          5000,
          "the client's GOAWAY",
        );
        assert.equal(first.goaway?.code, hostile.goaway);
        assert.match(first.goaway?.debug ?? '', hostile.message);
      } else {
        const reset = await within(
          first.frame((f) => f.type === FrameType.RST_STREAM),
          5000,
          "the client's RST_STREAM",
        );
        assert.equal(reset.payload.readUInt32BE(0), H2_PROTOCOL_ERROR);
        assert.equal(first.goaway, undefined, 'a stream error should not close the connection');
      }

      // The client lives on: the next call fails the same way, on a fresh connection after a
      // connection error, on the same one after a stream error.
      await failure();
      assert.equal(raw.connections.length, hostile.goaway === undefined ? 1 : 2);
    });
  }

  test('a protocol error in the same read as the server SETTINGS is named in the status', { timeout: 30_000 }, async () => {
    const { raw } = await rawServer({
      onConnect: (connection) => connection.write(Buffer.concat([settingsFrame(), encodeFrame(FrameType.DATA, 0, 0, Buffer.from('x'))])),
    });
    const client = channel(`127.0.0.1:${raw.port}`);

    const result = await outcome(serverStream(client));

    assert.equal(result.status.code, Status.UNAVAILABLE);
    assert.match(result.status.details, /DATA on stream 0/);
  });
});

describe('TLS', () => {
  const certs = makeTestCertificates();
  after(() => certs.remove());

  async function tlsServer(alpn: string[] | undefined): Promise<number> {
    const server = tls.createServer({ key: certs.serverKey, cert: certs.serverCert, ...(alpn ? { ALPNProtocols: alpn } : {}) });
    const sockets = new Set<net.Socket>();
    server.on('connection', (socket: net.Socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return (server.address() as net.AddressInfo).port;
  }

  // Node's TLS server aborts the handshake when no protocol matches (alert 120), so the client
  // only hears OpenSSL's words for it; a server with no ALPN completes the handshake and our
  // client's own check speaks.
  for (const [what, alpn, message] of [
    ['a server whose ALPN offers only http/1.1', ['http/1.1'], /no application protocol/],
    ['a server with no ALPN at all', undefined, /did not agree to HTTP\/2 over TLS \(ALPN gave nothing\)/],
  ] as const) {
    test(`${what} fails the call, saying why`, { timeout: 30_000 }, async () => {
      const port = await tlsServer(alpn ? [...alpn] : undefined);
      const client = channel(`127.0.0.1:${port}`, { tls: { rootCerts: certs.ca } });

      const result = await outcome(serverStream(client));

      assert.equal(result.status.code, Status.UNAVAILABLE, result.status.details);
      assert.match(result.status.details, message);
    });
  }
});
