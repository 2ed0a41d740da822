// duck-takes-flight/duckdb: a DuckDB database served over Arrow Flight, its client, and the
// DuckDB <-> Arrow bridge the server is built on. The server does not import its client (the
// client reads only the server's settings, such as its put-mode header); this entry point is
// where the two meet.
export * from './servers/index.ts';
export * from './client/index.ts';
