// The package as a user gets it: `npm pack` (which runs the build), the tarball installed into an
// empty project from npm's cache (`npm ci --offline`, with a lockfile made of the tarball and our
// lockfile's production entries: the dependencies `npm ci` fetched here, no registry), the
// two entry points imported by name from plain ESM and type-checked from TypeScript, the internals
// refused, and `duck-flight` started from the project's bin answering a DoGet.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '../support/duck-server.ts';

let dir: string;
let project: string;
let packed: { filename: string; integrity: string; files: { path: string }[] };

function run(command: string, args: string[], cwd: string, timeout = 180_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
  });
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(' ')} failed in ${cwd} (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`,
  );
  return result;
}

interface LockEntry {
  dev?: boolean;
  [key: string]: unknown;
}

/** A lockfile for `manifest`: the tarball, and our own lockfile's production entries below it. */
function projectLock(manifest: { name: string; version: string; dependencies: Record<string, string> }, tarball: string): object {
  const ours = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const root = ours.packages['']!;
  const packages: Record<string, LockEntry> = {
    '': { name: manifest.name, version: manifest.version, dependencies: manifest.dependencies },
    'node_modules/duck-takes-flight': {
      version: root['version'],
      resolved: tarball,
      integrity: packed.integrity,
      license: root['license'],
      dependencies: root['dependencies'],
      bin: root['bin'],
      engines: root['engines'],
    },
  };
  for (const [path, entry] of Object.entries(ours.packages)) if (path !== '' && !entry.dev) packages[path] = entry;
  return { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'pack-test-'));
  project = join(dir, 'project');
  const pack = run('npm', ['pack', '--json', '--pack-destination', dir], REPO_ROOT);
  packed = (JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as (typeof packed)[])[0]!;
  mkdirSync(project);
  const tarball = `file:../${packed.filename}`;
  const manifest = {
    name: 'pack-test-project',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies: { 'duck-takes-flight': tarball },
  };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest));
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(projectLock(manifest, tarball)));
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack, installed into an empty project', () => {
  test('the tarball holds the build, the bin, the README and the LICENSE, and no tests or sources', () => {
    const paths = packed.files.map((f) => f.path);
    for (const path of [
      'package.json',
      'README.md',
      'LICENSE',
      'bin/duck-flight.js',
      'dist/flight/index.js',
      'dist/flight/index.d.ts',
      'dist/duckdb.js',
      'dist/duckdb.d.ts',
      'dist/servers/cli.js',
      'dist/flight/index.js.map',
    ]) {
      assert.ok(paths.includes(path), `${path} is not in the tarball`);
    }
    const stray = paths.filter(
      (p) => !/^(dist|bin|native)\//.test(p) && !['package.json', 'README.md', 'LICENSE', 'binding.gyp'].includes(p),
    );
    assert.deepEqual(stray, []);
    assert.deepEqual(
      paths.filter((p) => p.endsWith('.ts') && !p.endsWith('.d.ts')),
      [],
    );
  });

  test('ESM imports both entry points by name; an internal module is not exported', () => {
    writeFileSync(
      join(project, 'imports.mjs'),
      `import * as flight from 'duck-takes-flight';
import * as duckdb from 'duck-takes-flight/duckdb';
let internal;
try {
  await import('duck-takes-flight/flight/h2-connection.js');
  internal = 'imported';
} catch (error) {
  internal = error.code;
}
console.log(JSON.stringify({
  flight: ['FlightClient', 'FlightServer', 'FlightError', 'TokenAuthenticator', 'FlightDataEncoder', 'FlightDataDecoder', 'schemaToIpcMessage'].map((n) => [n, typeof flight[n]]),
  duckdb: ['DuckDBFlightServer', 'DuckDBFlightClient', 'streamQuery', 'appendBatches', 'SERVER_VERSION'].map((n) => [n, typeof duckdb[n]]),
  internal,
}));
`,
    );
    const out = JSON.parse(run(process.execPath, ['imports.mjs'], project).stdout) as {
      flight: [string, string][];
      duckdb: [string, string][];
      internal: string;
    };
    for (const [name, type] of out.flight) assert.equal(type, 'function', `duck-takes-flight exports no ${name}`);
    for (const [name, type] of out.duckdb)
      assert.equal(type, name === 'SERVER_VERSION' ? 'string' : 'function', `duck-takes-flight/duckdb exports no ${name}`);
    assert.equal(out.internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  });

  test('the types ship: TypeScript checks a user module against the installed package', () => {
    writeFileSync(
      join(project, 'check.ts'),
      `import { FlightClient, FlightError, type FlightClientOptions } from 'duck-takes-flight';
import { DuckDBFlightServer, DuckDBFlightClient, type DuckDBFlightServerOptions } from 'duck-takes-flight/duckdb';
// @ts-expect-error: internals have no export
import type {} from 'duck-takes-flight/flight/h2-connection.js';

const options: DuckDBFlightServerOptions = { dbPath: ':memory:', port: 0 };
const clientOptions: FlightClientOptions = { maxMessageBytes: 1 << 20 };
export async function use(): Promise<number> {
  const server = await DuckDBFlightServer.start(options);
  const client = await DuckDBFlightClient.connect({ location: server.location });
  const table = await client.executeQuery('SELECT 1 AS x');
  client.close();
  await server.close();
  // @ts-expect-error: a misspelt option is a type error
  const misspelt: FlightClientOptions = { maxMesageBytes: 1 };
  new FlightClient('grpc://localhost:1', { ...clientOptions, ...misspelt }).close();
  return table.numRows + (FlightError.notFound('x').kind === 'not-found' ? 0 : 1);
}
`,
    );
    const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--skipLibCheck',
      '--typeRoots',
      join(REPO_ROOT, 'node_modules', '@types'),
      '--types',
      'node',
      'check.ts',
    ];
    const result = spawnSync(process.execPath, [tsc, ...args], { cwd: project, encoding: 'utf8', timeout: 120_000 });
    assert.equal(result.status, 0, `tsc found errors in a module using the package:\n${result.stdout}${result.stderr}`);
  });

  test('duck-flight from the bin serves on a free port, and the packaged client does a DoGet', async () => {
    const child = spawn(
      join(project, 'node_modules', '.bin', 'duck-flight'),
      ['--host', '127.0.0.1', '--port', '0', '--db-path', ':memory:', '--log-level', 'warn'],
      { cwd: project, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    try {
      const location = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`duck-flight did not say it listens within 60 s:\n${stdout}\n${stderr}`)), 60_000);
        const check = () => {
          const match = /^duck-flight listening on (\S+)$/m.exec(stdout);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        };
        child.stdout.on('data', check);
        void exited.then((code) => reject(new Error(`duck-flight exited (${code}) before it listened:\n${stderr}`)));
      });
      writeFileSync(
        join(project, 'doget.mjs'),
        `import { FlightClient } from 'duck-takes-flight';
import { DuckDBFlightClient } from 'duck-takes-flight/duckdb';
const location = process.argv[2];
const duck = await DuckDBFlightClient.connect({ location });
const table = await duck.executeQuery("SELECT i AS id, 'duck ' || i AS name FROM range(1000) t(i)");
duck.close();
const flight = new FlightClient(location);
const answer = await flight.doGet('SELECT 42 AS answer').readAll();
flight.close();
const last = table.get(999);
console.log(JSON.stringify({ rows: table.numRows, last: [Number(last.id), last.name], schema: table.schema.fields.map((f) => f.name), answer: answer.getChild('answer').get(0) }));
`,
      );
      const out = JSON.parse(run(process.execPath, ['doget.mjs', location], project, 60_000).stdout) as Record<string, unknown>;
      assert.deepEqual(out, { rows: 1000, last: [999, 'duck 999'], schema: ['id', 'name'], answer: 42 });
    } finally {
      child.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, `duck-flight did not stop cleanly on SIGTERM:\n${stderr}`);
    }
  });
});
