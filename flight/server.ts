// A generic Arrow Flight server, on our gRPC transport over node:http2 (grpc-server.ts) or on
// grpc-js's. Handlers are async functions that take and return async iterables of Arrow data;
// this file adapts them to the transport's streams (both have grpc-js's call shapes), once, with
// backpressure, cancellation, authentication and error mapping.

import {
  Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  status as GrpcStatus,
  type ChannelOptions,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { Schema } from 'apache-arrow';
import { TokenAuthenticator, type BasicAuthValidator, type TokenAuthOptions } from './auth.ts';
import {
  DEFAULT_FIRST_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_READ_AHEAD_BYTES,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  DEFAULT_MAX_SESSION_MEMORY_MB,
  DEFAULT_READ_AHEAD_MESSAGES,
  DEFAULT_RECEIVE_WINDOW,
  SERVER_KEEPALIVE,
  transportDefaults,
} from './defaults.ts';
import { FlightError, toGrpcStatus } from './error.ts';
import type { FlightData } from './flight-data.ts';
import {
  BasicAuthCodec,
  type Action,
  type ActionType,
  type FlightDescriptor,
  type FlightInfo,
  type HandshakeMessage,
  type PollInfo,
} from './messages.ts';
import { FlightDataReader } from './reader.ts';
import { addHealthService, HealthStatus } from './health.ts';
import { Http2GrpcServer, Http2ServerCall, firstMessageTimeout, type CallAdmission, type Http2Handler } from './transport/grpc-server.ts';
import { FlightServiceDefinition, SERVICE_NAME, type Decoded, type FlightMethodName } from './service.ts';
import { BackpressureWriter, DEFAULT_WRITE_BUFFER_BYTES, readMessages } from './streams.ts';
import { FlightDataWriter, type FlightOutputItem } from './writer.ts';

/** What a handler knows about the call it serves. */
export interface CallContext {
  readonly method: FlightMethodName;
  /** The request headers. */
  readonly headers: Metadata;
  readonly peer: string;
  /** Aborted when the client cancels, the deadline passes, or the server shuts down. */
  readonly signal: AbortSignal;
  /** The authenticated user, when the server has auth. */
  readonly identity: string | undefined;
  /** Trailers to send with the final status; handlers may add to them. */
  readonly trailers: Metadata;
}

type Many<T> = AsyncIterable<T> | Iterable<T>;
type MaybePromise<T> = T | Promise<T>;

/** A DoGet or DoExchange result: items to send; a `schema` property is sent first, even with no batches. */
export type FlightOutput = Many<FlightOutputItem> & { readonly schema?: Schema | undefined };

export interface FlightHandlers {
  handshake?(requests: AsyncIterable<HandshakeMessage>, context: CallContext): MaybePromise<Many<HandshakeMessage>>;
  listFlights?(criteria: Uint8Array, context: CallContext): MaybePromise<Many<FlightInfo>>;
  getFlightInfo?(descriptor: FlightDescriptor, context: CallContext): MaybePromise<FlightInfo>;
  pollFlightInfo?(descriptor: FlightDescriptor, context: CallContext): MaybePromise<PollInfo>;
  getSchema?(descriptor: FlightDescriptor, context: CallContext): MaybePromise<Schema>;
  doGet?(ticket: Uint8Array, context: CallContext): MaybePromise<FlightOutput>;
  /** Reads the upload; yields (or returns) PutResult app_metadata. `reader.descriptor` names the target. */
  doPut?(reader: FlightDataReader, context: CallContext): MaybePromise<Many<Uint8Array> | void>;
  doExchange?(reader: FlightDataReader, context: CallContext): MaybePromise<FlightOutput>;
  doAction?(action: Action, context: CallContext): MaybePromise<Many<Uint8Array>>;
  listActions?(context: CallContext): MaybePromise<Many<ActionType>>;
}

export interface CallRecord {
  method: FlightMethodName;
  peer: string;
  identity: string | undefined;
  code: GrpcStatus;
  details: string;
  milliseconds: number;
  /** Arrow rows and FlightData bytes received (DoPut, DoExchange) and sent (DoGet, DoExchange). */
  rowsIn: number;
  bytesIn: number;
  rowsOut: number;
  bytesOut: number;
}

/** The Arrow streams of one call, read when it ends. */
interface CallStreams {
  input?: FlightDataReader;
  output?: FlightDataWriter;
}

export interface FlightServerOptions {
  /** Largest message this server sends: batches are sliced to fit (default 4 MiB). */
  maxMessageBytes?: number;
  /** Largest message accepted (default 256 MiB). */
  maxReceiveMessageBytes?: number;
  /** Bytes of outgoing messages queued per stream before the producer waits (default 8 MiB). */
  writeBufferBytes?: number;
  /**
   * HTTP/2 receive window per stream and per connection, in bytes (default 4 MiB). The window
   * bounds an upload to window / round-trip time: HTTP/2's own 64 KiB moved a 64 MiB DoPut at
   * 1.9 MiB/s over a 20 ms round trip, 4 MiB at 70 MiB/s. Not larger: from about 12 MiB on, a
   * Node client with a 16 MiB window of its own that writes a whole DoExchange before reading
   * stalls (test/flight/streaming.test.ts "no deadlock"). Our HTTP/2 server only: grpc-js's
   * server (`transport: 'grpc-js'`) has no option for its window and keeps HTTP/2's 64 KiB.
   */
  flowControlWindow?: number;
  /**
   * DoPut and DoExchange read ahead up to this many messages while the handler is busy, and
   * without limit while the client is not reading our output, so that a client which writes
   * everything before it reads never deadlocks (default 8).
   */
  readAheadMessages?: number;
  /**
   * What DoPut and DoExchange may hold read ahead, in bytes, while the client is not reading
   * our output (default 256 MiB). Beyond it the call fails with RESOURCE_EXHAUSTED naming this
   * option: a client that writes everything before it reads may send up to this much.
   */
  maxReadAheadBytes?: number;
  /**
   * Concurrent calls per connection (default 256), announced to clients as HTTP/2's
   * SETTINGS_MAX_CONCURRENT_STREAMS so that they queue calls beyond it; streams past it are refused.
   */
  maxConcurrentStreams?: number;
  /**
   * A call whose first request message (the whole request, for unary and server-streaming
   * methods) has not come this long after its headers is closed with DEADLINE_EXCEEDED
   * (default 60 s; 0: never).
   */
  firstMessageTimeoutMs?: number;
  /** Basic-to-Bearer token auth: every call must authenticate when set. */
  auth?: { validate: BasicAuthValidator } & TokenAuthOptions;
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer; requireClientCert?: boolean };
  /**
   * Extra gRPC channel options (keepalive, concurrency limits, ...), named as grpc-js names them.
   * The 'http2' transport reads the keepalive ones, 'grpc.max_concurrent_streams',
   * 'grpc-node.max_session_memory' and 'grpc.max_receive_message_length'.
   */
  grpcOptions?: ChannelOptions;
  /**
   * 'http2' (default): our own gRPC transport on node:http2 (grpc-server.ts), about twice as
   * light per byte as grpc-js's server; 'grpc-js': @grpc/grpc-js's Server.
   */
  transport?: 'http2' | 'grpc-js';
  /** Called once per finished call, for logs and metrics. */
  onCallEnd?: (record: CallRecord) => void;
  /**
   * Serve the standard gRPC health service (grpc.health.v1.Health) on the same port, without
   * auth: SERVING for "" and the Flight service until `close()` turns them NOT_SERVING.
   */
  health?: boolean;
}

export { SERVER_KEEPALIVE, DEFAULT_RECEIVE_WINDOW };

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

/**
 * An Arrow Flight server. Give it handlers; each missing handler answers UNIMPLEMENTED.
 *
 * ```ts
 * const server = new FlightServer({
 *   async doGet(ticket) { return tableFor(ticket).batches; },
 * });
 * const port = await server.listen('localhost', 0);
 * ```
 */
export class FlightServer {
  private readonly server: Server | Http2GrpcServer;
  private readonly auth: TokenAuthenticator | undefined;
  private readonly active = new Set<AbortController>();
  private boundPort = -1;
  readonly maxMessageBytes: number;
  private readonly writeBufferBytes: number;
  private readonly readAhead: number;
  private readonly maxReadAheadBytes: number;
  private readonly flowControlWindow: number;
  private readonly streams = new WeakMap<AbortSignal, CallStreams>();
  /** The health service's statuses, when `health` is on. */
  readonly health: HealthStatus | undefined;

  constructor(
    private readonly handlers: FlightHandlers,
    private readonly options: FlightServerOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.writeBufferBytes = options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES;
    this.readAhead = options.readAheadMessages ?? DEFAULT_READ_AHEAD_MESSAGES;
    this.maxReadAheadBytes = options.maxReadAheadBytes ?? DEFAULT_MAX_READ_AHEAD_BYTES;
    this.flowControlWindow = options.flowControlWindow ?? DEFAULT_RECEIVE_WINDOW;
    this.auth = options.auth ? new TokenAuthenticator(options.auth.validate, options.auth) : undefined;
    const channelOptions: ChannelOptions = {
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
      'grpc.max_send_message_length': -1,
      'grpc.max_concurrent_streams': options.maxConcurrentStreams ?? DEFAULT_MAX_CONCURRENT_STREAMS,
      'grpc-node.max_session_memory': DEFAULT_MAX_SESSION_MEMORY_MB,
      ...SERVER_KEEPALIVE,
      ...options.grpcOptions,
    };
    const admission: CallAdmission = {
      refuse: this.auth ? (path, metadata) => this.refusal(path, metadata) : undefined,
      firstMessageTimeoutMs: options.firstMessageTimeoutMs ?? DEFAULT_FIRST_MESSAGE_TIMEOUT_MS,
    };
    if ((options.transport ?? transportDefaults.server) === 'http2') {
      const server = new Http2GrpcServer(channelOptions, options.tls, this.flowControlWindow, admission);
      server.addService(FlightServiceDefinition, this.implementation() as unknown as Record<string, Http2Handler>);
      this.server = server;
    } else {
      const interceptors = [...((channelOptions.interceptors as ServerInterceptor[] | undefined) ?? []), admissionInterceptor(admission)];
      const server = new Server({ ...channelOptions, interceptors });
      server.addService(FlightServiceDefinition, this.implementation());
      this.server = server;
    }
    this.health = options.health ? new HealthStatus(['', SERVICE_NAME]) : undefined;
    if (this.health) addHealthService(this.server, this.health);
  }

  /**
   * A call refused from its headers, before anything is set up for it: on a server with auth,
   * any call without valid credentials, except a Handshake without any (the legacy flow sends
   * them in its messages).
   */
  private refusal(path: string, metadata: Metadata): { code: GrpcStatus; details: string } | null {
    // Only FlightService is behind auth: health probes carry no credentials (flight/health.ts).
    if (!path.startsWith(`/${SERVICE_NAME}/`)) return null;
    const auth = this.auth!;
    const hasCredentials = metadata.get('authorization').length > 0 || metadata.get('auth-token-bin').length > 0;
    if (!hasCredentials && path === FlightServiceDefinition.Handshake.path) return null;
    const error = auth.refusal(metadata);
    return error ? { code: GrpcStatus.UNAUTHENTICATED, details: error.message } : null;
  }

  /** Which transport serves the calls. */
  get transport(): 'http2' | 'grpc-js' {
    return this.server instanceof Http2GrpcServer ? 'http2' : 'grpc-js';
  }

  /** Binds and starts serving; returns the port (useful with port 0). */
  async listen(host = 'localhost', port = 0): Promise<number> {
    const server = this.server;
    if (server instanceof Http2GrpcServer) {
      this.boundPort = await server.listen(host, port);
      return this.boundPort;
    }
    const credentials = this.options.tls
      ? ServerCredentials.createSsl(
          this.options.tls.clientCa ?? null,
          [{ cert_chain: this.options.tls.cert, private_key: this.options.tls.key }],
          this.options.tls.requireClientCert ?? false,
        )
      : ServerCredentials.createInsecure();
    const address = host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    return this.boundPort;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Whether the server serves TLS (its location is then grpc+tls://). */
  get usesTls(): boolean {
    return this.options.tls !== undefined;
  }

  /** Calls in progress. */
  get activeCalls(): number {
    return this.active.size;
  }

  /**
   * Stops accepting calls and waits up to `graceMs` for calls in progress to finish; the rest
   * are cancelled (their handlers see `signal` abort, their clients get CANCELLED/UNAVAILABLE).
   */
  async close(graceMs = 5000): Promise<void> {
    this.health?.shutdown();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const controller of this.active) controller.abort(FlightError.unavailable('the server is shutting down'));
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private implementation(): UntypedServiceImplementation {
    const h = this.handlers;
    const unimplemented = (name: FlightMethodName): never => {
      throw FlightError.unimplemented(`${name} is not implemented by this server`);
    };
    return {
      Handshake: (call: ServerDuplexStream<unknown, unknown>) =>
        this.serve('Handshake', call, async (context, authenticated) => {
          const requests = readMessages<Decoded<HandshakeMessage>>(call) as AsyncGenerator<HandshakeMessage>;
          if (h.handshake) return this.writeEach(call, context, await h.handshake(requests, context));
          if (!this.auth) {
            for await (const _ of requests); // a handshake with no auth configured: accept and end
            return;
          }
          for await (const request of requests) {
            // The legacy flow: BasicAuth in the payload, the token back in the payload.
            if (request.payload.byteLength > 0 && !authenticated) {
              const basic = BasicAuthCodec.decode(request.payload);
              const { issuedToken } = await this.auth.login(basic.username, basic.password);
              call.write({ protocolVersion: request.protocolVersion, payload: Buffer.from(issuedToken!) });
              authenticated = true;
            }
          }
          if (!authenticated) {
            throw FlightError.unauthenticated('Handshake: send Basic credentials in the authorization header or a BasicAuth payload');
          }
        }),
      ListFlights: (call: ServerWritableStream<unknown, unknown>) =>
        this.serve('ListFlights', call, async (context) =>
          this.writeEach(call, context, await (h.listFlights ?? (() => unimplemented('ListFlights')))(this.request(call), context)),
        ),
      GetFlightInfo: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        this.unary('GetFlightInfo', call, callback, (context) =>
          (h.getFlightInfo ?? (() => unimplemented('GetFlightInfo')))(this.request(call), context),
        ),
      PollFlightInfo: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        this.unary('PollFlightInfo', call, callback, (context) =>
          (h.pollFlightInfo ?? (() => unimplemented('PollFlightInfo')))(this.request(call), context),
        ),
      GetSchema: (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        this.unary('GetSchema', call, callback, (context) =>
          (h.getSchema ?? (() => unimplemented('GetSchema')))(this.request(call), context),
        ),
      DoGet: (call: ServerWritableStream<unknown, unknown>) =>
        this.serve('DoGet', call, async (context) => {
          const output = await (h.doGet ?? (() => unimplemented('DoGet')))(this.request<Uint8Array>(call), context);
          await this.writeFlightData(call, context, output);
        }),
      DoPut: (call: ServerDuplexStream<unknown, unknown>) =>
        this.serve('DoPut', call, async (context) => {
          const handler = h.doPut ?? unimplemented('DoPut');
          const writer = new BackpressureWriter(call, this.writeBufferBytes, context.signal, true);
          const reader = this.reader(call, writer, context);
          const first = await reader.peek();
          if (!first)
            throw FlightError.invalidArgument(
              'DoPut: the client sent no message; the first must carry a FlightDescriptor naming the target',
            );
          if (!reader.descriptor) {
            throw FlightError.invalidArgument('DoPut: the first message must carry a FlightDescriptor naming the target');
          }
          const results = await handler(reader, context);
          if (results) {
            for await (const metadata of results)
              await writer.write(Buffer.from(metadata.buffer, metadata.byteOffset, metadata.byteLength));
          }
          // Drain what the client still sends, so it sees our status rather than a reset.
          for await (const _ of reader.chunks());
        }),
      DoExchange: (call: ServerDuplexStream<unknown, unknown>) =>
        this.serve('DoExchange', call, async (context) => {
          const handler = h.doExchange ?? unimplemented('DoExchange');
          const writer = new BackpressureWriter(call, this.writeBufferBytes, context.signal, true);
          const reader = this.reader(call, writer, context);
          await reader.peek();
          const output = await handler(reader, context);
          await this.writeFlightData(call, context, output, writer);
        }),
      DoAction: (call: ServerWritableStream<unknown, unknown>) =>
        this.serve('DoAction', call, async (context) => {
          const action = this.request<Action>(call);
          const results = await (h.doAction ?? (() => unimplemented('DoAction')))(action, context);
          await this.writeEach(call, context, results);
        }),
      ListActions: (call: ServerWritableStream<unknown, unknown>) =>
        this.serve('ListActions', call, async (context) => {
          this.request(call); // an Empty, but a malformed one is still INVALID_ARGUMENT
          await this.writeEach(call, context, await (h.listActions ?? (() => unimplemented('ListActions')))(context));
        }),
    };
  }

  /** The decoded request of a unary or server-streaming call; a malformed one is INVALID_ARGUMENT. */
  private request<T>(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>): T {
    const request = call.request as Decoded<T>;
    if (request instanceof FlightError) throw request;
    return request;
  }

  /**
   * The input side of DoPut/DoExchange. Reads ahead a few messages while the output flows, and
   * while the output is stalled (the client is not reading) as much as maxReadAheadBytes, so a
   * client that writes everything before reading cannot deadlock us; past that the call fails
   * with RESOURCE_EXHAUSTED. (Spilling to disk instead was weighed: it would re-encode every
   * message and add a file to clean up on each way a call ends; a client that sends more than
   * this before reading is better told, with the option that raises the bound.)
   */
  private reader(call: ServerDuplexStream<unknown, unknown>, writer: BackpressureWriter, context: CallContext): FlightDataReader {
    const source = readMessages<Decoded<FlightData>>(call) as AsyncGenerator<FlightData>;
    const queue: IteratorResult<FlightData>[] = [];
    let queuedBytes = 0;
    const limit = this.maxReadAheadBytes;
    let failure: unknown = null;
    let wakeConsumer: (() => void) | null = null;
    let wakePump: (() => void) | null = null;
    let stopped = false;
    const pump = async () => {
      try {
        for (;;) {
          while (queue.length >= this.readAhead && !writer.stalled && !stopped) {
            await new Promise<void>((resolve) => {
              wakePump = resolve;
              writer.onStall(resolve);
            });
          }
          if (stopped) return;
          const next = await source.next();
          queue.push(next);
          if (!next.done) queuedBytes += messageBytes(next.value);
          // The first readAheadMessages are always taken, however large (each is bounded by maxReceiveMessageBytes).
          if (queuedBytes > limit && queue.length > this.readAhead) {
            const error = new FlightError(
              'resource-exhausted',
              `${context.method}: the client sent more than ${limit} bytes (maxReadAheadBytes, --max-read-ahead-mb) ` +
                'without reading the response; read the response while writing, or raise the limit',
            );
            queue.length = 0;
            queuedBytes = 0;
            failure = error;
            writer.abort(error);
            wakeConsumer?.();
            // Read and drop the rest: a client that writes before it reads then gets to read
            // what we sent, and the status after it. From the call itself: grpc-js ends a call
            // with an 'error' event, which would end reading through `source`.
            await source.return(undefined);
            call.on('data', () => {});
            call.resume();
            return;
          }
          wakeConsumer?.();
          if (next.done) return;
        }
      } catch (error) {
        failure = error;
        wakeConsumer?.();
      }
    };
    void pump();
    const iterator: AsyncIterator<FlightData> = {
      next: async () => {
        for (;;) {
          const item = queue.shift();
          if (item) {
            if (!item.done) queuedBytes -= messageBytes(item.value);
            const w = wakePump as (() => void) | null;
            wakePump = null;
            w?.();
            return item;
          }
          if (failure) throw failure;
          await new Promise<void>((resolve) => (wakeConsumer = resolve));
          wakeConsumer = null;
        }
      },
      return: async () => {
        stopped = true;
        const w = wakePump as (() => void) | null;
        w?.();
        return { done: true, value: undefined };
      },
    };
    const reader = new FlightDataReader(iterator);
    this.streams.get(context.signal)!.input = reader;
    return reader;
  }

  private async writeFlightData(
    call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    context: CallContext,
    output: FlightOutput,
    backpressure = new BackpressureWriter(call, this.writeBufferBytes, context.signal, true),
  ): Promise<void> {
    const writer = new FlightDataWriter((message) => backpressure.write(message), { maxMessageBytes: this.maxMessageBytes });
    this.streams.get(context.signal)!.output = writer;
    if (output.schema) await writer.writeSchema(output.schema);
    const iterator = toAsyncIterator(output);
    try {
      for (;;) {
        if (context.signal.aborted) throw context.signal.reason ?? FlightError.cancelled('the call was cancelled');
        const next = await iterator.next();
        if (next.done) break;
        await writer.writeItem(next.value);
      }
    } catch (error) {
      await iterator.return?.(); // stop the producer (a database query, an upstream call)
      throw error;
    }
  }

  /** Writes each item of a server-streaming response through grpc-js's serializer. */
  private async writeEach<T>(
    call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    context: CallContext,
    items: Many<T>,
  ): Promise<void> {
    const iterator = toAsyncIterator(items);
    try {
      for (;;) {
        if (context.signal.aborted) throw FlightError.cancelled('the call was cancelled');
        const next = await iterator.next();
        if (next.done) break;
        if (!call.write(next.value)) await new Promise((resolve) => call.once('drain', resolve));
      }
    } catch (error) {
      await iterator.return?.();
      throw error;
    }
  }

  private async begin(
    method: FlightMethodName,
    call: AnyCall,
  ): Promise<{ context: CallContext; authenticated: boolean; controller: AbortController }> {
    const controller = new AbortController();
    this.active.add(controller);
    this.streams.set(controller.signal, {});
    (call as NodeJS.EventEmitter).on('cancelled', () => controller.abort(FlightError.cancelled('the client cancelled the call')));
    let identity: string | undefined;
    let authenticated = false;
    const context: CallContext = {
      method,
      headers: call.metadata,
      peer: call.getPeer(),
      signal: controller.signal,
      get identity() {
        return identity;
      },
      trailers: new Metadata(),
    };
    if (this.auth) {
      const isHandshake = method === 'Handshake';
      const hasCredentials = call.metadata.get('authorization').length > 0 || call.metadata.get('auth-token-bin').length > 0;
      if (!isHandshake || hasCredentials) {
        const result = await this.auth.authenticate(call.metadata).catch((error: unknown) => {
          this.active.delete(controller); // the caller never learns of this controller: it would stay "active"
          throw error;
        });
        identity = result.identity;
        authenticated = true;
        if (result.issuedToken) {
          const headers = new Metadata();
          headers.set('authorization', `Bearer ${result.issuedToken}`);
          call.sendMetadata(headers);
        }
      }
    }
    return { context, authenticated, controller };
  }

  private finish(
    method: FlightMethodName,
    call: AnyCall,
    started: number,
    controller: AbortController | undefined,
    identity: string | undefined,
    code: GrpcStatus,
    details: string,
  ) {
    if (controller) this.active.delete(controller);
    const { input, output } = (controller && this.streams.get(controller.signal)) ?? {};
    this.options.onCallEnd?.({
      method,
      peer: safePeer(call),
      identity,
      code,
      details,
      milliseconds: performance.now() - started,
      rowsIn: input?.rows ?? 0,
      bytesIn: input?.bytes ?? 0,
      rowsOut: output?.rows ?? 0,
      bytesOut: output?.bytes ?? 0,
    });
  }

  private unary<T>(
    method: FlightMethodName,
    call: ServerUnaryCall<unknown, unknown>,
    callback: sendUnaryData<unknown>,
    body: (context: CallContext) => MaybePromise<T>,
  ): void {
    this.run(
      method,
      call,
      body,
      (result, trailers) => callback(null, result, trailers),
      (error, trailers) => {
        const status = withTrailers(toGrpcStatus(error), trailers);
        callback(status);
        return status;
      },
    );
  }

  private serve(
    method: FlightMethodName,
    call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
    body: (context: CallContext, authenticated: boolean) => Promise<void>,
  ): void {
    this.run(
      method,
      call,
      body,
      (_, trailers) => call.end(trailers),
      (error, trailers, controller) => {
        const cancelled = controller?.signal.aborted && (call as { cancelled?: boolean }).cancelled;
        const status = cancelled
          ? { code: GrpcStatus.CANCELLED, details: 'the client cancelled the call', metadata: new Metadata() }
          : withTrailers(toGrpcStatus(error), trailers);
        if (!cancelled) {
          if (call instanceof Http2ServerCall) call.endWithStatus(status);
          else call.emit('error', status);
        }
        return status;
      },
    );
  }

  /** A call from begin to finish: `succeed` answers with the body's result, `fail` with the status it returns. */
  private run<T>(
    method: FlightMethodName,
    call: AnyCall,
    body: (context: CallContext, authenticated: boolean) => MaybePromise<T>,
    succeed: (result: T, trailers: Metadata) => void,
    fail: (
      error: unknown,
      trailers: Metadata | undefined,
      controller: AbortController | undefined,
    ) => { code: GrpcStatus; details: string },
  ): void {
    const started = performance.now();
    let controller: AbortController | undefined;
    let identity: string | undefined;
    let trailers: Metadata | undefined;
    (async () => {
      const begun = await this.begin(method, call);
      controller = begun.controller;
      identity = begun.context.identity;
      trailers = begun.context.trailers;
      succeed(await body(begun.context, begun.authenticated), begun.context.trailers);
      this.finish(method, call, started, controller, identity, GrpcStatus.OK, 'OK');
    })().catch((error: unknown) => {
      const status = fail(error, trailers, controller);
      this.finish(method, call, started, controller, identity, status.code, status.details);
    });
  }
}

/**
 * CallAdmission on grpc-js's Server, as an interceptor: a refused call never reaches its
 * handler, and one whose request does not come is ended with DEADLINE_EXCEEDED. (grpc-js does
 * not reset such a stream, so a silent client keeps its place until it ends it: the
 * per-connection stream limit still bounds them.)
 */
function admissionInterceptor(admission: CallAdmission): ServerInterceptor {
  return (method, call) => {
    let timer: NodeJS.Timeout | undefined;
    const arrived = () => clearTimeout(timer);
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const refusal = admission.refuse?.(method.path, metadata);
            if (refusal) {
              call.sendStatus({ code: refusal.code ?? GrpcStatus.UNKNOWN, details: refusal.details ?? '', metadata: new Metadata() });
              return;
            }
            const ms = admission.firstMessageTimeoutMs ?? 0;
            if (ms > 0) timer = setTimeout(() => call.sendStatus(firstMessageTimeout(ms, method.requestStream)), ms);
            pass(metadata);
          },
          onReceiveMessage: (message, pass) => {
            if (method.requestStream) arrived();
            pass(message);
          },
          onReceiveHalfClose: (pass) => {
            arrived();
            pass();
          },
          onCancel: arrived,
        }),
      sendStatus: (status, pass) => {
        arrived();
        pass(status);
      },
    });
  };
}

function messageBytes(message: FlightData): number {
  return message.dataHeader.byteLength + message.dataBody.byteLength + (message.appMetadata?.byteLength ?? 0);
}

/** An error status carries the trailers the handler set before failing, and the error's own. */
function withTrailers<S extends { metadata?: Metadata | undefined }>(status: S, trailers: Metadata | undefined): S {
  if (!trailers || Object.keys(trailers.toJSON()).length === 0) return status;
  const metadata = trailers.clone();
  if (status.metadata) metadata.merge(status.metadata);
  return { ...status, metadata };
}

function safePeer(call: AnyCall): string {
  try {
    return call.getPeer();
  } catch {
    return 'unknown';
  }
}

function toAsyncIterator<T>(items: Many<T>): AsyncIterator<T> {
  if (Symbol.asyncIterator in items) return (items as AsyncIterable<T>)[Symbol.asyncIterator]();
  const iterator = (items as Iterable<T>)[Symbol.iterator]();
  return {
    next: async () => iterator.next(),
    return: async () => iterator.return?.() ?? { done: true, value: undefined },
  };
}
