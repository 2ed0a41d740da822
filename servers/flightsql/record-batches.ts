// Small in-memory result sets (metadata answers) as record batches of an exact schema.

import { makeData, RecordBatch, Struct, vectorFromArray, type Data, type DataType, type Schema } from 'apache-arrow';

/** One column's data from JS values (null for nulls), typed as `type`. */
export function columnData<T extends DataType>(type: T, values: readonly unknown[]): Data<T> {
  const vector = vectorFromArray(values as never[], type);
  if (vector.data.length !== 1) throw new Error(`expected one chunk building a ${String(type)} column, got ${vector.data.length}`);
  return vector.data[0] as Data<T>;
}

/** A batch of `schema` from its columns' values, in schema order. */
export function batchOf(schema: Schema, columns: readonly (readonly unknown[])[]): RecordBatch {
  if (columns.length !== schema.fields.length) {
    throw new Error(`batchOf: ${columns.length} columns for a schema of ${schema.fields.length} fields`);
  }
  const length = columns[0]?.length ?? 0;
  const children = schema.fields.map((field, i) => {
    const values = columns[i]!;
    if (values.length !== length) throw new Error(`batchOf: column ${field.name} has ${values.length} values, expected ${length}`);
    if (!field.nullable && values.some((v) => v === null || v === undefined)) {
      throw new Error(`batchOf: column ${field.name} is not nullable but has a null`);
    }
    return columnData(field.type, values);
  });
  return batchFromData(schema, children, length);
}

export function batchFromData(schema: Schema, children: Data[], length: number): RecordBatch {
  const data = makeData({ type: new Struct(schema.fields), length, nullCount: 0, children });
  return new RecordBatch(schema, data);
}

/** Rows (objects keyed by field name) as columns in schema order. */
export function rowsToColumns(schema: Schema, rows: readonly Record<string, unknown>[]): unknown[][] {
  return schema.fields.map((field) => rows.map((row) => row[field.name] ?? null));
}
