// The one place where grpc-js streams meet async iterables: a writer that respects
// backpressure (it waits for grpc-js to hand messages to HTTP/2 before queueing more) and a
// reader that turns a stream of received messages into an async iterator.

import type { Readable, Writable } from 'node:stream';
import { FlightError } from './error.ts';

/** At most this many bytes of encoded messages wait in grpc-js per stream, unless one message is larger. */
export const DEFAULT_WRITE_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * And at most this many messages. grpc-js completes a write only after the event loop turns, so
 * a producer of small messages that waited on bytes alone would queue 8 MiB of them (tens of
 * thousands, seconds of CPU) before anything reached the socket: the first batch and a
 * cancellation would both wait for that.
 */
export const WRITE_BUFFER_MESSAGES = 256;

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

  constructor(
    private readonly stream: Writable,
    private readonly limitBytes = DEFAULT_WRITE_BUFFER_BYTES,
    signal?: AbortSignal,
  ) {
    const fail = (error: Error) => {
      this.failure ??= error;
      this.wake();
    };
    stream.once('error', fail);
    stream.once('close', () => fail(FlightError.cancelled('the stream was closed by the peer')));
    signal?.addEventListener('abort', () => fail(FlightError.cancelled('the call was cancelled')), { once: true });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  async write(message: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    this.pendingBytes += message.byteLength;
    this.pendingMessages++;
    this.stream.write(message, () => {
      this.pendingBytes -= message.byteLength;
      this.pendingMessages--;
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

  /** True while the peer is not taking our messages as fast as we write them. */
  get stalled(): boolean {
    return this.pendingBytes > this.limitBytes || this.pendingMessages > WRITE_BUFFER_MESSAGES;
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
  try {
    // Readable's default iterator destroys the stream when reading ends, which on a duplex
    // call would also kill our side before the status is sent.
    for await (const message of stream.iterator({ destroyOnReturn: false })) {
      if (message instanceof FlightError) throw message;
      yield message as T;
    }
  } catch (error) {
    throw error instanceof FlightError ? error : mapError(error);
  }
}
