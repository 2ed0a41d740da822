// The Flight SQL protocol messages (package arrow.flight.protocol.sql), written from the field
// numbers of the Flight SQL specification. Commands travel in a FlightDescriptor's `cmd`,
// tickets in a Ticket, action bodies and results in Action/Result: always wrapped in a
// google.protobuf.Any whose type URL names the message. DoPut answers (DoPutUpdateResult,
// DoPutPreparedStatementResult) travel bare in PutResult.app_metadata.

import { encodeAny, message, tryDecodeAny, type MessageCodec } from './proto-message.ts';

export const TYPE_URL_PREFIX = 'type.googleapis.com/arrow.flight.protocol.sql.';

// --- metadata commands ---

export interface CommandGetSqlInfo {
  info: number[];
}
export const CommandGetSqlInfo = message<CommandGetSqlInfo>('CommandGetSqlInfo', [
  { no: 1, name: 'info', type: 'uint32', repeated: true },
]);

export interface CommandGetXdbcTypeInfo {
  dataType: number | undefined;
}
export const CommandGetXdbcTypeInfo = message<CommandGetXdbcTypeInfo>('CommandGetXdbcTypeInfo', [
  { no: 1, name: 'dataType', type: 'int32', optional: true },
]);

export type CommandGetCatalogs = Record<string, never>;
export const CommandGetCatalogs = message<CommandGetCatalogs>('CommandGetCatalogs', []);

export interface CommandGetDbSchemas {
  catalog: string | undefined;
  dbSchemaFilterPattern: string | undefined;
}
export const CommandGetDbSchemas = message<CommandGetDbSchemas>('CommandGetDbSchemas', [
  { no: 1, name: 'catalog', type: 'string', optional: true },
  { no: 2, name: 'dbSchemaFilterPattern', type: 'string', optional: true },
]);

export interface CommandGetTables {
  catalog: string | undefined;
  dbSchemaFilterPattern: string | undefined;
  tableNameFilterPattern: string | undefined;
  tableTypes: string[];
  includeSchema: boolean;
}
export const CommandGetTables = message<CommandGetTables>('CommandGetTables', [
  { no: 1, name: 'catalog', type: 'string', optional: true },
  { no: 2, name: 'dbSchemaFilterPattern', type: 'string', optional: true },
  { no: 3, name: 'tableNameFilterPattern', type: 'string', optional: true },
  { no: 4, name: 'tableTypes', type: 'string', repeated: true },
  { no: 5, name: 'includeSchema', type: 'bool' },
]);

export type CommandGetTableTypes = Record<string, never>;
export const CommandGetTableTypes = message<CommandGetTableTypes>('CommandGetTableTypes', []);

/** CommandGetPrimaryKeys, CommandGetExportedKeys and CommandGetImportedKeys share this shape. */
export interface TableReference {
  catalog: string | undefined;
  dbSchema: string | undefined;
  table: string;
}
const tableReferenceFields = [
  { no: 1, name: 'catalog', type: 'string', optional: true },
  { no: 2, name: 'dbSchema', type: 'string', optional: true },
  { no: 3, name: 'table', type: 'string' },
] as const;
export const CommandGetPrimaryKeys = message<TableReference>('CommandGetPrimaryKeys', tableReferenceFields);
export const CommandGetExportedKeys = message<TableReference>('CommandGetExportedKeys', tableReferenceFields);
export const CommandGetImportedKeys = message<TableReference>('CommandGetImportedKeys', tableReferenceFields);

export interface CommandGetCrossReference {
  pkCatalog: string | undefined;
  pkDbSchema: string | undefined;
  pkTable: string;
  fkCatalog: string | undefined;
  fkDbSchema: string | undefined;
  fkTable: string;
}
export const CommandGetCrossReference = message<CommandGetCrossReference>('CommandGetCrossReference', [
  { no: 1, name: 'pkCatalog', type: 'string', optional: true },
  { no: 2, name: 'pkDbSchema', type: 'string', optional: true },
  { no: 3, name: 'pkTable', type: 'string' },
  { no: 4, name: 'fkCatalog', type: 'string', optional: true },
  { no: 5, name: 'fkDbSchema', type: 'string', optional: true },
  { no: 6, name: 'fkTable', type: 'string' },
]);

// --- prepared statements and transactions (actions) ---

export interface ActionCreatePreparedStatementRequest {
  query: string;
  transactionId: Uint8Array | undefined;
}
export const ActionCreatePreparedStatementRequest = message<ActionCreatePreparedStatementRequest>(
  'ActionCreatePreparedStatementRequest',
  [
    { no: 1, name: 'query', type: 'string' },
    { no: 2, name: 'transactionId', type: 'bytes', optional: true },
  ],
);

export interface SubstraitPlan {
  plan: Uint8Array;
  version: string;
}
export const SubstraitPlan = message<SubstraitPlan>('SubstraitPlan', [
  { no: 1, name: 'plan', type: 'bytes' },
  { no: 2, name: 'version', type: 'string' },
]);

export interface ActionCreatePreparedSubstraitPlanRequest {
  plan: SubstraitPlan | undefined;
  transactionId: Uint8Array | undefined;
}
export const ActionCreatePreparedSubstraitPlanRequest = message<ActionCreatePreparedSubstraitPlanRequest>(
  'ActionCreatePreparedSubstraitPlanRequest',
  [
    { no: 1, name: 'plan', type: SubstraitPlan },
    { no: 2, name: 'transactionId', type: 'bytes', optional: true },
  ],
);

export interface ActionCreatePreparedStatementResult {
  preparedStatementHandle: Uint8Array;
  /** An encapsulated IPC Schema message; empty when unknown. */
  datasetSchema: Uint8Array;
  parameterSchema: Uint8Array;
  /** The server's hint: run as an update (true) or a query (false); unset when it cannot tell. */
  isUpdate: boolean | undefined;
}
export const ActionCreatePreparedStatementResult = message<ActionCreatePreparedStatementResult>(
  'ActionCreatePreparedStatementResult',
  [
    { no: 1, name: 'preparedStatementHandle', type: 'bytes' },
    { no: 2, name: 'datasetSchema', type: 'bytes' },
    { no: 3, name: 'parameterSchema', type: 'bytes' },
    { no: 4, name: 'isUpdate', type: 'bool', optional: true },
  ],
);

export interface ActionClosePreparedStatementRequest {
  preparedStatementHandle: Uint8Array;
}
export const ActionClosePreparedStatementRequest = message<ActionClosePreparedStatementRequest>(
  'ActionClosePreparedStatementRequest',
  [{ no: 1, name: 'preparedStatementHandle', type: 'bytes' }],
);

export type ActionBeginTransactionRequest = Record<string, never>;
export const ActionBeginTransactionRequest = message<ActionBeginTransactionRequest>('ActionBeginTransactionRequest', []);

export interface ActionBeginTransactionResult {
  transactionId: Uint8Array;
}
export const ActionBeginTransactionResult = message<ActionBeginTransactionResult>('ActionBeginTransactionResult', [
  { no: 1, name: 'transactionId', type: 'bytes' },
]);

export interface ActionBeginSavepointRequest {
  transactionId: Uint8Array;
  name: string;
}
export const ActionBeginSavepointRequest = message<ActionBeginSavepointRequest>('ActionBeginSavepointRequest', [
  { no: 1, name: 'transactionId', type: 'bytes' },
  { no: 2, name: 'name', type: 'string' },
]);

export const EndTransaction = { UNSPECIFIED: 0, COMMIT: 1, ROLLBACK: 2 } as const;

export interface ActionEndTransactionRequest {
  transactionId: Uint8Array;
  action: number;
}
export const ActionEndTransactionRequest = message<ActionEndTransactionRequest>('ActionEndTransactionRequest', [
  { no: 1, name: 'transactionId', type: 'bytes' },
  { no: 2, name: 'action', type: 'enum' },
]);

export interface ActionEndSavepointRequest {
  savepointId: Uint8Array;
  action: number;
}
export const ActionEndSavepointRequest = message<ActionEndSavepointRequest>('ActionEndSavepointRequest', [
  { no: 1, name: 'savepointId', type: 'bytes' },
  { no: 2, name: 'action', type: 'enum' },
]);

/** Deprecated since Flight SQL 13 in favour of CancelFlightInfo; info is a serialized FlightInfo. */
export interface ActionCancelQueryRequest {
  info: Uint8Array;
}
export const ActionCancelQueryRequest = message<ActionCancelQueryRequest>('ActionCancelQueryRequest', [
  { no: 1, name: 'info', type: 'bytes' },
]);

export const CancelResult = { UNSPECIFIED: 0, CANCELLED: 1, CANCELLING: 2, NOT_CANCELLABLE: 3 } as const;

export interface ActionCancelQueryResult {
  result: number;
}
export const ActionCancelQueryResult = message<ActionCancelQueryResult>('ActionCancelQueryResult', [
  { no: 1, name: 'result', type: 'enum' },
]);

// --- statements ---

export interface CommandStatementQuery {
  query: string;
  transactionId: Uint8Array | undefined;
}
export const CommandStatementQuery = message<CommandStatementQuery>('CommandStatementQuery', [
  { no: 1, name: 'query', type: 'string' },
  { no: 2, name: 'transactionId', type: 'bytes', optional: true },
]);

export interface CommandStatementSubstraitPlan {
  plan: SubstraitPlan | undefined;
  transactionId: Uint8Array | undefined;
}
export const CommandStatementSubstraitPlan = message<CommandStatementSubstraitPlan>('CommandStatementSubstraitPlan', [
  { no: 1, name: 'plan', type: SubstraitPlan },
  { no: 2, name: 'transactionId', type: 'bytes', optional: true },
]);

export interface TicketStatementQuery {
  statementHandle: Uint8Array;
}
export const TicketStatementQuery = message<TicketStatementQuery>('TicketStatementQuery', [
  { no: 1, name: 'statementHandle', type: 'bytes' },
]);

export interface CommandPreparedStatementQuery {
  preparedStatementHandle: Uint8Array;
}
export const CommandPreparedStatementQuery = message<CommandPreparedStatementQuery>('CommandPreparedStatementQuery', [
  { no: 1, name: 'preparedStatementHandle', type: 'bytes' },
]);

export interface CommandStatementUpdate {
  query: string;
  transactionId: Uint8Array | undefined;
}
export const CommandStatementUpdate = message<CommandStatementUpdate>('CommandStatementUpdate', [
  { no: 1, name: 'query', type: 'string' },
  { no: 2, name: 'transactionId', type: 'bytes', optional: true },
]);

export interface CommandPreparedStatementUpdate {
  preparedStatementHandle: Uint8Array;
}
export const CommandPreparedStatementUpdate = message<CommandPreparedStatementUpdate>('CommandPreparedStatementUpdate', [
  { no: 1, name: 'preparedStatementHandle', type: 'bytes' },
]);

export const TableNotExistOption = { UNSPECIFIED: 0, CREATE: 1, FAIL: 2 } as const;
export const TableExistsOption = { UNSPECIFIED: 0, FAIL: 1, APPEND: 2, REPLACE: 3 } as const;

export interface TableDefinitionOptions {
  ifNotExist: number;
  ifExists: number;
}
export const TableDefinitionOptions = message<TableDefinitionOptions>('CommandStatementIngest.TableDefinitionOptions', [
  { no: 1, name: 'ifNotExist', type: 'enum' },
  { no: 2, name: 'ifExists', type: 'enum' },
]);

export interface CommandStatementIngest {
  tableDefinitionOptions: TableDefinitionOptions | undefined;
  table: string;
  schema: string | undefined;
  catalog: string | undefined;
  temporary: boolean;
  transactionId: Uint8Array | undefined;
  options: Record<string, string>;
}
export const CommandStatementIngest = message<CommandStatementIngest>('CommandStatementIngest', [
  { no: 1, name: 'tableDefinitionOptions', type: TableDefinitionOptions },
  { no: 2, name: 'table', type: 'string' },
  { no: 3, name: 'schema', type: 'string', optional: true },
  { no: 4, name: 'catalog', type: 'string', optional: true },
  { no: 5, name: 'temporary', type: 'bool' },
  { no: 6, name: 'transactionId', type: 'bytes', optional: true },
  { no: 1000, name: 'options', type: 'map' },
]);

export interface DoPutUpdateResult {
  /** Rows changed; -1 when unknown. */
  recordCount: number;
}
export const DoPutUpdateResult = message<DoPutUpdateResult>('DoPutUpdateResult', [
  { no: 1, name: 'recordCount', type: 'int64' },
]);

export interface DoPutPreparedStatementResult {
  preparedStatementHandle: Uint8Array | undefined;
}
export const DoPutPreparedStatementResult = message<DoPutPreparedStatementResult>('DoPutPreparedStatementResult', [
  { no: 1, name: 'preparedStatementHandle', type: 'bytes', optional: true },
]);

// --- Any ---

/** Every message that can arrive wrapped in an Any, by its name. */
const ANY_MESSAGES = [
  CommandGetSqlInfo,
  CommandGetXdbcTypeInfo,
  CommandGetCatalogs,
  CommandGetDbSchemas,
  CommandGetTables,
  CommandGetTableTypes,
  CommandGetPrimaryKeys,
  CommandGetExportedKeys,
  CommandGetImportedKeys,
  CommandGetCrossReference,
  ActionCreatePreparedStatementRequest,
  ActionCreatePreparedSubstraitPlanRequest,
  ActionCreatePreparedStatementResult,
  ActionClosePreparedStatementRequest,
  ActionBeginTransactionRequest,
  ActionBeginTransactionResult,
  ActionBeginSavepointRequest,
  ActionEndTransactionRequest,
  ActionEndSavepointRequest,
  ActionCancelQueryRequest,
  ActionCancelQueryResult,
  CommandStatementQuery,
  CommandStatementSubstraitPlan,
  TicketStatementQuery,
  CommandPreparedStatementQuery,
  CommandStatementUpdate,
  CommandPreparedStatementUpdate,
  CommandStatementIngest,
] as MessageCodec<object>[];

export const MESSAGES_BY_NAME: ReadonlyMap<string, MessageCodec<object>> = new Map(ANY_MESSAGES.map((m) => [m.name, m]));

/** `value` as an Any-wrapped `codec` message. */
export function packAny<T extends object>(codec: MessageCodec<T>, value: Partial<T>): Buffer {
  return encodeAny(TYPE_URL_PREFIX + codec.name, codec.encode(value));
}

/** A Flight SQL message found inside an Any. */
export interface FlightSqlAny {
  /** The message name after the Flight SQL type URL prefix, e.g. "CommandStatementQuery". */
  readonly name: string;
  readonly value: Uint8Array;
}

/**
 * The Flight SQL message inside `bytes`, or null when `bytes` are not an Any whose type URL
 * starts with the Flight SQL prefix (the plain face's SQL tickets and table-name commands).
 */
export function unpackFlightSql(bytes: Uint8Array): FlightSqlAny | null {
  const any = tryDecodeAny(bytes);
  if (!any || !any.typeUrl.startsWith(TYPE_URL_PREFIX)) return null;
  return { name: any.typeUrl.slice(TYPE_URL_PREFIX.length), value: any.value };
}

/** Decodes an unpacked message as `codec`, after checking the name matches. */
export function decodeAs<T extends object>(message: FlightSqlAny, codec: MessageCodec<T>): T {
  if (message.name !== codec.name) throw new Error(`expected ${codec.name}, got ${message.name}`);
  return codec.decode(message.value);
}
