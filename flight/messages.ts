// The Flight protocol's messages (Flight.proto), with field numbers from the Arrow Flight
// specification, and their codecs. FlightData lives in flight-data.ts: it is the hot path.

import type { Schema } from 'apache-arrow';
import { FlightError } from './error.ts';
import { ProtoReader, ProtoWriter, WireType } from './protobuf.ts';
import { schemaFromIpcMessage, schemaToIpcMessage } from './ipc-schema.ts';

const utf8 = new TextEncoder();

/** What a client asks for: a path (a named dataset) or an opaque command (a query). */
export type FlightDescriptor =
  | { readonly type: 'path'; readonly path: readonly string[] }
  | { readonly type: 'cmd'; readonly cmd: Uint8Array };

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

function reader(buffer: Uint8Array, what: string): ProtoReader {
  return new ProtoReader(buffer, what);
}

function writeDescriptor(w: ProtoWriter, d: FlightDescriptor): void {
  if (d.type === 'path') {
    w.uint32(1, 1);
    for (const segment of d.path) w.string(3, segment, true);
  } else {
    w.uint32(1, 2);
    w.bytes(2, d.cmd, true);
  }
}

function readDescriptor(r: ProtoReader): FlightDescriptor {
  let type = 0;
  let cmd: Uint8Array = new Uint8Array(0);
  const path: string[] = [];
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) type = r.varint();
    else if (field === 2 && wire === WireType.LengthDelimited) cmd = r.bytes();
    else if (field === 3 && wire === WireType.LengthDelimited) path.push(r.string());
    else r.skip(wire);
  }
  if (type === 1) return { type: 'path', path };
  if (type === 2) return { type: 'cmd', cmd };
  throw FlightError.invalidArgument(
    `FlightDescriptor has type ${type}: expected PATH (1) or CMD (2)`,
  );
}

function writeTimestamp(w: ProtoWriter, field: number, date: Date | undefined): void {
  if (date === undefined) return;
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1_000_000;
  w.message(field, (t) => t.int64(1, seconds).uint32(2, nanos));
}

function readTimestamp(r: ProtoReader): Date {
  let seconds = 0n;
  let nanos = 0;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.Varint) seconds = r.varint64();
    else if (field === 2 && wire === WireType.Varint) nanos = r.varint();
    else r.skip(wire);
  }
  return new Date(Number(seconds) * 1000 + Math.floor(nanos / 1_000_000));
}

function writeEndpoint(w: ProtoWriter, e: FlightEndpoint): void {
  w.message(1, (t) => t.bytes(1, e.ticket));
  for (const uri of e.locations) w.message(2, (l) => l.string(1, uri));
  writeTimestamp(w, 3, e.expirationTime);
  w.bytes(4, e.appMetadata);
}

function readEndpoint(r: ProtoReader): FlightEndpoint {
  const endpoint: FlightEndpoint = { ticket: new Uint8Array(0), locations: [] };
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) endpoint.ticket = readTicket(r.message('Ticket'));
    else if (field === 2 && wire === WireType.LengthDelimited) {
      const l = r.message('Location');
      let uri = '';
      while (!l.done) {
        const [f, w] = l.tag();
        if (f === 1 && w === WireType.LengthDelimited) uri = l.string();
        else l.skip(w);
      }
      endpoint.locations.push(uri);
    } else if (field === 3 && wire === WireType.LengthDelimited) endpoint.expirationTime = readTimestamp(r.message('Timestamp'));
    else if (field === 4 && wire === WireType.LengthDelimited) endpoint.appMetadata = r.bytes();
    else r.skip(wire);
  }
  return endpoint;
}

function readTicket(r: ProtoReader): Uint8Array {
  let ticket: Uint8Array = new Uint8Array(0);
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) ticket = r.bytes();
    else r.skip(wire);
  }
  return ticket;
}

function writeFlightInfo(w: ProtoWriter, info: FlightInfo): void {
  if (info.schema) w.bytes(1, schemaToIpcMessage(info.schema));
  if (info.descriptor) w.message(2, (d) => writeDescriptor(d, info.descriptor!));
  for (const e of info.endpoints) w.message(3, (m) => writeEndpoint(m, e));
  w.int64(4, info.totalRecords);
  w.int64(5, info.totalBytes);
  w.bool(6, info.ordered ?? false);
  w.bytes(7, info.appMetadata);
}

function readFlightInfo(r: ProtoReader): FlightInfo {
  const info: FlightInfo = { schema: null, endpoints: [], totalRecords: -1, totalBytes: -1 };
  let totalRecords = 0n;
  let totalBytes = 0n;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WireType.LengthDelimited) {
      const raw = r.bytes();
      info.schema = raw.byteLength === 0 ? null : schemaFromIpcMessage(raw);
    } else if (field === 2 && wire === WireType.LengthDelimited) info.descriptor = readDescriptor(r.message('FlightDescriptor'));
    else if (field === 3 && wire === WireType.LengthDelimited) info.endpoints.push(readEndpoint(r.message('FlightEndpoint')));
    else if (field === 4 && wire === WireType.Varint) totalRecords = r.varint64();
    else if (field === 5 && wire === WireType.Varint) totalBytes = r.varint64();
    else if (field === 6 && wire === WireType.Varint) info.ordered = r.varint() !== 0;
    else if (field === 7 && wire === WireType.LengthDelimited) info.appMetadata = r.bytes();
    else r.skip(wire);
  }
  info.totalRecords = Number(totalRecords);
  info.totalBytes = Number(totalBytes);
  return info;
}

function encodeWith<T>(write: (w: ProtoWriter, value: T) => void): (value: T) => Buffer {
  return (value) => {
    const w = new ProtoWriter();
    write(w, value);
    return w.finish();
  };
}

export const FlightDescriptorCodec: Codec<FlightDescriptor> = {
  encode: encodeWith(writeDescriptor),
  decode: (b) => readDescriptor(reader(b, 'FlightDescriptor')),
};

export const TicketCodec: Codec<Uint8Array> = {
  encode: encodeWith((w, ticket) => w.bytes(1, ticket)),
  decode: (b) => readTicket(reader(b, 'Ticket')),
};

export const FlightInfoCodec: Codec<FlightInfo> = {
  encode: encodeWith(writeFlightInfo),
  decode: (b) => readFlightInfo(reader(b, 'FlightInfo')),
};

export const FlightEndpointCodec: Codec<FlightEndpoint> = {
  encode: encodeWith(writeEndpoint),
  decode: (b) => readEndpoint(reader(b, 'FlightEndpoint')),
};

export const PollInfoCodec: Codec<PollInfo> = {
  encode: encodeWith((w, p) => {
    if (p.info) w.message(1, (m) => writeFlightInfo(m, p.info!));
    if (p.descriptor) w.message(2, (m) => writeDescriptor(m, p.descriptor!));
    if (p.progress !== undefined) w.double(3, p.progress);
    writeTimestamp(w, 4, p.expirationTime);
  }),
  decode: (b) => {
    const r = reader(b, 'PollInfo');
    const poll: PollInfo = {};
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) poll.info = readFlightInfo(r.message('FlightInfo'));
      else if (field === 2 && wire === WireType.LengthDelimited) poll.descriptor = readDescriptor(r.message('FlightDescriptor'));
      else if (field === 3 && wire === WireType.Fixed64) poll.progress = r.double();
      else if (field === 4 && wire === WireType.LengthDelimited) poll.expirationTime = readTimestamp(r.message('Timestamp'));
      else r.skip(wire);
    }
    return poll;
  },
};

/** SchemaResult: the schema as an encapsulated IPC message. */
export const SchemaResultCodec: Codec<Schema> = {
  encode: encodeWith((w, schema) => w.bytes(1, schemaToIpcMessage(schema))),
  decode: (b) => {
    const r = reader(b, 'SchemaResult');
    let schema: Schema | null = null;
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) schema = schemaFromIpcMessage(r.bytes());
      else r.skip(wire);
    }
    if (!schema) throw FlightError.invalidArgument('SchemaResult carries no schema');
    return schema;
  },
};

export const ActionCodec: Codec<Action> = {
  encode: encodeWith((w, a) => w.string(1, a.type).bytes(2, a.body)),
  decode: (b) => {
    const r = reader(b, 'Action');
    const action: Action = { type: '', body: new Uint8Array(0) };
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) action.type = r.string();
      else if (field === 2 && wire === WireType.LengthDelimited) action.body = r.bytes();
      else r.skip(wire);
    }
    return action;
  },
};

export const ActionTypeCodec: Codec<ActionType> = {
  encode: encodeWith((w, a) => w.string(1, a.type).string(2, a.description)),
  decode: (b) => {
    const r = reader(b, 'ActionType');
    const action: ActionType = { type: '', description: '' };
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) action.type = r.string();
      else if (field === 2 && wire === WireType.LengthDelimited) action.description = r.string();
      else r.skip(wire);
    }
    return action;
  },
};

/** A message whose only field is `bytes field 1` (Result, PutResult, Criteria). */
function singleBytes(what: string): Codec<Uint8Array> {
  return {
    encode: encodeWith((w, body) => w.bytes(1, body)),
    decode: (b) => {
      const r = reader(b, what);
      let body: Uint8Array = new Uint8Array(0);
      while (!r.done) {
        const [field, wire] = r.tag();
        if (field === 1 && wire === WireType.LengthDelimited) body = r.bytes();
        else r.skip(wire);
      }
      return body;
    },
  };
}

export const ResultCodec = singleBytes('Result');
export const PutResultCodec = singleBytes('PutResult');
export const CriteriaCodec = singleBytes('Criteria');

/** Empty decodes to an object: grpc-js takes `undefined` to mean that no request arrived. */
export const EmptyCodec: Codec<Record<string, never>> = {
  encode: () => Buffer.alloc(0),
  // Empty has no fields, but bytes that are not protobuf at all are still refused.
  decode: (buffer) => {
    const r = new ProtoReader(buffer, 'Empty');
    while (!r.done) r.skip(r.tag()[1]);
    return {};
  },
};

export const HandshakeCodec: Codec<HandshakeMessage> = {
  encode: encodeWith((w, h) => w.int64(1, h.protocolVersion).bytes(2, h.payload)),
  decode: (b) => {
    const r = reader(b, 'HandshakeRequest');
    const h: HandshakeMessage = { protocolVersion: 0, payload: new Uint8Array(0) };
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.Varint) h.protocolVersion = Number(r.varint64());
      else if (field === 2 && wire === WireType.LengthDelimited) h.payload = r.bytes();
      else r.skip(wire);
    }
    return h;
  },
};

/** BasicAuth (username = 2, password = 3): the payload of the legacy Handshake-based basic auth. */
export const BasicAuthCodec: Codec<{ username: string; password: string }> = {
  encode: encodeWith((w, a) => w.string(2, a.username).string(3, a.password)),
  decode: (b) => {
    const r = reader(b, 'BasicAuth');
    const auth = { username: '', password: '' };
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 2 && wire === WireType.LengthDelimited) auth.username = r.string();
      else if (field === 3 && wire === WireType.LengthDelimited) auth.password = r.string();
      else r.skip(wire);
    }
    return auth;
  },
};

/** CancelFlightInfoRequest (the body of the CancelFlightInfo action): info = 1. */
export const CancelFlightInfoRequestCodec: Codec<FlightInfo> = {
  encode: encodeWith((w, info) => w.message(1, (m) => writeFlightInfo(m, info))),
  decode: (b) => {
    const r = reader(b, 'CancelFlightInfoRequest');
    let info: FlightInfo | undefined;
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) info = readFlightInfo(r.message('FlightInfo'));
      else r.skip(wire);
    }
    if (!info) throw FlightError.invalidArgument('CancelFlightInfoRequest carries no FlightInfo');
    return info;
  },
};

export type CancelStatus = 'unspecified' | 'cancelled' | 'cancelling' | 'not-cancellable';
const CANCEL_STATUSES: CancelStatus[] = ['unspecified', 'cancelled', 'cancelling', 'not-cancellable'];

/** CancelFlightInfoResult: status = 1 (enum CancelStatus). */
export const CancelFlightInfoResultCodec: Codec<CancelStatus> = {
  encode: encodeWith((w, s) => w.uint32(1, CANCEL_STATUSES.indexOf(s))),
  decode: (b) => {
    const r = reader(b, 'CancelFlightInfoResult');
    let status: CancelStatus = 'unspecified';
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.Varint) status = CANCEL_STATUSES[r.varint()] ?? 'unspecified';
      else r.skip(wire);
    }
    return status;
  },
};

/** RenewFlightEndpointRequest (body of the RenewFlightEndpoint action): endpoint = 1. */
export const RenewFlightEndpointRequestCodec: Codec<FlightEndpoint> = {
  encode: encodeWith((w, e) => w.message(1, (m) => writeEndpoint(m, e))),
  decode: (b) => {
    const r = reader(b, 'RenewFlightEndpointRequest');
    let endpoint: FlightEndpoint | undefined;
    while (!r.done) {
      const [field, wire] = r.tag();
      if (field === 1 && wire === WireType.LengthDelimited) endpoint = readEndpoint(r.message('FlightEndpoint'));
      else r.skip(wire);
    }
    if (!endpoint) throw FlightError.invalidArgument('RenewFlightEndpointRequest carries no endpoint');
    return endpoint;
  },
};

export { writeDescriptor, readDescriptor };
