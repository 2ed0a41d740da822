// FlightData's hand framing (flight/flight-data.ts) against the generated codec of the same
// message in flight/proto/flight.proto: each reads what the other writes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBinary, toBinary, create } from '@bufbuild/protobuf';
import { FlightDescriptor, decodeFlightData, encodeFlightData } from '../../flight/index.ts';
import { FlightDataSchema, FlightDescriptor_DescriptorType } from '../../flight/proto/flight_pb.ts';

const header = Uint8Array.from({ length: 13 }, (_, i) => i + 1);
const body = Uint8Array.from({ length: 40 }, (_, i) => 200 - i);
const appMetadata = Uint8Array.of(7, 7, 7);
const hex = (bytes: Uint8Array | undefined) => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'));

test('the generated decoder reads hand-framed FlightData (the header zero-padded for alignment)', () => {
  const framed = encodeFlightData(
    header,
    { length: body.byteLength, buffers: [body], offsets: [0] },
    appMetadata,
    FlightDescriptor.path('a', 'b'),
  );
  const read = fromBinary(FlightDataSchema, framed);
  assert.deepEqual(read.flightDescriptor?.path, ['a', 'b']);
  assert.equal(read.flightDescriptor?.type, FlightDescriptor_DescriptorType.PATH);
  assert.equal(hex(read.dataHeader.subarray(0, header.byteLength)), hex(header));
  assert.ok(
    read.dataHeader.subarray(header.byteLength).every((b) => b === 0),
    'padding is zeros',
  );
  assert.equal(hex(read.appMetadata), hex(appMetadata));
  assert.equal(hex(read.dataBody), hex(body));
});

test('the hand decoder reads generated FlightData, fields in any order', () => {
  const generated = toBinary(
    FlightDataSchema,
    create(FlightDataSchema, {
      flightDescriptor: { type: FlightDescriptor_DescriptorType.CMD, cmd: Uint8Array.of(1, 2) },
      dataHeader: header,
      appMetadata,
      dataBody: body,
    }),
  );
  const fields = (bytes: Uint8Array) => {
    const data = decodeFlightData(bytes);
    return [
      data.descriptor?.type === 'cmd' ? hex(data.descriptor.cmd) : undefined,
      hex(data.dataHeader),
      hex(data.appMetadata),
      hex(data.dataBody),
    ];
  };
  const want = ['0102', hex(header), hex(appMetadata), hex(body)];
  assert.deepEqual(fields(generated), want);
  const reversed = Buffer.concat([
    toBinary(FlightDataSchema, create(FlightDataSchema, { dataBody: body })),
    toBinary(FlightDataSchema, create(FlightDataSchema, { appMetadata })),
    toBinary(FlightDataSchema, create(FlightDataSchema, { dataHeader: header })),
    toBinary(
      FlightDataSchema,
      create(FlightDataSchema, { flightDescriptor: { type: FlightDescriptor_DescriptorType.CMD, cmd: Uint8Array.of(1, 2) } }),
    ),
  ]);
  assert.deepEqual(fields(reversed), want);
});
