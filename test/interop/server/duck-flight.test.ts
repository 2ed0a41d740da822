// pyarrow.flight as the client of duck-flight (the CLI as a real process): the seeds' Python
// client flows (test/peers/server/duck_flight_checks.py), with and without auth, and the type
// matrix: for every DuckDB type, what pyarrow reads through our server must equal, schema and
// values, what the duckdb Python package's own Arrow export gives for the same query
// (test/peers/server/duckdb_export_compare.py); and that export uploaded into our server by
// pyarrow reads back as DuckDB's own import of it does. The peers come from `npm run peers`; without
// them these tests fail and say so.
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, tempDir, type ServerProcess } from '../../support/duck-server.ts';
import { EDGE_CASES, MATRIX_SETUP, TYPE_CASES, matrixStatements } from '../../support/duckdb-type-matrix.ts';
import { peerPython, runPeer } from '../../support/peers.ts';

interface CheckLine {
  check: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

interface CompareLine {
  name: string;
  equal: boolean;
  schema_equal?: boolean;
  metadata_equal?: boolean;
  ours?: string;
  duckdb?: string;
  difference?: string | null;
  put_equal?: boolean;
  put_difference?: string | null;
  put_ours?: string;
  put_duckdb?: string;
  ours_invalid?: string | null;
  duckdb_invalid?: string | null;
  error?: string;
}

function jsonLines<T>(stdout: string, script: string, stderr: string): T[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as T;
      } catch {
        throw new Error(`${script} printed a line that is not JSON: ${line}\nstderr: ${stderr.slice(-2000)}`);
      }
    });
}

const CHECKS_SCRIPT = 'server/duck_flight_checks.py';
let checkNames: string[];

before(async () => {
  peerPython(); // fails here, naming `npm run peers`, when the environment is missing
  const listed = await runPeer(CHECKS_SCRIPT, ['--list']);
  assert.equal(listed.code, 0, listed.stderr);
  checkNames = listed.stdout.split('\n').filter((l) => l.trim() !== '');
});

/** Runs the pyarrow checks against `location` and makes one subtest per check. */
async function pyarrowChecks(t: TestContext, location: string, extra: string[], expected: string[]): Promise<void> {
  const result = await runPeer(CHECKS_SCRIPT, ['--location', location, '--timeout', '120', ...extra], 300_000);
  const checks = jsonLines<CheckLine>(result.stdout, CHECKS_SCRIPT, result.stderr);
  for (const check of checks) {
    await t.test(check.check, () => {
      assert.ok(check.ok, `${check.check}: ${check.detail}`);
      t.diagnostic(`${check.check}: ${check.detail} (${check.seconds} s)`);
    });
  }
  assert.deepEqual(
    checks.map((c) => c.check),
    expected,
    `checks run; stderr: ${result.stderr.slice(-2000)}`,
  );
  assert.equal(result.code, 0, `${CHECKS_SCRIPT} exited ${result.code}; stderr: ${result.stderr.slice(-2000)}`);
}

describe('pyarrow client -> duck-flight', () => {
  test("the seeds' client flows (2,000,000 rows through the exchanger, written before reading)", async (t) => {
    const server = await spawnServer();
    try {
      await pyarrowChecks(
        t,
        server.location,
        [],
        checkNames.filter((n) => n !== 'auth'),
      );
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });

  test('with --auth: authenticate_basic_token, then every flow with the bearer token', async (t) => {
    const server = await spawnServer({ args: ['--auth'], env: { DUCK_FLIGHT_USERS: 'duck:qu4ck qu4ck' } });
    try {
      await pyarrowChecks(t, server.location, ['--auth', 'duck:qu4ck qu4ck', '--exchange-rows', '200000'], checkNames);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});

describe("every DuckDB type: pyarrow through duck-flight vs the duckdb package's own Arrow export", () => {
  const SCRIPT = 'server/duckdb_export_compare.py';
  const dir = tempDir();
  let server: ServerProcess;
  let lines: Map<string, CompareLine>;
  let expectedNames: string[];

  before(async () => {
    server = await spawnServer();
    const setup = [MATRIX_SETUP, ...matrixStatements('matrix')];
    const client = await server.connect();
    try {
      for (const statement of setup) await client.executeAction('query', statement);
    } finally {
      client.close();
    }
    const cases = [
      { name: 'whole matrix', query: 'SELECT * FROM matrix ORDER BY k' },
      ...TYPE_CASES.map((c) => ({ name: `${c.name} ${c.type}`, query: `SELECT k, ${c.name} FROM matrix ORDER BY k` })),
      ...EDGE_CASES.map((e) => ({ name: `edge ${e.name}`, query: `SELECT ${e.value} AS ${e.name}` })),
    ];
    expectedNames = cases.map((c) => c.name);
    const file = join(dir.path, 'cases.json');
    writeFileSync(file, JSON.stringify({ setup, cases }));
    const result = await runPeer(SCRIPT, ['--location', server.location, '--cases', file], 300_000);
    const parsed = jsonLines<CompareLine>(result.stdout, SCRIPT, result.stderr);
    lines = new Map(parsed.map((l) => [l.name, l]));
    assert.deepEqual(
      parsed.map((l) => l.name),
      expectedNames,
      `cases compared; stderr: ${result.stderr.slice(-2000)}`,
    );
  });
  after(async () => {
    await server?.stop();
    dir.remove();
  });

  const names = ['whole matrix', ...TYPE_CASES.map((c) => `${c.name} ${c.type}`), ...EDGE_CASES.map((e) => `edge ${e.name}`)];
  for (const name of names) {
    test(name, (t) => {
      const line = lines.get(name);
      assert.ok(line, `no comparison for ${name}`);
      assert.equal(line.error, undefined, `${name} could not be compared: ${line.error}`);
      t.diagnostic(`ours: ${line.ours?.replaceAll('\n', ' | ')}`);
      assert.ok(line.equal, `${name}: ${line.difference}\n  ours:   ${line.ours}\n  duckdb: ${line.duckdb}`);
      // Where DuckDB's own export fails pyarrow's full validation, ours fails it the same way.
      assert.equal(line.ours_invalid, line.duckdb_invalid);
      if (line.ours_invalid) t.diagnostic(`invalid in both, as DuckDB exports it: ${line.ours_invalid}`);
    });
    test(`${name}: DuckDB's export put into duck-flight by pyarrow reads back as DuckDB's own import does`, () => {
      const line = lines.get(name);
      assert.ok(line, `no comparison for ${name}`);
      assert.equal(line.error, undefined, `${name} could not be compared: ${line.error}`);
      assert.ok(line.put_equal, `${name}: ${line.put_difference}\n  ours:   ${line.put_ours}\n  duckdb: ${line.put_duckdb}`);
    });
  }
});
