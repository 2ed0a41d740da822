// Arrow Flight for Node.js: the protocol, a generic server and a generic client.
export { FlightError, fromGrpcError, toGrpcStatus, type FlightErrorKind } from './error.ts';
export {
  FlightDescriptor,
  type Action,
  type ActionType,
  type CancelStatus,
  type FlightEndpoint,
  type FlightInfo,
  type HandshakeMessage,
  type PollInfo,
} from './messages.ts';
export { encodeFlightData, decodeFlightData, type FlightData } from './flight-data.ts';
export { FlightDataEncoder, DEFAULT_MAX_MESSAGE_BYTES, type FlightDataEncoderOptions } from './encoder.ts';
export { FlightDataDecoder, type DecodedMessage } from './decoder.ts';
export { FlightDataReader, type FlightChunk } from './reader.ts';
export { FlightDataWriter, type FlightOutputItem } from './writer.ts';
export { EncodedBatch } from './encoded-batch.ts';
export {
  FlightServer,
  type CallContext,
  type FlightHandlers,
  type FlightOutput,
  type FlightServerOptions,
  type CallRecord,
} from './server.ts';
export {
  DEFAULT_FIRST_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_STREAMS,
  DEFAULT_MAX_READ_AHEAD_BYTES,
  DEFAULT_MAX_SESSION_MEMORY_MB,
} from './defaults.ts';
export {
  FlightClient,
  FlightCallReader,
  parseLocation,
  type CallOptions,
  type FlightClientOptions,
  type FlightExchange,
} from './client.ts';
export { TokenAuthenticator, staticUsers, basicAuthHeader, secretsEqual, type BasicAuthValidator } from './auth.ts';
export { FlightServiceDefinition, SERVICE_NAME } from './service.ts';
export {
  HealthStatus,
  HealthServiceDefinition,
  HealthCheckRequestCodec,
  HealthCheckResponseCodec,
  HEALTH_SERVICE_NAME,
  ServingStatus,
} from './health.ts';
export { schemaToIpcMessage, schemaFromIpcMessage } from './ipc-schema.ts';
