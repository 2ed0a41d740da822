// The catalog commands (GetCatalogs, GetDbSchemas, GetTables, GetTableTypes, GetPrimaryKeys,
// GetExportedKeys, GetImportedKeys, GetCrossReference) answered from DuckDB's own catalog
// functions. Catalogs are DuckDB's attached databases, the internal `system` and `temp` left
// out; name filters are SQL LIKE patterns with backslash as the escape character.

import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { Field, Schema, type RecordBatch } from 'apache-arrow';
import { schemaToIpcMessage } from '../../flight/index.ts';
import { quoteIdentifier } from '../bridge/sql.ts';
import { fromDuckDBError } from '../errors.ts';
import type { CommandGetCrossReference, CommandGetDbSchemas, CommandGetTables, TableReference } from './messages.ts';
import { batchOf, rowsToColumns } from './record-batches.ts';
import { arrowSchema, preparedColumns, sessionTimezone } from './result-stream.ts';
import {
  CATALOGS_SCHEMA,
  DB_SCHEMAS_SCHEMA,
  KEYS_SCHEMA,
  PRIMARY_KEYS_SCHEMA,
  TABLE_TYPES_SCHEMA,
  TABLES_SCHEMA,
  TABLES_WITH_SCHEMA_SCHEMA,
} from './schemas.ts';

/** The table types GetTables reports (GetTableTypes lists them). */
export const TABLE_TYPES = ['TABLE', 'VIEW'] as const;

const USER_DATABASES = 'SELECT database_name FROM duckdb_databases() WHERE NOT internal';

/** A WHERE clause built from optional conditions, with positional parameters. */
class Conditions {
  readonly clauses: string[] = [];
  readonly values: DuckDBValue[] = [];

  add(clause: string, ...values: string[]): this {
    let sql = clause;
    for (const value of values) {
      this.values.push(value);
      sql = sql.replace('?', `$${this.values.length}`);
    }
    this.clauses.push(sql);
    return this;
  }

  /** `column = value` when `value` is given (an exact name; '' matches nothing, as no object lacks one). */
  equals(column: string, value: string | undefined): this {
    return value === undefined ? this : this.add(`${column} = ?`, value);
  }

  like(column: string, pattern: string | undefined): this {
    return pattern === undefined ? this : this.add(`${column} LIKE ? ESCAPE '\\'`, pattern);
  }

  get sql(): string {
    return this.clauses.length > 0 ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

async function rows(connection: DuckDBConnection, sql: string, values: DuckDBValue[] = []): Promise<DuckDBValue[][]> {
  const reader = await connection.runAndReadAll(sql, values);
  return reader.getRows();
}

export async function getCatalogs(connection: DuckDBConnection): Promise<RecordBatch> {
  const names = (await rows(connection, `${USER_DATABASES} ORDER BY database_name`)).map((r) => r[0] as string);
  return batchOf(CATALOGS_SCHEMA, [names]);
}

export async function getDbSchemas(connection: DuckDBConnection, command: CommandGetDbSchemas): Promise<RecordBatch> {
  const where = new Conditions()
    .add(`database_name IN (${USER_DATABASES})`)
    .equals('database_name', command.catalog)
    .like('schema_name', command.dbSchemaFilterPattern);
  const found = await rows(connection, `SELECT database_name, schema_name FROM duckdb_schemas() ${where.sql} ORDER BY 1, 2`, where.values);
  return batchOf(DB_SCHEMAS_SCHEMA, [found.map((r) => r[0]), found.map((r) => r[1])]);
}

interface TableRow {
  catalog: string;
  schema: string;
  name: string;
  type: string;
}

export async function getTables(connection: DuckDBConnection, command: CommandGetTables): Promise<RecordBatch> {
  const where = new Conditions()
    .add(`catalog IN (${USER_DATABASES})`)
    .equals('catalog', command.catalog)
    .like('db_schema', command.dbSchemaFilterPattern)
    .like('name', command.tableNameFilterPattern);
  if (command.tableTypes.length > 0) {
    where.add(`type IN (${command.tableTypes.map(() => '?').join(', ')})`, ...command.tableTypes);
  }
  const found = await rows(
    connection,
    `SELECT * FROM (
       SELECT database_name AS catalog, schema_name AS db_schema, table_name AS name, 'TABLE' AS type
         FROM duckdb_tables() WHERE NOT temporary
       UNION ALL
       SELECT database_name, schema_name, view_name, 'VIEW' FROM duckdb_views() WHERE NOT internal AND NOT temporary
     ) ${where.sql} ORDER BY catalog, db_schema, name, type`,
    where.values,
  );
  const tables: TableRow[] = found.map(([catalog, schema, name, type]) => ({
    catalog: catalog as string,
    schema: schema as string,
    name: name as string,
    type: type as string,
  }));
  const columns: unknown[][] = [
    tables.map((t) => t.catalog),
    tables.map((t) => t.schema),
    tables.map((t) => t.name),
    tables.map((t) => t.type),
  ];
  if (!command.includeSchema) return batchOf(TABLES_SCHEMA, columns);
  const schemas: Uint8Array[] = [];
  for (const table of tables) {
    const schema = await tableSchema(connection, table).catch((error: unknown) => {
      // A view whose query no longer binds (its table was dropped) has no schema to give.
      throw fromDuckDBError(
        error,
        `GetTables: the columns of ${table.type.toLowerCase()} ${table.catalog}.${table.schema}.${table.name} cannot be described`,
      );
    });
    schemas.push(schemaToIpcMessage(schema));
  }
  return batchOf(TABLES_WITH_SCHEMA_SCHEMA, [...columns, schemas]);
}

/**
 * A table's Arrow schema: the types a query of it returns (the bridge's mapping), the columns'
 * nullability, and the Flight SQL column metadata (catalog, schema, table, DuckDB type name,
 * precision and scale, comment).
 */
export async function tableSchema(connection: DuckDBConnection, table: Omit<TableRow, 'type'>): Promise<Schema> {
  const reference = [table.catalog, table.schema, table.name].map(quoteIdentifier).join('.');
  const prepared = await connection.prepare(`SELECT * FROM ${reference}`);
  let base: Schema;
  try {
    const columns = preparedColumns(prepared);
    if (!columns) throw new Error(`the columns of ${reference} have no type`);
    base = arrowSchema(columns, await sessionTimezone(connection, columns));
  } finally {
    prepared.destroySync();
  }
  const described = await rows(
    connection,
    `SELECT column_name, data_type, is_nullable, numeric_precision, numeric_scale, comment FROM duckdb_columns()
      WHERE database_name = $1 AND schema_name = $2 AND table_name = $3 ORDER BY column_index`,
    [table.catalog, table.schema, table.name],
  );
  return new Schema(
    base.fields.map((field, i) => {
      const [, typeName, nullable, precision, scale, comment] = described[i] ?? [];
      const metadata = new Map(field.metadata);
      metadata.set('ARROW:FLIGHT:SQL:CATALOG_NAME', table.catalog);
      metadata.set('ARROW:FLIGHT:SQL:DB_SCHEMA_NAME', table.schema);
      metadata.set('ARROW:FLIGHT:SQL:TABLE_NAME', table.name);
      if (typeof typeName === 'string') metadata.set('ARROW:FLIGHT:SQL:TYPE_NAME', typeName);
      if (precision !== null && precision !== undefined) metadata.set('ARROW:FLIGHT:SQL:PRECISION', String(precision));
      if (scale !== null && scale !== undefined) metadata.set('ARROW:FLIGHT:SQL:SCALE', String(scale));
      if (typeof comment === 'string' && comment.length > 0) metadata.set('ARROW:FLIGHT:SQL:REMARKS', comment);
      return new Field(field.name, field.type, nullable !== false, metadata);
    }),
  );
}

export function getTableTypes(): RecordBatch {
  return batchOf(TABLE_TYPES_SCHEMA, [[...TABLE_TYPES]]);
}

interface Constraint {
  catalog: string;
  schema: string;
  table: string;
  type: string;
  name: string;
  columns: string[];
  referencedTable: string | null;
  referencedColumns: string[];
}

function listItems(value: DuckDBValue): string[] {
  return ((value as { items?: unknown[] } | null)?.items ?? []).map(String);
}

async function constraints(connection: DuckDBConnection, types: string[]): Promise<Constraint[]> {
  const found = await rows(
    connection,
    `SELECT database_name, schema_name, table_name, constraint_type, constraint_name, constraint_column_names,
            referenced_table, referenced_column_names
       FROM duckdb_constraints()
      WHERE database_name IN (${USER_DATABASES}) AND constraint_type IN (${types.map((t) => `'${t}'`).join(', ')})`,
  );
  return found.map((r) => ({
    catalog: r[0] as string,
    schema: r[1] as string,
    table: r[2] as string,
    type: r[3] as string,
    name: r[4] as string,
    columns: listItems(r[5]!),
    referencedTable: (r[6] as string | null) ?? null,
    referencedColumns: listItems(r[7]!),
  }));
}

function matches(ref: TableReference, catalog: string, schema: string, table: string): boolean {
  return (
    (ref.catalog === undefined || ref.catalog === catalog) && (ref.dbSchema === undefined || ref.dbSchema === schema) && ref.table === table
  );
}

const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

export async function getPrimaryKeys(connection: DuckDBConnection, ref: TableReference): Promise<RecordBatch> {
  const keys = (await constraints(connection, ['PRIMARY KEY'])).filter((c) => matches(ref, c.catalog, c.schema, c.table));
  const out: Record<string, unknown>[] = [];
  for (const key of keys) {
    key.columns.forEach((column, i) =>
      out.push({
        catalog_name: key.catalog,
        db_schema_name: key.schema,
        table_name: key.table,
        column_name: column,
        key_name: key.name,
        key_sequence: i + 1,
      }),
    );
  }
  out.sort(
    (a, b) =>
      compare(a['catalog_name'] as string, b['catalog_name'] as string) ||
      compare(a['db_schema_name'] as string, b['db_schema_name'] as string) ||
      compare(a['table_name'] as string, b['table_name'] as string) ||
      compare(a['key_name'] as string, b['key_name'] as string) ||
      compare(a['key_sequence'] as number, b['key_sequence'] as number),
  );
  return batchOf(PRIMARY_KEYS_SCHEMA, rowsToColumns(PRIMARY_KEYS_SCHEMA, out));
}

/** DuckDB enforces foreign keys without actions: an offending update or delete is refused. */
const NO_ACTION = 3;

interface ForeignKeyRow {
  pk_catalog_name: string;
  pk_db_schema_name: string;
  pk_table_name: string;
  pk_column_name: string;
  fk_catalog_name: string;
  fk_db_schema_name: string;
  fk_table_name: string;
  fk_column_name: string;
  key_sequence: number;
  fk_key_name: string;
  pk_key_name: string | null;
  update_rule: number;
  delete_rule: number;
}

/** Every foreign key column pair; a DuckDB foreign key references a table of its own schema. */
async function foreignKeys(connection: DuckDBConnection): Promise<ForeignKeyRow[]> {
  const all = await constraints(connection, ['PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY']);
  const out: ForeignKeyRow[] = [];
  for (const fk of all) {
    if (fk.type !== 'FOREIGN KEY' || fk.referencedTable === null) continue;
    const referenced = all.find(
      (c) =>
        c.type !== 'FOREIGN KEY' &&
        c.catalog === fk.catalog &&
        c.schema === fk.schema &&
        c.table.toLowerCase() === fk.referencedTable!.toLowerCase() &&
        c.columns.length === fk.referencedColumns.length &&
        c.columns.every((column, i) => column.toLowerCase() === fk.referencedColumns[i]!.toLowerCase()),
    );
    fk.columns.forEach((column, i) =>
      out.push({
        pk_catalog_name: fk.catalog,
        pk_db_schema_name: fk.schema,
        pk_table_name: referenced?.table ?? fk.referencedTable!,
        pk_column_name: fk.referencedColumns[i]!,
        fk_catalog_name: fk.catalog,
        fk_db_schema_name: fk.schema,
        fk_table_name: fk.table,
        fk_column_name: column,
        key_sequence: i + 1,
        fk_key_name: fk.name,
        pk_key_name: referenced?.name ?? null,
        update_rule: NO_ACTION,
        delete_rule: NO_ACTION,
      }),
    );
  }
  return out;
}

function keysBatch(found: ForeignKeyRow[], side: 'pk' | 'fk'): RecordBatch {
  const key = (r: ForeignKeyRow) =>
    side === 'fk'
      ? [r.fk_catalog_name, r.fk_db_schema_name, r.fk_table_name, r.fk_key_name]
      : [r.pk_catalog_name, r.pk_db_schema_name, r.pk_table_name, r.pk_key_name ?? ''];
  found.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) {
      const c = compare(ka[i]!, kb[i]!);
      if (c !== 0) return c;
    }
    return a.key_sequence - b.key_sequence;
  });
  return batchOf(KEYS_SCHEMA, rowsToColumns(KEYS_SCHEMA, found as unknown as Record<string, unknown>[]));
}

/** Foreign keys that reference `ref` (the keys it exports), ordered by the foreign key side. */
export async function getExportedKeys(connection: DuckDBConnection, ref: TableReference): Promise<RecordBatch> {
  const found = (await foreignKeys(connection)).filter((r) => matches(ref, r.pk_catalog_name, r.pk_db_schema_name, r.pk_table_name));
  return keysBatch(found, 'fk');
}

/** Foreign keys declared on `ref` (the keys it imports), ordered by the primary key side. */
export async function getImportedKeys(connection: DuckDBConnection, ref: TableReference): Promise<RecordBatch> {
  const found = (await foreignKeys(connection)).filter((r) => matches(ref, r.fk_catalog_name, r.fk_db_schema_name, r.fk_table_name));
  return keysBatch(found, 'pk');
}

export async function getCrossReference(connection: DuckDBConnection, command: CommandGetCrossReference): Promise<RecordBatch> {
  const pk: TableReference = { catalog: command.pkCatalog, dbSchema: command.pkDbSchema, table: command.pkTable };
  const fk: TableReference = { catalog: command.fkCatalog, dbSchema: command.fkDbSchema, table: command.fkTable };
  const found = (await foreignKeys(connection)).filter(
    (r) =>
      matches(pk, r.pk_catalog_name, r.pk_db_schema_name, r.pk_table_name) &&
      matches(fk, r.fk_catalog_name, r.fk_db_schema_name, r.fk_table_name),
  );
  return keysBatch(found, 'pk');
}
