import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, DuckDBTypeId, type DuckDBAppender, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { DataType, util, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import { leaseConnection } from './connection-lease.ts';
import type { ColumnWriter } from './arrow-to-duckdb/column-writer.ts';
import { checkNames, duckdbTypeForField, duckdbTypeSql } from './arrow-to-duckdb/duckdb-types.ts';
import { createColumnWriter, sameName } from './arrow-to-duckdb/writers.ts';
import { quoteIdentifier } from './sql.ts';
import { loadNative, type BridgeKind } from './native.ts';
import { appendNative, NativeInsertError, nativeFields, type NativeImportAddon } from './native-import.ts';
import { connectionHandle } from './shared-connection.ts';

export interface AppendOptions {
  /**
   * What to do about the table: 'if-missing' (default) creates it from the Arrow schema when it
   * does not exist, 'never' requires it to exist, 'replace' drops and recreates it.
   */
  create?: 'if-missing' | 'never' | 'replace';
  /** Aborting rolls the upload back; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * 'native' appends through the addon's Arrow scan where it can (native-import.ts), 'js' through
   * the appender here. Default: native when the connection is shared (shared-connection.ts) and
   * the addon loads.
   */
  bridge?: BridgeKind;
}

export interface AppendResult {
  rows: number;
  /** Whether the table was created (or replaced) by this call. */
  created: boolean;
}

/** DuckDB's vector size: the rows of one data chunk. */
const CHUNK_ROWS = duckdb.vector_size();

/**
 * The DuckDB column type `CREATE TABLE` gets for an Arrow field, as SQL text. Throws naming the
 * field and its type when DuckDB has no equivalent.
 */
export function duckdbColumnTypeSql(field: Field): string {
  return duckdbTypeSql(duckdbTypeForField(field));
}

/**
 * Appends Arrow record batches to a DuckDB table, all or nothing: everything happens in one
 * transaction, rolled back on any error, schema mismatch or abort, so a failed upload leaves the
 * table exactly as it was. The table (an identifier in the connection's current schema) is
 * created from the Arrow schema when missing; an existing table must have the same columns in
 * the same order, each of a type the Arrow data converts to, which is checked before anything
 * is written. Values go into DuckDB data chunks by bulk copies out of the Arrow buffers and
 * through the appender, never row by row. The connection is held for the whole upload.
 *
 * ```ts
 * const reader = await RecordBatchReader.from(ipcStream);
 * const { rows } = await appendBatches(connection, 'flights', reader.schema, reader, { create: 'replace' });
 * ```
 */
export async function appendBatches(
  connection: DuckDBConnection,
  table: string,
  schema: Schema,
  batches: AsyncIterable<RecordBatch>,
  options: AppendOptions = {},
): Promise<AppendResult> {
  const create = options.create ?? 'if-missing';
  if (create !== 'if-missing' && create !== 'never' && create !== 'replace') {
    throw new Error(`bridge: create must be 'if-missing', 'never' or 'replace', got ${String(create)}`);
  }
  if (typeof table !== 'string' || table.length === 0) throw new Error('bridge: the table name must be a non-empty string');
  checkNames(schema);
  const { signal } = options;
  signal?.throwIfAborted();
  const lease = leaseConnection(connection, 'appendBatches');
  const iterator = batches[Symbol.asyncIterator]();
  let inTransaction = false;
  let appender: DuckDBAppender | null = null;
  let creating: (() => void) | null = null;
  try {
    let location: TableLocation;
    for (;;) {
      await connection.run('BEGIN TRANSACTION');
      inTransaction = true;
      location = await locateTable(connection, table);
      const willCreate = (location.name === null && create === 'if-missing') || create === 'replace';
      if (!willCreate) break;
      // Two uploads creating one table in overlapping transactions: the second to commit would
      // fail on DuckDB's write-write conflict, losing its rows. Creations of a name take turns;
      // an upload that finds one under way waits for it, then looks again (and appends).
      const key = table.toLowerCase();
      const underWay = creations.get(key);
      if (underWay === undefined) {
        let done!: () => void;
        creations.set(key, new Promise<void>((resolve) => (done = resolve)));
        creating = () => {
          creations.delete(key);
          done();
        };
        break;
      }
      await connection.run('ROLLBACK');
      inTransaction = false;
      await waitOrAbort(underWay, signal);
    }
    let created = false;
    if (location.name === null || create === 'replace') {
      if (location.name === null && create === 'never') throw new Error(`bridge: table "${table}" does not exist`);
      if (schema.fields.length === 0) throw new Error(`bridge: cannot create table "${table}" from a schema without fields`);
      const columns = schema.fields.map((field) => `${quoteIdentifier(field.name)} ${duckdbColumnTypeSql(field)}`);
      const replace = create === 'replace' ? 'OR REPLACE ' : '';
      await connection.run(`CREATE ${replace}TABLE ${quoteIdentifier(location.name ?? table)} (${columns.join(', ')})`);
      location.name ??= table;
      created = true;
    }
    const name = location.name!;
    const plan = await planColumns(connection, name, await tableColumns(connection, location.catalog, location.schema, name), schema);
    signal?.throwIfAborted();

    const native = options.bridge === 'js' ? null : nativeRoute(connection, schema, plan);
    if (native !== null) {
      const target = { catalog: location.catalog, schema: location.schema, table: name };
      let rows: number;
      try {
        rows = await appendNative(
          native.addon,
          native.handle,
          native.fields,
          target,
          () => nextOrAbort(iterator, signal),
          (batch, index) => checkBatchSchema(batch, schema, index),
          signal,
        );
      } catch (error) {
        throw error instanceof NativeInsertError ? castFailure(error, plan, name, "the upload's rows") : error;
      }
      await commit(connection, signal);
      inTransaction = false;
      return { rows, created };
    }
    appender = await connection.createAppender(name, location.schema, location.catalog);
    const chunk = DuckDBDataChunk.create(plan.map((column) => column.chunkType));
    let rows = 0;
    for (let index = 0; ; index++) {
      const next = await nextOrAbort(iterator, signal);
      if (next.done) break;
      const batch = next.value;
      checkBatchSchema(batch, schema, index);
      const columns = batch.data.children;
      for (let start = 0; start < batch.numRows; start += CHUNK_ROWS) {
        signal?.throwIfAborted();
        const count = Math.min(CHUNK_ROWS, batch.numRows - start);
        chunk.reset();
        for (let c = 0; c < plan.length; c++) {
          plan[c].writer.write(duckdb.data_chunk_get_vector(chunk.chunk, c), columns[c], start, count);
        }
        duckdb.data_chunk_set_size(chunk.chunk, count);
        try {
          appender.appendDataChunk(chunk);
        } catch (error) {
          throw castFailure(error, plan, name, `rows ${start}..${start + count - 1} of batch ${index}`);
        }
        rows += count;
      }
    }
    signal?.throwIfAborted();
    // Flushing is where constraint violations surface.
    appender.closeSync();
    appender = null;
    await commit(connection, signal);
    inTransaction = false;
    return { rows, created };
  } catch (error) {
    await undo(connection, appender, inTransaction, iterator, error, signal);
    throw error;
  } finally {
    creating?.();
    lease.release();
  }
}

async function commit(connection: DuckDBConnection, signal: AbortSignal | undefined): Promise<void> {
  // Some clients (grpc-js, Node's http2 close()) cancel with END_STREAM and then RST_STREAM,
  // written back to back: one more turn of the event loop lets a reset already on the socket
  // abort the upload before the commit makes it permanent.
  await new Promise((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
  await connection.run('COMMIT');
}

/**
 * The addon and what it needs when this upload can go through it: a shared connection, every
 * field of a type the native path takes, and every column either of the field's own DuckDB type
 * or cast from it by DuckDB (the INSERT casts as the appender does).
 */
function nativeRoute(connection: DuckDBConnection, schema: Schema, plan: ColumnPlan[]) {
  const handle = connectionHandle(connection);
  const { addon } = loadNative();
  if (handle === undefined || addon === null) return null;
  const fields = nativeFields(schema);
  if (fields === null) return null;
  for (let i = 0; i < plan.length; i++) {
    if (plan[i].cast === null && duckdbTypeSql(plan[i].chunkType) !== duckdbColumnTypeSql(schema.fields[i])) return null;
  }
  return { addon: addon as typeof addon & NativeImportAddon, handle, fields };
}

/** Table names (lower case, as DuckDB compares them) being created by an upload in progress. */
const creations = new Map<string, Promise<void>>();

async function waitOrAbort(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Rolls back after a failure; a failure to roll back is reported along with the cause. */
async function undo(
  connection: DuckDBConnection,
  appender: DuckDBAppender | null,
  inTransaction: boolean,
  iterator: AsyncIterator<RecordBatch>,
  cause: unknown,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (appender !== null) {
    // Drop what the appender still buffers (closing would flush it) and close it. After a failed
    // flush DuckDB may refuse both ("appender invalidated"); that is the failure already being
    // reported, and the ROLLBACK below discards whatever the appender wrote either way.
    try {
      appender.clear();
      appender.closeSync();
    } catch {
      // see above
    }
  }
  if (signal?.aborted) {
    // The producer may be blocked (on the network, say); ask it to stop without waiting for it.
    iterator.return?.().catch(() => undefined);
  } else {
    await iterator.return?.();
  }
  if (!inTransaction) return;
  try {
    await connection.run('ROLLBACK');
  } catch (rollbackError) {
    throw new Error(`bridge: ROLLBACK failed (${(rollbackError as Error).message}) after: ${(cause as Error)?.message}`, {
      cause,
    });
  }
}

interface TableLocation {
  catalog: string;
  schema: string;
  /** The table's name as the catalog spells it, or null when there is no such table. */
  name: string | null;
}

/** Finds `table` in the connection's current schema (case-insensitively, as DuckDB resolves names). */
async function locateTable(connection: DuckDBConnection, table: string): Promise<TableLocation> {
  const reader = await connection.runAndReadAll(
    `SELECT current_database(), current_schema(),
       (SELECT table_name FROM duckdb_tables()
         WHERE database_name = current_database() AND schema_name = current_schema()
           AND lower(table_name) = lower($1) LIMIT 1)`,
    [table],
  );
  const [catalog, schemaName, name] = reader.getRows()[0] as [string, string, string | null];
  return { catalog, schema: schemaName, name };
}

interface TableColumn {
  name: string;
  type: DuckDBType;
}

async function tableColumns(connection: DuckDBConnection, catalog: string, schemaName: string, table: string): Promise<TableColumn[]> {
  const qualified = [catalog, schemaName, table].map(quoteIdentifier).join('.');
  const prepared = await connection.prepare(`SELECT * FROM ${qualified}`);
  try {
    const columns: TableColumn[] = [];
    for (let i = 0; i < prepared.columnCount; i++) columns.push({ name: prepared.columnName(i), type: prepared.columnType(i) });
    return columns;
  } finally {
    prepared.destroySync();
  }
}

interface ColumnPlan {
  /** The type of the chunk vector the writer fills; the appender casts it if it is not the column's. */
  chunkType: DuckDBType;
  writer: ColumnWriter;
  /** "column: FROM -> TO" when the appender casts the values, else null. */
  cast: string | null;
}

/**
 * An append that fails while the appender (or the native path's INSERT) casts values (a
 * TIMESTAMP_S that overflows when made TIMESTAMP_MS, say) failed on the client's data. The
 * appender reports it without DuckDB's "Conversion Error:" prefix, so it is named here as the
 * bridge's, with the columns being cast; anything else (DuckDB's own internal errors among
 * them) goes on as it was.
 */
function castFailure(error: unknown, plan: ColumnPlan[], table: string, rows: string): unknown {
  const casts = plan.flatMap((column) => (column.cast === null ? [] : [column.cast]));
  const message = error instanceof Error ? error.message : String(error);
  if (casts.length === 0 || /INTERNAL Error|FATAL Error/i.test(message)) return error;
  return new Error(
    `bridge: ${rows} could not be appended to table "${table}" ` +
      `while DuckDB converted ${casts.join(', ')}: ${message.replace(/^Conversion Error: /, '')}`,
    { cause: error },
  );
}

/**
 * Decides, before anything is written, how each Arrow field reaches its table column: directly
 * into the column's type, or as the field's natural DuckDB type when DuckDB converts that
 * implicitly (INTEGER into BIGINT, say) or it is text going into an ENUM. Anything else is a
 * mismatch, reported with the column and both types.
 */
async function planColumns(connection: DuckDBConnection, table: string, columns: TableColumn[], schema: Schema): Promise<ColumnPlan[]> {
  const fields = schema.fields;
  if (fields.length !== columns.length) {
    throw new Error(
      `bridge: table "${table}" has ${columns.length} columns (${columns.map((c) => c.name).join(', ')}) ` +
        `but the data has ${fields.length} (${fields.map((f) => f.name).join(', ')})`,
    );
  }
  const plan: ColumnPlan[] = [];
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i];
    const column = columns[i];
    if (!sameName(field.name, column.name)) {
      throw new Error(`bridge: column ${i + 1} of table "${table}" is "${column.name}" but the data's field ${i + 1} is "${field.name}"`);
    }
    const direct = createColumnWriter(field, column.type);
    if (direct !== null) {
      plan.push({ chunkType: column.type, writer: direct, cast: null });
      continue;
    }
    const columnSql = duckdbTypeSql(column.type);
    let natural: DuckDBType;
    try {
      natural = duckdbTypeForField(field);
    } catch (error) {
      throw new Error(`bridge: column "${column.name}" of table "${table}" is ${columnSql}; ${(error as Error).message}`, { cause: error });
    }
    const writer = createColumnWriter(field, natural);
    if (writer === null || !(await converts(connection, natural, column.type))) {
      throw new Error(
        `bridge: column "${column.name}" of table "${table}" is ${columnSql} but the data's field has Arrow type ` +
          `${field.type} (DuckDB ${duckdbTypeSql(natural)}), which does not convert to it`,
      );
    }
    plan.push({ chunkType: natural, writer, cast: `"${column.name}": ${duckdbTypeSql(natural)} -> ${columnSql}` });
  }
  return plan;
}

/** Whether the appender may cast `from` into `to`: DuckDB's implicit casts, and text into ENUM. */
async function converts(connection: DuckDBConnection, from: DuckDBType, to: DuckDBType): Promise<boolean> {
  if (from.typeId === DuckDBTypeId.VARCHAR && to.typeId === DuckDBTypeId.ENUM) return true;
  const reader = await connection.runAndReadAll(`SELECT can_cast_implicitly(NULL::${duckdbTypeSql(from)}, NULL::${duckdbTypeSql(to)})`);
  return reader.getRows()[0][0] === true;
}

function checkBatchSchema(batch: RecordBatch, schema: Schema, index: number): void {
  if (batch.schema === schema) return;
  const got = batch.schema.fields;
  const want = schema.fields;
  const same = got.length === want.length && got.every((field, i) => sameType(field.type, want[i].type));
  if (!same) {
    throw new Error(
      `bridge: batch ${index} does not match the upload's schema: got (${got.map((f) => `${f.name}: ${f.type}`).join(', ')}), ` +
        `expected (${want.map((f) => `${f.name}: ${f.type}`).join(', ')})`,
    );
  }
}

/** Type equality, except that dictionaries built apart (other ids) still match. */
function sameType(a: DataType, b: DataType): boolean {
  if (DataType.isDictionary(a) && DataType.isDictionary(b)) {
    return a.isOrdered === b.isOrdered && util.compareTypes(a.indices, b.indices) && util.compareTypes(a.dictionary, b.dictionary);
  }
  return util.compareTypes(a, b);
}

/** The iterator's next batch, or the signal's reason as soon as it aborts. */
async function nextOrAbort<T>(iterator: AsyncIterator<T>, signal: AbortSignal | undefined): Promise<IteratorResult<T>> {
  if (signal === undefined) return iterator.next();
  signal.throwIfAborted();
  let onAbort = () => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([iterator.next(), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
