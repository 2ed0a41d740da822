// Hand-made wire bytes for the hostile-input corpus and the mutation fuzzer: valid FlightData to
// start from, record batch headers whose lengths and offsets can be made to lie, protobuf
// fields written by hand (so that they can declare lengths they do not have), and the
// canary table whose checksum must never change.

import { Table, Utf8, makeVector, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { BufferRegion, FieldNode, Message, RecordBatchHeader, VectorAssembler } from '../../flight/arrow-internals.ts';
import { FlightDataEncoder, FlightDescriptor, decodeFlightData, encodeFlightData } from '../../flight/index.ts';

export const utf8 = new TextEncoder();

/** The table the fuzzer's uploads target (and may create); never the canary. */
export const TARGET = 'fuzz_target';
/** A table filled before the hostile input; its checksum must be the same after it. */
export const CANARY = 'canary';

/** A few rows of every kind of buffer: fixed width, validity, offsets and string bytes. */
export function sampleTable(rows = 64, offset = 0): Table {
  const ids = BigInt64Array.from({ length: rows }, (_, i) => BigInt(offset + i));
  const scores = Float64Array.from({ length: rows }, (_, i) => (offset + i) / 4);
  const names = vectorFromArray(
    Array.from({ length: rows }, (_, i) => (i % 7 === 3 ? null : `name-${offset + i}`)),
    new Utf8(),
  );
  return new Table({ id: makeVector(ids), score: makeVector(scores), name: names });
}

/** [schema with descriptor, batch...] of a table, as a client's DoPut or DoExchange sends it. */
export function validFrames(table: Table, descriptor: FlightDescriptor | null = FlightDescriptor.path(TARGET)): Buffer[] {
  const encoder = new FlightDataEncoder({ descriptor: descriptor ?? undefined });
  return [encoder.encodeSchema(table.schema), ...table.batches.flatMap((batch) => encoder.encodeBatch(batch))];
}

export interface BatchEdit {
  /** Row count the header declares. */
  length?: number;
  nodes?: FieldNode[];
  regions?: BufferRegion[];
  /** Body length the message declares. */
  bodyLength?: number;
  /** The body actually sent. */
  body?: Uint8Array;
}

/** A record batch FlightData message whose header says what `edit` says, whatever the body holds. */
export function batchFrame(batch: RecordBatch, edit: BatchEdit = {}): Buffer {
  const assembled = VectorAssembler.assemble(batch);
  const header = new RecordBatchHeader(
    edit.length ?? batch.numRows,
    edit.nodes ?? assembled.nodes,
    edit.regions ?? assembled.bufferRegions,
    null,
  );
  const bodyLength = edit.bodyLength ?? assembled.byteLength;
  const flatbuffer = Message.encode(Message.from(header, bodyLength));
  if (edit.body) return encodeFlightData(flatbuffer, { length: edit.body.byteLength, buffers: [edit.body], offsets: [0] });
  return encodeFlightData(flatbuffer, {
    length: assembled.byteLength,
    buffers: assembled.buffers,
    offsets: assembled.bufferRegions.map((r) => r.offset),
  });
}

/** The regions and nodes of a batch as the assembler lays them out. */
export function layout(batch: RecordBatch): { nodes: FieldNode[]; regions: BufferRegion[]; byteLength: number } {
  const assembled = VectorAssembler.assemble(batch);
  return { nodes: assembled.nodes, regions: assembled.bufferRegions, byteLength: assembled.byteLength };
}

/** The body bytes of an encoded FlightData message. */
export function bodyOf(frame: Buffer): Uint8Array {
  return decodeFlightData(frame).dataBody;
}

/** A varint, as protobuf writes it (numbers up to 2^53). */
export function varint(value: number): number[] {
  const out: number[] = [];
  while (value >= 0x80) {
    out.push((value % 128) | 0x80);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A length-delimited protobuf field whose declared length is `declared` (default: the truth). */
export function field(number: number, bytes: Uint8Array | number[], declared?: number): Buffer {
  const content = Buffer.from(bytes as Uint8Array);
  return Buffer.concat([Buffer.from(varint((number << 3) | 2)), Buffer.from(varint(declared ?? content.byteLength)), content]);
}

/** A Ticket message (field 1: the ticket bytes). */
export const ticket = (bytes: Uint8Array | number[]) => field(1, bytes);
/** A FlightDescriptor of type CMD (1: type = 2, 2: cmd). */
export const cmdDescriptor = (cmd: Uint8Array | number[]) => Buffer.concat([Buffer.from([0x08, 0x02]), field(2, cmd)]);
/** A FlightDescriptor of type PATH (1: type = 1, 3: path...). */
export const pathDescriptor = (...path: (Uint8Array | number[])[]) =>
  Buffer.concat([Buffer.from([0x08, 0x01]), ...path.map((p) => field(3, p))]);
/** An Action (1: type, 2: body). */
export const action = (type: string, body: Uint8Array | number[] = []) => Buffer.concat([field(1, utf8.encode(type)), field(2, body)]);
/** A FlightData message carrying only a descriptor and the given header/body. */
export function frame(parts: { descriptor?: Buffer; header?: Uint8Array; body?: Uint8Array; appMetadata?: Uint8Array }): Buffer {
  return Buffer.concat([
    parts.descriptor ? field(1, parts.descriptor) : Buffer.alloc(0),
    parts.header ? field(2, parts.header) : Buffer.alloc(0),
    parts.appMetadata ? field(3, parts.appMetadata) : Buffer.alloc(0),
    parts.body ? field(1000, parts.body) : Buffer.alloc(0),
  ]);
}

/** Bytes that are not UTF-8 (a lone continuation byte, an overlong encoding, a surrogate). */
export const NOT_UTF8 = [0x53, 0x45, 0x4c, 0x80, 0xc0, 0xaf, 0xed, 0xa0, 0x80];

/**
 * Reads the tables of a flatbuffer Message by hand, for inputs whose lengths and offsets lie:
 * positions of fields and vectors, so that a test can overwrite exactly the word it means to.
 */
export class FlatbufferPatch {
  readonly bytes: Buffer;
  private readonly view: DataView;

  constructor(flatbuffer: Uint8Array) {
    this.bytes = Buffer.from(flatbuffer);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  root(): number {
    return this.view.getUint32(0, true);
  }

  private field(table: number, slot: number): number {
    const vtable = table - this.view.getInt32(table, true);
    const entry = 4 + 2 * slot;
    if (entry >= this.view.getUint16(vtable, true)) throw new Error(`slot ${slot} is absent`);
    const offset = this.view.getUint16(vtable + entry, true);
    if (offset === 0) throw new Error(`slot ${slot} is absent`);
    return table + offset;
  }

  /** The table an offset field points at. */
  child(table: number, slot: number): number {
    const at = this.field(table, slot);
    return at + this.view.getUint32(at, true);
  }

  /** Where a vector's length word is, and its element count. */
  vector(table: number, slot: number): { lengthAt: number; length: number } {
    const at = this.field(table, slot);
    const start = at + this.view.getUint32(at, true);
    return { lengthAt: start, length: this.view.getUint32(start, true) };
  }

  /** The table element `index` of a vector of tables points at. */
  element(table: number, slot: number, index: number): number {
    const { lengthAt } = this.vector(table, slot);
    const at = lengthAt + 4 + 4 * index;
    return at + this.view.getUint32(at, true);
  }

  /** Where a scalar field of a table sits (it must be present, not defaulted). */
  tableField(table: number, slot: number): number {
    return this.field(table, slot);
  }

  /**
   * Makes field `slot` of a table absent, by zeroing its vtable entry. Builders share a vtable
   * between tables of the same shape, so those lose the field too.
   */
  absent(table: number, slot: number): this {
    const vtable = table - this.view.getInt32(table, true);
    this.view.setUint16(vtable + 4 + 2 * slot, 0, true);
    return this;
  }

  setI64(at: number, value: bigint): this {
    this.view.setBigInt64(at, value, true);
    return this;
  }

  setU32(at: number, value: number): this {
    this.view.setUint32(at, value >>> 0, true);
    return this;
  }

  /** Makes element `index` of a vector of tables point at `target`. */
  pointElement(table: number, slot: number, index: number, target: number): this {
    const { lengthAt } = this.vector(table, slot);
    const at = lengthAt + 4 + 4 * index;
    return this.setU32(at, target - at);
  }
}
