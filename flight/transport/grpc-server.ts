// A gRPC server written directly on node:http2: the transport FlightServer uses by default in
// place of grpc-js's Server. gRPC over HTTP/2 as the protocol document describes it: a POST with
// content-type application/grpc, messages each behind a 5-byte prefix (compressed flag, length),
// grpc-timeout as the deadline, metadata as headers (-bin ones base64), the status in trailers
// (grpc-status, grpc-message), a trailers-only response when a call fails before it sent
// anything, RST_STREAM as the client's cancellation.
//
// Why not grpc-js: its server copies every outgoing message into a frame of its own and runs
// several layers of interceptors per message; on a DoGet over loopback that was about 1.5 CPU
// seconds per GB more than node:http2 itself (bench/loopback.ts). Here an outgoing message goes
// to HTTP/2 as it is, behind a 5-byte prefix written beside it, and its write completes only
// once HTTP/2 has sent it: backpressure is HTTP/2's own flow control.
//
// The calls handed to handlers have the parts of grpc-js's call objects that FlightServer uses
// (request, metadata, getPeer, sendMetadata, write with a callback, end with trailers, a
// 'cancelled' event, readable messages), so the Flight handlers are the same on either transport.

import http2 from 'node:http2';
import { lookup } from 'node:dns/promises';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { SERVER_MAX_FRAME_BYTES } from '../defaults.ts';
import {
  Metadata,
  status as Status,
  type ChannelOptions,
  type MethodDefinition,
  type ServiceDefinition,
  type StatusObject,
} from '@grpc/grpc-js';

/** gRPC's message prefix: a compressed flag and a 32-bit big-endian length. */
export const GRPC_PREFIX = 5;

/** Writes an uncompressed message's prefix (flag 0, then its length) at the start of `frame`. */
export function writePrefix(frame: Buffer, messageLength: number): void {
  frame[0] = 0;
  frame.writeUInt32BE(messageLength, 1);
}

const {
  HTTP2_HEADER_STATUS,
  HTTP2_HEADER_CONTENT_TYPE,
  HTTP2_HEADER_METHOD,
  HTTP2_HEADER_PATH,
  HTTP2_HEADER_TE,
  HTTP2_HEADER_ACCEPT_ENCODING,
  NGHTTP2_CANCEL,
  NGHTTP2_NO_ERROR,
} = http2.constants;

/** Options the transport reads from grpc-js's channel options, so FlightServer's options keep their meaning. */
interface TransportSettings {
  maxReceiveMessageBytes: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  maxConcurrentStreams: number | undefined;
  /** nghttp2's memory budget per connection, in MiB ('grpc-node.max_session_memory', as grpc-js reads it). */
  maxSessionMemoryMb: number;
}

/**
 * What the server checks of a call before it sets anything up for it: a client that opens
 * streams it never uses holds a few KB each (50,000 silent DoAction streams grew a server by
 * 192 MB), so those it can refuse from the headers are refused there, and the rest are closed
 * if their request does not come.
 */
export interface CallAdmission {
  /** The status of a call refused from its path and headers alone, or null to let it in. */
  refuse?: ((path: string, metadata: Metadata) => Partial<StatusObject> | null) | undefined;
  /**
   * A call whose first request message (the whole request, for unary and server-streaming
   * methods) has not arrived this long after its headers is closed with DEADLINE_EXCEEDED.
   * 0 or undefined: no limit.
   */
  firstMessageTimeoutMs?: number | undefined;
}

/**
 * The largest DATA frame we take. HTTP/2's 16 KiB means a frame header, and for a client that
 * writes from JavaScript a write or a copy, every 16 KiB of an upload; nghttp2 reads larger
 * frames as cheaply.
 */
const MAX_FRAME_BYTES = SERVER_MAX_FRAME_BYTES;

function settingsFrom(options: ChannelOptions): TransportSettings {
  const number = (key: string, fallback: number) => {
    const value = options[key];
    return typeof value === 'number' ? value : fallback;
  };
  const maxReceive = number('grpc.max_receive_message_length', 4 * 1024 * 1024);
  const concurrent = options['grpc.max_concurrent_streams'];
  return {
    maxReceiveMessageBytes: maxReceive < 0 ? Infinity : maxReceive,
    keepaliveTimeMs: number('grpc.keepalive_time_ms', 2 * 60 * 60 * 1000),
    keepaliveTimeoutMs: number('grpc.keepalive_timeout_ms', 20_000),
    maxConcurrentStreams: typeof concurrent === 'number' ? concurrent : undefined,
    maxSessionMemoryMb: number('grpc-node.max_session_memory', Number.MAX_SAFE_INTEGER),
  };
}

export interface GrpcTlsOptions {
  cert: Buffer;
  key: Buffer;
  /** Client certificates are checked against this CA (mutual TLS). */
  clientCa?: Buffer | undefined;
  /** Refuse clients without a certificate signed by clientCa. */
  requireClientCert?: boolean | undefined;
}

/** The status of a call closed by CallAdmission.firstMessageTimeoutMs. */
export function firstMessageTimeout(ms: number, requestStream: boolean): StatusObject {
  const what = requestStream ? 'no request message came' : 'the request did not come';
  return {
    code: Status.DEADLINE_EXCEEDED,
    details: `${what} within ${ms} ms of the call's headers; the server closes such calls (firstMessageTimeoutMs)`,
    metadata: new Metadata(),
  };
}

/** A unary handler answers through the callback, as grpc-js's do. */
export type UnaryCallback = (error: Partial<StatusObject> | null, value?: unknown, trailers?: Metadata) => void;
export type Http2Handler = (call: Http2ServerCall, callback: UnaryCallback) => void;

/**
 * Percent-encodes a status message as the gRPC spec asks (anything outside printable ASCII, and
 * '%'), and a space at either end: HTTP/2 forbids a header value that starts or ends with one,
 * and Node's client dropped such a grpc-message altogether.
 */
function encodeGrpcMessage(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    const plain = byte > 0x20 && byte <= 0x7e && byte !== 0x25;
    const innerSpace = byte === 0x20 && i > 0 && i < bytes.length - 1;
    out += plain || innerSpace ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const TIMEOUT_UNITS_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

const traceEnabled = (tracer: string) => {
  const names = (process.env.GRPC_TRACE ?? '').split(',').map((s) => s.trim());
  return names.includes('all') || names.includes(tracer);
};
const KEEPALIVE_TRACE = traceEnabled('keepalive');
function keepaliveTrace(text: string): void {
  if (KEEPALIVE_TRACE) process.stderr.write(`${new Date().toISOString()} | flight-http2 ${process.pid} | keepalive | ${text}\n`);
}

/**
 * Splits a stream of HTTP/2 DATA chunks into gRPC messages. Each message is copied once, into a
 * buffer holding its whole frame (prefix included), and handed on as a view 5 bytes in: the same
 * placement grpc-js uses, on which FlightData's 8-byte alignment of the body relies.
 */
export class MessageSplitter {
  private prefix = Buffer.alloc(GRPC_PREFIX);
  private prefixFilled = 0;
  private frame: Buffer | null = null;
  private filled = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onMessage: (message: Buffer, compressed: boolean) => void,
    private readonly onTooLarge: (length: number) => void,
  ) {}

  /** True while part of a message is still expected. */
  get partial(): boolean {
    return this.prefixFilled > 0 || this.frame !== null;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.frame === null) {
        const take = Math.min(GRPC_PREFIX - this.prefixFilled, chunk.byteLength - at);
        chunk.copy(this.prefix, this.prefixFilled, at, at + take);
        this.prefixFilled += take;
        at += take;
        if (this.prefixFilled < GRPC_PREFIX) return;
        const length = this.prefix.readUInt32BE(1);
        if (length > this.maxBytes) {
          this.onTooLarge(length);
          return;
        }
        this.frame = length + GRPC_PREFIX >= 4096 ? Buffer.allocUnsafeSlow(length + GRPC_PREFIX) : Buffer.allocUnsafe(length + GRPC_PREFIX);
        this.prefix.copy(this.frame, 0);
        this.filled = GRPC_PREFIX;
        this.prefixFilled = 0;
      }
      const frame = this.frame;
      const take = Math.min(frame.byteLength - this.filled, chunk.byteLength - at);
      chunk.copy(frame, this.filled, at, at + take);
      this.filled += take;
      at += take;
      if (this.filled === frame.byteLength) {
        this.frame = null;
        this.onMessage(frame.subarray(GRPC_PREFIX), frame[0] === 1);
      }
    }
  }
}

/**
 * One call. Readable: the request messages, decoded (client- and bidi-streaming methods).
 * Writable: response messages, through the method's serializer (FlightData's passes the encoded
 * Buffer through); each write completes once HTTP/2 has sent it.
 */
export class Http2ServerCall extends Duplex {
  /** Takes PrefixedMessage and MessageParts writes (see BackpressureWriter). */
  readonly acceptsPrefixed = true;
  readonly acceptsParts = true;
  /** The request of a unary or server-streaming call. */
  request: unknown;
  readonly metadata: Metadata;
  cancelled = false;
  private headersSent = false;
  private statusSent = false;
  private trailers: Metadata | undefined;
  private finalStatus: Partial<StatusObject> | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private firstMessageTimer: NodeJS.Timeout | undefined;
  private resetAfterStatus = false;
  private readonly encoding: string | undefined;

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    private readonly definition: MethodDefinition<unknown, unknown>,
    private readonly settings: TransportSettings,
    firstMessageTimeoutMs = 0,
  ) {
    super({ objectMode: true, allowHalfOpen: true, autoDestroy: false, emitClose: true });
    const metadata = Metadata.fromHttp2Headers(headers);
    const timeout = metadata.get('grpc-timeout')[0];
    const encoding = metadata.get('grpc-encoding')[0];
    this.encoding = typeof encoding === 'string' ? encoding : undefined;
    for (const name of [
      'grpc-timeout',
      'grpc-encoding',
      'grpc-accept-encoding',
      HTTP2_HEADER_ACCEPT_ENCODING,
      HTTP2_HEADER_TE,
      HTTP2_HEADER_CONTENT_TYPE,
    ]) {
      metadata.remove(name);
    }
    this.metadata = metadata;
    if (timeout !== undefined) this.startDeadline(String(timeout));
    if (firstMessageTimeoutMs > 0) this.startFirstMessageTimer(firstMessageTimeoutMs);
    stream.on('close', () => this.onStreamClosed());
    stream.on('error', () => this.onStreamClosed());
  }

  private startDeadline(header: string): void {
    const match = /^(\d{1,8})([HMSmun])$/.exec(header);
    if (!match) {
      process.nextTick(() => this.sendStatus({ code: Status.INTERNAL, details: `Invalid grpc-timeout value "${header}"` }));
      return;
    }
    const ms = Number(match[1]) * TIMEOUT_UNITS_MS[match[2]!]!;
    this.deadlineTimer = setTimeout(
      () => {
        this.sendStatus({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' });
        this.cancel();
      },
      Math.min(ms, 2 ** 31 - 1),
    );
  }

  private startFirstMessageTimer(ms: number): void {
    this.firstMessageTimer = setTimeout(() => {
      // The client, which sends nothing, need not be waited for: the stream is reset once the status is out.
      this.resetAfterStatus = true;
      this.sendStatus(firstMessageTimeout(ms, this.definition.requestStream));
      this.cancel();
    }, ms);
  }

  /** The request began (streaming methods) or arrived whole: the call no longer risks the first-message timeout. */
  private requestArrived(): void {
    clearTimeout(this.firstMessageTimer);
    this.firstMessageTimer = undefined;
  }

  /** The client went away (RST_STREAM, a closed connection) before we sent a status. */
  private onStreamClosed(): void {
    if (!this.statusSent) {
      this.statusSent = true;
      this.cancel();
    }
    clearTimeout(this.deadlineTimer);
    this.requestArrived();
    if (!this.destroyed) this.destroy();
  }

  private cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.emit('cancelled', 'cancelled');
  }

  getPeer(): string {
    const socket = this.stream.session?.socket;
    if (!socket?.remoteAddress) return 'unknown';
    return socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress;
  }

  /** Sends the response headers (once); later calls are ignored, as grpc-js ignores them. */
  sendMetadata(metadata?: Metadata): void {
    if (this.headersSent || this.statusSent || this.stream.destroyed) return;
    this.headersSent = true;
    this.stream.respond(
      {
        [HTTP2_HEADER_STATUS]: 200,
        [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
        'grpc-accept-encoding': 'identity,deflate,gzip',
        ...metadata?.toHttp2Headers(),
      },
      { waitForTrailers: true },
    );
  }

  /** Ends the call with a status: trailers after the messages, or a trailers-only response. */
  sendStatus(status: Partial<StatusObject>): void {
    if (this.statusSent) return;
    this.statusSent = true;
    clearTimeout(this.deadlineTimer);
    this.requestArrived();
    const stream = this.stream;
    if (stream.destroyed || stream.closed) return;
    const code = status.code ?? Status.UNKNOWN;
    const trailers: http2.OutgoingHttpHeaders = {
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(status.details ?? ''),
      ...status.metadata?.toHttp2Headers(),
    };
    const reset = () => {
      if (this.resetAfterStatus && !stream.destroyed && !stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
    };
    if (!this.headersSent) {
      this.headersSent = true;
      stream.respond(
        { [HTTP2_HEADER_STATUS]: 200, [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto', ...trailers },
        { endStream: true },
      );
      reset();
    } else {
      stream.once('wantTrailers', () => {
        stream.sendTrailers(trailers);
        // A reset submitted at once would overtake the trailers: it waits a turn of the loop.
        if (this.resetAfterStatus) setImmediate(reset);
      });
      stream.end();
    }
    // The client may still be sending (a DoPut refused midway): read and drop the rest, so the
    // stream closes once it half-closes rather than stalling on flow control.
    if (!stream.readableEnded) {
      stream.removeAllListeners('data');
      stream.on('data', () => {});
      stream.resume();
    }
  }

  /** grpc-js's `end(trailers)`: ends the call with OK once every message is written. */
  override end(...args: unknown[]): this {
    if (args[0] instanceof Metadata) this.trailers = args[0];
    return super.end();
  }

  /**
   * Ends the call with `status` after the messages already written (a handler that fails midway:
   * its client gets the batches before the error, then the error).
   */
  endWithStatus(status: Partial<StatusObject>): void {
    if (this.writableEnded || this.destroyed) {
      this.sendStatus(status);
      return;
    }
    this.finalStatus = status;
    super.end();
  }

  override _final(done: (error?: Error | null) => void): void {
    this.sendStatus(this.finalStatus ?? { code: Status.OK, details: 'OK', metadata: this.trailers ?? new Metadata() });
    done();
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.statusSent || this.stream.destroyed) {
      done(); // the call is over; the writer learns of it by 'cancelled' or 'close'
      return;
    }
    if (chunk instanceof PrefixedMessage) {
      this.sendMetadata();
      const frame = chunk.frame;
      writePrefix(frame, frame.byteLength - GRPC_PREFIX);
      this.stream.write(frame, done);
      return;
    }
    if (chunk instanceof MessageParts) {
      this.sendMetadata();
      const { parts, byteLength } = chunk;
      writePrefix(parts[0]!, byteLength - GRPC_PREFIX);
      // Corked, the parts reach HTTP/2 as one writev, and the last one's callback comes once
      // all of them have been sent.
      this.stream.cork();
      for (let i = 0; i < parts.length - 1; i++) this.stream.write(parts[i]);
      this.stream.write(parts[parts.length - 1], done);
      this.stream.uncork();
      return;
    }
    let message: Buffer;
    try {
      message = this.definition.responseSerialize(chunk);
    } catch (error) {
      done(error as Error);
      return;
    }
    this.sendMetadata();
    const prefix = Buffer.allocUnsafe(GRPC_PREFIX);
    writePrefix(prefix, message.byteLength);
    if (message.byteLength <= 16 * 1024) {
      this.stream.write(Buffer.concat([prefix, message], GRPC_PREFIX + message.byteLength), done);
      return;
    }
    // The message itself is handed to HTTP/2 (no copy), its prefix beside it in one write.
    this.stream.cork();
    this.stream.write(prefix);
    this.stream.write(message, done);
    this.stream.uncork();
  }

  /** Request messages flow as the reader asks for them: HTTP/2 flow control holds the client back. */
  override _read(): void {
    this.stream.resume();
  }

  /** Starts reading the request stream: each message is decoded and pushed. */
  startReading(onEnd?: () => void): void {
    const splitter = new MessageSplitter(
      this.settings.maxReceiveMessageBytes,
      (message, compressed) => {
        let bytes = message;
        if (compressed) {
          try {
            bytes = this.decompress(message);
          } catch (error) {
            this.sendStatus({ code: Status.INTERNAL, details: `Failed to decompress a request message: ${(error as Error).message}` });
            this.cancel();
            return;
          }
        }
        if (this.definition.requestStream) this.requestArrived();
        // Our deserializers never throw (a malformed message becomes a FlightError for the handler).
        if (!this.push(this.definition.requestDeserialize(bytes))) this.stream.pause();
      },
      (length) => {
        this.sendStatus({
          code: Status.RESOURCE_EXHAUSTED,
          details: `Received message larger than max (${length} vs. ${this.settings.maxReceiveMessageBytes})`,
        });
        this.cancel();
      },
    );
    this.stream.on('data', (chunk: Buffer) => {
      if (!this.statusSent) splitter.push(chunk);
    });
    // Node's client half-closes a stream it resets (a cancelled DoPut ends its side, then sends
    // RST_STREAM), and both often arrive in one read: seen alone, that 'end' looked like a
    // complete upload, and the handler committed a partial one. The end counts only if no reset
    // came with it.
    this.stream.once('end', () => setImmediate(() => this.onRequestEnd(splitter, onEnd)));
  }

  private onRequestEnd(splitter: MessageSplitter, onEnd: (() => void) | undefined): void {
    this.requestArrived();
    const reset = this.stream.rstCode !== undefined && this.stream.rstCode !== NGHTTP2_NO_ERROR;
    if (reset || this.stream.aborted) {
      this.onStreamClosed();
      return;
    }
    if (this.statusSent) return;
    if (splitter.partial) {
      this.sendStatus({ code: Status.INTERNAL, details: 'the request stream ended in the middle of a message' });
      this.cancel();
      return;
    }
    this.push(null);
    onEnd?.();
  }

  private decompress(message: Buffer): Buffer {
    const options = { maxOutputLength: Math.min(this.settings.maxReceiveMessageBytes, 2 ** 31 - 1) };
    switch (this.encoding) {
      case 'gzip':
        return zlib.gunzipSync(message, options);
      case 'deflate':
        return zlib.inflateSync(message, options);
      default:
        throw new Error(`compressed with "${this.encoding ?? 'none'}", which this server does not accept`);
    }
  }
}

/**
 * A message written inside its own gRPC frame: `frame` holds 5 bytes for the prefix (filled in
 * by the call), then the message. Writers that gather a message themselves (BackpressureWriter)
 * put it here so it goes to HTTP/2 with no further copy, its body aligned as the receiver sees it.
 */
export class PrefixedMessage {
  constructor(readonly frame: Buffer) {}
}

/**
 * A PrefixedMessage in two or more parts, sent one after another without being joined: the
 * first begins with the 5 bytes for the prefix. None may change until the write's callback,
 * which comes once HTTP/2 has sent them all (BackpressureWriter sends large Arrow buffers of a
 * batch this way, in place).
 */
export class MessageParts {
  readonly byteLength: number;

  constructor(readonly parts: Buffer[]) {
    let length = 0;
    for (const part of parts) length += part.byteLength;
    this.byteLength = length;
  }
}

/**
 * Answers a call with a trailers-only status before anything is set up for it, then resets the
 * stream if the client is still sending (RST_STREAM(NO_ERROR) after a complete response, as
 * HTTP/2 allows): a refused stream frees its place at once rather than when the client ends it.
 */
function refuse(stream: http2.ServerHttp2Stream, status: Partial<StatusObject>): void {
  stream.respond(
    {
      [HTTP2_HEADER_STATUS]: 200,
      [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
      'grpc-status': String(status.code ?? Status.UNKNOWN),
      'grpc-message': encodeGrpcMessage(status.details ?? ''),
    },
    { endStream: true },
  );
  if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
}

/** Sessions this server holds, with their keepalive timers. */
interface SessionState {
  pingTimer: NodeJS.Timeout | undefined;
  ackTimer: NodeJS.Timeout | undefined;
}

/**
 * The server: routes each POST to the handler of its path. The subset of grpc-js's Server API
 * FlightServer uses (addService, bindAsync, tryShutdown, forceShutdown).
 */
export class Http2GrpcServer {
  private readonly handlers = new Map<string, { definition: MethodDefinition<unknown, unknown>; handler: Http2Handler }>();
  private readonly settings: TransportSettings;
  readonly http2Servers: (http2.Http2Server | http2.Http2SecureServer)[] = [];
  private readonly sessions = new Map<http2.ServerHttp2Session, SessionState>();
  private readonly calls = new Set<Http2ServerCall>();

  constructor(
    options: ChannelOptions,
    private readonly tls?: GrpcTlsOptions,
    private readonly flowControlWindow?: number,
    private readonly admission: CallAdmission = {},
  ) {
    this.settings = settingsFrom(options);
  }

  addService(service: ServiceDefinition, implementation: Partial<Record<string, Http2Handler>>): void {
    for (const [name, definition] of Object.entries(service)) {
      const handler = implementation[name];
      if (handler) this.handlers.set(definition.path, { definition: definition as unknown as MethodDefinition<unknown, unknown>, handler });
    }
  }

  /** Listens on every address `host` resolves to, all on one port; resolves with that port. */
  async listen(host: string, port: number): Promise<number> {
    const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
    const addresses = (await lookup(bare, { all: true })).map((a) => a.address);
    let bound = port;
    const errors: Error[] = [];
    for (const address of addresses) {
      try {
        bound = await this.listenOne(address, bound);
      } catch (error) {
        errors.push(error as Error);
      }
    }
    if (this.http2Servers.length === 0) {
      throw new Error(
        `No address added out of total ${addresses.length} resolved for ${host}:${port}: ${errors.map((e) => e.message).join('; ')}`,
      );
    }
    return bound;
  }

  private listenOne(address: string, port: number): Promise<number> {
    const window = this.flowControlWindow !== undefined && this.flowControlWindow > 65_535 ? this.flowControlWindow : undefined;
    const options: http2.SecureServerOptions = {
      maxSessionMemory: this.settings.maxSessionMemoryMb,
      settings: {
        ...(window ? { initialWindowSize: window } : {}),
        maxFrameSize: MAX_FRAME_BYTES,
        ...(this.settings.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: this.settings.maxConcurrentStreams } : {}),
      },
    };
    const server = this.tls
      ? http2.createSecureServer({
          ...options,
          cert: this.tls.cert,
          key: this.tls.key,
          ...(this.tls.clientCa ? { ca: this.tls.clientCa } : {}),
          requestCert: this.tls.requireClientCert ?? false,
          ALPNProtocols: ['h2'],
        })
      : http2.createServer(options);
    server.on('session', (session) => this.onSession(session, window));
    server.on('stream', (stream, headers) => this.onStream(stream, headers));
    return new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, address, () => {
        server.off('error', reject);
        this.http2Servers.push(server);
        resolve((server.address() as { port: number }).port);
      });
    });
  }

  private onSession(session: http2.ServerHttp2Session, window: number | undefined): void {
    const state: SessionState = { pingTimer: undefined, ackTimer: undefined };
    this.sessions.set(session, state);
    if (window) session.setLocalWindowSize(window);
    session.on('error', () => {});
    session.once('close', () => {
      clearTimeout(state.pingTimer);
      clearTimeout(state.ackTimer);
      this.sessions.delete(session);
    });
    const { keepaliveTimeMs, keepaliveTimeoutMs } = this.settings;
    if (keepaliveTimeMs > 0 && keepaliveTimeMs < 2 ** 31) {
      // Ping after each quiet period; a client that does not answer in time has gone away
      // (its calls are freed when the session is destroyed).
      const schedule = () => {
        state.pingTimer = setTimeout(() => {
          if (session.destroyed || session.closed) return;
          state.ackTimer = setTimeout(() => {
            keepaliveTrace('Ping timeout passed without response: dropping the connection');
            session.destroy();
          }, keepaliveTimeoutMs);
          state.ackTimer.unref();
          try {
            session.ping((error) => {
              clearTimeout(state.ackTimer);
              if (error) return;
              keepaliveTrace('Received ping response');
              schedule();
            });
          } catch {
            clearTimeout(state.ackTimer);
          }
        }, keepaliveTimeMs);
        state.pingTimer.unref();
      };
      schedule();
    }
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', () => {});
    if (headers[HTTP2_HEADER_METHOD] !== 'POST') {
      stream.respond({ [HTTP2_HEADER_STATUS]: 405 }, { endStream: true });
      return;
    }
    const contentType = headers[HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ [HTTP2_HEADER_STATUS]: 415 }, { endStream: true });
      return;
    }
    const path = String(headers[HTTP2_HEADER_PATH] ?? '');
    const route = this.handlers.get(path);
    if (!route) {
      refuse(stream, { code: Status.UNIMPLEMENTED, details: `The server does not implement the method ${path}` });
      return;
    }
    const refusal = this.admission.refuse?.(path, Metadata.fromHttp2Headers(headers));
    if (refusal) {
      refuse(stream, refusal);
      return;
    }
    const { definition, handler } = route;
    const call = new Http2ServerCall(stream, headers, definition, this.settings, this.admission.firstMessageTimeoutMs);
    this.calls.add(call);
    stream.once('close', () => this.calls.delete(call));
    const callback: UnaryCallback = (error, value, trailers) => {
      if (error) {
        call.sendStatus({ code: error.code ?? Status.UNKNOWN, details: error.details ?? '', metadata: error.metadata ?? new Metadata() });
        return;
      }
      call.write(value);
      call.end(trailers ?? new Metadata());
    };
    if (definition.requestStream) {
      call.startReading();
      handler(call, callback);
      return;
    }
    // Unary and server-streaming: exactly one request message, then the handler.
    const requests: unknown[] = [];
    call.on('data', (message: unknown) => requests.push(message));
    call.startReading(() => {
      if (requests.length !== 1) {
        call.sendStatus({
          code: Status.UNIMPLEMENTED,
          details: `${requests.length === 0 ? 'No message' : 'Several messages'} received for ${definition.requestStream ? 'streaming' : 'unary'} request ${path}`,
        });
        return;
      }
      call.removeAllListeners('data');
      call.request = requests[0];
      handler(call, callback);
    });
  }

  /** Stops accepting connections and calls; `callback` once every open connection has finished. */
  tryShutdown(callback: () => void): void {
    let pending = this.http2Servers.length;
    if (pending === 0) {
      queueMicrotask(callback);
      return;
    }
    for (const server of this.http2Servers) {
      server.close(() => {
        if (--pending === 0) callback();
      });
    }
    for (const session of this.sessions.keys()) session.close();
  }

  /**
   * Ends every call at once with RST_STREAM(CANCEL), which clients report as cancelled, then
   * closes the connections (destroyed a moment later if they linger). Destroying them at once
   * would drop the resets with them: clients would see only a broken connection.
   */
  forceShutdown(): void {
    for (const server of this.http2Servers) server.close();
    for (const call of this.calls) {
      if (!call.stream.destroyed) call.stream.close(NGHTTP2_CANCEL);
    }
    for (const session of this.sessions.keys()) {
      session.close();
      setTimeout(() => session.destroy(), 1000).unref();
    }
  }
}
