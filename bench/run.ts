// `npm run bench`: the whole benchmark, ours beside the pyarrow reference peer, in one run.
//
//   npm run bench -- [--rows 1M,6M,24M] [--runs 3] [--warmup 1] [--batch-rows 16K,64K,256K] [--sweep-at 6M]
//                    [--ops get,transfer-client,transfer-direct,exchange,put] [--quick]
//                    [--no-micro] [--no-sweep] [--no-reference] [--out-dir DIR] [--data-dir DIR]
//
// 1. Micro-benchmarks: bench/flight.ts (FlightData encode/decode) and bench/bridge.ts (the
//    DuckDB <-> Arrow bridge against bare DuckDB), run as they are, as child processes.
// 2. The throughput matrix: GET, TRANSFER (through the client and direct), EXCHANGE and PUT over
//    each dataset size, several runs each, median and spread. Ours: two duck-flight processes and
//    bench/harness's operations in this process. The reference: two bench/reference/server.py
//    processes (pyarrow.flight + duckdb) and bench/reference/client.py, one process per run.
//    Both load the same Parquet file; their runs alternate, and which side goes first flips
//    every run; each side first gets an untimed warm-up run of every operation. Peak RSS of every
//    server (VmHWM, reset before each timed operation).
// 3. The batch-size sweep: the same operations at one dataset size, with the servers restarted
//    at each DoGet batch size.
// Writes bench/results/run-<time>.json and run-<time>.html (bench/chart.ts: the page to open).
// Progress goes to stderr, the summary to stdout. Exit code 1 when any verification failed.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { RecordBatch } from 'apache-arrow';
import Table from 'cli-table3';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DuckDBFlightClient } from '../client/index.ts';
import { FLIGHTS_DEFAULT_PATH, FLIGHTS_DEFAULT_ROWS, ensureFlightsParquet, tableChecksumSql } from '../data/flights.ts';
import { DEFAULT_BATCH_ROWS } from '../servers/bridge/index.ts';
import {
  ServerGroup,
  compareTables,
  describeExit,
  dropTableIfExists,
  progressBar,
  runExchange,
  runGet,
  runTransferDirect,
  runTransferThroughClient,
  tableStats,
  type OperationResult,
  type ProgressCallback,
  type ServerProcess,
} from './harness/index.ts';
import {
  OPERATIONS,
  OPERATION_LABELS,
  isOperationKey,
  renderChart,
  shortCount,
  type Cell,
  type MicroResult,
  type OperationKey,
  type PeakMemory,
  type RunReport,
  type Sample,
  type SideSummary,
} from './chart.ts';
import { machineFacts, parseCount, spread } from './common.ts';
import { DUCK_FLIGHT_NODE_FLAGS } from '../servers/node-flags.ts';
import { transportDefaults, transportsFromEnvironment } from '../flight/defaults.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TABLE = 'flights';
const HEARTBEAT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Options

/** "24000000", "24M", "20K", "1.5M": decimal multiples, as row counts are spoken. */
function parseRowCount(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a row count: ${JSON.stringify(text)} (use e.g. 1000000, 6M, 20K)`);
  const rows = Math.round(Number(match[1]) * { '': 1, k: 1e3, m: 1e6 }[match[2]!.toLowerCase() as '' | 'k' | 'm']);
  if (rows < 1) throw new Error(`a row count must be at least 1, got ${JSON.stringify(text)}`);
  return rows;
}

function list<T>(text: string, parse: (item: string) => T): T[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parse);
}

// FLIGHT_CLIENT_TRANSPORT picks the clients' transport (the forked servers read FLIGHT_SERVER_TRANSPORT).
Object.assign(transportDefaults, transportsFromEnvironment(process.env));

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run bench --')
  .usage('$0 [options]\n\nOurs beside the pyarrow reference: micro-benchmarks, the GET/TRANSFER/EXCHANGE/PUT matrix, the batch-size sweep.')
  .option('rows', { type: 'string', describe: 'Dataset sizes, comma list (default 1M,6M,24M; 1M with --quick)' })
  .option('runs', { type: 'number', describe: 'Runs of each operation on each side (default 3; 1 with --quick)' })
  .option('batch-rows', { type: 'string', default: '16K,64K,256K', describe: 'Server DoGet batch sizes of the sweep (K = 1024)' })
  .option('sweep-at', {
    type: 'string',
    describe: 'Dataset size of the sweep (default 6M if listed, else the largest size below it, else the smallest)',
  })
  .option('ops', { type: 'string', default: OPERATIONS.join(','), describe: `Operations: ${OPERATIONS.join(', ')}` })
  .option('warmup', {
    type: 'number',
    default: 1,
    describe: 'Untimed runs of each operation on each side after servers start, on the smallest dataset',
  })
  .option('quick', { type: 'boolean', default: false, describe: 'A short run: 1M rows, 1 run, no sweep, short micro-benchmarks' })
  .option('micro', { type: 'boolean', default: true, describe: 'Run bench/flight.ts and bench/bridge.ts first (--no-micro to skip)' })
  .option('sweep', { type: 'boolean', default: true, describe: 'Run the batch-size sweep (--no-sweep to skip)' })
  .option('reference', { type: 'boolean', default: true, describe: 'Run the pyarrow reference side by side (--no-reference to skip)' })
  .option('reference-put-mode', {
    choices: ['read-all', 'stream'] as const,
    default: 'read-all' as const,
    describe: "The reference's DoPut and transfer: read whole first (Mallard) or scan as it arrives",
  })
  .option('bridge', {
    choices: ['native', 'js'] as const,
    describe: "Our servers' bridge (--bridge of the CLI; default: native when the addon loads)",
  })
  .option('python', {
    type: 'string',
    default: join(process.env['DUCK_FLIGHT_PEERS_VENV'] ?? join(root, '.peers', 'venv'), 'bin', 'python'),
    describe: 'Python with pyarrow and duckdb (scripts/setup-peers.sh builds it; npm run bench runs that first)',
  })
  .option('out-dir', { type: 'string', default: join(root, 'bench', 'results'), describe: 'Where the JSON and the HTML chart go' })
  .option('data-dir', {
    type: 'string',
    default: dirname(FLIGHTS_DEFAULT_PATH),
    describe: 'Where the flights Parquet files are (generated when missing)',
  })
  .strict()
  .help()
  .parseAsync();

const rowCounts = [...new Set(list(argv.rows ?? (argv.quick ? '1M' : '1M,6M,24M'), parseRowCount))].sort((a, b) => a - b);
const runs = argv.runs ?? (argv.quick ? 1 : 3);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${runs}`);
if (rowCounts.length === 0) throw new Error('--rows lists no dataset size');
const ops = list(argv.ops, (op) => {
  if (!isOperationKey(op)) throw new Error(`unknown operation ${JSON.stringify(op)}: use ${OPERATIONS.join(', ')}`);
  return op;
});
const sweepSizes = [...new Set(list(argv['batch-rows'], parseCount))].sort((a, b) => a - b);
const sweeping = argv.sweep && !argv.quick && sweepSizes.length > 0;
const sweepAt = !sweeping
  ? null
  : argv['sweep-at'] !== undefined
    ? parseRowCount(argv['sweep-at'])
    : rowCounts.includes(6_000_000)
      ? 6_000_000
      : ([...rowCounts].reverse().find((r) => r <= 6_000_000) ?? rowCounts[0]!);
const warmups = argv.warmup;
if (!Number.isInteger(warmups) || warmups < 0) throw new Error(`--warmup must be a whole number, got ${warmups}`);
const python = resolve(argv.python);
if (argv.reference && !existsSync(python)) {
  throw new Error(
    `the reference peer needs ${python}: run \`npm run bench\` (it runs scripts/setup-peers.sh first), or pass --no-reference`,
  );
}
const outDir = resolve(argv['out-dir']);
const dataDir = resolve(argv['data-dir']);

const note = (line: string) => process.stderr.write(`${line}\n`);
const count = (n: number) => n.toLocaleString('en-US');
const millions = (rowsPerSecond: number) => `${(rowsPerSecond / 1e6).toFixed(2)} M rows/s`;

// ---------------------------------------------------------------------------------------------
// Peak memory of a process, from /proc (Linux): VmHWM, reset by writing 5 to clear_refs.

function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // Not Linux, or not allowed: readPeakRss then reports the peak since the process started.
  }
}

function readPeakRss(pid: number): number | null {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Failure: one place that stops every server and exits.

const group = new ServerGroup(
  (server, exit) =>
    void fail(
      `${server.name} (pid ${server.pid}) exited unexpectedly (${describeExit(exit)})\n${server
        .stderrTail()
        .slice(-10)
        .map((l) => `  | ${l}`)
        .join('\n')}`,
    ),
);
const pythonChildren = new Set<ChildProcess>();
let failing = false;

process.on('exit', () => {
  for (const child of pythonChildren) child.kill('SIGKILL');
});

async function stopEverything(): Promise<void> {
  for (const child of pythonChildren) child.kill('SIGTERM');
  await group.stopAll();
}

async function fail(message: string, code = 1): Promise<never> {
  if (!failing) {
    failing = true;
    note(`bench: ${message}`);
    await stopEverything();
  }
  process.exit(code);
}

for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const) {
  process.on(signal, () => void fail(`${signal}: stopping the servers`, code));
}

/** Prints "still running" lines while `work` runs, so a long operation never looks hung. */
async function withHeartbeat<T>(label: string, work: (progress: ProgressCallback) => Promise<T>): Promise<T> {
  const started = performance.now();
  let rows = 0;
  const timer = setInterval(() => {
    const seconds = Math.round((performance.now() - started) / 1000);
    note(`  ... ${label}: ${seconds} s${rows > 0 ? `, ${count(rows)} rows so far` : ''}`);
  }, HEARTBEAT_MS);
  try {
    return await work((r) => (rows = r));
  } finally {
    clearInterval(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The two sides

interface Side {
  name: 'ours' | 'reference';
  locations: [string, string];
  pids: [number, number];
  /** Our client on each server (it speaks to pyarrow servers too: actions, loads). */
  clients: [DuckDBFlightClient, DuckDBFlightClient];
  stop(): Promise<void>;
}

async function connect(location: string): Promise<DuckDBFlightClient> {
  return DuckDBFlightClient.connect({ location, maxAttempts: 8 });
}

async function startOurs(batchRows: number): Promise<Side> {
  const servers: ServerProcess[] = await Promise.all(
    ([1, 2] as const).map((i) =>
      group.start({
        name: `ours server ${i}`,
        port: 0,
        logLevel: 'warn',
        extraArgs: ['--batch-rows', String(batchRows), ...(argv.bridge === undefined ? [] : ['--bridge', argv.bridge])],
        onStderr: (line) => note(`[ours server ${i}] ${line}`),
      }),
    ),
  );
  const clients = (await Promise.all(servers.map((s) => connect(s.location)))) as [DuckDBFlightClient, DuckDBFlightClient];
  for (const client of clients) await client.executeAction('health');
  return {
    name: 'ours',
    locations: [servers[0]!.location, servers[1]!.location],
    pids: [servers[0]!.pid, servers[1]!.pid],
    clients,
    async stop() {
      for (const client of clients) client.close();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

interface ReferenceServer {
  child: ChildProcess;
  port: number;
  /** Ends its stdin (it stops at end-of-file), SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

/** Starts bench/reference/server.py and resolves once it prints LISTENING <port>. */
function spawnReferenceServer(name: string, batchRows: number): Promise<ReferenceServer> {
  const child = spawn(
    python,
    [
      join(root, 'bench', 'reference', 'server.py'),
      '--port',
      '0',
      '--batch-rows',
      String(batchRows),
      '--put-mode',
      argv['reference-put-mode'],
    ],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  pythonChildren.add(child);
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    note(`[${name}] ${line}`);
  });
  let ready = false;
  let stopping = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  void exited.then((exit) => {
    pythonChildren.delete(child);
    if (ready && !stopping)
      void fail(`${name} (pid ${child.pid}) exited unexpectedly (${describeExit(exit)})\n${tail.map((l) => `  | ${l}`).join('\n')}`);
  });
  const stop = async () => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolvePort, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not print LISTENING within 60 s`));
    }, 60_000);
    void exited.then((exit) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${name} exited before it listened (${describeExit(exit)})\n${tail.map((l) => `  | ${l}`).join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^LISTENING (\d+)$/.exec(line);
      if (match && !ready) {
        ready = true;
        clearTimeout(timer);
        resolvePort({ child, port: Number(match[1]), stop });
      }
    });
  });
}

async function startReference(batchRows: number): Promise<Side> {
  const servers = await Promise.all([
    spawnReferenceServer('reference server 1', batchRows),
    spawnReferenceServer('reference server 2', batchRows),
  ]);
  const locations = servers.map((s) => `grpc://localhost:${s.port}`) as [string, string];
  const clients = (await Promise.all(locations.map(connect))) as [DuckDBFlightClient, DuckDBFlightClient];
  return {
    name: 'reference',
    locations,
    pids: [servers[0]!.child.pid!, servers[1]!.child.pid!],
    clients,
    async stop() {
      for (const client of clients) client.close();
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

async function startSides(batchRows: number): Promise<Side[]> {
  note(`starting servers (DoGet batches of ${count(batchRows)} rows)...`);
  const sides = [await startOurs(batchRows)];
  if (argv.reference) sides.push(await startReference(batchRows));
  for (const side of sides) note(`  ${side.name}: ${side.locations.join(', ')} (pids ${side.pids.join(', ')})`);
  return sides;
}

async function load(sides: readonly Side[], path: string, rows: number): Promise<void> {
  for (const side of sides) {
    const started = performance.now();
    const [loaded] = (await side.clients[0].executeAction('load_parquet', { table: TABLE, path, mode: 'replace' })) as { rows: number }[];
    if (loaded?.rows !== rows) throw new Error(`${side.name} server 1 loaded ${loaded?.rows} rows from ${path}, expected ${rows}`);
    note(`  ${side.name}: loaded ${count(rows)} rows into server 1 in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

// ---------------------------------------------------------------------------------------------
// One timed run

/** PUT, ours: the table fetched into this process first (untimed), then a timed DoPut of it. */
async function oursPut(side: Side, onProgress: ProgressCallback, beforeTiming: () => void): Promise<OperationResult> {
  const [source, target] = side.clients;
  await dropTableIfExists(target, TABLE);
  const held: RecordBatch[] = [];
  for await (const batch of source.streamQuery(`SELECT * FROM "${TABLE}"`)) held.push(batch);
  beforeTiming();
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  const started = performance.now();
  function* counted(): Generator<RecordBatch> {
    for (const batch of held) {
      rows += batch.numRows;
      batches++;
      bytes += batch.data.byteLength;
      onProgress(rows);
      yield batch;
    }
  }
  const uploaded = await target.uploadData(TABLE, counted(), { mode: 'replace' });
  const seconds = (performance.now() - started) / 1000;
  held.length = 0;
  const [a, b] = await Promise.all([tableStats(source, TABLE), tableStats(target, TABLE)]);
  let verification = compareTables(a, b, rows);
  if (verification.ok && uploaded.rows !== rows)
    verification = { ok: false, detail: `the target says it stored ${uploaded.rows} rows, the client sent ${rows}` };
  return { operation: 'PUT', rows, seconds, bytes, batches, verification };
}

async function measureOurs(side: Side, op: OperationKey, onProgress: ProgressCallback): Promise<Sample> {
  const [s1, s2] = side.clients;
  const pids = [side.pids[0], side.pids[1], process.pid];
  const resetPeaks = () => pids.forEach(resetPeakRss);
  let result: OperationResult;
  if (op === 'put') {
    result = await oursPut(side, onProgress, resetPeaks);
  } else {
    if (op !== 'get' && op !== 'exchange') await dropTableIfExists(s2, TABLE);
    resetPeaks();
    result =
      op === 'get'
        ? await runGet({ client: s1, table: TABLE, onProgress })
        : op === 'transfer-client'
          ? await runTransferThroughClient({ source: s1, target: s2, table: TABLE, onProgress })
          : op === 'transfer-direct'
            ? await runTransferDirect({ source: s1, target: s2, table: TABLE, onProgress })
            : await runExchange({ client: s1, table: TABLE, onProgress });
  }
  // The peaks are read after the harness's verification queries, which stream and hold little.
  const memory: PeakMemory = { server1: readPeakRss(pids[0]!), server2: readPeakRss(pids[1]!), client: readPeakRss(pids[2]!) };
  if (op !== 'get' && op !== 'exchange') await dropTableIfExists(s2, TABLE);
  return {
    rows: result.rows,
    seconds: result.seconds,
    rowsPerSecond: result.rows / result.seconds,
    bytes: op === 'transfer-direct' ? null : (result.bytes ?? null),
    batches: result.batches,
    ok: result.verification.ok,
    detail: result.verification.detail,
    memory,
  };
}

interface ReferenceLine {
  rows: number;
  seconds: number;
  bytes: number | null;
  batches: number;
  verification: { ok: boolean; detail: string };
  client_peak_rss_bytes: number | null;
  server1_peak_rss_bytes: number | null;
  server2_peak_rss_bytes: number | null;
}

/** One run of bench/reference/client.py; it times and verifies, and reports the peaks. */
async function measureReference(side: Side, op: OperationKey): Promise<Sample> {
  const args = [
    join(root, 'bench', 'reference', 'client.py'),
    '--server1',
    side.locations[0],
    '--server2',
    side.locations[1],
    '--op',
    op,
    '--table',
    TABLE,
    '--checksum-sql',
    tableChecksumSql(TABLE),
  ];
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  pythonChildren.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  pythonChildren.delete(child);
  const line = stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line || (exit.code !== 0 && exit.code !== 1)) {
    throw new Error(`the reference client failed on ${op} (${describeExit(exit)}):\n${stderr.trim().split('\n').slice(-15).join('\n')}`);
  }
  const r = JSON.parse(line) as ReferenceLine;
  return {
    rows: r.rows,
    seconds: r.seconds,
    rowsPerSecond: r.rows / r.seconds,
    bytes: r.bytes,
    batches: r.batches,
    ok: r.verification.ok,
    detail: r.verification.detail,
    memory: { client: r.client_peak_rss_bytes, server1: r.server1_peak_rss_bytes, server2: r.server2_peak_rss_bytes },
  };
}

function summarize(samples: Sample[]): SideSummary {
  const highest = (pick: (m: PeakMemory) => number | null) => {
    const values = samples.map((s) => pick(s.memory)).filter((v): v is number => v !== null);
    return values.length > 0 ? Math.max(...values) : null;
  };
  return {
    samples,
    rowsPerSecond: spread(samples.map((s) => s.rowsPerSecond)),
    seconds: spread(samples.map((s) => s.seconds)),
    peakMemory: { client: highest((m) => m.client), server1: highest((m) => m.server1), server2: highest((m) => m.server2) },
    verified: samples.every((s) => s.ok),
  };
}

/** Every run of `op` on both sides, alternating (the first side flips each run). */
async function measureCell(sides: readonly Side[], op: OperationKey, rows: number, batchRows: number, tag: string): Promise<Cell> {
  const samples = new Map<Side['name'], Sample[]>(sides.map((s) => [s.name, []]));
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) {
      const label = `${tag} ${OPERATION_LABELS[op]} run ${run + 1}/${runs} ${side.name}`;
      const sample = await withHeartbeat(label, (progress) =>
        side.name === 'ours' ? measureOurs(side, op, progress) : measureReference(side, op),
      );
      samples.get(side.name)!.push(sample);
      note(
        `  ${label}: ${sample.seconds.toFixed(3)} s, ${millions(sample.rowsPerSecond)}${sample.ok ? '' : `, VERIFICATION FAILED: ${sample.detail}`}`,
      );
      if (sample.rows !== rows && sample.ok) throw new Error(`${label} moved ${sample.rows} rows, the dataset has ${rows}`);
    }
  }
  const ours = summarize(samples.get('ours')!);
  const reference = samples.has('reference') ? summarize(samples.get('reference')!) : null;
  const ratio = reference ? ours.rowsPerSecond.median / reference.rowsPerSecond.median : null;
  note(
    `${tag} ${OPERATION_LABELS[op]}: ours ${millions(ours.rowsPerSecond.median)}` +
      (reference ? `, reference ${millions(reference.rowsPerSecond.median)}, ours/reference ${ratio!.toFixed(2)}` : ''),
  );
  return { op, operation: OPERATION_LABELS[op], rows, batchRows, ours, reference, ratio };
}

/**
 * Freshly started servers (and the first calls of this process) run slower until V8 has compiled
 * their hot paths: `warmups` untimed runs of each operation on each side, on a small dataset.
 */
async function warmUp(sides: readonly Side[], path: string, rows: number): Promise<void> {
  if (warmups === 0) return;
  note(`warming up: ${warmups} untimed run(s) of each operation on each side, ${count(rows)} rows`);
  await load(sides, path, rows);
  for (let i = 0; i < warmups; i++) {
    for (const op of ops) {
      for (const side of sides) {
        const sample = await withHeartbeat(`warm-up ${OPERATION_LABELS[op]} ${side.name}`, (progress) =>
          side.name === 'ours' ? measureOurs(side, op, progress) : measureReference(side, op),
        );
        if (!sample.ok) note(`  warm-up ${OPERATION_LABELS[op]} ${side.name}: VERIFICATION FAILED: ${sample.detail}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-benchmarks, run as they are

/** Runs a bench script as a child process, its output on our stderr; returns the JSON it wrote. */
async function runMicro(script: string, args: string[]): Promise<MicroResult> {
  note(`micro: node --import tsx bench/${script} ${args.join(' ')}`);
  const child = spawn(process.execPath, [...DUCK_FLIGHT_NODE_FLAGS, '--import', 'tsx', join(root, 'bench', script), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let written: string | null = null;
  const forward = (stream: NodeJS.ReadableStream) =>
    createInterface({ input: stream }).on('line', (line) => {
      const match = /^wrote (.+\.json)$/.exec(line.trim());
      if (match) written = match[1]!;
      note(`  [${script}] ${line}`);
    });
  forward(child.stdout!);
  forward(child.stderr!);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('exit', (code, signal) => r({ code, signal })),
  );
  if (exit.code !== 0) throw new Error(`bench/${script} failed (${describeExit(exit)})`);
  if (written === null) throw new Error(`bench/${script} did not say which file it wrote`);
  const payload = JSON.parse(readFileSync(written, 'utf8')) as { results?: unknown };
  return { path: written, results: script === 'flight.ts' ? payload.results : payload };
}

// ---------------------------------------------------------------------------------------------
// Versions and the report

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', ...name.split('/'), 'package.json'), 'utf8')) as { version: string })
      .version;
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  }
}

async function pythonVersions(): Promise<Record<string, string>> {
  const child = spawn(
    python,
    ['-c', 'import sys, pyarrow, duckdb; print(sys.version.split()[0], pyarrow.__version__, duckdb.__version__)'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const [py, pyarrow, duckdb] = out.trim().split(' ');
  if (code !== 0 || !duckdb) throw new Error(`${python} cannot import pyarrow and duckdb: run \`npm run peers\``);
  return { python: py!, pyarrow: pyarrow!, 'duckdb (python)': duckdb };
}

function datasetPath(rows: number): string {
  return rows === FLIGHTS_DEFAULT_ROWS ? join(dataDir, 'flights.parquet') : join(dataDir, `flights-${rows}.parquet`);
}

function printSummary(report: RunReport): void {
  const withRef = report.options.reference;
  const mb = (v: number | null) => (v === null ? '-' : String(Math.round(v / 1e6)));
  const table = new Table({
    head: [
      'rows',
      'batch',
      'operation',
      'ours rows/s',
      ...(withRef ? ['reference rows/s', 'ours/ref'] : []),
      'ours peak MB s1/s2',
      ...(withRef ? ['ref peak MB s1/s2'] : []),
      'ok',
    ],
    style: { head: [], border: [] },
  });
  for (const c of [...report.matrix, ...report.sweep.filter((s) => !report.matrix.includes(s))]) {
    table.push([
      shortCount(c.rows),
      shortCount(c.batchRows, true),
      c.operation,
      millions(c.ours.rowsPerSecond.median),
      ...(withRef ? [c.reference ? millions(c.reference.rowsPerSecond.median) : '-', c.ratio === null ? '-' : c.ratio.toFixed(2)] : []),
      `${mb(c.ours.peakMemory.server1)}/${mb(c.ours.peakMemory.server2)}`,
      ...(withRef ? [c.reference ? `${mb(c.reference.peakMemory.server1)}/${mb(c.reference.peakMemory.server2)}` : '-'] : []),
      c.ours.verified && (c.reference?.verified ?? true) ? '✓' : '✗',
    ]);
  }
  console.log(table.toString());
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = performance.now();
  const versions: Record<string, string> = {
    '@duckdb/node-api': packageVersion('@duckdb/node-api'),
    'apache-arrow': packageVersion('apache-arrow'),
    '@grpc/grpc-js': packageVersion('@grpc/grpc-js'),
    tinybench: packageVersion('tinybench'),
    ...(argv.reference ? await pythonVersions() : {}),
  };
  const machine = { ...machineFacts(), versions };
  note(
    `bench: rows ${rowCounts.map((r) => shortCount(r)).join(', ')}; ${runs} run(s) each; ops ${ops.join(', ')}; ` +
      (sweepAt !== null
        ? `batch sweep ${sweepSizes.map((b) => shortCount(b, true)).join('/')} at ${shortCount(sweepAt)}; `
        : 'no sweep; ') +
      (argv.reference ? `reference: pyarrow ${versions['pyarrow']}, duckdb ${versions['duckdb (python)']}` : 'no reference'),
  );
  note(
    `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverage.toFixed(2)}; node ${machine.node}`,
  );

  const sizes = [...new Set([...rowCounts, ...(sweepAt !== null ? [sweepAt] : [])])].sort((a, b) => a - b);
  const datasets: { rows: number; path: string }[] = [];
  for (const rows of sizes) {
    const file = await ensureFlightsParquet({
      rows,
      path: datasetPath(rows),
      onProgress: progressBar(`generating ${count(rows)} flights`),
    });
    datasets.push({ rows, path: file.path });
  }
  const pathOf = (rows: number) => datasets.find((d) => d.rows === rows)!.path;

  const micro: RunReport['micro'] = { flight: null, bridge: null };
  if (argv.micro) {
    micro.flight = await runMicro('flight.ts', argv.quick ? ['--kinds', 'int64,flights', '--rows', '64K', '--time', '300'] : []);
    // The bridge's rates per row need no 24M rows; at 24M it holds every batch (several GB) too.
    micro.bridge = await runMicro('bridge.ts', ['--parquet', pathOf(rowCounts[0]!), '--runs', String(argv.quick ? 1 : runs)]);
  }

  const matrix: Cell[] = [];
  const smallest = rowCounts[0]!;
  let sides = await startSides(DEFAULT_BATCH_ROWS);
  await warmUp(sides, pathOf(smallest), smallest);
  for (const rows of rowCounts) {
    note(`\n== ${count(rows)} rows`);
    await load(sides, pathOf(rows), rows);
    for (const op of ops) matrix.push(await measureCell(sides, op, rows, DEFAULT_BATCH_ROWS, `[${shortCount(rows)}]`));
  }

  const sweep: Cell[] = [];
  if (sweepAt !== null) {
    for (const batchRows of sweepSizes) {
      const measured = matrix.filter((c) => c.rows === sweepAt && c.batchRows === batchRows);
      if (measured.length === ops.length) {
        sweep.push(...measured);
        continue;
      }
      note(`\n== batch sweep: ${count(sweepAt)} rows, DoGet batches of ${count(batchRows)} rows`);
      await Promise.all(sides.map((s) => s.stop()));
      sides = await startSides(batchRows);
      await warmUp(sides, pathOf(smallest), smallest);
      await load(sides, pathOf(sweepAt), sweepAt);
      for (const op of ops)
        sweep.push(await measureCell(sides, op, sweepAt, batchRows, `[${shortCount(sweepAt)} @${shortCount(batchRows, true)}]`));
    }
  }
  await Promise.all(sides.map((s) => s.stop()));

  const report: RunReport = {
    name: 'run',
    date: new Date().toISOString(),
    machine,
    options: {
      rows: rowCounts,
      runs,
      batchRows: DEFAULT_BATCH_ROWS,
      sweepBatchRows: sweepAt !== null ? sweepSizes : [],
      sweepAt,
      ops,
      warmups,
      reference: argv.reference,
      referencePutMode: argv['reference-put-mode'],
    },
    datasets,
    matrix,
    sweep,
    micro,
    seconds: (performance.now() - started) / 1000,
  };
  mkdirSync(outDir, { recursive: true });
  const stamp = report.date.replace(/[:.]/g, '-');
  const jsonPath = join(outDir, `run-${stamp}.json`);
  const htmlPath = join(outDir, `run-${stamp}.html`);
  writeFileSync(jsonPath, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(htmlPath, renderChart(report));
  console.log();
  printSummary(report);
  console.log(`results: ${jsonPath}`);
  console.log(`chart:   ${htmlPath}`);
  const failed = [...matrix, ...sweep].filter((c) => !c.ours.verified || c.reference?.verified === false);
  if (failed.length > 0) {
    console.log(`VERIFICATION FAILED: ${failed.map((c) => `${c.operation} at ${count(c.rows)} rows`).join('; ')}`);
    return 1;
  }
  return 0;
}

try {
  const code = await main();
  await stopEverything();
  process.exit(code);
} catch (error) {
  await fail(error instanceof Error ? (error.stack ?? error.message) : String(error));
}
