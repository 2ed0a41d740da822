// CommandGetXdbcTypeInfo: DuckDB's scalar types described in JDBC/ODBC terms. Nested types
// (LIST, STRUCT, MAP, UNION, ARRAY) have no XDBC code and are not listed.

import type { RecordBatch } from 'apache-arrow';
import { batchOf, rowsToColumns } from './record-batches.ts';
import { XDBC_TYPE_INFO_SCHEMA } from './schemas.ts';

/** The spec's XdbcDataType codes used here. */
const X = {
  NUMERIC: 2,
  DECIMAL: 3,
  INTEGER: 4,
  SMALLINT: 5,
  REAL: 7,
  DOUBLE: 8,
  DATETIME: 9,
  INTERVAL: 10,
  VARCHAR: 12,
  DATE: 91,
  TIME: 92,
  TIMESTAMP: 93,
  BINARY: -2,
  VARBINARY: -3,
  BIGINT: -5,
  TINYINT: -6,
  BIT: -7,
} as const;

/** XdbcDatetimeSubcode values for the DATETIME family. */
const Subcode = { DATE: 1, TIME: 2, TIMESTAMP: 3, TIMESTAMP_WITH_TIMEZONE: 5 } as const;
const Searchable = { BASIC: 2, FULL: 3 } as const;
const NULLABLE = 1;

interface TypeRow {
  type_name: string;
  data_type: number;
  column_size?: number;
  literal_prefix?: string;
  literal_suffix?: string;
  create_params?: string[];
  case_sensitive?: boolean;
  searchable?: number;
  unsigned_attribute?: boolean;
  minimum_scale?: number;
  maximum_scale?: number;
  sql_data_type?: number;
  datetime_subcode?: number;
  num_prec_radix?: number;
}

const integer = (type_name: string, data_type: number, digits: number, unsigned: boolean): TypeRow => ({
  type_name,
  data_type,
  column_size: digits,
  unsigned_attribute: unsigned,
  num_prec_radix: 10,
  minimum_scale: 0,
  maximum_scale: 0,
});

const datetime = (type_name: string, data_type: number, size: number, subcode: number, prefix: string): TypeRow => ({
  type_name,
  data_type,
  column_size: size,
  literal_prefix: `${prefix} '`,
  literal_suffix: "'",
  sql_data_type: X.DATETIME,
  datetime_subcode: subcode,
});

const TYPES: TypeRow[] = [
  { type_name: 'BOOLEAN', data_type: X.BIT, column_size: 1 },
  integer('TINYINT', X.TINYINT, 3, false),
  integer('UTINYINT', X.TINYINT, 3, true),
  integer('SMALLINT', X.SMALLINT, 5, false),
  integer('USMALLINT', X.SMALLINT, 5, true),
  integer('INTEGER', X.INTEGER, 10, false),
  integer('UINTEGER', X.INTEGER, 10, true),
  integer('BIGINT', X.BIGINT, 19, false),
  integer('UBIGINT', X.BIGINT, 20, true),
  integer('HUGEINT', X.NUMERIC, 39, false),
  integer('UHUGEINT', X.NUMERIC, 39, true),
  { type_name: 'FLOAT', data_type: X.REAL, column_size: 24, num_prec_radix: 2, unsigned_attribute: false },
  { type_name: 'DOUBLE', data_type: X.DOUBLE, column_size: 53, num_prec_radix: 2, unsigned_attribute: false },
  {
    type_name: 'DECIMAL',
    data_type: X.DECIMAL,
    column_size: 38,
    create_params: ['precision', 'scale'],
    unsigned_attribute: false,
    minimum_scale: 0,
    maximum_scale: 38,
    num_prec_radix: 10,
  },
  {
    type_name: 'VARCHAR',
    data_type: X.VARCHAR,
    literal_prefix: "'",
    literal_suffix: "'",
    case_sensitive: true,
    searchable: Searchable.FULL,
  },
  { type_name: 'BLOB', data_type: X.VARBINARY },
  { type_name: 'UUID', data_type: X.BINARY, column_size: 16 },
  datetime('DATE', X.DATE, 10, Subcode.DATE, 'DATE'),
  datetime('TIME', X.TIME, 15, Subcode.TIME, 'TIME'),
  datetime('TIMESTAMP', X.TIMESTAMP, 26, Subcode.TIMESTAMP, 'TIMESTAMP'),
  datetime('TIMESTAMP WITH TIME ZONE', X.TIMESTAMP, 32, Subcode.TIMESTAMP_WITH_TIMEZONE, 'TIMESTAMPTZ'),
  { type_name: 'INTERVAL', data_type: X.INTERVAL, literal_prefix: "INTERVAL '", literal_suffix: "'", sql_data_type: X.INTERVAL },
];

/** The rows for `dataType` (every type when undefined), ordered by data_type, then type_name. */
export function xdbcTypeInfo(dataType: number | undefined): RecordBatch {
  const rows = TYPES.filter((t) => dataType === undefined || t.data_type === dataType)
    .sort((a, b) => a.data_type - b.data_type || (a.type_name < b.type_name ? -1 : a.type_name > b.type_name ? 1 : 0))
    .map((t) => ({
      ...t,
      nullable: NULLABLE,
      case_sensitive: t.case_sensitive ?? false,
      searchable: t.searchable ?? Searchable.BASIC,
      fixed_prec_scale: false,
      auto_increment: t.num_prec_radix === 10 && t.minimum_scale === 0 && t.maximum_scale === 0 ? false : null,
      local_type_name: t.type_name,
      sql_data_type: t.sql_data_type ?? t.data_type,
    }));
  return batchOf(XDBC_TYPE_INFO_SCHEMA, rowsToColumns(XDBC_TYPE_INFO_SCHEMA, rows));
}
