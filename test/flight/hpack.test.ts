// HPACK against RFC 7541 Appendix C byte for byte, error cases a peer could send, and a live
// cross-check: header blocks that node:http2 (nghttp2) encodes, read off a raw socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import { HeaderListTooLarge, HpackDecoder, HpackError, encodeHeaders } from '../../flight/transport/hpack.ts';

type Headers = Array<[string, string]>;

/** The RFC's hex dumps, spaces and all. */
function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

/**
 * Checks the dynamic table by reading it back through indexed fields 62, 63, ... (which leave
 * it untouched), newest entry first, and that the index just past it is an error.
 */
function assertTable(decoder: HpackDecoder, entries: Headers): void {
  const indexes = Buffer.from(entries.map((_, i) => 0x80 | (62 + i)));
  assert.deepEqual(decoder.decode(indexes), entries);
  assert.throws(() => decoder.decode(Buffer.from([0x80 | (62 + entries.length)])), HpackError);
}

test('C.1 integers: 10 and 1337 on a 5-bit prefix, 42 at an octet boundary', () => {
  // The 5-bit prefix is the table size update's, so the value shows against the decoder's maximum.
  assert.deepEqual(new HpackDecoder(10).decode(Buffer.from([0x20 | 0b01010])), []);
  assert.throws(() => new HpackDecoder(9).decode(Buffer.from([0x20 | 0b01010])), HpackError);
  const c12 = Buffer.from([0x20 | 0b11111, 0b10011010, 0b00001010]);
  assert.deepEqual(new HpackDecoder(1337).decode(c12), []);
  assert.throws(() => new HpackDecoder(1336).decode(c12), /1337/);
  // 42 as a string length: a 7-bit prefix behind a zero H bit, the whole octet 0x2a.
  const value = 'v'.repeat(42);
  const block = Buffer.concat([Buffer.from([0x00, 0x01, 0x78, 0b00101010]), Buffer.from(value)]);
  assert.deepEqual(new HpackDecoder().decode(block), [['x', value]]);
  assert.deepEqual(encodeHeaders([['x', value]]), block);
});

test('C.2.1 literal with indexing adds to the dynamic table', () => {
  const decoder = new HpackDecoder();
  const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
  assert.deepEqual(decoder.decode(block), [['custom-key', 'custom-header']]);
  assertTable(decoder, [['custom-key', 'custom-header']]);
});

test('C.2.2 literal without indexing, and our encoder writes the same bytes', () => {
  const decoder = new HpackDecoder();
  const block = hex('040c 2f73 616d 706c 652f 7061 7468');
  assert.deepEqual(decoder.decode(block), [[':path', '/sample/path']]);
  assertTable(decoder, []);
  assert.deepEqual(encodeHeaders([[':path', '/sample/path']]), block);
});

test('C.2.3 literal never indexed', () => {
  const decoder = new HpackDecoder();
  assert.deepEqual(decoder.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), [['password', 'secret']]);
  assertTable(decoder, []);
});

test('C.2.4 indexed field, and our encoder indexes an exact static match', () => {
  assert.deepEqual(new HpackDecoder().decode(hex('82')), [[':method', 'GET']]);
  assert.deepEqual(encodeHeaders([[':method', 'GET']]), hex('82'));
});

const request1: Headers = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const request2: Headers = [...request1, ['cache-control', 'no-cache']];
const request3: Headers = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];

function checkRequests(blocks: [Buffer, Buffer, Buffer]): void {
  const decoder = new HpackDecoder();
  assert.deepEqual(decoder.decode(blocks[0]), request1);
  assertTable(decoder, [[':authority', 'www.example.com']]);
  assert.deepEqual(decoder.decode(blocks[1]), request2);
  assertTable(decoder, [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ]);
  assert.deepEqual(decoder.decode(blocks[2]), request3);
  assertTable(decoder, [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ]);
}

test('C.3 three requests without Huffman coding on one decoder', () => {
  checkRequests([
    hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'),
    hex('8286 84be 5808 6e6f 2d63 6163 6865'),
    hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'),
  ]);
});

test('C.4 three requests with Huffman coding on one decoder', () => {
  checkRequests([
    hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'),
    hex('8286 84be 5886 a8eb 1064 9cbf'),
    hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'),
  ]);
});

const date1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const date2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const location = 'https://www.example.com';
const cookie = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

function checkResponses(blocks: [Buffer, Buffer, Buffer]): void {
  // SETTINGS_HEADER_TABLE_SIZE 256, so entries get evicted.
  const decoder = new HpackDecoder(256);
  assert.deepEqual(decoder.decode(blocks[0]), [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', date1],
    ['location', location],
  ]);
  assertTable(decoder, [
    ['location', location],
    ['date', date1],
    ['cache-control', 'private'],
    [':status', '302'],
  ]);
  assert.deepEqual(decoder.decode(blocks[1]), [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', date1],
    ['location', location],
  ]);
  assertTable(decoder, [
    [':status', '307'],
    ['location', location],
    ['date', date1],
    ['cache-control', 'private'],
  ]);
  assert.deepEqual(decoder.decode(blocks[2]), [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', date2],
    ['location', location],
    ['content-encoding', 'gzip'],
    ['set-cookie', cookie],
  ]);
  assertTable(decoder, [
    ['set-cookie', cookie],
    ['content-encoding', 'gzip'],
    ['date', date2],
  ]);
}

test('C.5 three responses without Huffman coding, 256-byte table', () => {
  checkResponses([
    hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d`),
    hex('4803 3330 37c1 c0bf'),
    hex(`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31`),
  ]);
});

test('C.6 three responses with Huffman coding, 256-byte table', () => {
  checkResponses([
    hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`),
    hex('4883 640e ffc1 c0bf'),
    hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07`),
  ]);
});

test('an entry larger than the whole table empties it', () => {
  const decoder = new HpackDecoder(100);
  decoder.decode(encodeIndexed('a', 'b'));
  assertTable(decoder, [['a', 'b']]);
  decoder.decode(encodeIndexed('big', 'v'.repeat(70)));
  assertTable(decoder, []);
});

/** A literal with incremental indexing and a new name, which encodeHeaders never writes. */
function encodeIndexed(name: string, value: string): Buffer {
  assert.ok(name.length < 127 && value.length < 127);
  return Buffer.concat([Buffer.from([0x40, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

test('encodeHeaders round trips pseudo-headers and gRPC headers, without touching the table', () => {
  const headers: Headers = [
    [':method', 'POST'],
    [':scheme', 'https'],
    [':path', '/arrow.flight.protocol.FlightService/DoGet'],
    [':authority', 'localhost:50051'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['grpc-timeout', '30S'],
    ['grpc-accept-encoding', 'identity'],
    ['accept-encoding', 'gzip, deflate'],
    ['user-agent', 'duck-takes-flight/0.1.0'],
    ['x-trace-bin', Buffer.from([0, 1, 2, 0xfe, 0xff]).toString('base64')],
    ['x-empty', ''],
    ['x-latin1', 'caf\u00e9'],
    ['x-large', 'abcdefghij'.repeat(1024)],
  ];
  const decoder = new HpackDecoder();
  const block = encodeHeaders(headers);
  assert.deepEqual(decoder.decode(block), headers);
  assertTable(decoder, []);
  // Indexed :method POST, :scheme https and accept-encoding; the rest name the static table where they can.
  assert.deepEqual([...block.subarray(0, 2)], [0x83, 0x87]);

  const response: Headers = [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-status', '0'],
  ];
  assert.deepEqual(decoder.decode(encodeHeaders(response)), response);
});

test('encodeHeaders lowercases names and refuses characters outside latin1', () => {
  assert.deepEqual(new HpackDecoder().decode(encodeHeaders([['X-Custom', 'A']])), [['x-custom', 'A']]);
  assert.throws(() => encodeHeaders([['x-custom', 'snow \u2603']]), TypeError);
});

const malformed: Array<[string, Buffer, RegExp]> = [
  ['index 0', Buffer.from([0x80]), /index 0/],
  ['an index past the static table on an empty dynamic table', Buffer.from([0x80 | 62]), /past the end/],
  ['a name index past the table', Buffer.from([0x40 | 62, 0x00]), /past the end/],
  ['an integer cut off after its prefix', Buffer.from([0xff]), /truncated integer/],
  ['an integer cut off in its continuation bytes', Buffer.from([0xff, 0x80]), /truncated integer/],
  ['an integer over 2^31 - 1', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), /2\^31/],
  ['an integer with six continuation bytes', Buffer.from([0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), /continuation/],
  ['a string length with no byte for it', Buffer.from([0x04]), /truncated string/],
  ['a string shorter than its length', Buffer.from([0x04, 0x03, 0x2f, 0x61]), /truncated string/],
  // 30 ones are EOS, then 2 bits of padding.
  ['EOS inside a Huffman string', Buffer.from([0x04, 0x84, 0xff, 0xff, 0xff, 0xff]), /EOS/],
  // 'a' is 00011, then padding 000 instead of 111.
  ['Huffman padding of zeros', Buffer.from([0x04, 0x81, 0b00011000]), /padding/],
  // 'a' with 3 bits of padding, then a whole byte of it.
  ['Huffman padding longer than 7 bits', Buffer.from([0x04, 0x82, 0b00011111, 0xff]), /padding/],
  // 31 + 0x62 + (0x1f << 7) = 4097
  ['a table size update above the maximum', Buffer.from([0x3f, 0xe2, 0x1f]), /above our maximum/],
  ['a table size update after a field', Buffer.from([0x82, 0x20]), /after a header field/],
  ['an uppercase name', Buffer.from([0x00, 0x01, 0x41, 0x00]), /uppercase/],
  // RFC 9113 section 8.2.1; the relay fuzz run (h2-relay-fuzz.test.ts) had nghttp2's names arrive so.
  ['a name with a space', Buffer.from([0x00, 0x03, 0x61, 0x20, 0x62, 0x00]), /forbids/],
  ['a name with a control character', Buffer.from([0x00, 0x02, 0x61, 0x01, 0x00]), /forbids/],
  ['a name with a byte over 0x7e', Buffer.from([0x00, 0x02, 0x61, 0xe9, 0x00]), /forbids/],
  ['a value with a NUL', Buffer.from([0x00, 0x01, 0x61, 0x02, 0x00, 0x4b]), /forbids/],
  ['a value with CR LF', Buffer.from([0x0f, 0x10, 0x04, 0x61, 0x0d, 0x0a, 0x62]), /forbids/],
];

for (const [what, block, message] of malformed) {
  test(`rejects ${what}`, () => {
    assert.throws(
      () => new HpackDecoder().decode(block),
      (error: unknown) => error instanceof HpackError && !(error instanceof HeaderListTooLarge) && message.test(error.message),
    );
  });
}

test('table size updates at the start of a block, up to the maximum, evict', () => {
  const decoder = new HpackDecoder();
  decoder.decode(Buffer.concat([encodeIndexed('a', '1'), encodeIndexed('b', '2')]));
  assertTable(decoder, [
    ['b', '2'],
    ['a', '1'],
  ]);
  // 4096 exactly, then down to 40 (room for one 34-byte entry), both before the first field.
  assert.deepEqual(decoder.decode(Buffer.from([0x3f, 0xe1, 0x1f, 0x3f, 0x09, 0x82])), [[':method', 'GET']]);
  assertTable(decoder, [['b', '2']]);
  assert.deepEqual(decoder.decode(Buffer.from([0x20])), []);
  assertTable(decoder, []);
});

test('HeaderListTooLarge comes after the whole block, and the decoder stays usable', () => {
  const decoder = new HpackDecoder();
  const block = Buffer.concat([hex('82'), encodeIndexed('x-big', 'v'.repeat(100)), encodeIndexed('x-next', 'n')]);
  assert.throws(
    () => decoder.decode(block, 100),
    (error: unknown) => error instanceof HeaderListTooLarge && /larger than the limit/.test(error.message),
  );
  // Both entries went in even though the list was refused, so later indexes still line up.
  assertTable(decoder, [
    ['x-next', 'n'],
    ['x-big', 'v'.repeat(100)],
  ]);
  assert.deepEqual(decoder.decode(Buffer.from([0x80 | 62, 0x80 | 2]), 100), [
    ['x-next', 'n'],
    [':method', 'GET'],
  ]);
});

// Every symbol nghttp2 will put in a header value: printable ASCII and the latin1 upper half.
// The runs of 'e' (5 bits) make Huffman coding the shorter choice despite the long codes.
const PRINTABLE = 'e'.repeat(400) + Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
const UPPER_LATIN1 = 'e'.repeat(1500) + Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)).join('');

const FRAME_HEADERS = 0x1;
const FRAME_SETTINGS = 0x4;
const FRAME_GOAWAY = 0x7;
const FRAME_CONTINUATION = 0x9;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

function frame(type: number, flags: number, stream: number, payload: Uint8Array = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream, 5);
  return Buffer.concat([header, payload]);
}

/** Speaks just enough HTTP/2 to send GETs and collect the response header blocks, in wire order. */
async function fetchHeaderBlocks(port: number, requests: Headers[]): Promise<Array<{ stream: number; block: Buffer }>> {
  const socket = net.connect(port, '127.0.0.1');
  try {
    await once(socket, 'connect');
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME_SETTINGS, 0, 0)]));
    requests.forEach((headers, i) =>
      socket.write(frame(FRAME_HEADERS, FLAG_END_STREAM | FLAG_END_HEADERS, 1 + 2 * i, encodeHeaders(headers))),
    );

    const blocks: Array<{ stream: number; block: Buffer }> = [];
    let pending: Buffer[] = [];
    let input = Buffer.alloc(0);
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      input = Buffer.concat([input, chunk]);
      while (input.length >= 9 && input.length >= 9 + input.readUIntBE(0, 3)) {
        const length = input.readUIntBE(0, 3);
        const [type, flags] = [input[3]!, input[4]!];
        const stream = input.readUInt32BE(5) & 0x7fffffff;
        let payload = input.subarray(9, 9 + length);
        input = input.subarray(9 + length);
        if (type === FRAME_SETTINGS && !(flags & FLAG_ACK)) socket.write(frame(FRAME_SETTINGS, FLAG_ACK, 0));
        if (type === FRAME_GOAWAY) throw new Error(`GOAWAY, error code ${payload.readUInt32BE(4)}`);
        if (type !== FRAME_HEADERS && type !== FRAME_CONTINUATION) continue;
        if (type === FRAME_HEADERS) {
          const padding = flags & FLAG_PADDED ? payload[0]! : 0;
          payload = payload.subarray(flags & FLAG_PADDED ? 1 : 0, payload.length - padding);
          if (flags & FLAG_PRIORITY) payload = payload.subarray(5);
        }
        pending.push(payload);
        if (flags & FLAG_END_HEADERS) {
          blocks.push({ stream, block: Buffer.concat(pending) });
          pending = [];
          if (blocks.length === requests.length) return blocks;
        }
      }
    }
    throw new Error(`connection closed after ${blocks.length} header blocks`);
  } finally {
    socket.destroy();
  }
}

test('decodes the header blocks node:http2 (nghttp2) sends, across responses on one connection', { timeout: 10_000 }, async () => {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'x-repeated': 'the same value in every response',
        'x-request': String(headers['x-request']),
        'x-printable': PRINTABLE,
        'x-upper-latin1': UPPER_LATIN1,
      },
      { endStream: true },
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as net.AddressInfo;
    const requests = [1, 2, 3].map((n): Headers => [
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', `/${n}`],
      [':authority', `127.0.0.1:${port}`],
      ['x-request', String(n)],
    ]);
    const blocks = await fetchHeaderBlocks(port, requests);

    const decoder = new HpackDecoder();
    for (const { stream, block } of blocks) {
      const decoded = decoder.decode(block);
      const get = (name: string) => decoded.find(([n]) => n === name)?.[1];
      assert.equal(get(':status'), '200');
      assert.equal(get('content-type'), 'application/grpc');
      assert.equal(get('x-repeated'), 'the same value in every response');
      assert.equal(get('x-request'), String((stream + 1) / 2));
      assert.equal(get('x-printable'), PRINTABLE);
      assert.equal(get('x-upper-latin1'), UPPER_LATIN1);
      assert.match(get('date') ?? '', /GMT$/);
    }
    // The first block is Huffman coded (its two long values alone save some 460 bytes); the
    // later ones mostly point into the dynamic table the first one filled.
    const raw = PRINTABLE.length + UPPER_LATIN1.length;
    assert.ok(blocks[0]!.block.length < raw - 300, `first block is ${blocks[0]!.block.length} bytes, the two values ${raw} raw`);
    assert.ok(blocks[1]!.block.length < 100 && blocks[2]!.block.length < 100, 'later blocks should use the dynamic table');
  } finally {
    server.close();
  }
});
