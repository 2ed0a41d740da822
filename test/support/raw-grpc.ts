// A grpc-js client that sends hand-made bytes to FlightService methods and reports the raw
// status: what a buggy or hostile peer looks like to our server, with no codec of ours on the
// client side.

import { Client, Metadata, credentials, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { SERVICE_NAME } from '../../flight/index.ts';

const identity = (buffer: Buffer) => buffer;

export interface RawOutcome {
  code: number;
  details: string;
  /** The response messages received before the status, as raw bytes. */
  responses: Buffer[];
}

export class RawFlightClient {
  private readonly client: Client;

  constructor(address: string) {
    this.client = new Client(address, credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  private path(method: string): string {
    return `/${SERVICE_NAME}/${method}`;
  }

  /** A bidirectional call (DoPut, DoExchange, Handshake): writes every frame, ends, waits for the status. */
  bidi(method: string, frames: readonly Buffer[], metadata = new Metadata()): Promise<RawOutcome> {
    const call = this.client.makeBidiStreamRequest(this.path(method), identity, identity, metadata, { deadline: Date.now() + 10_000 });
    const responses: Buffer[] = [];
    const done = new Promise<RawOutcome>((resolve) => {
      call.on('data', (message: Buffer) => responses.push(message));
      call.on('error', () => {}); // the status below carries it
      call.on('status', (status: StatusObject) => resolve({ code: status.code, details: status.details, responses }));
    });
    for (const frame of frames) call.write(frame);
    call.end();
    return done;
  }

  /** A server-streaming call (DoGet, DoAction, ListFlights, ListActions) with a raw request. */
  serverStream(method: string, request: Buffer, metadata = new Metadata()): Promise<RawOutcome> {
    const call = this.client.makeServerStreamRequest(this.path(method), identity, identity, request, metadata, {
      deadline: Date.now() + 10_000,
    });
    const responses: Buffer[] = [];
    return new Promise<RawOutcome>((resolve) => {
      call.on('data', (message: Buffer) => responses.push(message));
      call.on('error', () => {});
      call.on('status', (status: StatusObject) => resolve({ code: status.code, details: status.details, responses }));
    });
  }

  /** A unary call (GetFlightInfo, GetSchema, PollFlightInfo) with a raw request. */
  unary(method: string, request: Buffer, metadata = new Metadata()): Promise<RawOutcome> {
    return new Promise<RawOutcome>((resolve) => {
      this.client.makeUnaryRequest(
        this.path(method),
        identity,
        identity,
        request,
        metadata,
        { deadline: Date.now() + 10_000 },
        (error: ServiceError | null, response?: Buffer) =>
          resolve(
            error
              ? { code: error.code, details: error.details, responses: [] }
              : { code: 0, details: 'OK', responses: response ? [response] : [] },
          ),
      );
    });
  }
}
