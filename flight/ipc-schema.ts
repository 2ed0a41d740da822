// A schema as Flight carries it in FlightInfo and SchemaResult: one encapsulated IPC message
// (continuation marker, little-endian length, the flatbuffer, padding to 8 bytes).

import { Schema } from 'apache-arrow';
import { Message } from './arrow-internals.ts';
import { FlightError } from './error.ts';
import { verifyIpcMessage } from './ipc-verify.ts';
import { checkSchemaTypes } from './schema-check.ts';

const CONTINUATION = 0xffffffff;

export function schemaToIpcMessage(schema: Schema): Uint8Array {
  const flatbuffer = Message.encode(Message.from(schema));
  const padded = (flatbuffer.byteLength + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setUint32(0, CONTINUATION, true);
  view.setInt32(4, padded, true);
  out.set(flatbuffer, 8);
  return out;
}

/** Accepts the encapsulated form with or without the continuation marker (pre-0.15 writers). */
export function schemaFromIpcMessage(bytes: Uint8Array): Schema {
  if (bytes.byteLength < 4) throw FlightError.invalidArgument(`schema message of ${bytes.byteLength} bytes is too short`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  if (view.getUint32(0, true) === CONTINUATION) offset = 4;
  if (bytes.byteLength < offset + 4) throw FlightError.invalidArgument('schema message is truncated');
  const length = view.getInt32(offset, true);
  offset += 4;
  if (length <= 0 || length > bytes.byteLength - offset) {
    throw FlightError.invalidArgument(`schema message declares ${length} bytes of metadata but carries ${bytes.byteLength - offset}`);
  }
  return schemaFromFlatbuffer(bytes.subarray(offset, offset + length));
}

/** The Schema inside a bare flatbuffer Message (as FlightData.data_header carries it). */
export function schemaFromFlatbuffer(flatbuffer: Uint8Array): Schema {
  let message: Message;
  let header: unknown;
  try {
    const aligned = alignedFlatbuffer(flatbuffer);
    verifyIpcMessage(aligned);
    message = Message.decode(aligned);
    header = message.isSchema() ? message.header() : null;
  } catch (cause) {
    throw FlightError.invalidArgument(`schema message is not a valid Arrow IPC flatbuffer: ${describe(cause)}`, cause);
  }
  if (!(header instanceof Schema)) {
    throw FlightError.invalidArgument(`expected an Arrow Schema message, got message type ${message.headerType}`);
  }
  checkSchemaTypes(header, 'schema');
  return header;
}

/**
 * The flatbuffer itself, at an 8-byte aligned address: arrow-js reads some vectors of it (a
 * union's type ids) as typed arrays over the same memory, which throw on a misaligned view, and
 * a header received inside a protobuf frame starts wherever the frame puts it. Headers are
 * small, so the copy is cheap.
 */
export function alignedFlatbuffer(bytes: Uint8Array): Uint8Array {
  if (bytes.byteOffset % 8 === 0) return bytes;
  const copy = new Uint8Array(bytes.byteLength); // not bytes.slice(): on a Buffer that is a view
  copy.set(bytes);
  return copy;
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
