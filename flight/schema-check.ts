// The parameters of each type in a received schema, checked against what the Arrow format
// allows. arrow-js builds whatever a flatbuffer states (an Int of bit width 1, a Time of 16 bits,
// a map without a key) and only fails later, deep in whoever reads the column; here such a
// schema is refused where it arrives, naming the column and what is wrong with it.

import { DataType, type Field, type Schema } from 'apache-arrow';
import { FlightError } from './error.ts';

const INT_WIDTHS = new Set([8, 16, 32, 64]);
/** Decimal width in bits -> the most digits it holds. */
const DECIMAL_DIGITS = new Map([
  [32, 9],
  [64, 18],
  [128, 38],
  [256, 76],
]);

/**
 * Throws INVALID_ARGUMENT naming the first field whose type the Arrow format does not allow.
 * Schema.fbs lets a field go unnamed; whoever needs names (the DuckDB server) checks for them.
 */
export function checkSchemaTypes(schema: Schema, where: string): void {
  schema.fields.forEach((field, i) => checkField(field, typeof field.name === 'string' ? field.name : `#${i + 1}`, where, 0));
}

function checkField(field: Field, path: string, where: string, depth: number): void {
  const fail = (what: string): never => {
    throw FlightError.invalidArgument(`${where}: column "${path}" has an invalid type (${what})`);
  };
  if (depth > 64) fail('nested more than 64 levels deep');
  const type: DataType | undefined = field.type;
  if (type === undefined || type === null) fail('no type');
  const t = type as DataType;
  // arrow-js makes a list of a flatbuffer with no child field a list of `undefined`.
  const children = (t.children ?? []).filter((child): child is Field => child != null);
  const childCount = (n: number) => {
    if (children.length !== n) fail(`${DataType.prototype.toString.call(t) || 'type'} needs ${n} child field(s), has ${children.length}`);
  };
  if (DataType.isInt(t)) {
    if (!INT_WIDTHS.has(t.bitWidth)) fail(`integer of ${t.bitWidth} bits`);
  } else if (DataType.isFloat(t)) {
    if (!(t.precision >= 0 && t.precision <= 2)) fail(`floating point precision ${t.precision}`);
  } else if (DataType.isDecimal(t)) {
    const digits = DECIMAL_DIGITS.get(t.bitWidth);
    if (digits === undefined) fail(`decimal of ${t.bitWidth} bits`);
    if (!(t.precision >= 1 && t.precision <= digits!)) fail(`decimal precision ${t.precision} in ${t.bitWidth} bits`);
  } else if (DataType.isDate(t)) {
    if (t.unit !== 0 && t.unit !== 1) fail(`date unit ${t.unit}`);
  } else if (DataType.isTime(t)) {
    if (!(t.unit >= 0 && t.unit <= 3)) fail(`time unit ${t.unit}`);
    const bits = t.unit <= 1 ? 32 : 64;
    if (t.bitWidth !== bits) fail(`time of ${t.bitWidth} bits in unit ${t.unit} (must be ${bits})`);
  } else if (DataType.isTimestamp(t) || DataType.isDuration(t)) {
    if (!(t.unit >= 0 && t.unit <= 3)) fail(`time unit ${t.unit}`);
  } else if (DataType.isInterval(t)) {
    if (!(t.unit >= 0 && t.unit <= 2)) fail(`interval unit ${t.unit}`);
  } else if (DataType.isFixedSizeBinary(t)) {
    if (!(Number.isInteger(t.byteWidth) && t.byteWidth >= 0)) fail(`fixed-size binary of ${t.byteWidth} bytes`);
  } else if (DataType.isList(t) || DataType.isLargeList(t)) {
    childCount(1);
  } else if (DataType.isFixedSizeList(t)) {
    childCount(1);
    if (!(Number.isInteger(t.listSize) && t.listSize >= 0)) fail(`fixed-size list of ${t.listSize} values`);
  } else if (DataType.isMap(t)) {
    childCount(1);
    const entries = children[0]!.type;
    if (!DataType.isStruct(entries) || entries.children.length !== 2) fail('map entries must be a struct of key and value');
  } else if (DataType.isUnion(t)) {
    const ids = t.typeIds ?? [];
    if (ids.length !== children.length) fail(`union of ${children.length} children with ${ids.length} type ids`);
    if (new Set(ids).size !== ids.length) fail('union type ids repeat');
    for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id <= 127)) fail(`union type id ${id}`);
  } else if (DataType.isDictionary(t)) {
    const indices = t.indices;
    if (!DataType.isInt(indices) || !INT_WIDTHS.has(indices.bitWidth)) fail('dictionary indices must be integers');
    checkField(field.clone({ type: t.dictionary }), path, where, depth + 1);
  }
  // Schema.fbs lets any child go unnamed; a server that needs names (the DuckDB server's STRUCT
  // fields and UNION tags) checks them itself.
  children.forEach((child, i) => checkField(child, `${path}.${child.name ?? i + 1}`, where, depth + 1));
}
