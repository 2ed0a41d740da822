// One error type for the whole Flight layer, and the two functions that map it to and from
// gRPC status: nothing else in the project decides a status code.

import { Metadata, status as GrpcStatus, type StatusObject, type ServiceError } from '@grpc/grpc-js';

export type FlightErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'unauthenticated'
  | 'permission-denied'
  | 'unavailable'
  | 'cancelled'
  | 'deadline-exceeded'
  | 'unimplemented'
  | 'resource-exhausted'
  | 'failed-precondition'
  | 'internal'
  | 'unknown';

const KIND_TO_CODE: Record<FlightErrorKind, GrpcStatus> = {
  'invalid-argument': GrpcStatus.INVALID_ARGUMENT,
  'not-found': GrpcStatus.NOT_FOUND,
  'already-exists': GrpcStatus.ALREADY_EXISTS,
  unauthenticated: GrpcStatus.UNAUTHENTICATED,
  'permission-denied': GrpcStatus.PERMISSION_DENIED,
  unavailable: GrpcStatus.UNAVAILABLE,
  cancelled: GrpcStatus.CANCELLED,
  'deadline-exceeded': GrpcStatus.DEADLINE_EXCEEDED,
  unimplemented: GrpcStatus.UNIMPLEMENTED,
  'resource-exhausted': GrpcStatus.RESOURCE_EXHAUSTED,
  'failed-precondition': GrpcStatus.FAILED_PRECONDITION,
  internal: GrpcStatus.INTERNAL,
  unknown: GrpcStatus.UNKNOWN,
};

const CODE_TO_KIND = new Map<number, FlightErrorKind>(Object.entries(KIND_TO_CODE).map(([kind, code]) => [code, kind as FlightErrorKind]));
// Codes with no kind of their own fold into the nearest one.
CODE_TO_KIND.set(GrpcStatus.ABORTED, 'failed-precondition');
CODE_TO_KIND.set(GrpcStatus.OUT_OF_RANGE, 'invalid-argument');
CODE_TO_KIND.set(GrpcStatus.DATA_LOSS, 'internal');

export interface FlightErrorOptions {
  cause?: unknown;
  /** Trailers received with (or to be sent with) the status. */
  metadata?: Metadata;
}

/**
 * An error with a kind that maps to a gRPC status code. Servers throw it from handlers;
 * clients receive it from every call that fails.
 *
 * ```ts
 * throw FlightError.notFound(`no table named ${name}`);
 * ```
 */
export class FlightError extends Error {
  override readonly name = 'FlightError';
  readonly kind: FlightErrorKind;
  readonly metadata: Metadata | undefined;

  constructor(kind: FlightErrorKind, message: string, options: FlightErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.metadata = options.metadata;
  }

  /** The gRPC status code of this error's kind. */
  get code(): GrpcStatus {
    return KIND_TO_CODE[this.kind];
  }

  static invalidArgument(message: string, cause?: unknown) {
    return new FlightError('invalid-argument', message, { cause });
  }
  static notFound(message: string, cause?: unknown) {
    return new FlightError('not-found', message, { cause });
  }
  static alreadyExists(message: string, cause?: unknown) {
    return new FlightError('already-exists', message, { cause });
  }
  static unauthenticated(message: string, cause?: unknown) {
    return new FlightError('unauthenticated', message, { cause });
  }
  static permissionDenied(message: string, cause?: unknown) {
    return new FlightError('permission-denied', message, { cause });
  }
  static unavailable(message: string, cause?: unknown) {
    return new FlightError('unavailable', message, { cause });
  }
  static cancelled(message: string, cause?: unknown) {
    return new FlightError('cancelled', message, { cause });
  }
  static unimplemented(message: string, cause?: unknown) {
    return new FlightError('unimplemented', message, { cause });
  }
  static internal(message: string, cause?: unknown) {
    return new FlightError('internal', message, { cause });
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<ServiceError>).code === 'number' &&
    typeof (error as Partial<ServiceError>).details === 'string'
  );
}

/**
 * Server side: any error a handler throws becomes a gRPC status. A FlightError keeps its kind
 * and message; anything else is INTERNAL with its message, so nothing is hidden from the client.
 */
export function toGrpcStatus(error: unknown): Partial<StatusObject> & { code: GrpcStatus; details: string } {
  if (error instanceof FlightError) {
    return { code: error.code, details: error.message, metadata: error.metadata ?? new Metadata() };
  }
  if (isServiceError(error)) {
    // A status received from another Flight server, passed through.
    return { code: error.code, details: error.details, metadata: error.metadata ?? new Metadata() };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: GrpcStatus.INTERNAL, details: message || 'internal error', metadata: new Metadata() };
}

/** Client side: a gRPC status (or any error from grpc-js) becomes a FlightError. */
export function fromGrpcError(error: unknown): FlightError {
  if (error instanceof FlightError) return error;
  if (isServiceError(error)) {
    const kind = CODE_TO_KIND.get(error.code) ?? 'unknown';
    return new FlightError(kind, error.details || error.message, { cause: error, metadata: error.metadata });
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return new FlightError('cancelled', error.message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new FlightError('unknown', message, { cause: error });
}
