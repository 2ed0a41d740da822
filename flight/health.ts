// The standard gRPC health service, grpc.health.v1.Health, on the Flight port: what
// orchestrators' probes call (Kubernetes' grpc probe, grpc_health_probe, grpcio-health-checking).
// Check answers a service's status at once; Watch sends it, then every change. As the health
// protocol asks: "" names the server as a whole, an unknown name is NOT_FOUND for Check and
// SERVICE_UNKNOWN for Watch (the stream stays open: the service may appear later).
//
// Not behind auth: probes carry no credentials, and a status tells nothing of the data.

import {
  Server,
  status as GrpcStatus,
  type MethodDefinition,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { FlightError, toGrpcStatus } from './error.ts';
import { Http2GrpcServer, Http2ServerCall, type Http2Handler } from './transport/grpc-server.ts';
import { decodeMessage, encodeMessage } from './messages.ts';
import { HealthCheckRequestSchema, HealthCheckResponseSchema } from './proto/health_pb.ts';
import type { Decoded } from './service.ts';

export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** HealthCheckResponse.ServingStatus, numbered as the health protocol numbers it. */
export enum ServingStatus {
  UNKNOWN = 0,
  SERVING = 1,
  NOT_SERVING = 2,
  /** Only Watch sends it: the service named is not known (yet). */
  SERVICE_UNKNOWN = 3,
}

/** HealthCheckRequest { string service = 1; } */
export interface HealthCheckRequest {
  service: string;
}

/** HealthCheckResponse { ServingStatus status = 1; } */
export interface HealthCheckResponse {
  status: ServingStatus;
}

export const HealthCheckRequestCodec = {
  encode: (request: HealthCheckRequest): Buffer => encodeMessage(HealthCheckRequestSchema, request),
  decode: (buffer: Uint8Array): HealthCheckRequest => ({ service: decodeMessage(HealthCheckRequestSchema, buffer).service }),
};

export const HealthCheckResponseCodec = {
  encode: (response: HealthCheckResponse): Buffer => encodeMessage(HealthCheckResponseSchema, { status: response.status as number }),
  decode: (buffer: Uint8Array): HealthCheckResponse => ({
    status: decodeMessage(HealthCheckResponseSchema, buffer).status as number as ServingStatus,
  }),
};

function healthMethod(name: string, responseStream: boolean): MethodDefinition<HealthCheckRequest, HealthCheckResponse> {
  return {
    path: `/${HEALTH_SERVICE_NAME}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: HealthCheckRequestCodec.encode,
    // Never throws: a malformed request reaches the handler as a FlightError (INVALID_ARGUMENT).
    requestDeserialize: (buffer) => {
      try {
        return HealthCheckRequestCodec.decode(buffer);
      } catch (error) {
        return (error instanceof FlightError ? error : FlightError.invalidArgument(String(error))) as unknown as HealthCheckRequest;
      }
    },
    responseSerialize: HealthCheckResponseCodec.encode,
    responseDeserialize: HealthCheckResponseCodec.decode,
    originalName: name,
  };
}

export const HealthServiceDefinition = {
  Check: healthMethod('Check', false),
  Watch: healthMethod('Watch', true),
} satisfies ServiceDefinition;

type Listener = (status: ServingStatus) => void;

/**
 * The statuses the health service reports, by service name. `shutdown()` turns every one to
 * NOT_SERVING for good and ends the Watch streams (open streams would hold a closing server
 * until its grace period ran out).
 */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Set<{ service: string; listener: Listener; end: () => void }>();
  private closed = false;

  constructor(serving: Iterable<string> = ['']) {
    for (const service of serving) this.statuses.set(service, ServingStatus.SERVING);
  }

  /** The status of `service`; undefined when it is not known. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Sets a service's status and tells its watchers; ignored once shut down. */
  set(service: string, status: ServingStatus): void {
    if (this.closed || this.statuses.get(service) === status) return;
    this.statuses.set(service, status);
    for (const entry of this.listeners) if (entry.service === service) entry.listener(status);
  }

  /** Watch streams open. */
  get watchers(): number {
    return this.listeners.size;
  }

  get isShutDown(): boolean {
    return this.closed;
  }

  /** Every service NOT_SERVING from now on; watchers are told, then their streams end. */
  shutdown(): void {
    if (this.closed) return;
    for (const service of this.statuses.keys()) this.set(service, ServingStatus.NOT_SERVING);
    this.closed = true;
    for (const entry of [...this.listeners]) entry.end();
    this.listeners.clear();
  }

  /** Calls `listener` on each change of `service`'s status and `end` at shutdown; returns the unsubscribe. */
  watch(service: string, listener: Listener, end: () => void): () => void {
    const entry = { service, listener, end };
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }
}

/** Check and Watch over `health`, for either transport (their call objects have the same shape). */
export function healthImplementation(health: HealthStatus): UntypedServiceImplementation {
  return {
    Check: (call: ServerUnaryCall<Decoded<HealthCheckRequest>, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) => {
      const request = call.request;
      if (request instanceof FlightError) return callback(toGrpcStatus(request));
      const status = health.get(request.service);
      if (status === undefined) {
        return callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service "${request.service}"` });
      }
      callback(null, { status });
    },
    Watch: (call: ServerWritableStream<Decoded<HealthCheckRequest>, HealthCheckResponse>) => {
      const request = call.request;
      if (request instanceof FlightError) {
        if (call instanceof Http2ServerCall) call.endWithStatus(toGrpcStatus(request));
        else call.emit('error', toGrpcStatus(request));
        return;
      }
      const send = (status: ServingStatus) => call.write({ status });
      send(health.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN);
      if (health.isShutDown) {
        call.end();
        return;
      }
      const unsubscribe = health.watch(request.service, send, () => call.end());
      call.on('cancelled', unsubscribe);
      if (call.cancelled) unsubscribe(); // gone before we listened
    },
  };
}

/** Serves the health service on `server` beside the Flight service. */
export function addHealthService(server: Server | Http2GrpcServer, health: HealthStatus): void {
  const implementation = healthImplementation(health);
  if (server instanceof Http2GrpcServer)
    server.addService(HealthServiceDefinition, implementation as unknown as Record<string, Http2Handler>);
  else server.addService(HealthServiceDefinition, implementation);
}
