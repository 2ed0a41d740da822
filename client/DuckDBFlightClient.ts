// DuckDBFlightClient: the client of the DuckDB Flight server, on the generic FlightClient.

import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordBatch, Table } from 'apache-arrow';
import { PUT_MODE_HEADER } from '../servers/settings.ts';
import {
  FlightClient,
  FlightDescriptor,
  FlightError,
  type CallOptions,
  type FlightCallReader,
  type FlightClientOptions,
  type FlightOutputItem,
} from '../flight/index.ts';

const text = new TextDecoder();

export interface DuckDBFlightClientOptions {
  host?: string;
  port?: number;
  /** A full location (grpc://host:port or grpc+tls://host:port); overrides host and port. */
  location?: string;
  /** Connection attempts before `connect` gives up (default 5), with growing delays between them. */
  maxAttempts?: number;
  /** First delay between attempts in ms (default 200; doubles each time). */
  retryDelayMs?: number;
  /** Basic credentials, exchanged for a bearer token on connect. */
  username?: string;
  password?: string;
  token?: string;
  tls?: FlightClientOptions['tls'];
  flight?: Omit<FlightClientOptions, 'tls' | 'token'>;
}

export interface UploadResult {
  table: string;
  rows: number;
  created: boolean;
}

export interface UploadOptions extends CallOptions {
  /** append (default): create the table if missing, else append; replace: drop and recreate, atomically. */
  mode?: 'append' | 'replace';
}

export type TransferMode = 'client' | 'direct';

/**
 * A client of `duck-flight`.
 *
 * ```ts
 * const client = await DuckDBFlightClient.connect({ host: 'localhost', port: 8815 });
 * await client.uploadData('users', tableFromArrays({ id: Int32Array.of(1, 2) }));
 * const table = await client.executeQuery('SELECT count(*) FROM users');
 * client.close();
 * ```
 */
export class DuckDBFlightClient {
  readonly flight: FlightClient;
  readonly location: string;

  constructor(private readonly options: DuckDBFlightClientOptions = {}) {
    this.location = options.location ?? `grpc://${options.host ?? 'localhost'}:${options.port ?? 8815}`;
    this.flight = new FlightClient(this.location, { ...options.flight, tls: options.tls, token: options.token });
  }

  /** Creates a client and connects it (with retries). */
  static async connect(options: DuckDBFlightClientOptions = {}): Promise<DuckDBFlightClient> {
    const client = new DuckDBFlightClient(options);
    try {
      await client.connect();
      return client;
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** Waits for the server, retrying up to maxAttempts times, then authenticates if credentials were given. */
  async connect(): Promise<void> {
    const attempts = this.options.maxAttempts ?? 5;
    let delay = this.options.retryDelayMs ?? 200;
    let last: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await this.flight.waitForReady(Math.max(delay, 1000));
        last = undefined;
        break;
      } catch (error) {
        last = error;
        if (attempt < attempts) await sleep(delay);
        delay *= 2;
      }
    }
    if (last !== undefined) {
      throw FlightError.unavailable(`could not reach ${this.location} after ${attempts} attempt(s): ${(last as Error).message}`, last);
    }
    if (this.options.username !== undefined) {
      await this.flight.authenticateBasicToken(this.options.username, this.options.password ?? '');
    }
  }

  /** Runs SQL and returns the whole result. */
  async executeQuery(sql: string, options?: CallOptions): Promise<Table> {
    return this.flight.doGet(sql, options).readAll();
  }

  /** Runs SQL and streams the result batch by batch. */
  streamQuery(sql: string, options?: CallOptions): FlightCallReader {
    return this.flight.doGet(sql, options);
  }

  /** Uploads a Table or any (async) iterable of batches into `table`, all or nothing. */
  async uploadData(
    table: string,
    data: Table | AsyncIterable<RecordBatch> | Iterable<RecordBatch> | AsyncIterable<FlightOutputItem>,
    options: UploadOptions = {},
  ): Promise<UploadResult> {
    const headers = { ...options.headers, ...(options.mode === 'replace' ? { [PUT_MODE_HEADER]: 'replace' } : {}) };
    const results = await this.flight.doPut(FlightDescriptor.path(table), data as Table, { ...options, headers });
    const last = results.at(-1);
    if (!last) throw FlightError.internal(`the server answered the upload into ${table} with no result`);
    return JSON.parse(text.decode(last)) as UploadResult;
  }

  /**
   * Runs an action; returns each result parsed as JSON (or as text when it is not JSON).
   * `body` may be a string, bytes, or an object (sent as JSON).
   */
  async executeAction(type: string, body?: string | Uint8Array | object, options?: CallOptions): Promise<unknown[]> {
    const payload = body === undefined ? undefined : typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    const results: unknown[] = [];
    for await (const result of this.flight.doAction(type, payload, options)) {
      const s = text.decode(result);
      try {
        results.push(JSON.parse(s));
      } catch {
        results.push(s);
      }
    }
    return results;
  }

  /** Streams batches through the server's exchanger `command` and returns its output as it comes. */
  exchange(
    command: string,
    batches: Table | AsyncIterable<FlightOutputItem> | Iterable<FlightOutputItem>,
    options?: CallOptions,
  ): FlightCallReader {
    return this.flight.exchange(FlightDescriptor.command(command), batches, options);
  }

  /**
   * Moves a query's result from this server into a table on `target`. 'client' pipes DoGet
   * here into DoPut there batch by batch (never whole); 'direct' asks the target to pull from
   * this server itself, with no client in the data path.
   */
  async transfer(
    target: DuckDBFlightClient,
    query: string,
    table: string,
    mode: TransferMode = 'client',
    options?: CallOptions,
  ): Promise<UploadResult> {
    if (mode === 'client') {
      const reader = this.streamQuery(query, options);
      // The batches go on as they came, not decoded here and encoded again: the target checks them.
      async function* passOn(): AsyncGenerator<FlightOutputItem> {
        const schema = await reader.schema();
        if (schema) yield schema;
        yield* reader.encoded();
      }
      return target.uploadData(table, passOn(), { ...options, mode: 'replace' });
    }
    const [result] = (await target.executeAction(
      'transfer',
      { source: this.location, query, table, mode: 'replace', ...(this.flight.token ? { token: this.flight.token } : {}) },
      options,
    )) as {
      table: string;
      rows: number;
    }[];
    return { table: result!.table, rows: result!.rows, created: true };
  }

  async listTables(options?: CallOptions): Promise<{ database: string; schema: string; name: string; rows: number }[]> {
    return (await this.executeAction('list_tables', undefined, options))[0] as never;
  }

  async dropTable(table: string, options?: CallOptions): Promise<void> {
    await this.executeAction('drop_table', table, options);
  }

  close(): void {
    this.flight.close();
  }
}
