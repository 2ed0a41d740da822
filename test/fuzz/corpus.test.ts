// The hostile-input corpus: malformed bytes sent by a raw grpc-js client (no codec of ours on
// that side) to every RPC of a real duck-flight process. Each input gets the status it deserves
// and a message saying what was wrong; the process stays up and keeps serving; the canary table
// filled beforehand is exactly the same afterwards (test/flight/errors.test.ts checks the
// FlightData decoder against the in-process echo server; this is the DuckDB server, end to end).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import {
  Int32,
  List,
  Schema,
  Field,
  Struct,
  Table,
  TimestampMillisecond,
  TimestampSecond,
  Utf8,
  Utf8View,
  makeData,
  makeVector,
  vectorFromArray,
} from 'apache-arrow';
import { BodyCompression, BufferRegion, FieldNode, Message, RecordBatchHeader, CompressionType } from '../../flight/arrow-internals.ts';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDataEncoder, FlightDescriptor, decodeFlightData, encodeFlightData, parseLocation } from '../../flight/index.ts';
import { encodeAny, TYPE_URL_PREFIX } from '../../servers/flightsql/messages.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { RawFlightClient, type RawOutcome } from '../support/raw-grpc.ts';
import { checksum } from '../reliability/support.ts';
import { dictionaryColumn } from '../support/arrow-matrix.ts';
import {
  FlatbufferPatch,
  type BatchEdit,
  CANARY,
  NOT_UTF8,
  TARGET,
  action,
  batchFrame,
  bodyOf,
  cmdDescriptor,
  field,
  frame,
  layout,
  pathDescriptor,
  sampleTable,
  ticket,
  utf8,
  validFrames,
  varint,
} from './inputs.ts';

type Call = { kind: 'unary' | 'server'; request: Buffer } | { kind: 'bidi'; frames: Buffer[] };

interface Case {
  name: string;
  method: string;
  call: Call;
  code: GrpcStatus;
  message: RegExp;
  headers?: Record<string, string>;
}

const { INVALID_ARGUMENT, NOT_FOUND, UNIMPLEMENTED, UNAVAILABLE } = GrpcStatus;
const unary = (request: Buffer): Call => ({ kind: 'unary', request });
const server = (request: Buffer): Call => ({ kind: 'server', request });
const bidi = (...frames: Buffer[]): Call => ({ kind: 'bidi', frames });

const table = sampleTable(64);
const batch = table.batches[0]!;
const [schemaFrame, batchFrameValid] = validFrames(table) as [Buffer, Buffer];
const canaryPath = FlightDescriptor.path(CANARY);
const fullBody = bodyOf(batchFrameValid);
const { nodes, regions } = layout(batch);
const FIFTY_MB = 50 * 1024 * 1024;
const sqlAny = (name: string, value: Uint8Array | number[]) => encodeAny(`${TYPE_URL_PREFIX}${name}`, Uint8Array.from(value as number[]));

/** The valid batch message with its flatbuffer header edited. */
function patchedBatch(edit: (p: FlatbufferPatch, recordBatch: number) => void): Buffer {
  const data = decodeFlightData(batchFrameValid);
  const patch = new FlatbufferPatch(data.dataHeader);
  edit(patch, patch.child(patch.root(), 2));
  return encodeFlightData(patch.bytes, { length: data.dataBody.byteLength, buffers: [data.dataBody], offsets: [0] });
}

/** A schema message with its flatbuffer edited (the descriptor kept, so a DoPut can carry it). */
function patchedSchema(schema: Schema, edit: (p: FlatbufferPatch, schemaTable: number) => void): Buffer {
  const data = decodeFlightData(new FlightDataEncoder({ descriptor: FlightDescriptor.path(TARGET) }).encodeSchema(schema));
  const patch = new FlatbufferPatch(data.dataHeader);
  edit(patch, patch.child(patch.root(), 2));
  return encodeFlightData(patch.bytes, undefined, undefined, FlightDescriptor.path(TARGET));
}

/** Structs nested `depth` deep, each with the next level and a leaf: two children per level. */
function nestedSchema(depth: number): Schema {
  let type: Struct | Int32 = new Int32();
  for (let level = depth - 1; level >= 0; level--) {
    type = new Struct([new Field(`s${level + 1}`, type), new Field(`leaf${level}`, new Int32())]);
  }
  return new Schema([new Field('s0', type)]);
}

/** Each level's second child made to point at its first: 2^depth fields from a few kilobytes. */
function schemaBomb(depth: number): Buffer {
  return patchedSchema(nestedSchema(depth), (p, schema) => {
    let field = p.element(schema, 1, 0);
    for (let level = 0; level < depth; level++) {
      const next = p.element(field, 5, 0);
      p.pointElement(field, 5, 1, next);
      field = next;
    }
  });
}

/** A schema whose innermost struct lists the outermost field as its child: a cycle. */
function schemaCycle(): Buffer {
  return patchedSchema(nestedSchema(3), (p, schema) => {
    const outer = p.element(schema, 1, 0);
    let innermost = outer;
    for (let level = 0; level < 2; level++) innermost = p.element(innermost, 5, 0);
    p.pointElement(innermost, 5, 0, outer);
  });
}

/**
 * The canary's own shape (id, score, name) with the name bytes of row 3 replaced: `bytes` is
 * spliced into a valid column, so the rest of the stream is exactly what an append sends.
 */
function canaryRowsWithName(bytes: number[]): Buffer[] {
  const rows = sampleTable(8, 900_000);
  const names = Array.from({ length: 8 }, (_, i) => (i === 3 ? Uint8Array.from(bytes) : utf8.encode(`name-${i}`)));
  const offsets = new Int32Array(9);
  names.forEach((name, i) => (offsets[i + 1] = offsets[i]! + name.length));
  const values = new Uint8Array(offsets[8]!);
  names.forEach((name, i) => values.set(name, offsets[i]!));
  const name = makeVector(makeData({ type: new Utf8(), length: 8, nullCount: 0, valueOffsets: offsets, data: values }));
  return validFrames(new Table({ id: rows.getChild('id')!, score: rows.getChild('score')!, name }), canaryPath);
}

/** A table with a TIMESTAMP_MS column, made before the cases run (and left for the final check). */
const TIMESTAMPS_MS = 'timestamps_ms';

/** One Timestamp(SECOND) value that overflows when DuckDB makes it milliseconds. */
function secondsOverflowingMilliseconds(): Buffer[] {
  const t = makeVector(makeData({ type: new TimestampSecond(), length: 1, nullCount: 0, data: BigInt64Array.of(2n ** 62n) }));
  return validFrames(new Table({ t }), FlightDescriptor.path(TIMESTAMPS_MS));
}

/**
 * 64 rows of Utf8View with nulls, their header edited: arrow-js counts a view column's nulls
 * from its validity bitmap, however short the bitmap and however long the column claims to be.
 */
function views(edit: (layout: { nodes: FieldNode[]; regions: BufferRegion[] }) => BatchEdit): Buffer[] {
  const table = new Table({
    v: vectorFromArray(
      Array.from({ length: 64 }, (_, i) => (i % 5 === 0 ? null : `v${i}`)),
      new Utf8View(),
    ),
  });
  const [schema] = validFrames(table, FlightDescriptor.path('fuzz_views')) as [Buffer];
  const viewBatch = table.batches[0]!;
  return [schema, batchFrame(viewBatch, edit(layout(viewBatch)))];
}

/** An echo exchange of a dictionary column: schema, dictionary batch, record batch. */
function dictionaryFrames(indices: number[]): Buffer[] {
  const column = makeVector(dictionaryColumn(['duck', 'goose'], indices, 0));
  return validFrames(new Table({ d: column }), FlightDescriptor.command('echo'));
}

/** A schema message of another shape, for a second schema midway. */
const otherSchema = new FlightDataEncoder().encodeSchema(new Schema([new Field('x', new Int32())]));

const CASES: Case[] = [
  // ---- bytes that are not the message they claim to be, on every RPC
  {
    name: 'Handshake: a HandshakeRequest that is not protobuf',
    method: 'Handshake',
    call: bidi(Buffer.from([0x12, 0x7f, 0x00])),
    code: INVALID_ARGUMENT,
    message: /malformed HandshakeRequest/,
  },
  {
    name: 'ListFlights: Criteria with a truncated varint',
    method: 'ListFlights',
    call: server(Buffer.from([0x0a, 0xff])),
    code: INVALID_ARGUMENT,
    message: /malformed Criteria: truncated varint/,
  },
  {
    name: 'GetFlightInfo: a FlightDescriptor of wire type 7',
    method: 'GetFlightInfo',
    call: unary(Buffer.from([0x0f, 0x01])),
    code: INVALID_ARGUMENT,
    message: /malformed FlightDescriptor/,
  },
  {
    name: 'PollFlightInfo: field number 0',
    method: 'PollFlightInfo',
    call: unary(Buffer.from([0x00, 0x01])),
    code: INVALID_ARGUMENT,
    message: /malformed FlightDescriptor: field number 0/,
  },
  {
    name: 'GetSchema: a cmd declaring 2^40 bytes',
    method: 'GetSchema',
    call: unary(Buffer.concat([Buffer.from([0x08, 0x02]), field(2, [0x41], 2 ** 40)])),
    code: INVALID_ARGUMENT,
    message: /declares 1099511627776 bytes but only 1 remain/,
  },
  {
    name: 'DoGet: a Ticket declaring more bytes than it has',
    method: 'DoGet',
    call: server(field(1, [0x53, 0x45], 9)),
    code: INVALID_ARGUMENT,
    message: /malformed Ticket: field declares 9 bytes but only 2 remain/,
  },
  {
    name: 'DoPut: a FlightData that is not protobuf',
    method: 'DoPut',
    call: bidi(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])),
    code: INVALID_ARGUMENT,
    message: /malformed FlightData: varint longer than ten bytes/,
  },
  {
    name: 'DoExchange: a FlightData that is not protobuf',
    method: 'DoExchange',
    call: bidi(Buffer.from([0x0a, 0x05, 0x01])),
    code: INVALID_ARGUMENT,
    message: /malformed FlightData/,
  },
  {
    name: 'DoAction: an Action whose type is not UTF-8',
    method: 'DoAction',
    call: server(field(1, NOT_UTF8)),
    code: INVALID_ARGUMENT,
    message: /malformed Action: string field is not valid UTF-8/,
  },
  {
    name: 'ListActions: an Empty with a truncated field',
    method: 'ListActions',
    call: server(Buffer.from([0x0a, 0x05])),
    code: INVALID_ARGUMENT,
    message: /malformed Empty/,
  },
  { name: 'a method FlightService does not have', method: 'DoNothing', call: unary(Buffer.alloc(0)), code: UNIMPLEMENTED, message: /./ },

  // ---- FlightData: truncated, lying headers, short bodies, huge lengths
  {
    name: 'DoPut: a valid batch message cut in half',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrameValid.subarray(0, batchFrameValid.byteLength >> 1)),
    code: INVALID_ARGUMENT,
    message: /malformed FlightData: field declares \d+ bytes but only \d+ remain/,
  },
  {
    name: 'DoPut: a schema message cut after its header tag',
    method: 'DoPut',
    call: bidi(schemaFrame.subarray(0, 40)),
    code: INVALID_ARGUMENT,
    message: /malformed FlightData/,
  },
  {
    name: 'DoPut: a body shorter than the header declares',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { body: fullBody.subarray(0, fullBody.byteLength - 64) })),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: body is \d+ bytes but the header declares \d+/,
  },
  {
    name: 'DoPut: a header declaring a 2^50-byte body',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { bodyLength: 2 ** 50 })),
    code: INVALID_ARGUMENT,
    message: /header declares 1125899906842624/,
  },
  {
    name: 'DoPut: a buffer region past the end of the body',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      batchFrame(batch, { regions: regions.map((r, i) => (i === 1 ? new BufferRegion(r.offset + 1_000_000, r.length) : r)) }),
    ),
    code: INVALID_ARGUMENT,
    message: /lies outside the \d+-byte body/,
  },
  {
    name: 'DoPut: a buffer region of 2^40 bytes',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { regions: regions.map((r, i) => (i === 1 ? new BufferRegion(0, 2 ** 40) : r)) })),
    code: INVALID_ARGUMENT,
    message: /of 1099511627776 bytes lies outside/,
  },
  {
    name: 'DoPut: a negative buffer offset',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { regions: regions.map((r, i) => (i === 1 ? new BufferRegion(-64, r.length) : r)) })),
    code: INVALID_ARGUMENT,
    message: /a buffer at offset -64/,
  },
  {
    name: 'DoPut: a batch declaring a billion rows in 64 rows of buffers',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { length: 1e9, nodes: nodes.map((n) => new FieldNode(1e9, n.nullCount)) })),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: column of type .*(holds|too short|offsets)/,
  },
  // arrow-js destructured the missing node: "Cannot destructure property 'length' of undefined".
  {
    name: 'DoPut: field nodes for fewer columns than the schema has',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { nodes: nodes.slice(0, 1) })),
    code: INVALID_ARGUMENT,
    message:
      /FlightData message 1: record batch does not match the schema \(the header has 1 field nodes, fewer than the schema's columns need\)/,
  },
  // The cases below were found by test/fuzz/fuzz.test.ts with seeds 7, 99, 1, 2 and 3; each was INTERNAL, or INVALID_ARGUMENT with a message of arrow-js's internals.
  // arrow-js resized the longer columns to the batch's length and overran their validity bitmaps (INTERNAL "offset is out of bounds").
  {
    name: 'DoPut: a batch declaring fewer rows than its columns hold',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrame(batch, { length: 32 })),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: column of type Int64: declares 64 rows where the batch has 32/,
  },
  // A null count arrow-js does not trust is recounted from the bitmap, past its end (INTERNAL "Offset is outside the bounds of the DataView", or a stack overflow for huge lengths).
  {
    name: 'DoPut: a view column whose field node declares 2^40 values',
    method: 'DoPut',
    call: bidi(...views(() => ({ nodes: [new FieldNode(2 ** 40, 13)] }))),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: field node 0 declares 1099511627776 values \(0 to 2147483647 allowed\)/,
  },
  {
    name: 'DoPut: a view column whose validity bitmap is shorter than its rows',
    method: 'DoPut',
    call: bidi(...views((l) => ({ regions: l.regions.map((r, i) => (i === 0 ? new BufferRegion(r.offset, 1) : r)) }))),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: column of type Utf8View: validity bitmap of 1 bytes is too short for 64 rows/,
  },
  // arrow-js views buffers as typed arrays: "start offset of BigInt64Array should be a multiple of 8".
  {
    name: 'DoPut: a buffer at an offset that is not a multiple of 8',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      batchFrame(batch, { regions: regions.map((r, i) => (i === 1 ? new BufferRegion(r.offset + 4, r.length - 4) : r)) }),
    ),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: buffer 1 starts at offset \d+ of the body, not a multiple of 8/,
  },
  // arrow-js: "9223372036854775807 is not safe to convert to a number."
  {
    name: 'DoPut: a record batch declaring 2^63-1 rows',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      patchedBatch((p, rb) => p.setI64(p.tableField(rb, 0), 2n ** 63n - 1n)),
    ),
    code: INVALID_ARGUMENT,
    message: /the row count of the record batch is 9223372036854775807, beyond the 2\^53 a number holds exactly/,
  },
  // arrow-js: "Cannot read properties of null (reading 'length')".
  {
    name: 'DoPut: a record batch message without its header table',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      patchedBatch((p) => p.absent(p.root(), 2)),
    ),
    code: INVALID_ARGUMENT,
    message: /not a valid Arrow IPC flatbuffer \(the message has a header type but no header\)/,
  },
  {
    name: 'DoPut: a message of metadata version V3',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      patchedBatch((p) => p.bytes.writeUInt16LE(2, p.tableField(p.root(), 0))),
    ),
    code: INVALID_ARGUMENT,
    message: /metadata version V3 \(before Arrow 0\.8\) is not supported/,
  },
  // arrow-js: "Cannot read properties of null (reading 'isSigned')".
  {
    name: 'DoPut: a schema whose Int field has no Int table',
    method: 'DoPut',
    call: bidi(patchedSchema(table.schema, (p, schema) => p.absent(p.element(schema, 1, 0), 3))),
    code: INVALID_ARGUMENT,
    message: /not a valid Arrow IPC flatbuffer \(a field of type Int has no Int table\)/,
  },
  // Read past the end, a string is whatever bytes follow; the verifier did not look at the time zone.
  {
    name: 'DoPut: a Timestamp whose time zone string lies past the end',
    method: 'DoPut',
    call: bidi(
      patchedSchema(new Schema([new Field('t', new TimestampMillisecond('UTC'))]), (p, schema) =>
        p.setU32(p.tableField(p.child(p.element(schema, 1, 0), 3), 1), 0x7fff0000),
      ),
    ),
    code: INVALID_ARGUMENT,
    message: /a string of a Timestamp type .* lies outside the \d+-byte flatbuffer/,
  },
  // arrow-js kept the entry with a null value.
  {
    name: 'DoPut: schema metadata whose entry has no value',
    method: 'DoPut',
    call: bidi(
      patchedSchema(new Schema(table.schema.fields, new Map([['origin', 'fuzzer']])), (p, schema) => p.absent(p.element(schema, 2, 0), 1)),
    ),
    code: INVALID_ARGUMENT,
    message: /an entry of the custom metadata of the schema has no value/,
  },
  // The bridge compared column names: INTERNAL "Cannot read properties of null (reading 'toLowerCase')".
  {
    name: 'DoPut: a schema whose fields have no names',
    method: 'DoPut',
    call: bidi(patchedSchema(table.schema, (p, schema) => p.absent(p.element(schema, 1, 0), 0))),
    code: INVALID_ARGUMENT,
    message: /column 1 of the schema has no name/,
  },
  // Schema.fbs lets a struct's field go unnamed (a plain Flight server takes it: test/flight/errors.test.ts);
  // DuckDB names STRUCT fields after them. The metadata keeps the child's vtable apart from its parent's.
  {
    name: 'DoPut: a struct whose field has no name',
    method: 'DoPut',
    call: bidi(
      patchedSchema(new Schema([new Field('s', new Struct([new Field('a', new Int32(), true, new Map([['k', 'v']]))]))]), (p, schema) =>
        p.absent(p.element(p.element(schema, 1, 0), 5, 0), 0),
      ),
    ),
    code: INVALID_ARGUMENT,
    message: /column "s": struct field 1 has no name/,
  },
  // arrow-js made a list of `undefined`: INTERNAL "Cannot read properties of undefined (reading 'name')".
  {
    name: 'DoPut: a list field without its child field',
    method: 'DoPut',
    call: bidi(
      patchedSchema(new Schema([new Field('l', new List(new Field('item', new Int32())))]), (p, schema) =>
        p.setU32(p.vector(p.element(schema, 1, 0), 5).lengthAt, 0),
      ),
    ),
    code: INVALID_ARGUMENT,
    message: /column "l" has an invalid type \(.*needs 1 child field\(s\), has 0\)/,
  },
  {
    name: 'DoExchange: a record batch whose dictionary never came',
    method: 'DoExchange',
    call: bidi(...dictionaryFrames([0, 1, 1]).filter((_, i) => i !== 1)),
    code: INVALID_ARGUMENT,
    message: /FlightData message 1: a record batch before the dictionary batch of dictionary id 0/,
  },
  {
    name: 'DoExchange: a dictionary index past the dictionary',
    method: 'DoExchange',
    call: bidi(...dictionaryFrames([0, 7, 1])),
    code: INVALID_ARGUMENT,
    message: /FlightData message 2: column of type Dictionary<Int32, Utf8>: row 1 has dictionary index 7, outside the 2-entry dictionary 0/,
  },
  // DuckDB's appender reports a failed cast without "Conversion Error:": it was INTERNAL. The
  // native path (one INSERT over the whole stream) cannot name the rows.
  {
    name: 'DoPut: seconds that overflow a TIMESTAMP_MS column',
    method: 'DoPut',
    call: bidi(...secondsOverflowingMilliseconds()),
    code: INVALID_ARGUMENT,
    message:
      /(rows 0\.\.0 of batch 0|the upload's rows) could not be appended to table "timestamps_ms" while DuckDB converted "t": TIMESTAMP_S -> TIMESTAMP_MS: Could not convert/,
  },
  {
    name: 'DoPut: a header whose field nodes claim 2^31 entries',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      patchedBatch((p, rb) => p.setU32(p.vector(rb, 1).lengthAt, 0x7fffffff)),
    ),
    code: INVALID_ARGUMENT,
    message: /not a valid Arrow IPC flatbuffer \(the field nodes of 2147483647 elements .* lies outside/,
  },
  {
    name: 'DoPut: a header whose buffers claim 2^32-1 entries',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      patchedBatch((p, rb) => p.setU32(p.vector(rb, 2).lengthAt, 0xffffffff)),
    ),
    code: INVALID_ARGUMENT,
    message: /the buffers of 4294967295 elements/,
  },
  {
    name: 'DoPut: a schema whose fields vector claims 2^31 entries',
    method: 'DoPut',
    call: bidi(patchedSchema(table.schema, (p, schema) => p.setU32(p.vector(schema, 1).lengthAt, 0x7fffffff))),
    code: INVALID_ARGUMENT,
    message: /the schema fields of 2147483647 elements/,
  },
  {
    name: 'DoPut: a schema whose nested fields share children (2^40 fields from a few kilobytes)',
    method: 'DoPut',
    call: bidi(schemaBomb(40)),
    code: INVALID_ARGUMENT,
    message: /not a valid Arrow IPC flatbuffer \(more than \d+ tables/,
  },
  // Flatbuffer offsets are unsigned and point forward, so a cycle needs an offset that wraps around.
  {
    name: 'DoPut: a schema whose innermost field points back at the outermost (a cycle)',
    method: 'DoPut',
    call: bidi(schemaCycle()),
    code: INVALID_ARGUMENT,
    message: /not a valid Arrow IPC flatbuffer \(the children of a field\[0\] at byte \d+ .* lies outside/,
  },
  // DuckDB trusts a VARCHAR's bytes; invalid UTF-8 stored crashed the server later (found by test/fuzz/fuzz.test.ts).
  {
    name: 'DoPut: an append to the canary with invalid UTF-8 in one name',
    method: 'DoPut',
    call: bidi(...canaryRowsWithName([0x6e, 0xc3, 0x00, 0x00])),
    code: INVALID_ARGUMENT,
    message: /row 3 of a text column is not valid UTF-8/,
  },
  {
    name: 'DoPut: an append to the canary whose name starts with a lone continuation byte (valid only joined to the row before)',
    method: 'DoPut',
    call: bidi(...canaryRowsWithName([0xa9, 0x61])),
    code: INVALID_ARGUMENT,
    message: /not valid UTF-8/,
  },
  {
    name: 'DoPut: a schema with a 1-bit integer column',
    method: 'DoPut',
    call: bidi(patchedSchema(table.schema, (p, schema) => p.setU32(p.tableField(p.child(p.element(schema, 1, 0), 3), 0), 1))),
    code: INVALID_ARGUMENT,
    message: /column "id" has an invalid type \(integer of 1 bits\)/,
  },
  {
    name: 'DoPut: a data_header of random bytes',
    method: 'DoPut',
    call: bidi(
      frame({
        descriptor: pathDescriptor(utf8.encode(TARGET)),
        header: Uint8Array.from([0x10, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 5, 6, 7, 8]),
      }),
    ),
    code: INVALID_ARGUMENT,
    message: /data_header is not a valid Arrow IPC flatbuffer/,
  },
  {
    name: 'DoPut: a flatbuffer root offset past its end',
    method: 'DoPut',
    call: bidi(frame({ descriptor: pathDescriptor(utf8.encode(TARGET)), header: Uint8Array.from([0xf0, 0xff, 0, 0, 0, 0, 0, 0]) })),
    code: INVALID_ARGUMENT,
    message: /data_header is not a valid Arrow IPC flatbuffer/,
  },
  {
    name: 'DoPut: a body without a header',
    method: 'DoPut',
    call: bidi(frame({ descriptor: pathDescriptor(utf8.encode(TARGET)), body: new Uint8Array(16) })),
    code: INVALID_ARGUMENT,
    message: /has a body of 16 bytes but no header/,
  },
  {
    name: 'DoPut: a body field declaring 2^45 bytes',
    method: 'DoPut',
    call: bidi(schemaFrame, Buffer.concat([Buffer.from(varint((1000 << 3) | 2)), Buffer.from(varint(2 ** 45)), Buffer.alloc(8)])),
    code: INVALID_ARGUMENT,
    message: /declares 35184372088832 bytes but only 8 remain/,
  },
  {
    name: 'DoPut: a compressed body',
    method: 'DoPut',
    call: bidi(
      schemaFrame,
      encodeFlightData(
        Message.encode(
          Message.from(new RecordBatchHeader(64, nodes, regions, new BodyCompression(CompressionType.LZ4_FRAME)), fullBody.byteLength),
        ),
        { length: fullBody.byteLength, buffers: [fullBody], offsets: [0] },
      ),
    ),
    code: INVALID_ARGUMENT,
    message: /compressed IPC bodies are not supported/,
  },
  {
    name: 'DoPut: a record batch before any schema',
    method: 'DoPut',
    call: bidi(Buffer.concat([field(1, pathDescriptor(utf8.encode(TARGET))), batchFrameValid])),
    code: INVALID_ARGUMENT,
    message: /FlightData message 0: a record batch before any schema/,
  },
  {
    name: 'DoPut: a second schema in the middle of the stream',
    method: 'DoPut',
    call: bidi(schemaFrame, batchFrameValid, otherSchema, batchFrameValid),
    code: INVALID_ARGUMENT,
    message: /FlightData message 2: a second schema in one stream/,
  },
  {
    name: 'DoPut: no descriptor on the first message',
    method: 'DoPut',
    call: bidi(...validFrames(table, null)),
    code: INVALID_ARGUMENT,
    message: /the first message must carry a FlightDescriptor/,
  },
  { name: 'DoPut: no message at all', method: 'DoPut', call: bidi(), code: INVALID_ARGUMENT, message: /DoPut: the client sent no message/ },
  {
    name: 'DoPut: a table name that is not UTF-8',
    method: 'DoPut',
    call: bidi(...validFrames(table, FlightDescriptor.command(Uint8Array.from(NOT_UTF8)))),
    code: INVALID_ARGUMENT,
    message: /not valid UTF-8/,
  },
  {
    name: 'DoPut: a descriptor path of four segments',
    method: 'DoPut',
    call: bidi(...validFrames(table, FlightDescriptor.path('a', 'b', 'c', 'd'))),
    code: INVALID_ARGUMENT,
    message: /descriptor path must be \[table\]/,
  },
  {
    name: 'DoPut: an unknown put mode',
    method: 'DoPut',
    call: bidi(...validFrames(table)),
    headers: { 'x-duck-flight-put-mode': 'truncate' },
    code: INVALID_ARGUMENT,
    message: /x-duck-flight-put-mode is append/,
  },
  // Into the canary itself: refused whole, the canary untouched (checked after all cases).
  {
    name: 'DoPut into the canary: columns of the wrong types',
    method: 'DoPut',
    call: bidi(...validFrames(new Table({ id: makeVector(Int32Array.of(1)) }), canaryPath)),
    code: INVALID_ARGUMENT,
    message: /table "canary" has 3 columns/,
  },
  {
    name: 'DoPut into the canary: good batches, then a lying one',
    method: 'DoPut',
    call: bidi(...validFrames(sampleTable(64, 10_000), canaryPath), batchFrame(batch, { bodyLength: fullBody.byteLength * 2 })),
    code: INVALID_ARGUMENT,
    message: /body is \d+ bytes but the header declares/,
  },
  {
    name: 'DoPut into the canary: good batches, then a second schema',
    method: 'DoPut',
    call: bidi(...validFrames(sampleTable(64, 20_000), canaryPath), otherSchema),
    code: INVALID_ARGUMENT,
    message: /a second schema in one stream/,
  },
  {
    name: 'DoPut into the canary: good batches, then bytes that are not protobuf',
    method: 'DoPut',
    call: bidi(...validFrames(sampleTable(64, 30_000), canaryPath), Buffer.from([0x0a, 0xff, 0xff])),
    code: INVALID_ARGUMENT,
    message: /malformed FlightData/,
  },

  // ---- tickets
  {
    name: 'DoGet: a ticket that is not UTF-8',
    method: 'DoGet',
    call: server(ticket(NOT_UTF8)),
    code: INVALID_ARGUMENT,
    message: /the ticket is not valid UTF-8/,
  },
  {
    name: 'DoGet: an empty ticket',
    method: 'DoGet',
    call: server(Buffer.alloc(0)),
    code: INVALID_ARGUMENT,
    message: /the ticket is empty/,
  },
  {
    name: 'DoGet: a 50 MB ticket',
    method: 'DoGet',
    call: server(ticket(Buffer.alloc(FIFTY_MB, 0x20))),
    code: INVALID_ARGUMENT,
    message: /the ticket is 52428800 bytes; the limit for SQL text is 1048576/,
  },
  {
    name: 'DoGet: a Flight SQL ticket whose payload is garbage',
    method: 'DoGet',
    call: server(ticket(sqlAny('TicketStatementQuery', [0x0a, 0x7f]))),
    code: INVALID_ARGUMENT,
    message: /TicketStatementQuery|malformed/,
  },
  {
    name: 'DoGet: a Flight SQL ticket of an unknown type',
    method: 'DoGet',
    call: server(ticket(sqlAny('TicketNoSuchThing', []))),
    code: UNIMPLEMENTED,
    message: /TicketNoSuchThing/,
  },

  // ---- SQL errors
  {
    name: 'DoGet: SQL that does not parse',
    method: 'DoGet',
    call: server(ticket(utf8.encode('SELEKT 1'))),
    code: INVALID_ARGUMENT,
    message: /Parser Error/,
  },
  {
    name: 'DoGet: a table that does not exist',
    method: 'DoGet',
    call: server(ticket(utf8.encode('SELECT * FROM no_such_table'))),
    code: NOT_FOUND,
    message: /Catalog Error: Table with name no_such_table does not exist/,
  },
  {
    name: 'DoGet: a query that fails after rows have streamed',
    method: 'DoGet',
    call: server(ticket(utf8.encode("SELECT CASE WHEN i = 300000 THEN error('boom at 300000') ELSE i END AS v FROM range(400000) t(i)"))),
    code: INVALID_ARGUMENT,
    message: /boom at 300000|failed after \d+ rows/,
  },
  {
    name: 'GetFlightInfo: SQL that does not bind',
    method: 'GetFlightInfo',
    call: unary(cmdDescriptor(utf8.encode('SELECT nope FROM range(3)'))),
    code: INVALID_ARGUMENT,
    message: /Binder Error/,
  },
  {
    name: 'GetSchema: a path to a missing table',
    method: 'GetSchema',
    call: unary(pathDescriptor(utf8.encode('missing_table'))),
    code: NOT_FOUND,
    message: /missing_table/,
  },
  {
    name: 'PollFlightInfo: a command that is not UTF-8',
    method: 'PollFlightInfo',
    call: unary(cmdDescriptor(NOT_UTF8)),
    code: INVALID_ARGUMENT,
    message: /not valid UTF-8/,
  },
  {
    name: 'GetFlightInfo: a 50 MB command',
    method: 'GetFlightInfo',
    call: unary(cmdDescriptor(Buffer.alloc(FIFTY_MB, 0x20))),
    code: INVALID_ARGUMENT,
    message: /52428800 bytes; the limit for SQL text is 1048576/,
  },
  {
    name: 'GetFlightInfo: a Flight SQL command whose payload is garbage',
    method: 'GetFlightInfo',
    call: unary(cmdDescriptor(sqlAny('CommandStatementQuery', [0x0a, 0x09, 0x53]))),
    code: INVALID_ARGUMENT,
    message: /CommandStatementQuery|malformed/,
  },
  {
    name: 'GetFlightInfo: a Flight SQL statement with a SQL error',
    method: 'GetFlightInfo',
    call: unary(cmdDescriptor(sqlAny('CommandStatementQuery', field(1, utf8.encode('SELECT FROM WHERE'))))),
    code: INVALID_ARGUMENT,
    message: /Parser Error/,
  },
  {
    name: 'ListFlights: criteria that are not UTF-8',
    method: 'ListFlights',
    call: server(field(1, NOT_UTF8)),
    code: INVALID_ARGUMENT,
    message: /ListFlights criteria is not valid UTF-8/,
  },

  // ---- unknown actions and exchangers; bad action bodies
  {
    name: 'DoAction: an unknown action',
    method: 'DoAction',
    call: server(action('format_disk')),
    code: INVALID_ARGUMENT,
    message: /unknown action "format_disk"; ListActions names: query, /,
  },
  {
    name: 'DoAction: query with SQL that does not parse',
    method: 'DoAction',
    call: server(action('query', utf8.encode('DROP TABEL canary'))),
    code: INVALID_ARGUMENT,
    message: /Parser Error/,
  },
  {
    name: 'DoAction: query with a body that is not UTF-8',
    method: 'DoAction',
    call: server(action('query', NOT_UTF8)),
    code: INVALID_ARGUMENT,
    message: /the query action body is not valid UTF-8/,
  },
  {
    name: 'DoAction: query with a 50 MB body',
    method: 'DoAction',
    call: server(action('query', Buffer.alloc(FIFTY_MB, 0x20))),
    code: INVALID_ARGUMENT,
    message: /52428800 bytes; the limit/,
  },
  {
    name: 'DoAction: load_parquet with a body that is not JSON',
    method: 'DoAction',
    call: server(action('load_parquet', utf8.encode('{"table":'))),
    code: INVALID_ARGUMENT,
    message: /load_parquet: the body must be JSON/,
  },
  {
    name: 'DoAction: register_exchanger with a name that is not an identifier',
    method: 'DoAction',
    call: server(action('register_exchanger', utf8.encode(JSON.stringify({ name: '../../etc', sql: 'SELECT * FROM input' })))),
    code: INVALID_ARGUMENT,
    message: /name/,
  },
  {
    name: 'DoAction: drop_table of a table that does not exist',
    method: 'DoAction',
    call: server(action('drop_table', utf8.encode('no_such_table'))),
    code: NOT_FOUND,
    message: /no_such_table/,
  },
  {
    name: 'DoAction: transfer from a server that is not there',
    method: 'DoAction',
    call: server(action('transfer', utf8.encode(JSON.stringify({ source: 'grpc://127.0.0.1:1', query: 'SELECT 1', table: 'never' })))),
    code: UNAVAILABLE,
    message: /transfer from grpc:\/\/127\.0\.0\.1:1/,
  },
  {
    name: 'DoAction: a Flight SQL action with a garbage body',
    method: 'DoAction',
    call: server(action('CreatePreparedStatement', [0x0a, 0x05, 0x01])),
    code: INVALID_ARGUMENT,
    message: /malformed|CreatePreparedStatement/,
  },
  {
    name: 'DoExchange: an unknown exchanger',
    method: 'DoExchange',
    call: bidi(...validFrames(table, FlightDescriptor.command('rm_rf'))),
    code: NOT_FOUND,
    message: /rm_rf.*my_streaming_exchanger|my_streaming_exchanger.*rm_rf/,
  },
  {
    name: 'DoExchange: no message at all',
    method: 'DoExchange',
    call: bidi(),
    code: INVALID_ARGUMENT,
    message: /DoExchange: the first message must carry a descriptor/,
  },
  {
    name: 'DoExchange: no descriptor',
    method: 'DoExchange',
    call: bidi(...validFrames(table, null)),
    code: INVALID_ARGUMENT,
    message: /DoExchange: the first message must carry a descriptor/,
  },
  {
    name: 'DoExchange: an exchanger name that is not UTF-8',
    method: 'DoExchange',
    call: bidi(...validFrames(table, FlightDescriptor.command(Uint8Array.from(NOT_UTF8)))),
    code: INVALID_ARGUMENT,
    message: /not valid UTF-8/,
  },
  {
    name: 'DoExchange: a record batch before the schema',
    method: 'DoExchange',
    call: bidi(Buffer.concat([field(1, cmdDescriptor(utf8.encode('echo'))), batchFrameValid])),
    code: INVALID_ARGUMENT,
    message: /a record batch before any schema/,
  },
  {
    name: 'DoExchange: a second schema midway through my_streaming_exchanger',
    method: 'DoExchange',
    call: bidi(...validFrames(table, FlightDescriptor.command('my_streaming_exchanger')), otherSchema),
    code: INVALID_ARGUMENT,
    message: /a second schema in one stream/,
  },
  {
    name: 'DoExchange: a registered SQL exchanger failing on the data',
    method: 'DoExchange',
    call: bidi(...validFrames(table, FlightDescriptor.command('fails_on_rows'))),
    code: INVALID_ARGUMENT,
    message: /SQL exchanger: .*(Conversion Error|Could not convert)/,
  },
];

describe('the hostile-input corpus against a duck-flight process', () => {
  let duck: ServerProcess;
  let client: DuckDBFlightClient;
  let raw: RawFlightClient;
  let canaryBefore: Awaited<ReturnType<typeof checksum>>;

  before(async () => {
    duck = await spawnServer({ logLevel: 'warn' });
    client = await duck.connect();
    raw = new RawFlightClient(parseLocation(duck.location).address);
    await client.uploadData(CANARY, sampleTable(5000));
    await client.executeAction('register_exchanger', { name: 'fails_on_rows', sql: "SELECT CAST(name || 'x' AS INTEGER) AS n FROM input" });
    await client.executeAction('query', `CREATE TABLE ${TIMESTAMPS_MS} (t TIMESTAMP_MS)`);
    canaryBefore = await checksum(client, CANARY);
  });
  after(async () => {
    raw?.close();
    client?.close();
    assert.equal(await duck?.stop(), 0, duck?.stderr());
  });

  for (const c of CASES) {
    test(c.name, async () => {
      const headers = new Metadata();
      for (const [k, v] of Object.entries(c.headers ?? {})) headers.set(k, v);
      let outcome: RawOutcome;
      if (c.call.kind === 'bidi') outcome = await raw.bidi(c.method, c.call.frames, headers);
      else if (c.call.kind === 'server') outcome = await raw.serverStream(c.method, c.call.request, headers);
      else outcome = await raw.unary(c.method, c.call.request, headers);
      assert.equal(outcome.code, c.code, `expected ${GrpcStatus[c.code]}, got ${GrpcStatus[outcome.code]}: ${outcome.details}`);
      assert.match(outcome.details, c.message);
      assert.equal(duck.child.exitCode, null, 'the server process is alive');
    });
  }

  test(`after all ${CASES.length} inputs: the server serves, the canary is unchanged, nothing was created`, async () => {
    assert.deepEqual(await checksum(client, CANARY), canaryBefore);
    assert.equal(canaryBefore.rows, 5000n);
    const tables = (await client.listTables()).map((t) => t.name).sort();
    assert.deepEqual(tables, [CANARY, TIMESTAMPS_MS].sort(), 'no upload left a table behind');
    assert.equal((await client.executeQuery(`SELECT count(*) AS n FROM ${TIMESTAMPS_MS}`)).getChild('n')!.get(0), 0n);
    const echoed = await client.exchange('echo', table).readAll();
    assert.equal(echoed.numRows, 64);
    assert.equal((await client.uploadData(TARGET, table)).rows, 64);
    await client.dropTable(TARGET);
    console.log(`# ${CASES.length} hostile inputs answered with the right status; the canary (${canaryBefore.rows} rows) is unchanged`);
  });
});
