// The demo, run as a real process: a small complete run, a port in use, a server that dies, and
// the demo stopped by SIGINT or killed outright. In every case no server process is left behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isPortFree, parseReport } from '../../bench/harness/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROWS = 200_000;

let dataDir: string;

before(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'demo-test-'));
});

after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

interface DemoRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or 128 + signal number style: the signal name) when the demo ends. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stderr has named `n` forked servers; with their pids. */
  forked(n: number): Promise<number[]>;
}

function runDemo(extra: string[], rows = ROWS): DemoRun {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'demo.ts', '--rows', String(rows), '--data', join(dataDir, `flights-${rows}.parquet`), ...extra],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const run: DemoRun = {
    child,
    stdout: '',
    stderr: '',
    done: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    forked: (n) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const pids = forkedPids(run.stderr);
          if (pids.length >= n) {
            child.stderr!.off('data', check);
            resolve(pids);
          }
        };
        child.stderr!.on('data', check);
        void run.done.then(() => reject(new Error(`the demo ended before forking ${n} servers:\n${run.stderr}`)));
        check();
      }),
  };
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (run.stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (run.stderr += s));
  return run;
}

function forkedPids(stderr: string): number[] {
  return [...stderr.matchAll(/^demo: server \d forked, pid (\d+),/gm)].map((m) => Number(m[1]));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** Waits up to `ms` for every pid to be gone; returns those still alive. */
async function survivors(pids: number[], ms = 0): Promise<number[]> {
  const until = Date.now() + ms;
  for (;;) {
    const alive = pids.filter(isAlive);
    if (alive.length === 0 || Date.now() >= until) return alive;
    await sleep(100);
  }
}

async function listenOnFreePort(): Promise<Server> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return server;
}

describe('npm run demo', () => {
  test('a complete run on free ports verifies every operation and leaves no server behind', async () => {
    const run = runDemo(['--port1', '0', '--port2', '0']);
    const { code } = await run.done;
    assert.equal(code, 0, `the demo failed:\n${run.stdout}\n${run.stderr}`);

    const report = parseReport(run.stdout);
    assert.deepEqual(
      report.map((r) => r.operation),
      ['GET', 'TRANSFER (client)', 'TRANSFER (direct)', 'EXCHANGE'],
    );
    for (const row of report) assert.equal(row.ok, true, `${row.operation}: ${row.detail}`);
    assert.match(report.find((r) => r.operation === 'EXCHANGE')!.detail, /processed all true/);
    assert.match(report.find((r) => r.operation === 'TRANSFER (direct)')!.detail, /checksum equal/);
    for (const row of report) assert.match(row.detail, new RegExp(`^${ROWS} rows`));
    assert.match(run.stdout, /server 2's copy: verified/);
    assert.match(run.stdout, /all checks passed/);

    const pids = forkedPids(run.stderr);
    assert.equal(pids.length, 2);
    assert.deepEqual(await survivors(pids), [], 'a server outlived the demo');
    const ports = [...run.stdout.matchAll(/^server \d: grpc:\/\/localhost:(\d+) \(pid/gm)].map((m) => Number(m[1]));
    assert.equal(ports.length, 2);
    for (const port of ports) assert.equal(await isPortFree('localhost', port), true, `port ${port} is still taken`);
  });

  test('--auth: the forked servers require a login and the demo logs in with a generated password', async () => {
    const rows = 5000;
    const run = runDemo(['--port1', '0', '--port2', '0', '--auth'], rows);
    const { code } = await run.done;
    assert.equal(code, 0, `the demo failed:\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /server 1: ok, .*logged in as demo/);
    assert.match(run.stdout, /server 2: ok, .*logged in as demo/);
    assert.match(run.stdout, /server 1: a call without credentials is refused \(UNAUTHENTICATED\)/);
    assert.match(run.stdout, /server 2: a call without credentials is refused \(UNAUTHENTICATED\)/);
    const report = parseReport(run.stdout);
    assert.equal(report.length, 4);
    for (const row of report) assert.equal(row.ok, true, `${row.operation}: ${row.detail}`);
    assert.deepEqual(await survivors(forkedPids(run.stderr)), []);
  });

  test('a port in use is a clear message, and the other server is stopped', async () => {
    const blocker = await listenOnFreePort();
    const port = (blocker.address() as { port: number }).port;
    try {
      const run = runDemo(['--port1', String(port), '--port2', '0']);
      const { code } = await run.done;
      assert.equal(code, 1);
      assert.match(run.stderr, new RegExp(`port ${port} is in use: pass --port1 .*--server1-location`));
      assert.deepEqual(await survivors(forkedPids(run.stderr)), []);
    } finally {
      blocker.close();
    }
  });

  test('a server that dies stops the demo with a message naming it, and the other server with it', async () => {
    const run = runDemo(['--port1', '0', '--port2', '0']);
    const pids = await run.forked(2);
    const server1 = Number(/^demo: server 1 forked, pid (\d+),/m.exec(run.stderr)![1]);
    process.kill(server1, 'SIGKILL');
    const { code } = await run.done;
    assert.equal(code, 1);
    assert.match(run.stderr, new RegExp(`server 1 \\(pid ${server1}, [^)]+\\) exited unexpectedly \\(killed by SIGKILL\\)`));
    assert.deepEqual(await survivors(pids), []);
  });

  test('SIGINT stops both servers and exits 130', async () => {
    const run = runDemo(['--port1', '0', '--port2', '0']);
    const pids = await run.forked(2);
    run.child.kill('SIGINT');
    const { code } = await run.done;
    assert.equal(code, 130);
    assert.match(run.stderr, /SIGINT: stopping the servers/);
    assert.deepEqual(await survivors(pids), []);
  });

  test('servers stop by themselves when the demo is killed outright', async () => {
    const run = runDemo(['--port1', '0', '--port2', '0']);
    const pids = await run.forked(2);
    run.child.kill('SIGKILL');
    await run.done;
    // No handler runs in a killed process: the servers see their stdin close and stop themselves.
    assert.deepEqual(await survivors(pids, 20_000), []);
  });
});
