// A gRPC client channel of our own, the client half of grpc-server.ts: one HTTP/2 connection per
// channel, opened on first use and again after it drops; each call a POST whose messages go out
// behind their 5-byte prefix and whose status comes back in trailers (or a trailers-only
// response). The HTTP/2 underneath is ours (h2-connection.ts) unless node:http2 is asked for.
// FlightClient uses it unless told to use grpc-js (`transport: 'http2'` or 'node-http2').
//
// Why: on loopback grpc-js's client copies every outgoing message into a fresh frame, and every
// incoming one out of a list of slices; both allocations churn external memory and the garbage
// collector with them. Here an upload is gathered once into reused memory, inside its frame, and
// a download is copied once, from the socket's read buffer into the message (bench/loopback.ts).
//
// The channel and its calls offer the parts of grpc-js's Client and call objects FlightClient
// uses (makeUnaryRequest, makeServerStreamRequest, makeBidiStreamRequest, waitForReady, close;
// 'metadata' and 'status' events, an 'error' with code/details/metadata, cancel()).

import http2 from 'node:http2';
import { Duplex } from 'node:stream';
import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';
import { CLIENT_UNREAD_BYTES } from '../defaults.ts';
import { GRPC_PREFIX, MessageSplitter, PrefixedMessage, writePrefix } from './grpc-server.ts';
import { H2Connection, H2Stream } from './h2-connection.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_INADEQUATE_SECURITY, NGHTTP2_NO_ERROR } =
  http2.constants;

export interface Http2ChannelOptions {
  tls?:
    | {
        rootCerts?: Buffer | undefined;
        privateKey?: Buffer | undefined;
        certChain?: Buffer | undefined;
        serverNameOverride?: string | undefined;
      }
    | undefined;
  /** HTTP/2 receive window per stream and per connection. */
  windowBytes: number;
  /** Whose HTTP/2: ours (the default) or node:http2's. */
  http2?: 'own' | 'node' | undefined;
  maxReceiveMessageBytes: number;
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
}

export interface ServiceErrorLike extends Error {
  code: Status;
  details: string;
  metadata: Metadata;
}

function serviceError(status: StatusObject): ServiceErrorLike {
  const error = new Error(`${status.code} ${Status[status.code]}: ${status.details}`) as ServiceErrorLike;
  error.code = status.code;
  error.details = status.details;
  error.metadata = status.metadata;
  return error;
}

/** grpc-timeout: at most 8 digits, in the coarsest unit that keeps the value in range. */
function timeoutHeader(ms: number): string {
  const clamped = Math.max(1, Math.ceil(ms));
  if (clamped < 1e8) return `${clamped}m`;
  if (clamped / 1000 < 1e8) return `${Math.ceil(clamped / 1000)}S`;
  return `${Math.ceil(clamped / 3_600_000)}H`;
}

/** The status an HTTP response without grpc-status means (the gRPC HTTP-to-status mapping). */
function statusOfHttp(code: number): Status {
  switch (code) {
    case 400:
      return Status.INTERNAL;
    case 401:
      return Status.UNAUTHENTICATED;
    case 403:
      return Status.PERMISSION_DENIED;
    case 404:
      return Status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return Status.UNAVAILABLE;
    default:
      return Status.UNKNOWN;
  }
}

function decodeGrpcMessage(value: unknown): string {
  const text = typeof value === 'string' ? value : Array.isArray(value) ? String(value[0] ?? '') : '';
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

type Deserialize = (bytes: Buffer) => unknown;
type Serialize = (value: unknown) => Buffer;
interface CallOptions {
  deadline?: Date | number | undefined;
}

/** The abort controller of each node:http2 stream a call opened (see resetStream). */
const aborts = new WeakMap<http2.ClientHttp2Stream, AbortController>();

/**
 * Cancels a stream with RST_STREAM(CANCEL) and nothing before it. Node's `close(code)` ends the
 * writable side first, and when no write is pending that END_STREAM leaves ahead of the reset:
 * the server sees a complete request (a DoPut whose source failed looks finished and gets
 * committed) and learns of the cancellation only in a later frame, or never in time. Aborting
 * the request through the signal it was opened with destroys the stream instead, and Node sends
 * RST_STREAM(CANCEL) for an aborted stream without ending its writable side first.
 */
export function resetStream(stream: http2.ClientHttp2Stream): void {
  if (stream.closed || stream.destroyed) return;
  const abort = aborts.get(stream);
  if (abort && !stream.writableEnded) abort.abort();
  else stream.close(NGHTTP2_CANCEL); // ours sends the reset alone; a stream already ended has no END_STREAM left to send
}

/** Bytes of received messages a call holds for its reader before it stops taking more. */
const UNREAD_BYTES = CLIENT_UNREAD_BYTES;

/**
 * One call: writable (request messages; a PrefixedMessage is sent as it is) and readable
 * (response messages). Ends with a 'status' event, then 'end' (OK) or 'error' (anything else),
 * after every message received before it has been read.
 */
export class Http2ClientCall extends Duplex {
  readonly acceptsPrefixed = true;
  private stream: http2.ClientHttp2Stream | null = null;
  private readonly ready: Promise<http2.ClientHttp2Stream | null>;
  private status: StatusObject | null = null;
  private received: StatusObject | null = null;
  private cancelledHere = false;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** Sizes of the messages pushed and not yet read, oldest first, and their sum. */
  private readonly unread: number[] = [];
  private unreadBytes = 0;

  constructor(
    private readonly channel: Http2GrpcChannel,
    path: string,
    private readonly serialize: Serialize,
    private readonly deserialize: Deserialize,
    metadata: Metadata,
    options: CallOptions,
  ) {
    super({ objectMode: true, allowHalfOpen: true, autoDestroy: false, emitClose: false });
    const deadline = options.deadline === undefined ? undefined : new Date(options.deadline).getTime();
    const headers: http2.OutgoingHttpHeaders = {
      ...metadata.toHttp2Headers(),
      [http2.constants.HTTP2_HEADER_METHOD]: 'POST',
      [http2.constants.HTTP2_HEADER_PATH]: path,
      [http2.constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [http2.constants.HTTP2_HEADER_TE]: 'trailers',
      'grpc-accept-encoding': 'identity',
    };
    if (channel.authority) headers[http2.constants.HTTP2_HEADER_AUTHORITY] = channel.authority;
    if (deadline !== undefined) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.ready = Promise.resolve(null);
        queueMicrotask(() => this.finish({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: new Metadata() }));
        return;
      }
      headers['grpc-timeout'] = timeoutHeader(left);
      this.deadlineTimer = setTimeout(
        () => {
          if (this.stream) resetStream(this.stream);
          this.finish({ code: Status.DEADLINE_EXCEEDED, details: 'Deadline exceeded', metadata: new Metadata() });
        },
        Math.min(left, 2 ** 31 - 1),
      );
    }
    this.ready = channel.session().then(
      (session) => (this.status ? null : this.open(session, headers)),
      (error: Error) => {
        this.finish({
          code: Status.UNAVAILABLE,
          details: `No connection established. Last error: ${error.message}`,
          metadata: new Metadata(),
        });
        return null;
      },
    );
  }

  private open(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): http2.ClientHttp2Stream | null {
    let stream: http2.ClientHttp2Stream;
    try {
      const abort = new AbortController();
      stream = session.request(headers, { signal: abort.signal });
      if (!(stream instanceof H2Stream)) aborts.set(stream, abort);
    } catch (error) {
      // The connection may have failed between connecting and this call: its cause says why.
      const cause = this.channel.errorOf(session);
      const why = cause ? `Connection dropped: ${cause.message}` : `the connection cannot take a new call: ${(error as Error).message}`;
      this.finish({ code: Status.UNAVAILABLE, details: why, metadata: new Metadata() });
      return null;
    }
    this.stream = stream;
    this.channel.track(+1);
    const splitter = new MessageSplitter(
      this.channel.options.maxReceiveMessageBytes,
      (message, compressed) => {
        if (compressed) {
          this.finish({
            code: Status.INTERNAL,
            details: 'the server sent a compressed message, which was not asked for',
            metadata: new Metadata(),
          });
          resetStream(stream);
          return;
        }
        this.unread.push(message.byteLength);
        this.unreadBytes += message.byteLength;
        // Held back by bytes as well as by count: 16 messages of the largest size would be 4 GiB.
        if (!this.push(this.deserialize(message)) || this.unreadBytes > UNREAD_BYTES) stream.pause();
      },
      (length) => {
        this.finish({
          code: Status.RESOURCE_EXHAUSTED,
          details: `Received message larger than max (${length} vs. ${this.channel.options.maxReceiveMessageBytes})`,
          metadata: new Metadata(),
        });
        resetStream(stream);
      },
    );
    stream.on('response', (headers) => {
      const httpStatus = Number(headers[http2.constants.HTTP2_HEADER_STATUS]);
      if (headers['grpc-status'] !== undefined) {
        this.received = this.statusOf(headers); // trailers-only
        return;
      }
      if (httpStatus !== 200) {
        this.received = { code: statusOfHttp(httpStatus), details: `Received HTTP status code ${httpStatus}`, metadata: new Metadata() };
        return;
      }
      this.emit('metadata', Metadata.fromHttp2Headers(headers));
    });
    stream.on('trailers', (trailers) => {
      this.received = this.statusOf(trailers);
    });
    stream.on('data', (chunk: Buffer) => {
      if (!this.status) splitter.push(chunk);
    });
    stream.on('error', () => {}); // the outcome is decided on 'end' or 'close'
    const settle = (received: StatusObject) => {
      if (received.code === Status.OK && splitter.partial) {
        this.finish({ code: Status.INTERNAL, details: 'the response ended in the middle of a message', metadata: new Metadata() });
      } else this.finish(received);
    };
    // The server's status ends the call even while our side is still open (a bidi call it
    // refused before we wrote anything): the stream itself would stay half-open.
    let serverEnded = false;
    stream.on('end', () => {
      serverEnded = true;
      if (this.received) settle(this.received);
    });
    stream.on('close', () => {
      this.channel.track(-1);
      if (this.received) {
        settle(this.received);
        return;
      }
      if (this.cancelledHere) {
        this.finish({ code: Status.CANCELLED, details: 'Cancelled on client', metadata: new Metadata() });
        return;
      }
      const code = stream.rstCode;
      if (stream instanceof H2Stream && stream.failure) {
        // Our HTTP/2 reset the stream because the server broke the protocol on it.
        this.finish({ code: Status.INTERNAL, details: `HTTP/2 protocol error: ${stream.failure.message}`, metadata: new Metadata() });
        return;
      }
      const cause = this.channel.errorOf(session);
      if (serverEnded && !cause && !session.destroyed) {
        // The server ended its side (END_STREAM) with no status in headers or trailers, on a
        // connection that is fine: a broken server, not a dropped connection. INTERNAL, as
        // grpc-js and grpc-go say; UNAVAILABLE would invite a retry of a call that has run.
        this.finish({ code: Status.INTERNAL, details: 'the server ended the call without a gRPC status', metadata: new Metadata() });
        return;
      }
      // The connection went away under the call (a TLS handshake the server refused after all,
      // a dead peer, our keepalive giving up): Node closes its streams with a code of its own,
      // which is no reset of the server's. A server shutting down resets its calls, then says
      // GOAWAY: those resets are its answer.
      const torndown = session.destroyed && !this.channel.wentAway(session);
      if (cause || torndown || code === undefined || code === NGHTTP2_NO_ERROR) {
        this.finish({
          code: Status.UNAVAILABLE,
          details: `Connection dropped${cause ? `: ${cause.message}` : ''}`,
          metadata: new Metadata(),
        });
      } else if (code === NGHTTP2_REFUSED_STREAM) {
        this.finish({ code: Status.UNAVAILABLE, details: 'Stream refused by server', metadata: new Metadata() });
      } else if (code === NGHTTP2_CANCEL) {
        this.finish({ code: Status.CANCELLED, details: 'Call cancelled', metadata: new Metadata() });
      } else if (code === NGHTTP2_ENHANCE_YOUR_CALM) {
        this.finish({ code: Status.RESOURCE_EXHAUSTED, details: 'Bandwidth exhausted or memory limit exceeded', metadata: new Metadata() });
      } else if (code === NGHTTP2_INADEQUATE_SECURITY) {
        this.finish({ code: Status.PERMISSION_DENIED, details: 'Protocol not secure enough', metadata: new Metadata() });
      } else {
        this.finish({ code: Status.INTERNAL, details: `Received RST_STREAM with code ${code}`, metadata: new Metadata() });
      }
    });
    return stream;
  }

  private statusOf(headers: http2.IncomingHttpHeaders): StatusObject {
    const code = Number(headers['grpc-status']);
    const metadata = Metadata.fromHttp2Headers(headers);
    metadata.remove('grpc-status');
    metadata.remove('grpc-message');
    return {
      code: Number.isInteger(code) && code >= 0 && code <= 16 ? code : Status.UNKNOWN,
      details: decodeGrpcMessage(headers['grpc-message']),
      metadata,
    };
  }

  /** The call's outcome, once: 'status', then the end of the messages or an 'error'. */
  private finish(status: StatusObject): void {
    if (this.status) return;
    this.status = status;
    clearTimeout(this.deadlineTimer);
    if (this.stream && !this.stream.closed) {
      if (status.code === Status.OK) this.stream.close(NGHTTP2_NO_ERROR);
      else resetStream(this.stream);
    }
    this.emit('status', status);
    if (status.code === Status.OK) {
      this.once('end', () => this.emit('close'));
      this.push(null);
    } else {
      this.emit('error', serviceError(status));
      this.emit('close');
    }
  }

  get finished(): boolean {
    return this.status !== null;
  }

  /**
   * Ends the call at once: the reset goes out, and the status is CANCELLED now, not when the
   * stream reports its close. A writer that is never held back (its writes complete as fast as
   * they are made) would otherwise keep writing, on microtasks alone, and that close never come.
   */
  cancel(): void {
    if (this.status) return;
    this.cancelledHere = true;
    if (this.stream) resetStream(this.stream);
    this.finish({ code: Status.CANCELLED, details: 'Cancelled on client', metadata: new Metadata() });
  }

  getPeer(): string {
    return this.channel.address;
  }

  override _write(chunk: unknown, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    void this.ready.then((stream) => {
      if (!stream || this.status || stream.destroyed) {
        done();
        return;
      }
      if (chunk instanceof PrefixedMessage) {
        const frame = chunk.frame;
        writePrefix(frame, frame.byteLength - GRPC_PREFIX);
        stream.write(frame, () => done());
        return;
      }
      let message: Buffer;
      try {
        message = this.serialize(chunk);
      } catch (error) {
        done(error as Error);
        return;
      }
      const frame = Buffer.allocUnsafe(GRPC_PREFIX + message.byteLength);
      writePrefix(frame, message.byteLength);
      message.copy(frame, GRPC_PREFIX);
      stream.write(frame, () => done());
    });
  }

  override _final(done: (error?: Error | null) => void): void {
    void this.ready.then((stream) => {
      if (stream && !stream.destroyed && !this.status) stream.end();
      done();
    });
  }

  override read(size?: number): unknown {
    const value: unknown = super.read(size);
    if (value !== null && this.unread.length > 0) {
      this.unreadBytes -= this.unread.shift()!;
      if (this.unreadBytes <= UNREAD_BYTES && this.readableLength < this.readableHighWaterMark) this.stream?.resume();
    }
    return value;
  }

  override _read(): void {
    if (this.unreadBytes <= UNREAD_BYTES) this.stream?.resume();
  }
}

/** The connection behind a FlightClient on the 'http2' transport. */
export class Http2GrpcChannel {
  private current: Promise<http2.ClientHttp2Session> | null = null;
  private readonly errors = new WeakMap<http2.ClientHttp2Session, Error>();
  private readonly goaways = new WeakSet<http2.ClientHttp2Session>();
  private live: http2.ClientHttp2Session | null = null;
  private active = 0;
  private closed = false;
  private readonly url: string;
  readonly authority: string | undefined;

  constructor(
    readonly address: string,
    readonly options: Http2ChannelOptions,
  ) {
    this.url = `${options.tls ? 'https' : 'http'}://${address}`;
    this.authority = options.tls?.serverNameOverride
      ? `${options.tls.serverNameOverride}:${address.slice(address.lastIndexOf(':') + 1)}`
      : undefined;
  }

  /** Counts calls in progress: the connection keeps the process alive only while there are some. */
  track(delta: number): void {
    this.active += delta;
    if (!this.live || this.live.destroyed) return;
    if (this.active > 0) this.live.ref();
    else this.live.unref();
  }

  /** The error a connection failed with, if it did. */
  errorOf(session: http2.ClientHttp2Session): Error | undefined {
    return this.errors.get(session);
  }

  /** Whether the server said GOAWAY on this connection. */
  wentAway(session: http2.ClientHttp2Session): boolean {
    return this.goaways.has(session);
  }

  /** The open connection, or a new one. */
  session(): Promise<http2.ClientHttp2Session> {
    if (this.closed) return Promise.reject(new Error('the channel is closed'));
    if (this.live && (this.live.destroyed || this.live.closed)) {
      this.live = null;
      this.current = null;
    }
    if (this.current) return this.current;
    const connecting = this.connect();
    this.current = connecting;
    connecting.catch(() => {
      if (this.current === connecting) this.current = null;
    });
    return connecting;
  }

  private connect(): Promise<http2.ClientHttp2Session> {
    const { tls, windowBytes } = this.options;
    const own = this.options.http2 !== 'node';
    // Ours offers the members of ClientHttp2Session and ClientHttp2Stream this file uses.
    const session = own
      ? (new H2Connection({
          address: this.address,
          windowBytes,
          tls: tls
            ? {
                ...(tls.rootCerts ? { ca: tls.rootCerts } : {}),
                ...(tls.privateKey ? { key: tls.privateKey } : {}),
                ...(tls.certChain ? { cert: tls.certChain } : {}),
                ...(tls.serverNameOverride ? { servername: tls.serverNameOverride } : {}),
              }
            : undefined,
        }) as unknown as http2.ClientHttp2Session)
      : http2.connect(this.url, {
          settings: { initialWindowSize: windowBytes },
          maxSessionMemory: Number.MAX_SAFE_INTEGER,
          ...(tls
            ? {
                ...(tls.rootCerts ? { ca: tls.rootCerts } : {}),
                ...(tls.privateKey ? { key: tls.privateKey } : {}),
                ...(tls.certChain ? { cert: tls.certChain } : {}),
                ...(tls.serverNameOverride ? { servername: tls.serverNameOverride } : {}),
              }
            : {}),
        });
    const forget = () => {
      if (this.live === session) this.live = null;
      this.current = this.current && this.live === null ? null : this.current;
    };
    return new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      // Ready once the server's SETTINGS arrive, not at 'connect': a plaintext connection to a
      // TLS port connects, then fails.
      session.once('remoteSettings', () => {
        session.off('error', reject);
        session.on('error', (error: Error) => this.errors.set(session, error));
        if (!own && windowBytes > 65_535) session.setLocalWindowSize(windowBytes);
        this.live = session;
        if (this.active === 0) session.unref();
        this.keepalive(session);
        resolve(session);
      });
      session.once('error', reject);
      const closed = () => {
        reject(new Error('the connection closed before the server spoke HTTP/2'));
        forget();
      };
      session.once('close', closed);
      // A TLS alert after the handshake (mutual TLS refusing us) errors the socket, and Node
      // destroys the session without an 'error' or 'close' of its own.
      session.socket.once('error', (error: Error) => {
        this.errors.set(session, error);
        reject(error);
      });
      session.socket.once('close', closed);
      session.once('goaway', () => {
        this.goaways.add(session);
        forget();
      });
    });
  }

  private keepalive(session: http2.ClientHttp2Session): void {
    const { keepaliveTimeMs, keepaliveTimeoutMs } = this.options;
    if (!(keepaliveTimeMs > 0 && keepaliveTimeMs < 2 ** 31)) return;
    const timer = setInterval(() => {
      if (session.destroyed || session.closed) {
        clearInterval(timer);
        return;
      }
      if (this.active === 0) return; // as grpc-js: no pings without calls unless asked
      const dead = setTimeout(() => session.destroy(), keepaliveTimeoutMs);
      dead.unref();
      try {
        session.ping(() => clearTimeout(dead));
      } catch {
        clearTimeout(dead);
      }
    }, keepaliveTimeMs);
    timer.unref();
    session.once('close', () => clearInterval(timer));
  }

  /** Connects, retrying until `deadline`; `callback` with an Error if it never does. */
  waitForReady(deadline: Date | number, callback: (error?: Error) => void): void {
    const until = new Date(deadline).getTime();
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      callback(error);
    };
    // A connection attempt that never settles must not outlive the deadline.
    const timer = setTimeout(() => settle(new Error('Failed to connect before the deadline')), Math.max(0, until - Date.now()));
    const attempt = (delay: number) => {
      this.session().then(
        () => settle(),
        (error: Error) => {
          if (Date.now() + delay >= until) settle(new Error(`Failed to connect before the deadline: ${error.message}`));
          else setTimeout(() => !settled && attempt(Math.min(delay * 2, 1000)), delay);
        },
      );
    };
    attempt(50);
  }

  close(): void {
    this.closed = true;
    this.live?.close();
    void this.current?.then(
      (session) => session.close(),
      () => {},
    );
  }

  makeUnaryRequest(
    path: string,
    serialize: Serialize,
    deserialize: Deserialize,
    request: unknown,
    metadata: Metadata,
    options: CallOptions,
    callback: (error: ServiceErrorLike | null, value?: unknown) => void,
  ): Http2ClientCall {
    const call = new Http2ClientCall(this, path, serialize, deserialize, metadata, options);
    const values: unknown[] = [];
    call.on('data', (value: unknown) => values.push(value));
    call.on('status', (status: StatusObject) => {
      if (status.code !== Status.OK) callback(serviceError(status));
    });
    call.on('end', () => {
      if (values.length === 1) callback(null, values[0]);
      else
        callback(
          serviceError({
            code: Status.UNIMPLEMENTED,
            details: `${values.length} response messages for a unary call`,
            metadata: new Metadata(),
          }),
        );
    });
    call.on('error', () => {});
    call.end(request);
    return call;
  }

  makeServerStreamRequest(
    path: string,
    serialize: Serialize,
    deserialize: Deserialize,
    request: unknown,
    metadata: Metadata,
    options: CallOptions,
  ): Http2ClientCall {
    const call = new Http2ClientCall(this, path, serialize, deserialize, metadata, options);
    call.end(request);
    return call;
  }

  makeBidiStreamRequest(
    path: string,
    serialize: Serialize,
    deserialize: Deserialize,
    metadata: Metadata,
    options: CallOptions,
  ): Http2ClientCall {
    return new Http2ClientCall(this, path, serialize, deserialize, metadata, options);
  }
}
