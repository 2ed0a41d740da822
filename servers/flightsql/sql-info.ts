// CommandGetSqlInfo: what this server and DuckDB support, as (info_name, value) rows whose value
// column is the spec's dense union. Only facts we can stand behind are listed; an id we say
// nothing about is left out rather than guessed (clients treat a missing id as unknown).

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeData, type RecordBatch } from 'apache-arrow';
import { batchFromData, columnData } from './record-batches.ts';
import { SQL_INFO_SCHEMA, SQL_INFO_VALUE_TYPE, SqlInfoValueType } from './schemas.ts';

/** SqlInfo ids (the spec's enum SqlInfo) this server answers. */
export const SqlInfo = {
  FLIGHT_SQL_SERVER_NAME: 0,
  FLIGHT_SQL_SERVER_VERSION: 1,
  FLIGHT_SQL_SERVER_ARROW_VERSION: 2,
  FLIGHT_SQL_SERVER_READ_ONLY: 3,
  FLIGHT_SQL_SERVER_SQL: 4,
  FLIGHT_SQL_SERVER_SUBSTRAIT: 5,
  FLIGHT_SQL_SERVER_TRANSACTION: 8,
  FLIGHT_SQL_SERVER_CANCEL: 9,
  FLIGHT_SQL_SERVER_BULK_INGESTION: 10,
  FLIGHT_SQL_SERVER_INGEST_TRANSACTIONS_SUPPORTED: 11,
  FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT: 100,
  FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT: 101,
  SQL_DDL_CATALOG: 500,
  SQL_DDL_SCHEMA: 501,
  SQL_DDL_TABLE: 502,
  SQL_IDENTIFIER_CASE: 503,
  SQL_IDENTIFIER_QUOTE_CHAR: 504,
  SQL_QUOTED_IDENTIFIER_CASE: 505,
  SQL_ALL_TABLES_ARE_SELECTABLE: 506,
  SQL_NULL_ORDERING: 507,
  SQL_KEYWORDS: 508,
  SQL_SEARCH_STRING_ESCAPE: 513,
  SQL_EXTRA_NAME_CHARACTERS: 514,
  SQL_SUPPORTS_COLUMN_ALIASING: 515,
  SQL_NULL_PLUS_NULL_IS_NULL: 516,
  SQL_SUPPORTS_TABLE_CORRELATION_NAMES: 518,
  SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES: 519,
  SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY: 520,
  SQL_SUPPORTS_ORDER_BY_UNRELATED: 521,
  SQL_SUPPORTED_GROUP_BY: 522,
  SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE: 523,
  SQL_SUPPORTS_NON_NULLABLE_COLUMNS: 524,
  SQL_OUTER_JOINS_SUPPORT_LEVEL: 528,
  SQL_SCHEMA_TERM: 529,
  SQL_CATALOG_TERM: 531,
  SQL_CATALOG_AT_START: 532,
  SQL_SELECT_FOR_UPDATE_SUPPORTED: 536,
  SQL_STORED_PROCEDURES_SUPPORTED: 537,
  SQL_SUPPORTED_SUBQUERIES: 538,
  SQL_CORRELATED_SUBQUERIES_SUPPORTED: 539,
  SQL_SUPPORTED_UNIONS: 540,
  SQL_TRANSACTIONS_SUPPORTED: 563,
  SQL_DATA_DEFINITION_CAUSES_TRANSACTION_COMMIT: 565,
  SQL_DATA_DEFINITIONS_IN_TRANSACTIONS_IGNORED: 566,
  SQL_BATCH_UPDATES_SUPPORTED: 572,
  SQL_SAVEPOINTS_SUPPORTED: 573,
} as const;

export type SqlInfoValue =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'bigint'; readonly value: bigint }
  | { readonly kind: 'int32'; readonly value: number }
  | { readonly kind: 'string-list'; readonly value: readonly string[] };

const str = (value: string): SqlInfoValue => ({ kind: 'string', value });
const bool = (value: boolean): SqlInfoValue => ({ kind: 'bool', value });
const int32 = (value: number): SqlInfoValue => ({ kind: 'int32', value });

/** What the values depend on: the server and the database it serves. */
export interface SqlInfoFacts {
  serverName: string;
  serverVersion: string;
  duckdbVersion: string;
  readOnly: boolean;
  /** DuckDB's default_null_order setting. */
  defaultNullOrder: string;
  keywords: readonly string[];
  statementTimeoutMs: number;
  transactionTimeoutMs: number;
}

const SqlSupportedCaseSensitivity = { CASE_INSENSITIVE: 1 } as const;
const SqlNullOrdering = { SORTED_HIGH: 0, SORTED_LOW: 1, SORTED_AT_START: 2, SORTED_AT_END: 3 } as const;
const SqlOuterJoinsSupportLevel = { FULL_OUTER_JOINS: 2 } as const;
const SqlSupportedTransaction = { TRANSACTION: 1 } as const;

/** DuckDB's default_null_order values as the spec's SqlNullOrdering. */
function nullOrdering(setting: string): number {
  switch (setting.toLowerCase()) {
    case 'nulls_first':
      return SqlNullOrdering.SORTED_AT_START;
    case 'nulls_last':
      return SqlNullOrdering.SORTED_AT_END;
    case 'nulls_first_on_asc_last_on_desc':
      return SqlNullOrdering.SORTED_LOW;
    case 'nulls_last_on_asc_first_on_desc':
      return SqlNullOrdering.SORTED_HIGH;
    default:
      throw new Error(`unknown DuckDB default_null_order ${JSON.stringify(setting)}`);
  }
}

/** The version of the Arrow library that writes our IPC (apache-arrow for JavaScript). */
export const ARROW_VERSION: string = (() => {
  const entry = fileURLToPath(import.meta.resolve('apache-arrow'));
  let dir = dirname(entry);
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'apache-arrow' && pkg.version) return pkg.version;
    } catch {
      // not this directory: keep climbing to the package root
    }
  }
  throw new Error(`cannot find apache-arrow's package.json above ${entry}`);
})();

export function sqlInfoValues(facts: SqlInfoFacts): Map<number, SqlInfoValue> {
  const S = SqlInfo;
  return new Map<number, SqlInfoValue>([
    [S.FLIGHT_SQL_SERVER_NAME, str(facts.serverName)],
    [S.FLIGHT_SQL_SERVER_VERSION, str(`${facts.serverVersion} (DuckDB ${facts.duckdbVersion})`)],
    [S.FLIGHT_SQL_SERVER_ARROW_VERSION, str(ARROW_VERSION)],
    [S.FLIGHT_SQL_SERVER_READ_ONLY, bool(facts.readOnly)],
    [S.FLIGHT_SQL_SERVER_SQL, bool(true)],
    [S.FLIGHT_SQL_SERVER_SUBSTRAIT, bool(false)],
    [S.FLIGHT_SQL_SERVER_TRANSACTION, int32(SqlSupportedTransaction.TRANSACTION)],
    [S.FLIGHT_SQL_SERVER_CANCEL, bool(true)],
    [S.FLIGHT_SQL_SERVER_BULK_INGESTION, bool(!facts.readOnly)],
    [S.FLIGHT_SQL_SERVER_INGEST_TRANSACTIONS_SUPPORTED, bool(true)],
    [S.FLIGHT_SQL_SERVER_STATEMENT_TIMEOUT, int32(facts.statementTimeoutMs)],
    [S.FLIGHT_SQL_SERVER_TRANSACTION_TIMEOUT, int32(facts.transactionTimeoutMs)],
    // DuckDB attaches and detaches databases (ATTACH/DETACH) but has no CREATE/DROP CATALOG.
    [S.SQL_DDL_CATALOG, bool(false)],
    [S.SQL_DDL_SCHEMA, bool(true)],
    [S.SQL_DDL_TABLE, bool(true)],
    // DuckDB keeps an identifier's case but matches names case-insensitively, quoted or not.
    [S.SQL_IDENTIFIER_CASE, int32(SqlSupportedCaseSensitivity.CASE_INSENSITIVE)],
    [S.SQL_IDENTIFIER_QUOTE_CHAR, str('"')],
    [S.SQL_QUOTED_IDENTIFIER_CASE, int32(SqlSupportedCaseSensitivity.CASE_INSENSITIVE)],
    [S.SQL_ALL_TABLES_ARE_SELECTABLE, bool(true)],
    [S.SQL_NULL_ORDERING, int32(nullOrdering(facts.defaultNullOrder))],
    [S.SQL_KEYWORDS, { kind: 'string-list', value: facts.keywords }],
    // The metadata commands' LIKE patterns use backslash as their escape character.
    [S.SQL_SEARCH_STRING_ESCAPE, str('\\')],
    [S.SQL_EXTRA_NAME_CHARACTERS, str('')],
    [S.SQL_SUPPORTS_COLUMN_ALIASING, bool(true)],
    [S.SQL_NULL_PLUS_NULL_IS_NULL, bool(true)],
    [S.SQL_SUPPORTS_TABLE_CORRELATION_NAMES, bool(true)],
    [S.SQL_SUPPORTS_DIFFERENT_TABLE_CORRELATION_NAMES, bool(false)],
    [S.SQL_SUPPORTS_EXPRESSIONS_IN_ORDER_BY, bool(true)],
    [S.SQL_SUPPORTS_ORDER_BY_UNRELATED, bool(true)],
    // Bits: SQL_GROUP_BY_UNRELATED (0) and SQL_GROUP_BY_BEYOND_SELECT (1).
    [S.SQL_SUPPORTED_GROUP_BY, int32(0b11)],
    [S.SQL_SUPPORTS_LIKE_ESCAPE_CLAUSE, bool(true)],
    [S.SQL_SUPPORTS_NON_NULLABLE_COLUMNS, bool(true)],
    [S.SQL_OUTER_JOINS_SUPPORT_LEVEL, int32(SqlOuterJoinsSupportLevel.FULL_OUTER_JOINS)],
    [S.SQL_SCHEMA_TERM, str('schema')],
    [S.SQL_CATALOG_TERM, str('database')],
    [S.SQL_CATALOG_AT_START, bool(true)],
    [S.SQL_SELECT_FOR_UPDATE_SUPPORTED, bool(false)],
    [S.SQL_STORED_PROCEDURES_SUPPORTED, bool(false)],
    // Bits: subqueries in comparisons (0), EXISTS (1), IN (2) and quantified comparisons (3).
    [S.SQL_SUPPORTED_SUBQUERIES, int32(0b1111)],
    [S.SQL_CORRELATED_SUBQUERIES_SUPPORTED, bool(true)],
    // Bits: UNION (0) and UNION ALL (1).
    [S.SQL_SUPPORTED_UNIONS, int32(0b11)],
    [S.SQL_TRANSACTIONS_SUPPORTED, bool(true)],
    [S.SQL_DATA_DEFINITION_CAUSES_TRANSACTION_COMMIT, bool(false)],
    [S.SQL_DATA_DEFINITIONS_IN_TRANSACTIONS_IGNORED, bool(false)],
    [S.SQL_BATCH_UPDATES_SUPPORTED, bool(true)],
    [S.SQL_SAVEPOINTS_SUPPORTED, bool(false)],
  ]);
}

/**
 * The GetSqlInfo result for `requested` ids (every id we know when empty), in request order;
 * ids we say nothing about are left out.
 */
export function sqlInfoBatch(values: ReadonlyMap<number, SqlInfoValue>, requested: readonly number[]): RecordBatch {
  const ids = requested.length > 0 ? requested.filter((id) => values.has(id)) : [...values.keys()].sort((a, b) => a - b);
  const typeIds = new Int8Array(ids.length);
  const offsets = new Int32Array(ids.length);
  const members: unknown[][] = [[], [], [], [], [], []];
  ids.forEach((id, row) => {
    const value = values.get(id)!;
    const typeId = memberOf(value);
    typeIds[row] = typeId;
    offsets[row] = members[typeId]!.length;
    members[typeId]!.push(value.kind === 'string-list' ? [...value.value] : value.value);
  });
  const children = SQL_INFO_VALUE_TYPE.children.map((field, i) => columnData(field.type, members[i]!));
  const union = makeData({ type: SQL_INFO_VALUE_TYPE, length: ids.length, nullCount: 0, typeIds, valueOffsets: offsets, children });
  return batchFromData(SQL_INFO_SCHEMA, [columnData(SQL_INFO_SCHEMA.fields[0]!.type, ids), union], ids.length);
}

function memberOf(value: SqlInfoValue): number {
  switch (value.kind) {
    case 'string':
      return SqlInfoValueType.STRING;
    case 'bool':
      return SqlInfoValueType.BOOL;
    case 'bigint':
      return SqlInfoValueType.BIGINT;
    case 'int32':
      return SqlInfoValueType.INT32_BITMASK;
    case 'string-list':
      return SqlInfoValueType.STRING_LIST;
  }
}
