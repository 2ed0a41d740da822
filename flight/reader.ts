// A stream of FlightData read as Arrow: the reader both sides use (a server reading a DoPut or
// DoExchange, a client reading a DoGet or DoExchange).

import { RecordBatch, Schema, Table } from 'apache-arrow';
import { FlightDataDecoder, type DecodedMessage, type PassedThrough } from './decoder.ts';
import type { FlightData } from './flight-data.ts';
import type { FlightDescriptor } from './messages.ts';
import type { EncodedBatch } from './encoded-batch.ts';

/** One record batch with the app_metadata that came with it, or app_metadata alone. */
export interface FlightChunk {
  batch?: RecordBatch | undefined;
  appMetadata?: Uint8Array | undefined;
}

export class FlightDataReader implements AsyncIterable<RecordBatch> {
  readonly decoder = new FlightDataDecoder();
  private readonly lookahead: DecodedMessage[] = [];
  private finished = false;
  /** Arrow rows and FlightData bytes (header, body, app_metadata) received so far. */
  rows = 0;
  bytes = 0;

  constructor(
    private readonly source: AsyncIterator<FlightData>,
    private readonly onClose: () => void = () => {},
  ) {}

  /** The descriptor on the stream's first message (DoPut, DoExchange); read at least one message first. */
  get descriptor(): FlightDescriptor | undefined {
    return this.decoder.descriptor;
  }

  /** Messages received so far. */
  get messagesRead(): number {
    return this.decoder.stats.messages;
  }

  /**
   * The stream's schema: reads ahead until the schema message arrives; null if the stream ends
   * without one (an exchange that sends only metadata, or an empty upload).
   */
  async schema(): Promise<Schema | null> {
    while (!this.decoder.schema) {
      const message = await this.readMessage();
      if (!message) return null;
      this.lookahead.push(message);
    }
    return this.decoder.schema;
  }

  /** Reads at least the first message (so `descriptor` is known); null if the stream is empty. */
  async peek(): Promise<DecodedMessage | null> {
    if (this.lookahead.length === 0) {
      const message = await this.readMessage();
      if (!message) return null;
      this.lookahead.push(message);
    }
    return this.lookahead[0]!;
  }

  private async readMessage(): Promise<DecodedMessage | null>;
  private async readMessage(passThrough: true): Promise<DecodedMessage | PassedThrough | null>;
  private async readMessage(passThrough = false): Promise<DecodedMessage | PassedThrough | null> {
    if (this.finished) return null;
    const next = await this.source.next();
    if (next.done) {
      this.finished = true;
      return null;
    }
    const data = next.value;
    this.bytes += data.dataHeader.byteLength + data.dataBody.byteLength + (data.appMetadata?.byteLength ?? 0);
    const message = passThrough ? this.decoder.passThrough(data) : this.decoder.decode(data);
    if (message.kind === 'batch' || message.kind === 'encoded') this.rows += message.batch.numRows;
    return message;
  }

  /**
   * Every batch and every app_metadata, in order, the batches as they came: EncodedBatch (IPC
   * header and body, not decoded) to pass on to another stream, a DoPut or a DoExchange, without
   * decoding and encoding them again. The schema is not among them: read it first (schema()) and
   * send it ahead. See FlightDataDecoder.passThrough for what is checked.
   *
   * ```ts
   * const reader = source.doGet(ticket);
   * async function* items() { yield (await reader.schema())!; yield* reader.encoded(); }
   * await target.doPut(descriptor, items());
   * ```
   */
  encoded(): AsyncGenerator<EncodedBatch | FlightChunk, void, undefined> {
    return this.items(true);
  }

  /** Every batch and every app_metadata, in order. */
  chunks(): AsyncGenerator<FlightChunk, void, undefined> {
    return this.items(false) as AsyncGenerator<FlightChunk, void, undefined>;
  }

  /** chunks(), or with passThrough encoded(): the batches not decoded (FlightDataDecoder.passThrough). */
  private async *items(passThrough: boolean): AsyncGenerator<EncodedBatch | FlightChunk, void, undefined> {
    try {
      for (;;) {
        const message = this.lookahead.shift() ?? (passThrough ? await this.readMessage(true) : await this.readMessage());
        if (!message) return;
        switch (message.kind) {
          case 'encoded':
            yield message.batch;
            break;
          case 'batch':
            yield { batch: message.batch, appMetadata: message.appMetadata };
            break;
          case 'metadata':
            // A message with neither header nor app_metadata carries nothing for the reader:
            // pyarrow opens a DoExchange with one that holds only the descriptor.
            if (message.appMetadata.byteLength > 0) yield { appMetadata: message.appMetadata };
            break;
          case 'schema':
          case 'dictionary':
            if (message.appMetadata) yield { appMetadata: message.appMetadata };
            break;
        }
      }
    } finally {
      await this.close();
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RecordBatch, void, undefined> {
    for await (const chunk of this.chunks()) if (chunk.batch) yield chunk.batch;
  }

  /** Everything as one Table (the schema's, even when no batch arrives). */
  async readAll(): Promise<Table> {
    const batches: RecordBatch[] = [];
    for await (const batch of this) batches.push(batch);
    const schema = this.decoder.schema;
    return batches.length > 0 ? new Table(batches) : new Table(schema ?? new Schema([]));
  }

  /** Stops reading: the source is told to stop (a server's query, a client's call). */
  async close(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.onClose();
    await this.source.return?.();
  }
}
