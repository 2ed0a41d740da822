// Statements and prepared statements: what GetFlightInfo, DoGet and DoPut do with SQL.
//
// A statement that returns rows is planned at GetFlightInfo (its schema comes from DuckDB's
// prepared statement, nothing runs) and runs at DoGet. A statement that returns no rows (DDL,
// INSERT, ...) runs at GetFlightInfo, so that it takes effect even if the client never reads
// the ticket, in order with the client's other statements; its ticket then answers the same
// status table the plain Flight face answers (status, statement, rows_changed). A text of
// several statements runs whole at DoGet, as a plain DoGet ticket does.

import { StatementType, type DuckDBConnection, type DuckDBPreparedStatement } from '@duckdb/node-api';
import { RecordBatch, Schema } from 'apache-arrow';
import {
  EncodedBatch,
  FlightError,
  schemaToIpcMessage,
  type CallContext,
  type FlightDataReader,
  type FlightDescriptor,
  type FlightInfo,
  type FlightOutput,
} from '../../flight/index.ts';
import { columnsOf, readTimezone, streamPrepared, streamQuery } from '../bridge/index.ts';
import { nativeExportAvailable, streamQueryNative, writerStreamOptions } from '../bridge/native-export.ts';
import type { ServiceContext } from '../context.ts';
import { fromDuckDBError } from '../errors.ts';
import { extractStatements, MAX_SQL_BYTES, ROW_STATEMENTS, statusSchema } from '../query.ts';
import { tableRowCount } from '../table-scan.ts';
import { admit, checkText } from '../sql-gate.ts';
import type { RunningQueries } from './cancellation.ts';
import { ActionCreatePreparedStatementResult, DoPutPreparedStatementResult, DoPutUpdateResult } from './messages.ts';
import { parameterBindings, parameterSchema, type ParameterSets } from './parameters.ts';
import type { PreparedStatement, PreparedStatements } from './prepared-statements.ts';
import { batchOf } from './record-batches.ts';
import { resultOrigin, withColumnMetadata, type ResultOrigin } from './column-metadata.ts';
import { arrowSchema, preparedColumns, runPrepared, sessionTimezone, type Columns } from './result-stream.ts';
import { interruptible, type Session, type Sessions } from './sessions.ts';
import type { TransactionRegistry } from './transactions.ts';
import { decodeParameters, encodeParameters, encodeTicket, newQueryId, type StatementTicket } from './tickets.ts';

export interface FlightSqlState {
  readonly service: ServiceContext;
  readonly sessions: Sessions;
  readonly transactions: TransactionRegistry;
  readonly prepared: PreparedStatements;
  readonly running: RunningQueries;
}

const utf8 = new TextEncoder();

export function checkSql(sql: string, what: string): void {
  if (sql.trim().length === 0) throw FlightError.invalidArgument(`${what}: the query is empty`);
  const bytes = utf8.encode(sql).byteLength;
  if (bytes > MAX_SQL_BYTES) throw FlightError.invalidArgument(`${what}: the query is ${bytes} bytes; the limit is ${MAX_SQL_BYTES}`);
}

function statementName(type: StatementType): string {
  return StatementType[type] ?? 'STATEMENT';
}

export function statusBatch(statement: string, rowsChanged: number): RecordBatch {
  return batchOf(statusSchema(), [['OK'], [statement], [BigInt(rowsChanged)]]);
}

/**
 * `totalRecords` is known for a plain table scan (-1 otherwise, as the spec asks). `totalBytes`
 * stays -1: what DuckDB knows cheaply is its own storage, not the size of the Arrow stream.
 */
function flightInfo(descriptor: FlightDescriptor, schema: Schema | null, ticket: StatementTicket, totalRecords = -1): FlightInfo {
  return { schema, descriptor, endpoints: [{ ticket: encodeTicket(ticket), locations: [] }], totalRecords, totalBytes: -1, ordered: false };
}

function outcomeInfo(descriptor: FlightDescriptor, statement: string, rowsChanged: number): FlightInfo {
  return flightInfo(descriptor, statusSchema(), { kind: 'outcome', queryId: newQueryId(), statement, rowsChanged });
}

/** DuckDB's errors as Flight errors, keeping a cancellation's own reason. */
function failure(error: unknown, signal?: AbortSignal): FlightError {
  if (signal?.aborted && signal.reason instanceof FlightError) return signal.reason;
  return fromDuckDBError(error);
}

async function guard<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw failure(error, signal);
  }
}

/** Words that begin DuckDB's transaction statements (BEGIN, START TRANSACTION, COMMIT, END, ROLLBACK, ABORT). */
const TRANSACTION_WORDS = /\b(BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b/i;

const TRANSACTION_CONTROL_REFUSED =
  'BEGIN, COMMIT and ROLLBACK do not go through Flight SQL statements here: use the BeginTransaction and ' +
  'EndTransaction actions (in ADBC: turn autocommit off, then commit or rollback)';

/**
 * Prepares a single statement (null for a text of several, which runs whole at DoGet).
 * Transaction statements are refused where they would break the server's view of the
 * connection: alone, anywhere (BEGIN would leave a pool connection inside a transaction, COMMIT
 * would end a client's transaction behind EndTransaction's back), and inside a script run in a
 * client's transaction. A script run in autocommit may hold a balanced BEGIN ... COMMIT; one
 * that leaves a transaction open is rolled back when it ends (see closeScript).
 */
async function prepareOne(
  state: FlightSqlState,
  session: Session,
  sql: string,
): Promise<{ count: number; prepared: DuckDBPreparedStatement | null }> {
  await guard(checkText(session.connection, state.service.settings, sql));
  const extracted = await guard(extractStatements(session.connection, sql));
  if (extracted.count === 0) throw FlightError.invalidArgument('the SQL text holds no statement');
  if (extracted.count > 1) {
    if (session.transaction !== null) {
      for (let i = 0; i < extracted.count; i++) {
        // A statement that cannot be prepared before the ones ahead of it have run is no
        // transaction statement (those prepare on their own): it is left for the run to report.
        const prepared = await extracted.prepare(i).catch(() => null);
        const type = prepared?.statementType;
        prepared?.destroySync();
        if (type === StatementType.TRANSACTION) throw FlightError.invalidArgument(TRANSACTION_CONTROL_REFUSED);
      }
    }
    return { count: extracted.count, prepared: null };
  }
  const prepared = await guard(extracted.prepare(0));
  try {
    if (prepared.statementType === StatementType.TRANSACTION) throw FlightError.invalidArgument(TRANSACTION_CONTROL_REFUSED);
    admit(state.service.settings, prepared.statementType, sql);
  } catch (error) {
    prepared.destroySync();
    throw error;
  }
  return { count: 1, prepared };
}

/**
 * After a script ran on a pool connection: if it left a transaction open (a BEGIN without its
 * COMMIT), the transaction is rolled back, so that the connection's next user does not land in
 * it, and the script fails saying so.
 */
async function closeScript(connection: DuckDBConnection, sql: string): Promise<void> {
  if (!TRANSACTION_WORDS.test(sql)) return; // no statement of the text could have begun one
  try {
    await connection.run('BEGIN TRANSACTION');
  } catch (error) {
    if (!/within a transaction/i.test((error as Error).message)) throw error;
    await connection.run('ROLLBACK');
    throw FlightError.invalidArgument(
      `the SQL text left a transaction open (BEGIN without COMMIT); it was rolled back. ${TRANSACTION_CONTROL_REFUSED}`,
    );
  }
  await connection.run('ROLLBACK');
}

/**
 * Runs a statement that returns no rows once per parameter set and totals the rows changed.
 * Several sets run as one atomic execution: in the client's transaction, or in one of our own.
 */
async function runForRowsChanged(
  session: Session,
  prepared: DuckDBPreparedStatement,
  bindings: (() => void)[],
  signal: AbortSignal,
): Promise<number> {
  const connection = session.connection;
  const own = session.transaction === null && bindings.length > 1;
  if (own) await guard(connection.run('BEGIN TRANSACTION'));
  try {
    let total = 0;
    for (const bind of bindings) {
      bind();
      const result = await interruptible(connection, signal, () => prepared.run());
      total += result.rowsChanged;
    }
    if (own) await connection.run('COMMIT');
    return total;
  } catch (error) {
    if (own) await connection.run('ROLLBACK').catch(() => undefined);
    throw failure(error, signal);
  }
}

/**
 * The result schema of a query whose column types depend on its parameters: the same query
 * wrapped in `LIMIT 0`, bound with the first parameter set. Null when the wrapper does not apply
 * (the FlightInfo then carries no schema and the client takes it from the DoGet stream, which
 * reports any real error in the query).
 */
async function boundSchema(state: FlightSqlState, connection: DuckDBConnection, sql: string, sets: ParameterSets): Promise<Schema | null> {
  const wrapped = `SELECT * FROM (${sql.trim().replace(/;\s*$/, '')}) LIMIT 0`;
  let prepared: DuckDBPreparedStatement;
  try {
    prepared = await connection.prepare(wrapped);
  } catch {
    return null; // not a query that can be wrapped: see above
  }
  try {
    const bindings = parameterBindings(prepared, sets);
    if (bindings.length === 0) return null;
    bindings[0]!();
    const result = await prepared.run();
    return (await resultSchema(state, connection, null, columnsOf(result))).schema;
  } finally {
    prepared.destroySync();
  }
}

/**
 * What a client is told of a result with these columns: the bridge's Arrow types with the Flight
 * SQL column metadata, and where the rows come from (a table, for a plain scan of one; `sql` null
 * when the result does not come from one statement's text alone).
 */
async function resultSchema(
  state: FlightSqlState,
  connection: DuckDBConnection,
  sql: string | null,
  columns: Columns,
): Promise<{ schema: Schema; origin: ResultOrigin }> {
  const origin = await guard(resultOrigin(connection, sql, columns.names.length, state.service.settings.readOnly));
  const schema = arrowSchema(columns, await guard(sessionTimezone(connection, columns)));
  return { schema: withColumnMetadata(schema, columns.types, origin), origin };
}

/** GetFlightInfo of one prepared statement, with its parameter sets (if any) bound. */
async function infoForPrepared(
  state: FlightSqlState,
  session: Session,
  prepared: DuckDBPreparedStatement,
  sql: string,
  transactionId: Uint8Array | undefined,
  descriptor: FlightDescriptor,
  sets: ParameterSets | null,
  context: CallContext,
): Promise<FlightInfo> {
  const bindings = parameterBindings(prepared, sets);
  if (!ROW_STATEMENTS.has(prepared.statementType)) {
    const rows = await runForRowsChanged(session, prepared, bindings, context.signal);
    return outcomeInfo(descriptor, statementName(prepared.statementType), rows);
  }
  const parameters = prepared.parameterCount > 0 && sets !== null ? encodeParameters(sets) : undefined;
  let schema: Schema | null = null;
  let totalRecords = -1;
  const columns = preparedColumns(prepared);
  if (columns) {
    const described = await resultSchema(state, session.connection, sql, columns);
    schema = described.schema;
    if (described.origin.table) totalRecords = await guard(tableRowCount(session.connection, described.origin.table));
  } else if (sets !== null && prepared.statementType === StatementType.SELECT) {
    schema = await boundSchema(state, session.connection, sql, sets);
  }
  return flightInfo(descriptor, schema, { kind: 'query', queryId: newQueryId(), sql, transactionId, parameters }, totalRecords);
}

/** GetFlightInfo of CommandStatementQuery. */
export async function statementInfo(
  state: FlightSqlState,
  sql: string,
  transactionId: Uint8Array | undefined,
  descriptor: FlightDescriptor,
  context: CallContext,
): Promise<FlightInfo> {
  checkSql(sql, 'CommandStatementQuery');
  return state.sessions.run(transactionId, context, async (session) => {
    const { prepared } = await prepareOne(state, session, sql);
    if (!prepared) return flightInfo(descriptor, null, { kind: 'query', queryId: newQueryId(), sql, transactionId, parameters: undefined });
    try {
      return await infoForPrepared(state, session, prepared, sql, transactionId, descriptor, null, context);
    } finally {
      prepared.destroySync();
    }
  });
}

/** GetSchema of CommandStatementQuery: planned, never run. */
export async function statementSchema(
  state: FlightSqlState,
  sql: string,
  transactionId: Uint8Array | undefined,
  context: CallContext,
): Promise<Schema> {
  checkSql(sql, 'CommandStatementQuery');
  return state.sessions.run(transactionId, context, async (session) => {
    const { prepared } = await prepareOne(state, session, sql);
    if (!prepared)
      throw FlightError.invalidArgument('GetSchema: the text holds several statements; the schema of a script is known only once it runs');
    try {
      if (!ROW_STATEMENTS.has(prepared.statementType)) return statusSchema();
      const columns = preparedColumns(prepared);
      if (!columns)
        throw FlightError.invalidArgument('GetSchema: the result types depend on parameters; prepare the statement and bind them');
      return (await resultSchema(state, session.connection, sql, columns)).schema;
    } finally {
      prepared.destroySync();
    }
  });
}

/** What a statement ticket's DoGet streams: the JavaScript bridge's batches, or the native export's encoded ones. */
type QueryStream = AsyncIterable<RecordBatch | EncodedBatch> & { close(): Promise<void> };

/** DoGet of a statement ticket. */
export async function redeemTicket(state: FlightSqlState, ticket: StatementTicket, context: CallContext): Promise<FlightOutput> {
  if (ticket.kind === 'outcome') {
    const batch = statusBatch(ticket.statement, ticket.rowsChanged);
    return Object.assign([batch], { schema: batch.schema });
  }
  const query = state.running.start(ticket.queryId, context.signal);
  let session: Session;
  try {
    session = await state.sessions.open(ticket.transactionId, context);
  } catch (error) {
    query.finish();
    throw error;
  }
  const { signal } = query;
  const { settings } = state.service;
  const batchRows = settings.batchRows;
  let prepared: DuckDBPreparedStatement | null = null;
  const done = (healthy: boolean) => {
    prepared?.destroySync();
    prepared = null;
    session.release(healthy);
    query.finish();
  };
  try {
    let stream: QueryStream;
    let schema: Schema;
    // A ticket comes back from the client: what it names passes the gate again.
    await guard(checkText(session.connection, settings, ticket.sql), signal);
    if (ticket.parameters !== undefined) {
      prepared = await guard(session.connection.prepare(ticket.sql), signal);
      admit(settings, prepared.statementType, ticket.sql);
      const bindings = parameterBindings(prepared, decodeParameters(ticket.parameters));
      // The result types are known only once it runs: read the zone in case one is a TIMESTAMPTZ.
      const timezone = await guard(readTimezone(session.connection));
      const runs = await guard(runPrepared(session.connection, prepared, bindings, { batchRows, signal, timezone }), signal);
      stream = runs;
      schema =
        runs.schema && runs.columns
          ? withColumnMetadata(runs.schema, runs.columns.types, { table: null, columns: null, readOnly: state.service.settings.readOnly })
          : new Schema([]);
    } else {
      const extracted = await guard(extractStatements(session.connection, ticket.sql), signal);
      if (extracted.count === 1) {
        // One statement: described as GetFlightInfo described it, column metadata included.
        const statement = await guard(extracted.prepare(0), signal);
        let origin: ResultOrigin;
        try {
          admit(settings, statement.statementType, ticket.sql);
          origin = await guard(
            resultOrigin(session.connection, ticket.sql, statement.columnCount, state.service.settings.readOnly),
            signal,
          );
        } catch (error) {
          statement.destroySync();
          throw error;
        }
        const { types } = columnsOf(statement);
        let result: QueryStream & { readonly schema: Schema };
        if (settings.bridge === 'native' && nativeExportAvailable(session.connection)) {
          // The addon prepares the statement again, itself, and converts on its own thread.
          statement.destroySync();
          result = await guard(
            streamQueryNative(session.connection, ticket.sql, { batchRows, signal, ...writerStreamOptions(settings.maxMessageBytes) }),
            signal,
          );
        } else {
          result = await guard(streamPrepared(session.connection, statement, { batchRows, signal }), signal);
        }
        stream = result;
        schema = withColumnMetadata(result.schema, types, origin);
      } else {
        // A script: its last statement can be described only after the others ran.
        const admitted = (type: StatementType) => admit(settings, type, ticket.sql);
        const result = await guard(streamQuery(session.connection, ticket.sql, { batchRows, signal, admit: admitted }), signal);
        stream = result;
        schema = result.schema;
      }
    }
    let finished: Promise<void> | null = null;
    const finish = (healthy: boolean) =>
      (finished ??= (async () => {
        let reusable = healthy;
        try {
          await stream.close();
          if (session.transaction === null) {
            reusable = false;
            await closeScript(session.connection, ticket.sql);
            reusable = true;
          }
        } catch (error) {
          // closeScript rolled back what the text left open: the connection is clean again.
          if (error instanceof FlightError) reusable = true;
          throw error;
        } finally {
          done(reusable);
        }
      })());
    // A call that ends before its output is read (the client left while the schema was being
    // sent) never iterates: the connection, or the transaction's turn, is given back here.
    const onAbort = () => {
      if (!iterating) finish(true).catch(() => undefined); // nobody is left to tell
    };
    let iterating = false;
    context.signal.addEventListener('abort', onAbort, { once: true });
    return {
      schema,
      async *[Symbol.asyncIterator](): AsyncGenerator<RecordBatch | EncodedBatch> {
        iterating = true;
        context.signal.removeEventListener('abort', onAbort);
        let healthy = false;
        try {
          if (finished) throw failure(new Error('the call ended before its result was read'), signal);
          // The batches carry the bridge's schema; the stream's adds column metadata and a
          // table's nullability, which the writer would otherwise see as a different schema.
          // An encoded batch (the native export's) carries no schema: the schema message says it all.
          for await (const batch of stream) {
            yield batch instanceof EncodedBatch || batch.schema === schema ? batch : new RecordBatch(schema, batch.data);
          }
          healthy = true;
        } catch (error) {
          throw failure(error, signal);
        } finally {
          await finish(healthy || signal.aborted);
        }
      },
    };
  } catch (error) {
    done(false);
    throw failure(error, signal);
  }
}

/** DoPut of CommandStatementUpdate: runs the statement(s), answers the rows changed. */
export async function statementUpdate(
  state: FlightSqlState,
  sql: string,
  transactionId: Uint8Array | undefined,
  context: CallContext,
): Promise<Uint8Array> {
  checkSql(sql, 'CommandStatementUpdate');
  const rows = await state.sessions.run(transactionId, context, async (session) => {
    await guard(checkText(session.connection, state.service.settings, sql));
    const extracted = await guard(extractStatements(session.connection, sql));
    if (extracted.count === 0) throw FlightError.invalidArgument('the SQL text holds no statement');
    let total = 0;
    for (let i = 0; i < extracted.count; i++) {
      const prepared = await guard(extracted.prepare(i));
      try {
        if (prepared.statementType === StatementType.TRANSACTION && (session.transaction !== null || extracted.count === 1)) {
          throw FlightError.invalidArgument(TRANSACTION_CONTROL_REFUSED);
        }
        admit(state.service.settings, prepared.statementType, sql);
        total += await runForRowsChanged(session, prepared, parameterBindings(prepared, null), context.signal);
      } finally {
        prepared.destroySync();
      }
    }
    if (session.transaction === null) await guard(closeScript(session.connection, sql));
    return total;
  });
  return DoPutUpdateResult.encode({ recordCount: rows });
}

/** The Arrow type the bridge gives a DuckDB type, or null when it has none. */
function arrowTypeOf(type: Parameters<typeof arrowSchema>[0]['types'][number]) {
  try {
    return arrowSchema({ names: ['p'], types: [type] }, 'UTC').fields[0]!.type;
  } catch {
    return null; // a type with no Arrow mapping is described as Null: what ADBC expects for "unknown"
  }
}

/** ActionCreatePreparedStatementRequest: plans the statement and keeps it under a new handle. */
export async function createPreparedStatement(
  state: FlightSqlState,
  sql: string,
  transactionId: Uint8Array | undefined,
  context: CallContext,
): Promise<Uint8Array> {
  checkSql(sql, 'CreatePreparedStatement');
  const entry = await state.sessions.run(transactionId, context, async (session) => {
    const { prepared } = await prepareOne(state, session, sql);
    const common = { sql, transactionId, identity: context.identity };
    if (!prepared) {
      return state.prepared.add({
        ...common,
        script: true,
        returnsRows: true,
        parameterCount: 0,
        datasetSchema: null,
        parameterSchema: new Schema([]),
      });
    }
    try {
      const returnsRows = ROW_STATEMENTS.has(prepared.statementType);
      const columns = returnsRows ? preparedColumns(prepared) : null;
      // The spec gives a dataset schema to statements that return rows: an empty one is how
      // clients (the JDBC driver) know to run the statement as an update and read its count.
      const datasetSchema = !returnsRows
        ? new Schema([])
        : columns
          ? (await resultSchema(state, session.connection, sql, columns)).schema
          : null;
      return state.prepared.add({
        ...common,
        script: false,
        returnsRows,
        parameterCount: prepared.parameterCount,
        datasetSchema,
        parameterSchema: parameterSchema(prepared, arrowTypeOf),
      });
    } finally {
      prepared.destroySync();
    }
  });
  return ActionCreatePreparedStatementResult.encode({
    preparedStatementHandle: entry.handle,
    datasetSchema: entry.datasetSchema ? schemaToIpcMessage(entry.datasetSchema) : undefined,
    parameterSchema: schemaToIpcMessage(entry.parameterSchema),
    isUpdate: entry.script ? undefined : !entry.returnsRows,
  });
}

/** The transaction a prepared statement runs in now (see TransactionRegistry.current). */
function transactionOf(state: FlightSqlState, entry: PreparedStatement, context: CallContext): Uint8Array | undefined {
  return entry.transactionId === undefined ? undefined : state.transactions.current(entry.transactionId, context.identity);
}

/** GetFlightInfo of CommandPreparedStatementQuery. */
export async function preparedInfo(
  state: FlightSqlState,
  handle: Uint8Array,
  descriptor: FlightDescriptor,
  context: CallContext,
): Promise<FlightInfo> {
  const entry = state.prepared.get(handle, context.identity);
  const transactionId = transactionOf(state, entry, context);
  if (entry.script) return statementInfo(state, entry.sql, transactionId, descriptor, context);
  return state.sessions.run(transactionId, context, async (session) => {
    const prepared = await guard(session.connection.prepare(entry.sql));
    try {
      admit(state.service.settings, prepared.statementType, entry.sql);
      return await infoForPrepared(state, session, prepared, entry.sql, transactionId, descriptor, entry.parameters, context);
    } finally {
      prepared.destroySync();
    }
  });
}

/** GetSchema of CommandPreparedStatementQuery: with the bound parameters taken into account. */
export async function preparedSchema(state: FlightSqlState, handle: Uint8Array, context: CallContext): Promise<Schema> {
  const entry = state.prepared.get(handle, context.identity);
  if (entry.datasetSchema) return entry.datasetSchema;
  if (entry.script) throw FlightError.invalidArgument('GetSchema: the statement is a script; its schema is known only once it runs');
  if (!entry.parameters) throw FlightError.invalidArgument('GetSchema: the result types depend on parameters; bind them with DoPut first');
  const parameters = entry.parameters;
  const schema = await state.sessions.run(transactionOf(state, entry, context), context, (session) =>
    guard(boundSchema(state, session.connection, entry.sql, parameters)),
  );
  if (!schema) throw FlightError.invalidArgument('GetSchema: the result schema is known only once the statement runs');
  return schema;
}

async function readParameterSets(reader: FlightDataReader): Promise<ParameterSets | null> {
  const schema = await reader.schema();
  const batches: RecordBatch[] = [];
  for await (const batch of reader) batches.push(batch);
  return schema ? { schema, batches } : null;
}

/** DoPut of CommandPreparedStatementQuery: binds parameter sets for the next execution. */
export async function bindParameters(
  state: FlightSqlState,
  handle: Uint8Array,
  reader: FlightDataReader,
  context: CallContext,
): Promise<Uint8Array> {
  const entry = state.prepared.get(handle, context.identity);
  const sets = await readParameterSets(reader);
  if (entry.script && sets !== null && sets.schema.fields.length > 0) {
    throw FlightError.invalidArgument('the prepared text holds several statements, which take no parameters');
  }
  entry.parameters = sets;
  return DoPutPreparedStatementResult.encode({ preparedStatementHandle: entry.handle });
}

/** DoPut of CommandPreparedStatementUpdate: one execution per parameter set, atomically. */
export async function preparedUpdate(
  state: FlightSqlState,
  handle: Uint8Array,
  reader: FlightDataReader,
  context: CallContext,
): Promise<Uint8Array> {
  const entry = state.prepared.get(handle, context.identity);
  const sent = await readParameterSets(reader);
  const sets = sent !== null && sent.schema.fields.length > 0 ? sent : entry.parameters;
  const transactionId = transactionOf(state, entry, context);
  if (entry.script) {
    if (sets !== null && sets.schema.fields.length > 0)
      throw FlightError.invalidArgument('the prepared text holds several statements, which take no parameters');
    return statementUpdate(state, entry.sql, transactionId, context);
  }
  const rows = await state.sessions.run(transactionId, context, async (session) => {
    const prepared = await guard(session.connection.prepare(entry.sql));
    try {
      admit(state.service.settings, prepared.statementType, entry.sql);
      return await runForRowsChanged(session, prepared, parameterBindings(prepared, sets), context.signal);
    } finally {
      prepared.destroySync();
    }
  });
  return DoPutUpdateResult.encode({ recordCount: rows });
}
