// The dual-node demo, after Mallard's: two DuckDB Flight servers, a table moved between them,
// the flights dataset loaded into the first, then GET, TRANSFER (through the client and direct)
// and EXCHANGE timed, verified and reported.
//
//   npm run demo -- [--rows N] [--data PATH] [--port1 P] [--port2 P] [--server1-db FILE]
//                   [--server2-db FILE] [--server1-location URL] [--server2-location URL] [--auth]
//
// Servers are forked unless a --serverN-location is given; they never outlive the demo (Ctrl-C,
// SIGTERM, an error or the crash of one stops the other). The exit code is 0 only when every
// check passed.

import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tableFromArrays } from 'apache-arrow';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import {
  MemoryPeak,
  ServerGroup,
  ServerStartError,
  allVerified,
  compareTables,
  describeExit,
  progressBar,
  renderReport,
  rowCounter,
  runExchange,
  runGet,
  runTransferDirect,
  runTransferThroughClient,
  tableStats,
  type ExitInfo,
  type OperationResult,
  type ProgressCallback,
  type ServerLogLevel,
  type ServerProcess,
} from './bench/harness/index.ts';
import { DuckDBFlightClient } from './client/index.ts';
import { FlightError } from './flight/index.ts';
import { transportDefaults, transportsFromEnvironment } from './flight/defaults.ts';
import { FLIGHTS_DEFAULT_PATH, FLIGHTS_DEFAULT_ROWS, ensureFlightsParquet } from './data/flights.ts';

const DEMO_USER = 'demo';
const SMALL_TABLE = 'demo_small';

// FLIGHT_CLIENT_TRANSPORT picks the clients' transport (the forked servers read FLIGHT_SERVER_TRANSPORT).
Object.assign(transportDefaults, transportsFromEnvironment(process.env));

const args = await yargs(hideBin(process.argv))
  .scriptName('demo')
  .usage('$0 [options]\n\nTwo DuckDB Flight servers: GET, TRANSFER and EXCHANGE of the flights dataset, timed and verified.')
  .option('rows', { type: 'number', default: FLIGHTS_DEFAULT_ROWS, describe: 'Rows of the flights dataset' })
  .option('data', {
    type: 'string',
    describe:
      'Parquet file of the dataset (generated if missing or different); default data/flights.parquet, or data/flights-<rows>.parquet for other row counts',
  })
  .option('host', { type: 'string', default: 'localhost', describe: 'Host the forked servers bind' })
  .option('port1', { type: 'number', default: 8815, describe: 'Port of server 1 (0 picks a free one)' })
  .option('port2', { type: 'number', default: 8816, describe: 'Port of server 2 (0 picks a free one)' })
  .option('server1-db', { type: 'string', default: ':memory:', describe: "Database file of server 1 (':memory:' for in-memory)" })
  .option('server2-db', { type: 'string', default: ':memory:', describe: "Database file of server 2 (':memory:' for in-memory)" })
  .option('server1-location', {
    type: 'string',
    describe: 'Use a server already running there (grpc://host:port) instead of forking server 1',
  })
  .option('server2-location', {
    type: 'string',
    describe: 'Use a server already running there (grpc://host:port) instead of forking server 2',
  })
  .option('auth', {
    type: 'boolean',
    default: false,
    describe: 'Forked servers require a login (a random password is generated); clients log in',
  })
  .option('username', { type: 'string', describe: `User to log in as (default ${DEMO_USER} with --auth)` })
  .option('password', { type: 'string', describe: 'Password to log in with (default: generated with --auth)' })
  .option('table', { type: 'string', default: 'flights', describe: 'Table name of the dataset on both servers' })
  .option('log-level', {
    choices: ['debug', 'info', 'warn', 'error', 'silent'] as const,
    default: 'warn' as ServerLogLevel,
    describe: "Forked servers' log level (their logs go to stderr)",
  })
  .option('progress-every', {
    type: 'number',
    describe: 'Off a terminal, print rows-so-far of the running operation on stderr every this many seconds',
  })
  .option('stall-timeout', {
    type: 'number',
    default: 120,
    describe: 'Fail an operation that receives no batch for this many seconds (0: wait forever; TRANSFER (direct) is not watched)',
  })
  .option('stop-timeout', { type: 'number', default: 10_000, describe: 'Milliseconds a server gets to stop after SIGTERM before SIGKILL' })
  .check((a) => {
    if (!Number.isSafeInteger(a.rows) || a.rows < 1) throw new Error(`--rows must be a positive integer, got ${a.rows}`);
    for (const p of ['port1', 'port2'] as const) {
      if (!Number.isInteger(a[p]) || a[p] < 0 || a[p] > 65535)
        throw new Error(`--${p} must be a port number (0 picks a free one), got ${a[p]}`);
    }
    if (a.username !== undefined && a.password === undefined && !a.auth)
      throw new Error('--username needs --password (or --auth, which generates one for the forked servers)');
    if (a.auth && a.password === undefined && (a['server1-location'] || a['server2-location'])) {
      throw new Error(
        '--auth generates a password for the forked servers only: pass --username and --password for a server given by --serverN-location',
      );
    }
    if (a.port1 === a.port2 && a.port1 !== 0 && !a['server1-location'] && !a['server2-location'])
      throw new Error('--port1 and --port2 must differ');
    return true;
  })
  .strict()
  .help()
  .parseAsync();

const out = (line = '') => process.stdout.write(`${line}\n`);
const note = (line: string) => process.stderr.write(`${line}\n`);
const heading = (text: string) => out(`\n== ${text} ==`);
const fixed = (n: number, digits = 2) => n.toFixed(digits);
const count = (n: number) => n.toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------
// Shutdown: one path for success, failure, signals and a crashed server.

const clients: DuckDBFlightClient[] = [];
/** Aborted on the way out: cancels the running operation's calls so servers can stop at once. */
const shutdown = new AbortController();
const group = new ServerGroup((server, exit) => void finish(1, crashMessage(server, exit)));
let finishing: Promise<never> | null = null;

function crashMessage(server: ServerProcess, exit: ExitInfo): string {
  const tail = server.stderrTail().slice(-10);
  return (
    `demo: ${server.name} (pid ${server.pid}, ${server.location}) exited unexpectedly (${describeExit(exit)}); stopping the other server.` +
    (tail.length > 0 ? `\nits last lines on stderr:\n${tail.map((l) => `  | ${l}`).join('\n')}` : '')
  );
}

/** Closes the clients, stops every forked server and exits with `code`. Runs once. */
function finish(code: number, message?: string): Promise<never> {
  finishing ??= (async () => {
    if (message) note(message);
    shutdown.abort(new Error('the demo is stopping'));
    for (const client of clients) client.close();
    await group.stopAll(args['stop-timeout']);
    process.exit(code);
  })();
  return finishing;
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => {
    if (finishing) {
      note(`demo: ${signal} again: killing the servers`);
      group.killAll();
      process.exit(code);
    }
    void finish(code, `\ndemo: ${signal}: stopping the servers`);
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Node {
  name: string;
  client: DuckDBFlightClient;
  process?: ServerProcess;
}

const credentials = (() => {
  const username = args.username ?? (args.auth || args.password !== undefined ? DEMO_USER : undefined);
  if (username === undefined) return undefined;
  return { username, password: args.password ?? randomBytes(18).toString('base64url') };
})();

function portAdvice(index: 1 | 2, port: number): string {
  return `port ${port} is in use: pass --port${index} with a free port (0 picks one), or --server${index}-location grpc://host:${port} to use the server already running there`;
}

async function startNodes(): Promise<[Node, Node]> {
  const specs = ([1, 2] as const).map((index) => ({
    index,
    name: `server ${index}`,
    location: args[`server${index}-location`],
    port: args[`port${index}`],
    dbPath: args[`server${index}-db`],
  }));
  // Fork the local ones together; if one fails, the other is stopped on the way out.
  const started = await Promise.allSettled(
    specs.map((s) =>
      s.location
        ? Promise.resolve(undefined)
        : group
            .start({
              name: s.name,
              host: args.host,
              port: s.port,
              dbPath: s.dbPath,
              logLevel: args['log-level'],
              users: args.auth && credentials ? { [credentials.username]: credentials.password } : undefined,
              onStderr: (line) => note(`[${s.name}] ${line}`),
            })
            .then((server) => {
              note(`demo: ${server.name} forked, pid ${server.pid}, ${server.location}`);
              return server;
            }),
    ),
  );
  const failures = started.flatMap((r, i) => (r.status === 'rejected' ? [{ error: r.reason as unknown, index: specs[i]!.index }] : []));
  if (failures.length > 0) {
    const messages = failures.map(({ error, index }) =>
      error instanceof ServerStartError && error.reason === 'port-in-use'
        ? `${error.spec.name}: ${portAdvice(index, error.spec.port)}`
        : String((error as Error).message ?? error),
    );
    throw new Error(messages.join('\n'));
  }
  const nodes: Node[] = [];
  for (const [i, s] of specs.entries()) {
    const child = (started[i] as PromiseFulfilledResult<ServerProcess | undefined>).value;
    const location = child?.location ?? s.location!;
    const client = await DuckDBFlightClient.connect({ location, ...credentials, maxAttempts: child ? 5 : 3 });
    clients.push(client);
    // Listening is not yet serving: a health action answers only once DuckDB is open too.
    await client.executeAction('health');
    const where = child ? `pid ${child.pid}, ${s.dbPath === ':memory:' ? 'in-memory' : s.dbPath}` : 'already running';
    out(`${s.name}: ${location} (${where})`);
    nodes.push({ name: s.name, client, ...(child ? { process: child } : {}) });
  }
  return [nodes[0]!, nodes[1]!];
}

// ---------------------------------------------------------------------------------------------
// The steps

async function connectionCheck(nodes: readonly Node[]): Promise<void> {
  heading('1. Connection');
  for (const node of nodes) {
    const [health] = (await node.client.executeAction('health')) as { status: string; uptime_seconds: number }[];
    const [version] = (await node.client.executeAction('version')) as { server: string; duckdb: string; node: string }[];
    const auth = credentials ? `, logged in as ${credentials.username}` : '';
    out(`${node.name}: ${health!.status}, duck-flight ${version!.server}, DuckDB ${version!.duckdb}, Node ${version!.node}${auth}`);
    if (args.auth && node.process) out(`${node.name}: ${await anonymousRefused(node)}`);
  }
}

/** With --auth, a call without credentials must be refused; says so, or throws if it was not. */
async function anonymousRefused(node: Node): Promise<string> {
  const anonymous = new DuckDBFlightClient({ location: node.client.location });
  try {
    await anonymous.executeAction('list_tables');
  } catch (error) {
    if (error instanceof FlightError && error.kind === 'unauthenticated') return 'a call without credentials is refused (UNAUTHENTICATED)';
    throw error;
  } finally {
    anonymous.close();
  }
  throw new Error(`${node.name} was started with --auth but answered a call without credentials`);
}

async function basicOperations(server1: Node, server2: Node): Promise<boolean> {
  heading('2. Basic operations: a small table from server 1 to server 2');
  const small = tableFromArrays({
    id: Int32Array.of(1, 2, 3, 4, 5),
    name: ['mallard', 'teal', 'pintail', 'wigeon', 'gadwall'],
    wingspan_cm: Float64Array.of(90, 58, 89, 82, 84),
  });
  const uploaded = await server1.client.uploadData(SMALL_TABLE, small, { mode: 'replace' });
  out(`uploaded ${uploaded.rows} rows into ${SMALL_TABLE} on server 1`);
  const moved = await server1.client.transfer(server2.client, `SELECT * FROM ${SMALL_TABLE}`, SMALL_TABLE, 'client');
  out(`transferred ${moved.rows} rows to server 2 through the client`);
  const check = compareTables(await tableStats(server1.client, SMALL_TABLE), await tableStats(server2.client, SMALL_TABLE), moved.rows);
  const back = await server2.client.executeQuery(`SELECT * FROM ${SMALL_TABLE} ORDER BY id`);
  for (const row of back) out(`  ${JSON.stringify(row.toJSON())}`);
  out(`server 2's copy: ${check.ok ? 'verified' : 'MISMATCH'} (${check.detail})`);
  return check.ok;
}

function defaultDataPath(rows: number): string {
  if (rows === FLIGHTS_DEFAULT_ROWS) return FLIGHTS_DEFAULT_PATH;
  return join(dirname(FLIGHTS_DEFAULT_PATH), `flights-${rows}.parquet`);
}

async function loadDataset(server1: Node): Promise<number> {
  heading(`3. Large dataset: ${count(args.rows)} flights`);
  const path = resolve(args.data ?? defaultDataPath(args.rows));
  const file = await ensureFlightsParquet({ rows: args.rows, path, onProgress: progressBar('generating flights') });
  out(file.generated ? `generated ${file.path} in ${fixed(file.seconds, 1)} s` : `using ${file.path} (already current)`);
  const started = performance.now();
  const [loaded] = (await server1.client.executeAction('load_parquet', { table: args.table, path: file.path, mode: 'replace' })) as {
    rows: number;
    seconds: number;
  }[];
  const seconds = (performance.now() - started) / 1000;
  out(
    `loaded ${count(loaded!.rows)} rows into ${args.table} on server 1 in ${fixed(seconds)} s (${count(Math.round(loaded!.rows / seconds))} rows/s)`,
  );
  if (loaded!.rows !== args.rows) throw new Error(`load_parquet loaded ${loaded!.rows} rows, the file holds ${args.rows}`);
  return loaded!.rows;
}

const memory = new MemoryPeak();

/**
 * Runs one operation with a rows counter on stderr and, unless `watched` is false, a watchdog
 * that cancels it when no batch arrives for --stall-timeout seconds.
 */
async function timed(
  label: string,
  rows: number,
  run: (options: { onProgress: ProgressCallback; signal: AbortSignal }) => Promise<OperationResult>,
  watched = true,
): Promise<OperationResult> {
  const counter = rowCounter(label, rows, { lineEverySeconds: args['progress-every'] });
  const controller = new AbortController();
  const stallSeconds = args['stall-timeout'];
  let lastBatchAt = performance.now();
  let rowsSoFar = 0;
  const watchdog =
    watched && stallSeconds > 0
      ? setInterval(() => {
          if (performance.now() - lastBatchAt > stallSeconds * 1000) {
            controller.abort(
              new Error(
                `${label} received no batch for ${stallSeconds} s (after ${count(rowsSoFar)} rows); --stall-timeout sets this limit`,
              ),
            );
          }
        }, 1000)
      : undefined;
  let result: OperationResult;
  try {
    result = await run({
      signal: AbortSignal.any([controller.signal, shutdown.signal]),
      onProgress: (n) => {
        lastBatchAt = performance.now();
        rowsSoFar = n;
        memory.sample();
        counter.update(n);
      },
    });
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason;
    throw error;
  } finally {
    clearInterval(watchdog);
    counter.finish();
  }
  const rate = result.seconds > 0 ? ` (${count(Math.round(result.rows / result.seconds))} rows/s)` : '';
  out(
    `${result.operation}: ${count(result.rows)} rows in ${fixed(result.seconds, 3)} s${rate}; ${result.verification.ok ? 'verified' : 'FAILED'}: ${result.verification.detail}`,
  );
  return result;
}

async function operations(server1: Node, server2: Node, rows: number): Promise<OperationResult[]> {
  const table = args.table;
  const s1 = server1.client;
  const s2 = server2.client;
  heading('4. Operations');
  const results: OperationResult[] = [];
  out(`GET: DoGet "SELECT * FROM ${table}" from server 1, streamed and dropped batch by batch`);
  const get = await timed('GET', rows, (o) => runGet({ client: s1, table, ...o }));
  results.push(get);
  out(`TRANSFER (client): DoGet from server 1 piped into DoPut to server 2`);
  results.push(await timed('TRANSFER (client)', rows, (o) => runTransferThroughClient({ source: s1, target: s2, table, ...o })));
  out(`TRANSFER (direct): server 2 pulls from server 1 itself (the transfer action)`);
  // The client sees no batch of a direct transfer: nothing to watch.
  results.push(
    await timed('TRANSFER (direct)', rows, (o) => runTransferDirect({ source: s1, target: s2, table, arrowBytes: get.bytes, ...o }), false),
  );
  out(`EXCHANGE: DoGet from server 1 streamed through my_streaming_exchanger on server 1`);
  results.push(await timed('EXCHANGE', rows, (o) => runExchange({ client: s1, table, ...o })));
  return results;
}

function report(results: readonly OperationResult[]): void {
  heading('5. Report');
  out(renderReport(results));
  out('MB/s: decimal megabytes of Arrow buffers moved (for TRANSFER (direct), those of the GET of the same table).');
  out(`client memory during the operations: ${memory.describe()}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  heading('Starting servers');
  const [server1, server2] = await startNodes();
  await connectionCheck([server1, server2]);
  const smallOk = await basicOperations(server1, server2);
  const rows = await loadDataset(server1);
  const results = await operations(server1, server2, rows);
  report(results);
  const ok = smallOk && allVerified(results);
  out(ok ? '\nall checks passed' : '\nSOME CHECKS FAILED');
  return ok ? 0 : 1;
}

try {
  const code = await main();
  await finish(code);
} catch (error) {
  // A call that failed because a server died: let the exit be seen, and report that instead.
  const running = group.servers.filter((s) => s.running);
  if (running.length > 0) await Promise.race([...running.map((s) => s.exited), sleep(500)]);
  if (group.crashed().length === 0) {
    const message = error instanceof Error ? error.message : String(error);
    await finish(1, `demo: ${message}`);
  }
  await finishing;
}
