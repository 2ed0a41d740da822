import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Vector, type RecordBatch } from 'apache-arrow';
import type { EncodedBatch } from '../../flight/index.ts';
import { streamQuery, type QueryStreamOptions } from '../../servers/bridge/index.ts';
import { streamQueryNative } from '../../servers/bridge/native-export.ts';
import { connectShared, openSharedDatabase } from '../../servers/bridge/shared-connection.ts';
import { decodeEncoded } from '../support/native-ipc.ts';

/**
 * An in-memory database and a connection to it. `shared` (the default with TEST_BRIDGE=native)
 * gives a connection the addon can use too (shared-connection.ts), so appendBatches takes the
 * native path wherever it can and the native export works: the import tests run on both paths
 * (CI runs them twice); the export type matrix always asks for one, and compares both bridges.
 */
export async function memoryDatabase({ shared = process.env.TEST_BRIDGE === 'native' }: { shared?: boolean } = {}): Promise<{
  instance: DuckDBInstance;
  connection: DuckDBConnection;
}> {
  if (shared) {
    const { instance, database } = await openSharedDatabase(':memory:');
    return { instance, connection: await connectShared(database) };
  }
  const instance = await DuckDBInstance.create(':memory:');
  return { instance, connection: await instance.connect() };
}

export type Bridge = 'js' | 'native';

/** Runs `sql` through streamQuery (or the native export, read back from its IPC) and collects every batch. */
export async function queryBatches(connection: DuckDBConnection, sql: string, options?: QueryStreamOptions, bridge: Bridge = 'js') {
  if (bridge === 'native') {
    const stream = await streamQueryNative(connection, sql, { ...options, runEarlier: true });
    const encoded: EncodedBatch[] = [];
    for await (const batch of stream) encoded.push(batch);
    return { schema: stream.schema, batches: decodeEncoded(stream.schema, encoded) };
  }
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
