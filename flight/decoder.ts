// FlightData messages -> Arrow: the schema, dictionaries and record batches of one stream.
// Every length and offset a peer declares is checked against what it sent before arrow-js
// looks at it; anything malformed is an INVALID_ARGUMENT naming what was wrong.

import { Data, DataType, makeData, MessageHeader, RecordBatch, Schema, Struct, Vector } from 'apache-arrow';
import { Message, RecordBatch as RecordBatchHeader, DictionaryBatch } from 'apache-arrow/ipc/metadata/message';
import { VectorLoader } from 'apache-arrow/visitor/vectorloader';
import { FlightError } from './error.ts';
import type { FlightData } from './flight-data.ts';
import type { FlightDescriptor } from './messages.ts';
import { alignedFlatbuffer, describe } from './ipc-schema.ts';
import { verifyIpcMessage } from './ipc-verify.ts';
import { checkSchemaTypes } from './schema-check.ts';

export type DecodedMessage =
  | { kind: 'schema'; schema: Schema; appMetadata: Uint8Array | undefined }
  | { kind: 'batch'; batch: RecordBatch; appMetadata: Uint8Array | undefined }
  | { kind: 'metadata'; appMetadata: Uint8Array }
  | { kind: 'dictionary'; appMetadata: Uint8Array | undefined };

export interface DecoderStats {
  messages: number;
  /** Bodies that arrived misaligned and were copied once to an 8-byte boundary. */
  alignmentCopies: number;
}

export class FlightDataDecoder {
  schema: Schema | null = null;
  /** The descriptor of the first message, if it had one (DoPut, DoExchange). */
  descriptor: FlightDescriptor | undefined;
  readonly stats: DecoderStats = { messages: 0, alignmentCopies: 0 };
  private readonly dictionaries = new Map<number, Vector>();

  decode(data: FlightData): DecodedMessage {
    const index = this.stats.messages++;
    if (index === 0) this.descriptor = data.descriptor;
    const appMetadata = data.appMetadata && data.appMetadata.byteLength > 0 ? data.appMetadata : undefined;
    if (data.dataHeader.byteLength === 0) {
      if (data.dataBody.byteLength > 0) {
        throw FlightError.invalidArgument(`FlightData message ${index} has a body of ${data.dataBody.byteLength} bytes but no header`);
      }
      return { kind: 'metadata', appMetadata: appMetadata ?? new Uint8Array(0) };
    }

    let message: Message;
    let header: unknown;
    try {
      const flatbuffer = alignedFlatbuffer(data.dataHeader);
      verifyIpcMessage(flatbuffer);
      message = Message.decode(flatbuffer);
      header = message.header();
    } catch (cause) {
      throw FlightError.invalidArgument(
        `FlightData message ${index}: data_header is not a valid Arrow IPC flatbuffer (${describe(cause)})`,
        cause,
      );
    }

    switch (message.headerType) {
      case MessageHeader.Schema: {
        if (!(header instanceof Schema)) throw FlightError.invalidArgument(`FlightData message ${index}: schema header is unreadable`);
        if (this.schema) throw FlightError.invalidArgument(`FlightData message ${index}: a second schema in one stream`);
        checkSchemaTypes(header, `FlightData message ${index}`);
        this.schema = header;
        return { kind: 'schema', schema: header, appMetadata };
      }
      case MessageHeader.DictionaryBatch: {
        const schema = this.requireSchema(index, 'dictionary batch');
        const dictionary = header as DictionaryBatch;
        const type = schema.dictionaries.get(Number(dictionary.id));
        if (!type) {
          throw FlightError.invalidArgument(`FlightData message ${index}: dictionary id ${dictionary.id} is not in the schema`);
        }
        const body = this.body(data, message, dictionary.data, index);
        const loaded = this.load(dictionary.data, body, [type], index);
        const previous = this.dictionaries.get(Number(dictionary.id));
        const vector = new Vector(loaded);
        this.dictionaries.set(
          Number(dictionary.id),
          (dictionary.isDelta && previous ? previous.concat(vector) : vector).memoize(),
        );
        return { kind: 'dictionary', appMetadata };
      }
      case MessageHeader.RecordBatch: {
        const schema = this.requireSchema(index, 'record batch');
        const recordBatch = header as RecordBatchHeader;
        const body = this.body(data, message, recordBatch, index);
        const children = this.load(recordBatch, body, schema.fields, index);
        const struct = makeData({ type: new Struct(schema.fields), length: recordBatch.length, children });
        return { kind: 'batch', batch: new RecordBatch(schema, struct), appMetadata };
      }
      default:
        throw FlightError.invalidArgument(
          `FlightData message ${index}: unsupported IPC message type ${MessageHeader[message.headerType] ?? message.headerType}`,
        );
    }
  }

  private requireSchema(index: number, what: string): Schema {
    if (!this.schema) throw FlightError.invalidArgument(`FlightData message ${index}: a ${what} before any schema`);
    return this.schema;
  }

  private body(data: FlightData, message: Message, header: RecordBatchHeader, index: number): Uint8Array {
    let body = data.dataBody;
    if (header.compression != null) {
      throw FlightError.invalidArgument(`FlightData message ${index}: compressed IPC bodies are not supported; send uncompressed batches`);
    }
    if (body.byteLength < message.bodyLength) {
      throw FlightError.invalidArgument(
        `FlightData message ${index}: body is ${body.byteLength} bytes but the header declares ${message.bodyLength}`,
      );
    }
    for (const region of header.buffers) {
      if (region.offset < 0 || region.length < 0 || region.offset + region.length > body.byteLength) {
        throw FlightError.invalidArgument(
          `FlightData message ${index}: a buffer at offset ${region.offset} of ${region.length} bytes lies outside the ${body.byteLength}-byte body`,
        );
      }
    }
    if (body.byteOffset % 8 !== 0) {
      // Typed arrays need aligned memory; one copy here beats arrow-js copying buffer by buffer.
      const aligned = new Uint8Array(body.byteLength);
      aligned.set(body);
      body = aligned;
      this.stats.alignmentCopies++;
    }
    return body;
  }

  private load(header: RecordBatchHeader, body: Uint8Array, types: (DataType | Schema['fields'][number])[], index: number): Data[] {
    let children: Data[];
    try {
      const loader = new VectorLoader(body, header.nodes, header.buffers, this.dictionaries, this.schema!.metadataVersion, header.variadicBufferCounts);
      children = loader.visitMany(types as DataType[]);
    } catch (cause) {
      throw FlightError.invalidArgument(
        `FlightData message ${index}: record batch does not match the schema (${describe(cause)})`,
        cause,
      );
    }
    for (const child of children) checkData(child, header.length, index);
    return children;
  }
}

/** Buffers must hold what the declared lengths need, or arrow-js would read past them. */
function checkData(data: Data, expectedLength: number, index: number): void {
  const fail = (what: string): never => {
    throw FlightError.invalidArgument(`FlightData message ${index}: column of type ${data.type}: ${what}`);
  };
  if (data.length < expectedLength) fail(`declares ${data.length} rows where the batch has ${expectedLength}`);
  const n = data.offset + data.length;
  if (data.nullCount > 0 && data.nullBitmap && data.nullBitmap.byteLength > 0 && data.nullBitmap.byteLength * 8 < n) {
    fail(`validity bitmap of ${data.nullBitmap.byteLength} bytes is too short for ${n} rows`);
  }
  const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  if (DataType.isUnion(data.type)) {
    checkUnion(data, n, fail);
  } else if (offsets && offsets.length > 0 && n > 0) {
    if (offsets.length < n + 1) fail(`${offsets.length} offsets for ${n} rows`);
    checkOffsets(offsets, data.offset, n, fail);
    const last = Number(offsets[n]!);
    const values = data.values as ArrayLike<unknown> | undefined;
    if (values && !DataType.isList(data.type) && !DataType.isMap(data.type) && last > values.length) {
      fail(`offsets reach ${last} but the data buffer holds ${values.length}`);
    }
  } else if ((DataType.isUtf8View(data.type) || DataType.isBinaryView(data.type)) && n > 0) {
    checkViews(data, n, fail);
  } else if (data.values && n > 0 && !DataType.isBool(data.type) && !DataType.isNull(data.type) && !DataType.isStruct(data.type)) {
    const stride = data.stride || 1;
    const values = data.values as ArrayLike<unknown>;
    if (values.length < n * stride) fail(`data buffer holds ${values.length} values for ${n} rows`);
  } else if (DataType.isBool(data.type) && data.values && n > 0 && (data.values as Uint8Array).byteLength * 8 < n) {
    fail(`boolean buffer too short for ${n} rows`);
  }
  const isList = DataType.isList(data.type) || DataType.isLargeList(data.type) || DataType.isMap(data.type);
  if (isList && offsets && n > 0) {
    const child = data.children[0];
    const last = Number(offsets[n]!);
    if (child && child.length < last) fail(`offsets reach ${last} but the child holds ${child.length} values`);
  }
  for (const child of data.children) checkData(child, 0, index);
}

/**
 * Offsets never decrease and never go below zero: each row's bytes (or children) lie between
 * its offset and the next one, and the readers downstream (DuckDB's string headers among them)
 * trust that. Only the last offset is compared with the buffer's size, so this makes every
 * offset bounded by it.
 */
function checkOffsets(offsets: ArrayLike<number | bigint>, from: number, n: number, fail: (what: string) => never): void {
  if (offsets instanceof Int32Array) {
    if (offsets[from]! < 0) fail(`offset ${offsets[from]} of row ${from} is negative`);
    if (int32Decreases(offsets, from, n)) {
      for (let i = from; i < n; i++) {
        if (offsets[i + 1]! < offsets[i]!) fail(`offsets decrease from ${offsets[i]} to ${offsets[i + 1]} at row ${i}`);
      }
    }
    return;
  }
  if (Number(offsets[from]!) < 0) fail(`offset ${offsets[from]} of row ${from} is negative`);
  for (let i = from; i < n; i++) {
    if (offsets[i + 1]! < offsets[i]!) fail(`offsets decrease from ${offsets[i]} to ${offsets[i + 1]} at row ${i}`);
  }
}

/**
 * Whether any of offsets[from..n] is below the one before it. Branch-free, so the loop runs about
 * twice as fast as comparing and branching per row; the row is found again only on failure.
 */
function int32Decreases(offsets: Int32Array, from: number, n: number): boolean {
  let previous = offsets[from]!;
  let decreased = 0;
  for (let i = from + 1; i <= n; i++) {
    const next = offsets[i]!;
    decreased |= +(next < previous);
    previous = next;
  }
  return decreased !== 0;
}

/**
 * Utf8View and BinaryView: a 16-byte view per row, the length first; a value longer than 12
 * bytes names a variadic buffer and an offset in it, which must hold the whole value.
 */
function checkViews(data: Data, n: number, fail: (what: string) => never): void {
  const views = data.values as Uint8Array | undefined;
  if (!views || views.byteLength < n * 16) fail(`views of ${views?.byteLength ?? 0} bytes for ${n} rows`);
  const words = new DataView(views!.buffer, views!.byteOffset, views!.byteLength);
  const buffers = data.variadicBuffers as readonly Uint8Array[];
  for (let i = data.offset; i < n; i++) {
    if (!data.getValid(i - data.offset)) continue;
    const length = words.getInt32(i * 16, true);
    if (length < 0) fail(`row ${i} has a view of length ${length}`);
    if (length <= 12) continue;
    const index = words.getInt32(i * 16 + 8, true);
    const offset = words.getInt32(i * 16 + 12, true);
    const buffer = buffers[index];
    if (!buffer) fail(`row ${i} points into variadic buffer ${index}, of ${buffers.length}`);
    if (offset < 0 || offset + length > buffer!.byteLength) {
      fail(`row ${i}: ${length} bytes at offset ${offset} of a ${buffer!.byteLength}-byte variadic buffer`);
    }
  }
}

/**
 * A union has a type id per row and, when dense, an offset per row (n of them, not n + 1 as a
 * list has) into the child its type id selects.
 */
function checkUnion(data: Data, n: number, fail: (what: string) => never): void {
  if (n === 0) return;
  const typeIds = data.typeIds as Int8Array | undefined;
  if (!typeIds || typeIds.length < n) fail(`${typeIds?.length ?? 0} type ids for ${n} rows`);
  const type = data.type as unknown as { typeIdToChildIndex: Record<number, number> };
  const offsets = data.valueOffsets as Int32Array | undefined;
  const dense = DataType.isDenseUnion(data.type);
  if (dense && (!offsets || offsets.length < n)) fail(`${offsets?.length ?? 0} offsets for ${n} rows`);
  for (let i = 0; i < n; i++) {
    const child = data.children[type.typeIdToChildIndex[typeIds![i]!]!];
    if (!child) fail(`row ${i} has type id ${typeIds![i]}, which names no child`);
    const at = dense ? offsets![i]! : i;
    if (at < 0 || at >= child.length) fail(`row ${i} points at row ${at} of a child with ${child.length} rows`);
  }
}
