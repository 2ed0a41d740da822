import {
  BIGINT,
  BIGNUM,
  BLOB,
  BOOLEAN,
  DATE,
  DOUBLE,
  DuckDBArrayType,
  DuckDBDecimalType,
  DuckDBListType,
  DuckDBMapType,
  DuckDBStructType,
  DuckDBTypeId,
  DuckDBUnionType,
  DuckDBVarCharType,
  FLOAT,
  GEOMETRY,
  INTEGER,
  INTERVAL,
  SMALLINT,
  TIME,
  TIME_NS,
  TIMESTAMP,
  TIMESTAMP_MS,
  TIMESTAMP_NS,
  TIMESTAMP_S,
  TIMESTAMPTZ,
  TINYINT,
  UBIGINT,
  UINTEGER,
  USMALLINT,
  UTINYINT,
  UUID,
  VARCHAR,
  type DuckDBType,
} from '@duckdb/node-api';
import { DataType, Precision, TimeUnit, type Field, type Schema } from 'apache-arrow';
import { quoteIdentifier, quoteString } from '../sql.ts';

/** Arrow's canonical extension-type keys in field metadata. */
const EXTENSION_NAME = 'ARROW:extension:name';
const EXTENSION_METADATA = 'ARROW:extension:metadata';

function unsupportedArrow(field: Field, why = ''): never {
  throw new Error(`bridge: Arrow type ${field.type} of column "${field.name}" has no DuckDB mapping${why}`);
}

/**
 * Throws naming the first column without a name, or the first struct field or union member
 * without one: Schema.fbs lets any field go unnamed, but DuckDB names its columns, STRUCT fields
 * and UNION tags after them (and the server matches columns to a table's by name).
 */
export function checkNames(schema: Schema): void {
  schema.fields.forEach((field, i) => {
    if (typeof field.name !== 'string')
      throw new Error(`bridge: column ${i + 1} of the schema has no name (DuckDB names its columns after them)`);
    checkChildNames(field);
  });
}

/**
 * Throws naming the first struct field or union member without a name in a column: Schema.fbs
 * lets any child field go unnamed, but DuckDB names its STRUCT fields and UNION tags after them.
 */
function checkChildNames(field: Field, path: string = field.name): void {
  const type = DataType.isDictionary(field.type) ? field.type.dictionary : field.type;
  // A map's entries are read by position (key, value), whatever their struct calls them.
  const children: Field[] = (DataType.isMap(type) ? type.children[0]?.type.children : type.children) ?? [];
  children.forEach((child, i) => {
    childName(type, child, i, path);
    checkChildNames(child, `${path}.${child.name ?? i + 1}`);
  });
}

/** The name DuckDB gives a child of `type` (a struct field or union tag). */
function childName(type: DataType, child: Field, i: number, path: string): string {
  if (typeof child.name !== 'string' && (DataType.isStruct(type) || DataType.isUnion(type))) {
    const what = DataType.isStruct(type) ? 'struct field' : 'union member';
    throw new Error(`bridge: column "${path}": ${what} ${i + 1} has no name (DuckDB names STRUCT fields and UNION tags after them)`);
  }
  return child.name;
}

/**
 * The DuckDB type a new table column gets for an Arrow field: the type DuckDB's own Arrow import
 * picks, so that everything `streamQuery` produces comes back as it was where Arrow can say so,
 * plus the extension types DuckDB itself exports (BIGNUM, GEOMETRY) and arrow.uuid. Dictionary
 * columns become their value type. Throws naming a type it cannot map.
 */
export function duckdbTypeForField(field: Field): DuckDBType {
  const extension = field.metadata.get(EXTENSION_NAME);
  const type = field.type;
  if (extension !== undefined) {
    const binaryLike = DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isBinaryView(type);
    if (extension === 'geoarrow.wkb' && binaryLike) return GEOMETRY;
    if (extension === 'arrow.uuid' && DataType.isFixedSizeBinary(type) && type.byteWidth === 16) return UUID;
    if (extension === 'arrow.json' && (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type))) {
      return new DuckDBVarCharType('JSON');
    }
    if (extension === 'arrow.opaque' && binaryLike) {
      const opaque = field.metadata.get(EXTENSION_METADATA) ?? '';
      if (/"type_name"\s*:\s*"bignum"/.test(opaque) && /"vendor_name"\s*:\s*"DuckDB"/.test(opaque)) return BIGNUM;
    }
  }
  if (DataType.isNull(type)) return INTEGER; // as DuckDB does for an all-null Arrow column
  if (DataType.isBool(type)) return BOOLEAN;
  if (DataType.isInt(type)) {
    const signed = [TINYINT, SMALLINT, INTEGER, BIGINT];
    const unsigned = [UTINYINT, USMALLINT, UINTEGER, UBIGINT];
    return (type.isSigned ? signed : unsigned)[Math.log2(type.bitWidth) - 3];
  }
  if (DataType.isFloat(type)) {
    if (type.precision === Precision.SINGLE) return FLOAT;
    if (type.precision === Precision.DOUBLE) return DOUBLE;
    unsupportedArrow(field, ' (half floats are not supported by DuckDB)');
  }
  if (DataType.isDecimal(type)) {
    if (type.precision > 38 || type.bitWidth > 128) unsupportedArrow(field, ' (DuckDB decimals hold at most 38 digits)');
    return new DuckDBDecimalType(type.precision, type.scale);
  }
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return VARCHAR;
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isBinaryView(type) || DataType.isFixedSizeBinary(type)) {
    return BLOB;
  }
  if (DataType.isDate(type)) return DATE;
  if (DataType.isTime(type)) return type.unit === TimeUnit.NANOSECOND ? TIME_NS : TIME;
  if (DataType.isTimestamp(type)) {
    if (type.timezone) return TIMESTAMPTZ;
    return [TIMESTAMP_S, TIMESTAMP_MS, TIMESTAMP, TIMESTAMP_NS][type.unit];
  }
  if (DataType.isInterval(type) || DataType.isDuration(type)) return INTERVAL;
  if (DataType.isDictionary(type)) {
    const values = type.dictionary;
    const stringLike =
      DataType.isUtf8(values) ||
      DataType.isLargeUtf8(values) ||
      DataType.isUtf8View(values) ||
      DataType.isBinary(values) ||
      DataType.isLargeBinary(values) ||
      DataType.isBinaryView(values);
    if (!stringLike) unsupportedArrow(field, ' (only dictionaries of strings or bytes are supported)');
    return duckdbTypeForField(field.clone({ type: values }));
  }
  if (DataType.isList(type) || DataType.isLargeList(type)) return new DuckDBListType(duckdbTypeForField(type.children[0]));
  if (DataType.isFixedSizeList(type)) return new DuckDBArrayType(duckdbTypeForField(type.children[0]), type.listSize);
  if (DataType.isStruct(type)) {
    if (type.children.length === 0) unsupportedArrow(field, ' (DuckDB structs need at least one field)');
    return new DuckDBStructType(
      type.children.map((child, i) => childName(type, child, i, field.name)),
      type.children.map(duckdbTypeForField),
    );
  }
  if (DataType.isMap(type)) {
    const [key, value] = type.children[0].type.children;
    return new DuckDBMapType(duckdbTypeForField(key), duckdbTypeForField(value));
  }
  if (DataType.isSparseUnion(type)) {
    return new DuckDBUnionType(
      type.children.map((child, i) => childName(type, child, i, field.name)),
      type.children.map(duckdbTypeForField),
    );
  }
  return unsupportedArrow(field);
}

type SqlRenderer<K extends DuckDBTypeId> = (type: Extract<DuckDBType, { typeId: K }>) => string;

const named = (name: string) => () => name;

function unrenderable(type: DuckDBType): never {
  throw new Error(`bridge: DuckDB type ${type.toString()} cannot be used for a table column`);
}

/** DuckDB type -> SQL text, one entry per type id. Identifiers and enum values are quoted. */
const SQL: { [K in DuckDBTypeId]: SqlRenderer<K> } = {
  [DuckDBTypeId.INVALID]: unrenderable,
  [DuckDBTypeId.BOOLEAN]: named('BOOLEAN'),
  [DuckDBTypeId.TINYINT]: named('TINYINT'),
  [DuckDBTypeId.SMALLINT]: named('SMALLINT'),
  [DuckDBTypeId.INTEGER]: named('INTEGER'),
  [DuckDBTypeId.BIGINT]: named('BIGINT'),
  [DuckDBTypeId.UTINYINT]: named('UTINYINT'),
  [DuckDBTypeId.USMALLINT]: named('USMALLINT'),
  [DuckDBTypeId.UINTEGER]: named('UINTEGER'),
  [DuckDBTypeId.UBIGINT]: named('UBIGINT'),
  [DuckDBTypeId.FLOAT]: named('FLOAT'),
  [DuckDBTypeId.DOUBLE]: named('DOUBLE'),
  [DuckDBTypeId.TIMESTAMP]: named('TIMESTAMP'),
  [DuckDBTypeId.DATE]: named('DATE'),
  [DuckDBTypeId.TIME]: named('TIME'),
  [DuckDBTypeId.INTERVAL]: named('INTERVAL'),
  [DuckDBTypeId.HUGEINT]: named('HUGEINT'),
  [DuckDBTypeId.UHUGEINT]: named('UHUGEINT'),
  [DuckDBTypeId.VARCHAR]: (type) => (type.alias === 'JSON' ? 'JSON' : 'VARCHAR'),
  [DuckDBTypeId.BLOB]: named('BLOB'),
  [DuckDBTypeId.DECIMAL]: (type) => `DECIMAL(${type.width}, ${type.scale})`,
  [DuckDBTypeId.TIMESTAMP_S]: named('TIMESTAMP_S'),
  [DuckDBTypeId.TIMESTAMP_MS]: named('TIMESTAMP_MS'),
  [DuckDBTypeId.TIMESTAMP_NS]: named('TIMESTAMP_NS'),
  [DuckDBTypeId.ENUM]: (type) => `ENUM(${type.values.map(quoteString).join(', ')})`,
  [DuckDBTypeId.LIST]: (type) => `${duckdbTypeSql(type.valueType)}[]`,
  [DuckDBTypeId.STRUCT]: (type) =>
    `STRUCT(${type.entryNames.map((name, i) => `${quoteIdentifier(name)} ${duckdbTypeSql(type.entryTypes[i])}`).join(', ')})`,
  [DuckDBTypeId.MAP]: (type) => `MAP(${duckdbTypeSql(type.keyType)}, ${duckdbTypeSql(type.valueType)})`,
  [DuckDBTypeId.ARRAY]: (type) => `${duckdbTypeSql(type.valueType)}[${type.length}]`,
  [DuckDBTypeId.UUID]: named('UUID'),
  [DuckDBTypeId.UNION]: (type) =>
    `UNION(${type.memberTags.map((tag, i) => `${quoteIdentifier(tag)} ${duckdbTypeSql(type.memberTypes[i])}`).join(', ')})`,
  [DuckDBTypeId.BIT]: named('BIT'),
  [DuckDBTypeId.TIME_TZ]: named('TIME WITH TIME ZONE'),
  [DuckDBTypeId.TIMESTAMP_TZ]: named('TIMESTAMP WITH TIME ZONE'),
  [DuckDBTypeId.ANY]: unrenderable,
  [DuckDBTypeId.BIGNUM]: named('BIGNUM'),
  [DuckDBTypeId.SQLNULL]: unrenderable,
  [DuckDBTypeId.STRING_LITERAL]: unrenderable,
  [DuckDBTypeId.INTEGER_LITERAL]: unrenderable,
  [DuckDBTypeId.TIME_NS]: named('TIME_NS'),
  [DuckDBTypeId.GEOMETRY]: named('GEOMETRY'),
  [DuckDBTypeId.VARIANT]: named('VARIANT'),
};

/** SQL text for a DuckDB type, usable in CREATE TABLE and casts. */
export function duckdbTypeSql(type: DuckDBType): string {
  return (SQL[type.typeId] as (type: DuckDBType) => string)(type);
}
