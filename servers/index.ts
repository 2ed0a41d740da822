// The DuckDB Flight server and the DuckDB <-> Arrow bridge it is built on (the package's
// `duck-takes-flight/duckdb` entry point, duckdb.ts, adds the client).
export { DuckDBFlightServer, SERVER_VERSION, type DuckDBFlightServerOptions } from './duckdb-flight-server.ts';
export { createLogger, silentLogger, type Logger, type LogLevel } from './logger.ts';
export * from './bridge/index.ts';
