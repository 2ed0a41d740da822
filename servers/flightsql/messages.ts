// The Flight SQL protocol messages (package arrow.flight.protocol.sql), generated from
// proto/flight_sql.proto (`npm run gen:proto`), and the thin codecs the handlers use.
// Commands travel in a FlightDescriptor's `cmd`, tickets in a Ticket, action bodies and results
// in Action/Result: always wrapped in a google.protobuf.Any whose type URL names the message.
// DoPut answers (DoPutUpdateResult, DoPutPreparedStatementResult) travel bare in
// PutResult.app_metadata.

import { ScalarType, type DescField, type DescMessage, type Message, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { decodeMessage, encodeMessage } from '../../flight/messages.ts';
import * as pb from './proto/flight_sql_pb.ts';

export const TYPE_URL_PREFIX = 'type.googleapis.com/arrow.flight.protocol.sql.';

/**
 * A generated message as the handlers see it: no `$typeName`, 64-bit integers and enums as
 * numbers (row counts fit in 2^53), nested messages alike; an unset optional field is undefined.
 */
export type Plain<M> = { [K in keyof M as K extends `$${string}` ? never : K]: PlainValue<M[K]> };
type PlainValue<V> = V extends bigint | number
  ? number
  : V extends Uint8Array
    ? Uint8Array
    : V extends readonly (infer E)[]
      ? PlainValue<E>[]
      : V extends Message
        ? Plain<V>
        : V;

/** Encodes and decodes one message type; `name` is its unqualified protobuf name. */
export interface MessageCodec<T extends object> {
  readonly name: string;
  encode(value: Partial<T>): Buffer;
  /** Bytes fields are views into `bytes`; malformed input is INVALID_ARGUMENT naming the message. */
  decode(bytes: Uint8Array): T;
}

const LONG = new Set([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
const isLong = (field: DescField) =>
  (field.fieldKind === 'scalar' || (field.fieldKind === 'list' && field.listKind === 'scalar')) && LONG.has(field.scalar);

function toPlain(desc: DescMessage, message: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of desc.fields) {
    const value = message[field.localName];
    if (value === undefined) out[field.localName] = undefined;
    else if (field.fieldKind === 'message') out[field.localName] = toPlain(field.message, value as Record<string, unknown>);
    else if (field.fieldKind === 'list' && field.listKind === 'message') {
      out[field.localName] = (value as Record<string, unknown>[]).map((item) => toPlain(field.message, item));
    } else if (isLong(field)) out[field.localName] = Array.isArray(value) ? value.map(Number) : Number(value);
    else out[field.localName] = value;
  }
  return out;
}

function toInit(desc: DescMessage, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of desc.fields) {
    const item = value[field.localName];
    if (item === undefined || item === null) continue;
    const long = (n: unknown) => BigInt(Math.trunc(n as number));
    if (field.fieldKind === 'message') out[field.localName] = toInit(field.message, item as Record<string, unknown>);
    else if (field.fieldKind === 'list' && field.listKind === 'message') {
      out[field.localName] = (item as Record<string, unknown>[]).map((m) => toInit(field.message, m));
    } else if (isLong(field)) out[field.localName] = Array.isArray(item) ? item.map(long) : long(item);
    else out[field.localName] = item;
  }
  return out;
}

/** The codec of a generated message type, in the handlers' plain shape. */
export function messageCodec<Desc extends DescMessage>(schema: Desc): MessageCodec<Plain<MessageShape<Desc>>> {
  type T = Plain<MessageShape<Desc>>;
  return {
    name: schema.name,
    encode: (value) => encodeMessage(schema, toInit(schema, value) as MessageInitShape<Desc>),
    decode: (bytes) => toPlain(schema, decodeMessage(schema, bytes) as Record<string, unknown>) as T,
  };
}

// --- metadata commands ---

export type CommandGetSqlInfo = Plain<pb.CommandGetSqlInfo>;
export const CommandGetSqlInfo = messageCodec(pb.CommandGetSqlInfoSchema);
export type CommandGetXdbcTypeInfo = Plain<pb.CommandGetXdbcTypeInfo>;
export const CommandGetXdbcTypeInfo = messageCodec(pb.CommandGetXdbcTypeInfoSchema);
export type CommandGetCatalogs = Plain<pb.CommandGetCatalogs>;
export const CommandGetCatalogs = messageCodec(pb.CommandGetCatalogsSchema);
export type CommandGetDbSchemas = Plain<pb.CommandGetDbSchemas>;
export const CommandGetDbSchemas = messageCodec(pb.CommandGetDbSchemasSchema);
export type CommandGetTables = Plain<pb.CommandGetTables>;
export const CommandGetTables = messageCodec(pb.CommandGetTablesSchema);
export type CommandGetTableTypes = Plain<pb.CommandGetTableTypes>;
export const CommandGetTableTypes = messageCodec(pb.CommandGetTableTypesSchema);
/** CommandGetPrimaryKeys, CommandGetExportedKeys and CommandGetImportedKeys share this shape. */
export type TableReference = Plain<pb.CommandGetPrimaryKeys>;
export const CommandGetPrimaryKeys = messageCodec(pb.CommandGetPrimaryKeysSchema);
export const CommandGetExportedKeys = messageCodec(pb.CommandGetExportedKeysSchema);
export const CommandGetImportedKeys = messageCodec(pb.CommandGetImportedKeysSchema);
export type CommandGetCrossReference = Plain<pb.CommandGetCrossReference>;
export const CommandGetCrossReference = messageCodec(pb.CommandGetCrossReferenceSchema);

// --- prepared statements and transactions (actions) ---

export type ActionCreatePreparedStatementRequest = Plain<pb.ActionCreatePreparedStatementRequest>;
export const ActionCreatePreparedStatementRequest = messageCodec(pb.ActionCreatePreparedStatementRequestSchema);
export type SubstraitPlan = Plain<pb.SubstraitPlan>;
export const SubstraitPlan = messageCodec(pb.SubstraitPlanSchema);
export type ActionCreatePreparedSubstraitPlanRequest = Plain<pb.ActionCreatePreparedSubstraitPlanRequest>;
export const ActionCreatePreparedSubstraitPlanRequest = messageCodec(pb.ActionCreatePreparedSubstraitPlanRequestSchema);
export type ActionCreatePreparedStatementResult = Plain<pb.ActionCreatePreparedStatementResult>;
export const ActionCreatePreparedStatementResult = messageCodec(pb.ActionCreatePreparedStatementResultSchema);
export type ActionClosePreparedStatementRequest = Plain<pb.ActionClosePreparedStatementRequest>;
export const ActionClosePreparedStatementRequest = messageCodec(pb.ActionClosePreparedStatementRequestSchema);
export type ActionBeginTransactionRequest = Plain<pb.ActionBeginTransactionRequest>;
export const ActionBeginTransactionRequest = messageCodec(pb.ActionBeginTransactionRequestSchema);
export type ActionBeginTransactionResult = Plain<pb.ActionBeginTransactionResult>;
export const ActionBeginTransactionResult = messageCodec(pb.ActionBeginTransactionResultSchema);
export type ActionBeginSavepointRequest = Plain<pb.ActionBeginSavepointRequest>;
export const ActionBeginSavepointRequest = messageCodec(pb.ActionBeginSavepointRequestSchema);

const EndTransactionEnum = pb.ActionEndTransactionRequest_EndTransaction;
export const EndTransaction = {
  UNSPECIFIED: EndTransactionEnum.UNSPECIFIED,
  COMMIT: EndTransactionEnum.COMMIT,
  ROLLBACK: EndTransactionEnum.ROLLBACK,
} as const;
export type ActionEndTransactionRequest = Plain<pb.ActionEndTransactionRequest>;
export const ActionEndTransactionRequest = messageCodec(pb.ActionEndTransactionRequestSchema);
export type ActionEndSavepointRequest = Plain<pb.ActionEndSavepointRequest>;
export const ActionEndSavepointRequest = messageCodec(pb.ActionEndSavepointRequestSchema);

/** Deprecated since Flight SQL 13 in favour of CancelFlightInfo; info is a serialized FlightInfo. */
export type ActionCancelQueryRequest = Plain<pb.ActionCancelQueryRequest>;
export const ActionCancelQueryRequest = messageCodec(pb.ActionCancelQueryRequestSchema);

const CancelResultEnum = pb.ActionCancelQueryResult_CancelResult;
export const CancelResult = {
  UNSPECIFIED: CancelResultEnum.UNSPECIFIED,
  CANCELLED: CancelResultEnum.CANCELLED,
  CANCELLING: CancelResultEnum.CANCELLING,
  NOT_CANCELLABLE: CancelResultEnum.NOT_CANCELLABLE,
} as const;
export type ActionCancelQueryResult = Plain<pb.ActionCancelQueryResult>;
export const ActionCancelQueryResult = messageCodec(pb.ActionCancelQueryResultSchema);

// --- statements ---

export type CommandStatementQuery = Plain<pb.CommandStatementQuery>;
export const CommandStatementQuery = messageCodec(pb.CommandStatementQuerySchema);
export type CommandStatementSubstraitPlan = Plain<pb.CommandStatementSubstraitPlan>;
export const CommandStatementSubstraitPlan = messageCodec(pb.CommandStatementSubstraitPlanSchema);
export type TicketStatementQuery = Plain<pb.TicketStatementQuery>;
export const TicketStatementQuery = messageCodec(pb.TicketStatementQuerySchema);
export type CommandPreparedStatementQuery = Plain<pb.CommandPreparedStatementQuery>;
export const CommandPreparedStatementQuery = messageCodec(pb.CommandPreparedStatementQuerySchema);
export type CommandStatementUpdate = Plain<pb.CommandStatementUpdate>;
export const CommandStatementUpdate = messageCodec(pb.CommandStatementUpdateSchema);
export type CommandPreparedStatementUpdate = Plain<pb.CommandPreparedStatementUpdate>;
export const CommandPreparedStatementUpdate = messageCodec(pb.CommandPreparedStatementUpdateSchema);

const NotExist = pb.CommandStatementIngest_TableDefinitionOptions_TableNotExistOption;
export const TableNotExistOption = {
  UNSPECIFIED: NotExist.UNSPECIFIED,
  CREATE: NotExist.CREATE,
  FAIL: NotExist.FAIL,
} as const;
const Exists = pb.CommandStatementIngest_TableDefinitionOptions_TableExistsOption;
export const TableExistsOption = {
  UNSPECIFIED: Exists.UNSPECIFIED,
  FAIL: Exists.FAIL,
  APPEND: Exists.APPEND,
  REPLACE: Exists.REPLACE,
} as const;
export type TableDefinitionOptions = Plain<pb.CommandStatementIngest_TableDefinitionOptions>;
export const TableDefinitionOptions = messageCodec(pb.CommandStatementIngest_TableDefinitionOptionsSchema);
export type CommandStatementIngest = Plain<pb.CommandStatementIngest>;
export const CommandStatementIngest = messageCodec(pb.CommandStatementIngestSchema);

export type DoPutUpdateResult = Plain<pb.DoPutUpdateResult>;
export const DoPutUpdateResult = messageCodec(pb.DoPutUpdateResultSchema);
export type DoPutPreparedStatementResult = Plain<pb.DoPutPreparedStatementResult>;
export const DoPutPreparedStatementResult = messageCodec(pb.DoPutPreparedStatementResultSchema);

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

/** google.protobuf.Any: type_url = 1, value = 2. */
export interface AnyMessage {
  typeUrl: string;
  value: Uint8Array;
}

export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  return encodeMessage(AnySchema, { typeUrl, value });
}

const EMPTY = new Uint8Array(0);

/**
 * `bytes` as an Any, or null when they are not one: a field other than 1 and 2, a wrong wire
 * type, a length past the end, a type_url that is not UTF-8 or is missing. Used to tell Flight
 * SQL commands from the plain face's SQL text, which never parses as an Any with a type URL,
 * so it reads field by field rather than through fromBinary, which would skip what is not Any.
 */
export function tryDecodeAny(bytes: Uint8Array): AnyMessage | null {
  if (bytes.byteLength === 0) return null;
  const reader = new BinaryReader(bytes);
  let typeUrl: string | undefined;
  let value: Uint8Array = EMPTY;
  try {
    while (reader.pos < reader.len) {
      const [no, wire] = reader.tag();
      if (wire !== WireType.LengthDelimited || (no !== 1 && no !== 2)) return null;
      if (no === 1) typeUrl = reader.string(true);
      else value = reader.bytes();
    }
  } catch {
    return null; // malformed: not an Any
  }
  return typeUrl === undefined ? null : { typeUrl, value };
}

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
