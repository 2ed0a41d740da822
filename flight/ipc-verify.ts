// A bounds check of an Arrow IPC Message flatbuffer before arrow-js decodes it. arrow-js (like
// the flatbuffers runtime under it) trusts every length it reads: a header whose vector of
// field nodes claims two billion entries makes it build a two-billion-element array, and a
// schema whose fields name the same child table over and over unfolds into an exponential
// tree. Either ran a server out of memory with one FlightData message of a few kilobytes
// (found by test/fuzz/fuzz.test.ts). Here every table, vector and string the decoder will
// visit must lie inside the buffer, nesting is bounded, and so is the number of tables.
//
// The layout facts (field slots of Message, Schema, Field, KeyValue, DictionaryEncoding,
// RecordBatch, DictionaryBatch and Union) are those of Arrow's Message.fbs and Schema.fbs.

/** Deeper than any real schema nests; flatbuffers' own verifier defaults to 64 as well. */
const MAX_DEPTH = 64;

const enum HeaderType {
  Schema = 1,
  DictionaryBatch = 2,
  RecordBatch = 3,
}

/** Type.Union in Schema.fbs's Type union. */
const TYPE_UNION = 14;

class Bounds extends Error {}

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
      throw new Bounds(`${what} at byte ${at} (${size} bytes) lies outside the ${this.bytes.byteLength}-byte flatbuffer`);
    }
  }

  u8(at: number, what: string): number {
    this.need(at, 1, what);
    return this.view.getUint8(at);
  }

  u32(at: number, what: string): number {
    this.need(at, 4, what);
    return this.view.getUint32(at, true);
  }

  /** The root table's position. */
  root(): number {
    return this.table(this.u32(0, 'the root offset'), 'the root table');
  }

  /** Checks the table at `at` and its vtable; counts it against the budget. */
  table(at: number, what: string): number {
    if (++this.tables > this.maxTables) throw new Bounds(`more than ${this.maxTables} tables: the flatbuffer reuses its tables too often`);
    this.need(at, 4, what);
    const vtable = at - this.view.getInt32(at, true);
    this.need(vtable, 4, `the vtable of ${what}`);
    const vtableSize = this.view.getUint16(vtable, true);
    if (vtableSize < 4 || vtableSize % 2 !== 0) throw new Bounds(`the vtable of ${what} has size ${vtableSize}`);
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

function verifyKeyValues(r: FlatbufferReader, table: number, slot: number, what: string): void {
  for (const kv of r.tables_(table, slot, what)) {
    r.vector(kv, 0, 1, `a key of ${what}`);
    r.vector(kv, 1, 1, `a value of ${what}`);
  }
}

function verifyField(r: FlatbufferReader, field: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new Bounds(`fields nest deeper than ${MAX_DEPTH} levels`);
  r.vector(field, 0, 1, 'a field name');
  const typeTag = r.field(field, 2) ? r.u8(r.field(field, 2), 'a field type tag') : 0;
  const type = r.child(field, 3, 'a field type');
  if (type && typeTag === TYPE_UNION) r.vector(type, 1, 4, 'the type ids of a union');
  const dictionary = r.child(field, 4, 'a dictionary encoding');
  if (dictionary) r.child(dictionary, 1, 'the index type of a dictionary');
  for (const child of r.tables_(field, 5, 'the children of a field')) verifyField(r, child, depth + 1);
  verifyKeyValues(r, field, 6, 'the custom metadata of a field');
}

function verifyRecordBatch(r: FlatbufferReader, batch: number): void {
  r.vector(batch, 1, 16, 'the field nodes');
  r.vector(batch, 2, 16, 'the buffers');
  r.child(batch, 3, 'the body compression');
  r.vector(batch, 4, 8, 'the variadic buffer counts');
}

/**
 * Throws an Error naming the first thing that lies outside `flatbuffer` (a Message, as
 * FlightData.data_header carries it). Message types other than Schema, RecordBatch and
 * DictionaryBatch are left to the decoder, which refuses them.
 */
export function verifyIpcMessage(flatbuffer: Uint8Array): void {
  const r = new FlatbufferReader(flatbuffer);
  try {
    const message = r.root();
    verifyKeyValues(r, message, 4, 'the custom metadata of the message');
    const typeAt = r.field(message, 1);
    const headerType = typeAt ? r.u8(typeAt, 'the header type') : 0;
    const header = r.child(message, 2, 'the message header');
    if (!header) return;
    switch (headerType) {
      case HeaderType.Schema:
        for (const field of r.tables_(header, 1, 'the schema fields')) verifyField(r, field, 1);
        verifyKeyValues(r, header, 2, 'the custom metadata of the schema');
        r.vector(header, 3, 8, 'the schema features');
        return;
      case HeaderType.RecordBatch:
        verifyRecordBatch(r, header);
        return;
      case HeaderType.DictionaryBatch: {
        const data = r.child(header, 1, 'the data of a dictionary batch');
        if (data) verifyRecordBatch(r, data);
        return;
      }
      default:
        return;
    }
  } catch (error) {
    if (error instanceof Bounds) throw new Error(error.message);
    throw error;
  }
}
