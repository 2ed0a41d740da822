// A generic Arrow Flight client, the mirror of server.ts, on our gRPC channel (grpc-client.ts,
// over our HTTP/2 or node:http2) or on grpc-js's Client: every RPC, with Arrow data as async
// iterables, headers and trailers reachable, AbortSignal and deadlines on every call.

import {
  Client,
  credentials as grpcCredentials,
  Metadata,
  type CallOptions as GrpcCallOptions,
  type ChannelOptions,
  type ClientDuplexStream,
  type ClientReadableStream,
  type ServiceError,
  type StatusObject,
} from '@grpc/grpc-js';
import { RecordBatch, Schema, Table } from 'apache-arrow';
import { basicAuthHeader } from './auth.ts';
import {
  CLIENT_KEEPALIVE,
  DEFAULT_CLIENT_WINDOW_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
  transportDefaults,
  type ClientTransport,
} from './defaults.ts';
import { EncodedBatch } from './encoded-batch.ts';
import { FlightError, fromGrpcError } from './error.ts';
import type { FlightData } from './flight-data.ts';
import { FlightDescriptor, type Action, type ActionType, type FlightInfo, type HandshakeMessage, type PollInfo } from './messages.ts';
import { FlightDataReader } from './reader.ts';
import { Http2GrpcChannel } from './transport/grpc-client.ts';
import { FlightServiceDefinition, type Decoded } from './service.ts';
import {
  BackpressureWriter,
  CLIENT_RETRY_BUFFER_BYTES,
  CLIENT_REUSE_MIN_BYTES,
  DEFAULT_WRITE_BUFFER_BYTES,
  readMessages,
} from './streams.ts';
import { FlightDataWriter, type FlightOutputItem } from './writer.ts';

type Many<T> = AsyncIterable<T> | Iterable<T>;

export interface FlightClientOptions {
  /** TLS: `true` for the system roots, or explicit certificates (mutual TLS with key + chain). */
  tls?: boolean | { rootCerts?: Buffer; privateKey?: Buffer; certChain?: Buffer; serverNameOverride?: string } | undefined;
  /** A bearer token sent on every call (authenticateBasicToken sets it). */
  token?: string | undefined;
  /** Headers sent on every call. */
  headers?: Record<string, string> | undefined;
  /** Largest message we send: batches are sliced to fit (default 4 MiB). */
  maxMessageBytes?: number | undefined;
  /** Largest message accepted (default 256 MiB). */
  maxReceiveMessageBytes?: number | undefined;
  /** HTTP/2 flow-control window in bytes (default 16 MiB; gRPC's 64 KiB default halves loopback throughput). */
  flowControlWindow?: number | undefined;
  /** Bytes of outgoing messages queued per stream before writers wait (default 8 MiB). */
  writeBufferBytes?: number | undefined;
  grpcOptions?: ChannelOptions | undefined;
  /**
   * 'http2' (default): our own gRPC client channel (grpc-client.ts) on our own HTTP/2
   * (h2-connection.ts), about a third of grpc-js's CPU per uploaded byte and half of node:http2's
   * per downloaded byte; it reads the keepalive options of grpcOptions and no others (each
   * FlightClient has a connection of its own). 'node-http2': the same channel on node:http2.
   * 'grpc-js': @grpc/grpc-js's Client. An entry point may change the default (transportDefaults).
   */
  transport?: ClientTransport | undefined;
}

export interface CallOptions {
  signal?: AbortSignal | undefined;
  /** Milliseconds from now, or an absolute Date. */
  deadline?: number | Date | undefined;
  headers?: Record<string, string | Buffer> | undefined;
  /** Called with the response headers. */
  onHeaders?: ((headers: Metadata) => void) | undefined;
  /** Called with the trailers when the call ends (successfully or not). */
  onTrailers?: ((trailers: Metadata) => void) | undefined;
}

/** A reader of a call's Arrow stream, with the call's headers and trailers. */
export class FlightCallReader extends FlightDataReader {
  constructor(
    source: AsyncIterator<FlightData>,
    cancel: () => void,
    readonly headers: Promise<Metadata>,
    readonly trailers: Promise<Metadata>,
  ) {
    super(source, cancel);
  }
}

/** Both directions of a DoExchange: write batches while reading the server's. */
export interface FlightExchange {
  readonly reader: FlightCallReader;
  writeSchema(schema: Schema, appMetadata?: Uint8Array): Promise<void>;
  write(batch: RecordBatch, appMetadata?: Uint8Array): Promise<void>;
  /** A batch already serialized as IPC (see EncodedBatch), after its schema. */
  writeEncoded(batch: EncodedBatch): Promise<void>;
  writeMetadata(appMetadata: Uint8Array): Promise<void>;
  /** Done writing: the server sees the end of our stream and may finish its answer. */
  end(): void;
  cancel(): void;
}

const utf8 = new TextEncoder();

export type { ClientTransport };

const M = FlightServiceDefinition;

export { CLIENT_KEEPALIVE };

/** Parses `grpc://host:port`, `grpc+tcp://...`, `grpc+tls://...` or `host:port`. */
export function parseLocation(location: string): { address: string; tls: boolean } {
  const match = /^(grpc(?:\+tcp|\+tls)?):\/\/(.+?)\/?$/.exec(location);
  if (!match) {
    if (/^[^/]+:\d+$/.test(location)) return { address: location, tls: false };
    throw FlightError.invalidArgument(
      `unsupported Flight location ${JSON.stringify(location)}: use grpc://host:port or grpc+tls://host:port`,
    );
  }
  return { address: match[2]!, tls: match[1] === 'grpc+tls' };
}

/**
 * An Arrow Flight client.
 *
 * ```ts
 * const client = new FlightClient('grpc://localhost:8815');
 * const table = await client.doGet('SELECT 42 AS answer').readAll();
 * client.close();
 * ```
 */
export class FlightClient {
  private readonly client: Client;
  token: string | undefined;
  readonly maxMessageBytes: number;
  private readonly writeBufferBytes: number;

  constructor(
    readonly location: string,
    private readonly options: FlightClientOptions = {},
  ) {
    const { address, tls: tlsFromScheme } = parseLocation(location);
    const tls = options.tls ?? tlsFromScheme;
    const channelCredentials = tls
      ? grpcCredentials.createSsl(
          typeof tls === 'object' ? (tls.rootCerts ?? null) : null,
          typeof tls === 'object' ? (tls.privateKey ?? null) : null,
          typeof tls === 'object' ? (tls.certChain ?? null) : null,
        )
      : grpcCredentials.createInsecure();
    const overrideName = typeof tls === 'object' ? tls.serverNameOverride : undefined;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.writeBufferBytes = options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES;
    this.token = options.token;
    const transport = options.transport ?? transportDefaults.client;
    if (transport !== 'grpc-js') {
      const grpcOptions = { ...CLIENT_KEEPALIVE, ...options.grpcOptions };
      const channel = new Http2GrpcChannel(address, {
        http2: transport === 'node-http2' ? 'node' : 'own',
        tls: tls ? (typeof tls === 'object' ? tls : {}) : undefined,
        windowBytes: options.flowControlWindow ?? DEFAULT_CLIENT_WINDOW_BYTES,
        maxReceiveMessageBytes: options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
        keepaliveTimeMs: Number(grpcOptions['grpc.keepalive_time_ms'] ?? 0),
        keepaliveTimeoutMs: Number(grpcOptions['grpc.keepalive_timeout_ms'] ?? 20_000),
      });
      // The channel offers the part of grpc-js's Client this class calls, with the same signatures.
      this.client = channel as unknown as Client;
      return;
    }
    this.client = new Client(address, channelCredentials, {
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
      'grpc.max_send_message_length': -1,
      'grpc-node.flow_control_window': options.flowControlWindow ?? DEFAULT_CLIENT_WINDOW_BYTES,
      ...CLIENT_KEEPALIVE,
      ...(overrideName ? { 'grpc.ssl_target_name_override': overrideName, 'grpc.default_authority': overrideName } : {}),
      ...options.grpcOptions,
      // Reusing upload memory relies on grpc-js not keeping large messages for retries.
      'grpc.per_rpc_retry_buffer_size': Math.min(
        Number(options.grpcOptions?.['grpc.per_rpc_retry_buffer_size'] ?? CLIENT_RETRY_BUFFER_BYTES),
        CLIENT_RETRY_BUFFER_BYTES,
      ),
    });
  }

  /** Waits until the channel is connected (or the deadline passes). */
  async waitForReady(timeoutMs = 5000): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.client.waitForReady(Date.now() + timeoutMs, (error) =>
        error ? reject(FlightError.unavailable(`could not connect to ${this.location}: ${error.message}`, error)) : resolve(),
      ),
    );
  }

  close(): void {
    this.client.close();
  }

  private metadata(options: CallOptions | undefined, extra?: Record<string, string>): Metadata {
    const md = new Metadata();
    for (const [k, v] of Object.entries(this.options.headers ?? {})) md.set(k, v);
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    for (const [k, v] of Object.entries(extra ?? {})) md.set(k, v);
    for (const [k, v] of Object.entries(options?.headers ?? {})) md.set(k, v);
    return md;
  }

  private grpcOptions(options: CallOptions | undefined): GrpcCallOptions {
    const deadline = options?.deadline;
    return deadline === undefined ? {} : { deadline: typeof deadline === 'number' ? Date.now() + deadline : deadline };
  }

  /** Wires a grpc-js call to an AbortSignal and to the header/trailer callbacks. */
  private track(
    call: NodeJS.EventEmitter & { cancel(): void },
    options: CallOptions | undefined,
  ): { headers: Promise<Metadata>; trailers: Promise<Metadata> } {
    // A failed call's status reaches the caller through the 'status' event and the message
    // iterator. Once a reader is closed early (it cancels the call) nothing else listens, and
    // grpc-js's 'error' for that CANCELLED status would be an unheard 'error' event: a crash.
    call.on('error', () => {});
    const signal = options?.signal;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => call.cancel());
      else {
        const abort = () => call.cancel();
        signal.addEventListener('abort', abort, { once: true });
        call.on('status', () => signal.removeEventListener('abort', abort));
      }
    }
    const headers = new Promise<Metadata>((resolve) => {
      call.on('metadata', (md: Metadata) => {
        options?.onHeaders?.(md);
        resolve(md);
      });
      call.on('status', () => resolve(new Metadata()));
    });
    const trailers = new Promise<Metadata>((resolve) =>
      call.on('status', (status: StatusObject) => {
        const md = status.metadata ?? new Metadata();
        options?.onTrailers?.(md);
        resolve(md);
      }),
    );
    return { headers, trailers };
  }

  private unary<Req, Res>(
    method: { path: string; requestSerialize: (v: Req) => Buffer; responseDeserialize: (b: Buffer) => Res },
    request: Req,
    options: CallOptions | undefined,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const call = this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize as (b: Buffer) => Decoded<Res>,
        request,
        this.metadata(options),
        this.grpcOptions(options),
        (error: ServiceError | null, value?: Decoded<Res>) => {
          if (error) reject(this.mapError(error, options));
          else if (value instanceof FlightError) reject(value);
          else resolve(value as Res);
        },
      );
      this.track(call, options);
    });
  }

  private mapError(error: unknown, options: CallOptions | undefined): FlightError {
    const mapped = fromGrpcError(error);
    if (mapped.kind === 'cancelled' && options?.signal?.aborted) {
      return new FlightError('cancelled', `the call was cancelled: ${String(options.signal.reason ?? 'aborted')}`, { cause: error });
    }
    return mapped;
  }

  private serverStream<Req, Res>(
    method: { path: string; requestSerialize: (v: Req) => Buffer; responseDeserialize: (b: Buffer) => Res },
    request: Req,
    options: CallOptions | undefined,
  ): { call: ClientReadableStream<Decoded<Res>>; messages: AsyncGenerator<Res>; headers: Promise<Metadata>; trailers: Promise<Metadata> } {
    const call = this.client.makeServerStreamRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize as (b: Buffer) => Decoded<Res>,
      request,
      this.metadata(options),
      this.grpcOptions(options),
    );
    const { headers, trailers } = this.track(call, options);
    const messages = readMessages<Res>(call, (e) => this.mapError(e, options));
    return { call, messages, headers, trailers };
  }

  private async *collectStream<T>(stream: { call: { cancel(): void }; messages: AsyncGenerator<T> }): AsyncGenerator<T> {
    let finished = false;
    try {
      for await (const message of stream.messages) yield message;
      finished = true;
    } finally {
      if (!finished) stream.call.cancel();
    }
  }

  /**
   * Basic credentials for a Bearer token (the flow of pyarrow's `authenticate_basic_token`): the
   * token is kept and sent on every later call, and returned.
   */
  async authenticateBasicToken(username: string, password: string, options?: CallOptions): Promise<string> {
    let bearer: string | undefined;
    const call = this.client.makeBidiStreamRequest(
      M.Handshake.path,
      M.Handshake.requestSerialize,
      M.Handshake.responseDeserialize,
      this.metadata(options, { authorization: basicAuthHeader(username, password) }),
      this.grpcOptions(options),
    );
    this.track(call, {
      ...options,
      onHeaders: (md) => {
        const value = md.get('authorization')[0];
        if (typeof value === 'string' && /^bearer\s/i.test(value)) bearer = value.replace(/^bearer\s+/i, '');
        options?.onHeaders?.(md);
      },
    });
    call.end();
    for await (const _ of readMessages(call, (e) => this.mapError(e, options)));
    if (!bearer) throw FlightError.unauthenticated('the server accepted the handshake but sent no bearer token');
    this.token = bearer;
    return bearer;
  }

  /** A raw Handshake: sends the given messages and returns the server's. */
  async handshake(requests: HandshakeMessage[], options?: CallOptions): Promise<HandshakeMessage[]> {
    const call = this.client.makeBidiStreamRequest(
      M.Handshake.path,
      M.Handshake.requestSerialize,
      M.Handshake.responseDeserialize,
      this.metadata(options),
      this.grpcOptions(options),
    );
    this.track(call, options);
    for (const request of requests) call.write(request);
    call.end();
    const responses: HandshakeMessage[] = [];
    for await (const response of readMessages<HandshakeMessage>(call, (e) => this.mapError(e, options))) responses.push(response);
    return responses;
  }

  listFlights(criteria: Uint8Array | string = new Uint8Array(0), options?: CallOptions): AsyncIterable<FlightInfo> {
    const expression = typeof criteria === 'string' ? utf8.encode(criteria) : criteria;
    return this.collectStream(this.serverStream(M.ListFlights, expression, options));
  }

  getFlightInfo(descriptor: FlightDescriptor, options?: CallOptions): Promise<FlightInfo> {
    return this.unary(M.GetFlightInfo, descriptor, options);
  }

  pollFlightInfo(descriptor: FlightDescriptor, options?: CallOptions): Promise<PollInfo> {
    return this.unary(M.PollFlightInfo, descriptor, options);
  }

  getSchema(descriptor: FlightDescriptor, options?: CallOptions): Promise<Schema> {
    return this.unary(M.GetSchema, descriptor, options);
  }

  /** Redeems a ticket; a string ticket is sent as its UTF-8 bytes. */
  doGet(ticket: Uint8Array | string, options?: CallOptions): FlightCallReader {
    const bytes = typeof ticket === 'string' ? utf8.encode(ticket) : ticket;
    const stream = this.serverStream(M.DoGet, bytes, options) as unknown as ReturnType<FlightClient['serverStream']> & {
      messages: AsyncGenerator<FlightData>;
    };
    return new FlightCallReader(stream.messages, () => stream.call.cancel(), stream.headers, stream.trailers);
  }

  /**
   * Uploads Arrow data under a descriptor and returns the server's PutResult app_metadata.
   * Accepts a Table (its schema is sent even with no rows) or any iterable of batches, schemas
   * and chunks with app_metadata.
   */
  async doPut(descriptor: FlightDescriptor, data: Table | Many<FlightOutputItem>, options?: CallOptions): Promise<Uint8Array[]> {
    const call = this.client.makeBidiStreamRequest(
      M.DoPut.path,
      M.DoPut.requestSerialize,
      M.DoPut.responseDeserialize as unknown as (b: Buffer) => Decoded<Uint8Array>,
      this.metadata(options),
      this.grpcOptions(options),
    ) as ClientDuplexStream<Buffer, Decoded<Uint8Array>>;
    this.track(call, options);
    const results: Uint8Array[] = [];
    const reading = (async () => {
      for await (const result of readMessages<Uint8Array>(call, (e) => this.mapError(e, options))) results.push(result);
    })();
    reading.catch(() => {}); // observed below; never an unhandled rejection
    const backpressure = new BackpressureWriter(call, this.writeBufferBytes, undefined, { minBytes: CLIENT_REUSE_MIN_BYTES });
    const writer = new FlightDataWriter((m) => backpressure.write(m), { descriptor, maxMessageBytes: this.maxMessageBytes });
    const writing = (async () => {
      if (data instanceof Table) {
        await writer.writeSchema(data.schema);
        await writer.writeAll(data.batches);
      } else if (data instanceof FlightDataReader) {
        // Piping another stream: its schema goes first, even when it brings no batches.
        const schema = await data.schema();
        if (schema) await writer.writeSchema(schema);
        await writer.writeAll(data.chunks());
      } else {
        await writer.writeAll(data);
      }
      if (!writer.schemaSent) throw FlightError.invalidArgument('doPut: no schema to send (the input had no batches and no schema)');
    })();
    try {
      // A call that fails (cancelled, its deadline passed, the server's error) rejects now, even
      // while the source is still working on its next batch.
      await Promise.race([writing, reading.then(() => writing)]);
    } catch (error) {
      writing.catch(() => {}); // a source still running: its later failure is not news
      if (backpressure.failed) {
        await reading; // the server ended the call: its status is the error to report
        throw error;
      }
      call.cancel();
      throw error;
    }
    call.end();
    await reading;
    return results;
  }

  /** Opens a DoExchange: write with the returned methods while reading `reader`. */
  doExchange(descriptor: FlightDescriptor, options?: CallOptions): FlightExchange {
    return this.openExchange(descriptor, options).exchange;
  }

  private openExchange(descriptor: FlightDescriptor, options: CallOptions | undefined) {
    const call = this.client.makeBidiStreamRequest(
      M.DoExchange.path,
      M.DoExchange.requestSerialize,
      M.DoExchange.responseDeserialize,
      this.metadata(options),
      this.grpcOptions(options),
    ) as unknown as ClientDuplexStream<Buffer, Decoded<FlightData>>;
    const { headers, trailers } = this.track(call, options);
    const backpressure = new BackpressureWriter(call, this.writeBufferBytes, undefined, { minBytes: CLIENT_REUSE_MIN_BYTES });
    const writer = new FlightDataWriter((m) => backpressure.write(m), { descriptor, maxMessageBytes: this.maxMessageBytes });
    let localError: unknown = null;
    const messages = readMessages<FlightData>(call, (e) => this.mapError(e, options));
    // A failure of our own writing side ends the call; the reader then reports it, not CANCELLED.
    const source: AsyncIterator<FlightData> = {
      next: async () => {
        try {
          return await messages.next();
        } catch (error) {
          throw localError ?? error;
        }
      },
      return: async () => messages.return(),
    };
    const reader = new FlightCallReader(source, () => call.cancel(), headers, trailers);
    const mapWriteError = (error: unknown): never => {
      throw this.mapError(error, options);
    };
    const exchange: FlightExchange = {
      reader,
      // A write fails when the call has ended (the server's status, a cancellation): always as
      // a FlightError, like everything else this client rejects with.
      writeSchema: (schema, appMetadata) => writer.writeSchema(schema, appMetadata).catch(mapWriteError),
      write: (batch, appMetadata) => writer.write(batch, appMetadata).catch(mapWriteError),
      writeEncoded: (batch) => writer.writeEncoded(batch).catch(mapWriteError),
      writeMetadata: (appMetadata) => writer.writeMetadata(appMetadata).catch(mapWriteError),
      end: () => call.end(),
      cancel: () => call.cancel(),
    };
    const fail = (error: unknown) => {
      if (!backpressure.failed) localError ??= error;
      call.cancel();
    };
    return { exchange, fail };
  }

  /**
   * DoExchange with the input given up front: writes it in the background (as the reader is
   * read) and returns the reader of the server's answer. A failure while writing ends the call
   * and surfaces from the reader.
   */
  exchange(descriptor: FlightDescriptor, input: Table | Many<FlightOutputItem>, options?: CallOptions): FlightCallReader {
    const { exchange, fail } = this.openExchange(descriptor, options);
    const items: Many<FlightOutputItem> = input instanceof Table ? [input.schema, ...input.batches] : input;
    void (async () => {
      try {
        for await (const item of items) {
          if (item instanceof Schema) await exchange.writeSchema(item);
          else if (item instanceof RecordBatch) await exchange.write(item);
          else if (item instanceof EncodedBatch) await exchange.writeEncoded(item);
          else if (item.batch) await exchange.write(item.batch, item.appMetadata);
          else if (item.appMetadata) await exchange.writeMetadata(item.appMetadata);
        }
        exchange.end();
      } catch (error) {
        fail(error);
      }
    })();
    return exchange.reader;
  }

  /** Runs an action; yields each Result body. */
  doAction(action: Action | string, body?: Uint8Array | string, options?: CallOptions): AsyncIterable<Uint8Array> {
    const request: Action =
      typeof action === 'string'
        ? { type: action, body: typeof body === 'string' ? utf8.encode(body) : (body ?? new Uint8Array(0)) }
        : action;
    return this.collectStream(this.serverStream(M.DoAction, request, options));
  }

  async listActions(options?: CallOptions): Promise<ActionType[]> {
    const types: ActionType[] = [];
    for await (const t of this.collectStream(this.serverStream(M.ListActions, {}, options))) types.push(t as ActionType);
    return types;
  }
}

export { FlightDescriptor };
