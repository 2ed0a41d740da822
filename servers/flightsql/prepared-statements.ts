// Prepared statements by handle. An entry keeps the SQL, the transaction it belongs to, what
// preparing it told us (result and parameter schemas) and the last parameter sets bound with
// DoPut. DuckDB prepares it again on the connection that runs it, so no connection is held
// between calls; entries idle past the timeout are dropped.

import { randomBytes } from 'node:crypto';
import type { Schema } from 'apache-arrow';
import { MAX_PREPARED_STATEMENTS, PREPARED_STATEMENT_IDLE_MS } from '../settings.ts';
import { FlightError } from '../../flight/index.ts';
import type { ParameterSets } from './parameters.ts';

export interface PreparedStatement {
  readonly handle: Uint8Array;
  readonly key: string;
  readonly sql: string;
  readonly transactionId: Uint8Array | undefined;
  readonly identity: string | undefined;
  /** More than one statement: run as a script, without parameters. */
  readonly script: boolean;
  /** Whether the statement returns rows (false: it runs when GetFlightInfo asks). */
  readonly returnsRows: boolean;
  readonly parameterCount: number;
  /** The result schema as far as preparing could tell; null when it depends on parameters. */
  readonly datasetSchema: Schema | null;
  readonly parameterSchema: Schema;
  parameters: ParameterSets | null;
  lastUsed: number;
}

export interface PreparedStatementOptions {
  /** A statement unused this long is closed (default 30 min). */
  idleTimeoutMs?: number;
  /** Open statements at most (default 10,000). */
  maxStatements?: number;
}

export class PreparedStatements {
  private readonly open = new Map<string, PreparedStatement>();
  readonly idleTimeoutMs: number;
  private readonly maxStatements: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(options: PreparedStatementOptions = {}) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? PREPARED_STATEMENT_IDLE_MS;
    this.maxStatements = options.maxStatements ?? MAX_PREPARED_STATEMENTS;
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, this.idleTimeoutMs)).unref();
  }

  add(entry: Omit<PreparedStatement, 'handle' | 'key' | 'parameters' | 'lastUsed'>): PreparedStatement {
    if (this.open.size >= this.maxStatements) {
      throw new FlightError(
        'resource-exhausted',
        `${this.open.size} prepared statements are open, the most this server holds; close some first`,
      );
    }
    const handle = randomBytes(16);
    const statement: PreparedStatement = { ...entry, handle, key: handle.toString('hex'), parameters: null, lastUsed: Date.now() };
    this.open.set(statement.key, statement);
    return statement;
  }

  /** The statement `handle` names, for the caller that prepared it; NOT_FOUND otherwise. */
  get(handle: Uint8Array, identity: string | undefined): PreparedStatement {
    const key = Buffer.from(handle).toString('hex');
    const statement = this.open.get(key);
    if (!statement || statement.identity !== identity) {
      throw FlightError.notFound(`no prepared statement ${key || '(empty handle)'}: it was closed, timed out, or never prepared here`);
    }
    statement.lastUsed = Date.now();
    return statement;
  }

  close(handle: Uint8Array, identity: string | undefined): void {
    const statement = this.get(handle, identity);
    this.open.delete(statement.key);
  }

  sweep(now = Date.now()): void {
    for (const [key, statement] of this.open) if (now - statement.lastUsed >= this.idleTimeoutMs) this.open.delete(key);
  }

  dispose(): void {
    clearInterval(this.sweeper);
    this.open.clear();
  }

  get size(): number {
    return this.open.size;
  }
}
