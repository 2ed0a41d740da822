// A query that is a plain scan of one table (`SELECT * FROM t`, `FROM t`): its rows are the
// table's, so GetFlightInfo can say how many there are and Flight SQL can name each column's
// table. Recognised from DuckDB's own parse tree (json_serialize_sql), not by pattern: a filter,
// a limit, a CTE, a sample or a star with EXCLUDE makes it something else.

import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteIdentifier } from './bridge/sql.ts';

export interface TableRef {
  readonly catalog: string;
  readonly schema: string;
  readonly table: string;
}

/** What the catalog says of a table's columns, in column order. */
export interface TableColumn {
  readonly name: string;
  /** DuckDB's type name, e.g. DECIMAL(10,2). */
  readonly typeName: string;
  readonly nullable: boolean;
  /** The default draws from a sequence (DuckDB's way to an auto-increment). */
  readonly autoIncrement: boolean;
}

/** Cheap first look: the parse tree is asked for only when the text could be a plain scan. */
const MAYBE_SCAN = /^\s*(SELECT\s+\*\s+)?FROM\s/i;

type Json = Record<string, unknown>;

const empty = (value: unknown) => value === null || value === '' || value === false || (Array.isArray(value) && value.length === 0);

/** A bare `*`: no EXCLUDE, REPLACE, RENAME, COLUMNS(...) or `t.*`. */
function isBareStar(item: Json): boolean {
  return (
    item['class'] === 'STAR' &&
    ['relation_name', 'exclude_list', 'replace_list', 'columns', 'expr', 'qualified_exclude_list', 'rename_list'].every((k) =>
      empty(item[k] ?? null),
    )
  );
}

/** The table a parsed statement scans whole, or null when it does anything more. */
function scannedTable(parsed: Json): { catalog: string; schema: string; table: string } | null {
  const statements = parsed['statements'] as Json[] | undefined;
  if (parsed['error'] !== false || statements?.length !== 1) return null;
  const node = statements[0]!['node'] as Json;
  if (node['type'] !== 'SELECT_NODE') return null;
  if (!['modifiers', 'where_clause', 'group_expressions', 'group_sets', 'having', 'sample', 'qualify'].every((k) => empty(node[k] ?? null)))
    return null;
  if (!empty((node['cte_map'] as Json | undefined)?.['map'] ?? null)) return null;
  const list = node['select_list'] as Json[];
  if (list.length !== 1 || !isBareStar(list[0]!)) return null;
  const from = node['from_table'] as Json;
  if (from['type'] !== 'BASE_TABLE' || !empty(from['sample']) || !empty(from['at_clause']) || !empty(from['column_name_alias']))
    return null;
  return { catalog: String(from['catalog_name'] ?? ''), schema: String(from['schema_name'] ?? ''), table: String(from['table_name']) };
}

/**
 * The table `sql` scans whole, resolved in the catalog as DuckDB would for this connection (a
 * temporary table shadows a table of the same name); null when `sql` is anything else, names a
 * view, or the name is ambiguous.
 */
export async function plainTableScan(connection: DuckDBConnection, sql: string): Promise<TableRef | null> {
  if (!MAYBE_SCAN.test(sql)) return null;
  const parsed = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const named = scannedTable(JSON.parse(String(parsed.getRows()[0]![0])) as Json);
  if (!named) return null;
  // Where the name can point. Unqualified: a temporary table shadows the current schema's.
  // `a.b`: schema a of the current database, or database a's main schema; only one may exist.
  const found: TableRef[] = [];
  const candidates: [string, string][] = named.catalog
    ? [[named.catalog, named.schema]]
    : named.schema
      ? [
          ['', named.schema],
          [named.schema, 'main'],
        ]
      : [
          ['temp', 'main'],
          ['', ''],
        ];
  for (const [catalog, schema] of candidates) {
    const reader = await connection.runAndReadAll(
      `SELECT database_name, schema_name, table_name FROM duckdb_tables()
        WHERE database_name = coalesce(nullif($1, ''), current_database()) AND schema_name = coalesce(nullif($2, ''), current_schema())
          AND lower(table_name) = lower($3)`,
      [catalog, schema, named.table],
    );
    for (const [c, s, t] of reader.getRows() as [string, string, string][]) found.push({ catalog: c, schema: s, table: t });
    if (found.length > 0 && !named.schema) break;
  }
  return found.length === 1 ? found[0]! : null;
}

export function tableReference(table: TableRef): string {
  return [table.catalog, table.schema, table.table].map(quoteIdentifier).join('.');
}

/** The table's row count as this connection sees it (its transaction's view). */
export async function tableRowCount(connection: DuckDBConnection, table: TableRef): Promise<number> {
  const reader = await connection.runAndReadAll(`SELECT count(*) FROM ${tableReference(table)}`);
  return Number(reader.getRows()[0]![0]);
}

export async function tableColumns(connection: DuckDBConnection, table: TableRef): Promise<TableColumn[]> {
  const reader = await connection.runAndReadAll(
    `SELECT column_name, data_type, is_nullable, coalesce(column_default LIKE 'nextval(%', false) FROM duckdb_columns()
      WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 ORDER BY column_index`,
    [table.catalog, table.schema, table.table],
  );
  return (reader.getRows() as [string, string, boolean, boolean][]).map(([name, typeName, nullable, autoIncrement]) => ({
    name,
    typeName,
    nullable,
    autoIncrement,
  }));
}
