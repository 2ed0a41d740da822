// The Flight SQL face of the DuckDB server: every Flight SQL command, ticket and action,
// dispatched by the name in its Any's type URL. Holds the state Flight SQL needs between calls
// (transactions, prepared statements, queries being read).

import type { DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch, Schema } from 'apache-arrow';
import {
  FlightError,
  type Action,
  type ActionType,
  type CallContext,
  type FlightDataReader,
  type FlightDescriptor,
  type FlightInfo,
  type FlightOutput,
} from '../../flight/index.ts';
import { CancelFlightInfoRequestCodec, CancelFlightInfoResultCodec, FlightInfoCodec, type CancelStatus } from '../../flight/messages.ts';
import type { ServiceContext } from '../context.ts';
import { fromDuckDBError } from '../errors.ts';
import { RunningQueries } from './cancellation.ts';
import * as catalog from './catalog.ts';
import {
  ActionBeginTransactionResult,
  ActionCancelQueryRequest,
  ActionCancelQueryResult,
  ActionClosePreparedStatementRequest,
  ActionCreatePreparedStatementRequest,
  ActionCreatePreparedStatementResult,
  ActionEndTransactionRequest,
  CancelResult,
  CommandGetCatalogs,
  CommandGetCrossReference,
  CommandGetDbSchemas,
  CommandGetExportedKeys,
  CommandGetImportedKeys,
  CommandGetPrimaryKeys,
  CommandGetSqlInfo,
  CommandGetTables,
  CommandGetTableTypes,
  CommandGetXdbcTypeInfo,
  CommandPreparedStatementQuery,
  CommandPreparedStatementUpdate,
  CommandStatementIngest,
  CommandStatementQuery,
  CommandStatementUpdate,
  decodeAs,
  encodeAny,
  EndTransaction,
  packAny,
  TicketStatementQuery,
  TYPE_URL_PREFIX,
  unpackFlightSql,
  type FlightSqlAny,
  type MessageCodec,
} from './messages.ts';
import { ingest } from './ingest.ts';
import { PreparedStatements, type PreparedStatementOptions } from './prepared-statements.ts';
import {
  CATALOGS_SCHEMA,
  DB_SCHEMAS_SCHEMA,
  KEYS_SCHEMA,
  PRIMARY_KEYS_SCHEMA,
  SQL_INFO_SCHEMA,
  TABLE_TYPES_SCHEMA,
  TABLES_SCHEMA,
  TABLES_WITH_SCHEMA_SCHEMA,
  XDBC_TYPE_INFO_SCHEMA,
} from './schemas.ts';
import { Sessions } from './sessions.ts';
import { sqlInfoBatch, sqlInfoValues } from './sql-info.ts';
import {
  bindParameters,
  createPreparedStatement,
  preparedInfo,
  preparedSchema,
  preparedUpdate,
  redeemTicket,
  statementInfo,
  statementSchema,
  statementUpdate,
  type FlightSqlState,
} from './statements.ts';
import { decodeTicketHandle, statementTicketOf } from './tickets.ts';
import { TransactionRegistry, type TransactionOptions } from './transactions.ts';
import { xdbcTypeInfo } from './xdbc-types.ts';

export interface FlightSqlOptions {
  transactions?: TransactionOptions;
  preparedStatements?: PreparedStatementOptions;
  /** FLIGHT_SQL_SERVER_NAME (default "duck-flight"). */
  serverName?: string;
}

/** Actions of the Flight SQL protocol (and Flight's CancelFlightInfo), by type. */
const ACTIONS: readonly ActionType[] = [
  { type: 'CreatePreparedStatement', description: 'Flight SQL: prepares a statement (body: Any(ActionCreatePreparedStatementRequest)).' },
  {
    type: 'ClosePreparedStatement',
    description: 'Flight SQL: closes a prepared statement (body: Any(ActionClosePreparedStatementRequest)).',
  },
  {
    type: 'BeginTransaction',
    description: 'Flight SQL: begins a transaction on a DuckDB connection of its own (body: Any(ActionBeginTransactionRequest)).',
  },
  { type: 'EndTransaction', description: 'Flight SQL: commits or rolls back a transaction (body: Any(ActionEndTransactionRequest)).' },
  { type: 'CancelFlightInfo', description: 'Cancels the query behind a FlightInfo (body: CancelFlightInfoRequest).' },
  {
    type: 'CancelQuery',
    description: 'Flight SQL (deprecated): cancels the query behind a FlightInfo (body: Any(ActionCancelQueryRequest)).',
  },
];

/** Actions of the protocol this server does not implement: they answer UNIMPLEMENTED by name. */
const UNIMPLEMENTED_ACTIONS = new Set([
  'CreatePreparedSubstraitPlan',
  'BeginSavepoint',
  'EndSavepoint',
  'RenewFlightEndpoint',
  'SetSessionOptions',
  'GetSessionOptions',
  'CloseSession',
]);

/** Whether an action type belongs to this face (the plain face's actions have other names). */
export function isFlightSqlAction(type: string): boolean {
  return ACTIONS.some((a) => a.type === type) || UNIMPLEMENTED_ACTIONS.has(type);
}

const METADATA_COMMANDS = new Set([
  CommandGetSqlInfo.name,
  CommandGetXdbcTypeInfo.name,
  CommandGetCatalogs.name,
  CommandGetDbSchemas.name,
  CommandGetTables.name,
  CommandGetTableTypes.name,
  CommandGetPrimaryKeys.name,
  CommandGetExportedKeys.name,
  CommandGetImportedKeys.name,
  CommandGetCrossReference.name,
]);

const DO_PUT_COMMANDS = new Set([CommandStatementUpdate.name, CommandStatementIngest.name, CommandPreparedStatementUpdate.name]);

function unsupported(name: string, where: string): FlightError {
  if (name === 'CommandStatementSubstraitPlan' || name === 'ActionCreatePreparedSubstraitPlanRequest') {
    return FlightError.unimplemented(`Flight SQL ${name} is not supported: this server runs SQL, not Substrait plans`);
  }
  if (DO_PUT_COMMANDS.has(name)) return FlightError.invalidArgument(`Flight SQL ${name} is a DoPut command, not a ${where} one`);
  return FlightError.unimplemented(`Flight SQL ${name} is not supported by ${where} on this server`);
}

function one(batch: RecordBatch): FlightOutput {
  return Object.assign([batch], { schema: batch.schema });
}

/**
 * Flight SQL over one DuckDB engine: takes Flight SQL messages already unpacked from their Any
 * (see `withFlightSql`, which routes them here) and answers them. Holds the transactions,
 * prepared statements and running queries between calls; `close()` rolls back what is open.
 *
 * ```ts
 * const flightSql = new FlightSqlServer(service);
 * const info = await flightSql.getFlightInfo(unpackFlightSql(descriptor.cmd)!, descriptor, context);
 * ```
 */
export class FlightSqlServer {
  readonly transactions: TransactionRegistry;
  readonly prepared: PreparedStatements;
  readonly running = new RunningQueries();
  private readonly state: FlightSqlState;
  private readonly serverName: string;

  constructor(
    readonly service: ServiceContext,
    options: FlightSqlOptions = {},
  ) {
    this.transactions = new TransactionRegistry(service.engine, options.transactions);
    this.prepared = new PreparedStatements(options.preparedStatements);
    this.serverName = options.serverName ?? 'duck-flight';
    this.state = {
      service,
      sessions: new Sessions(service.engine, this.transactions),
      transactions: this.transactions,
      prepared: this.prepared,
      running: this.running,
    };
  }

  /** Rolls back open transactions and forgets prepared statements. */
  async close(): Promise<void> {
    this.prepared.dispose();
    await this.transactions.close();
  }

  listActions(): ActionType[] {
    return ACTIONS.map((a) => ({ ...a }));
  }

  async getFlightInfo(command: FlightSqlAny, descriptor: FlightDescriptor, context: CallContext): Promise<FlightInfo> {
    switch (command.name) {
      case CommandStatementQuery.name: {
        const { query, transactionId } = decodeAs(command, CommandStatementQuery);
        return statementInfo(this.state, query, transactionId, descriptor, context);
      }
      case CommandPreparedStatementQuery.name:
        return preparedInfo(this.state, decodeAs(command, CommandPreparedStatementQuery).preparedStatementHandle, descriptor, context);
    }
    if (!METADATA_COMMANDS.has(command.name)) throw unsupported(command.name, 'GetFlightInfo');
    // Metadata answers are computed when the ticket (the command itself) is redeemed.
    const schema = this.metadataSchema(command);
    const ticket = descriptor.type === 'cmd' ? descriptor.cmd : encodeAny(TYPE_URL_PREFIX + command.name, command.value);
    return { schema, descriptor, endpoints: [{ ticket, locations: [] }], totalRecords: -1, totalBytes: -1, ordered: false };
  }

  async getSchema(command: FlightSqlAny, context: CallContext): Promise<Schema> {
    switch (command.name) {
      case CommandStatementQuery.name: {
        const { query, transactionId } = decodeAs(command, CommandStatementQuery);
        return statementSchema(this.state, query, transactionId, context);
      }
      case CommandPreparedStatementQuery.name:
        return preparedSchema(this.state, decodeAs(command, CommandPreparedStatementQuery).preparedStatementHandle, context);
    }
    if (!METADATA_COMMANDS.has(command.name)) throw unsupported(command.name, 'GetSchema');
    return this.metadataSchema(command);
  }

  private metadataSchema(command: FlightSqlAny): Schema {
    switch (command.name) {
      case CommandGetSqlInfo.name:
        decodeAs(command, CommandGetSqlInfo);
        return SQL_INFO_SCHEMA;
      case CommandGetXdbcTypeInfo.name:
        decodeAs(command, CommandGetXdbcTypeInfo);
        return XDBC_TYPE_INFO_SCHEMA;
      case CommandGetCatalogs.name:
        return CATALOGS_SCHEMA;
      case CommandGetDbSchemas.name:
        decodeAs(command, CommandGetDbSchemas);
        return DB_SCHEMAS_SCHEMA;
      case CommandGetTables.name:
        return decodeAs(command, CommandGetTables).includeSchema ? TABLES_WITH_SCHEMA_SCHEMA : TABLES_SCHEMA;
      case CommandGetTableTypes.name:
        return TABLE_TYPES_SCHEMA;
      case CommandGetPrimaryKeys.name:
        decodeAs(command, CommandGetPrimaryKeys);
        return PRIMARY_KEYS_SCHEMA;
      case CommandGetExportedKeys.name:
      case CommandGetImportedKeys.name:
      case CommandGetCrossReference.name:
        return KEYS_SCHEMA;
      default:
        throw unsupported(command.name, 'GetSchema');
    }
  }

  async doGet(ticket: FlightSqlAny, context: CallContext): Promise<FlightOutput> {
    if (ticket.name === TicketStatementQuery.name) {
      return redeemTicket(this.state, decodeTicketHandle(decodeAs(ticket, TicketStatementQuery).statementHandle), context);
    }
    if (!METADATA_COMMANDS.has(ticket.name)) throw unsupported(ticket.name, 'DoGet');
    return one(await this.metadata(ticket, context));
  }

  private async metadata(command: FlightSqlAny, context: CallContext): Promise<RecordBatch> {
    switch (command.name) {
      case CommandGetXdbcTypeInfo.name:
        return xdbcTypeInfo(decodeAs(command, CommandGetXdbcTypeInfo).dataType);
      case CommandGetTableTypes.name:
        return catalog.getTableTypes();
    }
    return this.onPool(context, (connection) => {
      switch (command.name) {
        case CommandGetSqlInfo.name:
          return this.sqlInfo(connection, decodeAs(command, CommandGetSqlInfo).info);
        case CommandGetCatalogs.name:
          return catalog.getCatalogs(connection);
        case CommandGetDbSchemas.name:
          return catalog.getDbSchemas(connection, decodeAs(command, CommandGetDbSchemas));
        case CommandGetTables.name:
          return catalog.getTables(connection, decodeAs(command, CommandGetTables));
        case CommandGetPrimaryKeys.name:
          return catalog.getPrimaryKeys(connection, decodeAs(command, CommandGetPrimaryKeys));
        case CommandGetExportedKeys.name:
          return catalog.getExportedKeys(connection, decodeAs(command, CommandGetExportedKeys));
        case CommandGetImportedKeys.name:
          return catalog.getImportedKeys(connection, decodeAs(command, CommandGetImportedKeys));
        case CommandGetCrossReference.name:
          return catalog.getCrossReference(connection, decodeAs(command, CommandGetCrossReference));
        default:
          throw unsupported(command.name, 'DoGet');
      }
    });
  }

  private async onPool<T>(context: CallContext, work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    return this.state.sessions.run(undefined, context, (session) =>
      work(session.connection).catch((error: unknown) => {
        throw fromDuckDBError(error);
      }),
    );
  }

  private async sqlInfo(connection: DuckDBConnection, requested: number[]): Promise<RecordBatch> {
    const facts = await connection.runAndReadAll(
      `SELECT version(), current_setting('default_null_order'), (SELECT list(keyword_name ORDER BY keyword_name) FROM duckdb_keywords())`,
    );
    const [duckdbVersion, nullOrder, keywords] = facts.getRows()[0]!;
    const values = sqlInfoValues({
      serverName: this.serverName,
      serverVersion: this.service.version,
      duckdbVersion: String(duckdbVersion),
      readOnly: this.service.settings.readOnly,
      defaultNullOrder: String(nullOrder),
      keywords: ((keywords as { items?: unknown[] } | null)?.items ?? []).map(String),
      statementTimeoutMs: this.prepared.idleTimeoutMs,
      transactionTimeoutMs: this.transactions.timeoutMs,
    });
    return sqlInfoBatch(values, requested);
  }

  async doPut(command: FlightSqlAny, reader: FlightDataReader, context: CallContext): Promise<Uint8Array[]> {
    switch (command.name) {
      case CommandStatementUpdate.name: {
        const { query, transactionId } = decodeAs(command, CommandStatementUpdate);
        return [await statementUpdate(this.state, query, transactionId, context)];
      }
      case CommandStatementIngest.name:
        return [await ingest(this.state, decodeAs(command, CommandStatementIngest), reader, context)];
      case CommandPreparedStatementQuery.name:
        return [
          await bindParameters(this.state, decodeAs(command, CommandPreparedStatementQuery).preparedStatementHandle, reader, context),
        ];
      case CommandPreparedStatementUpdate.name:
        return [
          await preparedUpdate(this.state, decodeAs(command, CommandPreparedStatementUpdate).preparedStatementHandle, reader, context),
        ];
      default:
        if (METADATA_COMMANDS.has(command.name) || command.name === CommandStatementQuery.name) {
          throw FlightError.invalidArgument(`Flight SQL ${command.name} goes with GetFlightInfo, not DoPut`);
        }
        throw FlightError.unimplemented(`Flight SQL ${command.name} is not supported by DoPut on this server`);
    }
  }

  async doAction(action: Action, context: CallContext): Promise<Uint8Array[]> {
    if (UNIMPLEMENTED_ACTIONS.has(action.type))
      throw FlightError.unimplemented(`the ${action.type} action is not supported by this server`);
    switch (action.type) {
      case 'CreatePreparedStatement': {
        const { query, transactionId } = body(action, ActionCreatePreparedStatementRequest);
        const result = await createPreparedStatement(this.state, query, transactionId, context);
        return [encodeAny(TYPE_URL_PREFIX + ActionCreatePreparedStatementResult.name, result)];
      }
      case 'ClosePreparedStatement':
        this.prepared.close(body(action, ActionClosePreparedStatementRequest).preparedStatementHandle, context.identity);
        return [];
      case 'BeginTransaction': {
        if (action.body.byteLength > 0) body(action, { name: 'ActionBeginTransactionRequest' });
        const transaction = await this.transactions.begin(context.identity, context.peer);
        return [packAny(ActionBeginTransactionResult, { transactionId: transaction.id })];
      }
      case 'EndTransaction': {
        const request = body(action, ActionEndTransactionRequest);
        if (request.action !== EndTransaction.COMMIT && request.action !== EndTransaction.ROLLBACK) {
          throw FlightError.invalidArgument(`EndTransaction: action must be COMMIT (1) or ROLLBACK (2), got ${request.action}`);
        }
        await this.transactions.end(request.transactionId, context.identity, request.action === EndTransaction.COMMIT, context.signal);
        return [];
      }
      case 'CancelFlightInfo': {
        const status = this.cancel(CancelFlightInfoRequestCodec.decode(action.body));
        return [CancelFlightInfoResultCodec.encode(status)];
      }
      case 'CancelQuery': {
        const { info } = body(action, ActionCancelQueryRequest);
        const status = this.cancel(FlightInfoCodec.decode(info));
        const result =
          status === 'cancelled'
            ? CancelResult.CANCELLED
            : status === 'cancelling'
              ? CancelResult.CANCELLING
              : CancelResult.NOT_CANCELLABLE;
        return [packAny(ActionCancelQueryResult, { result })];
      }
      default:
        throw FlightError.invalidArgument(`unknown Flight SQL action ${JSON.stringify(action.type)}`);
    }
  }

  /**
   * Cancels the queries behind a FlightInfo's endpoints. A query ticket is cancelled whether it
   * is being read or not yet (its DoGet then fails); a statement that already ran at
   * GetFlightInfo, or a ticket of the plain face, cannot be.
   */
  private cancel(info: FlightInfo): CancelStatus {
    let cancelled = 0;
    for (const endpoint of info.endpoints) {
      const ticket = statementTicketOf(endpoint.ticket);
      if (ticket?.kind !== 'query') continue;
      this.running.cancel(ticket.queryId);
      cancelled++;
    }
    return cancelled > 0 ? 'cancelled' : 'not-cancellable';
  }
}

/** An action body: an Any wrapping the message `codec` names. */
function body<T extends object>(action: Action, codec: Pick<MessageCodec<T>, 'name'> & Partial<Pick<MessageCodec<T>, 'decode'>>): T {
  const any = unpackFlightSql(action.body);
  if (!any || any.name !== codec.name) {
    throw FlightError.invalidArgument(
      `the ${action.type} action's body must be a google.protobuf.Any holding arrow.flight.protocol.sql.${codec.name}`,
    );
  }
  return codec.decode ? codec.decode(any.value) : ({} as T);
}
