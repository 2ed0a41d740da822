// The FlightService method table for grpc-js: real method paths, so that any Flight
// implementation talks to ours, and per-method serializers from messages.ts and flight-data.ts.
// FlightData is passed to grpc-js already encoded (a Buffer) and comes out as views of the
// received message; no generic protobuf codec sees it.

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { deserializeFlightData, type FlightData } from './flight-data.ts';
import { FlightError } from './error.ts';
import {
  ActionCodec,
  ActionTypeCodec,
  CriteriaCodec,
  EmptyCodec,
  FlightDescriptorCodec,
  FlightInfoCodec,
  HandshakeCodec,
  PollInfoCodec,
  PutResultCodec,
  ResultCodec,
  SchemaResultCodec,
  TicketCodec,
  type Codec,
} from './messages.ts';

export const SERVICE_NAME = 'arrow.flight.protocol.FlightService';

/** A request that failed to decode reaches the handler as a FlightError, never as a thrown exception. */
export type Decoded<T> = T | FlightError;

function decoding<T>(codec: Codec<T>, what: string): (buffer: Buffer) => Decoded<T> {
  return (buffer) => {
    try {
      return codec.decode(buffer);
    } catch (error) {
      return error instanceof FlightError ? error : FlightError.invalidArgument(`malformed ${what}: ${String(error)}`);
    }
  };
}

const identity = (buffer: Buffer) => buffer;

function method<Req, Res>(
  name: string,
  requestStream: boolean,
  responseStream: boolean,
  request: { serialize: (v: Req) => Buffer; deserialize: (b: Buffer) => Decoded<Req> | Req },
  response: { serialize: (v: Res) => Buffer; deserialize: (b: Buffer) => Decoded<Res> | Res },
): MethodDefinition<Req, Res> {
  return {
    path: `/${SERVICE_NAME}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: request.serialize,
    requestDeserialize: request.deserialize as (b: Buffer) => Req,
    responseSerialize: response.serialize,
    responseDeserialize: response.deserialize as (b: Buffer) => Res,
    originalName: name,
  };
}

function codec<T>(c: Codec<T>, what: string) {
  return { serialize: (v: T) => c.encode(v), deserialize: decoding(c, what) };
}

/**
 * FlightData: written as pre-encoded Buffers (see encoder.ts) and read as FlightData views
 * (or a FlightError when malformed); the declared type is the written one.
 */
const flightData = {
  serialize: identity,
  deserialize: deserializeFlightData as unknown as (b: Buffer) => Buffer,
};

/** What a FlightData method's reader actually receives. */
export type ReceivedFlightData = Decoded<FlightData>;

export const FlightServiceDefinition = {
  Handshake: method('Handshake', true, true, codec(HandshakeCodec, 'HandshakeRequest'), codec(HandshakeCodec, 'HandshakeResponse')),
  ListFlights: method('ListFlights', false, true, codec(CriteriaCodec, 'Criteria'), codec(FlightInfoCodec, 'FlightInfo')),
  GetFlightInfo: method(
    'GetFlightInfo',
    false,
    false,
    codec(FlightDescriptorCodec, 'FlightDescriptor'),
    codec(FlightInfoCodec, 'FlightInfo'),
  ),
  PollFlightInfo: method(
    'PollFlightInfo',
    false,
    false,
    codec(FlightDescriptorCodec, 'FlightDescriptor'),
    codec(PollInfoCodec, 'PollInfo'),
  ),
  GetSchema: method('GetSchema', false, false, codec(FlightDescriptorCodec, 'FlightDescriptor'), codec(SchemaResultCodec, 'SchemaResult')),
  DoGet: method('DoGet', false, true, codec(TicketCodec, 'Ticket'), flightData),
  DoPut: method('DoPut', true, true, flightData, codec(PutResultCodec, 'PutResult')),
  DoExchange: method('DoExchange', true, true, flightData, flightData),
  DoAction: method('DoAction', false, true, codec(ActionCodec, 'Action'), codec(ResultCodec, 'Result')),
  ListActions: method('ListActions', false, true, codec(EmptyCodec, 'Empty'), codec(ActionTypeCodec, 'ActionType')),
} satisfies ServiceDefinition;

export type FlightMethodName = keyof typeof FlightServiceDefinition;
