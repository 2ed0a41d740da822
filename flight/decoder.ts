// FlightData messages -> Arrow: the schema, dictionaries and record batches of one stream.
// Every length and offset a peer declares is checked against what it sent before arrow-js
// looks at it; anything malformed is an INVALID_ARGUMENT naming what was wrong.

import { Data, DataType, makeData, MessageHeader, RecordBatch, Schema, Struct, Vector, type MetadataVersion } from 'apache-arrow';
import { Message, RecordBatchHeader, DictionaryBatch, type BufferRegion, type FieldNode, VectorLoader } from './arrow-internals.ts';
import { int32Decreases } from './check-offsets.ts';
import { FlightError } from './error.ts';
import type { FlightData } from './flight-data.ts';
import type { FlightDescriptor } from './messages.ts';
import { alignedFlatbuffer, describe } from './ipc-schema.ts';
import { verifyIpcMessage } from './ipc-verify.ts';
import { checkSchemaTypes } from './schema-check.ts';
import { EncodedBatch } from './encoded-batch.ts';

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

const KNOWN_HEADERS = new Set<MessageHeader>([MessageHeader.Schema, MessageHeader.DictionaryBatch, MessageHeader.RecordBatch]);

/**
 * The most rows (or values at one level of nesting) a batch may declare: arrow-js keeps lengths
 * in 32-bit arithmetic (validity bitmaps are sized with `>>`), and no gRPC message carries more.
 */
const MAX_LENGTH = 2 ** 31 - 1;

/** The IPC Message in data_header, verified, and its header if of a known type (undefined otherwise). */
function readHeader(data: FlightData, index: number): { message: Message; header: unknown } {
  try {
    const flatbuffer = alignedFlatbuffer(data.dataHeader);
    verifyIpcMessage(flatbuffer);
    const message = Message.decode(flatbuffer);
    // header() of any other type throws; those are refused by the caller, by name.
    return { message, header: KNOWN_HEADERS.has(message.headerType) ? message.header() : undefined };
  } catch (cause) {
    throw FlightError.invalidArgument(
      `FlightData message ${index}: data_header is not a valid Arrow IPC flatbuffer (${describe(cause)})`,
      cause,
    );
  }
}

/** A batch's body is uncompressed and at least as long as its message declares. */
function checkDeclaredBody(data: FlightData, message: Message, header: RecordBatchHeader, index: number): void {
  if (header.compression != null) {
    throw FlightError.invalidArgument(`FlightData message ${index}: compressed IPC bodies are not supported; send uncompressed batches`);
  }
  if (data.dataBody.byteLength < message.bodyLength) {
    throw FlightError.invalidArgument(
      `FlightData message ${index}: body is ${data.dataBody.byteLength} bytes but the header declares ${message.bodyLength}`,
    );
  }
}

/** A batch passed on as received (FlightDataDecoder.passThrough). */
export type PassedThrough = { kind: 'encoded'; batch: EncodedBatch };

export class FlightDataDecoder {
  schema: Schema | null = null;
  /** The descriptor of the first message, if it had one (DoPut, DoExchange). */
  descriptor: FlightDescriptor | undefined;
  readonly stats: DecoderStats = { messages: 0, alignmentCopies: 0 };
  private readonly dictionaries = new Map<number, Vector>();

  /**
   * One FlightData message as Arrow. Anything a peer sent wrong is an INVALID_ARGUMENT naming
   * the message and what was wrong with it.
   */
  decode(data: FlightData): DecodedMessage {
    const index = this.stats.messages++;
    try {
      return this.decodeMessage(data, index);
    } catch (cause) {
      if (cause instanceof FlightError) throw cause;
      // The last line of defence: decodeMessage's checks are meant to refuse every malformed
      // input with a reason of its own before arrow-js trips over it (test/fuzz/fuzz.test.ts
      // fails on any input that gets this far); whatever still throws came from the peer's
      // bytes all the same, so it is the peer's error, not an INTERNAL one.
      throw FlightError.invalidArgument(`FlightData message ${index}: the message could not be decoded: ${describe(cause)}`, cause);
    }
  }

  /**
   * One FlightData message to pass on unchanged (FlightDataReader.encoded). A schema message,
   * or a message of app_metadata alone, is decoded as decode() does; a record or dictionary
   * batch is checked up to its header (a valid IPC flatbuffer, after the schema, uncompressed,
   * a body at least as long as the header declares) and comes back as an EncodedBatch over the
   * received bytes. Its body is not looked at: whoever decodes it checks it.
   */
  passThrough(data: FlightData): DecodedMessage | PassedThrough {
    if (data.dataHeader.byteLength === 0 || this.schema === null) return this.decode(data);
    const index = this.stats.messages++;
    const { message, header } = readHeader(data, index);
    const batch =
      message.headerType === MessageHeader.RecordBatch
        ? (header as RecordBatchHeader)
        : message.headerType === MessageHeader.DictionaryBatch
          ? (header as DictionaryBatch).data
          : null;
    if (batch === null) {
      throw FlightError.invalidArgument(
        `FlightData message ${index}: ${MessageHeader[message.headerType] ?? `IPC message type ${message.headerType}`} after the schema; a record or dictionary batch was expected`,
      );
    }
    checkDeclaredBody(data, message, batch, index);
    const appMetadata = data.appMetadata && data.appMetadata.byteLength > 0 ? data.appMetadata : undefined;
    const rows = message.headerType === MessageHeader.RecordBatch ? Number(batch.length) : 0;
    const body = data.dataBody.subarray(0, Number(message.bodyLength));
    return { kind: 'encoded', batch: new EncodedBatch(data.dataHeader, body, rows, appMetadata) };
  }

  private decodeMessage(data: FlightData, index: number): DecodedMessage {
    if (index === 0) this.descriptor = data.descriptor;
    const appMetadata = data.appMetadata && data.appMetadata.byteLength > 0 ? data.appMetadata : undefined;
    if (data.dataHeader.byteLength === 0) {
      if (data.dataBody.byteLength > 0) {
        throw FlightError.invalidArgument(`FlightData message ${index} has a body of ${data.dataBody.byteLength} bytes but no header`);
      }
      return { kind: 'metadata', appMetadata: appMetadata ?? new Uint8Array(0) };
    }

    const { message, header } = readHeader(data, index);

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
        this.dictionaries.set(Number(dictionary.id), (dictionary.isDelta && previous ? previous.concat(vector) : vector).memoize());
        return { kind: 'dictionary', appMetadata };
      }
      case MessageHeader.RecordBatch: {
        const schema = this.requireSchema(index, 'record batch');
        for (const id of schema.dictionaries.keys()) {
          // arrow-js would give the column an empty dictionary.
          if (!this.dictionaries.has(id))
            throw FlightError.invalidArgument(
              `FlightData message ${index}: a record batch before the dictionary batch of dictionary id ${id}`,
            );
        }
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
    checkDeclaredBody(data, message, header, index);
    let body = data.dataBody;
    header.buffers.forEach((region, i) => {
      if (region.offset < 0 || region.length < 0 || region.offset + region.length > body.byteLength) {
        throw FlightError.invalidArgument(
          `FlightData message ${index}: a buffer at offset ${region.offset} of ${region.length} bytes lies outside the ${body.byteLength}-byte body`,
        );
      }
      // The IPC format pads every body buffer to 8 bytes; arrow-js views them as typed arrays,
      // which cannot start at an offset that is not a multiple of their element size.
      if (region.offset % 8 !== 0) {
        throw FlightError.invalidArgument(
          `FlightData message ${index}: buffer ${i} starts at offset ${region.offset} of the body, not a multiple of 8 as the IPC format requires`,
        );
      }
    });
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
    checkCounts(
      header,
      types.flatMap((t) => nodeTypes(t instanceof DataType ? t : t.type)),
      index,
    );
    let children: Data[];
    try {
      const loader = new CheckedVectorLoader(body, header, this.dictionaries, this.schema!.metadataVersion);
      children = loader.visitMany(types as DataType[]);
    } catch (cause) {
      throw FlightError.invalidArgument(`FlightData message ${index}: record batch does not match the schema (${describe(cause)})`, cause);
    }
    for (const child of children) checkData(child, header.length, index);
    return children;
  }
}

/**
 * arrow-js's loader, refusing a header that runs out of field nodes or buffers before the
 * schema's columns do (arrow-js would destructure `undefined`).
 */
class CheckedVectorLoader extends VectorLoader {
  private readonly nodeCount: number;
  private readonly bufferCount: number;

  constructor(body: Uint8Array, header: RecordBatchHeader, dictionaries: Map<number, Vector>, version: MetadataVersion) {
    super(body, header.nodes, header.buffers, dictionaries, version, header.variadicBufferCounts);
    this.nodeCount = header.nodes.length;
    this.bufferCount = header.buffers.length;
  }

  protected override nextFieldNode(): FieldNode {
    const node = super.nextFieldNode();
    if (!node) throw new Error(`the header has ${this.nodeCount} field nodes, fewer than the schema's columns need`);
    return node;
  }

  protected override nextBufferRange(): BufferRegion {
    const region = super.nextBufferRange();
    if (!region) throw new Error(`the header has ${this.bufferCount} buffers, fewer than the schema's columns need`);
    return region;
  }
}

/**
 * The counts of a record batch header, before arrow-js sizes anything by them: it clamps a
 * negative length to 0, takes a negative null count for "unknown" (and then counts the bits of
 * a bitmap that may be shorter than the length), and builds an array of each variadic count.
 */
function checkCounts(header: RecordBatchHeader, types: DataType[], index: number): void {
  const fail = (what: string): never => {
    throw FlightError.invalidArgument(`FlightData message ${index}: ${what}`);
  };
  if (!(header.length >= 0 && header.length <= MAX_LENGTH)) fail(`the batch declares ${header.length} rows (0 to ${MAX_LENGTH} allowed)`);
  header.nodes.forEach((node, i) => {
    if (!(node.length >= 0 && node.length <= MAX_LENGTH))
      fail(`field node ${i} declares ${node.length} values (0 to ${MAX_LENGTH} allowed)`);
    // A Null column is all nulls whatever its count says (arrow-js writes -1 for a slice of one).
    const isNull = types[i] !== undefined && DataType.isNull(types[i]);
    if (!isNull && !(node.nullCount >= 0 && node.nullCount <= node.length)) {
      fail(`field node ${i} declares ${node.nullCount} nulls in ${node.length} values`);
    }
  });
  header.variadicBufferCounts.forEach((count, i) => {
    if (!(count >= 0 && count <= header.buffers.length)) {
      fail(`variadic buffer count ${i} is ${count}, but the header has ${header.buffers.length} buffers`);
    }
  });
}

/** The type of each field node, in the order the loader reads them: a column, then its children (not a dictionary's). */
function nodeTypes(type: DataType): DataType[] {
  if (DataType.isDictionary(type)) return [type];
  return [type, ...(type.children ?? []).flatMap((child) => nodeTypes(child.type))];
}

/**
 * Buffers must hold what the declared lengths need, or arrow-js would read past them. A column
 * of the batch itself (`batchLength` given) has exactly the batch's rows, as the format says.
 */
function checkData(data: Data, batchLength: number | null, index: number): void {
  const fail = (what: string): never => {
    throw FlightError.invalidArgument(`FlightData message ${index}: column of type ${data.type}: ${what}`);
  };
  const type = data.type;
  if (batchLength !== null && data.length !== batchLength) fail(`declares ${data.length} rows where the batch has ${batchLength}`);
  const n = data.offset + data.length;
  // Before anything asks for nullCount: for some types arrow-js counts it from the bitmap.
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  const hasBitmap = bitmap !== undefined && bitmap.byteLength > 0;
  if (hasBitmap && bitmap.byteLength * 8 < n) fail(`validity bitmap of ${bitmap.byteLength} bytes is too short for ${n} rows`);
  if (!hasBitmap && !DataType.isNull(type) && !DataType.isUnion(type) && data.nullCount > 0) {
    fail(`declares ${data.nullCount} nulls but sends no validity bitmap`);
  }
  const offsets = data.valueOffsets as ArrayLike<number | bigint> | undefined;
  const isBytes = DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isBinary(type) || DataType.isLargeBinary(type);
  const isList = DataType.isList(type) || DataType.isLargeList(type) || DataType.isMap(type);
  if (DataType.isUnion(type)) {
    checkUnion(data, n, fail);
  } else if ((isBytes || isList) && n > 0) {
    if (!offsets || offsets.length < n + 1) fail(`${offsets?.length ?? 0} offsets for ${n} rows`);
    checkOffsets(offsets!, data.offset, n, fail);
    const last = Number(offsets![n]!);
    if (isBytes) {
      const values = data.values as Uint8Array | undefined;
      if (last > (values?.length ?? 0)) fail(`offsets reach ${last} but the data buffer holds ${values?.length ?? 0}`);
    } else {
      const child = data.children[0];
      if (child && child.length < last) fail(`offsets reach ${last} but the child holds ${child.length} values`);
    }
  } else if ((DataType.isUtf8View(type) || DataType.isBinaryView(type)) && n > 0) {
    checkViews(data, n, fail);
  } else if (DataType.isStruct(type)) {
    data.children.forEach((child, i) => {
      if (child.length < n) fail(`${n} rows but its field "${type.children[i]?.name}" holds ${child.length}`);
    });
  } else if (DataType.isFixedSizeList(type)) {
    const child = data.children[0];
    if (child && child.length < n * type.listSize) fail(`${n} lists of ${type.listSize} but the child holds ${child.length} values`);
  } else if (DataType.isBool(type)) {
    if (n > 0 && ((data.values as Uint8Array | undefined)?.byteLength ?? 0) * 8 < n) fail(`boolean buffer too short for ${n} rows`);
  } else if (data.values && n > 0 && !DataType.isNull(type)) {
    const stride = data.stride || 1;
    const values = data.values as ArrayLike<unknown>;
    if (values.length < n * stride) fail(`data buffer holds ${values.length} values for ${n} rows`);
    if (DataType.isDictionary(type)) checkIndices(data, n, fail);
  }
  for (const child of data.children) checkData(child, null, index);
}

/** Dictionary indices of valid rows name an entry of the dictionary received so far. */
function checkIndices(data: Data, n: number, fail: (what: string) => never): void {
  const id = (data.type as unknown as { id: number }).id;
  const size = (data.dictionary as Vector | undefined)?.length ?? 0;
  const indices = data.values as ArrayLike<number | bigint>;
  for (let i = data.offset; i < n; i++) {
    if (!data.getValid(i - data.offset)) continue;
    const entry = Number(indices[i]!);
    if (!(entry >= 0 && entry < size)) fail(`row ${i} has dictionary index ${entry}, outside the ${size}-entry dictionary ${id}`);
  }
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
