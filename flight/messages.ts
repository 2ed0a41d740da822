// The Flight protocol's messages as this project's code sees them, and their codecs: thin
// adapters over proto/flight_pb.ts, which protoc-gen-es generates from proto/flight.proto
// (`npm run gen:proto`). FlightData lives in flight-data.ts, framed by hand: it is the hot path.

import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import type { Schema } from 'apache-arrow';
import { FlightError } from './error.ts';
import * as pb from './proto/flight_pb.ts';
import { schemaFromIpcMessage, schemaToIpcMessage } from './ipc-schema.ts';
import { checkMessage } from './wire-format.ts';

const utf8 = new TextEncoder();

/** What a client asks for: a path (a named dataset) or an opaque command (a query). */
export type FlightDescriptor =
  { readonly type: 'path'; readonly path: readonly string[] } | { readonly type: 'cmd'; readonly cmd: Uint8Array };

export const FlightDescriptor = {
  path(...path: string[]): FlightDescriptor {
    return { type: 'path', path };
  },
  command(cmd: string | Uint8Array): FlightDescriptor {
    return { type: 'cmd', cmd: typeof cmd === 'string' ? utf8.encode(cmd) : cmd };
  },
  /** A readable form for logs and error messages. */
  describe(descriptor: FlightDescriptor): string {
    return descriptor.type === 'path'
      ? `path [${descriptor.path.map((p) => JSON.stringify(p)).join(', ')}]`
      : `command ${JSON.stringify(Buffer.from(descriptor.cmd).toString('utf8').slice(0, 200))}`;
  },
};

export interface FlightEndpoint {
  /** Opaque bytes the client passes to DoGet. */
  ticket: Uint8Array;
  /** URIs where the ticket can be redeemed; empty means "the server you asked". */
  locations: string[];
  expirationTime?: Date | undefined;
  appMetadata?: Uint8Array | undefined;
}

export interface FlightInfo {
  schema: Schema | null;
  descriptor?: FlightDescriptor | undefined;
  endpoints: FlightEndpoint[];
  /** -1 when unknown. */
  totalRecords: number;
  /** -1 when unknown. */
  totalBytes: number;
  ordered?: boolean | undefined;
  appMetadata?: Uint8Array | undefined;
}

export interface PollInfo {
  info?: FlightInfo | undefined;
  /** Present while the query runs: the descriptor to poll with next. */
  descriptor?: FlightDescriptor | undefined;
  progress?: number | undefined;
  expirationTime?: Date | undefined;
}

export interface Action {
  type: string;
  body: Uint8Array;
}

export interface ActionType {
  type: string;
  description: string;
}

export interface HandshakeMessage {
  protocolVersion: number;
  payload: Uint8Array;
}

/** Each message type's wire codec. `decode` views the input without copying where it can. */
export interface Codec<T> {
  encode(value: T): Buffer;
  decode(buffer: Uint8Array): T;
}

const EMPTY = new Uint8Array(0);

/** `message` in protobuf's binary form, as a Buffer over the same memory. */
export function encodeMessage<Desc extends DescMessage>(schema: Desc, message: MessageInitShape<Desc>): Buffer {
  const bytes = toBinary(schema, create(schema, message));
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A `schema` message from `bytes`; bytes fields are views into `bytes`. Bytes that are not one
 * (truncated, a wrong wire type, a string that is not UTF-8) are INVALID_ARGUMENT naming the
 * message and what is wrong; unknown fields are skipped and not kept.
 */
export function decodeMessage<Desc extends DescMessage>(schema: Desc, bytes: Uint8Array, what = schema.name): MessageShape<Desc> {
  checkMessage(schema, bytes, what);
  try {
    return fromBinary(schema, bytes, { readUnknownFields: false });
  } catch (error) {
    throw FlightError.invalidArgument(`malformed ${what}: ${(error as Error).message}`, error);
  }
}

function codec<Desc extends DescMessage, T>(
  schema: Desc,
  to: (value: T) => MessageInitShape<Desc>,
  from: (message: MessageShape<Desc>) => T,
): Codec<T> {
  return {
    encode: (value) => encodeMessage(schema, to(value)),
    decode: (bytes) => from(decodeMessage(schema, bytes)),
  };
}

const int64 = (n: number): bigint => BigInt(Math.trunc(n));
const timestamp = (date: Date | undefined): Timestamp | undefined => (date === undefined ? undefined : timestampFromDate(date));

function toDescriptor(d: FlightDescriptor): MessageInitShape<typeof pb.FlightDescriptorSchema> {
  return d.type === 'path'
    ? { type: pb.FlightDescriptor_DescriptorType.PATH, path: [...d.path] }
    : { type: pb.FlightDescriptor_DescriptorType.CMD, cmd: d.cmd };
}

function fromDescriptor(d: pb.FlightDescriptor): FlightDescriptor {
  if (d.type === pb.FlightDescriptor_DescriptorType.PATH) return { type: 'path', path: d.path };
  if (d.type === pb.FlightDescriptor_DescriptorType.CMD) return { type: 'cmd', cmd: d.cmd };
  throw FlightError.invalidArgument(`FlightDescriptor has type ${d.type}: expected PATH (1) or CMD (2)`);
}

function toEndpoint(e: FlightEndpoint): MessageInitShape<typeof pb.FlightEndpointSchema> {
  return {
    ticket: { ticket: e.ticket },
    location: e.locations.map((uri) => ({ uri })),
    expirationTime: timestamp(e.expirationTime),
    appMetadata: e.appMetadata,
  };
}

function fromEndpoint(e: pb.FlightEndpoint): FlightEndpoint {
  const endpoint: FlightEndpoint = { ticket: e.ticket?.ticket ?? EMPTY, locations: e.location.map((l) => l.uri) };
  if (e.expirationTime) endpoint.expirationTime = timestampDate(e.expirationTime);
  if (e.appMetadata.byteLength > 0) endpoint.appMetadata = e.appMetadata;
  return endpoint;
}

function toFlightInfo(info: FlightInfo): MessageInitShape<typeof pb.FlightInfoSchema> {
  return {
    schema: info.schema ? schemaToIpcMessage(info.schema) : EMPTY,
    flightDescriptor: info.descriptor && toDescriptor(info.descriptor),
    endpoint: info.endpoints.map(toEndpoint),
    totalRecords: int64(info.totalRecords),
    totalBytes: int64(info.totalBytes),
    ordered: info.ordered ?? false,
    appMetadata: info.appMetadata,
  };
}

function fromFlightInfo(m: pb.FlightInfo): FlightInfo {
  const info: FlightInfo = {
    schema: m.schema.byteLength === 0 ? null : schemaFromIpcMessage(m.schema),
    endpoints: m.endpoint.map(fromEndpoint),
    totalRecords: Number(m.totalRecords),
    totalBytes: Number(m.totalBytes),
  };
  if (m.flightDescriptor) info.descriptor = fromDescriptor(m.flightDescriptor);
  if (m.ordered) info.ordered = true;
  if (m.appMetadata.byteLength > 0) info.appMetadata = m.appMetadata;
  return info;
}

export const FlightDescriptorCodec = codec(pb.FlightDescriptorSchema, toDescriptor, fromDescriptor);

export const TicketCodec = codec(
  pb.TicketSchema,
  (ticket: Uint8Array) => ({ ticket }),
  (t) => t.ticket,
);

export const FlightInfoCodec = codec(pb.FlightInfoSchema, toFlightInfo, fromFlightInfo);

export const FlightEndpointCodec = codec(pb.FlightEndpointSchema, toEndpoint, fromEndpoint);

export const PollInfoCodec = codec(
  pb.PollInfoSchema,
  (p: PollInfo) => ({
    info: p.info && toFlightInfo(p.info),
    flightDescriptor: p.descriptor && toDescriptor(p.descriptor),
    progress: p.progress,
    expirationTime: timestamp(p.expirationTime),
  }),
  (m) => {
    const poll: PollInfo = {};
    if (m.info) poll.info = fromFlightInfo(m.info);
    if (m.flightDescriptor) poll.descriptor = fromDescriptor(m.flightDescriptor);
    if (m.progress !== undefined) poll.progress = m.progress;
    if (m.expirationTime) poll.expirationTime = timestampDate(m.expirationTime);
    return poll;
  },
);

/** SchemaResult: the schema as an encapsulated IPC message. */
export const SchemaResultCodec = codec(
  pb.SchemaResultSchema,
  (schema: Schema) => ({ schema: schemaToIpcMessage(schema) }),
  (m) => {
    if (m.schema.byteLength === 0) throw FlightError.invalidArgument('SchemaResult carries no schema');
    return schemaFromIpcMessage(m.schema);
  },
);

export const ActionCodec = codec(
  pb.ActionSchema,
  (a: Action) => a,
  (m): Action => ({ type: m.type, body: m.body }),
);

export const ActionTypeCodec = codec(
  pb.ActionTypeSchema,
  (a: ActionType) => a,
  (m): ActionType => ({ type: m.type, description: m.description }),
);

export const ResultCodec = codec(
  pb.ResultSchema,
  (body: Uint8Array) => ({ body }),
  (m) => m.body,
);
export const PutResultCodec = codec(
  pb.PutResultSchema,
  (appMetadata: Uint8Array) => ({ appMetadata }),
  (m) => m.appMetadata,
);
export const CriteriaCodec = codec(
  pb.CriteriaSchema,
  (expression: Uint8Array) => ({ expression }),
  (m) => m.expression,
);

/**
 * Empty decodes to an object: grpc-js takes `undefined` to mean that no request arrived. It has
 * no fields, but bytes that are not protobuf at all are still refused.
 */
export const EmptyCodec = codec(
  pb.EmptySchema,
  (_: Record<string, never>) => ({}),
  (): Record<string, never> => ({}),
);

export const HandshakeCodec = codec(
  pb.HandshakeRequestSchema,
  (h: HandshakeMessage) => ({ protocolVersion: BigInt.asUintN(64, int64(h.protocolVersion)), payload: h.payload }),
  (m): HandshakeMessage => ({ protocolVersion: Number(BigInt.asIntN(64, m.protocolVersion)), payload: m.payload }),
);

/** BasicAuth: the payload of the legacy Handshake-based basic auth. */
export const BasicAuthCodec = codec(
  pb.BasicAuthSchema,
  (a: { username: string; password: string }) => a,
  (m) => ({ username: m.username, password: m.password }),
);

/** CancelFlightInfoRequest: the body of the CancelFlightInfo action. */
export const CancelFlightInfoRequestCodec = codec(
  pb.CancelFlightInfoRequestSchema,
  (info: FlightInfo) => ({ info: toFlightInfo(info) }),
  (m) => {
    if (!m.info) throw FlightError.invalidArgument('CancelFlightInfoRequest carries no FlightInfo');
    return fromFlightInfo(m.info);
  },
);

export type CancelStatus = 'unspecified' | 'cancelled' | 'cancelling' | 'not-cancellable';
const CANCEL_STATUSES: CancelStatus[] = ['unspecified', 'cancelled', 'cancelling', 'not-cancellable'];

export const CancelFlightInfoResultCodec = codec(
  pb.CancelFlightInfoResultSchema,
  (s: CancelStatus) => ({ status: CANCEL_STATUSES.indexOf(s) as pb.CancelStatus }),
  (m) => CANCEL_STATUSES[m.status] ?? 'unspecified',
);

/** RenewFlightEndpointRequest: the body of the RenewFlightEndpoint action. */
export const RenewFlightEndpointRequestCodec = codec(
  pb.RenewFlightEndpointRequestSchema,
  (e: FlightEndpoint) => ({ endpoint: toEndpoint(e) }),
  (m) => {
    if (!m.endpoint) throw FlightError.invalidArgument('RenewFlightEndpointRequest carries no endpoint');
    return fromEndpoint(m.endpoint);
  },
);
