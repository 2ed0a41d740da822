// A check of an Arrow IPC Message flatbuffer before arrow-js decodes it. arrow-js (like the
// flatbuffers runtime under it) trusts every length and offset it reads: a header whose vector
// of field nodes claims two billion entries makes it build a two-billion-element array, and a
// schema whose fields name the same child table over and over unfolds into an exponential tree
// (either ran a server out of memory with one FlightData message of a few kilobytes; found by
// test/fuzz/fuzz.test.ts). Reads past the end do not throw there: they return zeros, so a lying
// offset becomes a type, a length or a name made of whatever lies nearby.
//
// So here every table, vector, string and scalar that Message.decode visits must lie inside the
// buffer; every 64-bit count it converts to a number must fit one exactly (bigIntToNumber throws
// otherwise); every type it reads a table of must have that table (it dereferences null
// otherwise); a KeyValue has both its key and its value; nesting is bounded, and so is the number
// of table visits.
//
// The layout facts (the field slots of Message, Schema, Field, KeyValue, DictionaryEncoding,
// RecordBatch, BodyCompression, DictionaryBatch and of each table of the Type union, the
// numbering of the Type and MessageHeader unions) are those of Arrow's Message.fbs and
// Schema.fbs.

/** Deeper than any real schema nests; flatbuffers' own verifier defaults to 64 as well. */
const MAX_DEPTH = 64;

/** The MessageHeader union; Tensor (4) and SparseTensor (5) are left to the decoder, which refuses them. */
const enum HeaderType {
  Schema = 1,
  DictionaryBatch = 2,
  RecordBatch = 3,
}

/** MetadataVersion: V4 is Arrow 0.8 (2017); older buffers had another layout, which arrow-js reads differently. */
const METADATA_V4 = 3;
const ENDIANNESS_BIG = 1;

/** Sizes of the scalar fields of a table, in slot order; a string or vector slot is checked on its own. */
type Slots = readonly (1 | 2 | 4 | 8 | 'string' | 'int-vector')[];

/**
 * The tables of the Type union, by tag, with the slots arrow-js reads from each. `required`:
 * arrow-js reads a field of the table, and dereferences null when it is missing. The others
 * (Null, Binary, Utf8, Bool, List, Struct_, LargeBinary, LargeUtf8, LargeList, BinaryView,
 * Utf8View) are empty tables arrow-js never opens; RunEndEncoded, ListView and LargeListView are
 * tags arrow-js refuses itself, naming them.
 */
const TYPE_TABLES = new Map<number, { name: string; slots: Slots }>([
  [2, { name: 'Int', slots: [4, 1] }], // bitWidth, is_signed
  [3, { name: 'FloatingPoint', slots: [2] }], // precision
  [7, { name: 'Decimal', slots: [4, 4, 4] }], // precision, scale, bitWidth
  [8, { name: 'Date', slots: [2] }], // unit
  [9, { name: 'Time', slots: [2, 4] }], // unit, bitWidth
  [10, { name: 'Timestamp', slots: [2, 'string'] }], // unit, timezone
  [11, { name: 'Interval', slots: [2] }], // unit
  [14, { name: 'Union', slots: [2, 'int-vector'] }], // mode, typeIds
  [15, { name: 'FixedSizeBinary', slots: [4] }], // byteWidth
  [16, { name: 'FixedSizeList', slots: [4] }], // listSize
  [17, { name: 'Map', slots: [1] }], // keysSorted
  [18, { name: 'Duration', slots: [2] }], // unit
]);
/** The last tag of the Type union (LargeListView). */
const LAST_TYPE_TAG = 26;
const INT_SLOTS: Slots = [4, 1];

/** A reason to refuse the flatbuffer, as opposed to a bug in this file. */
class Refused extends Error {}

class FlatbufferReader {
  private readonly view: DataView;
  private tables = 0;
  private readonly maxTables: number;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // A table takes at least 4 bytes; sharing one many times is how a few kilobytes unfold
    // into millions of objects, so visits are bounded by the size, not by distinct tables.
    this.maxTables = Math.max(1024, bytes.byteLength >> 2);
  }

  private need(at: number, size: number, what: string): void {
    if (!Number.isInteger(at) || at < 0 || size < 0 || at + size > this.bytes.byteLength) {
      throw new Refused(`${what} at byte ${at} (${size} bytes) lies outside the ${this.bytes.byteLength}-byte flatbuffer`);
    }
  }

  u8(at: number, what: string): number {
    this.need(at, 1, what);
    return this.view.getUint8(at);
  }

  u16(at: number, what: string): number {
    this.need(at, 2, what);
    return this.view.getUint16(at, true);
  }

  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, true);
  }

  i64(at: number, what: string): bigint {
    this.need(at, 8, what);
    return this.view.getBigInt64(at, true);
  }

  /** The root table's position. */
  root(): number {
    return this.table(this.u32(0, 'the root offset'), 'the root table');
  }

  /** Checks the table at `at` and its vtable; counts it against the budget. */
  table(at: number, what: string): number {
    if (++this.tables > this.maxTables) throw new Refused(`more than ${this.maxTables} tables: the flatbuffer reuses its tables too often`);
    this.need(at, 4, what);
    const vtable = at - this.view.getInt32(at, true);
    this.need(vtable, 4, `the vtable of ${what}`);
    const vtableSize = this.view.getUint16(vtable, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new Refused(`the vtable of ${what} has size ${vtableSize}`);
    this.need(vtable, vtableSize, `the vtable of ${what}`);
    this.need(at, this.view.getUint16(vtable + 2, true), what);
    return at;
  }

  /** Where field `slot` of the table at `table` is stored, or 0 when it is absent. */
  field(table: number, slot: number): number {
    const vtable = table - this.view.getInt32(table, true);
    const entry = 4 + 2 * slot;
    if (entry >= this.view.getUint16(vtable, true)) return 0;
    const offset = this.view.getUint16(vtable + entry, true);
    return offset === 0 ? 0 : table + offset;
  }

  /** A scalar field of `size` bytes lies inside the buffer, if present. */
  scalar(table: number, slot: number, size: number, what: string): void {
    const at = this.field(table, slot);
    if (at !== 0) this.need(at, size, what);
  }

  /** A 64-bit integer field, as arrow-js converts it to a number: 0n when absent. */
  long(table: number, slot: number, what: string): bigint {
    const at = this.field(table, slot);
    return at === 0 ? 0n : this.exact(this.i64(at, what), what);
  }

  /** A 64-bit integer must fit a JS number exactly, or arrow-js throws converting it. */
  exact(value: bigint, what: string): bigint {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Refused(`${what} is ${value}, beyond the 2^53 a number holds exactly`);
    }
    return value;
  }

  /** Follows an offset field to the table it names; 0 when absent. */
  child(table: number, slot: number, what: string): number {
    const at = this.field(table, slot);
    return at === 0 ? 0 : this.table(at + this.u32(at, what), what);
  }

  /** A vector field: its element count, its elements in bounds; [start, length], or null when absent. */
  vector(table: number, slot: number, elementSize: number, what: string): [number, number] | null {
    const at = this.field(table, slot);
    if (at === 0) return null;
    const start = at + this.u32(at, what);
    const length = this.u32(start, `the length of ${what}`);
    this.need(start + 4, length * elementSize, `${what} of ${length} elements`);
    return [start + 4, length];
  }

  /** A string field (a vector of bytes); whether it is present. */
  string(table: number, slot: number, what: string): boolean {
    return this.vector(table, slot, 1, what) !== null;
  }

  /** Each table of a vector of offsets to tables. */
  *tables_(table: number, slot: number, what: string): Generator<number> {
    const vector = this.vector(table, slot, 4, what);
    if (!vector) return;
    for (let i = 0; i < vector[1]; i++) {
      const at = vector[0] + 4 * i;
      yield this.table(at + this.u32(at, what), `${what}[${i}]`);
    }
  }
}

function verifyScalars(r: FlatbufferReader, table: number, slots: Slots, what: string): void {
  slots.forEach((size, slot) => {
    if (size === 'string') {
      r.string(table, slot, `a string of ${what}`);
    } else if (size === 'int-vector') {
      const vector = r.vector(table, slot, 4, `a vector of ${what}`);
      // arrow-js reads it as an Int32Array over the flatbuffer itself (8-byte aligned by then).
      if (vector && vector[0] % 4 !== 0) throw new Refused(`a vector of ${what} at byte ${vector[0]} is not 4-byte aligned`);
    } else {
      r.scalar(table, slot, size, `a field of ${what}`);
    }
  });
}

function verifyKeyValues(r: FlatbufferReader, table: number, slot: number, what: string): void {
  for (const kv of r.tables_(table, slot, what)) {
    if (!r.string(kv, 0, `a key of ${what}`)) throw new Refused(`an entry of ${what} has no key`);
    if (!r.string(kv, 1, `a value of ${what}`)) throw new Refused(`an entry of ${what} has no value`);
  }
}

function verifyField(r: FlatbufferReader, field: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Refused(`fields nest deeper than ${MAX_DEPTH} levels`);
  r.string(field, 0, 'a field name');
  r.scalar(field, 1, 1, 'the nullable flag of a field');
  const tagAt = r.field(field, 2);
  const tag = tagAt ? r.u8(tagAt, 'a field type tag') : 0;
  if (tag === 0) throw new Refused('a field has no type (type tag NONE)');
  if (tag > LAST_TYPE_TAG) throw new Refused(`a field has type tag ${tag}, which the Arrow format does not define`);
  const type = r.child(field, 3, 'a field type');
  const table = TYPE_TABLES.get(tag);
  if (table) {
    if (!type) throw new Refused(`a field of type ${table.name} has no ${table.name} table`);
    verifyScalars(r, type, table.slots, `a ${table.name} type`);
  }
  const dictionary = r.child(field, 4, 'a dictionary encoding');
  if (dictionary) {
    r.long(dictionary, 0, 'a dictionary id');
    const indexType = r.child(dictionary, 1, 'the index type of a dictionary');
    if (indexType) verifyScalars(r, indexType, INT_SLOTS, 'the index type of a dictionary');
    r.scalar(dictionary, 2, 1, 'the isOrdered flag of a dictionary');
    r.scalar(dictionary, 3, 2, 'the kind of a dictionary');
  }
  for (const child of r.tables_(field, 5, 'the children of a field')) verifyField(r, child, depth + 1);
  verifyKeyValues(r, field, 6, 'the custom metadata of a field');
}

function verifyRecordBatch(r: FlatbufferReader, batch: number): void {
  r.long(batch, 0, 'the row count of the record batch');
  // FieldNode {length, null_count} and Buffer {offset, length}: two longs each.
  for (const [slot, what] of [
    [1, 'the field nodes'],
    [2, 'the buffers'],
  ] as const) {
    const vector = r.vector(batch, slot, 16, what);
    if (!vector) continue;
    for (let i = 0; i < vector[1] * 2; i++) r.exact(r.i64(vector[0] + 8 * i, what), `a word of ${what}[${i >> 1}]`);
  }
  const compression = r.child(batch, 3, 'the body compression');
  if (compression) verifyScalars(r, compression, [1, 1], 'the body compression');
  const counts = r.vector(batch, 4, 8, 'the variadic buffer counts');
  if (counts) {
    for (let i = 0; i < counts[1]; i++) r.exact(r.i64(counts[0] + 8 * i, 'a variadic buffer count'), `variadic buffer count ${i}`);
  }
}

/**
 * Throws an Error naming the first thing in `flatbuffer` (a Message, as FlightData.data_header
 * carries it) that arrow-js's Message.decode would read outside it or misread. Message types
 * other than Schema, RecordBatch and DictionaryBatch are left to the decoder, which refuses them.
 */
export function verifyIpcMessage(flatbuffer: Uint8Array): void {
  const r = new FlatbufferReader(flatbuffer);
  try {
    const message = r.root();
    const versionAt = r.field(message, 0);
    const version = versionAt ? r.u16(versionAt, 'the metadata version') : 0;
    if (version < METADATA_V4) throw new Refused(`metadata version V${version + 1} (before Arrow 0.8) is not supported; V4 or V5 is`);
    r.long(message, 3, 'the body length');
    verifyKeyValues(r, message, 4, 'the custom metadata of the message');
    const typeAt = r.field(message, 1);
    const headerType = typeAt ? r.u8(typeAt, 'the header type') : 0;
    if (headerType < HeaderType.Schema || headerType > HeaderType.RecordBatch) return;
    const header = r.child(message, 2, 'the message header');
    if (!header) throw new Refused('the message has a header type but no header');
    switch (headerType) {
      case HeaderType.Schema: {
        const endiannessAt = r.field(header, 0);
        if (endiannessAt && r.u16(endiannessAt, 'the endianness of the schema') === ENDIANNESS_BIG) {
          throw new Refused('the schema declares big-endian data; only little-endian is supported');
        }
        for (const field of r.tables_(header, 1, 'the schema fields')) verifyField(r, field, 1);
        verifyKeyValues(r, header, 2, 'the custom metadata of the schema');
        r.vector(header, 3, 8, 'the schema features');
        return;
      }
      case HeaderType.RecordBatch:
        verifyRecordBatch(r, header);
        return;
      case HeaderType.DictionaryBatch: {
        r.long(header, 0, 'the id of a dictionary batch');
        const data = r.child(header, 1, 'the data of a dictionary batch');
        if (!data) throw new Refused('a dictionary batch has no data');
        verifyRecordBatch(r, data);
        r.scalar(header, 2, 1, 'the isDelta flag of a dictionary batch');
        return;
      }
    }
  } catch (error) {
    if (error instanceof Refused) throw new Error(error.message);
    throw error;
  }
}
