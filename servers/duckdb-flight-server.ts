// The DuckDB Flight server: the Flight handlers over one DuckDB database.

import { existsSync, readFileSync } from 'node:fs';
import type { ChannelOptions } from '@grpc/grpc-js';
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  FlightServer,
  type CallRecord,
  type FlightHandlers,
  type FlightServerOptions,
} from '../flight/index.ts';
import { doAction, listActions } from './actions.ts';
import type { ServerSettings, ServiceContext } from './context.ts';
import { Engine } from './engine.ts';
import { exchange, sqlExchanger } from './exchange.ts';
import { ExchangerRegistry } from './exchangers.ts';
import { silentLogger, type Logger } from './logger.ts';
import type { MetricsOptions, ServerMetrics } from './metrics.ts';
import { descriptorSql, flightInfo, listFlights, pollFlightInfo, querySchema, decodeSql, runQuery } from './query.ts';
import { upload } from './upload.ts';
import { DEFAULT_BATCH_ROWS, MAX_ACTION_ROWS, SHUTDOWN_GRACE_MS } from './settings.ts';
import { withFlightSql } from './flightsql/index.ts';
import { staticUsers } from '../flight/index.ts';
import { chooseBridge, type BridgeKind } from './bridge/native.ts';

export const SERVER_VERSION: string = packageVersion();

/** The package's version: package.json is one folder up from the source, two from the build (dist/servers/). */
function packageVersion(): string {
  for (const path of ['../package.json', '../../package.json']) {
    const url = new URL(path, import.meta.url);
    if (!existsSync(url)) continue;
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: string; version: string };
    if (pkg.name === 'duck-takes-flight') return pkg.version;
  }
  throw new Error(`package.json of duck-takes-flight not found above ${import.meta.url}`);
}

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
  /** 'native' (the addon; an error when it cannot load), 'js', or undefined: native when it loads. */
  bridge?: BridgeKind;
  maxMessageBytes?: number;
  logger?: Logger;
  duckdbSettings?: Record<string, string>;
  /** grpc-js channel options (keepalive, max_concurrent_streams, ...), over FlightServer's defaults. */
  grpcOptions?: ChannelOptions;
  /** Prometheus metrics at http://host:port/metrics (off when absent). */
  metrics?: MetricsOptions;
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
    readonly metrics: ServerMetrics | undefined,
  ) {}

  get location(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `grpc${this.flight.usesTls ? '+tls' : ''}://${host}:${this.port}`;
  }

  static async start(options: DuckDBFlightServerOptions = {}): Promise<DuckDBFlightServer> {
    const logger = options.logger ?? silentLogger;
    const { bridge, reason } = chooseBridge(options.bridge);
    logger.info(`bridge: ${bridge}`, { bridge, reason });
    const engine = await Engine.open({
      path: options.dbPath ?? ':memory:',
      readOnly: options.readOnly ?? false,
      externalAccess: options.externalAccess ?? true,
      settings: options.duckdbSettings ?? {},
    });
    const settings: ServerSettings = {
      batchRows: options.batchRows ?? DEFAULT_BATCH_ROWS,
      readOnly: options.readOnly ?? false,
      externalAccess: options.externalAccess ?? true,
      maxActionRows: MAX_ACTION_ROWS,
      bridge,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    };
    const service: ServiceContext = {
      engine,
      logger,
      exchangers: new ExchangerRegistry(sqlExchanger),
      settings,
      startedAt: Date.now(),
      version: SERVER_VERSION,
    };
    let metrics: ServerMetrics | undefined;
    const flight = new FlightServer(createHandlers(service), {
      health: true,
      maxMessageBytes: options.maxMessageBytes,
      grpcOptions: options.grpcOptions,
      ...options.limits,
      tls: options.tls,
      auth: options.users ? { validate: staticUsers(options.users) } : undefined,
      onCallEnd: (record: CallRecord) => {
        const fields = {
          method: record.method,
          peer: record.peer,
          identity: record.identity,
          code: record.code,
          ms: Math.round(record.milliseconds),
        };
        if (record.code === 0) logger.debug('call', fields);
        else logger.info('call failed', { ...fields, details: record.details });
        metrics?.observe(record);
      },
    });
    const host = options.host ?? 'localhost';
    try {
      // Loaded only when asked for: prom-client adds 250-330 ms to a start (measured here after grpc-js).
      if (options.metrics)
        metrics = await (await import('./metrics.ts')).ServerMetrics.start(options.metrics, engine, () => flight.activeCalls);
      const port = await flight.listen(host, options.port ?? 0);
      return new DuckDBFlightServer(flight, engine, service, host, port, metrics);
    } catch (error) {
      await metrics?.close();
      await engine.close();
      throw error;
    }
  }

  /** Finishes or cancels calls in progress (after `graceMs`), checkpoints and closes the database. */
  async close(graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
    await this.flight.close(graceMs);
    await this.metrics?.close();
    await this.engine.close();
  }
}
