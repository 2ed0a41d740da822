// The DuckDB <-> Arrow bridge: DuckDB results as Arrow record batches, and Arrow record batches
// into DuckDB tables, both through DuckDB's raw vector memory.
export {
  streamQuery,
  streamPrepared,
  streamResult,
  describePrepared,
  arrowSchemaOf,
  columnsOf,
  readTimezone,
  DEFAULT_BATCH_ROWS,
  type ArrowQueryStream,
  type QueryStreamOptions,
} from './export.ts';
export { appendBatches, duckdbColumnTypeSql, type AppendOptions, type AppendResult } from './import.ts';
export { quoteIdentifier } from './sql.ts';
