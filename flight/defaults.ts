// Every default of the Flight layer in one place: message sizes, windows, queues, keepalives and
// the transports. The code reads them from here, servers/settings.ts re-exports them beside the
// DuckDB server's own, and the README's limits table quotes them (test/package/settings.test.ts
// checks that it does). Nothing here reads the environment: an entry point that honours a
// variable (the CLI, the demo, the benchmarks, the test runner) parses it with
// transportsFromEnvironment and passes the result down.

import type { ChannelOptions } from '@grpc/grpc-js';

const MiB = 1024 * 1024;

/** Largest message sent: record batches are sliced by rows to fit (FlightServer, FlightClient, FlightDataEncoder `maxMessageBytes`). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * MiB;
/** Largest message accepted (`maxReceiveMessageBytes`). */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 256 * MiB;
/** Outgoing bytes queued per stream before a producer waits (`writeBufferBytes`). */
export const DEFAULT_WRITE_BUFFER_BYTES = 8 * MiB;
/** DoPut/DoExchange messages read ahead while the output flows (`readAheadMessages`). */
export const DEFAULT_READ_AHEAD_MESSAGES = 8;
/** The client's HTTP/2 flow-control window (FlightClient `flowControlWindow`): gRPC's 64 KiB halves loopback throughput. */
export const DEFAULT_CLIENT_WINDOW_BYTES = 16 * MiB;
/** The server's HTTP/2 receive window (FlightServer `flowControlWindow`). */
export const DEFAULT_RECEIVE_WINDOW = 4 * MiB;
/** Largest HTTP/2 DATA frame the server takes (grpc-server.ts). */
export const SERVER_MAX_FRAME_BYTES = 1 * MiB;
/** Bytes of received messages a client call holds for its reader before it stops granting window (grpc-client.ts). */
export const CLIENT_UNREAD_BYTES = 4 * MiB;

/** Concurrent calls per connection unless told otherwise (FlightServer `maxConcurrentStreams`). */
export const DEFAULT_MAX_CONCURRENT_STREAMS = 256;
/**
 * nghttp2's memory budget per connection, in MiB: past it, new streams on that connection are
 * refused (ENHANCE_YOUR_CALM) until it falls back. Node counts in it the bytes queued for
 * sending, and each call may queue `writeBufferBytes` (8 MiB): 256 MiB lets 32 calls of one
 * connection wait on a slow reader at once. Node's own default (10 MiB) would refuse the
 * second such call; grpc-js has none (and neither had we: Number.MAX_SAFE_INTEGER).
 */
export const DEFAULT_MAX_SESSION_MEMORY_MB = 256;
/** How long a call may wait for its request (FlightServer `firstMessageTimeoutMs`). */
export const DEFAULT_FIRST_MESSAGE_TIMEOUT_MS = 60_000;
/** What DoPut/DoExchange may hold read ahead while the client does not read (FlightServer `maxReadAheadBytes`). */
export const DEFAULT_MAX_READ_AHEAD_BYTES = 256 * MiB;

/**
 * Keepalive: the server pings an idle connection every 2 minutes and drops it if no answer
 * comes within 20 s (a vanished client frees its calls), and it accepts client pings as often
 * as every 10 s, so clients may keep long idle streams alive through NATs and proxies.
 */
export const SERVER_KEEPALIVE: ChannelOptions = {
  'grpc.keepalive_time_ms': 120_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.http2.min_ping_interval_without_data_ms': 10_000,
};

/**
 * Keepalive: a ping every 5 minutes while a call is open, answered within 20 s or the
 * connection is dropped. Five minutes is the least interval gRPC C++ servers (pyarrow's among
 * them) accept by default; pinging more often gets the connection closed with "too many pings".
 */
export const CLIENT_KEEPALIVE: ChannelOptions = {
  'grpc.keepalive_time_ms': 300_000,
  'grpc.keepalive_timeout_ms': 20_000,
};

export type ServerTransport = 'http2' | 'grpc-js';
export type ClientTransport = 'grpc-js' | 'http2' | 'node-http2';

/**
 * The transports a FlightServer and a FlightClient use when their options name none: 'http2'
 * (our own), unless an entry point set them from its environment (transportsFromEnvironment),
 * so that one suite of tests can run on either transport.
 */
export const transportDefaults: { server: ServerTransport; client: ClientTransport } = { server: 'http2', client: 'http2' };

/** FLIGHT_SERVER_TRANSPORT (http2, grpc-js) and FLIGHT_CLIENT_TRANSPORT (http2, node-http2, grpc-js) from `env`; throws on another value. */
export function transportsFromEnvironment(env: Readonly<Record<string, string | undefined>>): Partial<typeof transportDefaults> {
  const out: Partial<typeof transportDefaults> = {};
  const server = env['FLIGHT_SERVER_TRANSPORT'];
  if (server === 'http2' || server === 'grpc-js') out.server = server;
  else if (server) throw new Error(`FLIGHT_SERVER_TRANSPORT=${server}: expected http2 or grpc-js`);
  const client = env['FLIGHT_CLIENT_TRANSPORT'];
  if (client === 'http2' || client === 'node-http2' || client === 'grpc-js') out.client = client;
  else if (client) throw new Error(`FLIGHT_CLIENT_TRANSPORT=${client}: expected http2, node-http2 or grpc-js`);
  return out;
}
