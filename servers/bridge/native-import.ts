// Uploads through the native addon (native/src/import_stream.cc): each received record batch is
// described to C++ as ArrowArrays over the very Buffers the Flight decoder holds (its offsets and
// lengths verified there, its text checked for UTF-8 here), and DuckDB's own Arrow scan feeds
// `INSERT INTO t SELECT * FROM <view of the stream>` on threads other than this one. The
// transaction, the table's creation and the column plan stay with appendBatches (import.ts).

import { DataType, TimeUnit, DateUnit, Precision, type Data, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import type duckdb from '@duckdb/node-bindings';
import type { NativeAddon, NativeField } from './native.ts';
import { checkUtf8Rows } from './arrow-to-duckdb/strings.ts';
import { quoteIdentifier } from './sql.ts';

/** Batches queued for DuckDB beyond the one it converts: enough to keep its threads busy. */
const QUEUE_BATCHES = 4;

/** One node: [length, nullCount, offset, buffers, children, dictionary]. */
type NodeDescription = [number, number, number, (ArrayBufferView | null)[], NodeDescription[], NodeDescription | null];

/** What native/src/import_stream.cc exports. */
export interface NativeImportAddon {
  openImport(
    connection: duckdb.Connection,
    fields: NativeField[],
    view: string,
    insertSql: string,
    capacity: number,
    onEvent: (done: boolean, error: string | null) => void,
    appendTo?: NativeTarget,
  ): object;
  pushImport(stream: object, root: NodeDescription): boolean;
  finishImport(stream: object): void;
  abortImport(stream: object, message: string): void;
  closeImport(stream: object): void;
}

/**
 * The C data interface format of a type the native path takes, or null. It takes the types whose
 * DuckDB Arrow import gives what the JavaScript bridge gives (the tests compare the two); the
 * rest (dictionaries, views, unions, maps, intervals, extension types whose bytes need checking,
 * nanosecond times) stay on the JavaScript bridge.
 */
function formatOf(field: Field): string | null {
  if (field.metadata.size > 0) return null;
  const type = field.type;
  if (DataType.isBool(type)) return 'b';
  if (DataType.isInt(type)) return (type.isSigned ? 'csil' : 'CSIL')[Math.log2(type.bitWidth) - 3] ?? null;
  if (DataType.isFloat(type)) return type.precision === Precision.SINGLE ? 'f' : type.precision === Precision.DOUBLE ? 'g' : null;
  if (DataType.isDecimal(type)) return type.bitWidth === 128 && type.precision <= 38 ? `d:${type.precision},${type.scale}` : null;
  if (DataType.isUtf8(type)) return 'u';
  if (DataType.isBinary(type)) return 'z';
  if (DataType.isLargeBinary(type)) return 'Z';
  if (DataType.isDate(type)) return type.unit === DateUnit.DAY ? 'tdD' : 'tdm';
  if (DataType.isTime(type)) return type.unit === TimeUnit.NANOSECOND ? null : `tt${'smu'[type.unit]}`;
  if (DataType.isTimestamp(type)) return `ts${'smun'[type.unit]}:${type.timezone ?? ''}`;
  if (DataType.isList(type)) return '+l';
  if (DataType.isStruct(type)) return type.children.length > 0 ? '+s' : null;
  return null;
}

function nativeField(field: Field): NativeField | null {
  const format = formatOf(field);
  if (format === null) return null;
  const children: NativeField[] = [];
  for (const child of field.type.children ?? []) {
    const described = nativeField(child);
    if (described === null) return null;
    children.push(described);
  }
  return { name: field.name, format, nullable: field.nullable, metadata: {}, children, dictionary: null };
}

/** The schema's fields for the addon, or null when a field needs the JavaScript bridge. */
export function nativeFields(schema: Schema): NativeField[] | null {
  const fields: NativeField[] = [];
  for (const field of schema.fields) {
    const described = nativeField(field);
    if (described === null) return null;
    fields.push(described);
  }
  return fields.length > 0 ? fields : null;
}

const EMPTY: never[] = [];

/**
 * One Data as the addon reads it, after the checks of the bytes DuckDB stores unchecked (UTF-8).
 * Buffers go in the C data interface's order: validity, then offsets and values as the type has.
 */
function describeData(data: Data): NodeDescription {
  const type = data.type;
  const bits = data.nullCount > 0 && data.nullBitmap !== undefined && data.nullBitmap.length > 0 ? data.nullBitmap : undefined;
  if (DataType.isUtf8(type)) checkUtf8Rows(data, bits, 0, data.length);
  // A sliced arrow-js Data has its offsets and values sliced already but not its bits, where the
  // C data interface applies one offset to every buffer: the bits are shifted to row 0.
  const sliced = data.offset !== 0;
  const validity = bits === undefined ? null : sliced ? shiftBits(bits, data.offset, data.length) : bits;
  let buffers: (ArrayBufferView | null)[];
  if (DataType.isUtf8(type) || DataType.isBinary(type) || DataType.isLargeBinary(type)) {
    buffers = [validity, data.valueOffsets, data.values];
  } else if (DataType.isList(type)) {
    buffers = [validity, data.valueOffsets];
  } else if (DataType.isStruct(type)) {
    buffers = [validity];
  } else if (DataType.isBool(type) && sliced) {
    buffers = [validity, shiftBits(data.values as Uint8Array, data.offset, data.length)];
  } else {
    buffers = [validity, data.values];
  }
  const children = data.children.length > 0 ? data.children.map(describeData) : EMPTY;
  return [data.length, data.nullCount, 0, buffers, children, null];
}

/** Bits [from, from + length) of `bits` as a bitmap from bit 0. */
function shiftBits(bits: Uint8Array, from: number, length: number): Uint8Array {
  const out = new Uint8Array(((length + 63) >> 6) * 8);
  for (let i = 0; i < length; i++) {
    const bit = from + i;
    if ((bits[bit >> 3]! >> (bit & 7)) & 1) out[i >> 3] = out[i >> 3]! | (1 << (i & 7));
  }
  return out;
}

/** The INSERT failed in DuckDB (a constraint, a cast): DuckDB's message. */
export class NativeInsertError extends Error {}

export interface NativeTarget {
  catalog: string;
  schema: string;
  table: string;
}

let views = 0;

/** Uploads that went through the addon (the tests check which path an upload took). */
export const nativeImportStats = { uploads: 0 };

/**
 * How the addon puts the rows in: 'scan' (DuckDB's Arrow scan under INSERT ... SELECT, on
 * DuckDB's threads) or 'appender' (duckdb_data_chunk_from_arrow per 2048 rows into an appender,
 * on the addon's one thread). The scan measured faster on the quiet 2-core machine (session 7):
 * bench/bridge.ts, 6M flights rows held in memory, 2 runs each, 3.22/3.59 s against 4.39/4.09 s
 * (DuckDB's INSERT from Parquet 4.15/3.87 s); `npm run bench -- --rows 24M --runs 1` with each in
 * turn, ours in M rows/s (scan, appender): TRANSFER direct 1.40, 1.13; TRANSFER through the
 * client 1.12, 1.02; PUT 1.25, 1.35. In session 5, at a load of 18, the appender had measured
 * faster (6M rows: 22.8 s against 28.8 s). While a slow client's batches are on their way the
 * scan holds DuckDB's worker threads in get_next: other queries then run on their own threads
 * only, as with threads = 1.
 */
export const nativeImportSettings: { mode: 'scan' | 'appender' } = { mode: 'scan' };

/**
 * Streams `batches` into `target` through the addon. The caller holds the transaction and checks
 * each batch against the upload's schema (`check`), and `next` gives up when the upload is aborted; the rows are appended when this resolves,
 * and on any failure (a batch, DuckDB, an abort) it rejects and the caller rolls back.
 */
export async function appendNative(
  addon: NativeAddon & NativeImportAddon,
  connection: duckdb.Connection,
  fields: NativeField[],
  target: NativeTarget,
  next: () => Promise<IteratorResult<RecordBatch>>,
  check: (batch: RecordBatch, index: number) => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  nativeImportStats.uploads++;
  const view = `duck_flight_import_${process.pid}_${++views}`;
  const qualified = [target.catalog, target.schema, target.table].map(quoteIdentifier).join('.');
  let wake: (() => void) | null = null;
  let outcome: { error: string | null } | null = null;
  const stream = addon.openImport(
    connection,
    fields,
    view,
    `INSERT INTO ${qualified} SELECT * FROM ${quoteIdentifier(view)}`,
    QUEUE_BATCHES,
    (done, error) => {
      if (done) outcome = { error };
      const resume = wake;
      wake = null;
      resume?.();
    },
    nativeImportSettings.mode === 'appender' ? target : undefined,
  );
  const event = () => new Promise<void>((resolve) => (wake = resolve));
  const onAbort = () => addon.abortImport(stream, 'the upload was cancelled');
  signal?.addEventListener('abort', onAbort, { once: true });
  let rows = 0;
  try {
    try {
      signal?.throwIfAborted();
      for (let index = 0; outcome === null; index++) {
        const result = await next();
        if (result.done) break;
        const batch = result.value;
        check(batch, index);
        signal?.throwIfAborted();
        rows += batch.numRows;
        const root: NodeDescription = [batch.numRows, 0, 0, [null], batch.data.children.map(describeData), null];
        if (!addon.pushImport(stream, root)) await event();
      }
      addon.finishImport(stream);
    } catch (error) {
      addon.abortImport(stream, error instanceof Error ? error.message : String(error));
      while (outcome === null) await event();
      throw error;
    }
    while (outcome === null) await event();
    const { error } = outcome as { error: string | null };
    if (error !== null) {
      signal?.throwIfAborted();
      throw new NativeInsertError(error);
    }
    return rows;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    addon.closeImport(stream);
  }
}
