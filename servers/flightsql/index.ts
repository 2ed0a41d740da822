// Arrow Flight SQL on the DuckDB server: the same port, auth and engine as the plain face.
export { withFlightSql } from './router.ts';
export { FlightSqlServer, isFlightSqlAction, type FlightSqlOptions } from './flight-sql-server.ts';
export * as FlightSql from './messages.ts';
export { SqlInfo } from './sql-info.ts';
