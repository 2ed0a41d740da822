import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import {
  Binary,
  DateDay,
  Decimal,
  Dictionary,
  Field,
  FixedSizeList,
  Float32,
  Float64,
  Int16,
  Int32,
  Int64,
  Int8,
  IntervalMonthDayNano,
  List,
  Map_,
  Struct,
  TimeMicrosecond,
  TimeNanosecond,
  TimestampMicrosecond,
  TimestampMillisecond,
  TimestampNanosecond,
  TimestampSecond,
  Uint16,
  Uint32,
  Uint64,
  Uint8,
  Utf8,
  vectorFromArray,
  type DataType,
} from 'apache-arrow';
import type { ColumnBuilder } from './column-builder.ts';
import { BooleanBuilder, copyKernel, FixedWidthBuilder, intervalKernel, timeTzKernel, widenDecimalKernel } from './fixed-width.ts';
import { ArrayBuilder, EnumBuilder, ListBuilder, NullBuilder, StructBuilder, UnionBuilder } from './nested.ts';
import { StringBuilder, UuidBuilder } from './strings.ts';

/** What building a column needs besides its type. */
export interface BuilderContext {
  /** Rows per batch: the initial size of every buffer. */
  readonly capacityHint: number;
  /** The connection's TimeZone setting, the zone DuckDB names on TIMESTAMPTZ columns. */
  readonly timezone: string;
  /** A fresh Arrow dictionary id (ENUM columns). */
  nextDictionaryId(): number;
}

type Factory<K extends DuckDBTypeId> = (type: Extract<DuckDBType, { typeId: K }>, context: BuilderContext) => ColumnBuilder;
type AnyFactory = (type: DuckDBType, context: BuilderContext) => ColumnBuilder;

function unsupported(type: DuckDBType): never {
  throw new Error(`bridge: DuckDB type ${type.toString()} has no Arrow mapping`);
}

function fixed(make: () => DataType, width: number): AnyFactory {
  return (_type, context) => new FixedWidthBuilder(make(), width, width, copyKernel(width), context.capacityHint);
}

function decimalBuilder(width: number, scale: number, context: BuilderContext): ColumnBuilder {
  const type = new Decimal(scale, width, 128);
  if (width <= 4) return new FixedWidthBuilder(type, 2, 16, widenDecimalKernel(2), context.capacityHint);
  if (width <= 9) return new FixedWidthBuilder(type, 4, 16, widenDecimalKernel(4), context.capacityHint);
  if (width <= 18) return new FixedWidthBuilder(type, 8, 16, widenDecimalKernel(8), context.capacityHint);
  return new FixedWidthBuilder(type, 16, 16, copyKernel(16), context.capacityHint);
}

function childField(name: string, builder: ColumnBuilder, nullable = true): Field {
  return new Field(name, builder.type, nullable, builder.metadata);
}

const extension = (name: string, metadata: string) =>
  new Map([
    ['ARROW:extension:name', name],
    ['ARROW:extension:metadata', metadata],
  ]);

/**
 * DuckDB type -> Arrow column builder, one entry per DuckDB type id so that the compiler points
 * at any type added to DuckDB. The Arrow types are those of DuckDB's own Arrow export with its
 * default settings (checked against the duckdb Python package 1.5).
 */
const FACTORIES: { [K in DuckDBTypeId]: Factory<K> } = {
  [DuckDBTypeId.INVALID]: unsupported,
  [DuckDBTypeId.BOOLEAN]: (_type, context) => new BooleanBuilder(context.capacityHint),
  [DuckDBTypeId.TINYINT]: fixed(() => new Int8(), 1),
  [DuckDBTypeId.SMALLINT]: fixed(() => new Int16(), 2),
  [DuckDBTypeId.INTEGER]: fixed(() => new Int32(), 4),
  [DuckDBTypeId.BIGINT]: fixed(() => new Int64(), 8),
  [DuckDBTypeId.UTINYINT]: fixed(() => new Uint8(), 1),
  [DuckDBTypeId.USMALLINT]: fixed(() => new Uint16(), 2),
  [DuckDBTypeId.UINTEGER]: fixed(() => new Uint32(), 4),
  [DuckDBTypeId.UBIGINT]: fixed(() => new Uint64(), 8),
  [DuckDBTypeId.FLOAT]: fixed(() => new Float32(), 4),
  [DuckDBTypeId.DOUBLE]: fixed(() => new Float64(), 8),
  [DuckDBTypeId.TIMESTAMP]: fixed(() => new TimestampMicrosecond(), 8),
  [DuckDBTypeId.TIMESTAMP_S]: fixed(() => new TimestampSecond(), 8),
  [DuckDBTypeId.TIMESTAMP_MS]: fixed(() => new TimestampMillisecond(), 8),
  [DuckDBTypeId.TIMESTAMP_NS]: fixed(() => new TimestampNanosecond(), 8),
  [DuckDBTypeId.TIMESTAMP_TZ]: (_type, context) =>
    new FixedWidthBuilder(new TimestampMicrosecond(context.timezone), 8, 8, copyKernel(8), context.capacityHint),
  [DuckDBTypeId.DATE]: fixed(() => new DateDay(), 4),
  [DuckDBTypeId.TIME]: fixed(() => new TimeMicrosecond(), 8),
  [DuckDBTypeId.TIME_NS]: fixed(() => new TimeNanosecond(), 8),
  [DuckDBTypeId.TIME_TZ]: (_type, context) => new FixedWidthBuilder(new TimeMicrosecond(), 8, 8, timeTzKernel, context.capacityHint),
  [DuckDBTypeId.INTERVAL]: (_type, context) =>
    new FixedWidthBuilder(new IntervalMonthDayNano(), 16, 16, intervalKernel, context.capacityHint),
  // DuckDB exports both 128-bit integers as decimal128(38, 0), UHUGEINT by reinterpreting the bits.
  [DuckDBTypeId.HUGEINT]: fixed(() => new Decimal(0, 38, 128), 16),
  [DuckDBTypeId.UHUGEINT]: fixed(() => new Decimal(0, 38, 128), 16),
  [DuckDBTypeId.DECIMAL]: (type, context) => decimalBuilder(type.width, type.scale, context),
  [DuckDBTypeId.VARCHAR]: (_type, context) => new StringBuilder(new Utf8(), context.capacityHint),
  [DuckDBTypeId.BLOB]: (_type, context) => new StringBuilder(new Binary(), context.capacityHint),
  [DuckDBTypeId.BIT]: (_type, context) => new StringBuilder(new Binary(), context.capacityHint),
  [DuckDBTypeId.BIGNUM]: (_type, context) =>
    new StringBuilder(new Binary(), context.capacityHint, extension('arrow.opaque', '{"type_name":"bignum","vendor_name":"DuckDB"}')),
  [DuckDBTypeId.GEOMETRY]: (_type, context) => new StringBuilder(new Binary(), context.capacityHint, extension('geoarrow.wkb', '{}')),
  [DuckDBTypeId.UUID]: (_type, context) => new UuidBuilder(context.capacityHint),
  [DuckDBTypeId.ENUM]: (type, context) => {
    const [indexType, width] =
      type.internalTypeId === DuckDBTypeId.UTINYINT
        ? [new Uint8(), 1]
        : type.internalTypeId === DuckDBTypeId.USMALLINT
          ? [new Uint16(), 2]
          : [new Uint32(), 4];
    const dictionaryType = new Dictionary(new Utf8(), indexType, context.nextDictionaryId(), false);
    const indices = new FixedWidthBuilder(indexType, width, width, copyKernel(width), context.capacityHint);
    const dictionary = vectorFromArray([...type.values], new Utf8());
    return new EnumBuilder(dictionaryType as never, indices, dictionary, context.capacityHint);
  },
  [DuckDBTypeId.LIST]: (type, context) => {
    const child = createColumnBuilder(type.valueType, context);
    return new ListBuilder(new List(childField('l', child)), child, context.capacityHint);
  },
  [DuckDBTypeId.ARRAY]: (type, context) => {
    const child = createColumnBuilder(type.valueType, context);
    return new ArrayBuilder(new FixedSizeList(type.length, childField('', child)), child, context.capacityHint);
  },
  [DuckDBTypeId.STRUCT]: (type, context) => {
    const children = type.entryTypes.map((entry) => createColumnBuilder(entry, context));
    const fields = children.map((child, i) => childField(type.entryNames[i], child));
    return new StructBuilder(fields, children, context.capacityHint);
  },
  [DuckDBTypeId.MAP]: (type, context) => {
    const key = createColumnBuilder(type.keyType, context);
    const value = createColumnBuilder(type.valueType, context);
    const entries = new StructBuilder([childField('key', key, false), childField('value', value)], [key, value], context.capacityHint);
    const mapType = new Map_(new Field('entries', entries.type, false) as Field<Struct<{ key: DataType; value: DataType }>>, false);
    return new ListBuilder(mapType, entries, context.capacityHint);
  },
  [DuckDBTypeId.UNION]: (type, context) => {
    const members = type.memberTypes.map((member) => createColumnBuilder(member, context));
    const fields = members.map((member, i) => childField(type.memberTags[i], member));
    return new UnionBuilder(fields, members, context.capacityHint);
  },
  [DuckDBTypeId.SQLNULL]: (_type, context) => new NullBuilder(context.capacityHint),
  [DuckDBTypeId.ANY]: unsupported,
  [DuckDBTypeId.VARIANT]: unsupported,
  [DuckDBTypeId.STRING_LITERAL]: unsupported,
  [DuckDBTypeId.INTEGER_LITERAL]: unsupported,
};

/** The builder turning DuckDB vectors of `type` into Arrow; throws naming a type with no mapping. */
export function createColumnBuilder(type: DuckDBType, context: BuilderContext): ColumnBuilder {
  const factory = FACTORIES[type.typeId] as AnyFactory;
  return factory(type, context);
}

/** Whether `type` has a TIMESTAMPTZ anywhere inside (the export then needs the session zone). */
export function containsTimestampTz(type: DuckDBType): boolean {
  switch (type.typeId) {
    case DuckDBTypeId.TIMESTAMP_TZ:
      return true;
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return containsTimestampTz(type.valueType);
    case DuckDBTypeId.MAP:
      return containsTimestampTz(type.keyType) || containsTimestampTz(type.valueType);
    case DuckDBTypeId.STRUCT:
      return type.entryTypes.some(containsTimestampTz);
    case DuckDBTypeId.UNION:
      return type.memberTypes.some(containsTimestampTz);
    default:
      return false;
  }
}
