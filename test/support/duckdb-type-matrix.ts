// The DuckDB type matrix of the server tests: one column per DuckDB type, four rows (k = 0..3),
// row 2 NULL in every column, extremes and NULLs inside nested values. Used by
// test/server/types.test.ts (DoGet from one server, DoPut into another) and by the pyarrow
// interop (test/interop/server/, which compares with the duckdb Python package's own export).

export interface TypeCase {
  /** Column name. */
  name: string;
  /** DuckDB type, as SQL. */
  type: string;
  /** SQL literals of rows k = 0, 1, 3 (row 2 is NULL). */
  values: [string, string, string];
  /**
   * The column's DuckDB type after a trip through Arrow into a new table (DuckDB's Arrow export
   * then its import), when it is not `type`.
   */
  roundTripType?: string;
}

/** Created before the matrix (the ENUM). */
export const MATRIX_SETUP = "CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')";

export const TYPE_CASES: TypeCase[] = [
  { name: 'c_boolean', type: 'BOOLEAN', values: ['true', 'false', 'true'] },
  { name: 'c_tinyint', type: 'TINYINT', values: ['-128', '127', '0'] },
  { name: 'c_smallint', type: 'SMALLINT', values: ['-32768', '32767', '-1'] },
  { name: 'c_integer', type: 'INTEGER', values: ['-2147483648', '2147483647', '42'] },
  { name: 'c_bigint', type: 'BIGINT', values: ['-9223372036854775808', '9223372036854775807', '-1'] },
  { name: 'c_utinyint', type: 'UTINYINT', values: ['0', '255', '7'] },
  { name: 'c_usmallint', type: 'USMALLINT', values: ['0', '65535', '8'] },
  { name: 'c_uinteger', type: 'UINTEGER', values: ['0', '4294967295', '9'] },
  { name: 'c_ubigint', type: 'UBIGINT', values: ['0', '18446744073709551615', '10'] },
  {
    name: 'c_hugeint',
    type: 'HUGEINT',
    values: ['-99999999999999999999999999999999999999', '99999999999999999999999999999999999999', '-12345678901234567890123'],
    roundTripType: 'DECIMAL(38,0)',
  },
  {
    name: 'c_uhugeint',
    type: 'UHUGEINT',
    values: ['0', '99999999999999999999999999999999999999', '18446744073709551616'],
    roundTripType: 'DECIMAL(38,0)',
  },
  { name: 'c_float', type: 'FLOAT', values: ["'-inf'", '1.5', "'nan'"] },
  { name: 'c_float_max', type: 'FLOAT', values: ['-3.4028235e38', '1.1754944e-38', '3.4028235e38'] },
  { name: 'c_double', type: 'DOUBLE', values: ['-1.7976931348623157e308', '4.9e-324', "'inf'"] },
  { name: 'c_double_nan', type: 'DOUBLE', values: ["'nan'", '-0.0', '0.1'] },
  { name: 'c_decimal_4', type: 'DECIMAL(4,2)', values: ['-99.99', '99.99', '0.01'] },
  { name: 'c_decimal_9', type: 'DECIMAL(9,4)', values: ['-99999.9999', '99999.9999', '1.5'] },
  { name: 'c_decimal_18', type: 'DECIMAL(18,6)', values: ['-999999999999.999999', '999999999999.999999', '0.000001'] },
  {
    name: 'c_decimal_38',
    type: 'DECIMAL(38,10)',
    values: ['-9999999999999999999999999999.9999999999', '9999999999999999999999999999.9999999999', '3.1415926535'],
  },
  { name: 'c_varchar_short', type: 'VARCHAR', values: ["''", "'hello'", "'twelve bytes'"] },
  {
    name: 'c_varchar_long',
    type: 'VARCHAR',
    values: ["'a string well over twelve bytes long'", "'ünïcödé ✓ 𝄞 and more than twelve bytes'", "repeat('xyz', 2000)"],
  },
  { name: 'c_blob', type: 'BLOB', values: ["'\\x00\\xFF'::BLOB", "''::BLOB", "'a blob longer than twelve bytes \\x00\\x01\\x02'::BLOB"] },
  { name: 'c_date', type: 'DATE', values: ["'0001-01-01'", "'9999-12-31'", "'1970-01-01'"] },
  { name: 'c_time', type: 'TIME', values: ["'00:00:00'", "'23:59:59.999999'", "'12:34:56.789'"] },
  { name: 'c_timestamp_s', type: 'TIMESTAMP_S', values: ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59'", "'2024-02-29 12:00:00'"] },
  {
    name: 'c_timestamp_ms',
    type: 'TIMESTAMP_MS',
    values: ["'0001-01-01 00:00:00.001'", "'9999-12-31 23:59:59.999'", "'1970-01-01 00:00:00'"],
  },
  {
    name: 'c_timestamp',
    type: 'TIMESTAMP',
    values: ["'0001-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'2000-01-01 00:00:00.123456'"],
  },
  {
    name: 'c_timestamp_ns',
    type: 'TIMESTAMP_NS',
    values: ["'1677-09-22 00:00:00'", "'2262-04-11 23:47:16.854775'", "'2024-01-01 00:00:00.123456789'"],
  },
  {
    name: 'c_timestamptz',
    type: 'TIMESTAMPTZ',
    values: ["'2024-01-01 00:00:00+00'", "'1969-12-31 23:59:59.999999+00'", "'2024-06-30 12:00:00+05:30'"],
  },
  {
    name: 'c_interval',
    type: 'INTERVAL',
    values: ["INTERVAL '1 year 2 months 3 days 04:05:06.789'", "INTERVAL '-1 month'", "INTERVAL '0 seconds'"],
  },
  {
    name: 'c_uuid',
    type: 'UUID',
    values: ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'550e8400-e29b-41d4-a716-446655440000'"],
    roundTripType: 'VARCHAR',
  },
  { name: 'c_enum', type: 'mood', values: ["'sad'", "'happy'", "'ok'"], roundTripType: 'VARCHAR' },
  { name: 'c_list', type: 'INTEGER[]', values: ['[1, NULL, 3]', '[]', '[NULL]'] },
  { name: 'c_list_varchar', type: 'VARCHAR[]', values: ["['a', 'a string longer than twelve']", '[NULL]', '[]'] },
  { name: 'c_array', type: 'INTEGER[3]', values: ['[1, 2, 3]', '[NULL, 5, 6]', '[7, 8, NULL]'] },
  {
    name: 'c_struct',
    type: 'STRUCT(a INTEGER, b VARCHAR)',
    values: ["{'a': 1, 'b': 'x'}", "{'a': NULL, 'b': NULL}", "{'a': -1, 'b': 'a string longer than twelve'}"],
  },
  { name: 'c_map', type: 'MAP(VARCHAR, INTEGER)', values: ["MAP {'a': 1, 'b': NULL}", 'MAP {}', "MAP {'k': 3}"] },
  {
    name: 'c_union',
    type: 'UNION(num INTEGER, str VARCHAR)',
    values: ['union_value(num := 1)', "union_value(str := 'two')", "union_value(str := 'a string longer than twelve')"],
  },
  {
    name: 'c_nested',
    type: 'STRUCT(xs INTEGER[], m MAP(VARCHAR, DOUBLE))[]',
    values: ["[{'xs': [1, NULL], 'm': MAP {'p': 0.5}}, NULL]", "[{'xs': NULL, 'm': MAP {}}]", '[]'],
  },
];

/**
 * Values whose trip through Arrow is lossy in DuckDB's own export and import (duckdb 1.5's
 * Python `.arrow()` then `CREATE TABLE AS SELECT * FROM` the Arrow table), kept out of the
 * matrix and tested on their own: what DuckDB's round trip makes of each.
 */
export interface EdgeCase {
  name: string;
  /** A SQL expression of the value. */
  value: string;
  /** DuckDB's text of the value after DuckDB's own Arrow round trip, or the error printing it raises. */
  afterRoundTrip: { text: string | null } | { error: RegExp };
}

export const EDGE_CASES: EdgeCase[] = [
  // Arrow unions have no validity of their own: a union whose member is NULL (DuckDB prints it
  // 'NULL') reads as a NULL union (SQL NULL).
  { name: 'union_null_member', value: 'union_value(str := NULL)::UNION(num INTEGER, str VARCHAR)', afterRoundTrip: { text: null } },
  // HUGEINT and UHUGEINT travel as decimal128(38, 0), which holds 38 digits; HUGEINT holds 39.
  {
    name: 'hugeint_max',
    value: "'170141183460469231731687303715884105727'::HUGEINT",
    afterRoundTrip: { text: '170141183460469231731687303715884105727' },
  },
  {
    name: 'hugeint_min',
    value: "'-170141183460469231731687303715884105728'::HUGEINT",
    afterRoundTrip: { error: /Negation of HUGEINT is out of range/ },
  },
  // UHUGEINT goes by its bits: 2^128 - 1 reads as -1, 2^127 as the HUGEINT minimum.
  { name: 'uhugeint_max', value: "'340282366920938463463374607431768211455'::UHUGEINT", afterRoundTrip: { text: '-1' } },
  {
    name: 'uhugeint_2_127',
    value: "'170141183460469231731687303715884105728'::UHUGEINT",
    afterRoundTrip: { error: /Negation of HUGEINT is out of range/ },
  },
  { name: 'date_infinity', value: "'infinity'::DATE", afterRoundTrip: { text: 'infinity' } },
  { name: 'date_minus_infinity', value: "'-infinity'::DATE", afterRoundTrip: { text: '-infinity' } },
  { name: 'timestamp_infinity', value: "'infinity'::TIMESTAMP", afterRoundTrip: { text: 'infinity' } },
  { name: 'timestamp_minus_infinity', value: "'-infinity'::TIMESTAMP", afterRoundTrip: { text: '-infinity' } },
  { name: 'timestamptz_infinity', value: "'infinity'::TIMESTAMPTZ", afterRoundTrip: { text: 'infinity' } },
  { name: 'timestamp_s_infinity', value: "'infinity'::TIMESTAMP_S", afterRoundTrip: { text: 'infinity' } },
  { name: 'timestamp_ms_infinity', value: "'infinity'::TIMESTAMP_MS", afterRoundTrip: { text: 'infinity' } },
  { name: 'timestamp_ns_infinity', value: "'infinity'::TIMESTAMP_NS", afterRoundTrip: { text: 'infinity' } },
];

/** The edge values as one row. */
export function edgeQuery(): string {
  return `SELECT ${EDGE_CASES.map((e) => `${e.value} AS ${e.name}`).join(', ')}`;
}

/** The statements that create and fill the matrix table: k INTEGER, then one column per case. */
export function matrixStatements(table = 'matrix'): string[] {
  const columns = TYPE_CASES.map((c) => `${c.name} ${c.type}`).join(', ');
  const rows = [0, 1, 2, 3].map((k) => {
    const values = TYPE_CASES.map((c) => (k === 2 ? 'NULL' : `(${c.values[k === 3 ? 2 : k]})::${c.type}`));
    return `(${k}, ${values.join(', ')})`;
  });
  return [`CREATE TABLE ${table} (k INTEGER, ${columns})`, `INSERT INTO ${table} VALUES ${rows.join(', ')}`];
}

/** The matrix's statements as one SQL text. */
export function matrixDdl(table = 'matrix'): string {
  return matrixStatements(table)
    .map((s) => `${s};`)
    .join(' ');
}

/** A query selecting the matrix with every column cast to VARCHAR: DuckDB's text of each value. */
export function matrixTextQuery(table: string): string {
  return `SELECT k, ${TYPE_CASES.map((c) => `${c.name}::VARCHAR AS ${c.name}`).join(', ')} FROM ${table} ORDER BY k`;
}
