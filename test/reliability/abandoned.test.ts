// DoGets whose clients stop reading and then go away (the process dies: the socket closes with
// no reset and no status) while the server waits on them: the connections their queries ran on
// must go back to the pool with no query and no transaction left open, or a later CHECKPOINT
// (the one SIGTERM runs before exit) fails with "other write transactions active".
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnServer, tempDir } from '../support/duck-server.ts';
import { waitFor } from '../server/helpers.ts';
import { spawnClient } from './support.ts';

describe('DoGets abandoned by clients that stopped reading', () => {
  const dir = tempDir();
  after(() => dir.remove());

  test('leave no transaction open: a later write is checkpointed at SIGTERM, exit 0, the data is kept', async () => {
    const dbPath = join(dir.path, 'abandoned.duckdb');
    const server = await spawnServer({ dbPath, logLevel: 'info' });
    try {
      const setup = await server.connect();
      await setup.executeAction('query', `CREATE TABLE big AS SELECT i, 'row-' || i AS s FROM range(3000000) t(i)`);
      setup.close();

      const stalled = [0, 1].map(() => spawnClient('stall', server.location, { sql: 'SELECT * FROM big' }));
      for (const client of stalled) await client.waitForLine(/^stalled \d+/);
      // Give the server time to fill each stream's window and wait on its reader.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      for (const client of stalled) await client.kill('SIGKILL');
      const ended = () => (server.stderr().match(/"msg":"call failed","method":"DoGet"/g) ?? []).length;
      await waitFor(() => ended() >= 2, 'the server to end both DoGets');

      const writer = await server.connect();
      await writer.executeAction('query', 'CREATE TABLE x AS SELECT 1 AS one');
      writer.close();
      assert.equal(await server.stop(), 0, server.stderr());
      assert.doesNotMatch(server.stderr(), /shutdown failed/);
    } finally {
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    }

    const again = await spawnServer({ dbPath });
    const client = await again.connect();
    try {
      const [answer] = (await client.executeAction('query', 'SELECT (SELECT count(*) FROM big) AS big, (SELECT count(*) FROM x) AS x')) as {
        rows: unknown[];
      }[];
      assert.deepEqual(answer!.rows, [['3000000', '1']]);
    } finally {
      client.close();
      assert.equal(await again.stop(), 0);
    }
  });
});
