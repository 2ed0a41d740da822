// Arrow schemas of prepared DuckDB statements, and Arrow batches from prepared statements run
// with bound parameters. The bridge's streamQuery takes SQL text, which cannot carry bound
// values; each run goes through the bridge's streamResult instead, so the types (and the schema
// a client compares against GetFlightInfo's) are exactly what streamQuery gives for the same
// columns, and a run DuckDB fails to finish is an error, never a shortened result.

import { DuckDBTypeId, type DuckDBConnection, type DuckDBPreparedStatement, type DuckDBType } from '@duckdb/node-api';
import type { RecordBatch, Schema } from 'apache-arrow';
import { FlightError } from '../../flight/index.ts';
import { arrowSchemaOf, columnsOf, readTimezone, streamResult, type ArrowQueryStream } from '../bridge/index.ts';
import { leaseConnection } from '../bridge/connection-lease.ts';
import { containsTimestampTz } from '../bridge/duckdb-to-arrow/builders.ts';

export interface Columns {
  names: string[];
  types: DuckDBType[];
}

/** A prepared statement's result columns, or null while DuckDB cannot type them (unbound parameters). */
export function preparedColumns(prepared: DuckDBPreparedStatement): Columns | null {
  for (let i = 0; i < prepared.columnCount; i++) {
    if (prepared.columnTypeId(i) === DuckDBTypeId.INVALID) return null;
  }
  return columnsOf(prepared);
}

/** The zone for these columns' schema ('UTC' stands in when no column needs one, as in the bridge). */
export async function sessionTimezone(connection: DuckDBConnection, columns: Columns): Promise<string> {
  return columns.types.some(containsTimestampTz) ? readTimezone(connection) : 'UTC';
}

/** The Arrow schema the bridge gives results with these columns. */
export function arrowSchema(columns: Columns, timezone: string): Schema {
  return arrowSchemaOf(columns.names, columns.types, timezone);
}

/** Batches of a prepared statement's runs, with the schema known before the first batch. */
export interface PreparedRuns extends AsyncIterable<RecordBatch> {
  /** Null only when there were no runs (no parameter sets). */
  readonly schema: Schema | null;
  /** The first run's columns, with DuckDB's types; null as `schema` is. */
  readonly columns: Columns | null;
  /** Stops DuckDB if it is still producing and frees the connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Runs `prepared` once per binding (each binding function binds one parameter set) and streams
 * every result through the bridge (streamResult: the types, batching and failure checks of
 * streamQuery), under one schema: the first run's (a later run whose columns differ fails). The
 * first run starts here, so the schema is known before anything is sent. The connection is held
 * until the stream ends or `close()`; aborting `signal` interrupts DuckDB.
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
  /** The run being streamed: closing it stops DuckDB and waits for the query to wind down. */
  let current: ArrowQueryStream | null = null;
  let closed: Promise<void> | null = null;
  const close = () => {
    closed ??= (async () => {
      signal.removeEventListener('abort', onAbort);
      try {
        await current?.close();
      } finally {
        current = null;
        lease.release();
      }
    })();
    return closed;
  };
  const start = async (run: number): Promise<ArrowQueryStream> => {
    bindings[run]!();
    const result = await prepared.stream();
    if (run === 0) columns = columnsOf(result);
    current = streamResult(connection, result, { batchRows, signal, timezone });
    return current;
  };
  let first: ArrowQueryStream | null = null;
  let columns: Columns | null = null;
  try {
    signal.throwIfAborted();
    if (bindings.length > 0) first = await start(0);
  } catch (error) {
    await close();
    throw error;
  }
  const schema = first?.schema ?? null;
  async function* batches(): AsyncGenerator<RecordBatch, void, undefined> {
    try {
      for (let run = 0; run < bindings.length; run++) {
        const stream = run === 0 ? first! : await start(run);
        if (String(stream.schema) !== String(schema)) {
          throw FlightError.invalidArgument(
            `parameter set ${run + 1} changed the result's columns from ${String(schema)} to ${String(stream.schema)}`,
          );
        }
        yield* stream;
        current = null;
      }
    } finally {
      await close();
    }
  }
  let iterated = false;
  return {
    schema,
    columns,
    close,
    [Symbol.asyncIterator]() {
      if (iterated) throw new Error('the results of a prepared statement can be read once');
      iterated = true;
      return batches();
    },
  };
}
