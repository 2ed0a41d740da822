// Connections that both @duckdb/node-api and the native addon use. node-api keeps the
// node-bindings handles in private fields; so the engine opens the database and its connections
// through node-bindings itself, wraps them (`new DuckDBInstance(db)`, `new DuckDBConnection(c)`:
// their public constructors) and keeps the bindings-level handle beside each wrapper here.

import duckdb from '@duckdb/node-bindings';
import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

const handles = new WeakMap<DuckDBConnection, duckdb.Connection>();

export interface SharedDatabase {
  instance: DuckDBInstance;
  database: duckdb.Database;
}

/** Opens `path` as DuckDBInstance.create does (same config, `duckdb_api` included), keeping the handle. */
export async function openSharedDatabase(path: string, settings: Record<string, string> = {}): Promise<SharedDatabase> {
  const config = duckdb.create_config();
  duckdb.set_config(config, 'duckdb_api', 'node-neo-api');
  for (const [name, value] of Object.entries(settings)) duckdb.set_config(config, name, value);
  const database = await duckdb.open(path, config);
  return { instance: new DuckDBInstance(database), database };
}

/** A node-api connection whose node-bindings handle `connectionHandle` can give to the addon. */
export async function connectShared(database: duckdb.Database): Promise<DuckDBConnection> {
  const handle = await duckdb.connect(database);
  const connection = new DuckDBConnection(handle);
  handles.set(connection, handle);
  return connection;
}

/** The node-bindings handle of a connection made by connectShared; undefined for any other. */
export function connectionHandle(connection: DuckDBConnection): duckdb.Connection | undefined {
  return handles.get(connection);
}
