// `duck-flight`: a DuckDB database served over Arrow Flight.

import { readFileSync } from 'node:fs';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { transportDefaults, transportsFromEnvironment } from '../flight/defaults.ts';
import { DEFAULT_FIRST_MESSAGE_TIMEOUT_MS, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_READ_AHEAD_BYTES } from '../flight/index.ts';
import { DuckDBFlightServer, SERVER_VERSION } from './duckdb-flight-server.ts';
import { createLogger, type LogLevel } from './logger.ts';
import { DEFAULT_BATCH_ROWS, DEFAULT_DB_PATH, DEFAULT_HOST, DEFAULT_PORT, SHUTDOWN_GRACE_MS } from './settings.ts';

/** Users as `name:password` lines (a file) or comma-separated pairs (DUCK_FLIGHT_USERS). */
export function parseUsers(text: string, source: string): Map<string, string> {
  const users = new Map<string, string>();
  for (const raw of text.split(/[\n,]/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0 || colon === line.length - 1) throw new Error(`${source}: expected user:password, got an entry without both parts`);
    users.set(line.slice(0, colon), line.slice(colon + 1));
  }
  if (users.size === 0) throw new Error(`${source}: no users`);
  return users;
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export async function main(argv: string[]): Promise<void> {
  // The transports' defaults, for comparing them under the same tests and benchmarks.
  Object.assign(transportDefaults, transportsFromEnvironment(process.env));
  const args = await yargs(argv)
    .scriptName('duck-flight')
    .usage('$0 [options]\n\nServes a DuckDB database over Apache Arrow Flight.')
    .option('host', { type: 'string', default: DEFAULT_HOST, describe: 'Host or address to bind' })
    .option('port', { type: 'number', default: DEFAULT_PORT, describe: 'Port to bind (0 picks a free one)' })
    .option('db-path', { type: 'string', default: DEFAULT_DB_PATH, describe: "DuckDB database file; ':memory:' for an in-memory database" })
    .option('log-level', {
      choices: ['debug', 'info', 'warn', 'error', 'silent'] as const,
      default: 'info' as LogLevel,
      describe: 'Log verbosity (JSON lines)',
    })
    .option('log-file', { type: 'string', describe: 'Append logs to this file instead of stderr' })
    .option('auth', {
      type: 'boolean',
      default: false,
      describe: 'Require Basic-to-Bearer token auth; users from --users-file or DUCK_FLIGHT_USERS (user:password,...)',
    })
    .option('users-file', { type: 'string', describe: 'File of user:password lines for --auth' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate chain: serve TLS (with --tls-key)' })
    .option('tls-key', { type: 'string', describe: 'PEM private key for --tls-cert' })
    .option('tls-client-ca', { type: 'string', describe: 'PEM CA: require client certificates signed by it (mutual TLS)' })
    .option('read-only', { type: 'boolean', default: false, describe: 'Open the database read-only; uploads and writes are refused' })
    .option('external-access', {
      type: 'boolean',
      default: true,
      describe: "Let SQL read and write the server's files and network (--no-external-access for servers beyond loopback)",
    })
    .option('batch-rows', { type: 'number', default: DEFAULT_BATCH_ROWS, describe: 'Rows per Arrow record batch sent' })
    .option('bridge', {
      choices: ['native', 'js'] as const,
      describe:
        "DuckDB -> Arrow conversion: the native addon (DuckDB's own converter, off the JS thread) or the JavaScript bridge. Default: native when the addon loads",
    })
    .option('threads', {
      type: 'number',
      describe:
        "DuckDB worker threads (default: DuckDB's, one per core). Fewer leaves cores to the JS thread that builds and sends Arrow batches",
    })
    .option('metrics-port', {
      type: 'number',
      describe: 'Serve Prometheus metrics at http://HOST:PORT/metrics (0 picks a free port; off by default)',
    })
    .option('metrics-host', { type: 'string', describe: 'Address for the metrics endpoint (default: --host)' })
    .option('max-concurrent-streams', {
      type: 'number',
      default: DEFAULT_MAX_CONCURRENT_STREAMS,
      describe: 'Concurrent calls per connection; clients queue beyond it',
    })
    .option('first-message-timeout', {
      type: 'number',
      default: DEFAULT_FIRST_MESSAGE_TIMEOUT_MS / 1000,
      describe: 'Seconds a call may wait for its request before it is closed with DEADLINE_EXCEEDED (0: never)',
    })
    .option('max-read-ahead-mb', {
      type: 'number',
      default: DEFAULT_MAX_READ_AHEAD_BYTES / 2 ** 20,
      describe: 'MiB a DoPut/DoExchange may send ahead while not reading the response; beyond it RESOURCE_EXHAUSTED',
    })
    .strict()
    .version(SERVER_VERSION)
    .help()
    .parseAsync();

  if (args.threads !== undefined && (!Number.isInteger(args.threads) || args.threads < 1)) {
    throw new Error(`--threads must be a positive integer, got ${args.threads}`);
  }
  for (const name of ['max-concurrent-streams', 'first-message-timeout', 'max-read-ahead-mb'] as const) {
    const value = args[name];
    if (!Number.isFinite(value) || value < 0 || (name === 'max-concurrent-streams' && (!Number.isInteger(value) || value < 1))) {
      throw new Error(`--${name} must be a ${name === 'max-concurrent-streams' ? 'positive integer' : 'number >= 0'}, got ${value}`);
    }
  }
  const logger = createLogger(args['log-level'], args['log-file']);
  let users: Map<string, string> | undefined;
  if (args.auth) {
    if (args['users-file']) users = parseUsers(readFileSync(args['users-file'], 'utf8'), args['users-file']);
    else if (process.env['DUCK_FLIGHT_USERS']) users = parseUsers(process.env['DUCK_FLIGHT_USERS'], 'DUCK_FLIGHT_USERS');
    else throw new Error('--auth needs users: --users-file FILE (user:password lines) or DUCK_FLIGHT_USERS=user:password,...');
  }
  if (Boolean(args['tls-cert']) !== Boolean(args['tls-key'])) throw new Error('--tls-cert and --tls-key go together');
  const tls = args['tls-cert']
    ? {
        cert: readFileSync(args['tls-cert']),
        key: readFileSync(args['tls-key']!),
        ...(args['tls-client-ca'] ? { clientCa: readFileSync(args['tls-client-ca']), requireClientCert: true } : {}),
      }
    : undefined;

  const server = await DuckDBFlightServer.start({
    dbPath: args['db-path'],
    host: args.host,
    port: args.port,
    readOnly: args['read-only'],
    externalAccess: args['external-access'],
    users,
    tls,
    batchRows: args['batch-rows'],
    bridge: args.bridge,
    limits: {
      maxConcurrentStreams: args['max-concurrent-streams'],
      firstMessageTimeoutMs: Math.round(args['first-message-timeout'] * 1000),
      maxReadAheadBytes: Math.round(args['max-read-ahead-mb'] * 2 ** 20),
    },
    duckdbSettings: args.threads !== undefined ? { threads: String(args.threads) } : {},
    logger,
    metrics: args['metrics-port'] !== undefined ? { host: args['metrics-host'] ?? args.host, port: args['metrics-port'] } : undefined,
  });
  const metricsUrl = server.metrics && `http://${urlHost(args['metrics-host'] ?? args.host)}:${server.metrics.port}/metrics`;
  logger.info('listening', {
    location: server.location,
    transport: server.flight.transport,
    metrics: metricsUrl,
    db: args['db-path'],
    auth: Boolean(users),
    tls: Boolean(tls),
    readOnly: args['read-only'],
  });
  // Plain lines on stdout: the ready line last, as what a parent process waits for.
  if (metricsUrl) process.stdout.write(`duck-flight metrics on ${metricsUrl}\n`);
  process.stdout.write(`duck-flight listening on ${server.location}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('shutting down', { signal, activeCalls: server.flight.activeCalls });
    server
      .close(SHUTDOWN_GRACE_MS)
      .then(() => {
        logger.info('stopped', { signal });
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error('shutdown failed', { error: String(error) });
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main(hideBin(process.argv)).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /EADDRINUSE|address already in use|No address added/i.test(message) ? ' (is the port already in use?)' : '';
  process.stderr.write(`duck-flight: ${message}${hint}\n`);
  process.exit(1);
});
