import type { DuckDBConnection } from '@duckdb/node-api';

// A DuckDB connection runs one query at a time, and starting a query ends the connection's
// open streaming result without an error: the old stream just stops early, its remaining rows
// silently lost. An explicit transaction is also per connection, so a query from another caller
// would land inside an upload's BEGIN ... COMMIT. The bridge therefore takes a connection for
// the whole life of a stream or an upload and refuses a second user instead of corrupting the
// first. The rule for servers: one connection per call, all sharing one DuckDBInstance.

const inUse = new WeakMap<DuckDBConnection, string>();

export interface ConnectionLease {
  release(): void;
}

/** Marks `connection` as busy with `what`; throws if another bridge operation holds it. */
export function leaseConnection(connection: DuckDBConnection, what: string): ConnectionLease {
  const holder = inUse.get(connection);
  if (holder !== undefined) {
    throw new Error(
      `bridge: this DuckDB connection is busy with ${holder}; use one connection per concurrent call ` +
        '(connections from one DuckDBInstance share its data)',
    );
  }
  inUse.set(connection, what);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      inUse.delete(connection);
    },
  };
}
