// CommandStatementIngest: a DoPut stream of Arrow batches into a table, all or nothing.
//
// The bridge's appendBatches does the work (schema checks, bulk appends), but it runs its own
// BEGIN ... COMMIT, and an ingest has to share a transaction with its existence checks, or live
// in the client's. So appendBatches gets the connection through a view on which its
// transaction statements do nothing, and the transaction is ours (or the client's) to end.
// Tables go in the connection's current schema, so a requested catalog or schema is made
// current (USE) for the ingest and put back after. A temporary table lives in DuckDB's `temp`
// catalog, which appendBatches cannot address: the rows are staged in a table of the same
// transaction and copied into the temporary table, and the staging table dropped before anyone
// else could see it.

import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Schema } from 'apache-arrow';
import { FlightError, type CallContext, type FlightDataReader } from '../../flight/index.ts';
import { appendBatches, quoteIdentifier } from '../bridge/index.ts';
import { fromDuckDBError } from '../errors.ts';
import { DoPutUpdateResult, TableExistsOption, TableNotExistOption, type CommandStatementIngest } from './messages.ts';
import type { FlightSqlState } from './statements.ts';

const TRANSACTION_CONTROL = /^\s*(BEGIN(\s+TRANSACTION)?|COMMIT|ROLLBACK)\s*;?\s*$/i;

/**
 * `connection` as appendBatches sees it inside an enclosing transaction: its BEGIN, COMMIT and
 * ROLLBACK do nothing (the enclosing transaction ends it); everything else goes through.
 */
function withinTransaction(connection: DuckDBConnection): DuckDBConnection {
  return new Proxy(connection, {
    get(target, property) {
      if (property === 'run') {
        return (sql: string, ...rest: unknown[]) =>
          TRANSACTION_CONTROL.test(sql) ? Promise.resolve(undefined) : (target.run as (...args: unknown[]) => unknown)(sql, ...rest);
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

type Plan = 'create' | 'append' | 'replace';

function plan(command: CommandStatementIngest, exists: boolean, target: string): Plan {
  const options = command.tableDefinitionOptions;
  const ifNotExist = options?.ifNotExist ?? TableNotExistOption.UNSPECIFIED;
  const ifExists = options?.ifExists ?? TableExistsOption.UNSPECIFIED;
  if (ifNotExist === TableNotExistOption.UNSPECIFIED || ifExists === TableExistsOption.UNSPECIFIED) {
    throw FlightError.invalidArgument('CommandStatementIngest: table_definition_options must set both if_not_exist and if_exists');
  }
  if (!exists) {
    if (ifNotExist === TableNotExistOption.FAIL) throw FlightError.notFound(`ingest: table ${target} does not exist (if_not_exist: FAIL)`);
    if (ifNotExist !== TableNotExistOption.CREATE)
      throw FlightError.invalidArgument(`CommandStatementIngest: unknown if_not_exist ${ifNotExist}`);
    return 'create';
  }
  switch (ifExists) {
    case TableExistsOption.FAIL:
      throw FlightError.alreadyExists(`ingest: table ${target} already exists (if_exists: FAIL)`);
    case TableExistsOption.APPEND:
      return 'append';
    case TableExistsOption.REPLACE:
      return 'replace';
    default:
      throw FlightError.invalidArgument(`CommandStatementIngest: unknown if_exists ${ifExists}`);
  }
}

async function scalarRow(connection: DuckDBConnection, sql: string, values: string[] = []): Promise<unknown[]> {
  const reader = await connection.runAndReadAll(sql, values);
  return reader.getRows()[0] ?? [];
}

/** Whether the table exists (DuckDB resolves names without regard to case). */
async function tableExists(connection: DuckDBConnection, catalog: string, schema: string, table: string): Promise<boolean> {
  const [count] = await scalarRow(
    connection,
    'SELECT count(*) FROM duckdb_tables() WHERE database_name = $1 AND schema_name = $2 AND lower(table_name) = lower($3)',
    [catalog, schema, table],
  );
  return Number(count) > 0;
}

/** DoPut of CommandStatementIngest: answers DoPutUpdateResult with the rows ingested. */
export async function ingest(
  state: FlightSqlState,
  command: CommandStatementIngest,
  reader: FlightDataReader,
  context: CallContext,
): Promise<Uint8Array> {
  if (state.service.settings.readOnly) throw FlightError.permissionDenied('the server is read-only: CommandStatementIngest is refused');
  const table = command.table;
  if (table.length === 0) throw FlightError.invalidArgument('CommandStatementIngest: the table name is empty');
  if (command.temporary) {
    if (command.transactionId === undefined) {
      throw FlightError.invalidArgument(
        'CommandStatementIngest: a temporary table lives as long as its DuckDB connection; ingest it within a transaction (transaction_id) to use it',
      );
    }
    if (command.catalog !== undefined || command.schema !== undefined) {
      throw FlightError.invalidArgument(
        'CommandStatementIngest: temporary tables live in DuckDB\'s "temp" catalog; leave catalog and schema unset',
      );
    }
  }
  const schema = await reader.schema();
  if (!schema) throw FlightError.invalidArgument(`ingest into ${JSON.stringify(table)}: the stream carried no schema`);

  const session = await state.sessions.open(command.transactionId, context);
  const { connection } = session;
  const own = session.transaction === null;
  let healthy = false;
  let moved: { catalog: string; schema: string } | null = null;
  try {
    const [currentCatalog, currentSchema] = (await scalarRow(connection, 'SELECT current_database(), current_schema()')) as [
      string,
      string,
    ];
    const catalog = command.catalog ?? currentCatalog;
    const schemaName = command.schema ?? currentSchema;
    if (own) await connection.run('BEGIN TRANSACTION');
    const progress = { writing: false };
    try {
      if (catalog !== currentCatalog || schemaName !== currentSchema) {
        const [found] = await scalarRow(connection, 'SELECT count(*) FROM duckdb_schemas() WHERE database_name = $1 AND schema_name = $2', [
          catalog,
          schemaName,
        ]);
        if (Number(found) === 0)
          throw FlightError.notFound(`ingest: there is no schema ${JSON.stringify(schemaName)} in catalog ${JSON.stringify(catalog)}`);
        moved = { catalog: currentCatalog, schema: currentSchema };
        await connection.run(`USE ${quoteIdentifier(catalog)}.${quoteIdentifier(schemaName)}`);
      }
      const rows = await ingestInTransaction(connection, command, { catalog, schema: schemaName }, schema, reader, context, progress);
      if (own) await connection.run('COMMIT');
      healthy = true;
      return DoPutUpdateResult.encode({ recordCount: rows });
    } catch (error) {
      if (own) await connection.run('ROLLBACK').catch(() => undefined);
      // The client's transaction may hold part of the rows now: it can only be rolled back.
      else if (progress.writing)
        session.transaction!.abortedBy = `an ingest into ${JSON.stringify(table)} failed: ${(error as Error).message}`;
      throw error;
    }
  } catch (error) {
    if (context.signal.aborted) throw FlightError.cancelled(`ingest into ${JSON.stringify(table)} was cancelled; nothing was written`);
    const mapped = fromDuckDBError(error, `ingest into ${JSON.stringify(table)} failed${own ? ' and wrote nothing' : ''}`);
    // DuckDB's appender reports a key violation without the "Constraint Error:" prefix the
    // error rules look for; it is the data's fault all the same.
    if (mapped.kind === 'internal' && /constraint violation/i.test(mapped.message)) {
      throw new FlightError('invalid-argument', mapped.message, { cause: error });
    }
    throw mapped;
  } finally {
    if (moved) {
      // Put the connection's default schema back; a connection we cannot restore is not reused.
      const restored = await connection.run(`USE ${quoteIdentifier(moved.catalog)}.${quoteIdentifier(moved.schema)}`).then(
        () => true,
        () => false,
      );
      if (!restored) {
        healthy = false;
        if (session.transaction) session.transaction.retire = true;
      }
    }
    session.release(healthy);
  }
}

async function ingestInTransaction(
  connection: DuckDBConnection,
  command: CommandStatementIngest,
  where: { catalog: string; schema: string },
  schema: Schema,
  reader: FlightDataReader,
  context: CallContext,
  progress: { writing: boolean },
): Promise<number> {
  const table = command.table;
  const view = withinTransaction(connection);
  if (command.temporary) {
    const exists = await tableExists(connection, 'temp', 'main', table);
    const mode = plan(command, exists, `temp.main.${table}`);
    const staging = `__flightsql_ingest_${randomBytes(8).toString('hex')}`;
    progress.writing = true;
    const { rows } = await appendBatches(view, staging, schema, reader, { create: 'replace', signal: context.signal });
    const target = `temp.main.${quoteIdentifier(table)}`;
    if (mode === 'append') await connection.run(`INSERT INTO ${target} SELECT * FROM ${quoteIdentifier(staging)}`);
    else await connection.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS SELECT * FROM ${quoteIdentifier(staging)}`);
    await connection.run(`DROP TABLE ${quoteIdentifier(staging)}`);
    return rows;
  }
  const exists = await tableExists(connection, where.catalog, where.schema, table);
  const mode = plan(command, exists, `${where.catalog}.${where.schema}.${table}`);
  const create = mode === 'append' ? 'never' : mode === 'replace' ? 'replace' : 'if-missing';
  progress.writing = true;
  const { rows } = await appendBatches(view, table, schema, reader, { create, signal: context.signal });
  return rows;
}
