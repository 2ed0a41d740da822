// The SQL gate on Flight SQL, as the ADBC Flight SQL driver reaches it: every attack of
// test/support/sql-attacks.ts through a statement query, a statement update (ExecuteUpdate:
// issue 12's attack, which made a --read-only database file ten bytes of text) and a prepared
// statement run as a query and as an update, on a --read-only and on a --no-external-access
// server over a database file. Each cell is refused naming the option; afterwards no file was
// written, the server exits 0, and restarted on the file it serves the data intact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnServer, tempDir, type ServerProcess } from '../support/duck-server.ts';
import { runPeer } from '../support/peers.ts';
import { attacks, INTACT, makeDatabase, refusal, traces, type Mode } from '../support/sql-attacks.ts';
import { one } from '../server/helpers.ts';

const ROUTES = ['query', 'update', 'prepared_query', 'prepared_update'] as const;

interface Outcome {
  route: string;
  sql: string;
  ok: boolean;
  error: string | null;
}

/** Runs each [route, sql] through one ADBC connection (test/peers/flightsql/adbc_statements.py). */
async function throughAdbc(location: string, cells: [string, string][]): Promise<Outcome[]> {
  const { code, stdout, stderr } = await runPeer(
    join('flightsql', 'adbc_statements.py'),
    ['--uri', location, JSON.stringify(cells)],
    300_000,
  );
  assert.equal(code, 0, `adbc_statements.py exited ${code}:\n${stderr}`);
  const outcomes = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Outcome);
  assert.equal(outcomes.length, cells.length, stdout);
  return outcomes;
}

for (const mode of ['--read-only', '--no-external-access'] as Mode[]) {
  describe(`the SQL gate through ADBC with ${mode}`, () => {
    const dir = tempDir();
    const dbPath = join(dir.path, 'served.duckdb');
    let server: ServerProcess;

    before(async () => {
      await makeDatabase(dbPath);
      server = await spawnServer({ dbPath, args: [mode] });
    });
    after(() => {
      if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
      dir.remove();
    });

    test('every attack through every route is refused, naming the option', async () => {
      const cells = attacks(dir.path, dbPath).filter((a) => !a.modes || a.modes.includes(mode));
      const table: [string, string][] = ROUTES.flatMap((route) => cells.map((a) => [route, a.sql] as [string, string]));
      const outcomes = await throughAdbc(server.location, table);
      for (const [i, outcome] of outcomes.entries()) {
        const name = `${outcome.route}: ${cells[i % cells.length]!.name}`;
        assert.equal(outcome.ok, false, `${name} was answered`);
        assert.match(outcome.error ?? '', refusal(mode), name);
        assert.match(outcome.error ?? '', /Unauthorized|PermissionDenied|PERMISSION_DENIED/i, `${name}: ${outcome.error}`);
      }
      assert.deepEqual(traces(dir.path, dbPath), []);
    });

    test('what the option allows still runs', async () => {
      const allowed: [string, string][] = [
        ['query', 'SELECT count(*) AS n FROM t'],
        ['prepared_query', 'SELECT sum(i) AS s FROM t'],
        ['update', 'SET VARIABLE v = 1'],
      ];
      if (mode === '--no-external-access')
        allowed.push(['update', 'CREATE TABLE w AS SELECT 1 AS a'], ['prepared_update', 'INSERT INTO w VALUES (2)']);
      for (const outcome of await throughAdbc(server.location, allowed))
        assert.equal(outcome.ok, true, `${outcome.route} ${outcome.sql}: ${outcome.error}`);
    });

    test('afterwards the server exits 0, and restarted on its file serves the data intact', async () => {
      assert.equal(await server.stop(), 0, server.stderr());
      assert.deepEqual(traces(dir.path, dbPath), []);
      const again = await spawnServer({ dbPath });
      const reader = await again.connect();
      try {
        assert.deepEqual(await one(reader, 'SELECT count(*) AS n, sum(i)::BIGINT AS s FROM t'), { n: INTACT.rows, s: INTACT.sum });
      } finally {
        reader.close();
        assert.equal(await again.stop(), 0);
      }
    });
  });
}
