// The client side of HTTP/2 (RFC 9113) written on a plain socket, for the 'http2' client
// transport (grpc-client.ts). It offers the parts of node:http2's ClientHttp2Session and
// ClientHttp2Stream that the gRPC channel uses, and no more: requests, response headers and
// trailers, DATA both ways under flow control, resets, PING, GOAWAY, SETTINGS.
//
// Why not node:http2: on a DoGet most of the client's CPU went into node:http2 itself, which
// hands every DATA frame through nghttp2 and a Readable to JavaScript, on a fresh buffer. Here the
// socket reads into one reused buffer and DATA payloads go from it straight to the gRPC message
// splitter, which copies them once into the message (bench/loopback.ts has the figures).
//
// So a 'data' chunk is a view of that buffer, valid only while its listeners run: a listener that
// keeps one must copy it. Backpressure: a paused stream still delivers what arrives, but gets no
// WINDOW_UPDATE until it resumes, so the server stops after at most one window.

import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { encodeHeaders, HeaderListTooLarge, HpackDecoder, HpackError } from './hpack.ts';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

/** HTTP/2 error codes (RFC 9113 section 7), the same numbers as node:http2's NGHTTP2_* constants. */
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
export const H2_FLOW_CONTROL_ERROR = 0x3;
export const H2_STREAM_CLOSED = 0x5;
export const H2_FRAME_SIZE_ERROR = 0x6;
export const H2_REFUSED_STREAM = 0x7;
export const H2_COMPRESSION_ERROR = 0x9;

const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME = 16_384;
const MAX_WINDOW = 2 ** 31 - 1;
/** The largest frame we take: DATA above 16 KiB saves frame headers when a server sends it. */
const LOCAL_MAX_FRAME = 1 << 20;
/** What one socket read fills; small enough to stay in cache while it is parsed. */
const READ_BUFFER_BYTES = 256 * 1024;
/** The most header bytes (RFC 7541's count) a response may carry; grpc-js allows far less. */
const MAX_HEADER_LIST_BYTES = 1 << 20;
const HEADER_TABLE_BYTES = 4096;
/** DATA frames at least this large are written from the caller's memory; smaller ones are staged. */
const DIRECT_FRAME_BYTES = 64 * 1024;
/** One socket write of staged frames. */
const STAGE_BYTES = 256 * 1024;
const SPARE_STAGES = 4;
const EMPTY = new Uint8Array(0);

export type H2Headers = Record<string, string | string[] | undefined>;
export type OutgoingHeaders = Record<string, string | number | readonly string[] | undefined>;

/** A connection-level failure: the peer broke the protocol, or the socket went away. */
export class H2ConnectionError extends Error {
  constructor(
    message: string,
    readonly code = H2_PROTOCOL_ERROR,
  ) {
    super(message);
    this.name = 'H2ConnectionError';
  }
}

export interface H2ConnectOptions {
  /** host:port, an IPv6 host in brackets. */
  address: string;
  tls?: tls.ConnectionOptions | undefined;
  /** Receive window per stream and for the connection. */
  windowBytes: number;
}

interface PendingWrite {
  data: Uint8Array;
  offset: number;
  callback: ((error?: Error | null) => void) | undefined;
}

/** Turns a decoded header list into node:http2's shape: lower-case names, repeated ones as arrays. */
function headerObject(fields: Array<[string, string]>): H2Headers {
  const headers: H2Headers = Object.create(null) as H2Headers;
  for (const [name, value] of fields) {
    const seen = headers[name];
    if (seen === undefined) headers[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else headers[name] = [seen, value];
  }
  return headers;
}

function frameHeader(length: number, type: number, flags: number, stream: number): Buffer {
  const header = Buffer.allocUnsafe(9);
  header[0] = length >>> 16;
  header[1] = (length >>> 8) & 0xff;
  header[2] = length & 0xff;
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return header;
}

function frame(type: number, flags: number, stream: number, payload?: Uint8Array): Buffer {
  const length = payload?.byteLength ?? 0;
  const out = Buffer.allocUnsafe(9 + length);
  frameHeader(length, type, flags, stream).copy(out, 0);
  if (payload) out.set(payload, 9);
  return out;
}

function u32(value: number): Buffer {
  const out = Buffer.allocUnsafe(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/**
 * One request on an H2Connection. Writable with write(chunk, cb)/end(), readable through 'data'
 * events; 'response' (headers), 'trailers', 'end' (the server's END_STREAM), then 'close' once,
 * when both sides are done or either reset the stream (rstCode tells which code).
 */
export class H2Stream extends EventEmitter {
  id = 0;
  /** The reset code the stream closed with, ours or the server's; undefined when it ended normally. */
  rstCode: number | undefined = undefined;
  /** Why we reset it, when it was something the server sent. */
  failure: Error | undefined = undefined;
  closed = false;
  writableEnded = false;
  /** The server's END_STREAM arrived. */
  remoteEnded = false;
  /** Our END_STREAM went out. */
  localEnded = false;
  responded = false;
  paused = false;
  /** Set when the stream opens, from the server's SETTINGS then. */
  sendWindow = 0;
  /** Bytes received and not yet returned to the server by a WINDOW_UPDATE: its receive window is ours less these. */
  unacknowledged = 0;
  readonly queue: PendingWrite[] = [];

  constructor(
    private readonly connection: H2Connection,
    readonly headerBlock: Buffer,
  ) {
    super();
  }

  get destroyed(): boolean {
    return this.closed;
  }

  /** Queues bytes for DATA frames; `callback` runs once the socket no longer needs them. */
  write(data: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    if (this.closed || this.writableEnded) {
      if (callback) queueMicrotask(() => callback(new Error('the stream is closed')));
      return false;
    }
    this.queue.push({ data, offset: 0, callback });
    this.connection.flush(this);
    return true;
  }

  /** Ends our side: END_STREAM after whatever is queued. */
  end(): void {
    if (this.closed || this.writableEnded) return;
    this.writableEnded = true;
    this.connection.flush(this);
  }

  /** Closes the stream with RST_STREAM(code), dropping what is queued. Nothing goes out before the reset. */
  close(code: number = H2_NO_ERROR): void {
    if (this.closed) return;
    this.connection.reset(this, code);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.connection.acknowledge(this);
  }
}

/**
 * One client connection. 'remoteSettings' once the server's first SETTINGS arrive (the
 * connection is usable then), 'goaway', 'error', 'close'. `socket` is the TCP or TLS socket.
 */
export class H2Connection extends EventEmitter {
  readonly socket: net.Socket;
  destroyed = false;
  closed = false;
  private readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for the server's concurrency limit to let them open. */
  private readonly waiting: H2Stream[] = [];
  private nextStreamId = 1;
  private goawayReceived = false;
  private lastAcceptedStream = MAX_WINDOW;
  private settingsReceived = false;

  // What the server told us.
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private peerMaxStreams = Infinity;
  private sendWindow = DEFAULT_WINDOW;

  // Our receive side.
  private readonly windowBytes: number;
  /** Bytes received on the connection and not yet returned: its receive window is windowBytes less these. */
  private unacknowledged = 0;
  private readonly hpack = new HpackDecoder(HEADER_TABLE_BYTES);

  // The frame parser's state across socket reads.
  private readonly head = Buffer.alloc(9);
  private headFilled = 0;
  /** DATA payload bytes still to come in the current frame (padding included). */
  private dataLeft = 0;
  /** Of those, the trailing padding. */
  private dataPadding = 0;
  /** A PADDED DATA frame whose pad-length byte has not been read yet. */
  private awaitingPadLength = false;
  private dataStream: H2Stream | undefined = undefined;
  private dataFlags = 0;
  private dataFrameLength = 0;
  /** A non-DATA frame being collected. */
  private payload: Buffer | null = null;
  private payloadFilled = 0;
  private payloadType = 0;
  private payloadFlags = 0;
  private payloadStream = 0;
  /** A header block being collected across HEADERS and CONTINUATION frames. */
  private block: { stream: number; flags: number; parts: Buffer[] } | null = null;

  private readonly pings: Array<{
    payload: Buffer;
    started: bigint;
    callback: (error: Error | null, duration: number, payload: Buffer) => void;
  }> = [];
  private writing = false;
  private stageBuffer: Buffer | null = null;
  private stageUsed = 0;
  private readonly spareStages: Buffer[] = [];
  private congested = false;
  private readonly pendingFlush = new Set<H2Stream>();

  constructor(private readonly options: H2ConnectOptions) {
    super();
    this.windowBytes = Math.min(Math.max(options.windowBytes, DEFAULT_WINDOW), MAX_WINDOW);
    const { host, port } = splitAddress(options.address);
    const readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    const onread = {
      buffer: readBuffer,
      callback: (length: number, buffer: Buffer) => {
        this.ingest(buffer, length);
        return !this.destroyed;
      },
    };
    if (options.tls) {
      this.socket = tls.connect({ ...options.tls, host, port, ALPNProtocols: ['h2'], onread } as tls.ConnectionOptions);
      this.socket.once('secureConnect', () => {
        const protocol = (this.socket as tls.TLSSocket).alpnProtocol;
        if (protocol !== 'h2') {
          this.destroy(
            new H2ConnectionError(
              `the server did not agree to HTTP/2 over TLS (ALPN gave ${protocol === false ? 'nothing' : String(protocol)})`,
            ),
          );
          return;
        }
        this.start();
      });
    } else {
      this.socket = net.connect({ host, port, onread });
      this.socket.once('connect', () => this.start());
    }
    this.socket.setNoDelay(true);
    this.socket.on('drain', () => {
      this.congested = false;
      this.flushAll();
    });
    this.socket.on('error', (error: Error) => this.destroy(error));
    this.socket.on('close', () => this.destroy());
  }

  private start(): void {
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(this.windowBytes, 8);
    settings.writeUInt16BE(SETTINGS_MAX_FRAME_SIZE, 12);
    settings.writeUInt32BE(LOCAL_MAX_FRAME, 14);
    const parts = [PREFACE, frame(SETTINGS, 0, 0, settings)];
    if (this.windowBytes > DEFAULT_WINDOW) parts.push(frame(WINDOW_UPDATE, 0, 0, u32(this.windowBytes - DEFAULT_WINDOW)));
    this.send(Buffer.concat(parts));
  }

  /** The number of streams open or waiting to open. */
  get activeStreams(): number {
    return this.streams.size + this.waiting.length;
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  /** Starts a request. Throws when the connection cannot take one (closing, gone away, out of ids). */
  request(headers: OutgoingHeaders): H2Stream {
    if (this.destroyed || this.closed || this.goawayReceived) throw new Error('the connection is closing and takes no new requests');
    if (this.nextStreamId > MAX_WINDOW) throw new Error('the connection has used all its stream ids');
    const fields: Array<[string, string]> = [];
    const add = (name: string, value: string | number | readonly string[] | undefined) => {
      if (value === undefined) return;
      if (Array.isArray(value)) for (const v of value as readonly string[]) fields.push([name, v]);
      else fields.push([name, String(value)]);
    };
    const scheme = this.options.tls ? 'https' : 'http';
    // Pseudo-headers first, as HTTP/2 requires.
    add(':method', headers[':method'] ?? 'GET');
    add(':scheme', headers[':scheme'] ?? scheme);
    add(':path', headers[':path'] ?? '/');
    add(':authority', headers[':authority'] ?? this.options.address);
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith(':')) continue;
      add(name.toLowerCase(), value);
    }
    const stream = new H2Stream(this, encodeHeaders(fields));
    // Before the server's SETTINGS we know neither its limits nor that our preface went out.
    if (this.settingsReceived && this.streams.size < this.peerMaxStreams) this.open(stream);
    else this.waiting.push(stream);
    return stream;
  }

  private open(stream: H2Stream): void {
    stream.id = this.nextStreamId;
    this.nextStreamId += 2;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(stream.id, stream);
    this.sendHeaders(stream);
    this.flush(stream);
  }

  private sendHeaders(stream: H2Stream): void {
    const block = stream.headerBlock;
    const max = this.peerMaxFrame;
    if (block.byteLength <= max) {
      this.send(frame(HEADERS, END_HEADERS, stream.id, block));
      return;
    }
    const parts: Buffer[] = [frame(HEADERS, 0, stream.id, block.subarray(0, max))];
    for (let at = max; at < block.byteLength; at += max) {
      const end = Math.min(at + max, block.byteLength);
      parts.push(frame(CONTINUATION, end === block.byteLength ? END_HEADERS : 0, stream.id, block.subarray(at, end)));
    }
    this.send(Buffer.concat(parts));
  }

  private send(bytes: Uint8Array, callback?: (error?: Error | null) => void): void {
    if (this.destroyed) {
      if (callback) queueMicrotask(() => callback(new Error('the connection is closed')));
      return;
    }
    if (!this.socket.write(bytes, callback)) this.congested = true;
  }

  /** Sends what the stream has queued, as far as the windows and the socket allow. */
  flush(stream: H2Stream): void {
    if (this.writing) {
      this.pendingFlush.add(stream);
      return;
    }
    this.writing = true;
    try {
      this.flushOne(stream);
      while (this.pendingFlush.size > 0) {
        const next = this.pendingFlush.values().next().value as H2Stream;
        this.pendingFlush.delete(next);
        this.flushOne(next);
      }
    } finally {
      this.writing = false;
    }
  }

  private flushOne(stream: H2Stream): void {
    if (stream.id === 0 || stream.closed || stream.localEnded || this.destroyed) return;
    const queue = stream.queue;
    const sent: Array<(error?: Error | null) => void> = [];
    this.socket.cork();
    try {
      while (queue.length > 0 && !this.congested) {
        const pending = queue[0]!;
        const left = pending.data.byteLength - pending.offset;
        const endNow = queue.length === 1 && stream.writableEnded;
        if (left === 0 && !endNow) {
          queue.shift();
          if (pending.callback) sent.push(pending.callback);
          continue;
        }
        const allowed = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrame);
        if (allowed <= 0 && left > 0) break;
        const n = Math.min(left, allowed);
        const last = n === left;
        const flags = last && endNow ? END_STREAM : 0;
        const view = pending.data.subarray(pending.offset, pending.offset + n);
        pending.offset += n;
        stream.sendWindow -= n;
        this.sendWindow -= n;
        if (n >= DIRECT_FRAME_BYTES) {
          // A large frame goes out as its header and a view of the caller's bytes.
          this.flushStage();
          this.send(frameHeader(n, DATA, flags, stream.id));
          this.send(view, last ? pending.callback : undefined);
          if (last) queue.shift();
        } else {
          this.stage(n, flags, stream.id, view);
          if (last) {
            queue.shift();
            if (pending.callback) sent.push(pending.callback);
          }
        }
        if (flags & END_STREAM) stream.localEnded = true;
      }
      if (queue.length === 0 && stream.writableEnded && !stream.localEnded && !this.congested) {
        this.stage(0, END_STREAM, stream.id, EMPTY);
        stream.localEnded = true;
      }
      this.flushStage();
    } finally {
      this.socket.uncork();
    }
    // What was copied into a stage is the caller's again.
    for (const callback of sent) callback();
    if (stream.localEnded && stream.remoteEnded) this.finishStream(stream);
  }

  /**
   * Copies a DATA frame into the stage: gRPC servers allow 16 KiB frames, and a socket write per
   * frame header and per payload cost more than copying them into one write of STAGE_BYTES.
   */
  private stage(length: number, flags: number, streamId: number, payload: Uint8Array): void {
    if (this.stageBuffer !== null && this.stageUsed + 9 + length > this.stageBuffer.byteLength) this.flushStage();
    if (this.stageBuffer === null) {
      this.stageBuffer = this.spareStages.pop() ?? Buffer.allocUnsafeSlow(STAGE_BYTES);
      this.stageUsed = 0;
    }
    const stage = this.stageBuffer;
    const at = this.stageUsed;
    stage[at] = length >>> 16;
    stage[at + 1] = (length >>> 8) & 0xff;
    stage[at + 2] = length & 0xff;
    stage[at + 3] = DATA;
    stage[at + 4] = flags;
    stage.writeUInt32BE(streamId, at + 5);
    stage.set(payload, at + 9);
    this.stageUsed = at + 9 + length;
  }

  private flushStage(): void {
    const stage = this.stageBuffer;
    if (stage === null || this.stageUsed === 0) return;
    this.stageBuffer = null;
    this.send(stage.subarray(0, this.stageUsed), () => {
      if (this.spareStages.length < SPARE_STAGES) this.spareStages.push(stage);
    });
  }

  private flushAll(): void {
    for (const stream of this.streams.values()) {
      if (stream.queue.length > 0 || (stream.writableEnded && !stream.localEnded)) this.flush(stream);
    }
  }

  /** RST_STREAM from our side. */
  reset(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    const waitingAt = this.waiting.indexOf(stream);
    if (waitingAt >= 0) this.waiting.splice(waitingAt, 1);
    else if (stream.id !== 0 && !this.destroyed) this.send(frame(RST_STREAM, 0, stream.id, u32(code)));
    stream.rstCode = code;
    this.finishStream(stream);
  }

  /** Returns the bytes a resumed or reading stream has consumed to the server. */
  acknowledge(stream: H2Stream): void {
    if (stream.closed || stream.remoteEnded || stream.paused) return;
    if (stream.unacknowledged >= this.windowBytes / 2) {
      this.send(frame(WINDOW_UPDATE, 0, stream.id, u32(stream.unacknowledged)));
      stream.unacknowledged = 0;
    }
  }

  private finishStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    // Writes that never went out in full: their callers may reuse the memory now. A part already
    // handed to the socket may still be read from it, but only into DATA of a reset stream, whose
    // frame lengths are fixed already: the server discards those bytes, whatever they became.
    for (const pending of stream.queue.splice(0)) pending.callback?.(new Error('the stream closed before this was sent'));
    if (stream.id !== 0) this.streams.delete(stream.id);
    this.pendingFlush.delete(stream);
    // As node:http2 does, later: whoever closed it finishes what it was doing first.
    process.nextTick(() => stream.emit('close'));
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams && !this.destroyed) this.open(this.waiting.shift()!);
    if ((this.closed || this.goawayReceived) && this.activeStreams === 0) this.socket.end();
  }

  /** PING; `callback` gets the round trip in milliseconds. */
  ping(callback: (error: Error | null, duration: number, payload: Buffer) => void): boolean {
    if (this.destroyed) throw new Error('the connection is closed');
    const payload = Buffer.allocUnsafe(8);
    payload.writeDoubleBE(Math.random(), 0);
    this.pings.push({ payload, started: process.hrtime.bigint(), callback });
    this.send(frame(PING, 0, 0, payload));
    return true;
  }

  /** Closes once the open streams are done; new requests are refused from now on. */
  close(): void {
    if (this.closed || this.destroyed) return;
    this.closed = true;
    this.send(frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(H2_NO_ERROR)])));
    if (this.activeStreams === 0) this.socket.end();
  }

  /** Tears the connection down now; open streams close without a status. */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closed = true;
    if (error instanceof H2ConnectionError && this.socket.writable) {
      // Tell the server why, then give the socket a moment to carry it before it goes.
      this.socket.end(frame(GOAWAY, 0, 0, Buffer.concat([u32(0), u32(error.code), Buffer.from(error.message.slice(0, 200))])));
      setTimeout(() => this.socket.destroy(), 1000).unref();
    } else this.socket.destroy();
    if (error && this.listenerCount('error') > 0) this.emit('error', error);
    for (const stream of [...this.waiting, ...this.streams.values()]) this.finishStream(stream);
    this.waiting.length = 0;
    for (const ping of this.pings.splice(0)) ping.callback(new Error('the connection closed'), 0, ping.payload);
    this.emit('close');
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  private ingest(buffer: Buffer, length: number): void {
    let at = 0;
    while (at < length && !this.destroyed) {
      if (this.dataLeft > 0) {
        at = this.readData(buffer, at, length);
        continue;
      }
      if (this.payload !== null) {
        const take = Math.min(this.payload.byteLength - this.payloadFilled, length - at);
        buffer.copy(this.payload, this.payloadFilled, at, at + take);
        this.payloadFilled += take;
        at += take;
        if (this.payloadFilled === this.payload.byteLength) {
          const payload = this.payload;
          this.payload = null;
          this.onFrame(this.payloadType, this.payloadFlags, this.payloadStream, payload);
        }
        continue;
      }
      // A frame header.
      let head: Buffer;
      let headAt: number;
      if (this.headFilled === 0 && length - at >= 9) {
        head = buffer;
        headAt = at;
        at += 9;
      } else {
        const take = Math.min(9 - this.headFilled, length - at);
        buffer.copy(this.head, this.headFilled, at, at + take);
        this.headFilled += take;
        at += take;
        if (this.headFilled < 9) break;
        this.headFilled = 0;
        head = this.head;
        headAt = 0;
      }
      const frameLength = (head[headAt]! << 16) | (head[headAt + 1]! << 8) | head[headAt + 2]!;
      const type = head[headAt + 3]!;
      const flags = head[headAt + 4]!;
      const streamId = head.readUInt32BE(headAt + 5) & 0x7fffffff;
      if (!this.settingsReceived && type !== SETTINGS) {
        this.destroy(
          new H2ConnectionError('the server did not begin with HTTP/2 SETTINGS: it does not speak HTTP/2 here (a TLS port, or HTTP/1?)'),
        );
        return;
      }
      if (frameLength > LOCAL_MAX_FRAME) {
        this.destroy(
          new H2ConnectionError(`the server sent a ${frameLength}-byte frame, over the ${LOCAL_MAX_FRAME} we allow`, H2_FRAME_SIZE_ERROR),
        );
        return;
      }
      if (this.block !== null && (type !== CONTINUATION || streamId !== this.block.stream)) {
        this.destroy(new H2ConnectionError('the server interrupted a header block with another frame'));
        return;
      }
      if (type === DATA) {
        if (!this.startData(streamId, flags, frameLength)) return;
        if (frameLength === 0) this.endData();
        continue;
      }
      if (length - at >= frameLength) {
        // The whole payload is in this read: parse it in place.
        this.onFrame(type, flags, streamId, buffer.subarray(at, at + frameLength));
        at += frameLength;
      } else {
        this.payload = Buffer.allocUnsafe(frameLength);
        this.payloadFilled = 0;
        this.payloadType = type;
        this.payloadFlags = flags;
        this.payloadStream = streamId;
      }
    }
    this.returnConnectionWindow();
  }

  private startData(streamId: number, flags: number, length: number): boolean {
    if (streamId === 0) {
      this.destroy(new H2ConnectionError('the server sent DATA on stream 0'));
      return false;
    }
    if (streamId >= this.nextStreamId || streamId % 2 === 0) {
      this.destroy(new H2ConnectionError(`the server sent DATA on stream ${streamId}, which we never opened`));
      return false;
    }
    this.unacknowledged += length;
    if (this.unacknowledged > this.windowBytes) {
      this.destroy(new H2ConnectionError('the server sent more DATA than the connection window allows', H2_FLOW_CONTROL_ERROR));
      return false;
    }
    let stream = this.streams.get(streamId);
    if (stream && stream.remoteEnded) {
      this.resetFromServer(stream, H2_STREAM_CLOSED, 'the server sent DATA after ending the stream');
      stream = undefined;
    }
    if (stream) {
      stream.unacknowledged += length;
      if (stream.unacknowledged > this.windowBytes) {
        this.resetFromServer(stream, H2_FLOW_CONTROL_ERROR, 'the server sent more DATA than the stream window allows');
        stream = undefined;
      } else if (!stream.responded) {
        this.resetFromServer(stream, H2_PROTOCOL_ERROR, 'the server sent DATA before its response headers');
        stream = undefined;
      }
    }
    this.dataStream = stream;
    this.dataFlags = flags;
    this.dataFrameLength = length;
    this.dataLeft = length;
    this.dataPadding = 0;
    this.awaitingPadLength = (flags & PADDED) !== 0;
    if (this.awaitingPadLength && length === 0) {
      this.destroy(new H2ConnectionError('the server sent a padded DATA frame with no room for its padding'));
      return false;
    }
    return true;
  }

  private readData(buffer: Buffer, at: number, length: number): number {
    if (this.awaitingPadLength) {
      this.awaitingPadLength = false;
      this.dataPadding = buffer[at]!;
      this.dataLeft--;
      at++;
      if (this.dataPadding > this.dataLeft) {
        this.destroy(new H2ConnectionError('the server sent DATA padding longer than the frame'));
        return length;
      }
      if (this.dataLeft === 0) this.endData();
      return at;
    }
    const content = this.dataLeft - this.dataPadding;
    const take = Math.min(content, length - at);
    if (take > 0) {
      const stream = this.dataStream;
      if (stream !== undefined && !stream.closed) stream.emit('data', buffer.subarray(at, at + take));
      this.dataLeft -= take;
      at += take;
    }
    if (this.dataLeft === this.dataPadding) {
      const skip = Math.min(this.dataPadding, length - at);
      this.dataLeft -= skip;
      this.dataPadding -= skip;
      at += skip;
    }
    if (this.dataLeft === 0) this.endData();
    return at;
  }

  private endData(): void {
    const stream = this.dataStream;
    this.dataStream = undefined;
    if (stream === undefined || stream.closed) return;
    if (this.dataFlags & END_STREAM) this.remoteEnd(stream);
    else if (this.dataFrameLength > 0) this.acknowledge(stream);
  }

  private returnConnectionWindow(): void {
    if (this.destroyed || this.unacknowledged < this.windowBytes / 2) return;
    this.send(frame(WINDOW_UPDATE, 0, 0, u32(this.unacknowledged)));
    this.unacknowledged = 0;
  }

  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    stream.emit('end');
    if (stream.localEnded) this.finishStream(stream);
  }

  /** The server broke the protocol on one stream: reset it and say why. */
  private resetFromServer(stream: H2Stream, code: number, why: string): void {
    stream.failure = new Error(why);
    this.reset(stream, code);
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    switch (type) {
      case HEADERS:
        this.onHeaders(flags, streamId, payload);
        return;
      case CONTINUATION:
        if (this.block === null) {
          this.destroy(new H2ConnectionError('the server sent CONTINUATION without HEADERS'));
          return;
        }
        this.block.parts.push(Buffer.from(payload));
        if (flags & END_HEADERS) this.onHeaderBlock();
        return;
      case RST_STREAM:
        this.onReset(streamId, payload);
        return;
      case SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case PING:
        this.onPing(flags, streamId, payload);
        return;
      case GOAWAY:
        this.onGoaway(streamId, payload);
        return;
      case WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload);
        return;
      case PUSH_PROMISE:
        this.destroy(new H2ConnectionError('the server sent PUSH_PROMISE, which we disabled'));
        return;
      case PRIORITY:
        if (payload.byteLength !== 5)
          this.destroy(new H2ConnectionError('the server sent a PRIORITY frame of the wrong size', H2_FRAME_SIZE_ERROR));
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 section 4.1)
    }
  }

  private onHeaders(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0 || streamId >= this.nextStreamId) {
      this.destroy(new H2ConnectionError(`the server sent HEADERS on stream ${streamId}, which we never opened`));
      return;
    }
    let start = 0;
    let end = payload.byteLength;
    if (flags & PADDED) {
      if (end < 1) {
        this.destroy(new H2ConnectionError('the server sent a padded HEADERS frame too short for its padding', H2_FRAME_SIZE_ERROR));
        return;
      }
      const padding = payload[0]!;
      start = 1;
      end -= padding;
    }
    if (flags & PRIORITY_FLAG) start += 5;
    if (start > end) {
      this.destroy(new H2ConnectionError('the server sent HEADERS whose padding and priority exceed the frame'));
      return;
    }
    // Copied: the payload may be a view of the read buffer.
    this.block = { stream: streamId, flags, parts: [Buffer.from(payload.subarray(start, end))] };
    if (flags & END_HEADERS) this.onHeaderBlock();
  }

  private onHeaderBlock(): void {
    const { stream: streamId, flags, parts } = this.block!;
    this.block = null;
    let fields: Array<[string, string]>;
    const stream = this.streams.get(streamId);
    try {
      fields = this.hpack.decode(parts.length === 1 ? parts[0]! : Buffer.concat(parts), MAX_HEADER_LIST_BYTES);
    } catch (error) {
      if (error instanceof HeaderListTooLarge) {
        if (stream) this.resetFromServer(stream, H2_PROTOCOL_ERROR, `the server's headers are larger than ${MAX_HEADER_LIST_BYTES} bytes`);
        return;
      }
      const message = error instanceof HpackError ? error.message : String(error);
      this.destroy(new H2ConnectionError(`the server sent a header block we cannot decode: ${message}`, H2_COMPRESSION_ERROR));
      return;
    }
    if (!stream || stream.closed) return; // a stream we reset: the block only kept the table in sync
    if (stream.remoteEnded) {
      this.resetFromServer(stream, H2_STREAM_CLOSED, 'the server sent headers after ending the stream');
      return;
    }
    const headers = headerObject(fields);
    const endStream = (flags & END_STREAM) !== 0;
    if (!stream.responded) {
      const status = Number(headers[':status']);
      if (!Number.isInteger(status) || status < 100 || status > 999) {
        this.resetFromServer(stream, H2_PROTOCOL_ERROR, 'the server sent a response without a valid :status');
        return;
      }
      if (status < 200 && !endStream) return; // informational (100 Continue): the response follows
      stream.responded = true;
      stream.emit('response', headers, flags);
    } else {
      if (!endStream) {
        this.resetFromServer(stream, H2_PROTOCOL_ERROR, 'the server sent a second header block that does not end the stream');
        return;
      }
      stream.emit('trailers', headers, flags);
    }
    if (endStream && !stream.closed) this.remoteEnd(stream);
  }

  private onReset(streamId: number, payload: Buffer): void {
    if (payload.byteLength !== 4) {
      this.destroy(new H2ConnectionError('the server sent RST_STREAM of the wrong size', H2_FRAME_SIZE_ERROR));
      return;
    }
    if (streamId === 0) {
      this.destroy(new H2ConnectionError('the server sent RST_STREAM on stream 0'));
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return;
    stream.rstCode = payload.readUInt32BE(0);
    this.finishStream(stream);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) {
      this.destroy(new H2ConnectionError('the server sent SETTINGS on a stream'));
      return;
    }
    if (flags & ACK) {
      if (payload.byteLength !== 0)
        this.destroy(new H2ConnectionError('the server sent a SETTINGS acknowledgement with a payload', H2_FRAME_SIZE_ERROR));
      return;
    }
    if (payload.byteLength % 6 !== 0) {
      this.destroy(new H2ConnectionError('the server sent SETTINGS of a size not a multiple of 6', H2_FRAME_SIZE_ERROR));
      return;
    }
    for (let at = 0; at < payload.byteLength; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      switch (id) {
        case SETTINGS_HEADER_TABLE_SIZE:
          break; // we never add to the server's table, so any size suits us
        case SETTINGS_ENABLE_PUSH:
          if (value > 1) {
            this.destroy(new H2ConnectionError(`the server sent SETTINGS_ENABLE_PUSH ${value}`));
            return;
          }
          break;
        case SETTINGS_MAX_CONCURRENT_STREAMS:
          this.peerMaxStreams = value;
          break;
        case SETTINGS_INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) {
            this.destroy(new H2ConnectionError(`the server sent an initial window of ${value}, over 2^31-1`, H2_FLOW_CONTROL_ERROR));
            return;
          }
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) {
            stream.sendWindow += delta;
            if (stream.sendWindow > MAX_WINDOW) {
              this.destroy(new H2ConnectionError('the server grew a stream window past 2^31-1', H2_FLOW_CONTROL_ERROR));
              return;
            }
          }
          break;
        }
        case SETTINGS_MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME || value > 16_777_215) {
            this.destroy(new H2ConnectionError(`the server sent a maximum frame size of ${value}, outside 16384..16777215`));
            return;
          }
          this.peerMaxFrame = value;
          break;
        default:
          break; // unknown settings are ignored
      }
    }
    this.send(frame(SETTINGS, ACK, 0));
    if (!this.settingsReceived) {
      this.settingsReceived = true;
      this.emit('remoteSettings');
    }
    this.flushAll();
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams) this.open(this.waiting.shift()!);
  }

  private onPing(flags: number, streamId: number, payload: Buffer): void {
    if (payload.byteLength !== 8) {
      this.destroy(new H2ConnectionError('the server sent a PING that is not 8 bytes', H2_FRAME_SIZE_ERROR));
      return;
    }
    if (streamId !== 0) {
      this.destroy(new H2ConnectionError('the server sent PING on a stream'));
      return;
    }
    if (!(flags & ACK)) {
      this.send(frame(PING, ACK, 0, payload));
      return;
    }
    const index = this.pings.findIndex((p) => p.payload.equals(payload));
    if (index < 0) return;
    const [ping] = this.pings.splice(index, 1);
    ping!.callback(null, Number(process.hrtime.bigint() - ping!.started) / 1e6, ping!.payload);
  }

  private onGoaway(streamId: number, payload: Buffer): void {
    if (streamId !== 0 || payload.byteLength < 8) {
      this.destroy(new H2ConnectionError('the server sent a malformed GOAWAY'));
      return;
    }
    const last = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.goawayReceived = true;
    this.lastAcceptedStream = Math.min(this.lastAcceptedStream, last);
    // Streams the server never processed may be retried elsewhere: they close as refused.
    for (const stream of [...this.streams.values()]) {
      if (stream.id > this.lastAcceptedStream) {
        stream.rstCode = H2_REFUSED_STREAM;
        this.finishStream(stream);
      }
    }
    for (const stream of this.waiting.splice(0)) {
      stream.rstCode = H2_REFUSED_STREAM;
      this.finishStream(stream);
    }
    this.emit('goaway', code, last, payload.subarray(8));
    if (this.activeStreams === 0) this.socket.end();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.byteLength !== 4) {
      this.destroy(new H2ConnectionError('the server sent WINDOW_UPDATE of the wrong size', H2_FRAME_SIZE_ERROR));
      return;
    }
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) {
        this.destroy(new H2ConnectionError('the server sent a connection WINDOW_UPDATE of 0'));
        return;
      }
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) {
        this.destroy(new H2ConnectionError('the server grew the connection window past 2^31-1', H2_FLOW_CONTROL_ERROR));
        return;
      }
      this.flushAll();
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return;
    if (increment === 0) {
      this.resetFromServer(stream, H2_PROTOCOL_ERROR, 'the server sent a stream WINDOW_UPDATE of 0');
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.resetFromServer(stream, H2_FLOW_CONTROL_ERROR, 'the server grew a stream window past 2^31-1');
      return;
    }
    this.flush(stream);
  }
}

/** Splits host:port; an IPv6 host comes in brackets. */
function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  let host = address.slice(0, colon);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(address.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`not a host:port address: ${address}`);
  return { host, port };
}
