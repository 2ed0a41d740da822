// The performance regression check: this tree against a baseline commit, measured in the same run
// on the same machine, alternating, so that only the ratio between the two decides.
//
//   node --import tsx bench/regression.ts [--ci] [--baseline HEAD~1] [--threshold 0.25]
//        [--rounds 5] [--rows 1M] [--ops get,transfer-client,transfer-direct,exchange]
//        [--timeout SECONDS] [--keep-worktree] [--no-confirm]
//
// The baseline is checked out with `git worktree add` in a temporary directory; it shares this
// tree's node_modules (a symlink) when its package-lock.json is the same, else gets its own
// `npm ci`. Each tree then runs in a worker process of its own (this file with --worker), which
// starts two servers from that tree, loads the flights dataset and times that tree's own
// bench/harness operations on request. After one untimed warm-up round, each round runs every
// operation once in each tree back to back, the tree going first flipping every round. An
// operation fails when its median rows/s in this tree is more than --threshold below the
// baseline's; an operation that looks slower gets as many rounds again, and is judged on all of
// them, before the check fails (--no-confirm skips that). A baseline without bench/harness (the first commits) cannot be measured: the check
// says so and passes. Workers, servers and the worktree are removed however the run ends.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DUCK_FLIGHT_NODE_FLAGS } from '../servers/node-flags.ts';

const thisFile = fileURLToPath(import.meta.url);
const root = resolve(dirname(thisFile), '..');
const TABLE = 'flights';
const PROTOCOL = '@@regression ';

export const REGRESSION_OPERATIONS = ['get', 'transfer-client', 'transfer-direct', 'exchange'] as const;
export type RegressionOperation = (typeof REGRESSION_OPERATIONS)[number];

// ---------------------------------------------------------------------------------------------
// The decision (pure)

/** Throughputs (rows/s) of one operation, one per round, in each tree. */
export interface OperationSamples {
  op: string;
  baseline: readonly number[];
  current: readonly number[];
}

export interface Verdict {
  op: string;
  baselineMedian: number;
  currentMedian: number;
  /** currentMedian / baselineMedian. */
  ratio: number;
  /** False when the current median is more than `threshold` below the baseline's. */
  pass: boolean;
}

export interface Decision {
  pass: boolean;
  threshold: number;
  verdicts: Verdict[];
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Pass or fail, per operation and overall: an operation fails when the median of its current
 * throughputs is below (1 - threshold) x the median of its baseline throughputs. Only the two
 * medians of the same run are compared; no absolute figure enters.
 *
 * @example
 *   decide([{ op: 'get', baseline: [10, 11, 12], current: [8, 8.5, 9] }], 0.25).pass // true: 0.77 of the baseline
 */
export function decide(samples: readonly OperationSamples[], threshold: number): Decision {
  if (!(threshold > 0 && threshold < 1)) throw new Error(`the threshold is a fraction between 0 and 1, got ${threshold}`);
  if (samples.length === 0) throw new Error('no operation was measured');
  const verdicts = samples.map(({ op, baseline, current }): Verdict => {
    for (const [tree, values] of [
      ['baseline', baseline],
      ['current', current],
    ] as const) {
      if (values.length === 0) throw new Error(`${op}: no ${tree} measurement`);
      if (values.some((v) => !Number.isFinite(v) || v <= 0))
        throw new Error(`${op}: a ${tree} throughput is not a positive number (${values.join(', ')})`);
    }
    const baselineMedian = medianOf(baseline);
    const currentMedian = medianOf(current);
    const ratio = currentMedian / baselineMedian;
    return { op, baselineMedian, currentMedian, ratio, pass: ratio >= 1 - threshold };
  });
  return { pass: verdicts.every((v) => v.pass), threshold, verdicts };
}

// ---------------------------------------------------------------------------------------------
// Arguments

interface Options {
  ci: boolean;
  baseline: string;
  threshold: number;
  rounds: number;
  rows: number;
  ops: RegressionOperation[];
  timeoutSeconds: number | null;
  keepWorktree: boolean;
  /** Re-measure an operation below the threshold before failing (--no-confirm to fail at once). */
  confirm: boolean;
}

function parseRows(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text);
  if (!match) throw new Error(`--rows: not a row count: ${JSON.stringify(text)} (e.g. 1000000 or 1M)`);
  return Math.round(Number(match[1]) * { '': 1, k: 1e3, m: 1e6 }[match[2]!.toLowerCase() as '' | 'k' | 'm']);
}

const USAGE = `usage: node --import tsx bench/regression.ts [--ci] [--baseline REF] [--threshold 0.25] [--rounds 5]
       [--rows 1M] [--ops ${REGRESSION_OPERATIONS.join(',')}] [--timeout SECONDS] [--keep-worktree] [--no-confirm]`;

function parseOptions(args: readonly string[]): Options {
  const options: Options = {
    ci: false,
    baseline: 'HEAD~1',
    threshold: 0.25,
    rounds: 5,
    rows: 1_000_000,
    ops: [...REGRESSION_OPERATIONS],
    timeoutSeconds: null,
    keepWorktree: false,
    confirm: true,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${arg} needs a value\n${USAGE}`);
      return next;
    };
    if (arg === '--ci') options.ci = true;
    else if (arg === '--baseline') options.baseline = value();
    else if (arg === '--threshold') options.threshold = Number(value());
    else if (arg === '--rounds') options.rounds = Number(value());
    else if (arg === '--rows') options.rows = parseRows(value());
    else if (arg === '--timeout') options.timeoutSeconds = Number(value());
    else if (arg === '--keep-worktree') options.keepWorktree = true;
    else if (arg === '--no-confirm') options.confirm = false;
    else if (arg === '--ops') {
      options.ops = value()
        .split(',')
        .map((op) => {
          if (!(REGRESSION_OPERATIONS as readonly string[]).includes(op))
            throw new Error(`--ops: unknown operation ${JSON.stringify(op)}; use ${REGRESSION_OPERATIONS.join(', ')}`);
          return op as RegressionOperation;
        });
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${arg}\n${USAGE}`);
  }
  if (options.ci && options.timeoutSeconds === null) options.timeoutSeconds = 900;
  if (!(options.threshold > 0 && options.threshold < 1))
    throw new Error(`--threshold is a fraction between 0 and 1, got ${options.threshold}`);
  if (!Number.isInteger(options.rounds) || options.rounds < 1)
    throw new Error(`--rounds must be a positive integer, got ${options.rounds}`);
  if (options.timeoutSeconds !== null && !(options.timeoutSeconds > 0))
    throw new Error(`--timeout must be positive seconds, got ${options.timeoutSeconds}`);
  if (options.ops.length === 0) throw new Error('--ops lists no operation');
  return options;
}

// ---------------------------------------------------------------------------------------------
// The worker: runs inside one tree, with that tree's servers, client and harness.

interface WorkerResult {
  rows: number;
  seconds: number;
  verification: { ok: boolean; detail: string };
}

/** What the worker needs of a tree's bench/harness and client; checked before use. */
interface TreeModules {
  ServerGroup: new (onUnexpectedExit?: (server: { name: string }, exit: { code: number | null; signal: string | null }) => void) => {
    start(spec: {
      name: string;
      port: number;
      logLevel?: string;
      onStderr?: (line: string) => void;
    }): Promise<{ location: string; pid: number }>;
    stopAll(): Promise<void>;
  };
  runGet(o: { client: unknown; table: string }): Promise<WorkerResult>;
  runTransferThroughClient(o: { source: unknown; target: unknown; table: string }): Promise<WorkerResult>;
  runTransferDirect(o: { source: unknown; target: unknown; table: string }): Promise<WorkerResult>;
  runExchange(o: { client: unknown; table: string }): Promise<WorkerResult>;
  DuckDBFlightClient: {
    connect(o: {
      location: string;
      maxAttempts?: number;
    }): Promise<{ executeAction(type: string, body?: unknown): Promise<unknown[]>; close(): void }>;
  };
}

function send(message: object): void {
  process.stdout.write(`${PROTOCOL}${JSON.stringify(message)}\n`);
}

async function worker(args: readonly string[]): Promise<void> {
  const tree = args[args.indexOf('--tree') + 1]!;
  const parquet = args[args.indexOf('--parquet') + 1]!;
  const harness = (await import(pathToFileURL(join(tree, 'bench', 'harness', 'index.ts')).href)) as Record<string, unknown>;
  const client = (await import(pathToFileURL(join(tree, 'client', 'index.ts')).href)) as Record<string, unknown>;
  const modules = { ...harness, ...client };
  const needed = ['ServerGroup', 'runGet', 'runTransferThroughClient', 'runTransferDirect', 'runExchange', 'DuckDBFlightClient'];
  const missing = needed.filter((name) => typeof modules[name] !== 'function');
  if (missing.length > 0) {
    send({ type: 'unsupported', detail: `its bench/harness or client lacks ${missing.join(', ')}` });
    return;
  }
  const m = modules as unknown as TreeModules;
  const group = new m.ServerGroup((server, exit) => {
    send({ type: 'error', detail: `${server.name} exited unexpectedly (code ${exit.code}, signal ${exit.signal})` });
    process.exit(1);
  });
  const servers = await Promise.all(
    [1, 2].map((i) =>
      group.start({ name: `server ${i}`, port: 0, logLevel: 'warn', onStderr: (line) => process.stderr.write(`[server ${i}] ${line}\n`) }),
    ),
  );
  const [s1, s2] = await Promise.all(servers.map((s) => m.DuckDBFlightClient.connect({ location: s.location, maxAttempts: 8 })));
  // Frees the target's copy after a transfer, where the tree's harness can (the next transfer drops it anyway).
  const drop = modules['dropTableIfExists'];
  const dropTarget = async () => {
    if (typeof drop === 'function') await (drop as (client: unknown, table: string) => Promise<void>)(s2, TABLE);
  };
  const [loaded] = (await s1!.executeAction('load_parquet', { table: TABLE, path: parquet, mode: 'replace' })) as { rows: number }[];
  send({ type: 'ready', rows: loaded?.rows, pids: servers.map((s) => s.pid) });

  for await (const line of createInterface({ input: process.stdin })) {
    const { op } = JSON.parse(line) as { op: RegressionOperation };
    const result =
      op === 'get'
        ? await m.runGet({ client: s1, table: TABLE })
        : op === 'transfer-client'
          ? await m.runTransferThroughClient({ source: s1, target: s2, table: TABLE })
          : op === 'transfer-direct'
            ? await m.runTransferDirect({ source: s1, target: s2, table: TABLE })
            : op === 'exchange'
              ? await m.runExchange({ client: s1, table: TABLE })
              : null;
    if (result === null) throw new Error(`the worker knows no operation ${JSON.stringify(op)}`);
    if (op.startsWith('transfer')) await dropTarget();
    send({
      type: 'result',
      op,
      rows: result.rows,
      seconds: result.seconds,
      ok: result.verification.ok,
      detail: result.verification.detail,
    });
  }
  s1!.close();
  s2!.close();
  await group.stopAll();
}

// ---------------------------------------------------------------------------------------------
// The coordinator

const note = (line: string) => process.stderr.write(`${line}\n`);

function git(args: readonly string[], cwd = root): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim(), err: (r.stderr ?? '').trim() };
}

/** A tree's worker process, answering one request at a time. */
class Worker {
  private readonly pending: ((message: Record<string, unknown>) => void)[] = [];
  readonly ready: Promise<Record<string, unknown>>;
  readonly exited: Promise<number | null>;
  private readonly tail: string[] = [];

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      note(`  [${name}] ${line}`);
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith(PROTOCOL)) this.pending.shift()?.(JSON.parse(line.slice(PROTOCOL.length)) as Record<string, unknown>);
      else note(`  [${name}] ${line}`);
    });
    this.ready = this.next();
    this.ready.catch(() => {}); // awaited by the coordinator; an early exit is no unhandled rejection
  }

  private next(): Promise<Record<string, unknown>> {
    return new Promise((resolveMessage, reject) => {
      this.pending.push(resolveMessage);
      void this.exited.then((code) =>
        reject(
          new Error(
            `the ${this.name} worker exited (code ${code}) before answering${this.tail.length > 0 ? `:\n${this.tail.map((l) => `  | ${l}`).join('\n')}` : ''}`,
          ),
        ),
      );
    });
  }

  async run(op: RegressionOperation): Promise<{ rows: number; seconds: number; ok: boolean; detail: string }> {
    const answer = this.next();
    this.child.stdin!.write(`${JSON.stringify({ op })}\n`);
    const message = await answer;
    if (message['type'] !== 'result') throw new Error(`the ${this.name} worker answered ${JSON.stringify(message)}`);
    return message as unknown as { rows: number; seconds: number; ok: boolean; detail: string };
  }

  /** Ends its stdin (it stops its servers and exits); SIGKILL after `ms`. */
  async stop(ms = 20_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

function startWorker(name: string, tree: string, parquet: string): Worker {
  // cwd is the tree, so that `--import tsx` and the tree's own modules resolve from its node_modules.
  const child = spawn(
    process.execPath,
    [...DUCK_FLIGHT_NODE_FLAGS, '--import', 'tsx', thisFile, '--worker', '--tree', tree, '--parquet', parquet],
    { cwd: tree, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  return new Worker(name, child);
}

interface Cleanup {
  workers: Worker[];
  worktree: string | null;
  tempDir: string | null;
}

async function cleanUp(state: Cleanup, keepWorktree: boolean): Promise<void> {
  await Promise.all(state.workers.map((w) => w.stop()));
  state.workers.length = 0;
  if (state.worktree && !keepWorktree) {
    const removed = git(['worktree', 'remove', '--force', state.worktree]);
    if (!removed.ok) note(`regression: git worktree remove failed (${removed.err}); deleting the directory`);
    state.worktree = null;
  }
  if (state.tempDir && !keepWorktree) {
    rmSync(state.tempDir, { recursive: true, force: true });
    git(['worktree', 'prune']);
    state.tempDir = null;
  }
}

/** Why the baseline cannot be measured, or null when it can. */
function baselineProblem(commit: string): string | null {
  for (const path of ['bench/harness/index.ts', 'client/index.ts', 'bin/duck-flight.js', 'package-lock.json']) {
    if (!git(['cat-file', '-e', `${commit}:${path}`]).ok) return `it has no ${path}`;
  }
  return null;
}

function sameLockfile(commit: string): boolean {
  const baseline = spawnSync('git', ['show', `${commit}:package-lock.json`], { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return baseline.status === 0 && baseline.stdout === readFileSync(join(root, 'package-lock.json'), 'utf8');
}

async function runCommand(command: string, args: readonly string[], cwd: string): Promise<void> {
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${code})`);
}

async function coordinate(options: Options): Promise<number> {
  const started = performance.now();
  const state: Cleanup = { workers: [], worktree: null, tempDir: null };
  let finishing = false;
  const abort = async (message: string, code: number) => {
    if (finishing) return;
    finishing = true;
    note(`regression: ${message}`);
    await cleanUp(state, options.keepWorktree);
    process.exit(code);
  };
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)
    process.on(signal, () => void abort(`${signal}: stopping`, code));
  process.on('exit', () => {
    for (const w of state.workers) w.child.kill('SIGKILL');
  });
  const timer =
    options.timeoutSeconds === null
      ? null
      : setTimeout(() => void abort(`FAIL: not done within --timeout ${options.timeoutSeconds} s`, 1), options.timeoutSeconds * 1000);
  timer?.unref();

  try {
    // 1. The baseline commit.
    const resolved = git(['rev-parse', '--verify', '--quiet', `${options.baseline}^{commit}`]);
    if (!resolved.ok) {
      if (git(['rev-parse', '--is-shallow-repository']).out === 'true') {
        throw new Error(
          `cannot resolve the baseline ${options.baseline}: this is a shallow clone; fetch more history (git fetch --deepen=1) or pass --baseline REF`,
        );
      }
      if (/^HEAD~\d+$|^HEAD\^+$/.test(options.baseline)) {
        console.log(`regression: PASS (nothing to compare): ${options.baseline} does not exist, HEAD is among the first commits`);
        return 0;
      }
      throw new Error(`cannot resolve the baseline ${JSON.stringify(options.baseline)} to a commit`);
    }
    const commit = resolved.out;
    const subject = git(['log', '-1', '--format=%h %<(50,trunc)%s', commit]).out.trimEnd();
    const problem = baselineProblem(commit);
    if (problem) {
      console.log(`regression: PASS (nothing to compare): the baseline ${subject} has no bench harness to run (${problem})`);
      return 0;
    }
    const head = git(['log', '-1', '--format=%h %<(50,trunc)%s']).out.trimEnd();
    const dirty = git(['status', '--porcelain', '--untracked-files=no']).out !== '';
    note(
      `regression: current tree ${head}${dirty ? ' with uncommitted changes' : ''} against baseline ${subject}; ${options.rows.toLocaleString('en-US')} rows, ${options.rounds} rounds, threshold ${(options.threshold * 100).toFixed(0)}%`,
    );

    // 2. The dataset, from this tree's generator (both trees load the same file).
    const { ensureFlightsParquet } = await import('../data/flights.ts');
    const parquet = (await ensureFlightsParquet({ rows: options.rows, path: join(root, 'data', `flights-${options.rows}.parquet`) })).path;

    // 3. The baseline tree.
    state.tempDir = mkdtempSync(join(tmpdir(), 'duck-flight-regression-'));
    const worktree = join(state.tempDir, 'baseline');
    const added = git(['worktree', 'add', '--detach', worktree, commit]);
    if (!added.ok) throw new Error(`git worktree add failed: ${added.err}`);
    state.worktree = worktree;
    if (sameLockfile(commit)) {
      symlinkSync(join(root, 'node_modules'), join(worktree, 'node_modules'), 'dir');
      note('regression: the baseline has the same package-lock.json: sharing node_modules');
    } else {
      note('regression: the baseline has another package-lock.json: npm ci in its worktree');
      await runCommand('npm', ['ci', '--no-audit', '--no-fund'], worktree);
    }

    // 4. The workers.
    const trees = { baseline: worktree, current: root } as const;
    const workers = { baseline: startWorker('baseline', trees.baseline, parquet), current: startWorker('current', trees.current, parquet) };
    state.workers.push(workers.baseline, workers.current);
    for (const [name, worker] of Object.entries(workers)) {
      const ready = await worker.ready;
      if (ready['type'] === 'unsupported') {
        console.log(`regression: PASS (nothing to compare): the baseline ${subject} cannot be run: ${String(ready['detail'])}`);
        if (name === 'current') throw new Error(`this tree cannot be run: ${String(ready['detail'])}`);
        return 0;
      }
      if (ready['type'] !== 'ready' || ready['rows'] !== options.rows)
        throw new Error(`the ${name} worker did not get ready: ${JSON.stringify(ready)}`);
      note(`regression: ${name} ready (servers ${String(ready['pids'])})`);
    }

    // 5. A warm-up round, then the measured rounds.
    const samples = new Map<RegressionOperation, { baseline: number[]; current: number[] }>(
      options.ops.map((op) => [op, { baseline: [], current: [] }]),
    );
    const failures: string[] = [];
    const runRounds = async (ops: readonly RegressionOperation[], rounds: number, label: string, warmUp: boolean) => {
      for (let round = 1; round <= rounds; round++) {
        const order = round % 2 === 0 ? (['baseline', 'current'] as const) : (['current', 'baseline'] as const);
        for (const op of ops) {
          for (const tree of order) {
            const result = await workers[tree].run(op);
            const rate = result.rows / result.seconds;
            note(
              `  ${label} ${round}/${rounds} ${op} ${tree}: ${result.seconds.toFixed(3)} s, ${(rate / 1e6).toFixed(2)} M rows/s${result.ok ? '' : ` VERIFICATION FAILED: ${result.detail}`}`,
            );
            if (!result.ok) {
              if (tree === 'current') failures.push(`${op}: ${result.detail}`);
              else note(`  (the baseline's ${op} fails its own verification: ${result.detail})`);
            }
            if (!warmUp) samples.get(op)![tree].push(rate);
          }
        }
      }
    };
    await runRounds(options.ops, 1, 'warm-up', true);
    await runRounds(options.ops, options.rounds, 'round', false);
    let decision = decide(
      [...samples].map(([op, s]) => ({ op, ...s })),
      options.threshold,
    );
    // A shared machine has slow spells: an operation that looks slower gets as many rounds again,
    // and is judged on all of them, before the check fails.
    const suspects = decision.verdicts.filter((v) => !v.pass).map((v) => v.op as RegressionOperation);
    if (suspects.length > 0 && options.confirm) {
      note(`regression: ${suspects.join(', ')} below the threshold; ${options.rounds} more rounds to confirm`);
      await runRounds(suspects, options.rounds, 'confirm', false);
      decision = decide(
        [...samples].map(([op, s]) => ({ op, ...s })),
        options.threshold,
      );
    }
    await cleanUp(state, options.keepWorktree);

    // 6. The verdict.
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
    console.log(
      `regression check: current ${head}${dirty ? ' (uncommitted changes)' : ''} vs baseline ${subject}, ${options.rows.toLocaleString('en-US')} rows, medians of ${options.rounds} alternating rounds${suspects.length > 0 && options.confirm ? ` (${options.rounds * 2} for ${suspects.join(', ')})` : ''}`,
    );
    for (const v of decision.verdicts) {
      console.log(
        `  ${v.pass ? 'ok  ' : 'FAIL'} ${v.op.padEnd(16)} baseline ${(v.baselineMedian / 1e6).toFixed(2)} M rows/s, current ${(v.currentMedian / 1e6).toFixed(2)} M rows/s (${pct(v.ratio - 1)}; fails below ${pct(-options.threshold)})`,
      );
    }
    for (const f of failures) console.log(`  FAIL verification in the current tree: ${f}`);
    const pass = decision.pass && failures.length === 0;
    const outDir = join(root, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const path = join(outDir, `regression-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(
      path,
      JSON.stringify(
        {
          name: 'regression',
          date: new Date().toISOString(),
          baseline: { ref: options.baseline, commit, subject },
          current: { head, dirty },
          options,
          samples: Object.fromEntries(samples),
          decision,
          verificationFailures: failures,
          pass,
          seconds: (performance.now() - started) / 1000,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`regression: ${pass ? 'PASS' : 'FAIL'} (${Math.round((performance.now() - started) / 1000)} s; ${path})`);
    return pass ? 0 : 1;
  } finally {
    if (timer) clearTimeout(timer);
    if (!finishing) await cleanUp(state, options.keepWorktree);
  }
}

// ---------------------------------------------------------------------------------------------

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  if (args.includes('--worker')) {
    try {
      await worker(args);
    } catch (error) {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    }
  } else {
    let code: number;
    try {
      code = await coordinate(parseOptions(args));
    } catch (error) {
      note(`regression: FAIL: ${error instanceof Error ? error.message : String(error)}`);
      code = 1;
    }
    process.exit(code);
  }
}
