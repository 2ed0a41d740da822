// Shared by the reliability tests: client processes to kill, /proc sampling of a server
// process, and the row checksum of data/flights.ts read over Flight.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { Table } from 'apache-arrow';
import { rowsBatch, rowsSql } from '../../bench/load.ts';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { tableChecksumSql } from '../../data/flights.ts';
import { REPO_ROOT } from '../support/duck-server.ts';
import { cpuSeconds, residentBytes, rows } from '../server/helpers.ts';

const CLIENT_SCRIPT = join(REPO_ROOT, 'test', 'reliability', 'fixtures', 'client.ts');
const SERVER_SCRIPT = join(REPO_ROOT, 'test', 'reliability', 'fixtures', 'server.ts');
const PRELOAD = join(REPO_ROOT, 'test', 'support', 'stop-with-parent.mjs');
const ENVIRONMENT = join(REPO_ROOT, 'test', 'support', 'environment.ts');

/** Rows [start, start + n) of the upload table (id, v = id * 0.5, s = 'row-<id>'): bench/load.ts's rows. */
export const uploadBatch = rowsBatch;

/** `uploadBatch(start, n)` as a Table (what uploadData takes). */
export function uploadTable(start: number, n: number): Table {
  return new Table([uploadBatch(start, n)]);
}

/** The same rows as `uploadBatch(start, n)`, made by DuckDB: what a table holding them must equal. */
export const uploadRowsSql = rowsSql;

export interface ClientProcess {
  child: ChildProcessWithoutNullStreams;
  /** Lines printed so far on stdout. */
  lines(): string[];
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process ends first). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Starts test/reliability/fixtures/client.ts as its own process (it dies with us). */
export function spawnClient(mode: 'get' | 'stall' | 'put' | 'call', location: string, args: object): ClientProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', PRELOAD, '--import', ENVIRONMENT, CLIENT_SCRIPT, mode, location, JSON.stringify(args)],
    {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    },
  );
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    for (const l of listeners) l();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const lines = () => out.split('\n').filter((l) => l.length > 0);
  const waitForLine = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        for (const line of lines()) {
          const m = pattern.exec(line);
          if (m) {
            done();
            resolve(m);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`the client process printed no line matching ${pattern} within ${timeoutMs} ms; stderr:\n${err}`));
      }, timeoutMs);
      const ended = () => {
        done();
        reject(new Error(`the client process exited before printing a line matching ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
      };
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', ended);
      };
      listeners.add(check);
      child.once('exit', ended);
      check();
    });
  return {
    child,
    lines,
    stderr: () => err,
    waitForLine,
    exited,
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface FixtureServer {
  child: ChildProcessWithoutNullStreams;
  location: string;
  stderr(): string;
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after 10 s; resolves with the exit code. */
  stop(): Promise<number | string>;
}

/**
 * Starts test/reliability/fixtures/server.ts: DuckDBFlightServer with `options` (grpc-js channel
 * options the CLI has no flags for) as its own process, which dies with us.
 */
export async function spawnFixtureServer(options: object, env: Record<string, string> = {}): Promise<FixtureServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', PRELOAD, '--import', ENVIRONMENT, SERVER_SCRIPT, JSON.stringify(options)],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: 'pipe',
    },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const location = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the fixture server did not start within 60 s; stderr:\n${err}`)), 60_000);
    const check = () => {
      const m = /^duck-flight listening on (\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the fixture server exited (${code}) before listening; stderr:\n${err}`));
    });
  });
  return {
    child,
    location,
    stderr: () => err,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          return await exited;
        } finally {
          clearTimeout(timer);
        }
      }
      return exited;
    },
  };
}

/** Row count and checksum of a table (data/flights.ts tableChecksumSql), read over DoGet. */
export async function checksum(client: DuckDBFlightClient, table: string): Promise<{ rows: bigint; checksum: bigint }> {
  const [row] = rows(await client.executeQuery(tableChecksumSql(table)));
  return { rows: row!['row_count'] as bigint, checksum: row!['checksum'] as bigint };
}

/** CPU seconds a process spends over the next `ms` milliseconds. */
export async function cpuOver(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return cpuSeconds(pid) - before;
}

/** Samples a process's VmRSS every `everyMs` until stopped; `peak` is the largest seen. */
export class RssSampler {
  peak = 0;
  readonly samples: number[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    everyMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): number {
    let rss: number;
    try {
      rss = residentBytes(this.pid);
    } catch {
      return 0; // the process has ended: no /proc entry any more
    }
    this.samples.push(rss);
    if (rss > this.peak) this.peak = rss;
    return rss;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export const MiB = 1024 * 1024;
export const mib = (bytes: number) => `${Math.round(bytes / MiB)} MiB`;
