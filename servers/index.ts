// duck-takes-flight/duckdb: a DuckDB database served over Arrow Flight, its client, and the
// DuckDB <-> Arrow bridge the server is built on.
export { DuckDBFlightServer, SERVER_VERSION, type DuckDBFlightServerOptions } from './duckdb-flight-server.ts';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logger.ts';
export {
  DuckDBFlightClient,
  type DuckDBFlightClientOptions,
  type UploadResult,
  type UploadOptions,
  type TransferMode,
} from '../client/index.ts';
export * from './bridge/index.ts';
