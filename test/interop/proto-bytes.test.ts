// The generated message codecs (flight/proto/flight_pb.ts, from flight.proto) against pyarrow's
// own serialization (test/peers/messages.py): byte for byte where both sides are given the same
// values, and each side reading what the other wrote.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ActionCodec,
  FlightDescriptor,
  FlightDescriptorCodec,
  FlightEndpointCodec,
  FlightInfoCodec,
  TicketCodec,
  encodeMessage,
} from '../../flight/messages.ts';
import * as pb from '../../flight/proto/flight_pb.ts';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { peerPython, runPeer } from '../support/peers.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const utf8 = (s: string) => new TextEncoder().encode(s);
const EXPIRES = new Date('2031-05-17T08:30:15.250Z');

let py: Record<string, string>;

async function python(...args: string[]): Promise<string> {
  const result = await runPeer('messages.py', args);
  assert.equal(result.code, 0, `messages.py ${args[0]} exited ${result.code}: ${result.stderr.slice(-2000)}`);
  return result.stdout;
}

before(async () => {
  peerPython(); // fails here, naming `npm run peers`, when the environment is missing
  py = JSON.parse(await python('serialize')) as Record<string, string>;
});

const endpoint = {
  ticket: utf8('ticket-1'),
  locations: ['grpc+tcp://a.example:8815', 'grpc+tls://b.example:443'],
  expirationTime: EXPIRES,
  appMetadata: utf8('endpoint-meta'),
};

describe('our encoders write the bytes pyarrow writes', () => {
  test('FlightInfo: IPC schema, command descriptor, endpoints with locations, expiration and app_metadata', () => {
    const ours = encodeMessage(pb.FlightInfoSchema, {
      schema: bytes(py.schema_ipc!),
      flightDescriptor: { type: pb.FlightDescriptor_DescriptorType.CMD, cmd: utf8('SELECT 1') },
      endpoint: [
        {
          ticket: { ticket: endpoint.ticket },
          location: endpoint.locations.map((uri) => ({ uri })),
          expirationTime: timestampFromDate(EXPIRES),
          appMetadata: endpoint.appMetadata,
        },
        { ticket: { ticket: utf8('ticket-2') } },
      ],
      totalRecords: 1234567890123n,
      totalBytes: -1n,
      ordered: true,
      appMetadata: utf8('info-meta'),
    });
    assert.equal(hex(ours), py.FlightInfo);
  });

  test('FlightInfo: unknown totals as ten-byte -1, a path descriptor, no endpoints', () => {
    const ours = encodeMessage(pb.FlightInfoSchema, {
      schema: bytes(py.schema_ipc!),
      flightDescriptor: { type: pb.FlightDescriptor_DescriptorType.PATH, path: ['a', 'b'] },
      totalRecords: -1n,
      totalBytes: -1n,
    });
    assert.equal(hex(ours), py['FlightInfo.unknown_totals']);
  });

  test('FlightEndpoint, through the adapter callers use', () => {
    assert.equal(hex(FlightEndpointCodec.encode(endpoint)), py.FlightEndpoint);
  });

  test('FlightDescriptor (path with non-ASCII, command with binary), Ticket, Action', () => {
    assert.equal(hex(FlightDescriptorCodec.encode(FlightDescriptor.path('flights', '2024', 'é'))), py['FlightDescriptor.path']);
    assert.equal(
      hex(FlightDescriptorCodec.encode(FlightDescriptor.command(Uint8Array.of(0, 1, ...utf8('SELECT'))))),
      py['FlightDescriptor.command'],
    );
    assert.equal(hex(TicketCodec.encode(utf8('SELECT * FROM t'))), py.Ticket);
    assert.equal(hex(ActionCodec.encode({ type: 'drop_table', body: utf8('t') })), py.Action);
    assert.equal(hex(ActionCodec.encode({ type: 'list_tables', body: new Uint8Array(0) })), py['Action.empty_body']);
  });
});

describe('each side reads what the other wrote', () => {
  test("we read pyarrow's FlightInfo", () => {
    const info = FlightInfoCodec.decode(bytes(py.FlightInfo!));
    assert.deepEqual(
      info.schema?.fields.map((f) => [f.name, String(f.type), f.nullable]),
      [
        ['id', 'Int64', false],
        ['name', 'Utf8', true],
      ],
    );
    assert.equal(info.schema?.metadata.get('origin'), 'proto-bytes');
    assert.deepEqual(info.descriptor, FlightDescriptor.command('SELECT 1'));
    assert.equal(info.totalRecords, 1234567890123);
    assert.equal(info.totalBytes, -1);
    assert.equal(info.ordered, true);
    assert.deepEqual(info.appMetadata, utf8('info-meta'));
    assert.equal(info.endpoints.length, 2);
    const [first, second] = info.endpoints;
    assert.deepEqual({ ...first, ticket: Uint8Array.from(first!.ticket), appMetadata: Uint8Array.from(first!.appMetadata!) }, endpoint);
    assert.deepEqual(second, { ticket: utf8('ticket-2'), locations: [] });
  });

  test('pyarrow reads our FlightInfo, schema from arrow-js included', async () => {
    const decoded = FlightInfoCodec.decode(bytes(py.FlightInfo!));
    const ours = FlightInfoCodec.encode(decoded);
    const read = JSON.parse(await python('parse', 'FlightInfo', hex(ours)));
    assert.deepEqual(read, {
      schema: "id: int64 not null\nname: string\n-- schema metadata --\norigin: 'proto-bytes'",
      schema_metadata: { origin: 'proto-bytes' },
      descriptor: { cmd: hex(utf8('SELECT 1')) },
      total_records: 1234567890123,
      total_bytes: -1,
      ordered: true,
      app_metadata: hex(utf8('info-meta')),
      endpoints: [
        {
          ticket: hex(utf8('ticket-1')),
          locations: endpoint.locations,
          expiration_time: '2031-05-17T08:30:15.250000+00:00',
          app_metadata: hex(utf8('endpoint-meta')),
        },
        { ticket: hex(utf8('ticket-2')), locations: [], expiration_time: null, app_metadata: '' },
      ],
    });
  });

  test('pyarrow reads our descriptors, tickets and actions', async () => {
    const lines = await python(
      'parse',
      ...['FlightDescriptor', hex(FlightDescriptorCodec.encode(FlightDescriptor.path('x', 'ü')))],
      ...['FlightDescriptor', hex(FlightDescriptorCodec.encode(FlightDescriptor.command('SELECT 3')))],
      ...['Action', hex(ActionCodec.encode({ type: 'query', body: utf8('SELECT 2') }))],
      ...['Ticket', hex(TicketCodec.encode(Uint8Array.of(0, 255)))],
    );
    assert.deepEqual(
      lines
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
      [{ path: ['x', 'ü'] }, { cmd: hex(utf8('SELECT 3')) }, { type: 'query', body: hex(utf8('SELECT 2')) }, { ticket: '00ff' }],
    );
  });
});
