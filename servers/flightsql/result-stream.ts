// Arrow schemas of prepared DuckDB statements, and Arrow batches from prepared statements run
// with bound parameters. The bridge's streamQuery takes SQL text, which cannot carry bound
// values; this uses the bridge's own column builders, so the types (and the schema a client
// compares against GetFlightInfo's) are exactly what streamQuery gives for the same columns.

import duckdb from '@duckdb/node-bindings';
import { DuckDBTypeId, type DuckDBConnection, type DuckDBDataChunk, type DuckDBPreparedStatement, type DuckDBResult, type DuckDBType } from '@duckdb/node-api';
import { Field, makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import { FlightError } from '../../flight/index.ts';
import { leaseConnection } from '../bridge/connection-lease.ts';
import type { ColumnBuilder } from '../bridge/duckdb-to-arrow/column-builder.ts';
import { containsTimestampTz, createColumnBuilder } from '../bridge/duckdb-to-arrow/builders.ts';

export interface Columns {
  names: string[];
  types: DuckDBType[];
}

/** A prepared statement's result columns, or null while DuckDB cannot type them (unbound parameters). */
export function preparedColumns(prepared: DuckDBPreparedStatement): Columns | null {
  const names: string[] = [];
  const types: DuckDBType[] = [];
  for (let i = 0; i < prepared.columnCount; i++) {
    if (prepared.columnTypeId(i) === DuckDBTypeId.INVALID) return null;
    names.push(prepared.columnName(i));
    types.push(prepared.columnType(i));
  }
  return { names, types };
}

export function resultColumns(result: DuckDBResult): Columns {
  const names: string[] = [];
  const types: DuckDBType[] = [];
  for (let i = 0; i < result.columnCount; i++) {
    names.push(result.columnName(i));
    types.push(result.columnType(i));
  }
  return { names, types };
}

/** The connection's TimeZone setting: the zone the bridge names on TIMESTAMPTZ columns. */
export async function readTimezone(connection: DuckDBConnection): Promise<string> {
  const reader = await connection.runAndReadAll("SELECT current_setting('TimeZone')");
  return String(reader.getRows()[0]![0]);
}

/** The zone for these columns' schema ('UTC' stands in when no column needs one, as in the bridge). */
export async function sessionTimezone(connection: DuckDBConnection, columns: Columns): Promise<string> {
  return columns.types.some(containsTimestampTz) ? readTimezone(connection) : 'UTC';
}

function builderSet(columns: Columns, timezone: string, capacityHint: number): { schema: Schema; builders: ColumnBuilder[] } {
  let dictionaryId = 0;
  const context = { capacityHint, timezone, nextDictionaryId: () => dictionaryId++ };
  const builders = columns.types.map((type) => createColumnBuilder(type, context));
  const schema = new Schema(builders.map((builder, i) => new Field(columns.names[i]!, builder.type, true, builder.metadata)));
  return { schema, builders };
}

/** The Arrow schema the bridge gives results with these columns. */
export function arrowSchema(columns: Columns, timezone: string): Schema {
  return builderSet(columns, timezone, 1).schema;
}

/** Batches of a prepared statement's runs, with the schema known before the first batch. */
export interface PreparedRuns extends AsyncIterable<RecordBatch> {
  /** Null only when there were no runs (no parameter sets). */
  readonly schema: Schema | null;
  /** Stops DuckDB if it is still producing and frees the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Runs `prepared` once per binding (each binding function binds one parameter set) and streams
 * every result as Arrow batches of at most `batchRows` rows, under one schema: the first run's
 * (a later run whose columns differ fails). The first run starts here, so the schema is known
 * before anything is sent. The connection is held until the stream ends or `close()`; aborting
 * `signal` interrupts DuckDB.
 */
export async function runPrepared(
  connection: DuckDBConnection,
  prepared: DuckDBPreparedStatement,
  bindings: readonly (() => void)[],
  options: { batchRows: number; signal: AbortSignal; timezone: string },
): Promise<PreparedRuns> {
  const { signal, batchRows, timezone } = options;
  const lease = leaseConnection(connection, 'a Flight SQL prepared statement');
  const onAbort = () => connection.interrupt();
  signal.addEventListener('abort', onAbort);
  let result: DuckDBResult | null = null;
  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      signal.removeEventListener('abort', onAbort);
      if (result !== null) {
        // Stopped early: interrupt, and let DuckDB wind the query down before the connection is reused.
        connection.interrupt();
        await result.fetchChunk().then(
          () => undefined,
          () => undefined,
        );
        result = null;
      }
      lease.release();
    })();
    return closed;
  };
  let schema: Schema | null = null;
  let builders: ColumnBuilder[] = [];
  try {
    signal.throwIfAborted();
    if (bindings.length > 0) {
      bindings[0]!();
      result = await prepared.stream();
      ({ schema, builders } = builderSet(resultColumns(result), timezone, batchRows));
    }
  } catch (error) {
    await close();
    throw error;
  }
  async function* batches(): AsyncGenerator<RecordBatch, void, undefined> {
    try {
      for (let run = 0; run < bindings.length; run++) {
        if (run > 0) {
          bindings[run]!();
          result = await prepared.stream();
          const next = arrowSchema(resultColumns(result), timezone);
          if (String(next) !== String(schema)) {
            throw FlightError.invalidArgument(`parameter set ${run + 1} changed the result's columns from ${String(schema)} to ${String(next)}`);
          }
        }
        let rows = 0;
        for (;;) {
          const chunk: DuckDBDataChunk | null = await result!.fetchChunk();
          signal.throwIfAborted();
          if (chunk === null || chunk.rowCount === 0) break;
          const size = chunk.rowCount;
          for (let start = 0; start < size; ) {
            const take = Math.min(size - start, batchRows - rows);
            for (let c = 0; c < builders.length; c++) builders[c]!.appendRange(duckdb.data_chunk_get_vector(chunk.chunk, c), start, take);
            rows += take;
            start += take;
            if (rows === batchRows) {
              yield finishBatch(schema!, builders, rows);
              rows = 0;
            }
          }
        }
        result = null;
        if (rows > 0) yield finishBatch(schema!, builders, rows);
      }
    } finally {
      await close();
    }
  }
  let iterated = false;
  return {
    schema,
    close,
    [Symbol.asyncIterator]() {
      if (iterated) throw new Error('the results of a prepared statement can be read once');
      iterated = true;
      return batches();
    },
  };
}

function finishBatch(schema: Schema, builders: ColumnBuilder[], rows: number): RecordBatch {
  const children = builders.map((builder) => builder.finish());
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: rows, nullCount: 0, children }));
}
