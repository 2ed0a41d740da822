// DoAction and ListActions: what a user needs beside the data streams.

import { JsonDuckDBValueConverter, StatementType, type DuckDBConnection } from '@duckdb/node-api';
import { FlightError, type ActionType, type CallContext, type Action } from '../flight/index.ts';
import { quoteIdentifier, quoteString } from './bridge/sql.ts';
import type { ServiceContext } from './context.ts';
import { fromDuckDBError } from './errors.ts';
import { decodeSql, extractStatements, listTables, releaseAfterSql, transactionLeftOpen } from './query.ts';
import { admit, checkText } from './sql-gate.ts';
import { parseTransferRequest, pull } from './transfer.ts';

const utf8 = new TextEncoder();
const json = (value: unknown) => utf8.encode(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? bigintJson(v) : v)));

function bigintJson(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function parseJson(body: Uint8Array, action: string): unknown {
  const text = decodeSql(body, `the ${action} body`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw FlightError.invalidArgument(`${action}: the body must be JSON (${(error as Error).message})`);
  }
}

/** Runs each statement of `sql` in turn; the last one's outcome is the answer. */
async function runStatements(service: ServiceContext, c: DuckDBConnection, sql: string): Promise<Uint8Array[]> {
  await checkText(c, service.settings, sql);
  const extracted = await extractStatements(c, sql);
  if (extracted.count === 0) throw FlightError.invalidArgument('the SQL text holds no statement');
  let last: Uint8Array = json({ statement: 'NONE', rows_changed: 0 });
  for (let i = 0; i < extracted.count; i++) {
    const prepared = await extracted.prepare(i);
    try {
      const type = prepared.statementType;
      admit(service.settings, type, sql);
      const result = await prepared.run();
      if (type === StatementType.SELECT || type === StatementType.PRAGMA || type === StatementType.CALL || type === StatementType.EXPLAIN) {
        const limit = service.settings.maxActionRows;
        const rows: unknown[] = [];
        const columns = result.columnNames();
        for (;;) {
          const chunk = await result.fetchChunk();
          if (!chunk || chunk.rowCount === 0) break;
          rows.push(...chunk.convertRows(JsonDuckDBValueConverter));
          if (rows.length > limit) {
            throw FlightError.invalidArgument(
              `the query action returns at most ${limit} rows inline; use DoGet with the SQL as ticket for larger results`,
            );
          }
        }
        last = json({ statement: StatementType[type], columns, rows });
      } else {
        last = json({ statement: StatementType[type] ?? 'STATEMENT', rows_changed: result.rowsChanged });
      }
    } finally {
      prepared.destroySync();
    }
  }
  return [last];
}

interface ActionDefinition extends ActionType {
  run(service: ServiceContext, body: Uint8Array, context: CallContext): Promise<Uint8Array[]>;
}

const ACTIONS: ActionDefinition[] = [
  {
    type: 'query',
    description:
      'Runs SQL (body: the statement text). Answers {"statement","rows_changed"} for a statement, or {"columns","rows"} for a query of at most the server\'s inline row limit; use DoGet for results.',
    async run(service, body) {
      const sql = decodeSql(body, 'the query action body');
      const connection = await service.engine.acquire();
      let results: Uint8Array[];
      try {
        results = await runStatements(service, connection, sql);
      } catch (error) {
        await releaseAfterSql(service, connection, sql, false);
        throw fromDuckDBError(error);
      }
      if (await releaseAfterSql(service, connection, sql)) throw transactionLeftOpen();
      return results;
    },
  },
  {
    type: 'list_tables',
    description: 'Lists the tables: JSON [{"database","schema","name","rows"}].',
    async run(service) {
      return [
        json(
          await listTables(service).catch((e: unknown) => {
            throw fromDuckDBError(e);
          }),
        ),
      ];
    },
  },
  {
    type: 'drop_table',
    description: 'Drops the table named by the body (an identifier, not SQL). NOT_FOUND if there is none.',
    async run(service, body) {
      if (service.settings.readOnly) throw FlightError.permissionDenied('the server is read-only: drop_table is refused (--read-only)');
      const name = decodeSql(body, 'the drop_table body (a table name)').trim();
      await service.engine
        .withConnection((c) => c.run(`DROP TABLE ${quoteIdentifier(name)}`))
        .catch((e: unknown) => {
          throw fromDuckDBError(e);
        });
      return [json({ dropped: name })];
    },
  },
  {
    type: 'load_parquet',
    description:
      'Loads a Parquet file on the server into a table. Body: {"table","path","mode":"replace"|"append"|"create"} (default replace).',
    async run(service, body) {
      if (service.settings.readOnly) throw FlightError.permissionDenied('the server is read-only: load_parquet is refused (--read-only)');
      if (!service.settings.externalAccess) {
        // DuckDB would still read the files it allows itself (its database, WAL, temp folder).
        throw FlightError.permissionDenied(
          'the server runs with --no-external-access: load_parquet (which reads a file on the server) is refused',
        );
      }
      const r = parseJson(body, 'load_parquet') as { table?: unknown; path?: unknown; mode?: unknown };
      if (typeof r.table !== 'string' || !r.table || typeof r.path !== 'string' || !r.path) {
        throw FlightError.invalidArgument('load_parquet: "table" and "path" must be non-empty strings');
      }
      const mode = r.mode ?? 'replace';
      const source = `read_parquet(${quoteString(r.path)})`;
      const table = quoteIdentifier(r.table);
      const sql =
        mode === 'replace'
          ? `CREATE OR REPLACE TABLE ${table} AS SELECT * FROM ${source}`
          : mode === 'create'
            ? `CREATE TABLE ${table} AS SELECT * FROM ${source}`
            : mode === 'append'
              ? `INSERT INTO ${table} SELECT * FROM ${source}`
              : null;
      if (!sql) throw FlightError.invalidArgument('load_parquet: "mode" is replace, append or create');
      const started = performance.now();
      const rows = await service.engine
        // DuckDB reports CREATE TABLE AS in a one-row `Count` result, with rowsChanged left at 0.
        .withConnection(async (c) => Number((await c.runAndReadAll(sql)).getRows()[0]?.[0] ?? 0))
        .catch((e: unknown) => {
          throw fromDuckDBError(e, 'load_parquet');
        });
      return [json({ table: r.table, rows, seconds: (performance.now() - started) / 1000 })];
    },
  },
  {
    type: 'transfer',
    description:
      'Pulls a query\'s result from another Flight server into a table here, streaming. Body: {"source":"grpc://host:port","query","table","mode":"replace"|"append"|"create", optional "token" or "username"/"password"}.',
    async run(service, body, context) {
      if (!service.settings.externalAccess) {
        // The server would connect to a location a client names: with external access off it
        // must not reach the network on a request's behalf.
        throw FlightError.permissionDenied(
          'the server runs with --no-external-access: transfer (which connects to another server) is refused',
        );
      }
      if (service.settings.readOnly) throw FlightError.permissionDenied('the server is read-only: transfer is refused (--read-only)');
      return [json(await pull(service, parseTransferRequest(parseJson(body, 'transfer')), context))];
    },
  },
  {
    type: 'list_exchangers',
    description: 'Lists the DoExchange transforms: JSON [{"name","kind","description"}].',
    async run(service) {
      return [
        json(service.exchangers.list().map(({ name, kind, description, sql }) => ({ name, kind, description, ...(sql ? { sql } : {}) }))),
      ];
    },
  },
  {
    type: 'register_exchanger',
    description:
      'Registers a SQL transform for DoExchange. Body: {"name","sql","description"?}; the SQL reads the incoming batches as `input`, e.g. SELECT *, DISTANCE / AIR_TIME AS SPEED FROM input. No client code is ever run.',
    async run(service, body) {
      if (service.settings.readOnly)
        throw FlightError.permissionDenied('the server is read-only: register_exchanger is refused (--read-only)');
      const r = parseJson(body, 'register_exchanger') as { name?: unknown; sql?: unknown; description?: unknown };
      if (typeof r.name !== 'string' || typeof r.sql !== 'string')
        throw FlightError.invalidArgument('register_exchanger: "name" and "sql" must be strings');
      await checkExchangerSql(service, r.sql);
      const e = service.exchangers.registerSql(r.name, r.sql, typeof r.description === 'string' ? r.description : undefined);
      return [json({ registered: e.name })];
    },
  },
  {
    type: 'unregister_exchanger',
    description: 'Removes a registered SQL exchanger (body: its name).',
    async run(service, body) {
      if (service.settings.readOnly)
        throw FlightError.permissionDenied('the server is read-only: unregister_exchanger is refused (--read-only)');
      const name = decodeSql(body, 'the unregister_exchanger body').trim();
      service.exchangers.unregister(name);
      return [json({ unregistered: name })];
    },
  },
  {
    type: 'health',
    description: 'Liveness: {"status":"ok","uptime_seconds"}.',
    async run(service) {
      await service.engine.withConnection((c) => c.run('SELECT 1'));
      return [json({ status: 'ok', uptime_seconds: Math.round((Date.now() - service.startedAt) / 1000) })];
    },
  },
  {
    type: 'version',
    description: 'Versions: {"server","duckdb","node"}.',
    async run(service) {
      const duckdb = await service.engine.withConnection(async (c) => String((await c.runAndReadAll('SELECT version()')).getRows()[0]![0]));
      return [json({ server: service.version, duckdb, node: process.version })];
    },
  },
];

/**
 * A SQL exchanger is one query (SELECT, WITH, FROM-first, set operations): it runs on every
 * exchange, so a DDL or DML statement, or several statements, would change the database each
 * time a client sends batches. DuckDB's parser decides (json_serialize_sql accepts SELECT
 * statements only); nothing is bound or run.
 */
async function checkExchangerSql(service: ServiceContext, sql: string): Promise<void> {
  const parsed = await service.engine.withConnection(async (c) => {
    const reader = await c.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
    const serialized = JSON.parse(String(reader.getRows()[0]![0])) as { error?: boolean; error_message?: string; statements?: unknown[] };
    if (!serialized.error) await checkText(c, service.settings, sql);
    return serialized;
  });
  if (parsed.error) {
    const why = parsed.error_message ?? 'it does not parse';
    throw FlightError.invalidArgument(
      `register_exchanger: the SQL must be one SELECT query over \`input\` (${why.replace(/ to json!?$/, '')})`,
    );
  }
  const count = parsed.statements?.length ?? 0;
  if (count !== 1)
    throw FlightError.invalidArgument(`register_exchanger: the SQL must be one SELECT query over \`input\`, got ${count} statements`);
}

export function listActions(): ActionType[] {
  return ACTIONS.map(({ type, description }) => ({ type, description }));
}

export async function* doAction(service: ServiceContext, action: Action, context: CallContext): AsyncGenerator<Uint8Array> {
  const definition = ACTIONS.find((a) => a.type === action.type);
  if (!definition) {
    throw FlightError.invalidArgument(
      `unknown action ${JSON.stringify(action.type)}; ListActions names: ${ACTIONS.map((a) => a.type).join(', ')}`,
    );
  }
  yield* await definition.run(service, action.body, context);
}
