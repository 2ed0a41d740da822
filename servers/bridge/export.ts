import duckdb from '@duckdb/node-bindings';
import {
  ResultReturnType,
  type StatementType,
  type DuckDBConnection,
  type DuckDBDataChunk,
  type DuckDBPreparedStatement,
  type DuckDBResult,
  type DuckDBType,
} from '@duckdb/node-api';
import { Field, makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import { DEFAULT_BATCH_ROWS } from '../settings.ts';
import { leaseConnection, type ConnectionLease } from './connection-lease.ts';
import type { ColumnBuilder } from './duckdb-to-arrow/column-builder.ts';
import { containsTimestampTz, createColumnBuilder } from './duckdb-to-arrow/builders.ts';

export { DEFAULT_BATCH_ROWS };
const DEFAULT_MAX_BATCH_BYTES = 64 * 1024 * 1024;

export interface QueryStreamOptions {
  /** Rows per Arrow batch (DuckDB produces 2048-row chunks; they are gathered). Default 65536. */
  batchRows?: number;
  /** A batch is cut early once its buffers hold this many bytes (wide strings). Default 64 MiB. */
  maxBatchBytes?: number;
  /** Aborting stops the query; the iteration then throws the signal's reason. */
  signal?: AbortSignal;
  /** streamQuery: called with each statement's type before it runs (or streams); throwing refuses it. */
  admit?: (type: StatementType) => void;
}

export interface ArrowQueryStream extends AsyncIterable<RecordBatch> {
  /** Known before the first batch, also when the result has no rows. */
  readonly schema: Schema;
  /** Stops the query if it is still running and frees the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Runs `sql` on `connection` as a DuckDB streaming query and yields its result as Arrow record
 * batches, built from DuckDB's vector memory in bulk. The first batch arrives before the query
 * has finished; at most one DuckDB chunk is fetched ahead of the batch being built, so memory
 * stays bounded by a few batches whatever the result size. Breaking out of the iteration,
 * `close()` or aborting `options.signal` interrupts the query. The connection is held until the
 * stream ends: give each concurrent stream its own connection.
 *
 * ```ts
 * const stream = await streamQuery(connection, 'SELECT * FROM flights', { batchRows: 65536 });
 * console.log(stream.schema.fields.map((f) => `${f.name}: ${f.type}`));
 * for await (const batch of stream) send(batch);
 * ```
 */
export async function streamQuery(connection: DuckDBConnection, sql: string, options: QueryStreamOptions = {}): Promise<ArrowQueryStream> {
  checkOptions(options);
  options.signal?.throwIfAborted();
  // The lease is taken for the statements that run first too: a stream cannot share the connection.
  const lease = leaseConnection(connection, 'streamQuery');
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await prepareLastStatement(connection, sql, options.admit);
  } catch (error) {
    lease.release();
    throw error;
  }
  return streamLeased(connection, prepared, lease, options);
}

/**
 * Streams the result of a statement already prepared on `connection` (which the stream then
 * holds, as streamQuery does). Takes ownership of `prepared`: it is destroyed once the stream
 * has started, or on failure.
 */
export async function streamPrepared(
  connection: DuckDBConnection,
  prepared: DuckDBPreparedStatement,
  options: QueryStreamOptions = {},
): Promise<ArrowQueryStream> {
  let lease: ConnectionLease;
  try {
    checkOptions(options);
    lease = leaseConnection(connection, 'streamPrepared');
  } catch (error) {
    prepared.destroySync();
    throw error;
  }
  return streamLeased(connection, prepared, lease, options);
}

function checkOptions(options: QueryStreamOptions): void {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new Error(`bridge: batchRows must be a positive integer, got ${batchRows}`);
}

async function streamLeased(
  connection: DuckDBConnection,
  prepared: DuckDBPreparedStatement,
  lease: ConnectionLease,
  options: QueryStreamOptions,
): Promise<ArrowQueryStream> {
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const maxBatchBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const { signal } = options;
  const onAbort = () => connection.interrupt();
  signal?.addEventListener('abort', onAbort);
  try {
    let result: DuckDBResult;
    let schema: Schema;
    let builders: ColumnBuilder[];
    try {
      signal?.throwIfAborted();
      // The zone is read before the stream starts: any other query on the connection would end it.
      ({ schema, builders } = await plan(connection, prepared, batchRows));
      signal?.throwIfAborted();
      result = await prepared.stream();
    } finally {
      prepared.destroySync();
    }
    const stream = new DuckDBArrowStream(connection, result, schema, builders, lease, batchRows, maxBatchBytes, signal);
    if (result.columnCount !== builders.length) {
      await stream.close();
      throw new Error(`bridge: prepared ${builders.length} columns but the result has ${result.columnCount}`);
    }
    return stream;
  } catch (error) {
    lease.release();
    signal?.throwIfAborted();
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The Arrow schema of a prepared statement's result, and the builders that will produce it. */
async function plan(
  connection: DuckDBConnection,
  prepared: DuckDBPreparedStatement,
  batchRows: number,
): Promise<{ schema: Schema; builders: ColumnBuilder[] }> {
  const { names, types } = columnsOf(prepared);
  const timezone = types.some(containsTimestampTz) ? await readTimezone(connection) : 'UTC';
  return buildersFor(names, types, timezone, batchRows);
}

/** The result columns of a prepared statement or a started result. */
export function columnsOf(source: DuckDBPreparedStatement | DuckDBResult): { names: string[]; types: DuckDBType[] } {
  const names: string[] = [];
  const types: DuckDBType[] = [];
  for (let i = 0; i < source.columnCount; i++) {
    names.push(source.columnName(i));
    types.push(source.columnType(i));
  }
  return { names, types };
}

function buildersFor(
  names: string[],
  types: DuckDBType[],
  timezone: string,
  batchRows: number,
): { schema: Schema; builders: ColumnBuilder[] } {
  let dictionaryId = 0;
  const context = { capacityHint: batchRows, timezone, nextDictionaryId: () => dictionaryId++ };
  const builders = types.map((type) => createColumnBuilder(type, context));
  const schema = new Schema(builders.map((builder, i) => new Field(names[i], builder.type, true, builder.metadata)));
  return { schema, builders };
}

/**
 * The Arrow schema the bridge gives a result with these columns. `timezone` names the zone of
 * TIMESTAMPTZ columns (the connection's TimeZone setting).
 */
export function arrowSchemaOf(names: string[], types: DuckDBType[], timezone: string): Schema {
  return buildersFor(names, types, timezone, 1).schema;
}

/**
 * Streams a result the caller has already started on `connection` (a prepared statement run
 * with bound parameters, which SQL text cannot carry) exactly as streamQuery streams its own:
 * the same Arrow types, batching, interruption, and the same refusal of a result DuckDB failed
 * to finish. The caller keeps the connection for the stream's life; `timezone` is the
 * connection's TimeZone, read before the result started (any other query would end it).
 */
export function streamResult(
  connection: DuckDBConnection,
  result: DuckDBResult,
  options: QueryStreamOptions & { timezone: string },
): ArrowQueryStream {
  checkOptions(options);
  const batchRows = options.batchRows ?? DEFAULT_BATCH_ROWS;
  const { names, types } = columnsOf(result);
  const { schema, builders } = buildersFor(names, types, options.timezone, batchRows);
  const callerHeld: ConnectionLease = { release() {} };
  return new DuckDBArrowStream(
    connection,
    result,
    schema,
    builders,
    callerHeld,
    batchRows,
    options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES,
    options.signal,
  );
}

/**
 * The Arrow schema a statement already prepared on `connection` would stream: it is bound, never
 * run, so a PRAGMA, CALL or EXPLAIN ANALYZE has no effect and a long query costs nothing. Throws
 * naming a type the bridge cannot map.
 */
export async function describePrepared(connection: DuckDBConnection, prepared: DuckDBPreparedStatement): Promise<Schema> {
  const lease = leaseConnection(connection, 'describePrepared');
  try {
    return (await plan(connection, prepared, 1)).schema;
  } finally {
    lease.release();
  }
}

/** Runs every statement of `sql` but the last, and prepares the last. */
async function prepareLastStatement(
  connection: DuckDBConnection,
  sql: string,
  admit?: (type: StatementType) => void,
): Promise<DuckDBPreparedStatement> {
  return (await runEarlierStatements(connection, sql, admit))();
}

/**
 * Runs every statement of `sql` but the last, each admitted first; returns what prepares the last
 * (after the others ran: it may use what they created).
 */
export async function runEarlierStatements(
  connection: DuckDBConnection,
  sql: string,
  admit?: (type: StatementType) => void,
): Promise<() => Promise<DuckDBPreparedStatement>> {
  const extracted = await connection.extractStatements(sql);
  const count = extracted.count;
  if (count === 0) throw new Error('bridge: no SQL statement to run');
  const prepare = async (i: number) => {
    const prepared = await extracted.prepare(i);
    try {
      admit?.(prepared.statementType);
    } catch (error) {
      prepared.destroySync();
      throw error;
    }
    return prepared;
  };
  for (let i = 0; i < count - 1; i++) {
    const prepared = await prepare(i);
    try {
      await prepared.run();
    } finally {
      prepared.destroySync();
    }
  }
  return () => prepare(count - 1);
}

/** The connection's TimeZone setting: the zone the bridge names on TIMESTAMPTZ columns. */
export async function readTimezone(connection: DuckDBConnection): Promise<string> {
  const reader = await connection.runAndReadAll("SELECT current_setting('TimeZone')");
  return String(reader.getRows()[0][0]);
}

class DuckDBArrowStream implements ArrowQueryStream {
  private iterator: AsyncGenerator<RecordBatch, void, undefined> | null = null;
  /** DuckDB has delivered its last chunk (or failed): there is nothing left to interrupt. */
  private finished = false;
  private stopping = false;
  private closed: Promise<void> | null = null;
  private started = false;
  private rowsSent = 0;

  constructor(
    private readonly connection: DuckDBConnection,
    private readonly result: DuckDBResult,
    readonly schema: Schema,
    private readonly builders: ColumnBuilder[],
    private readonly lease: ConnectionLease,
    private readonly batchRows: number,
    private readonly maxBatchBytes: number,
    private readonly signal: AbortSignal | undefined,
  ) {}

  [Symbol.asyncIterator](): AsyncGenerator<RecordBatch, void, undefined> {
    if (this.iterator !== null || this.closed !== null) throw new Error('bridge: a query stream can be iterated only once');
    this.iterator = this.batches();
    return this.iterator;
  }

  close(): Promise<void> {
    if (this.closed === null) {
      this.stop();
      // A generator that never started skips its finally block on return(): release here.
      const iterator = this.iterator;
      this.closed =
        iterator === null || !this.started
          ? Promise.resolve(iterator?.return(undefined)).then(() => this.release(null))
          : iterator.return(undefined).then(() => undefined);
    }
    return this.closed;
  }

  private stop(): void {
    if (this.finished || this.stopping) return;
    this.stopping = true;
    // A fetch in flight returns an empty chunk once DuckDB sees the interrupt.
    this.connection.interrupt();
  }

  private async *batches(): AsyncGenerator<RecordBatch, void, undefined> {
    this.started = true;
    const { builders, batchRows, maxBatchBytes, signal } = this;
    const onAbort = () => this.stop();
    signal?.addEventListener('abort', onAbort);
    let pending: Promise<DuckDBDataChunk | null> | null = this.result.fetchChunk();
    try {
      let rows = 0;
      for (;;) {
        let chunk: DuckDBDataChunk | null;
        try {
          chunk = await pending;
        } catch (error) {
          this.finished = true;
          throw error;
        } finally {
          pending = null;
        }
        signal?.throwIfAborted();
        if (this.stopping) return;
        if (chunk === null || chunk.rowCount === 0) {
          this.finished = true;
          // node-bindings 1.5's fetch_chunk reports a query that fails mid-stream exactly like
          // one that ends (duckdb_fetch_chunk returns NULL for both and the result's error is
          // not passed on). The result's return type turns INVALID on error: check it, so a
          // failure is an error rather than a silently truncated result.
          if (this.result.returnType === ResultReturnType.INVALID) {
            throw new Error(
              `bridge: the DuckDB query failed after ${this.rowsSent + rows} rows were streamed ` +
                '(@duckdb/node-bindings reports errors during streaming without their message)',
            );
          }
          break;
        }
        // Fetch the next chunk while this one is converted.
        pending = this.result.fetchChunk();
        const size = chunk.rowCount;
        const raw = chunk.chunk;
        for (let start = 0; start < size;) {
          const take = Math.min(size - start, batchRows - rows);
          for (let c = 0; c < builders.length; c++) builders[c].appendRange(duckdb.data_chunk_get_vector(raw, c), start, take);
          rows += take;
          start += take;
          if (rows === batchRows || (start === size && this.bufferedBytes() >= maxBatchBytes)) {
            const batch = this.finishBatch(rows);
            this.rowsSent += rows;
            rows = 0;
            yield batch;
            signal?.throwIfAborted();
            if (this.stopping) return;
          }
        }
      }
      if (rows > 0) yield this.finishBatch(rows);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.release(pending);
    }
  }

  private bufferedBytes(): number {
    let bytes = 0;
    for (const builder of this.builders) bytes += builder.byteLength();
    return bytes;
  }

  private finishBatch(rows: number): RecordBatch {
    const children = this.builders.map((builder) => builder.finish());
    const data = makeData({ type: new Struct(this.schema.fields), length: rows, nullCount: 0, children });
    return new RecordBatch(this.schema, data);
  }

  /** Ends the query if DuckDB is still producing it, waits for it to wind down, frees the connection. */
  private async release(pending: Promise<DuckDBDataChunk | null> | null): Promise<void> {
    try {
      if (!this.finished) {
        this.stop();
        // Let DuckDB observe the interrupt and close the query, so the connection is clean for
        // its next user. A fetch that was already done when the interrupt came (the usual case
        // when a client stops reading) returns its chunk, and the query stays active, its
        // transaction open, until a later fetch sees the interrupt: one CHECKPOINT after that
        // failed with "other write transactions active". So fetch until DuckDB ends the query
        // (it first hands out the chunks it buffered ahead: 11 of 2048 rows in
        // test/reliability/abandoned.test.ts). What those fetches return or throw is of no
        // interest any more.
        let next = pending ?? this.result.fetchChunk();
        for (;;) {
          const chunk = await next.catch(() => null);
          if (chunk === null || chunk.rowCount === 0) break;
          this.connection.interrupt();
          next = this.result.fetchChunk();
        }
        this.finished = true;
      }
    } finally {
      this.lease.release();
    }
  }
}
