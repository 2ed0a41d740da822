// HPACK (RFC 7541), the header compression of HTTP/2: a decoder that keeps the peer's dynamic
// table, and an encoder that never uses one, so the peer never has to keep a table for us.

export class HpackError extends Error {
  override name = 'HpackError';
}

/** The block decoded fine but its header list is over the caller's limit; the table is still in sync. */
export class HeaderListTooLarge extends HpackError {
  override name = 'HeaderListTooLarge';
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`HPACK: header list is ${size} bytes, larger than the limit of ${limit}`);
  }
}

// RFC 7541 Appendix A. Index 1 is STATIC_TABLE[0].
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

// RFC 7541 Appendix B, generated from the RFC's table: the code of each symbol (0-255, then EOS
// at 256) aligned to the least significant bit, and its length in bits.
const HUFFMAN_CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea,
  0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4,
  0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa,
  0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb,
  0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f,
  0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74,
  0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde,
  0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8,
  0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea,
  0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1,
  0x7fffee, 0x7fffef, 0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1,
  0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2,
  0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3,
  0x7ffffe4, 0x7ffffe5, 0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee,
  0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9,
  0x7ffffea, 0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, 0x3fffffff,
];
const HUFFMAN_LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10,
  12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7,
  7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22,
  23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22,
  23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20,
  24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

const EOS = 256;

// Huffman decoding runs a nibble at a time over a state table built here once. A state is an
// internal node of the code tree (257 leaves make 256 of them; 0 is the root). For each state
// and nibble we store the state reached and the symbol completed on the way, if any: a code is
// at least 5 bits long, so one nibble completes at most one.
const HUFFMAN_NEXT = new Uint8Array(256 * 16);
const HUFFMAN_EMIT = new Int16Array(256 * 16).fill(-1);
// Whether a string may end in this state: the bits since the last symbol must be a prefix of
// EOS (all ones) and shorter than a byte (RFC 7541 section 5.2).
const HUFFMAN_PADDING_OK = new Uint8Array(256);

{
  // children[node * 2 + bit] is an internal node (> 0) or a leaf, stored as -(symbol + 1).
  const children = new Int16Array(256 * 2);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256).fill(1, 0, 1);
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    let node = 0;
    for (let i = HUFFMAN_LENGTHS[symbol]! - 1; i > 0; i--) {
      const bit = (code >>> i) & 1;
      if (children[node * 2 + bit] === 0) {
        children[node * 2 + bit] = nodes;
        depth[nodes] = depth[node]! + 1;
        allOnes[nodes] = allOnes[node]! & bit;
        nodes++;
      }
      node = children[node * 2 + bit]!;
    }
    children[node * 2 + (code & 1)] = -(symbol + 1);
  }
  if (nodes !== 256) throw new Error('HPACK Huffman table is not a complete code');

  for (let state = 0; state < 256; state++) {
    HUFFMAN_PADDING_OK[state] = allOnes[state]! && depth[state]! <= 7 ? 1 : 0;
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      for (let i = 3; i >= 0; i--) {
        const child = children[node * 2 + ((nibble >>> i) & 1)]!;
        if (child > 0) {
          node = child;
        } else {
          HUFFMAN_EMIT[state * 16 + nibble] = -child - 1;
          node = 0;
        }
      }
      HUFFMAN_NEXT[state * 16 + nibble] = node;
    }
  }
}

// Decoded strings are written here first; header blocks are decoded synchronously, so one will do.
let huffmanScratch = Buffer.allocUnsafe(1024);

function huffmanDecode(buf: Buffer, start: number, end: number): string {
  // The shortest code is 5 bits, so n bytes decode to at most 8n/5 symbols.
  const most = Math.floor(((end - start) * 8) / 5);
  if (huffmanScratch.length < most) huffmanScratch = Buffer.allocUnsafe(most);
  const out = huffmanScratch;
  let length = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let shift = 4; shift >= 0; shift -= 4) {
      const at = state * 16 + ((byte >>> shift) & 0x0f);
      const symbol = HUFFMAN_EMIT[at]!;
      if (symbol === EOS) throw new HpackError('HPACK: EOS symbol inside a Huffman-encoded string');
      if (symbol >= 0) out[length++] = symbol;
      state = HUFFMAN_NEXT[at]!;
    }
  }
  if (!HUFFMAN_PADDING_OK[state]) {
    throw new HpackError('HPACK: Huffman padding is longer than 7 bits or not the most significant bits of EOS');
  }
  return out.toString('latin1', 0, length);
}

const FORBIDDEN_IN_NAME = /[\x00-\x20\x7f-\xff]/;
const FORBIDDEN_IN_VALUE = /[\0\r\n]/;

/** A cursor over one header block: the primitive types of RFC 7541 section 5. */
class BlockReader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  /** An integer with an N-bit prefix, starting at the current byte (its high bits are not ours). */
  integer(prefixBits: number): number {
    const { buf } = this;
    if (this.pos >= buf.length) throw new HpackError('HPACK: truncated integer');
    const max = (1 << prefixBits) - 1;
    let value = buf[this.pos++]! & max;
    if (value < max) return value;
    // Five continuation bytes carry 35 bits, already more than we accept.
    for (let shift = 0; shift <= 28; shift += 7) {
      if (this.pos >= buf.length) throw new HpackError('HPACK: truncated integer');
      const byte = buf[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > 0x7fffffff) throw new HpackError('HPACK: integer larger than 2^31 - 1');
        return value;
      }
    }
    throw new HpackError('HPACK: integer has too many continuation bytes');
  }

  string(): string {
    const { buf } = this;
    if (this.pos >= buf.length) throw new HpackError('HPACK: truncated string length');
    const huffman = (buf[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    if (length > buf.length - this.pos) throw new HpackError('HPACK: truncated string');
    const start = this.pos;
    this.pos += length;
    return huffman ? huffmanDecode(buf, start, this.pos) : buf.toString('latin1', start, this.pos);
  }

  name(): string {
    const name = this.string();
    // RFC 9113 section 8.2.1: a field name with uppercase letters, controls, spaces or bytes over
    // 0x7e makes the message malformed. Taken, such a name reached grpc-js's Metadata, which drops
    // it with a log line per header (found by test/flight/h2-relay-fuzz.test.ts).
    if (/[A-Z]/.test(name)) throw new HpackError(`HPACK: header name ${JSON.stringify(name)} has uppercase letters`);
    if (FORBIDDEN_IN_NAME.test(name)) throw new HpackError(`HPACK: header name ${JSON.stringify(name)} has a character HTTP/2 forbids`);
    return name;
  }

  value(): string {
    const value = this.string();
    // RFC 9113 section 8.2.1 again: NUL, CR and LF would let a value pass for more than one field.
    if (FORBIDDEN_IN_VALUE.test(value)) throw new HpackError(`HPACK: header value ${JSON.stringify(value)} has a character HTTP/2 forbids`);
    return value;
  }
}

const ENTRY_OVERHEAD = 32;

/**
 * Decodes the header blocks of one HTTP/2 connection, in the order they arrive, keeping the
 * dynamic table the peer's encoder builds.
 *
 * ```ts
 * const hpack = new HpackDecoder(4096); // what we announce as SETTINGS_HEADER_TABLE_SIZE
 * const headers = hpack.decode(headersAndContinuationPayloads, 16 * 1024);
 * // [[':status', '200'], ['content-type', 'application/grpc'], ...]
 * ```
 *
 * Every error is an HpackError, which HTTP/2 treats as a connection error (COMPRESSION_ERROR),
 * except HeaderListTooLarge, after which the connection can go on.
 */
export class HpackDecoder {
  readonly #maxTableSize: number;
  #capacity: number;
  #size = 0;
  // Oldest first: dynamic index 1 (table index 62) is the last entry.
  #entries: Array<readonly [string, string]> = [];

  constructor(maxTableSize = 4096) {
    if (!Number.isInteger(maxTableSize) || maxTableSize < 0 || maxTableSize > 0x7fffffff) {
      throw new RangeError(`HPACK table size must be an integer in [0, 2^31): ${maxTableSize}`);
    }
    this.#maxTableSize = maxTableSize;
    this.#capacity = maxTableSize;
  }

  /**
   * Decodes one complete header block (HEADERS and CONTINUATION payloads joined). A block is
   * always decoded to its end, even one whose list is over `maxListBytes` (counted as in
   * SETTINGS_MAX_HEADER_LIST_SIZE), so that the table stays in step with the peer's.
   */
  decode(block: Uint8Array, maxListBytes = Infinity): Array<[name: string, value: string]> {
    const reader = new BlockReader(Buffer.from(block.buffer, block.byteOffset, block.byteLength));
    const headers: Array<[string, string]> = [];
    let fields = 0;
    let listBytes = 0;
    while (!reader.done) {
      const first = reader.buf[reader.pos]!;
      let name: string;
      let value: string;
      if (first & 0x80) {
        [name, value] = this.#field(reader.integer(7));
      } else if (first & 0x40) {
        const index = reader.integer(6);
        name = index === 0 ? reader.name() : this.#field(index)[0];
        value = reader.value();
        this.#insert(name, value);
      } else if (first & 0x20) {
        if (fields > 0) throw new HpackError('HPACK: dynamic table size update after a header field');
        const size = reader.integer(5);
        if (size > this.#maxTableSize) {
          throw new HpackError(`HPACK: dynamic table size update to ${size}, above our maximum of ${this.#maxTableSize}`);
        }
        this.#capacity = size;
        this.#evict(size);
        continue;
      } else {
        // Without indexing (0000) and never indexed (0001) read the same; neither touches the table.
        const index = reader.integer(4);
        name = index === 0 ? reader.name() : this.#field(index)[0];
        value = reader.value();
      }
      fields++;
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      // Past the limit the fields are only decoded for the table's sake; don't hold on to them.
      if (listBytes <= maxListBytes) headers.push([name, value]);
    }
    if (listBytes > maxListBytes) throw new HeaderListTooLarge(listBytes, maxListBytes);
    return headers;
  }

  #field(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('HPACK: index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const entry = this.#entries[this.#entries.length - 1 - (index - STATIC_TABLE.length - 1)];
    if (entry === undefined) {
      throw new HpackError(`HPACK: index ${index} is past the end of the table (${STATIC_TABLE.length + this.#entries.length})`);
    }
    return entry;
  }

  #insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (RFC 7541 section 4.4).
    this.#evict(Math.max(0, this.#capacity - size));
    if (size <= this.#capacity) {
      this.#entries.push([name, value]);
      this.#size += size;
    }
  }

  #evict(limit: number): void {
    while (this.#size > limit) {
      const [name, value] = this.#entries.shift()!;
      this.#size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}

const STATIC_NAME_INDEX = new Map<string, number>();
const STATIC_FIELD_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
  STATIC_FIELD_INDEX.set(`${name}\n${value}`, i + 1);
});

function writeInteger(buf: Buffer, pos: number, flags: number, prefixBits: number, value: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    buf[pos++] = flags | value;
    return pos;
  }
  buf[pos++] = flags | max;
  value -= max;
  while (value >= 0x80) {
    buf[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buf[pos++] = value;
  return pos;
}

function writeString(buf: Buffer, pos: number, text: string): number {
  pos = writeInteger(buf, pos, 0x00, 7, text.length);
  return pos + buf.write(text, pos, 'latin1');
}

const NOT_LATIN1 = /[^\x00-\xff]/;

/**
 * Encodes a header list into one header block for a peer whose dynamic table we never use:
 * an exact static-table match is indexed, anything else is a literal without indexing, with
 * the static name index where there is one. Strings go raw, without Huffman coding. Names are
 * lowercased; a character outside latin1 is a TypeError rather than a silently mangled byte.
 *
 * ```ts
 * encodeHeaders([[':method', 'POST'], [':path', '/arrow.flight.protocol.FlightService/DoGet'], ['te', 'trailers']]);
 * ```
 */
export function encodeHeaders(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  // Per field at most 1 + 5 bytes of representation and index, and 5 + 5 of string lengths.
  let bound = 0;
  for (const [name, value] of headers) bound += 16 + name.length + value.length;
  const buf = Buffer.allocUnsafe(bound);
  let pos = 0;
  for (const [rawName, value] of headers) {
    const name = rawName.toLowerCase();
    if (NOT_LATIN1.test(name) || NOT_LATIN1.test(value)) {
      throw new TypeError(`header ${JSON.stringify(name)} has a character outside latin1`);
    }
    const field = STATIC_FIELD_INDEX.get(`${name}\n${value}`);
    if (field !== undefined) {
      pos = writeInteger(buf, pos, 0x80, 7, field);
      continue;
    }
    const nameIndex = STATIC_NAME_INDEX.get(name);
    if (nameIndex !== undefined) {
      pos = writeInteger(buf, pos, 0x00, 4, nameIndex);
    } else {
      buf[pos++] = 0x00;
      pos = writeString(buf, pos, name);
    }
    pos = writeString(buf, pos, value);
  }
  return buf.subarray(0, pos);
}
