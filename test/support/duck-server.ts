// The duck-flight CLI as a real process, for the server tests: spawnServer() starts
// its TypeScript source (servers/cli.ts through tsx, never a stale build) on a free port, waits for the line it prints when ready, and stops it
// (SIGTERM, then SIGKILL) when the test is done. Also: temp folders, a self-signed certificate,
// and `runCli` for invocations that are expected to exit by themselves (--help, bad options).

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBFlightClient, type DuckDBFlightClientOptions } from '../../client/index.ts';
import { DUCK_FLIGHT_NODE_FLAGS } from '../../servers/node-flags.ts';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(REPO_ROOT, 'servers', 'cli.ts');
const PRELOAD = join(REPO_ROOT, 'test', 'support', 'stop-with-parent.mjs');
const READY = /^duck-flight listening on (grpc(?:\+tls)?:\/\/\S+:(\d+))$/m;

export interface SpawnOptions {
  /** Extra CLI arguments (after --host 127.0.0.1 --port 0 --db-path ...). */
  args?: string[];
  /** --port (default 0: a free one). */
  port?: number;
  /** Database file; default ':memory:'. */
  dbPath?: string;
  /** --log-level (default warn); `info` logs every failed call on stderr. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** How long to wait for the ready line (default 120 s: tsx compiles the server on first start, and CI machines are busy). */
  startTimeoutMs?: number;
}

export interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  port: number;
  /** grpc://127.0.0.1:PORT (grpc+tls:// with --tls-cert). */
  location: string;
  /** Everything the process wrote to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
  /** A DuckDBFlightClient connected to this server. */
  connect(options?: Omit<DuckDBFlightClientOptions, 'host' | 'port' | 'location'>): Promise<DuckDBFlightClient>;
  /** Sends SIGTERM and waits for the exit (SIGKILL after `graceMs`); resolves with the exit code. */
  stop(graceMs?: number): Promise<number | string>;
}

const running = new Set<ChildProcessWithoutNullStreams>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `duck-flight --host 127.0.0.1 --port 0 --db-path <dbPath>` and waits until it listens. */
/** TEST_BRIDGE=native|js runs the servers the tests spawn with that bridge (CI runs both). */
function bridgeArgs(): string[] {
  const bridge = process.env.TEST_BRIDGE;
  return bridge === undefined || bridge === '' ? [] : ['--bridge', bridge];
}

export async function spawnServer(options: SpawnOptions = {}): Promise<ServerProcess> {
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(options.port ?? 0),
    '--db-path',
    options.dbPath ?? ':memory:',
    '--log-level',
    options.logLevel ?? 'warn',
    ...bridgeArgs(),
    ...(options.args ?? []),
  ];
  const child = spawnCli(args, options.env);
  running.add(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  // 'close', not 'exit': by then everything the process wrote has been read.
  const exited = new Promise<number | string>((resolveExit) =>
    child.once('close', (code, signal) => {
      running.delete(child);
      resolveExit(code ?? signal ?? 'unknown');
    }),
  );
  const timeoutMs = options.startTimeoutMs ?? 120_000;
  const match = await new Promise<RegExpExecArray>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`duck-flight did not print its ready line within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    const onData = () => {
      const m = READY.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout.off('data', onData);
        resolveReady(m);
      }
    };
    child.stdout.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`duck-flight exited (${code}) before listening; stderr:\n${err}`));
    });
  });
  const location = match[1]!;
  const port = Number(match[2]);
  const stop = async (graceMs = 15_000): Promise<number | string> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return exited;
  };
  return {
    child,
    port,
    location,
    stdout: () => out,
    stderr: () => err,
    exited,
    stop,
    connect: (clientOptions = {}) => DuckDBFlightClient.connect({ ...clientOptions, location }),
  };
}

/** Spawns the CLI with the test preload (stdin stays a pipe, so the child dies with us). */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [...DUCK_FLIGHT_NODE_FLAGS, '--import', 'tsx', '--import', PRELOAD, CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: 'pipe',
  });
}

/** Runs the CLI to completion (for --help, bad options, a port in use). */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: timeoutMs,
    input: '',
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A port nobody listens on right now (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A fresh temp folder and a function that removes it. */
export function tempDir(prefix = 'duck-flight-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with openssl; throws naming what failed. */
export function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const config = join(dir, 'openssl.cnf');
  // A config file rather than -addext: older openssl builds lack it.
  writeFileSync(
    config,
    [
      '[req]',
      'distinguished_name = dn',
      'x509_extensions = ext',
      'prompt = no',
      '[dn]',
      'CN = localhost',
      '[ext]',
      'subjectAltName = DNS:localhost, IP:127.0.0.1',
      'basicConstraints = critical, CA:TRUE',
      'keyUsage = digitalSignature, keyEncipherment, keyCertSign',
      'extendedKeyUsage = serverAuth',
      '',
    ].join('\n'),
  );
  const result = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-config', config],
    { encoding: 'utf8' },
  );
  if (result.error) throw new Error(`openssl could not be run (${result.error.message}); the TLS tests need it on PATH`);
  if (result.status !== 0) throw new Error(`openssl failed (${result.status}): ${result.stderr}`);
  return { cert, key };
}
