// The load run: N clients, each on a connection of its own, mix GET, PUT, EXCHANGE and actions
// against one duck-flight server for a bounded time. Every answer is checked as it arrives; when
// the time is up, the uploaded rows are checked against what the clients say they uploaded
// (count and checksum, computed by the server from the upload log). Latency percentiles per
// operation, calls per second and the server's RSS (from /proc) are reported.
//
//   node --import tsx bench/load.ts [--clients 32] [--seconds 60] [--location grpc://host:port]
//
// Without --location it starts its own `duck-flight` (in memory). Writes bench/results/load.json.
// test/reliability/load.test.ts runs a short version of the same function, runLoad().

import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Table, makeVector, vectorFromArray, Utf8, type RecordBatch } from 'apache-arrow';
import CliTable from 'cli-table3';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { DuckDBFlightClient } from '../client/index.ts';
import { tableChecksumSql } from '../data/flights.ts';
import { machineFacts, mulberry32 } from './common.ts';
import { startServer } from './harness/index.ts';

export const LOAD_OPERATIONS = ['get', 'put', 'exchange', 'action'] as const;
export type LoadOperation = (typeof LOAD_OPERATIONS)[number];

export interface LoadOptions {
  location: string;
  clients: number;
  durationMs: number;
  /** The server's pid: its VmRSS is sampled while the load runs. */
  serverPid?: number | undefined;
  /** Relative weights of the operations (default get 35, put 25, exchange 20, action 20). */
  mix?: Partial<Record<LoadOperation, number>>;
  /** Rows of the table the GETs read (default 100,000). */
  baseRows?: number;
  seed?: number;
  /** Deadline of each call, ms (default 60 s): a hung call is an error, not a hung run. */
  callDeadlineMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface LatencyStats {
  calls: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export interface LoadReport {
  clients: number;
  seconds: number;
  calls: number;
  callsPerSecond: number;
  operations: Record<LoadOperation, LatencyStats>;
  /** Errors and wrong answers, "<operation>: <message>" (the first 50). */
  errors: string[];
  errorCount: number;
  verification: {
    uploads: number;
    rowsUploaded: number;
    table: { rows: string; checksum: string };
    expected: { rows: string; checksum: string };
    ok: boolean;
  };
  serverRss: { baselineBytes: number; peakBytes: number; endBytes: number } | null;
}

const BASE = 'load_base';
const PUTS = 'load_puts';
const LOG = 'load_upload_log';
const EXPECTED = 'load_expected';

/** Rows [start, start + n): id, v = id * 0.5, s = 'row-<id>' (the same rows rowsSql makes in DuckDB). */
export function rowsBatch(start: number, n: number): RecordBatch {
  const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(start + i));
  const v = Float64Array.from({ length: n }, (_, i) => (start + i) * 0.5);
  const s = vectorFromArray(
    Array.from({ length: n }, (_, i) => `row-${start + i}`),
    new Utf8(),
  );
  return new Table({ id: makeVector(ids), v: makeVector(v), s }).batches[0]!;
}

/** SQL for the rows of rowsBatch(start, n). */
export function rowsSql(start: number, n: number): string {
  return `SELECT (${start} + i)::BIGINT AS id, ((${start} + i) * 0.5)::DOUBLE AS v, 'row-' || (${start} + i) AS s FROM range(${n}) t(i)`;
}

function residentBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

function stats(latencies: number[], errors: number): LatencyStats {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    calls: latencies.length,
    errors,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? 0),
    meanMs: round(sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0),
  };
}

/** Thrown when an answer arrived but is wrong. */
class WrongAnswer extends Error {}

function expect(condition: boolean, what: string): void {
  if (!condition) throw new WrongAnswer(what);
}

interface Shared {
  baseRows: number;
  baseSum: bigint;
  baseChecksum: { rows: bigint; checksum: bigint };
  /** Each call's deadline, ms from its start. */
  deadlineMs: number;
}

async function checksumOf(client: DuckDBFlightClient, table: string, deadlineMs: number): Promise<{ rows: bigint; checksum: bigint }> {
  const result = await client.executeQuery(tableChecksumSql(table), { deadline: deadlineMs });
  return { rows: result.getChild('row_count')!.get(0) as bigint, checksum: result.getChild('checksum')!.get(0) as bigint };
}

async function doGet(client: DuckDBFlightClient, random: () => number, shared: Shared): Promise<void> {
  const pick = random();
  const options = { deadline: shared.deadlineMs };
  if (pick < 0.4) {
    // The whole table, streamed.
    let rows = 0;
    let sum = 0n;
    for await (const batch of client.streamQuery(`SELECT id, v, s FROM ${BASE}`, options)) {
      for (const id of batch.getChild('id')!.data[0]!.values as BigInt64Array) sum += id;
      rows += batch.numRows;
    }
    expect(rows === shared.baseRows && sum === shared.baseSum, `GET ${BASE}: ${rows} rows summing to ${sum}`);
  } else if (pick < 0.8) {
    // A range of it, every value checked.
    const from = Math.floor(random() * (shared.baseRows - 5000));
    const table = await client.executeQuery(
      `SELECT id, v, s FROM ${BASE} WHERE id >= ${from} AND id < ${from + 5000} ORDER BY id`,
      options,
    );
    expect(table.numRows === 5000, `GET range at ${from}: ${table.numRows} rows`);
    const ids = table.getChild('id')!;
    const v = table.getChild('v')!;
    const s = table.getChild('s')!;
    for (let i = 0; i < table.numRows; i += 97) {
      const id = from + i;
      expect(ids.get(i) === BigInt(id) && v.get(i) === id * 0.5 && s.get(i) === `row-${id}`, `GET range at ${from}: row ${i} is wrong`);
    }
  } else {
    const got = await checksumOf(client, BASE, shared.deadlineMs);
    expect(
      got.rows === shared.baseChecksum.rows && got.checksum === shared.baseChecksum.checksum,
      `GET checksum of ${BASE}: ${got.rows}/${got.checksum}`,
    );
  }
}

async function doPut(client: DuckDBFlightClient, random: () => number, shared: Shared, start: number): Promise<number> {
  const n = 100 + Math.floor(random() * 3900);
  const result = await client.uploadData(PUTS, new Table([rowsBatch(start, n)]), { deadline: shared.deadlineMs });
  expect(result.rows === n && result.table === PUTS, `PUT of ${n} rows answered ${JSON.stringify(result)}`);
  return n;
}

async function doExchange(client: DuckDBFlightClient, random: () => number, shared: Shared): Promise<void> {
  const start = Math.floor(random() * 1e6);
  const input = new Table([rowsBatch(start, 1000), rowsBatch(start + 1000, 1000)]);
  let rows = 0;
  for await (const batch of client.exchange('my_streaming_exchanger', input, { deadline: shared.deadlineMs })) {
    const processed = batch.getChild('processed')!;
    const ids = batch.getChild('id')!;
    expect(processed.nullCount === 0 && [...processed].every((p) => p === true), 'EXCHANGE: a row without processed = true');
    expect(ids.get(0) === BigInt(start + rows), `EXCHANGE: batch starts at ${ids.get(0)}, expected ${start + rows}`);
    rows += batch.numRows;
  }
  expect(rows === 2000, `EXCHANGE: ${rows} rows back for 2000 sent`);
}

async function doAction(client: DuckDBFlightClient, random: () => number, shared: Shared): Promise<void> {
  const pick = Math.floor(random() * 4);
  const options = { deadline: shared.deadlineMs };
  if (pick === 0) {
    const [health] = (await client.executeAction('health', undefined, options)) as [{ status: string }];
    expect(health.status === 'ok', `health: ${JSON.stringify(health)}`);
  } else if (pick === 1) {
    const [answer] = (await client.executeAction('query', `SELECT count(*) AS n FROM ${BASE}`, options)) as [{ rows: unknown[][] }];
    expect(String(answer.rows[0]![0]) === String(shared.baseRows), `query action: ${JSON.stringify(answer)}`);
  } else if (pick === 2) {
    const tables = (await client.executeAction('list_tables', undefined, options))[0] as { name: string; rows: number }[];
    const base = tables.find((t) => t.name === BASE);
    expect(base?.rows === shared.baseRows, `list_tables: ${JSON.stringify(base)}`);
  } else {
    const exchangers = (await client.executeAction('list_exchangers', undefined, options))[0] as { name: string }[];
    expect(
      exchangers.some((e) => e.name === 'my_streaming_exchanger'),
      'list_exchangers lacks my_streaming_exchanger',
    );
  }
}

/**
 * Runs the load and verifies it. The server must be empty of the load_* tables or have them
 * from an earlier run (they are replaced).
 */
export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const log = options.log ?? (() => {});
  const baseRows = options.baseRows ?? 100_000;
  const weights = { get: 35, put: 25, exchange: 20, action: 20, ...options.mix };
  const total = LOAD_OPERATIONS.reduce((sum, op) => sum + weights[op], 0);
  const seed = options.seed ?? 1;
  const callDeadline = options.callDeadlineMs ?? 60_000;

  const admin = await DuckDBFlightClient.connect({ location: options.location });
  await admin.executeAction('query', `CREATE OR REPLACE TABLE ${BASE} AS ${rowsSql(0, baseRows)}`);
  await admin.executeAction('query', `CREATE OR REPLACE TABLE ${PUTS} (id BIGINT, v DOUBLE, s VARCHAR)`);
  const shared: Shared = {
    baseRows,
    baseSum: (BigInt(baseRows) * BigInt(baseRows - 1)) / 2n,
    baseChecksum: await checksumOf(admin, BASE, callDeadline),
    deadlineMs: callDeadline,
  };

  const rss = { baseline: options.serverPid ? residentBytes(options.serverPid) : null, peak: 0 };
  const sampler = options.serverPid
    ? setInterval(() => {
        const now = residentBytes(options.serverPid!);
        if (now !== null && now > rss.peak) rss.peak = now;
      }, 100)
    : null;

  const latencies: Record<LoadOperation, number[]> = { get: [], put: [], exchange: [], action: [] };
  const errorCounts: Record<LoadOperation, number> = { get: 0, put: 0, exchange: 0, action: 0 };
  const errors: string[] = [];
  const uploads: { start: number; n: number }[] = [];

  // A connection per client: grpc-js shares one between channels with the same target unless told not to.
  const clients = await Promise.all(
    Array.from({ length: options.clients }, () =>
      DuckDBFlightClient.connect({ location: options.location, flight: { grpcOptions: { 'grpc.use_local_subchannel_pool': 1 } } }),
    ),
  );
  log(`${options.clients} clients connected; running for ${options.durationMs / 1000} s`);
  const started = performance.now();
  const endAt = started + options.durationMs;
  const progress = setInterval(() => {
    const calls = LOAD_OPERATIONS.reduce((sum, op) => sum + latencies[op].length, 0);
    log(`${Math.round((performance.now() - started) / 1000)} s: ${calls} calls, ${errors.length} errors`);
  }, 5000);

  await Promise.all(
    clients.map(async (client, c) => {
      const random = mulberry32(seed * 7919 + c);
      for (let k = 0; performance.now() < endAt; k++) {
        let r = random() * total;
        const operation = LOAD_OPERATIONS.find((op) => (r -= weights[op]) < 0) ?? 'get';
        const t0 = performance.now();
        try {
          if (operation === 'get') await doGet(client, random, shared);
          else if (operation === 'put') {
            const start = c * 1_000_000_000 + k * 10_000;
            uploads.push({ start, n: await doPut(client, random, shared, start) });
          } else if (operation === 'exchange') await doExchange(client, random, shared);
          else await doAction(client, random, shared);
          latencies[operation].push(performance.now() - t0);
        } catch (error) {
          errorCounts[operation]++;
          if (errors.length < 50) errors.push(`${operation}: ${(error as Error).message}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  clearInterval(progress);
  for (const client of clients) client.close();
  if (sampler) clearInterval(sampler);
  const endRss = options.serverPid ? residentBytes(options.serverPid) : null;

  // Every confirmed upload is in the table exactly once, and nothing else is: the server builds
  // the expected rows from the upload log and both sides are checksummed.
  log(`verifying ${uploads.length} uploads`);
  const logTable = new Table({
    start: makeVector(BigInt64Array.from(uploads, (u) => BigInt(u.start))),
    n: makeVector(BigInt64Array.from(uploads, (u) => BigInt(u.n))),
  });
  await admin.uploadData(LOG, logTable, { mode: 'replace' });
  await admin.executeAction(
    'query',
    `CREATE OR REPLACE TABLE ${EXPECTED} AS
       SELECT id, (id * 0.5)::DOUBLE AS v, 'row-' || id AS s
       FROM (SELECT (start + unnest(range(n)))::BIGINT AS id FROM ${LOG})`,
  );
  const table = await checksumOf(admin, PUTS, callDeadline);
  const expected = await checksumOf(admin, EXPECTED, callDeadline);
  admin.close();

  const operations = Object.fromEntries(LOAD_OPERATIONS.map((op) => [op, stats(latencies[op], errorCounts[op])])) as Record<
    LoadOperation,
    LatencyStats
  >;
  const calls = LOAD_OPERATIONS.reduce((sum, op) => sum + latencies[op].length + errorCounts[op], 0);
  return {
    clients: options.clients,
    seconds: Math.round(seconds * 10) / 10,
    calls,
    callsPerSecond: Math.round((calls / seconds) * 10) / 10,
    operations,
    errors,
    errorCount: LOAD_OPERATIONS.reduce((sum, op) => sum + errorCounts[op], 0),
    verification: {
      uploads: uploads.length,
      rowsUploaded: uploads.reduce((sum, u) => sum + u.n, 0),
      table: { rows: String(table.rows), checksum: String(table.checksum) },
      expected: { rows: String(expected.rows), checksum: String(expected.checksum) },
      ok: table.rows === expected.rows && table.checksum === expected.checksum,
    },
    serverRss:
      rss.baseline !== null ? { baselineBytes: rss.baseline, peakBytes: Math.max(rss.peak, rss.baseline), endBytes: endRss ?? 0 } : null,
  };
}

/** The report as a table for the terminal. */
export function formatLoadReport(report: LoadReport): string {
  const table = new CliTable({ head: ['operation', 'calls', 'errors', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'mean ms'] });
  for (const op of LOAD_OPERATIONS) {
    const s = report.operations[op];
    table.push([op.toUpperCase(), s.calls, s.errors, s.p50Ms, s.p95Ms, s.p99Ms, s.maxMs, s.meanMs]);
  }
  const mb = (n: number) => `${Math.round(n / 2 ** 20)} MiB`;
  const rss = report.serverRss
    ? `server RSS ${mb(report.serverRss.baselineBytes)} at start, peak ${mb(report.serverRss.peakBytes)}, ${mb(report.serverRss.endBytes)} at the end`
    : 'server RSS not sampled';
  const v = report.verification;
  return [
    `${report.clients} clients for ${report.seconds} s: ${report.calls} calls (${report.callsPerSecond}/s), ${report.errorCount} errors`,
    table.toString(),
    `uploads: ${v.uploads} (${v.rowsUploaded} rows); table ${v.table.rows} rows / ${v.table.checksum}, expected ${v.expected.rows} / ${v.expected.checksum}: ${v.ok ? 'OK' : 'MISMATCH'}`,
    rss,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = await yargs(hideBin(process.argv))
    .option('clients', { type: 'number', default: 32, describe: 'Concurrent clients, each on its own connection' })
    .option('seconds', { type: 'number', default: 60, describe: 'How long the load runs' })
    .option('location', { type: 'string', describe: 'A running server (default: start one in memory)' })
    .option('seed', { type: 'number', default: 1 })
    .strict()
    .help()
    .parseAsync();
  const server = args.location ? null : await startServer({ name: 'load server', port: 0, host: '127.0.0.1' });
  try {
    const report = await runLoad({
      location: args.location ?? server!.location,
      clients: args.clients,
      durationMs: args.seconds * 1000,
      serverPid: server?.pid,
      seed: args.seed,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    console.log(formatLoadReport(report));
    const dir = join(dirname(fileURLToPath(import.meta.url)), 'results');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'load.json');
    writeFileSync(
      path,
      JSON.stringify({ name: 'load', date: new Date().toISOString(), machine: machineFacts(), ...report }, null, 2) + '\n',
    );
    console.log(`written to ${path}`);
    if (report.errorCount > 0 || !report.verification.ok) process.exitCode = 1;
  } finally {
    await server?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
