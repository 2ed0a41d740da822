// FlightData messages by hand: a table through FlightDataEncoder and back through
// FlightDataDecoder with no gRPC in between, and conversions between FlightData and the Arrow IPC
// stream format so that arrow-js's own IPC reader and writer can check our encoder and decoder.

import { RecordBatch, Schema, Table, tableToIPC } from 'apache-arrow';
import { Message } from '../../flight/arrow-internals.ts';
import {
  FlightDataDecoder,
  FlightDataEncoder,
  decodeFlightData,
  type FlightData,
  type FlightDataEncoderOptions,
} from '../../flight/index.ts';

/** The FlightData messages of a table: the schema, then every batch (sliced to the limit). */
export function encodeTable(table: Table, options: FlightDataEncoderOptions = {}): Buffer[] {
  const encoder = new FlightDataEncoder(options);
  return [encoder.encodeSchema(table.schema), ...table.batches.flatMap((batch) => encoder.encodeBatch(batch))];
}

/** Decodes encoded FlightData messages as a receiver would; the table keeps the schema even with no batches. */
export function decodeMessages(messages: readonly (Uint8Array | FlightData)[]): { table: Table; decoder: FlightDataDecoder } {
  const decoder = new FlightDataDecoder();
  const batches: RecordBatch[] = [];
  for (const message of messages) {
    const decoded = decoder.decode(message instanceof Uint8Array ? decodeFlightData(message) : message);
    if (decoded.kind === 'batch') batches.push(decoded.batch);
  }
  const table = batches.length > 0 ? new Table(batches) : new Table(decoder.schema ?? new Schema([]));
  return { table, decoder };
}

const CONTINUATION = 0xffffffff;

/** FlightData messages laid out as an Arrow IPC stream (what arrow-js's reader reads). */
export function flightDataToIpcStream(messages: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const raw of messages) {
    const data = decodeFlightData(raw);
    if (data.dataHeader.byteLength === 0) continue; // metadata-only: no IPC message
    const padded = (data.dataHeader.byteLength + 7) & ~7;
    const prefix = new Uint8Array(8 + padded);
    const view = new DataView(prefix.buffer);
    view.setUint32(0, CONTINUATION, true);
    view.setInt32(4, padded, true);
    prefix.set(data.dataHeader, 8);
    const bodyLength = Message.decode(new Uint8Array(data.dataHeader)).bodyLength;
    parts.push(prefix, data.dataBody.subarray(0, bodyLength));
  }
  parts.push(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])); // end of stream
  return Buffer.concat(parts);
}

/** An Arrow IPC stream cut into FlightData (header + body per message), as another Flight peer would send it. */
export function ipcStreamToFlightData(stream: Uint8Array): FlightData[] {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out: FlightData[] = [];
  let at = 0;
  while (at + 8 <= stream.byteLength) {
    if (view.getUint32(at, true) !== CONTINUATION) throw new Error(`IPC stream: no continuation marker at byte ${at}`);
    const length = view.getInt32(at + 4, true);
    at += 8;
    if (length === 0) break;
    const header = stream.subarray(at, at + length);
    at += length;
    const bodyLength = Message.decode(new Uint8Array(header)).bodyLength;
    out.push({ dataHeader: header, dataBody: stream.subarray(at, at + bodyLength) });
    at += bodyLength;
  }
  return out;
}

/** arrow-js's own IPC stream of a table, as FlightData. */
export function arrowJsFlightData(table: Table): FlightData[] {
  return ipcStreamToFlightData(tableToIPC(table, 'stream'));
}
