import { DuckDBTypeId, type DuckDBType } from '@duckdb/node-api';
import { DataType, DateUnit, IntervalUnit, Precision, TimeUnit, type Field, type Timestamp } from 'apache-arrow';
import type { ColumnWriter } from './column-writer.ts';
import {
  BooleanWriter,
  ConvertWriter,
  CopyWriter,
  copyBytesKernel,
  date64Kernel,
  dayTimeKernel,
  divideKernel,
  durationKernel,
  monthDayNanoKernel,
  multiplyKernel,
  narrowDecimalKernel,
  NullWriter,
  timeTzKernel,
  widenInt32Kernel,
  yearMonthKernel,
  type ImportKernel,
} from './fixed-width.ts';
import { ArrayWriter, EnumWriter, ListWriter, StructWriter, UnionWriter } from './nested.ts';
import { checkBignumBytes, checkBitBytes, DictionaryStringWriter, StringWriter, UuidWriter, type ValueCheck } from './strings.ts';

/**
 * Makes the writer that puts Arrow values of `field` straight into DuckDB vectors of `target`,
 * or returns null when that pair has no direct path (the caller may then write the natural
 * DuckDB type for the field and let the appender cast).
 */
type WriterFactory<K extends DuckDBTypeId> = (field: Field, target: Extract<DuckDBType, { typeId: K }>) => ColumnWriter | null;
type AnyWriterFactory = (field: Field, target: DuckDBType) => ColumnWriter | null;

const none = () => null;

function intWriter(bitWidth: number, signed: boolean): AnyWriterFactory {
  return ({ type }) =>
    DataType.isInt(type) && type.bitWidth === bitWidth && type.isSigned === signed ? new CopyWriter(bitWidth / 8) : null;
}

function floatWriter(precision: Precision, width: number): AnyWriterFactory {
  return ({ type }) => (DataType.isFloat(type) && type.precision === precision ? new CopyWriter(width) : null);
}

function isStringLike(type: DataType): boolean {
  return (
    DataType.isUtf8(type) ||
    DataType.isLargeUtf8(type) ||
    DataType.isUtf8View(type) ||
    DataType.isBinary(type) ||
    DataType.isLargeBinary(type) ||
    DataType.isBinaryView(type) ||
    DataType.isFixedSizeBinary(type)
  );
}

function isText(type: DataType): boolean {
  return DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type);
}

function isBytes(type: DataType): boolean {
  return isStringLike(type) && !isText(type);
}

/** Text (or bytes, for binary targets) and dictionaries of them. */
function stringWriter(accept: (type: DataType) => boolean, text = false): AnyWriterFactory {
  return ({ type }) => {
    if (accept(type)) return new StringWriter(text);
    if (DataType.isDictionary(type) && accept(type.dictionary)) return new DictionaryStringWriter(text);
    return null;
  };
}

function checkedBytesWriter(check: ValueCheck): AnyWriterFactory {
  return ({ type }) => (isBytes(type) ? new StringWriter(false, check) : null);
}

const TICKS_PER_SECOND = [1, 1000, 1000000, 1000000000];

/** int64 ticks in `unit` -> microseconds. */
function toMicros(unit: TimeUnit, what: string): ImportKernel | null {
  switch (unit) {
    case TimeUnit.SECOND:
      return multiplyKernel(1000000, what);
    case TimeUnit.MILLISECOND:
      return multiplyKernel(1000, what);
    case TimeUnit.MICROSECOND:
      return null;
    case TimeUnit.NANOSECOND:
      return divideKernel(1000);
  }
}

function timestampWriter(unit: TimeUnit, withZone: boolean): AnyWriterFactory {
  return ({ type }) => {
    if (!DataType.isTimestamp(type) || Boolean((type as Timestamp).timezone) !== withZone) return null;
    if (type.unit === unit) return new CopyWriter(8);
    // TIMESTAMP and TIMESTAMPTZ are microseconds; other units are converted.
    if (unit !== TimeUnit.MICROSECOND) return null;
    const kernel = toMicros(type.unit, `timestamp column`);
    return kernel === null ? new CopyWriter(8) : new ConvertWriter(8, kernel);
  };
}

function decimalStorage(width: number): 2 | 4 | 8 | 16 {
  return width <= 4 ? 2 : width <= 9 ? 4 : width <= 18 ? 8 : 16;
}

const WRITERS: { [K in DuckDBTypeId]: WriterFactory<K> } = {
  [DuckDBTypeId.INVALID]: none,
  [DuckDBTypeId.BOOLEAN]: ({ type }) => (DataType.isBool(type) ? new BooleanWriter() : null),
  [DuckDBTypeId.TINYINT]: intWriter(8, true),
  [DuckDBTypeId.SMALLINT]: intWriter(16, true),
  [DuckDBTypeId.INTEGER]: intWriter(32, true),
  [DuckDBTypeId.BIGINT]: intWriter(64, true),
  [DuckDBTypeId.UTINYINT]: intWriter(8, false),
  [DuckDBTypeId.USMALLINT]: intWriter(16, false),
  [DuckDBTypeId.UINTEGER]: intWriter(32, false),
  [DuckDBTypeId.UBIGINT]: intWriter(64, false),
  [DuckDBTypeId.FLOAT]: floatWriter(Precision.SINGLE, 4),
  [DuckDBTypeId.DOUBLE]: floatWriter(Precision.DOUBLE, 8),
  // decimal128(38, 0) is how DuckDB exports both 128-bit integers: same bytes back.
  [DuckDBTypeId.HUGEINT]: ({ type }) => (DataType.isDecimal(type) && type.scale === 0 && type.bitWidth === 128 ? new CopyWriter(16) : null),
  [DuckDBTypeId.UHUGEINT]: ({ type }) =>
    DataType.isDecimal(type) && type.scale === 0 && type.bitWidth === 128 ? new CopyWriter(16) : null,
  [DuckDBTypeId.DECIMAL]: ({ type }, target) => {
    if (!DataType.isDecimal(type) || type.scale !== target.scale || type.precision > target.width) return null;
    const inWords = type.bitWidth / 32;
    if (inWords !== 1 && inWords !== 2 && inWords !== 4) return null;
    const storage = decimalStorage(target.width);
    if (storage === inWords * 4) return new CopyWriter(storage);
    return new ConvertWriter(storage, narrowDecimalKernel(inWords, storage));
  },
  [DuckDBTypeId.VARCHAR]: stringWriter(isText, true),
  [DuckDBTypeId.BLOB]: stringWriter(isStringLike),
  // BIT, BIGNUM and GEOMETRY travel as DuckDB's own bytes (what the export produces), checked
  // first: DuckDB trusts appended bytes (GEOMETRY's WKB it parses itself).
  [DuckDBTypeId.BIT]: checkedBytesWriter(checkBitBytes),
  [DuckDBTypeId.BIGNUM]: checkedBytesWriter(checkBignumBytes),
  [DuckDBTypeId.GEOMETRY]: stringWriter(isBytes),
  [DuckDBTypeId.UUID]: ({ type }) =>
    DataType.isUtf8(type) ||
    DataType.isLargeUtf8(type) ||
    DataType.isUtf8View(type) ||
    (DataType.isFixedSizeBinary(type) && type.byteWidth === 16)
      ? new UuidWriter()
      : null,
  [DuckDBTypeId.DATE]: ({ type }) => {
    if (!DataType.isDate(type)) return null;
    return type.unit === DateUnit.DAY ? new CopyWriter(4) : new ConvertWriter(4, date64Kernel);
  },
  [DuckDBTypeId.TIME]: ({ type }) => {
    if (!DataType.isTime(type)) return null;
    switch (type.unit) {
      case TimeUnit.SECOND:
        return new ConvertWriter(8, widenInt32Kernel(1000000));
      case TimeUnit.MILLISECOND:
        return new ConvertWriter(8, widenInt32Kernel(1000));
      case TimeUnit.MICROSECOND:
        return new CopyWriter(8);
      case TimeUnit.NANOSECOND:
        return new ConvertWriter(8, divideKernel(1000));
    }
  },
  [DuckDBTypeId.TIME_NS]: ({ type }) => (DataType.isTime(type) && type.unit === TimeUnit.NANOSECOND ? new CopyWriter(8) : null),
  [DuckDBTypeId.TIME_TZ]: ({ type }) => (DataType.isTime(type) ? new ConvertWriter(8, timeTzKernel(TICKS_PER_SECOND[type.unit])) : null),
  [DuckDBTypeId.TIMESTAMP]: timestampWriter(TimeUnit.MICROSECOND, false),
  [DuckDBTypeId.TIMESTAMP_S]: timestampWriter(TimeUnit.SECOND, false),
  [DuckDBTypeId.TIMESTAMP_MS]: timestampWriter(TimeUnit.MILLISECOND, false),
  [DuckDBTypeId.TIMESTAMP_NS]: timestampWriter(TimeUnit.NANOSECOND, false),
  [DuckDBTypeId.TIMESTAMP_TZ]: timestampWriter(TimeUnit.MICROSECOND, true),
  [DuckDBTypeId.INTERVAL]: ({ type }) => {
    if (DataType.isInterval(type)) {
      if (type.unit === IntervalUnit.MONTH_DAY_NANO) return new ConvertWriter(16, monthDayNanoKernel);
      if (type.unit === IntervalUnit.DAY_TIME) return new ConvertWriter(16, dayTimeKernel);
      return new ConvertWriter(16, yearMonthKernel);
    }
    if (DataType.isDuration(type)) {
      return new ConvertWriter(16, durationKernel(toMicros(type.unit, 'duration column') ?? copyBytesKernel(8)));
    }
    return null;
  },
  [DuckDBTypeId.ENUM]: ({ type }, target) => (DataType.isDictionary(type) && isText(type.dictionary) ? new EnumWriter(target) : null),
  [DuckDBTypeId.LIST]: ({ type }, target) => {
    if (!DataType.isList(type) && !DataType.isLargeList(type)) return null;
    const child = createColumnWriter(type.children[0], target.valueType);
    return child === null ? null : new ListWriter(child);
  },
  [DuckDBTypeId.MAP]: ({ type }, target) => {
    if (!DataType.isMap(type)) return null;
    const entries = type.children[0];
    const [key, value] = entries.type.children;
    const keyWriter = createColumnWriter(key, target.keyType);
    const valueWriter = createColumnWriter(value, target.valueType);
    return keyWriter === null || valueWriter === null ? null : new ListWriter(new StructWriter([keyWriter, valueWriter]));
  },
  [DuckDBTypeId.ARRAY]: ({ type }, target) => {
    if (!DataType.isFixedSizeList(type) || type.listSize !== target.length) return null;
    const child = createColumnWriter(type.children[0], target.valueType);
    return child === null ? null : new ArrayWriter(type.listSize, child);
  },
  [DuckDBTypeId.STRUCT]: ({ type }, target) => {
    if (!DataType.isStruct(type) || type.children.length !== target.entryCount) return null;
    const children: ColumnWriter[] = [];
    for (let i = 0; i < type.children.length; i++) {
      if (!sameName(type.children[i].name, target.entryNames[i])) return null;
      const child = createColumnWriter(type.children[i], target.entryTypes[i]);
      if (child === null) return null;
      children.push(child);
    }
    return new StructWriter(children);
  },
  [DuckDBTypeId.UNION]: ({ type }, target) => {
    if (!DataType.isSparseUnion(type) || type.children.length !== target.memberCount) return null;
    const members: ColumnWriter[] = [];
    for (let i = 0; i < type.children.length; i++) {
      if (!sameName(type.children[i].name, target.memberTags[i])) return null;
      const member = createColumnWriter(type.children[i], target.memberTypes[i]);
      if (member === null) return null;
      members.push(member);
    }
    const codes = Array.from(type.typeIds);
    const memberForCode = new Int32Array(Math.max(...codes, 0) + 1).fill(-1);
    codes.forEach((code, member) => (memberForCode[code] = member));
    return new UnionWriter(memberForCode, members);
  },
  [DuckDBTypeId.SQLNULL]: none,
  [DuckDBTypeId.ANY]: none,
  [DuckDBTypeId.VARIANT]: none,
  [DuckDBTypeId.STRING_LITERAL]: none,
  [DuckDBTypeId.INTEGER_LITERAL]: none,
};

/** DuckDB matches column and field names without regard to case. */
export function sameName(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/**
 * The writer putting Arrow values of `field` directly into DuckDB vectors of type `target`, or
 * null when there is no direct path for that pair. An Arrow null column fits every target.
 */
export function createColumnWriter(field: Field, target: DuckDBType): ColumnWriter | null {
  if (DataType.isNull(field.type)) return new NullWriter();
  return (WRITERS[target.typeId] as AnyWriterFactory)(field, target);
}
