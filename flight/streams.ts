// The one place where grpc-js streams meet async iterables: a writer that respects
// backpressure (it waits for grpc-js to hand messages to HTTP/2 before queueing more) and a
// reader that turns a stream of received messages into an async iterator.

import type { Readable, Writable } from 'node:stream';
import { DEFAULT_WRITE_BUFFER_BYTES } from './defaults.ts';
import { FlightError } from './error.ts';
import { FlightDataMessage, type OutgoingFlightData } from './flight-data.ts';
import { GRPC_PREFIX, MessageParts, PrefixedMessage } from './transport/grpc-server.ts';

/** At most this many bytes of encoded messages wait in grpc-js per stream, unless one message is larger. */
export { DEFAULT_WRITE_BUFFER_BYTES };

/**
 * And at most this many messages. grpc-js completes a write only after the event loop turns, so
 * a producer of small messages that waited on bytes alone would queue 8 MiB of them (tens of
 * thousands, seconds of CPU) before anything reached the socket: the first batch and a
 * cancellation would both wait for that.
 */
export const WRITE_BUFFER_MESSAGES = 256;

/**
 * On our HTTP/2 transport, body buffers at least this large are sent in place, not gathered (see
 * BackpressureWriter.write). Smaller ones cost more as a part of their own than as a copy.
 */
const IN_PLACE_MIN_BYTES = 16 * 1024;

/** On a server call, messages at least this large are gathered into reused memory (see MessageBuffers). */
const REUSE_MIN_BYTES = 256 * 1024;

/**
 * grpc-js's client keeps a message that fits its per-call retry buffer ('grpc.per_rpc_retry_buffer_size')
 * for a possible retry and completes the write at once; a larger one commits the call and its
 * write completes only after grpc-js has framed (copied) it (RetryingCall). FlightClient holds
 * that buffer to at most CLIENT_RETRY_BUFFER_BYTES and reuses memory only for messages of
 * CLIENT_REUSE_MIN_BYTES and more, well above it.
 */
export const CLIENT_RETRY_BUFFER_BYTES = 256 * 1024;
export const CLIENT_REUSE_MIN_BYTES = 1024 * 1024;

/**
 * Memory for outgoing messages that is used again once a message has been written. Safe only
 * where a write is done with the memory before its callback: our HTTP/2 transport calls back
 * once HTTP/2 has sent the frame (grpc-server.ts); grpc-js's server copies each message into a
 * frame of its own (serializeMessage) as it takes it; its client does so for messages larger
 * than its retry buffer (see CLIENT_RETRY_BUFFER_BYTES). One per call, never shared.
 */
class MessageBuffers {
  private readonly free: Buffer[] = [];

  /** A view of exactly `bytes` bytes over a free buffer that fits, or a new one. */
  take(bytes: number): Buffer {
    const index = this.free.findIndex((b) => b.byteLength >= bytes && b.byteLength <= 2 * bytes);
    // A little headroom, so that the next message of about the same size fits the same memory.
    const buffer = index >= 0 ? this.free.splice(index, 1)[0]! : Buffer.allocUnsafeSlow(Math.ceil((bytes * 1.125) / 65536) * 65536);
    return buffer.subarray(0, bytes);
  }

  release(view: Buffer): void {
    if (this.free.length < 8) this.free.push(Buffer.from(view.buffer, 0, view.buffer.byteLength));
  }
}

/**
 * Writes Buffers into a grpc-js writable call. `write` resolves once the stream can take more:
 * a slow reader holds the producer back instead of making us buffer the whole stream.
 */
export class BackpressureWriter {
  private pendingBytes = 0;
  private pendingMessages = 0;
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private stallListener: (() => void) | null = null;
  private readonly buffers: MessageBuffers | null;
  private readonly reuseMinBytes: number;
  private readonly prefixed: boolean;
  private readonly inParts: boolean;
  /** A message sent in place is on its way: its batch's memory is HTTP/2's until it has been sent. */
  private sendingInPlace = false;

  constructor(
    private readonly stream: Writable,
    private readonly limitBytes = DEFAULT_WRITE_BUFFER_BYTES,
    signal?: AbortSignal,
    /**
     * Gather messages into reused memory (see MessageBuffers): `true` on a grpc-js server call,
     * `{ minBytes: CLIENT_REUSE_MIN_BYTES }` on a FlightClient call.
     */
    reuseBuffers: boolean | { minBytes: number } = false,
  ) {
    this.reuseMinBytes = reuseBuffers === false ? Infinity : reuseBuffers === true ? REUSE_MIN_BYTES : reuseBuffers.minBytes;
    this.buffers = reuseBuffers === false ? null : new MessageBuffers();
    this.prefixed = (stream as { acceptsPrefixed?: boolean }).acceptsPrefixed === true;
    this.inParts = (stream as { acceptsParts?: boolean }).acceptsParts === true;
    const fail = (error: Error) => this.abort(error);
    stream.once('error', fail);
    stream.once('close', () => fail(FlightError.cancelled('the stream was closed by the peer')));
    signal?.addEventListener('abort', () => fail(FlightError.cancelled('the call was cancelled')), { once: true });
  }

  /** Fails the write in progress and every later one with `error` (the first reason given stays). */
  abort(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /**
   * Writes the message. A FlightDataMessage is gathered into memory before this returns, except
   * on our HTTP/2 transport, where its large body buffers go to HTTP/2 as they are (no copy) and
   * this returns only once HTTP/2 has sent them: either way, the batch's arrays may be reused as
   * soon as the returned promise resolves.
   */
  async write(message: OutgoingFlightData): Promise<void> {
    if (this.failure) throw this.failure;
    let bytes: Buffer;
    let size: number;
    let chunk: Buffer | PrefixedMessage | MessageParts;
    let reused = false;
    let inPlace = false;
    if (message instanceof FlightDataMessage && this.inParts) {
      const copied = GRPC_PREFIX + message.copiedLength(IN_PLACE_MIN_BYTES);
      reused = this.buffers !== null && copied >= this.reuseMinBytes;
      bytes = reused ? this.buffers!.take(copied) : Buffer.allocUnsafe(copied);
      const parts = message.writeChunks(bytes, GRPC_PREFIX, IN_PLACE_MIN_BYTES);
      inPlace = parts.length > 1;
      chunk = inPlace ? new MessageParts(parts) : new PrefixedMessage(bytes);
      size = GRPC_PREFIX + message.byteLength;
    } else if (message instanceof FlightDataMessage) {
      // Our own transport takes the message inside its gRPC frame: gathered once, sent as it is.
      const prefix = this.prefixed ? GRPC_PREFIX : 0;
      reused = this.buffers !== null && message.byteLength >= this.reuseMinBytes;
      bytes = reused ? this.buffers!.take(prefix + message.byteLength) : Buffer.allocUnsafe(prefix + message.byteLength);
      message.writeInto(prefix > 0 ? bytes.subarray(prefix) : bytes);
      chunk = prefix > 0 ? new PrefixedMessage(bytes) : bytes;
      size = bytes.byteLength;
    } else {
      bytes = message;
      chunk = bytes;
      size = bytes.byteLength;
    }
    this.pendingBytes += size;
    this.pendingMessages++;
    this.sendingInPlace = inPlace;
    this.stream.write(chunk, () => {
      this.pendingBytes -= size;
      this.pendingMessages--;
      if (reused) this.buffers!.release(bytes);
      if (inPlace) this.sendingInPlace = false;
      if (!this.stalled) this.wake();
    });
    if (this.stalled) {
      const listener = this.stallListener;
      this.stallListener = null;
      listener?.();
    }
    while (this.stalled && !this.failure) {
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
    if (this.failure) throw this.failure;
  }

  /**
   * True while the peer is not taking our messages as fast as we write them, or a message sent
   * in place has not gone out yet: either way, a producer waits. (DoPut and DoExchange read their
   * input ahead without limit meanwhile, so a client that writes everything before it reads is
   * not deadlocked by a message of ours that its flow control holds back.)
   */
  get stalled(): boolean {
    return this.sendingInPlace || this.pendingBytes > this.limitBytes || this.pendingMessages > WRITE_BUFFER_MESSAGES;
  }

  /** Calls `listener` once, the next time the stream stalls (replacing any earlier one). */
  onStall(listener: () => void): void {
    this.stallListener = listener;
  }

  get failed(): Error | null {
    return this.failure;
  }
}

/**
 * Reads a grpc-js readable stream as an async iterator of messages. A message that failed to
 * decode arrives as a FlightError and is thrown from `next()`; errors on the stream likewise,
 * mapped through `mapError`.
 */
export async function* readMessages<T>(
  stream: Readable,
  mapError: (error: unknown) => Error = (e) => (e instanceof Error ? e : new Error(String(e))),
): AsyncGenerator<T, void, undefined> {
  // Not Readable's own iterator: that one destroys the stream once an 'error' is emitted on it,
  // even with destroyOnReturn: false, and a grpc-js server call ends with an error status by
  // an 'error' event. A call destroyed while one of its writes was still in flight never sent
  // its status: the client waited for its deadline (a DoExchange failing on a bad message just
  // after it had sent an answer; test/fuzz/corpus.test.ts).
  let failure: unknown = stream.errored ?? null;
  let ended = stream.readableEnded;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const onError = (error: unknown) => {
    failure ??= error;
    signal();
  };
  const onEnd = () => {
    ended = true;
    signal();
  };
  const onClose = () => {
    if (!ended) failure ??= Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
    signal();
  };
  stream.on('readable', signal);
  stream.on('error', onError);
  stream.on('end', onEnd);
  stream.on('close', onClose);
  try {
    for (;;) {
      const message: unknown = stream.destroyed ? null : stream.read();
      if (message !== null) {
        if (message instanceof FlightError) throw message;
        yield message as T;
        continue;
      }
      if (failure !== null) throw failure;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } catch (error) {
    throw error instanceof FlightError ? error : mapError(error);
  } finally {
    stream.off('readable', signal);
    stream.off('error', onError);
    stream.off('end', onEnd);
    stream.off('close', onClose);
  }
}
