// The DuckDB Flight server: the Flight handlers over one DuckDB database.

import { readFileSync } from 'node:fs';
import type { ChannelOptions } from '@grpc/grpc-js';
import { FlightServer, type CallRecord, type FlightHandlers, type FlightServerOptions } from '../flight/index.ts';
import { doAction, listActions } from './actions.ts';
import type { ServerSettings, ServiceContext } from './context.ts';
import { Engine } from './engine.ts';
import { exchange, sqlExchanger } from './exchange.ts';
import { ExchangerRegistry } from './exchangers.ts';
import { silentLogger, type Logger } from './logger.ts';
import { descriptorSql, flightInfo, listFlights, pollFlightInfo, querySchema, decodeSql, runQuery } from './query.ts';
import { upload } from './upload.ts';
import { withFlightSql } from './flightsql/index.ts';
import { staticUsers } from '../flight/index.ts';

export const SERVER_VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface DuckDBFlightServerOptions {
  /** Database file, or ':memory:' (default). */
  dbPath?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  readOnly?: boolean;
  /** false: SQL cannot reach the server's files or network (DuckDB enable_external_access). */
  externalAccess?: boolean;
  /** Users for Basic-to-Bearer auth; auth is off when absent. */
  users?: ReadonlyMap<string, string>;
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer; requireClientCert?: boolean };
  batchRows?: number;
  maxMessageBytes?: number;
  logger?: Logger;
  duckdbSettings?: Record<string, string>;
  /** grpc-js channel options (keepalive, max_concurrent_streams, ...), over FlightServer's defaults. */
  grpcOptions?: ChannelOptions;
  /** What one client may hold of the server (FlightServer's defaults when absent). */
  limits?: Pick<FlightServerOptions, 'maxConcurrentStreams' | 'firstMessageTimeoutMs' | 'maxReadAheadBytes'>;
}

export function createHandlers(service: ServiceContext): FlightHandlers {
  // Flight SQL commands (Any-wrapped) go to the Flight SQL face; everything else to the plain one.
  return withFlightSql(service, createPlainHandlers(service)).handlers;
}

function createPlainHandlers(service: ServiceContext): FlightHandlers {
  return {
    doGet: (ticket, context) => runQuery(service, decodeSql(ticket, 'the ticket'), context),
    getFlightInfo: (descriptor) => flightInfo(service, descriptor),
    pollFlightInfo: (descriptor) => pollFlightInfo(service, descriptor),
    getSchema: (descriptor) => querySchema(service, descriptorSql(descriptor)),
    listFlights: (criteria) => listFlights(service, criteria),
    doPut: (reader, context) => upload(service, reader, context),
    doExchange: (reader, context) => exchange(service, reader, context),
    doAction: (action, context) => doAction(service, action, context),
    listActions: () => listActions(),
  };
}

export class DuckDBFlightServer {
  private constructor(
    readonly flight: FlightServer,
    readonly engine: Engine,
    readonly service: ServiceContext,
    readonly host: string,
    readonly port: number,
  ) {}

  get location(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `grpc${this.flight.usesTls ? '+tls' : ''}://${host}:${this.port}`;
  }

  static async start(options: DuckDBFlightServerOptions = {}): Promise<DuckDBFlightServer> {
    const logger = options.logger ?? silentLogger;
    const engine = await Engine.open({
      path: options.dbPath ?? ':memory:',
      readOnly: options.readOnly ?? false,
      externalAccess: options.externalAccess ?? true,
      settings: options.duckdbSettings ?? {},
    });
    const settings: ServerSettings = {
      batchRows: options.batchRows ?? 65_536,
      readOnly: options.readOnly ?? false,
      externalAccess: options.externalAccess ?? true,
      maxActionRows: 10_000,
    };
    const service: ServiceContext = {
      engine,
      logger,
      exchangers: new ExchangerRegistry(sqlExchanger),
      settings,
      startedAt: Date.now(),
      version: SERVER_VERSION,
    };
    const flight = new FlightServer(createHandlers(service), {
      maxMessageBytes: options.maxMessageBytes,
      grpcOptions: options.grpcOptions,
      ...options.limits,
      tls: options.tls,
      auth: options.users ? { validate: staticUsers(options.users) } : undefined,
      onCallEnd: (record: CallRecord) => {
        const fields = { method: record.method, peer: record.peer, identity: record.identity, code: record.code, ms: Math.round(record.milliseconds) };
        if (record.code === 0) logger.debug('call', fields);
        else logger.info('call failed', { ...fields, details: record.details });
      },
    });
    const host = options.host ?? 'localhost';
    try {
      const port = await flight.listen(host, options.port ?? 0);
      return new DuckDBFlightServer(flight, engine, service, host, port);
    } catch (error) {
      await engine.close();
      throw error;
    }
  }

  /** Finishes or cancels calls in progress (after `graceMs`), checkpoints and closes the database. */
  async close(graceMs = 10_000): Promise<void> {
    await this.flight.close(graceMs);
    await this.engine.close();
  }
}
