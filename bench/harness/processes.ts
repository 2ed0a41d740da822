// Forking and supervising `duck-flight` server processes: start one on a port and wait until it
// says it listens, notice when one dies, stop them all (SIGTERM, then SIGKILL after a timeout).
// A forked server also stops by itself when its parent dies (see exit-with-parent.mjs).

import { spawn, type ChildProcess } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:net';
import { DUCK_FLIGHT_NODE_FLAGS } from '../../servers/node-flags.ts';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The `duck-flight` CLI's source, run through tsx (bin/duck-flight.js runs the build, which may be stale). */
export const DUCK_FLIGHT_BIN = join(here, '..', '..', 'servers', 'cli.ts');
const EXIT_WITH_PARENT = join(here, 'exit-with-parent.mjs');

/** The line the CLI prints on stdout once it accepts calls. */
const READY_LINE = /^duck-flight listening on (\S+)\s*$/;
/** What the CLI (or grpc-js under it) says when the port is taken. */
const PORT_IN_USE = /EADDRINUSE|address already in use|No address added|port already in use/i;
const STDERR_TAIL_LINES = 30;

export type ServerLogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface ServerSpec {
  /** A name for messages, e.g. "server 1". */
  name: string;
  /** Host to bind (default localhost). */
  host?: string;
  /** Port to bind; 0 lets the server pick a free one (read back from its ready line). */
  port: number;
  /** DuckDB database file, or ':memory:' (the default). */
  dbPath?: string;
  /** The server's log level (default warn). Its log lines go to `onStderr`. */
  logLevel?: ServerLogLevel;
  /** user -> password: the server starts with --auth and these users (via DUCK_FLIGHT_USERS). */
  users?: Readonly<Record<string, string>>;
  /** More CLI arguments, e.g. ['--batch-rows', '131072']. */
  extraArgs?: readonly string[];
  /** How long to wait for the ready line (default 60 s). */
  readyTimeoutMs?: number;
  /** Called with every line the server writes on stderr (its JSON logs, its errors). */
  onStderr?: (line: string) => void;
}

/** How a process ended. */
export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`;
}

/** Why a server did not start; `reason` lets a caller phrase its own advice (which option to pass). */
export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly reason: 'port-in-use' | 'exited' | 'timeout' | 'spawn-failed',
    readonly spec: ServerSpec,
    readonly stderr: readonly string[],
  ) {
    super(message);
    this.name = 'ServerStartError';
  }
}

/** A forked `duck-flight` process: `ready` resolves once it listens. */
export class ServerProcess {
  /** Resolves with the location once the server prints its ready line; rejects with a ServerStartError. */
  readonly ready: Promise<string>;
  /** Resolves when the process has exited, however it ended. */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private stopRequested = false;
  private readyLocation: string | null = null;
  private readonly tail: string[] = [];

  constructor(
    readonly spec: ServerSpec,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.tail.push(line);
      if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
      spec.onStderr?.(line);
    });
    // Kept open for the life of the child: its end is the child's signal that we are gone.
    child.stdin!.on('error', () => {});
    this.ready = this.waitForReady();
    this.ready.catch(() => {}); // the caller awaits it; a child stopped before ready is no unhandled rejection
  }

  private waitForReady(): Promise<string> {
    const { spec, child, tail } = this;
    return new Promise<string>((resolve, reject) => {
      const timeout = spec.readyTimeoutMs ?? 60_000;
      let settled = false;
      const fail = (reason: ServerStartError['reason'], message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const said = tail.length > 0 ? `\n${tail.map((l) => `  | ${l}`).join('\n')}` : '';
        reject(new ServerStartError(`${message}${said}`, reason, spec, [...tail]));
      };
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        fail('timeout', `${spec.name} did not report ready within ${timeout} ms`);
      }, timeout);
      child.once('error', (error) => fail('spawn-failed', `${spec.name}: could not start ${process.execPath}: ${error.message}`));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const match = READY_LINE.exec(line);
        if (match && !settled) {
          settled = true;
          clearTimeout(timer);
          this.readyLocation = match[1]!;
          resolve(match[1]!);
        }
      });
      child.once('exit', (code, signal) => {
        // Let the last stderr lines arrive before reading them.
        setImmediate(() => {
          const exit = describeExit({ code, signal });
          if (tail.some((l) => PORT_IN_USE.test(l))) fail('port-in-use', `${spec.name}: port ${spec.port} is in use (${exit})`);
          else fail('exited', `${spec.name} exited before it was ready (${exit})`);
        });
      });
    });
  }

  /** Where to reach it, as the server printed it (grpc://host:port); throws before it is ready. */
  get location(): string {
    if (this.readyLocation === null) throw new Error(`${this.spec.name} is not ready yet: await its ready promise first`);
    return this.readyLocation;
  }

  get name(): string {
    return this.spec.name;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The port it listens on (the real one when it was started on port 0). */
  get port(): number {
    return Number(new URL(this.location.replace(/^grpc(\+\w+)?:/, 'http:')).port);
  }

  get isReady(): boolean {
    return this.readyLocation !== null;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** How it ended, or null while it runs. */
  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  /** True once `stop` was called: an exit after that is expected. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** The last lines it wrote on stderr. */
  stderrTail(): string[] {
    return [...this.tail];
  }

  /**
   * Stops the server: SIGTERM (the CLI then finishes or cancels its calls and exits), and SIGKILL
   * if it is still running after `timeoutMs`. Resolves with how it ended; safe to call twice.
   */
  async stop(timeoutMs = 5000): Promise<ExitInfo> {
    this.stopRequested = true;
    if (this.exitInfo) return this.exitInfo;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return first;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** Immediate SIGKILL, for process exit paths that cannot wait. */
  killNow(): void {
    this.stopRequested = true;
    if (this.exitInfo === null) this.child.kill('SIGKILL');
  }
}

/**
 * True when nothing listens on `port` at any address `host` resolves to: the addresses the
 * server would bind (grpc-js binds every one of them).
 */
export async function isPortFree(host: string, port: number): Promise<boolean> {
  const addresses = (await lookup(host, { all: true })).map((a) => a.address);
  for (const address of addresses) {
    const free = await new Promise<boolean>((resolve, reject) => {
      const probe = createServer();
      probe.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
        // No such address here (no IPv6, say): nothing can be listening on it.
        else if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') resolve(true);
        else reject(error);
      });
      probe.listen({ host: address, port, exclusive: true }, () => probe.close(() => resolve(true)));
    });
    if (!free) return false;
  }
  return true;
}

function forkArgs(spec: ServerSpec): { args: string[]; env: NodeJS.ProcessEnv } {
  const args = [
    ...DUCK_FLIGHT_NODE_FLAGS,
    '--import',
    'tsx',
    '--import',
    EXIT_WITH_PARENT,
    DUCK_FLIGHT_BIN,
    '--host',
    spec.host ?? 'localhost',
    '--port',
    String(spec.port),
    '--db-path',
    spec.dbPath ?? ':memory:',
    '--log-level',
    spec.logLevel ?? 'warn',
    ...(spec.users ? ['--auth'] : []),
    ...(spec.extraArgs ?? []),
  ];
  const env = { ...process.env };
  delete env['DUCK_FLIGHT_USERS'];
  if (spec.users) {
    env['DUCK_FLIGHT_USERS'] = Object.entries(spec.users)
      .map(([user, password]) => `${user}:${password}`)
      .join(',');
  }
  return { args, env };
}

/**
 * Forks `node --import tsx servers/cli.ts` for `spec` now; `await server.ready` for its location. The
 * child's stdout is read for the ready line, its stderr goes line by line to `spec.onStderr` and
 * its last lines are kept for error messages (a port in use is reason 'port-in-use').
 */
export function spawnServer(spec: ServerSpec): ServerProcess {
  const { args, env } = forkArgs(spec);
  // Its own process group: a Ctrl-C on the terminal reaches the parent only, which then stops
  // its children in order instead of every process reacting at once.
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  return new ServerProcess(spec, child);
}

/** Throws a ServerStartError (reason 'port-in-use') when `spec.port` is fixed and taken. */
export async function checkPort(spec: ServerSpec): Promise<void> {
  if (spec.port !== 0 && !(await isPortFree(spec.host ?? 'localhost', spec.port))) {
    throw new ServerStartError(`${spec.name}: port ${spec.port} is in use`, 'port-in-use', spec, []);
  }
}

/**
 * Checks the port, forks the server and resolves once it listens. A port in use is a
 * ServerStartError with reason 'port-in-use', found before forking or from what the child says.
 *
 * @example
 *   const server = await startServer({ name: 'server 1', port: 0 });
 *   const client = await DuckDBFlightClient.connect({ location: server.location });
 *   ...
 *   await server.stop();
 */
export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  await checkPort(spec);
  const server = spawnServer(spec);
  await server.ready;
  return server;
}

/**
 * Owns a set of servers: starts them, reports one that dies without being asked to, and stops
 * them all. Registers a last-resort SIGKILL of every child on process exit.
 *
 * @example
 *   const group = new ServerGroup((server, exit) => { console.error(`${server.name} died`); process.exit(1); });
 *   const [a, b] = await Promise.all([group.start({ name: 'a', port: 0 }), group.start({ name: 'b', port: 0 })]);
 *   ...
 *   await group.stopAll();
 */
export class ServerGroup {
  readonly servers: ServerProcess[] = [];
  private readonly killOnExit = () => {
    for (const server of this.servers) server.killNow();
  };

  constructor(private readonly onUnexpectedExit?: (server: ServerProcess, exit: ExitInfo) => void) {
    process.on('exit', this.killOnExit);
  }

  /** Like startServer, but the group owns the process from the moment it is forked. */
  async start(spec: ServerSpec): Promise<ServerProcess> {
    await checkPort(spec);
    const server = spawnServer(spec);
    this.servers.push(server);
    await server.ready;
    void server.exited.then((exit) => {
      if (!server.stopping) this.onUnexpectedExit?.(server, exit);
    });
    return server;
  }

  /** The servers that died, after they were ready, without being asked to stop. */
  crashed(): ServerProcess[] {
    return this.servers.filter((s) => !s.running && !s.stopping && s.isReady);
  }

  /** Stops every server at once (SIGTERM, SIGKILL after `timeoutMs`). */
  async stopAll(timeoutMs = 5000): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop(timeoutMs)));
    process.off('exit', this.killOnExit);
  }

  /** SIGKILL to every server still running, without waiting. */
  killAll(): void {
    this.killOnExit();
  }
}
