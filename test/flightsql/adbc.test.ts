// Flight SQL as a client no one here wrote sees it: the ADBC Flight SQL driver (Go, driven from
// Python through adbc_driver_flightsql.dbapi) against the duck-flight CLI. Each check is a
// function of test/peers/flightsql/adbc_checks.py, run in its own Python process.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { peerPython } from '../support/peers.ts';

const run = promisify(execFile);
const CHECKS = join(REPO_ROOT, 'test', 'peers', 'flightsql', 'adbc_checks.py');

/** Every check in adbc_checks.py, in its order (a test below keeps the two lists equal). */
const NAMES = [
  'query',
  'parameters',
  'executemany',
  'statement_update',
  'ingest_create',
  'ingest_append',
  'ingest_replace',
  'ingest_create_append',
  'ingest_all_or_nothing',
  'ingest_schema',
  'get_objects',
  'get_table_schema',
  'get_info',
  'get_table_types',
  'transaction_commit',
  'transaction_rollback',
  'transaction_statement_reuse',
  'cancel',
  'errors',
  'plain_face',
  'type_matrix_select',
  'type_matrix_ingest',
];

interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  seconds: number;
}

async function python(args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(peerPython(), [CHECKS, ...args], {
      cwd: REPO_ROOT,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number | string };
    if (typeof e.code !== 'number') throw error; // could not run at all, or timed out
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: e.code };
  }
}

describe('Flight SQL through the ADBC Flight SQL driver (Python dbapi, Go driver)', () => {
  let server: ServerProcess;

  before(async () => {
    const probe = await python(['--list']);
    assert.equal(probe.code, 0, `adbc_checks.py --list failed (run \`npm run peers\` to repair the venv):\n${probe.stderr}`);
    server = await spawnServer();
  });

  after(async () => {
    await server?.stop();
  });

  test('the checks run here are every check adbc_checks.py has', async () => {
    const listed = (await python(['--list'])).stdout.trim().split('\n');
    assert.deepEqual(listed, NAMES);
  });

  for (const name of NAMES) {
    test(name, async () => {
      const { stdout, stderr, code } = await python(['--uri', server.location, '--only', name]);
      const line = stdout.trim().split('\n').pop() ?? '';
      let result: CheckResult;
      try {
        result = JSON.parse(line) as CheckResult;
      } catch {
        assert.fail(`adbc_checks.py printed no result for ${name} (exit ${code}):\n${stdout}\n${stderr}`);
      }
      assert.equal(result.check, name);
      assert.ok(result.ok, `${name} failed:\n${result.detail}\nserver stderr:\n${server.stderr().slice(-2000)}`);
      assert.equal(code, 0, `adbc_checks.py exited ${code}:\n${stderr}`);
    });
  }
});
