// RecordBatches -> FlightData messages, as the Flight specification orders them: the schema
// first (with the descriptor on the first message of a DoPut or DoExchange), dictionary batches
// before the record batch that uses them, app_metadata on the batch it came with, and batches
// larger than the message limit sliced by rows to fit.

import { BufferType, Data, DataType, RecordBatch, Schema, Vector } from 'apache-arrow';
import { Message, RecordBatchHeader, DictionaryBatch, VectorAssembler } from './arrow-internals.ts';
import { layoutBody, type BodyLayout } from './body-layout.ts';
import { encodeFlightData, FlightDataMessage, type BodyParts } from './flight-data.ts';
import type { FlightDescriptor } from './messages.ts';
import type { EncodedBatch } from './encoded-batch.ts';
import { FlightError } from './error.ts';

import { DEFAULT_MAX_MESSAGE_BYTES } from './defaults.ts';

export { DEFAULT_MAX_MESSAGE_BYTES };

export interface FlightDataEncoderOptions {
  /** Slice record batches whose body exceeds this many bytes (default 4 MiB). */
  maxMessageBytes?: number;
  /** Sent on the first message (DoPut and DoExchange name their target this way). */
  descriptor?: FlightDescriptor | undefined;
}

export class FlightDataEncoder {
  readonly maxMessageBytes: number;
  private descriptor: FlightDescriptor | undefined;
  private schema: Schema | null = null;
  private readonly sentDictionaries = new Map<number, Data>();

  constructor(options: FlightDataEncoderOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.descriptor = options.descriptor;
  }

  /** The messages for the stream's schema. Call once, before any batch. */
  encodeSchema(schema: Schema, appMetadata?: Uint8Array): Buffer {
    if (this.schema) throw FlightError.internal('the schema was already sent on this stream');
    this.schema = schema;
    const header = Message.encode(Message.from(schema));
    return encodeFlightData(header, undefined, appMetadata, this.takeDescriptor());
  }

  get schemaSent(): boolean {
    return this.schema !== null;
  }

  /** A message that carries only app_metadata (allowed in DoPut, DoExchange, and DoGet). */
  encodeMetadata(appMetadata: Uint8Array): Buffer {
    return encodeFlightData(new Uint8Array(0), undefined, appMetadata, this.takeDescriptor());
  }

  /**
   * The messages for one batch: any dictionaries it brings that were not sent yet, then the
   * batch itself, sliced when larger than the limit. app_metadata rides on the first slice.
   */
  encodeBatch(batch: RecordBatch, appMetadata?: Uint8Array): Buffer[] {
    return this.encodeBatchMessages(batch, appMetadata).map((message) => message.toBuffer());
  }

  /**
   * The same messages as encodeBatch, laid out but not yet written: each is gathered from the
   * batch's buffers when it is serialized (see FlightDataMessage), which lets a writer gather
   * straight into its gRPC frame, or send the large buffers as they are, without a buffer per
   * message of its own.
   */
  encodeBatchMessages(batch: RecordBatch, appMetadata?: Uint8Array): FlightDataMessage[] {
    if (!this.schema) throw FlightError.internal('encodeBatch called before encodeSchema');
    const messages: FlightDataMessage[] = [];
    this.encodeDictionaries(batch, messages);
    this.encodeSlices(batch, appMetadata, messages);
    return messages;
  }

  /**
   * The message for a batch serialized elsewhere (see EncodedBatch). It is sent as it is: the
   * producer keeps it under the message limit, and sends its dictionaries before it.
   */
  encodeEncoded(batch: EncodedBatch, appMetadata?: Uint8Array): FlightDataMessage {
    if (!this.schema) throw FlightError.internal('encodeEncoded called before encodeSchema');
    const body = batch.body;
    return new FlightDataMessage(
      batch.header,
      { length: body.byteLength, buffers: [body], offsets: [0] },
      appMetadata,
      this.takeDescriptor(),
    );
  }

  private encodeSlices(batch: RecordBatch, appMetadata: Uint8Array | undefined, out: FlightDataMessage[]): void {
    const assembled = layoutBody(batch.data.children) ?? fromAssembler(VectorAssembler.assemble(withViewsRebased(batch)));
    if (assembled.byteLength > this.maxMessageBytes && batch.numRows > 1) {
      const pieces = Math.ceil(assembled.byteLength / this.maxMessageBytes);
      const rowsPerPiece = sliceRows(batch.numRows, pieces);
      for (let start = 0; start < batch.numRows; start += rowsPerPiece) {
        const end = Math.min(start + rowsPerPiece, batch.numRows);
        this.encodeSlices(batch.slice(start, end), start === 0 ? appMetadata : undefined, out);
      }
      return;
    }
    const header = new RecordBatchHeader(batch.numRows, assembled.nodes, assembled.regions, null, assembled.variadicBufferCounts);
    const message = Message.from(header, assembled.byteLength);
    out.push(
      new FlightDataMessage(
        Message.encode(message),
        {
          length: assembled.byteLength,
          buffers: assembled.buffers,
          offsets: assembled.regions.map((r) => r.offset),
          deltas: assembled.deltas,
        },
        appMetadata,
        this.takeDescriptor(),
      ),
    );
  }

  private encodeDictionaries(batch: RecordBatch, out: FlightDataMessage[]): void {
    for (const [id, dictionary] of batch.dictionaries) {
      const chunks = dictionary?.data ?? [];
      if (chunks.length === 0) continue;
      const sent = this.sentDictionaries.get(id);
      // A dictionary is sent again (as a replacement) when the batch carries a different one.
      if (sent === chunks[0] && chunks.length === 1) continue;
      chunks.forEach((chunk, index) => {
        const assembled = VectorAssembler.assemble(new Vector([chunk]));
        const data = new RecordBatchHeader(chunk.length, assembled.nodes, assembled.bufferRegions, null, assembled.variadicBufferCounts);
        const message = Message.from(new DictionaryBatch(data, id, index > 0), assembled.byteLength);
        out.push(
          new FlightDataMessage(
            Message.encode(message),
            bodyParts(assembled.byteLength, assembled.buffers, assembled.bufferRegions),
            undefined,
            this.takeDescriptor(),
          ),
        );
      });
      this.sentDictionaries.set(id, chunks[0]!);
    }
  }

  private takeDescriptor(): FlightDescriptor | undefined {
    const d = this.descriptor;
    this.descriptor = undefined;
    return d;
  }
}

/**
 * Rows per slice, rounded up to a multiple of 64 where that still splits the batch: a slice
 * that starts at a row not on a byte boundary makes arrow-js repack every validity and boolean
 * bitmap bit by bit (packBools), which made slicing cost 3-5x the copy itself.
 */
function sliceRows(rows: number, pieces: number): number {
  const even = Math.ceil(rows / pieces);
  const aligned = Math.ceil(even / 64) * 64;
  return aligned < rows ? aligned : even;
}

const VIEW_WIDTH = 16;

/**
 * arrow-js 21 slices a Utf8View/BinaryView column by cutting its views buffer at the slice start
 * AND advancing the column's offset; VectorAssembler then applies the offset a second time and
 * sends too few views (or none). Hand the assembler views buffers that begin at row 0 again:
 * the memory before the cut when the buffer is a view into it (no copy), else a copy placed at
 * the offset. Batches with no sliced view columns come back unchanged.
 */
function withViewsRebased(batch: RecordBatch): RecordBatch {
  const data = rebaseViews(batch.data);
  return data === batch.data ? batch : new RecordBatch(batch.schema, data);
}

function rebaseViews<T extends DataType>(data: Data<T>): Data<T> {
  const children = data.children.map(rebaseViews);
  const childrenChanged = children.some((child, i) => child !== data.children[i]);
  const slicedView = (DataType.isUtf8View(data.type) || DataType.isBinaryView(data.type)) && data.offset > 0 && data.values;
  if (!childrenChanged && !slicedView) return data;
  const buffers = data.buffers;
  if (slicedView) {
    const views = data.values as Uint8Array;
    const before = data.offset * VIEW_WIDTH;
    let rebased: Uint8Array;
    if (views.byteOffset >= before) rebased = new Uint8Array(views.buffer, views.byteOffset - before, before + views.byteLength);
    else {
      rebased = new Uint8Array(before + views.byteLength);
      rebased.set(views, before);
    }
    buffers[BufferType.DATA] = rebased as never;
  }
  return data.clone(data.type, data.offset, data.length, data.nullCount, buffers, children);
}

/** VectorAssembler's result as a BodyLayout (nothing to rebase: it copied what needed it). */
function fromAssembler(assembled: VectorAssembler): BodyLayout {
  return {
    nodes: assembled.nodes,
    regions: assembled.bufferRegions,
    buffers: assembled.buffers,
    deltas: assembled.buffers.map(() => 0),
    variadicBufferCounts: assembled.variadicBufferCounts,
    byteLength: assembled.byteLength,
  };
}

function bodyParts(length: number, buffers: ArrayBufferView[], regions: { offset: number }[]): BodyParts {
  return { length, buffers, offsets: regions.map((r) => r.offset) };
}
