// DoGet, GetFlightInfo, GetSchema, ListFlights and PollFlightInfo: SQL in, Arrow out.
// A ticket is the UTF-8 text of a SQL query (what both seeds' clients send); a descriptor is a
// command (SQL) or a path naming a table.

import type { DuckDBConnection, DuckDBExtractedStatements, DuckDBPreparedStatement } from '@duckdb/node-api';
import { StatementType } from '@duckdb/node-api';
import { Field, Int64, Schema, Table, Utf8, vectorFromArray, type RecordBatch } from 'apache-arrow';
import {
  EncodedBatch,
  FlightDescriptor,
  FlightError,
  type CallContext,
  type FlightInfo,
  type FlightOutput,
  type PollInfo,
} from '../flight/index.ts';
import { describePrepared, streamPrepared } from './bridge/index.ts';
import { nativeExportAvailable, streamQueryNative, writerStreamOptions } from './bridge/native-export.ts';
import { quoteIdentifier } from './bridge/sql.ts';
import type { ServiceContext } from './context.ts';
import { fromDuckDBError } from './errors.ts';
import { plainTableScan, tableRowCount } from './table-scan.ts';
import { admit, checkText, type GateSettings } from './sql-gate.ts';
import { MAX_SQL_BYTES } from './settings.ts';

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Tickets and commands beyond this size are refused before DuckDB sees them. */
export { MAX_SQL_BYTES };

/**
 * Statement types that produce rows; the others answer with a one-row status table (Flight SQL:
 * they run at GetFlightInfo).
 */
export const ROW_STATEMENTS: ReadonlySet<StatementType> = new Set<StatementType>([
  StatementType.SELECT,
  StatementType.EXPLAIN,
  StatementType.PRAGMA,
  StatementType.CALL,
  StatementType.RELATION,
  StatementType.EXECUTE,
  StatementType.ANALYZE,
]);

export function decodeSql(bytes: Uint8Array, what: string): string {
  if (bytes.byteLength === 0) throw FlightError.invalidArgument(`${what} is empty: send the UTF-8 text of a SQL query`);
  if (bytes.byteLength > MAX_SQL_BYTES) {
    throw FlightError.invalidArgument(`${what} is ${bytes.byteLength} bytes; the limit for SQL text is ${MAX_SQL_BYTES}`);
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw FlightError.invalidArgument(`${what} is not valid UTF-8: send the UTF-8 text of a SQL query`);
  }
}

/** The SQL a descriptor stands for: its command, or `SELECT *` from the table its path names. */
export function descriptorSql(descriptor: FlightDescriptor): string {
  if (descriptor.type === 'cmd') return decodeSql(descriptor.cmd, 'the descriptor command');
  return `SELECT * FROM ${tablePath(descriptor.path)}`;
}

/** A descriptor path as a quoted table reference: [table], [schema, table] or [catalog, schema, table]. */
export function tablePath(path: readonly string[]): string {
  if (path.length < 1 || path.length > 3 || path.some((p) => p.length === 0)) {
    throw FlightError.invalidArgument(
      `a descriptor path names a table as [table], [schema, table] or [catalog, schema, table]; got ${path.length} segment(s)`,
    );
  }
  return path.map(quoteIdentifier).join('.');
}

/**
 * Plain utf8, never dictionary-encoded (what `tableFromArrays` makes of strings): some shipped
 * readers (arrow-rs 49, inside an npm Flight SQL client) fail on a dictionary here.
 */
const STATUS_SCHEMA = new Schema([
  new Field('status', new Utf8()),
  new Field('statement', new Utf8()),
  new Field('rows_changed', new Int64()),
]);

export function statusSchema(): Schema {
  return STATUS_SCHEMA;
}

function statusTable(statement: string, rowsChanged: number): Table {
  return new Table(STATUS_SCHEMA, {
    status: vectorFromArray(['OK'], new Utf8()),
    statement: vectorFromArray([statement], new Utf8()),
    rows_changed: vectorFromArray([BigInt(rowsChanged)], new Int64()),
  });
}

interface Classified {
  rows: boolean;
  type: StatementType;
  prepared: DuckDBPreparedStatement;
}

/**
 * The statements of a SQL text. @duckdb/node-api throws a bare "Error in native callback" for a
 * text with none (blanks, a comment, a lone semicolon); that is the client's mistake, said so.
 */
export async function extractStatements(connection: DuckDBConnection, sql: string): Promise<DuckDBExtractedStatements> {
  if (/^[\s;]*$/.test(sql)) throw FlightError.invalidArgument('the SQL text holds no statement');
  try {
    return await connection.extractStatements(sql);
  } catch (error) {
    if (error instanceof Error && error.message === 'Error in native callback') {
      throw FlightError.invalidArgument('the SQL text holds no statement');
    }
    throw error;
  }
}

/** Words that begin DuckDB's transaction statements (BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT). */
const TRANSACTION_WORDS = /\b(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b/i;

/**
 * Words of statements that change a connection's session for what runs on it later: settings
 * (SET, RESET, PRAGMA), the current schema (USE), prepared statements, temporary objects, and
 * transactions. A pooled connection that may have run one is not handed to the next call.
 */
const SESSION_WORDS = /\b(SET|RESET|USE|PRAGMA|PREPARE|DEALLOCATE|TEMP|TEMPORARY|BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b/i;

/** Whether the connection is inside a transaction: DuckDB refuses to BEGIN one there. */
async function insideTransaction(connection: DuckDBConnection): Promise<boolean> {
  try {
    await connection.run('BEGIN TRANSACTION');
  } catch {
    return true;
  }
  await connection.run('ROLLBACK');
  return false;
}

/**
 * Gives back a connection that ran client SQL. What the SQL did to its session must not reach
 * the next call, anyone's, that the pool hands it to: one left inside a transaction (a BEGIN
 * without COMMIT, or a failure between them) would make that call's writes vanish with the
 * rollback; SET TimeZone, USE or a PRAGMA would change its results. Such a connection is closed
 * (which rolls an open transaction back). Returns whether a transaction was left open.
 */
export async function releaseAfterSql(
  service: ServiceContext,
  connection: DuckDBConnection,
  sql: string,
  reusable = true,
): Promise<boolean> {
  let leftOpen = false;
  if (reusable && TRANSACTION_WORDS.test(sql)) {
    leftOpen = await insideTransaction(connection).catch(() => true);
  }
  service.engine.release(connection, reusable && !leftOpen && !SESSION_WORDS.test(sql));
  return leftOpen;
}

export function transactionLeftOpen(): FlightError {
  return FlightError.invalidArgument(
    'the SQL left a transaction open (BEGIN without COMMIT or ROLLBACK), so it was rolled back: every ticket and ' +
      'query action runs on a connection of its own, so a transaction cannot span calls (Flight SQL transactions can)',
  );
}

/**
 * Prepares a single statement to learn what it is, without running it; null for several
 * statements. One the server's options refuse is refused here already.
 */
async function classify(connection: DuckDBConnection, sql: string, gate: GateSettings): Promise<Classified | null> {
  await checkText(connection, gate, sql);
  const extracted = await extractStatements(connection, sql);
  if (extracted.count === 0) throw FlightError.invalidArgument('the SQL text holds no statement');
  if (extracted.count > 1) return null;
  return admitted(gate, await extracted.prepare(0), sql);
}

/**
 * Runs every statement of `sql` but the last, in order, and prepares the last (after the others
 * ran: it may use what they created), so that the last one decides what the call answers.
 */
async function runAllButLast(connection: DuckDBConnection, sql: string, gate: GateSettings): Promise<Classified> {
  await checkText(connection, gate, sql);
  const extracted = await extractStatements(connection, sql);
  if (extracted.count === 0) throw FlightError.invalidArgument('the SQL text holds no statement');
  for (let i = 0; i < extracted.count - 1; i++) {
    const prepared = await extracted.prepare(i);
    try {
      admit(gate, prepared.statementType, sql);
      await prepared.run();
    } finally {
      prepared.destroySync();
    }
  }
  return admitted(gate, await extracted.prepare(extracted.count - 1), sql);
}

/** The statement that answers the call, if the server's options admit it; destroyed if not. */
function admitted(gate: GateSettings, prepared: DuckDBPreparedStatement, sql: string): Classified {
  try {
    admit(gate, prepared.statementType, sql);
  } catch (error) {
    prepared.destroySync();
    throw error;
  }
  return { rows: ROW_STATEMENTS.has(prepared.statementType), type: prepared.statementType, prepared };
}

/**
 * Runs `work` on `connection`, interrupting it if `signal` aborts meanwhile. The listener goes
 * when the work ends: the connection may then return to the pool and serve another call.
 */
async function interruptedOnAbort<T>(signal: AbortSignal, connection: DuckDBConnection, work: () => Promise<T>): Promise<T> {
  const interrupt = () => connection.interrupt();
  signal.addEventListener('abort', interrupt);
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', interrupt);
  }
}

/** Runs `sql` and streams its result; a statement that returns no rows answers a status table. */
export async function runQuery(service: ServiceContext, sql: string, context: CallContext): Promise<FlightOutput> {
  const connection = await service.engine.acquire();
  let handedOff = false;
  let failed = false;
  try {
    // A client that goes away interrupts what runs before the stream starts; the stream itself
    // listens to the signal once it exists.
    const kind = await interruptedOnAbort(context.signal, connection, () => runAllButLast(connection, sql, service.settings)).catch(
      (e: unknown) => {
        throw fromDuckDBError(e);
      },
    );
    if (!kind.rows) {
      // A statement that returns no rows (DDL, DML, SET ...) answers a one-row status table.
      let status;
      try {
        const result = await interruptedOnAbort(context.signal, connection, () => kind.prepared.run());
        status = statusTable(StatementType[kind.type] ?? 'STATEMENT', result.rowsChanged).batches;
      } catch (error) {
        throw fromDuckDBError(error);
      } finally {
        kind.prepared.destroySync();
      }
      handedOff = true;
      if (await releaseAfterSql(service, connection, sql)) throw transactionLeftOpen();
      return status;
    }
    const options = { batchRows: service.settings.batchRows, signal: context.signal };
    let stream;
    if (service.settings.bridge === 'native' && nativeExportAvailable(connection)) {
      // The addon prepares the last statement again, itself: the ones before it have run.
      kind.prepared.destroySync();
      stream = await streamQueryNative(connection, sql, { ...options, ...writerStreamOptions(service.settings.maxMessageBytes) }).catch(
        (e: unknown) => {
          throw fromDuckDBError(e);
        },
      );
    } else {
      stream = await streamPrepared(connection, kind.prepared, options).catch((e: unknown) => {
        throw fromDuckDBError(e);
      });
    }
    handedOff = true;
    const batches: AsyncIterable<RecordBatch | EncodedBatch> = stream;
    return {
      schema: stream.schema,
      async *[Symbol.asyncIterator](): AsyncGenerator<RecordBatch | EncodedBatch> {
        let leftOpen = false;
        try {
          for await (const batch of batches) yield batch;
        } catch (error) {
          throw fromDuckDBError(error);
        } finally {
          await stream.close();
          leftOpen = await releaseAfterSql(service, connection, sql);
        }
        // The rows were sent, but what the SQL did before them was rolled back: say so.
        if (leftOpen) throw transactionLeftOpen();
      },
    };
  } catch (error) {
    failed = true;
    throw error;
  } finally {
    if (!handedOff) await releaseAfterSql(service, connection, sql, !failed);
  }
}

/** The Arrow schema a query would produce, learned by preparing it (nothing runs). */
export async function querySchema(service: ServiceContext, sql: string): Promise<Schema> {
  const connection = await service.engine.acquire();
  let failed = false;
  try {
    const kind = await classify(connection, sql, service.settings).catch((e: unknown) => {
      throw fromDuckDBError(e);
    });
    if (!kind) throw FlightError.invalidArgument('a schema can be given for one statement at a time; DoGet runs several');
    try {
      // From the prepared statement alone: nothing runs (a PRAGMA or CALL has no effect, a long
      // query costs nothing).
      return kind.rows ? await describePrepared(connection, kind.prepared) : statusSchema();
    } finally {
      kind.prepared.destroySync();
    }
  } catch (error) {
    failed = true;
    throw fromDuckDBError(error);
  } finally {
    // The fallback above runs the statement (a PRAGMA, say), which may change the session.
    await releaseAfterSql(service, connection, sql, !failed);
  }
}

/** The rows of the table a path names, or that a plain scan (`SELECT * FROM t`) reads; -1 for any other query. */
async function totalRecordsOf(service: ServiceContext, descriptor: FlightDescriptor, sql: string): Promise<number> {
  return service.engine.withConnection(async (c) => {
    if (descriptor.type === 'path') {
      const reader = await c.runAndReadAll(`SELECT count(*) FROM ${tablePath(descriptor.path)}`);
      return Number(reader.getRows()[0]![0]);
    }
    const table = await plainTableScan(c, sql);
    return table ? tableRowCount(c, table) : -1;
  });
}

export async function flightInfo(service: ServiceContext, descriptor: FlightDescriptor): Promise<FlightInfo> {
  const sql = descriptorSql(descriptor);
  const schema = await querySchema(service, sql);
  const totalRecords = await totalRecordsOf(service, descriptor, sql).catch((e: unknown) => {
    throw fromDuckDBError(e);
  });
  return {
    schema,
    descriptor,
    endpoints: [{ ticket: utf8.encode(sql), locations: [] }],
    totalRecords,
    totalBytes: -1,
    ordered: false,
  };
}

export async function pollFlightInfo(service: ServiceContext, descriptor: FlightDescriptor): Promise<PollInfo> {
  // Queries are planned synchronously here, so the first poll is already complete.
  return { info: await flightInfo(service, descriptor), progress: 1 };
}

export interface TableEntry {
  database: string;
  schema: string;
  name: string;
  rows: number;
}

export async function listTables(service: ServiceContext): Promise<TableEntry[]> {
  return service.engine.withConnection(async (c) => {
    const reader = await c.runAndReadAll(
      `SELECT database_name, schema_name, table_name FROM duckdb_tables()
        WHERE NOT temporary AND database_name = current_database() ORDER BY schema_name, table_name`,
    );
    const tables: TableEntry[] = [];
    for (const [database, schema, name] of reader.getRows() as [string, string, string][]) {
      const reference = [database, schema, name].map(quoteIdentifier).join('.');
      const count = await c.runAndReadAll(`SELECT count(*) FROM ${reference}`);
      tables.push({ database, schema, name, rows: Number(count.getRows()[0]![0]) });
    }
    return tables;
  });
}

export async function* listFlights(service: ServiceContext, criteria: Uint8Array): AsyncGenerator<FlightInfo> {
  const prefix = criteria.byteLength > 0 ? decodeSql(criteria, 'the ListFlights criteria') : '';
  const tables = await listTables(service).catch((e: unknown) => {
    throw fromDuckDBError(e);
  });
  for (const table of tables) {
    if (!table.name.startsWith(prefix)) continue;
    const path = table.schema === 'main' ? [table.name] : [table.schema, table.name];
    const descriptor = FlightDescriptor.path(...path);
    const schema = await querySchema(service, descriptorSql(descriptor));
    yield {
      schema,
      descriptor,
      endpoints: [{ ticket: utf8.encode(descriptorSql(descriptor)), locations: [] }],
      totalRecords: table.rows,
      totalBytes: -1,
    };
  }
}
