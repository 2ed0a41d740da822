import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Vector, type RecordBatch } from 'apache-arrow';
import { streamQuery, type QueryStreamOptions } from '../../servers/bridge/index.ts';
import { connectShared, openSharedDatabase } from '../../servers/bridge/shared-connection.ts';

/**
 * An in-memory database and a connection to it. With TEST_BRIDGE=native the connection is one the
 * addon can use too (shared-connection.ts), so appendBatches takes the native path wherever it
 * can: the import tests run on both paths (CI runs them twice).
 */
export async function memoryDatabase(): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  if (process.env.TEST_BRIDGE === 'native') {
    const { instance, database } = await openSharedDatabase(':memory:');
    return { instance, connection: await connectShared(database) };
  }
  const instance = await DuckDBInstance.create(':memory:');
  return { instance, connection: await instance.connect() };
}

/** Runs `sql` through streamQuery and collects every batch. */
export async function queryBatches(connection: DuckDBConnection, sql: string, options?: QueryStreamOptions) {
  const stream = await streamQuery(connection, sql, options);
  const batches: RecordBatch[] = [];
  for await (const batch of stream) batches.push(batch);
  return { schema: stream.schema, batches };
}

/** An async iterable over batches, as an upload's source would be. */
export async function* iterate(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  for (const batch of batches) yield batch;
}

/** arrow-js values as plain JSON-like values: vectors and rows become arrays and objects. */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Vector) return [...value].map(plain);
  if (typeof value === 'bigint') return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    const json = (value as { toJSON(): unknown }).toJSON();
    if (Array.isArray(json)) return json.map(plain);
    if (json !== null && typeof json === 'object') {
      return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, plain(v)]));
    }
    return json;
  }
  return value;
}

/** All values of column `name` across `batches`, as plain values. */
export function columnValues(batches: RecordBatch[], name: string): unknown[] {
  const out: unknown[] = [];
  for (const batch of batches) {
    const column = batch.getChild(name);
    if (column === null) throw new Error(`no column ${name}`);
    for (let i = 0; i < column.length; i++) out.push(plain(column.get(i)));
  }
  return out;
}

/** Rows of a DuckDB query as JSON-friendly values (DuckDB's own conversion, independent of the bridge). */
export async function duckRows(connection: DuckDBConnection, sql: string): Promise<unknown[][]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowsJson() as unknown[][];
}
