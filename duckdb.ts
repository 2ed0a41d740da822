// duck-takes-flight/duckdb: a DuckDB database served over Arrow Flight, its client, and the
// DuckDB <-> Arrow bridge the server is built on. The server and the client stand apart (neither
// imports the other); this entry point is where they meet.
export * from './servers/index.ts';
export {
  DuckDBFlightClient,
  type DuckDBFlightClientOptions,
  type UploadResult,
  type UploadOptions,
  type TransferMode,
} from './client/index.ts';
