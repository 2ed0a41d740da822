// The SQL gate on the plain Flight face: every attack of test/support/sql-attacks.ts through
// every route that runs SQL, on a --read-only and on a --no-external-access server over a
// database file. Each cell is refused with PERMISSION_DENIED naming the option; afterwards no
// file was written, the server exits 0, and restarted on the file it serves the data intact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { FlightDescriptor, FlightError } from '../../flight/index.ts';
import { spawnServer, tempDir, type ServerProcess } from '../support/duck-server.ts';
import { attacks, INTACT, makeDatabase, refusal, traces, type Mode } from '../support/sql-attacks.ts';
import { one, rejectsWith } from './helpers.ts';

/** Routes that describe a statement without running it. */
const DESCRIBING = new Set(['GetFlightInfo', 'GetSchema']);

/** The routes of the plain face that take SQL from a client. */
const ROUTES: Record<string, (client: DuckDBFlightClient, sql: string) => Promise<unknown>> = {
  'DoGet ticket': (client, sql) => client.executeQuery(sql),
  'DoGet ticket, after a first statement': (client, sql) => client.executeQuery(`SELECT 1; ${sql}`),
  'query action': (client, sql) => client.executeAction('query', sql),
  'query action, after a first statement': (client, sql) => client.executeAction('query', `SELECT 1; ${sql}`),
  GetFlightInfo: (client, sql) => client.flight.getFlightInfo(FlightDescriptor.command(sql)),
  GetSchema: (client, sql) => client.flight.getSchema(FlightDescriptor.command(sql)),
};

for (const mode of ['--read-only', '--no-external-access'] as Mode[]) {
  describe(`the SQL gate with ${mode}`, () => {
    const dir = tempDir();
    const dbPath = join(dir.path, 'served.duckdb');
    let server: ServerProcess;
    let client: DuckDBFlightClient;

    before(async () => {
      await makeDatabase(dbPath);
      server = await spawnServer({ dbPath, args: [mode] });
      client = await server.connect();
    });
    after(() => {
      client?.close();
      if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
      dir.remove();
    });

    const cells = attacks(dir.path, dbPath).filter((a) => !a.modes || a.modes.includes(mode));
    for (const [route, run] of Object.entries(ROUTES)) {
      test(`${route}: every attack is refused`, async () => {
        for (const attack of cells) {
          if (attack.whenRun && DESCRIBING.has(route)) continue;
          await assert.rejects(
            run(client, attack.sql),
            (error: unknown) => {
              assert.ok(error instanceof FlightError, `${attack.name}: ${String(error)}`);
              assert.equal(error.kind, 'permission-denied', `${attack.name}: ${error.kind}: ${error.message}`);
              assert.match(error.message, refusal(mode), attack.name);
              return true;
            },
            `${route}: ${attack.name} was answered`,
          );
        }
        assert.deepEqual(traces(dir.path, dbPath), []);
      });
    }

    test('DoExchange: registering a transform is refused, or its SQL is', async () => {
      for (const attack of cells) {
        const refused = client.executeAction('register_exchanger', { name: 'x', sql: `SELECT * FROM input, (${attack.sql}) AS f` });
        if (mode === '--read-only')
          await rejectsWith(refused, 'permission-denied', /read-only: register_exchanger is refused \(--read-only\)/);
        else
          await assert.rejects(
            refused,
            (error: unknown) => error instanceof FlightError && ['permission-denied', 'invalid-argument'].includes(error.kind),
          );
      }
      if (mode === '--read-only') {
        await rejectsWith(
          client.executeAction('unregister_exchanger', 'echo'),
          'permission-denied',
          /read-only: unregister_exchanger is refused/,
        );
      } else {
        await rejectsWith(
          client.executeAction('register_exchanger', { name: 'x', sql: `SELECT * FROM input, read_blob('${dbPath}.wal')` }),
          'permission-denied',
          /--no-external-access: read_blob \(it reads files\) is refused/,
        );
      }
      assert.deepEqual(traces(dir.path, dbPath), []);
    });

    test('what the option allows still runs on every route', async () => {
      const allowed = [
        'SELECT count(*) AS n FROM t',
        'EXPLAIN SELECT * FROM t',
        "PRAGMA table_info('t')",
        'SET VARIABLE v = 1',
        'BEGIN; SELECT 1 AS one; COMMIT',
      ];
      if (mode === '--no-external-access')
        allowed.push('CREATE TABLE IF NOT EXISTS w (a INT)', 'INSERT INTO w VALUES (1)', 'DELETE FROM w');
      for (const sql of allowed) {
        await client.executeQuery(sql);
        await client.executeAction('query', sql);
      }
      assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM t'), { n: INTACT.rows });
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
