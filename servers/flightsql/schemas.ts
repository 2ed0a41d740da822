// The result schemas the Flight SQL specification fixes for its metadata commands: names, types
// and nullability exactly as clients check them (the ADBC driver compares GetCatalogs,
// GetDbSchemas and GetTables results field by field).

import { Binary, Bool, DenseUnion, Field, Int32, Int64, List, Map_, Schema, Struct, Uint32, Uint8, Utf8 } from 'apache-arrow';

const utf8 = (name: string, nullable: boolean) => new Field(name, new Utf8(), nullable);
const int32 = (name: string, nullable: boolean) => new Field(name, new Int32(), nullable);
const bool = (name: string, nullable: boolean) => new Field(name, new Bool(), nullable);

export const CATALOGS_SCHEMA = new Schema([utf8('catalog_name', false)]);

export const DB_SCHEMAS_SCHEMA = new Schema([utf8('catalog_name', true), utf8('db_schema_name', false)]);

const TABLES_FIELDS = [utf8('catalog_name', true), utf8('db_schema_name', true), utf8('table_name', false), utf8('table_type', false)];
export const TABLES_SCHEMA = new Schema(TABLES_FIELDS);
/** With include_schema: each table's Arrow schema as an encapsulated IPC message. */
export const TABLES_WITH_SCHEMA_SCHEMA = new Schema([...TABLES_FIELDS, new Field('table_schema', new Binary(), false)]);

export const TABLE_TYPES_SCHEMA = new Schema([utf8('table_type', false)]);

/**
 * The proto's comment lists key_name before key_sequence; the reference implementations (C++,
 * Java, Go) all put key_sequence first, and clients are tested against them, so we do too.
 */
export const PRIMARY_KEYS_SCHEMA = new Schema([
  utf8('catalog_name', true),
  utf8('db_schema_name', true),
  utf8('table_name', false),
  utf8('column_name', false),
  int32('key_sequence', false),
  utf8('key_name', true),
]);

/** GetExportedKeys, GetImportedKeys and GetCrossReference. */
export const KEYS_SCHEMA = new Schema([
  utf8('pk_catalog_name', true),
  utf8('pk_db_schema_name', true),
  utf8('pk_table_name', false),
  utf8('pk_column_name', false),
  utf8('fk_catalog_name', true),
  utf8('fk_db_schema_name', true),
  utf8('fk_table_name', false),
  utf8('fk_column_name', false),
  int32('key_sequence', false),
  utf8('fk_key_name', true),
  utf8('pk_key_name', true),
  new Field('update_rule', new Uint8(), false),
  new Field('delete_rule', new Uint8(), false),
]);

/** The type ids of GetSqlInfo's value union, in the order the spec declares its members. */
export const SqlInfoValueType = {
  STRING: 0,
  BOOL: 1,
  BIGINT: 2,
  INT32_BITMASK: 3,
  STRING_LIST: 4,
  INT32_TO_INT32_LIST_MAP: 5,
} as const;

export const SQL_INFO_VALUE_TYPE = new DenseUnion(
  [0, 1, 2, 3, 4, 5],
  [
    utf8('string_value', true),
    bool('bool_value', true),
    new Field('bigint_value', new Int64(), true),
    int32('int32_bitmask', true),
    new Field('string_list', new List(utf8('item', true)), true),
    new Field(
      'int32_to_int32_list_map',
      new Map_(
        new Field(
          'entries',
          new Struct<{ key: Int32; value: List<Int32> }>([int32('key', false), new Field('value', new List(int32('item', true)), true)]),
          false,
        ),
      ),
      true,
    ),
  ],
);

export const SQL_INFO_SCHEMA = new Schema([new Field('info_name', new Uint32(), false), new Field('value', SQL_INFO_VALUE_TYPE, false)]);

export const XDBC_TYPE_INFO_SCHEMA = new Schema([
  utf8('type_name', false),
  int32('data_type', false),
  int32('column_size', true),
  utf8('literal_prefix', true),
  utf8('literal_suffix', true),
  new Field('create_params', new List(utf8('item', false)), true),
  int32('nullable', false),
  bool('case_sensitive', false),
  int32('searchable', false),
  bool('unsigned_attribute', true),
  bool('fixed_prec_scale', false),
  bool('auto_increment', true),
  utf8('local_type_name', true),
  int32('minimum_scale', true),
  int32('maximum_scale', true),
  int32('sql_data_type', false),
  int32('datetime_subcode', true),
  int32('num_prec_radix', true),
  int32('interval_precision', true),
]);
