// Flight SQL column metadata on result schemas (ARROW:FLIGHT:SQL:*): what JDBC's
// ResultSetMetaData and ODBC's SQLColAttribute read. From DuckDB's types always (type name,
// decimal precision and scale, case sensitivity); a column's table, nullability and
// auto-increment only when the query is a plain scan of one table, the one case where the
// origin is known for certain (DuckDB's C API does not say where a result column comes from).

import { DuckDBDecimalType, DuckDBTypeId, type DuckDBConnection, type DuckDBType } from '@duckdb/node-api';
import { Field, Schema } from 'apache-arrow';
import { plainTableScan, tableColumns, type TableColumn, type TableRef } from '../table-scan.ts';

const KEY = 'ARROW:FLIGHT:SQL:';

/** What is known of a result beyond its types. */
export interface ResultOrigin {
  /** The table a plain scan reads, with its columns in result order; null otherwise. */
  readonly table: TableRef | null;
  readonly columns: readonly TableColumn[] | null;
  /** The server refuses writes: no column is writable. */
  readonly readOnly: boolean;
}

/** The origin of `sql`'s result columns (a table only for a plain scan whose columns line up). */
export async function resultOrigin(
  connection: DuckDBConnection,
  sql: string | null,
  columnCount: number,
  readOnly: boolean,
): Promise<ResultOrigin> {
  const table = sql === null ? null : await plainTableScan(connection, sql);
  const columns = table ? await tableColumns(connection, table) : null;
  if (!table || columns?.length !== columnCount) return { table: null, columns: null, readOnly };
  return { table, columns, readOnly };
}

const flag = (value: boolean) => (value ? '1' : '0');

/** `schema` (the bridge's, for columns of these DuckDB types) with the Flight SQL column metadata. */
export function withColumnMetadata(schema: Schema, types: readonly DuckDBType[], origin: ResultOrigin): Schema {
  return new Schema(
    schema.fields.map((field, i) => {
      const type = types[i]!;
      const column = origin.columns?.[i];
      const metadata = new Map(field.metadata);
      metadata.set(`${KEY}TYPE_NAME`, column?.typeName ?? type.toString());
      if (type.typeId === DuckDBTypeId.DECIMAL) {
        const decimal = type as DuckDBDecimalType;
        metadata.set(`${KEY}PRECISION`, String(decimal.width));
        metadata.set(`${KEY}SCALE`, String(decimal.scale));
      }
      if (origin.table) {
        metadata.set(`${KEY}CATALOG_NAME`, origin.table.catalog);
        metadata.set(`${KEY}SCHEMA_NAME`, origin.table.schema);
        metadata.set(`${KEY}TABLE_NAME`, origin.table.table);
      }
      metadata.set(`${KEY}IS_AUTO_INCREMENT`, flag(column?.autoIncrement ?? false));
      // DuckDB compares and sorts text by byte, so case matters; other types have no case.
      metadata.set(`${KEY}IS_CASE_SENSITIVE`, flag(type.typeId === DuckDBTypeId.VARCHAR));
      // A computed column cannot be written back; a table's column can, unless the server is read-only.
      metadata.set(`${KEY}IS_READ_ONLY`, flag(origin.readOnly || !column));
      // Any DuckDB column may stand in a WHERE clause.
      metadata.set(`${KEY}IS_SEARCHABLE`, '1');
      return new Field(field.name, field.type, column ? column.nullable : field.nullable, metadata);
    }),
    schema.metadata,
  );
}
