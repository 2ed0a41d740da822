// Arrow -> a stream of FlightData, written through a sink that applies backpressure.

import { RecordBatch, Schema } from 'apache-arrow';
import { compareSchemas } from './arrow-internals.ts';
import { FlightDataEncoder, type FlightDataEncoderOptions } from './encoder.ts';
import { FlightError } from './error.ts';
import type { OutgoingFlightData } from './flight-data.ts';
import type { FlightChunk } from './reader.ts';
import { EncodedBatch } from './encoded-batch.ts';

/**
 * What a producer may hand a writer: the schema, a batch, a batch already serialized as IPC
 * (after the schema it belongs to), or a batch or metadata with app_metadata.
 */
export type FlightOutputItem = Schema | RecordBatch | EncodedBatch | FlightChunk;

export class FlightDataWriter {
  readonly encoder: FlightDataEncoder;
  private schema: Schema | null = null;
  rows = 0;
  bytes = 0;

  constructor(
    private readonly sink: (message: OutgoingFlightData) => Promise<void>,
    options: FlightDataEncoderOptions = {},
  ) {
    this.encoder = new FlightDataEncoder(options);
  }

  private async send(message: OutgoingFlightData): Promise<void> {
    this.bytes += message.byteLength;
    await this.sink(message);
  }

  async writeSchema(schema: Schema, appMetadata?: Uint8Array): Promise<void> {
    if (this.schema) {
      if (this.schema === schema || compareSchemas(this.schema, schema)) return;
      throw FlightError.invalidArgument('the schema cannot change in the middle of a stream');
    }
    this.schema = schema;
    await this.send(this.encoder.encodeSchema(schema, appMetadata));
  }

  async write(batch: RecordBatch, appMetadata?: Uint8Array): Promise<void> {
    if (!this.schema) await this.writeSchema(batch.schema);
    else if (batch.schema !== this.schema && !compareSchemas(this.schema, batch.schema)) {
      const theirs: Schema = batch.schema;
      throw FlightError.invalidArgument(
        `a batch's schema (${theirs.fields.map(String).join(', ')}) differs from the stream's (${this.schema.fields.map(String).join(', ')})`,
      );
    }
    this.rows += batch.numRows;
    for (const message of this.encoder.encodeBatchMessages(batch, appMetadata)) await this.send(message);
  }

  async writeMetadata(appMetadata: Uint8Array): Promise<void> {
    await this.send(this.encoder.encodeMetadata(appMetadata));
  }

  /** A batch serialized elsewhere, under the schema already written. */
  async writeEncoded(batch: EncodedBatch): Promise<void> {
    if (!this.schema) throw FlightError.internal('an encoded batch came before its schema');
    this.rows += batch.numRows;
    await this.send(this.encoder.encodeEncoded(batch, batch.appMetadata));
  }

  async writeItem(item: FlightOutputItem): Promise<void> {
    if (item instanceof Schema) await this.writeSchema(item);
    else if (item instanceof RecordBatch) await this.write(item);
    else if (item instanceof EncodedBatch) await this.writeEncoded(item);
    else if (item.batch) await this.write(item.batch, item.appMetadata);
    else if (item.appMetadata && item.appMetadata.byteLength > 0) await this.writeMetadata(item.appMetadata);
  }

  /** Writes every item; the iterator is closed (its producer stopped) if writing fails. */
  async writeAll(items: AsyncIterable<FlightOutputItem> | Iterable<FlightOutputItem>): Promise<void> {
    for await (const item of items) await this.writeItem(item);
  }

  get schemaSent(): boolean {
    return this.schema !== null;
  }
}
