// A DoPut that sends FlightData messages exactly as given, with no checks on our side: for
// testing what a server does with a stream our own writer would refuse to produce (a second
// schema, a batch laid out for another schema).

import { Client, credentials, Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { FlightError, FlightServiceDefinition, fromGrpcError, parseLocation } from '../../flight/index.ts';

const M = FlightServiceDefinition;

/** Sends `messages` (encoded FlightData) on one DoPut call; resolves with the PutResult bodies or rejects with the status. */
export async function rawDoPut(location: string, messages: readonly Buffer[], headers: Record<string, string> = {}): Promise<Uint8Array[]> {
  const { address } = parseLocation(location);
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  try {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    const call = client.makeBidiStreamRequest(
      M.DoPut.path,
      (b: Buffer) => b,
      M.DoPut.responseDeserialize as unknown as (b: Buffer) => Uint8Array | FlightError,
      metadata,
    ) as ClientDuplexStream<Buffer, Uint8Array | FlightError>;
    const results: Uint8Array[] = [];
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (m: Uint8Array | FlightError) => (m instanceof FlightError ? reject(m) : results.push(m)));
      call.on('error', (e: ServiceError) => reject(fromGrpcError(e)));
      call.on('end', () => resolve());
    });
    for (const message of messages) call.write(message);
    call.end();
    await done;
    return results;
  } finally {
    client.close();
  }
}
