// Export through the native addon: a DuckDB query's result as Arrow IPC messages built by
// DuckDB's own converter on the addon's thread (native/src/export_stream.cc). The JavaScript
// thread only frames them: the schema message comes from the field list the addon describes,
// the batches arrive serialized (EncodedBatch), their bodies in memory the addon wrote.

import type { DuckDBConnection } from '@duckdb/node-api';
import {
  Binary,
  Bool,
  DataType,
  DateDay,
  DateMillisecond,
  Decimal,
  Dictionary,
  Duration,
  Field,
  FixedSizeBinary,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalDayTime,
  IntervalMonthDayNano,
  IntervalYearMonth,
  LargeBinary,
  LargeList,
  LargeUtf8,
  List,
  Map_,
  Null,
  Schema,
  SparseUnion,
  Struct,
  TimeMicrosecond,
  TimeMillisecond,
  TimeNanosecond,
  TimeSecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  TimeUnit,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  type Int,
} from 'apache-arrow';
import { DEFAULT_MAX_MESSAGE_BYTES, EncodedBatch, FlightError } from '../../flight/index.ts';
import { leaseConnection } from './connection-lease.ts';
import { DEFAULT_BATCH_ROWS, runEarlierStatements } from './export.ts';
import { loadNative, type NativeExportHandle, type NativeField, type NativeMessage } from './native.ts';
import { connectionHandle } from './shared-connection.ts';

/** What a message holds besides its body: the IPC header (16 bytes a column node and a buffer) and the FlightData framing. */
const MESSAGE_HEADER_ALLOWANCE = 64 * 1024;

/**
 * The body bytes a batch may take for its message to stay within `maxMessageBytes`: a client
 * that keeps gRPC's 4 MiB default refuses a larger message. The allowance covers the header of
 * a schema of about a thousand columns.
 */
function batchBytesWithin(maxMessageBytes: number): number {
  return maxMessageBytes > 2 * MESSAGE_HEADER_ALLOWANCE ? maxMessageBytes - MESSAGE_HEADER_ALLOWANCE : Math.ceil(maxMessageBytes / 2);
}
/**
 * Options for a stream whose batches a FlightDataWriter sends (a DoGet, a DoExchange): each cut
 * to fit the server's message limit, and the bodies reused, as the writer is done with a batch
 * once it asks for the next (its write resolves once the message was copied or sent).
 */
export function writerStreamOptions(maxMessageBytes: number): Pick<NativeStreamOptions, 'maxMessageBytes' | 'reuseBodies'> {
  return { maxMessageBytes, reuseBodies: true };
}

/** Batches the addon builds ahead of the one JavaScript is sending. */
export const DEFAULT_READ_AHEAD = 3;

export interface NativeStreamOptions {
  batchRows?: number;
  /** Each batch's message stays within this many bytes, unless one row alone is larger (default DEFAULT_MAX_MESSAGE_BYTES, 4 MiB). */
  maxMessageBytes?: number;
  readAhead?: number;
  signal?: AbortSignal;
  /**
   * Write each large body into memory used again for a later batch: a batch's body is then
   * valid only until the next batch is asked for. For a consumer that is done with a batch once
   * it asks for the next, as FlightDataWriter is (its write resolves once the message has been
   * copied or sent). Fresh memory per batch costs a page fault per 4 KiB and, through V8's
   * external-memory accounting, a full GC about every 64 MB exported.
   */
  reuseBodies?: boolean;
  /**
   * Convert every chunk with DuckDB's Arrow converter. By default a result whose columns are all
   * of the plain types the addon handles itself (numbers, booleans, dates, times, timestamps,
   * text, blobs) is converted from DuckDB's vectors directly; this is the reference it is
   * checked against.
   */
  duckdbConverter?: boolean;
}

export interface NativeQueryStream extends AsyncIterable<EncodedBatch> {
  readonly schema: Schema;
  /** How chunks become Arrow: from DuckDB's vectors directly, or through DuckDB's converter (see duckdbConverter). */
  readonly converter: 'direct' | 'duckdb';
  /** Interrupts the query if it still runs; resolves once the connection has no active query. Idempotent. */
  close(): Promise<void>;
}

/** Whether `connection` can stream through the addon (it loads, and the connection is shared). */
export function nativeExportAvailable(connection: DuckDBConnection): boolean {
  return loadNative().addon !== null && connectionHandle(connection) !== undefined;
}

/**
 * Streams the result of the LAST statement of `sql` through the addon; the statements before
 * it must have run already (as runQuery does), or `runEarlier` runs them first. The connection
 * is held (leased) until the stream is closed.
 *
 * ```ts
 * const stream = await streamQueryNative(connection, 'SELECT * FROM flights', { batchRows: 65536 });
 * for await (const batch of stream) send(batch); // EncodedBatch: IPC header + body
 * ```
 */
export async function streamQueryNative(
  connection: DuckDBConnection,
  sql: string,
  options: NativeStreamOptions & { runEarlier?: boolean } = {},
): Promise<NativeQueryStream> {
  const { addon } = loadNative();
  const handle = connectionHandle(connection);
  if (!addon || !handle) throw new Error('bridge: the native export needs the addon and a connection from connectShared');
  options.signal?.throwIfAborted();
  const lease = leaseConnection(connection, 'streamQueryNative');
  try {
    if (options.runEarlier) await runEarlierStatements(connection, sql);
    options.signal?.throwIfAborted();
    const opened = await addon.openExport(handle, sql, {
      batchRows: options.batchRows ?? DEFAULT_BATCH_ROWS,
      maxBatchBytes: batchBytesWithin(options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES),
      readAhead: options.readAhead ?? DEFAULT_READ_AHEAD,
      reuseBodies: options.reuseBodies ?? false,
      duckdbConverter: options.duckdbConverter ?? false,
    });
    return new NativeStream(addon, opened.stream, schemaFromNative(opened.fields), opened.converter, () => lease.release(), options.signal);
  } catch (error) {
    lease.release();
    throw error;
  }
}

type Addon = NonNullable<ReturnType<typeof loadNative>['addon']>;

class NativeStream implements NativeQueryStream {
  private closed: Promise<void> | null = null;
  private iterating = false;

  constructor(
    private readonly addon: Addon,
    private readonly stream: NativeExportHandle,
    readonly schema: Schema,
    readonly converter: 'direct' | 'duckdb',
    private readonly release: () => void,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  private readonly onAbort = () => void this.close();

  close(): Promise<void> {
    this.closed ??= this.addon.closeExport(this.stream).finally(() => {
      this.signal?.removeEventListener('abort', this.onAbort);
      this.release();
    });
    return this.closed;
  }

  /**
   * DuckDB 1.5 stops a parallel query's other threads when one fails, and the thread our fetch
   * runs on may report that interrupt ("INTERRUPT Error: Interrupted!") in place of the failure
   * itself (seen about once in a few hundred runs of a query calling error() on 2 cores). Nobody
   * here cancelled it, so it is not a cancellation: say what is known, as a failed query.
   */
  private unlessInterruptedByDuckDB(error: unknown): unknown {
    const message = error instanceof Error ? error.message : String(error);
    if (this.closed !== null || this.signal?.aborted || !/^INTERRUPT Error:/.test(message)) return error;
    return FlightError.invalidArgument(
      "the query failed in one of DuckDB's worker threads, and DuckDB reported only that it stopped the others " +
        `(${message}): its own message was lost; running the query again shows it`,
      error,
    );
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<EncodedBatch, void, undefined> {
    if (this.iterating) throw new Error('bridge: a query stream can be iterated only once');
    this.iterating = true;
    try {
      for (;;) {
        const messages: NativeMessage[] | null = await this.addon.nextExport(this.stream).catch((error: unknown) => {
          throw this.unlessInterruptedByDuckDB(error);
        });
        this.signal?.throwIfAborted();
        if (messages === null) break;
        for (const m of messages) {
          const body = m.slab >= 0 ? Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) : m.body;
          yield new EncodedBatch(m.header, body, m.rows);
          // Asked for the next: the consumer is done with this body (reuseBodies).
          if (m.slab >= 0) this.addon.releaseExportBody(this.stream, m.slab);
        }
      }
    } finally {
      await this.close();
    }
  }
}

/** The Arrow schema for the fields the addon describes (DuckDB's duckdb_to_arrow_schema). */
export function schemaFromNative(fields: readonly NativeField[]): Schema {
  let dictionaryId = 0;
  const field = (f: NativeField): Field => {
    let type: DataType;
    if (f.dictionary) {
      // Ids in depth-first order of the schema: the order the addon sends the dictionaries in.
      const id = dictionaryId++;
      type = new Dictionary(typeOf(field(f.dictionary)), typeOf(f) as Int as never, id, f.dictionaryOrdered ?? false);
    } else {
      type = typeOf(f);
    }
    const metadata = new Map(Object.entries(f.metadata));
    return new Field(f.name, type, f.nullable, metadata.size > 0 ? metadata : null);
  };
  const typeOf = (f: NativeField | Field): DataType => {
    if (f instanceof Field) return f.type;
    return formatType(f.format, f.children.map(field));
  };
  return new Schema(fields.map(field));
}

const TIMESTAMPS: Record<string, new (timezone?: string | null) => DataType> = {
  s: TimestampSecond,
  m: TimestampMillisecond,
  u: TimestampMicrosecond,
  n: TimestampNanosecond,
};

const TIME_UNITS: Record<string, TimeUnit> = {
  s: TimeUnit.SECOND,
  m: TimeUnit.MILLISECOND,
  u: TimeUnit.MICROSECOND,
  n: TimeUnit.NANOSECOND,
};

const PRIMITIVES: Record<string, () => DataType> = {
  n: () => new Null(),
  b: () => new Bool(),
  c: () => new Int8(),
  C: () => new Uint8(),
  s: () => new Int16(),
  S: () => new Uint16(),
  i: () => new Int32(),
  I: () => new Uint32(),
  l: () => new Int64(),
  L: () => new Uint64(),
  e: () => new Float16(),
  f: () => new Float32(),
  g: () => new Float64(),
  z: () => new Binary(),
  Z: () => new LargeBinary(),
  u: () => new Utf8(),
  U: () => new LargeUtf8(),
  tdD: () => new DateDay(),
  tdm: () => new DateMillisecond(),
  tts: () => new TimeSecond(),
  ttm: () => new TimeMillisecond(),
  ttu: () => new TimeMicrosecond(),
  ttn: () => new TimeNanosecond(),
  tiM: () => new IntervalYearMonth(),
  tiD: () => new IntervalDayTime(),
  tin: () => new IntervalMonthDayNano(),
};

/** An Arrow C data interface format string as an arrow-js type. */
function formatType(format: string, children: Field[]): DataType {
  const primitive = PRIMITIVES[format];
  if (primitive) return primitive();
  let m: RegExpMatchArray | null;
  if ((m = /^d:(\d+),(\d+)(?:,(\d+))?$/.exec(format))) return new Decimal(Number(m[2]), Number(m[1]), m[3] ? Number(m[3]) : 128);
  if ((m = /^w:(\d+)$/.exec(format))) return new FixedSizeBinary(Number(m[1]));
  if ((m = /^ts([smun]):(.*)$/.exec(format))) return new TIMESTAMPS[m[1]!]!(m[2] === '' ? undefined : m[2]);
  if ((m = /^tD([smun])$/.exec(format))) return new Duration(TIME_UNITS[m[1]!]!);
  if (format === '+l') return new List(children[0]!);
  if (format === '+L') return new LargeList(children[0]!);
  if ((m = /^\+w:(\d+)$/.exec(format))) return new FixedSizeList(Number(m[1]), children[0]!);
  if (format === '+s') return new Struct(children);
  if (format === '+m') return new Map_(children[0] as Field<Struct<{ key: DataType; value: DataType }>>);
  if ((m = /^\+us:(.*)$/.exec(format))) return new SparseUnion(m[1]!.split(',').map(Number), children);
  throw new Error(`bridge: the native export produced the Arrow format '${format}', which has no arrow-js type here`);
}
