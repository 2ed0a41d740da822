// Flight SQL transactions: BeginTransaction gives a DuckDB connection of its own, held with an
// open BEGIN until EndTransaction (or the idle timeout) ends it. Everything that carries the
// transaction id runs on that connection, one call at a time: a DuckDB connection runs one
// query at a time, and a second query would silently end a result still being streamed.

import { randomBytes } from 'node:crypto';
import type { DuckDBConnection } from '@duckdb/node-api';
import { FlightError } from '../../flight/index.ts';
import type { Engine } from '../engine.ts';
import { fromDuckDBError } from '../errors.ts';

export interface TransactionOptions {
  /** A transaction unused for this long is rolled back and its connection freed (default 10 min). */
  idleTimeoutMs?: number;
  /** How long a call waits for a transaction busy with another call (default 60 s). */
  busyWaitMs?: number;
  /** Open transactions at most (default 256): each holds a DuckDB connection. */
  maxTransactions?: number;
}

/** A hold on a transaction's connection; `release()` lets the next call in. */
export interface TransactionLease {
  readonly connection: DuckDBConnection;
  readonly transaction: Transaction;
  release(): void;
}

export class Transaction {
  /** Set once something went wrong that DuckDB may have half-applied: only ROLLBACK is left. */
  abortedBy: string | null = null;
  lastUsed = Date.now();
  active = 0;
  /** Set when the connection was left in a state not fit for the pool (its schema changed, say). */
  retire = false;
  ended = false;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly id: Uint8Array,
    readonly key: string,
    readonly identity: string | undefined,
    /** The client connection (gRPC peer) that began it. */
    readonly peer: string,
    readonly connection: DuckDBConnection,
  ) {}

  /** Waits for the calls ahead of this one; rejects on abort or after `waitMs`. */
  async lock(signal: AbortSignal, waitMs: number): Promise<() => void> {
    const previous = this.tail;
    let unlock!: () => void;
    const mine = new Promise<void>((resolve) => (unlock = resolve));
    this.tail = previous.then(() => mine);
    this.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
      this.lastUsed = Date.now();
      unlock();
    };
    try {
      await waitFor(previous, signal, waitMs, () =>
        FlightError.unavailable(
          `transaction ${this.key} is busy with another call for more than ${Math.round(waitMs / 1000)} s ` +
            '(a result of it still being read?); its statements run one at a time',
        ),
      );
    } catch (error) {
      release();
      throw error;
    }
    return release;
  }
}

/** Resolves with `promise`, or rejects on abort or timeout (the promise itself keeps running). */
async function waitFor(promise: Promise<void>, signal: AbortSignal, ms: number, timeoutError: () => Error): Promise<void> {
  signal.throwIfAborted();
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  try {
    await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(timeoutError()), ms);
        onAbort = () => reject(signal.reason ?? FlightError.cancelled('the call was cancelled'));
        signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** What is remembered of an ended transaction: who ended it, and the one its client began next. */
interface Ended {
  identity: string | undefined;
  peer: string;
  successor: string | null;
}

/** Ended transactions remembered for prepared statements that outlive them. */
const REMEMBERED_ENDED = 8192;

export class TransactionRegistry {
  private readonly open = new Map<string, Transaction>();
  private readonly ended = new Map<string, Ended>();
  /** The transaction each client connection (identity and peer) began last. */
  private readonly lastBegun = new Map<string, string>();
  private readonly idleTimeoutMs: number;
  readonly busyWaitMs: number;
  private readonly maxTransactions: number;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly engine: Engine,
    options: TransactionOptions = {},
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10 * 60_000;
    this.busyWaitMs = options.busyWaitMs ?? 60_000;
    this.maxTransactions = options.maxTransactions ?? 256;
    this.sweeper = setInterval(() => void this.sweep(), Math.min(30_000, this.idleTimeoutMs)).unref();
  }

  get timeoutMs(): number {
    return this.idleTimeoutMs;
  }

  get size(): number {
    return this.open.size;
  }

  async begin(identity: string | undefined, peer: string): Promise<Transaction> {
    if (this.open.size >= this.maxTransactions) {
      throw new FlightError('resource-exhausted', `${this.open.size} transactions are open, the most this server holds; end some first`);
    }
    const connection = await this.engine.acquire();
    try {
      await connection.run('BEGIN TRANSACTION');
    } catch (error) {
      this.engine.release(connection, false);
      throw fromDuckDBError(error, 'BeginTransaction');
    }
    const id = randomBytes(16);
    const transaction = new Transaction(id, id.toString('hex'), identity, peer, connection);
    this.open.set(transaction.key, transaction);
    const client = clientKey(identity, peer);
    const previous = this.lastBegun.get(client);
    const ended = previous === undefined ? undefined : this.ended.get(previous);
    if (ended && ended.successor === null) ended.successor = transaction.key;
    this.lastBegun.delete(client);
    this.lastBegun.set(client, transaction.key);
    if (this.lastBegun.size > REMEMBERED_ENDED) this.lastBegun.delete(this.lastBegun.keys().next().value as string);
    return transaction;
  }

  /**
   * The transaction a prepared statement made in transaction `id` runs in now. ADBC-style
   * clients end a transaction and at once begin the next on the same connection, and go on
   * executing the statements they prepared before: those run in the transaction that client
   * connection began next (followed along the chain), or in autocommit (undefined) when it
   * began none (it switched autocommit back on). An open transaction is itself.
   *
   * Flight SQL has no session id, so "client connection" is the caller's identity and gRPC peer
   * (its TCP connection). That is exact for clients with a channel per connection, as the ADBC
   * Go driver has; a client multiplexing several connections, each with autocommit off, over
   * one channel could see a reused statement follow a sibling connection's transaction.
   */
  current(id: Uint8Array, identity: string | undefined): Uint8Array | undefined {
    let key = Buffer.from(id).toString('hex');
    for (;;) {
      const open = this.open.get(key);
      if (open) {
        if (open.identity !== identity) break;
        return open.id;
      }
      const ended = this.ended.get(key);
      if (!ended || ended.identity !== identity) break;
      if (ended.successor === null) return undefined;
      key = ended.successor;
    }
    throw FlightError.notFound(
      `no open transaction ${Buffer.from(id).toString('hex') || '(empty id)'}: it was ended, timed out, or never begun`,
    );
  }

  private retire(transaction: Transaction): void {
    transaction.ended = true;
    this.open.delete(transaction.key);
    this.ended.set(transaction.key, { identity: transaction.identity, peer: transaction.peer, successor: null });
    if (this.ended.size > REMEMBERED_ENDED) this.ended.delete(this.ended.keys().next().value as string);
  }

  /** The transaction `id` names, for the caller that began it; NOT_FOUND otherwise. */
  get(id: Uint8Array, identity: string | undefined): Transaction {
    const key = Buffer.from(id).toString('hex');
    const transaction = this.open.get(key);
    // Someone else's transaction answers as an unknown one: ids are not to be probed.
    if (!transaction || transaction.identity !== identity) {
      throw FlightError.notFound(`no open transaction ${key || '(empty id)'}: it was ended, timed out, or never begun`);
    }
    return transaction;
  }

  /** Holds the transaction's connection for one call; fails if an earlier error aborted it. */
  async lease(id: Uint8Array, identity: string | undefined, signal: AbortSignal): Promise<TransactionLease> {
    const transaction = this.get(id, identity);
    const release = await transaction.lock(signal, this.busyWaitMs);
    if (transaction.ended || transaction.abortedBy !== null) {
      release();
      if (transaction.ended) throw FlightError.notFound(`transaction ${transaction.key} has ended`);
      throw new FlightError(
        'failed-precondition',
        `transaction ${transaction.key} was aborted (${transaction.abortedBy}); end it with a rollback`,
      );
    }
    return { connection: transaction.connection, transaction, release };
  }

  /** Commits or rolls back; the transaction is over either way, and its connection freed. */
  async end(id: Uint8Array, identity: string | undefined, commit: boolean, signal: AbortSignal): Promise<void> {
    const transaction = this.get(id, identity);
    const release = await transaction.lock(signal, this.busyWaitMs);
    if (transaction.ended) {
      release();
      throw FlightError.notFound(`transaction ${transaction.key} has ended`);
    }
    this.retire(transaction);
    let clean = false;
    try {
      if (commit && transaction.abortedBy !== null) {
        await transaction.connection.run('ROLLBACK').catch(() => undefined);
        clean = true;
        throw new FlightError(
          'failed-precondition',
          `transaction ${transaction.key} was aborted (${transaction.abortedBy}) and cannot commit; it was rolled back`,
        );
      }
      if (commit) await commitChecked(transaction);
      else await transaction.connection.run('ROLLBACK');
      clean = true;
    } catch (error) {
      throw fromDuckDBError(error, commit ? 'COMMIT' : 'ROLLBACK');
    } finally {
      release();
      this.engine.release(transaction.connection, clean && !transaction.retire);
    }
  }

  /** Rolls back transactions idle past the timeout. */
  async sweep(now = Date.now()): Promise<void> {
    for (const transaction of [...this.open.values()]) {
      if (transaction.active > 0 || now - transaction.lastUsed < this.idleTimeoutMs) continue;
      this.retire(transaction);
      const ok = await transaction.connection.run('ROLLBACK').then(
        () => true,
        () => false,
      );
      this.engine.release(transaction.connection, ok && !transaction.retire);
    }
  }

  /** Rolls back every open transaction (server shutdown). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.sweep(Number.POSITIVE_INFINITY);
  }
}

function clientKey(identity: string | undefined, peer: string): string {
  return `${identity ?? ''}\u0000${peer}`;
}

/**
 * DuckDB answers COMMIT on a transaction an earlier statement aborted by rolling back without a
 * word; probing first turns that into an error the client sees.
 */
async function commitChecked(transaction: Transaction): Promise<void> {
  try {
    await transaction.connection.run('SELECT 1');
  } catch (error) {
    await transaction.connection.run('ROLLBACK').catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new FlightError('failed-precondition', `the transaction cannot commit and was rolled back: ${reason}`, { cause: error });
  }
  await transaction.connection.run('COMMIT');
}
