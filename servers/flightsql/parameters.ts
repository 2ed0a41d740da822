// Parameter sets for prepared statements: the Arrow batch a client binds (DoPut) becomes one
// DuckDB binding per row. Values go Arrow -> DuckDB vector through the bridge's column writers
// (the same conversions an upload gets, so every type the bridge imports binds), then out as
// DuckDB values for the prepared statement, each bound with its column's DuckDB type.

import duckdb from '@duckdb/node-bindings';
import { DuckDBDataChunk, DuckDBTypeId, type DuckDBPreparedStatement, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import { Field, Null, Schema, type RecordBatch } from 'apache-arrow';
import { FlightError } from '../../flight/index.ts';
import { duckdbTypeForField } from '../bridge/arrow-to-duckdb/duckdb-types.ts';
import { createColumnWriter } from '../bridge/arrow-to-duckdb/writers.ts';

/** Rows bound per chunk while converting (DuckDB's vector size). */
const CHUNK_ROWS = duckdb.vector_size();

/** What a client bound: a schema and its rows, in batches. */
export interface ParameterSets {
  readonly schema: Schema;
  readonly batches: readonly RecordBatch[];
}

export function parameterRowCount(sets: ParameterSets): number {
  return sets.batches.reduce((sum, b) => sum + b.numRows, 0);
}

/** DuckDB names positional parameters by number ("1", "2"); named ones ($name) by name. */
function isPositional(name: string): boolean {
  return /^\d+$/.test(name);
}

/**
 * The statement's parameters as an Arrow schema (the parameter_schema of
 * ActionCreatePreparedStatementResult): one field per parameter in order, named as DuckDB names
 * it, typed when DuckDB knows the type and Null (NA) when it does not yet.
 */
export function parameterSchema(prepared: DuckDBPreparedStatement, typeOf: (type: DuckDBType) => Field['type'] | null): Schema {
  const fields: Field[] = [];
  for (let i = 1; i <= prepared.parameterCount; i++) {
    const known = prepared.parameterTypeId(i) !== DuckDBTypeId.INVALID;
    const type = (known ? typeOf(prepared.parameterType(i)) : null) ?? new Null();
    fields.push(new Field(prepared.parameterName(i), type, true));
  }
  return new Schema(fields);
}

/**
 * One function per parameter set, binding it to `prepared`. With no sets bound, or a bound
 * schema of no fields, the statement runs once as it is (and must have no parameters).
 * Positional parameters take the batch's columns in order; named ones ($name) the column of
 * that name.
 */
export function parameterBindings(prepared: DuckDBPreparedStatement, sets: ParameterSets | null): (() => void)[] {
  const count = prepared.parameterCount;
  if (sets === null || sets.schema.fields.length === 0) {
    if (count > 0) {
      throw FlightError.invalidArgument(
        `the statement has ${count} parameter(s) and none were bound: DoPut the values on CommandPreparedStatementQuery first`,
      );
    }
    return [() => prepared.clearBindings()];
  }
  const fields = sets.schema.fields;
  const names = Array.from({ length: count }, (_, i) => prepared.parameterName(i + 1));
  let columnOf: number[];
  if (names.every(isPositional)) {
    if (fields.length !== count) {
      throw FlightError.invalidArgument(
        `the statement has ${count} parameter(s) but ${fields.length} were bound (${fields.map((f) => f.name).join(', ')})`,
      );
    }
    columnOf = names.map((_, i) => i);
  } else {
    columnOf = names.map((name) => {
      let index = fields.findIndex((f) => f.name === name);
      if (index < 0) index = fields.findIndex((f) => typeof f.name === 'string' && f.name.toLowerCase() === name.toLowerCase());
      if (index < 0) {
        throw FlightError.invalidArgument(
          `parameter $${name} has no bound column of that name (bound: ${fields.map((f) => f.name).join(', ')})`,
        );
      }
      return index;
    });
  }
  const types = fields.map((field) => {
    try {
      return duckdbTypeForField(field);
    } catch (error) {
      throw FlightError.invalidArgument(`parameter column "${field.name}": ${(error as Error).message.replace(/^bridge: /, '')}`, error);
    }
  });
  const writers = fields.map((field, i) => {
    const writer = createColumnWriter(field, types[i]!);
    if (!writer) throw FlightError.invalidArgument(`parameter column "${field.name}" of Arrow type ${String(field.type)} cannot be bound`);
    return writer;
  });
  const bindings: (() => void)[] = [];
  for (const batch of sets.batches) {
    const columns = batch.data.children;
    for (let start = 0; start < batch.numRows; start += CHUNK_ROWS) {
      const rows = Math.min(CHUNK_ROWS, batch.numRows - start);
      const chunk = DuckDBDataChunk.create(types);
      for (let c = 0; c < writers.length; c++) writers[c]!.write(duckdb.data_chunk_get_vector(chunk.chunk, c), columns[c]!, start, rows);
      chunk.rowCount = rows;
      for (const values of chunk.getRows()) bindings.push(bindRow(prepared, values, columnOf, types));
    }
  }
  return bindings;
}

function bindRow(prepared: DuckDBPreparedStatement, values: DuckDBValue[], columnOf: number[], types: DuckDBType[]): () => void {
  return () => {
    prepared.clearBindings();
    for (let p = 0; p < columnOf.length; p++) {
      const column = columnOf[p]!;
      // DuckDB's C API has only an untyped NULL: a null parameter lets DuckDB pick the type.
      const value = values[column] ?? null;
      if (value === null) prepared.bindNull(p + 1);
      else prepared.bindValue(p + 1, value, types[column]);
    }
  };
}
