// The DuckDB server's defaults beside the Flight layer's (flight/defaults.ts, re-exported here):
// the code, `duck-flight --help` and the README's limits table all take them from this module.
export * from '../flight/defaults.ts';

/** Header by which a DoPut asks to replace the table (`replace`) instead of appending to it. */
export const PUT_MODE_HEADER = 'x-duck-flight-put-mode';

/** `duck-flight --host`. */
export const DEFAULT_HOST = 'localhost';
/** `duck-flight --port` (0 picks a free one). */
export const DEFAULT_PORT = 8815;
/** `duck-flight --db-path`. */
export const DEFAULT_DB_PATH = 'duck_flight.db';
/** Rows per Arrow record batch the server sends (`--batch-rows`, `batchRows`). */
export const DEFAULT_BATCH_ROWS = 65_536;
/** SQL text in a ticket or a command. */
export const MAX_SQL_BYTES = 1024 * 1024;
/** Rows the `query` action returns inline; DoGet beyond. */
export const MAX_ACTION_ROWS = 10_000;
/** Flight SQL prepared statements open at once. */
export const MAX_PREPARED_STATEMENTS = 10_000;
/** Flight SQL prepared statements idle this long are closed. */
export const PREPARED_STATEMENT_IDLE_MS = 30 * 60_000;
/** How long calls in progress may finish on SIGINT/SIGTERM before they are cancelled. */
export const SHUTDOWN_GRACE_MS = 10_000;
