// Prometheus metrics for duck-flight, served over HTTP on a port of their own (opt-in,
// `--metrics-port`). prom-client writes the exposition format and the process metrics (CPU,
// memory, event-loop delay, GC). Calls are counted where every Flight RPC ends (FlightServer's
// onCallEnd), not in each handler; health checks are not counted.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DuckDBConnection } from '@duckdb/node-api';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CallRecord } from '../flight/index.ts';
import type { Engine } from './engine.ts';

/** How long a scrape waits for DuckDB's memory figures before it answers with the previous ones. */
const MEMORY_WAIT_MS = 250;

/** Call durations, in seconds: from a GetFlightInfo (a millisecond) to a 24M-row GET or a long exchange. */
const DURATION_BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 30, 120, 600];

export interface MetricsOptions {
  host: string;
  /** 0 picks a free one. */
  port: number;
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'method' | 'code'>;
  private readonly duration: Histogram<'method'>;
  private readonly rowsIn: Counter<'method'>;
  private readonly rowsOut: Counter<'method'>;
  private readonly bytesIn: Counter<'method'>;
  private readonly bytesOut: Counter<'method'>;
  private readonly memory: Gauge<'tag'>;
  private readonly http: Server;
  private connection: DuckDBConnection | undefined;
  private memoryRead: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly engine: Engine,
    activeCalls: () => number,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.calls = new Counter({
      name: 'duck_flight_calls_total',
      help: 'Flight calls finished, by RPC and final gRPC status',
      labelNames: ['method', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'duck_flight_call_duration_seconds',
      help: 'Flight call duration, by RPC',
      labelNames: ['method'],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.rowsIn = new Counter({
      name: 'duck_flight_rows_received_total',
      help: 'Arrow rows received (DoPut, DoExchange), by RPC, counted when the call ends',
      labelNames: ['method'],
      registers,
    });
    this.rowsOut = new Counter({
      name: 'duck_flight_rows_sent_total',
      help: 'Arrow rows sent (DoGet, DoExchange), by RPC, counted when the call ends',
      labelNames: ['method'],
      registers,
    });
    this.bytesIn = new Counter({
      name: 'duck_flight_bytes_received_total',
      help: 'FlightData bytes received, by RPC, counted when the call ends',
      labelNames: ['method'],
      registers,
    });
    this.bytesOut = new Counter({
      name: 'duck_flight_bytes_sent_total',
      help: 'FlightData bytes sent, by RPC, counted when the call ends',
      labelNames: ['method'],
      registers,
    });
    new Gauge({
      name: 'duck_flight_active_streams',
      help: 'Flight calls in progress (each is one HTTP/2 stream)',
      registers,
      collect() {
        this.set(activeCalls());
      },
    });
    const refreshMemory = () => this.refreshMemory();
    this.memory = new Gauge({
      name: 'duck_flight_duckdb_memory_bytes',
      help: "DuckDB's memory in use, by component (duckdb_memory()), read at scrape time",
      labelNames: ['tag'],
      registers,
      async collect() {
        await refreshMemory();
      },
    });
    this.http = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('duck-flight serves its metrics at GET /metrics\n');
        return;
      }
      this.registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
      );
    });
  }

  /** Starts the metrics endpoint: http://host:port/metrics. */
  static async start(options: MetricsOptions, engine: Engine, activeCalls: () => number): Promise<ServerMetrics> {
    const metrics = new ServerMetrics(engine, activeCalls);
    await new Promise<void>((resolve, reject) => {
      metrics.http.once('error', reject);
      metrics.http.listen(options.port, options.host, () => {
        metrics.http.off('error', reject);
        resolve();
      });
    });
    return metrics;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  /** Counts one finished call (FlightServer's onCallEnd). */
  observe(record: CallRecord): void {
    const method = record.method;
    this.calls.inc({ method, code: GrpcStatus[record.code] ?? String(record.code) });
    this.duration.observe({ method }, record.milliseconds / 1000);
    if (record.rowsIn > 0) this.rowsIn.inc({ method }, record.rowsIn);
    if (record.bytesIn > 0) this.bytesIn.inc({ method }, record.bytesIn);
    if (record.rowsOut > 0) this.rowsOut.inc({ method }, record.rowsOut);
    if (record.bytesOut > 0) this.bytesOut.inc({ method }, record.bytesOut);
  }

  /**
   * Reads duckdb_memory() on a connection of its own, so a scrape never queues behind a call's
   * query. One read at a time; a scrape waits for it at most MEMORY_WAIT_MS, then answers with
   * the figures of the previous read (the slow read still updates them for the next scrape).
   */
  private async refreshMemory(): Promise<void> {
    if (this.closed) return;
    this.memoryRead ??= this.readMemory().finally(() => (this.memoryRead = undefined));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.memoryRead.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, MEMORY_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private async readMemory(): Promise<void> {
    this.connection ??= await this.engine.instance.connect();
    const rows = (await this.connection.runAndReadAll('SELECT tag, memory_usage_bytes FROM duckdb_memory()')).getRows();
    for (const [tag, bytes] of rows) this.memory.set({ tag: String(tag) }, Number(bytes));
  }

  /** Stops the endpoint and closes its DuckDB connection (before the database closes). */
  async close(): Promise<void> {
    this.closed = true;
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    await this.memoryRead?.catch(() => {});
    this.connection?.closeSync();
    this.connection = undefined;
  }
}
