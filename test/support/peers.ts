// The pyarrow reference peers (test/peers/README.md) as child processes: the echo-store server,
// the client checks and the type matrix, run with the interpreter scripts/setup-peers.sh builds.
// A missing environment is an error that says how to make it, never a skip.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC, type Table } from 'apache-arrow';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const PEERS = join(REPO_ROOT, 'test', 'peers');

/** The peer interpreter (in $DUCK_FLIGHT_PEERS_VENV, else .peers/venv); throws, naming the fix, when the environment was never built. */
export function peerPython(): string {
  const python = join(process.env['DUCK_FLIGHT_PEERS_VENV'] ?? join(REPO_ROOT, '.peers', 'venv'), 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error(`the pyarrow peer environment is missing (${python}): \`npm test\` builds it (bash scripts/setup-peers.sh)`);
  }
  return python;
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a peer script to completion (stdin closed at once); rejects only if it cannot start or outlives `timeoutMs`. */
export function runPeer(script: string, args: string[], timeoutMs = 120_000): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(peerPython(), [join(PEERS, script), ...args], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} ${args.join(' ')} ran longer than ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export interface CheckLine {
  check: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

/** client_checks.py against `location`: every JSON line it printed, and how it exited. */
export async function runClientChecks(location: string, extra: string[] = []): Promise<{ checks: CheckLine[]; result: ProcessResult }> {
  const result = await runPeer('client_checks.py', ['--location', location, '--timeout', '60', ...extra]);
  const checks: CheckLine[] = [];
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      checks.push(JSON.parse(line) as CheckLine);
    } catch {
      throw new Error(`client_checks.py printed a line that is not JSON: ${line}\nstderr: ${result.stderr.slice(-2000)}`);
    }
  }
  return { checks, result };
}

/** The names client_checks.py runs, in order (with --auth, `auth` first). */
export async function clientCheckNames(): Promise<string[]> {
  const result = await runPeer('client_checks.py', ['--list']);
  if (result.code !== 0) throw new Error(`client_checks.py --list failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((l) => l.trim() !== '');
}

export interface ReferenceServer {
  port: number;
  location: string;
  process: ChildProcessWithoutNullStreams;
  /** Closes its stdin (it exits on EOF), then SIGTERM, then SIGKILL; resolves when it is gone. */
  stop(): Promise<void>;
}

/** reference_server.py on 127.0.0.1 with a free port; resolves once it prints LISTENING. */
export function startReferenceServer(options: { auth?: string; tls?: { cert: string; key: string } } = {}): Promise<ReferenceServer> {
  const args = [join(PEERS, 'reference_server.py'), '--port', '0', '--host', '127.0.0.1'];
  if (options.auth) args.push('--auth', options.auth);
  if (options.tls) args.push('--tls-cert', options.tls.cert, '--tls-key', options.tls.key);
  const child = spawn(peerPython(), args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end();
    const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000).unref())]);
    if (gone) return;
    child.kill('SIGTERM');
    const terminated = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000).unref())]);
    if (!terminated) child.kill('SIGKILL');
    await exited;
  };
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`reference_server.py did not print LISTENING within 60 s; stderr: ${stderr.slice(-2000)}`));
    }, 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`reference_server.py exited (code ${code}) before listening; stderr: ${stderr.slice(-2000)}`));
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /LISTENING (\d+)/.exec(stdout);
      if (!match) return;
      clearTimeout(timer);
      const port = Number(match[1]);
      const scheme = options.tls ? 'grpc+tls' : 'grpc';
      resolvePromise({ port, location: `${scheme}://127.0.0.1:${port}`, process: child, stop });
    });
  });
}

/** The pyarrow type matrix (type_matrix.py), read from the IPC stream pyarrow writes. */
export async function pyarrowTypeMatrix(): Promise<Table> {
  const dir = mkdtempSync(join(tmpdir(), 'flight-matrix-'));
  try {
    const path = join(dir, 'matrix.arrows');
    const result = await runPeer('type_matrix.py', ['--write-ipc', path]);
    if (result.code !== 0) throw new Error(`type_matrix.py failed (${result.code}): ${result.stderr}`);
    return tableFromIPC(readFileSync(path));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One line a JDBC or Go check program printed: what the client saw, or the error it met. */
export interface ClientCheck {
  check: string;
  result?: unknown;
  error?: string;
}

export interface ClientPeer {
  /** What `command` and `args` run (the server's address goes last). */
  command: string;
  args: string[];
}

const JDBC_VERSION = '18.3.0';

/** The JDBC checks (java + the driver jar + JdbcChecks); throws, naming the fix, when they were never built. */
export function jdbcPeer(): ClientPeer {
  const dir = join(REPO_ROOT, '.peers', 'jdbc');
  const jar = join(dir, `flight-sql-jdbc-driver-${JDBC_VERSION}.jar`);
  const classes = join(dir, 'classes');
  if (!existsSync(jar) || !existsSync(join(classes, 'JdbcChecks.class'))) {
    throw new Error(`the JDBC peer is missing (${jar}, ${classes}): run \`npm run peers\` (or bash scripts/setup-peers-jdbc.sh) first`);
  }
  // Arrow's memory module reaches into java.nio; Java 17 allows it only when asked.
  return { command: 'java', args: ['--add-opens=java.base/java.nio=ALL-UNNAMED', '-cp', `${jar}:${classes}`, 'JdbcChecks'] };
}

/** The arrow-go Flight SQL checks binary; throws, naming the fix, when it was never built. */
export function goPeer(): ClientPeer {
  const binary = join(REPO_ROOT, '.peers', 'go', 'flightsql-checks');
  if (!existsSync(binary)) {
    throw new Error(`the Go peer is missing (${binary}): run \`npm run peers\` (or bash scripts/setup-peers-go.sh) first`);
  }
  return { command: binary, args: ['-addr'] };
}

/** Runs a check program against `address` and returns its checks by name; rejects if it fails or prints other than JSON lines. */
export async function runClientPeer(peer: ClientPeer, address: string, timeoutMs = 180_000): Promise<Map<string, ClientCheck>> {
  const result = await new Promise<ProcessResult>((resolvePromise, reject) => {
    const child = spawn(peer.command, [...peer.args, address], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${peer.command} ran longer than ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  if (result.code !== 0) throw new Error(`${peer.command} exited ${result.code ?? result.signal}; stderr:\n${result.stderr.slice(-3000)}`);
  const checks = new Map<string, ClientCheck>();
  for (const line of result.stdout.split('\n')) {
    if (line.trim() === '') continue;
    let parsed: ClientCheck;
    try {
      parsed = JSON.parse(line) as ClientCheck;
    } catch {
      throw new Error(`${peer.command} printed a line that is not JSON: ${line}\nstderr: ${result.stderr.slice(-2000)}`);
    }
    checks.set(parsed.check, parsed);
  }
  return checks;
}
