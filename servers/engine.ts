// The DuckDB side of the server: one DuckDBInstance, and a connection for every call (a
// DuckDB connection runs one query at a time and holds one transaction, so calls never share
// one). Idle connections are kept for reuse. The database and its connections are opened
// through node-bindings (shared-connection.ts), so the native addon can use them too.

import type duckdb from '@duckdb/node-bindings';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { connectShared, openSharedDatabase } from './bridge/shared-connection.ts';
import { lockConfiguration } from './sql-gate.ts';

export interface EngineOptions {
  /** A database file, or ':memory:'. */
  path: string;
  readOnly?: boolean;
  /**
   * false forbids SQL from touching the server's file system and network (DuckDB's
   * enable_external_access): for servers reachable beyond loopback.
   */
  externalAccess?: boolean;
  /** DuckDB settings applied at open (threads, memory_limit, ...). */
  settings?: Record<string, string>;
  /** Idle connections kept for reuse (default 8). */
  idleConnections?: number;
  /** DuckDB's TimeZone, the zone named on every TIMESTAMPTZ sent (default UTC, whatever the host's). */
  timezone?: string;
}

export class Engine {
  private readonly idle: DuckDBConnection[] = [];
  private closed = false;

  private constructor(
    readonly instance: DuckDBInstance,
    private readonly database: duckdb.Database,
    readonly options: EngineOptions,
  ) {}

  static async open(options: EngineOptions): Promise<Engine> {
    const settings: Record<string, string> = { ...options.settings };
    if (options.readOnly) settings['access_mode'] = 'READ_ONLY';
    if (options.externalAccess === false) settings['enable_external_access'] = 'false';
    const { instance, database } = await openSharedDatabase(options.path, settings);
    // DuckDB takes its TimeZone from the host (/etc/localtime: 'Etc/UTC' on these machines,
    // anything elsewhere), so a client that uploaded UTC timestamps got them back typed Etc/UTC.
    // It cannot go in the settings above: the setting belongs to the ICU extension, which loads
    // after they are applied. TIMESTAMPTZ holds an instant and no zone, so one zone for all is
    // what DuckDB allows; UTC is the one clients mostly send.
    const engine = new Engine(instance, database, options);
    await engine.withConnection(async (c) => {
      await c.run(`SET GLOBAL TimeZone = '${(options.timezone ?? 'UTC').replaceAll("'", "''")}'`);
      // After the TimeZone: once locked, not even the server may SET it.
      await lockConfiguration(c, { readOnly: options.readOnly ?? false, externalAccess: options.externalAccess ?? true });
    });
    return engine;
  }

  /** A connection for one call; give it back with `release` (or use `withConnection`). */
  async acquire(): Promise<DuckDBConnection> {
    if (this.closed) throw new Error('the database is closed');
    return this.idle.pop() ?? (await connectShared(this.database));
  }

  release(connection: DuckDBConnection, reusable = true): void {
    if (!this.closed && reusable && this.idle.length < (this.options.idleConnections ?? 8)) {
      this.idle.push(connection);
    } else {
      connection.closeSync();
    }
  }

  async withConnection<T>(work: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
    const connection = await this.acquire();
    let reusable = true;
    try {
      return await work(connection);
    } catch (error) {
      // A connection that failed mid-transaction is not trusted again.
      reusable = false;
      throw error;
    } finally {
      this.release(connection, reusable);
    }
  }

  /** Checkpoints (file databases) and closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.options.path !== ':memory:' && !this.options.readOnly) {
      await this.withConnection((c) => c.run('CHECKPOINT'));
    }
    this.closed = true;
    for (const c of this.idle.splice(0)) c.closeSync();
    this.instance.closeSync();
  }
}
