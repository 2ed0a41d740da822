// Where a Flight SQL call runs: on its transaction's connection when it carries a transaction
// id, otherwise on a connection of the engine's pool (autocommit). Either way the call holds
// the connection alone until it releases it.

import type { DuckDBConnection } from '@duckdb/node-api';
import type { CallContext } from '../../flight/index.ts';
import type { Engine } from '../engine.ts';
import type { Transaction, TransactionRegistry } from './transactions.ts';

export interface Session {
  readonly connection: DuckDBConnection;
  /** The client's transaction, or null in autocommit. */
  readonly transaction: Transaction | null;
  /** Gives the connection back; `healthy: false` retires a pool connection after a failure. */
  release(healthy: boolean): void;
}

export class Sessions {
  constructor(
    private readonly engine: Engine,
    private readonly transactions: TransactionRegistry,
  ) {}

  async open(transactionId: Uint8Array | undefined, context: CallContext): Promise<Session> {
    if (transactionId !== undefined) {
      const lease = await this.transactions.lease(transactionId, context.identity, context.signal);
      return { connection: lease.connection, transaction: lease.transaction, release: () => lease.release() };
    }
    const connection = await this.engine.acquire();
    let released = false;
    return {
      connection,
      transaction: null,
      release: (healthy) => {
        if (released) return;
        released = true;
        this.engine.release(connection, healthy);
      },
    };
  }

  /** Runs `work` in a session and releases it, retiring a pool connection `work` failed on. */
  async run<T>(transactionId: Uint8Array | undefined, context: CallContext, work: (session: Session) => Promise<T>): Promise<T> {
    const session = await this.open(transactionId, context);
    let healthy = false;
    try {
      const result = await work(session);
      healthy = true;
      return result;
    } finally {
      session.release(healthy);
    }
  }
}

/** Runs `work`, interrupting the connection's query if `signal` aborts meanwhile. */
export async function interruptible<T>(connection: DuckDBConnection, signal: AbortSignal, work: () => Promise<T>): Promise<T> {
  signal.throwIfAborted();
  const onAbort = () => connection.interrupt();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await work();
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
