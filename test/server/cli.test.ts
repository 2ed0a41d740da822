// The duck-flight CLI's options, each tested by running the process: --help, a port in use,
// bad options, SIGTERM (exit 0, the file database checkpointed), --read-only,
// --no-external-access, --auth, and TLS with a certificate made by openssl.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Table, makeVector, tableFromArrays } from 'apache-arrow';
import { DuckDBFlightClient } from '../../client/index.ts';
import { FlightClient, FlightDescriptor, FlightError } from '../../flight/index.ts';
import { runCli, selfSignedCert, spawnServer, tempDir, type ServerProcess } from '../support/duck-server.ts';
import { makeTestCertificates, type TestCertificates } from '../support/tls.ts';
import { collect, fingerprint, one, rejectsWith, rows, waitFor } from './helpers.ts';

const OPTIONS = [
  '--host',
  '--port',
  '--db-path',
  '--log-level',
  '--log-file',
  '--auth',
  '--users-file',
  '--tls-cert',
  '--tls-key',
  '--tls-client-ca',
  '--read-only',
  '--no-external-access',
  '--batch-rows',
  '--threads',
  '--metrics-port',
  '--metrics-host',
  '--version',
  '--help',
];

describe('the command line', () => {
  test('--help lists every option and exits 0', () => {
    const { status, stdout } = runCli(['--help']);
    assert.equal(status, 0);
    assert.match(stdout, /Serves a DuckDB database over Apache Arrow Flight/);
    for (const option of OPTIONS) assert.ok(stdout.includes(option), `--help mentions ${option}:\n${stdout}`);
  });

  test('--version prints the package version', () => {
    const { status, stdout } = runCli(['--version']);
    assert.equal(status, 0);
    assert.equal(stdout.trim(), '0.1.0');
  });

  test('a port already in use: a message naming it and a non-zero exit', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { status, stdout, stderr } = runCli(['--host', '127.0.0.1', '--port', String(port), '--db-path', ':memory:']);
      assert.notEqual(status, 0);
      assert.equal(stdout, '', 'no ready line');
      assert.match(stderr, new RegExp(`duck-flight: .*address already in use 127\\.0\\.0\\.1:${port}`));
      assert.match(stderr, /is the port already in use\?/);
    } finally {
      blocker.close();
    }
  });

  test('an unknown option is refused with a non-zero exit', () => {
    const { status, stderr } = runCli(['--port', '0', '--bogus-option']);
    assert.notEqual(status, 0);
    assert.match(stderr, /Unknown arguments?: bogus-option/);
  });

  test('--auth without users, and --tls-cert without --tls-key, are refused', () => {
    const env = { DUCK_FLIGHT_USERS: '' };
    const auth = runCli(['--port', '0', '--db-path', ':memory:', '--auth'], env);
    assert.notEqual(auth.status, 0);
    assert.match(auth.stderr, /--auth needs users: --users-file FILE .* or DUCK_FLIGHT_USERS/);
    const tls = runCli(['--port', '0', '--db-path', ':memory:', '--tls-cert', 'cert.pem']);
    assert.notEqual(tls.status, 0);
    assert.match(tls.stderr, /--tls-cert and --tls-key go together/);
  });
});

describe('SIGTERM and a file database', () => {
  const dir = tempDir();
  const dbPath = join(dir.path, 'data.duckdb');
  after(() => dir.remove());

  test('SIGTERM exits 0 having checkpointed; a restart finds the data', async () => {
    const first = await spawnServer({ dbPath, logLevel: 'info' });
    const client = await first.connect();
    await client.uploadData('kept', new Table({ id: makeVector(BigInt64Array.from({ length: 50_000 }, (_, i) => BigInt(i))) }));
    await client.executeAction('query', "CREATE TABLE notes AS SELECT 'hello' AS note UNION ALL SELECT 'world'");
    const before = await fingerprint(client, 'kept');
    client.close();
    assert.equal(await first.stop(), 0, first.stderr());
    assert.match(first.stderr(), /"msg":"shutting down","signal":"SIGTERM"/);
    assert.match(first.stderr(), /"msg":"stopped","signal":"SIGTERM"/);
    // A checkpoint folds the write-ahead log into the database file.
    const wal = `${dbPath}.wal`;
    assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'no write-ahead log left behind');
    assert.ok(statSync(dbPath).size > 0);

    const second = await spawnServer({ dbPath });
    const again = await second.connect();
    try {
      assert.deepEqual(await fingerprint(again, 'kept'), before);
      assert.deepEqual(rows(await again.executeQuery('SELECT note FROM notes ORDER BY note')), [{ note: 'hello' }, { note: 'world' }]);
    } finally {
      again.close();
      assert.equal(await second.stop(), 0);
    }
  });

  test('SIGTERM during a long DoGet: the call is cut off after the grace period, with an error, and the exit is 0', async () => {
    const server = await spawnServer({ dbPath, logLevel: 'info' });
    const client = await server.connect();
    let received = 0;
    const reading = (async () => {
      for await (const batch of client.streamQuery('SELECT * FROM range(100000000)')) {
        received += batch.numRows;
        await new Promise((resolve) => setTimeout(resolve, 20)); // a slow reader: the query cannot finish in the grace period
      }
      return 'ended';
    })().catch((error: unknown) => error);
    await waitFor(() => received > 0, 'the first batch');
    const code = await server.stop(30_000);
    const outcome = await reading;
    client.close();
    assert.equal(code, 0, server.stderr());
    assert.match(server.stderr(), /"msg":"shutting down","signal":"SIGTERM","activeCalls":1/);
    assert.ok(
      outcome instanceof FlightError,
      `the cut-off result must end in an error, not look complete (got ${String(outcome)} after ${received} rows)`,
    );
    assert.ok(['cancelled', 'unavailable'].includes(outcome.kind), `${outcome.kind}: ${outcome.message}`);
    assert.ok(received < 100_000_000);
  });

  test('--read-only serves reads and refuses every write with PERMISSION_DENIED', async () => {
    const server = await spawnServer({ dbPath, args: ['--read-only'] });
    const client = await server.connect();
    try {
      assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM kept'), { n: 50_000n });
      const small = tableFromArrays({ id: BigInt64Array.of(1n) });
      await rejectsWith(client.uploadData('kept', small), 'permission-denied', /read-only: DoPut is refused/);
      await rejectsWith(client.uploadData('fresh', small), 'permission-denied', /read-only/);
      await rejectsWith(client.flight.doPut(FlightDescriptor.command('kept'), small), 'permission-denied', /read-only/);
      await rejectsWith(
        client.executeQuery('INSERT INTO kept VALUES (1)'),
        'permission-denied',
        /read-only: INSERT statements are refused/,
      );
      await rejectsWith(client.executeQuery('CREATE TABLE t (a INT)'), 'permission-denied', /read-only: CREATE statements are refused/);
      await rejectsWith(client.executeQuery('DELETE FROM kept'), 'permission-denied', /read-only/);
      await rejectsWith(
        client.executeAction('query', 'UPDATE kept SET id = 0'),
        'permission-denied',
        /read-only: UPDATE statements are refused/,
      );
      await rejectsWith(
        client.executeAction('query', 'SELECT 1; DROP TABLE kept'),
        'permission-denied',
        /read-only: DROP statements are refused/,
      );
      await rejectsWith(client.dropTable('kept'), 'permission-denied', /read-only: drop_table is refused/);
      await rejectsWith(client.executeAction('load_parquet', { table: 'kept', path: '/dev/null' }), 'permission-denied', /read-only/);
      await rejectsWith(
        client.executeAction('transfer', { source: server.location, query: 'SELECT 1 AS a', table: 'x' }),
        'permission-denied',
        /read-only/,
      );
      const csv = join(dir.path, 'more.csv');
      writeFileSync(csv, 'id\n1\n2\n');
      await rejectsWith(client.executeQuery(`COPY kept FROM '${csv}'`), 'permission-denied', /read-only: COPY statements are refused/);
      await rejectsWith(client.executeAction('query', `COPY kept FROM '${csv}'`), 'permission-denied', /read-only/);
      assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM kept'), { n: 50_000n });
      assert.deepEqual(await client.executeAction('query', 'SELECT count(*) AS n FROM notes'), [
        { statement: 'SELECT', columns: ['n'], rows: [['2']] },
      ]);
      // Exchangers only read: they work. Registering one changes the server: refused.
      const input = tableFromArrays({ id: BigInt64Array.of(3n, 70_000n) });
      assert.equal((await client.exchange('my_streaming_exchanger', input).readAll()).getChild('processed')?.get(1), true);
      const known = {
        name: 'known',
        sql: 'SELECT input.id, kept.id IS NOT NULL AS known FROM input LEFT JOIN kept USING (id) ORDER BY input.id',
      };
      await rejectsWith(
        client.executeAction('register_exchanger', known),
        'permission-denied',
        /read-only: register_exchanger is refused \(--read-only\)/,
      );
      await rejectsWith(
        client.executeAction('unregister_exchanger', 'echo'),
        'permission-denied',
        /read-only: unregister_exchanger is refused/,
      );
      assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM kept'), { n: 50_000n });
    } finally {
      client.close();
      assert.equal(await server.stop(), 0);
    }
  });
});

describe('--no-external-access', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let client: DuckDBFlightClient;
  let parquet: string;

  before(async () => {
    // A server with access writes the Parquet file; the one without must not read it.
    parquet = join(dir.path, 'secret.parquet');
    const writer = await spawnServer();
    const w = await writer.connect();
    await w.executeQuery(`COPY (SELECT 42 AS answer) TO '${parquet}' (FORMAT parquet)`);
    assert.deepEqual(await one(w, `SELECT * FROM read_parquet('${parquet}')`), { answer: 42 });
    w.close();
    await writer.stop();
    server = await spawnServer({ args: ['--no-external-access'] });
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    await server?.stop();
    dir.remove();
  });

  test('read_parquet of a file is PERMISSION_DENIED', async () => {
    await rejectsWith(
      client.executeQuery(`SELECT * FROM read_parquet('${parquet}')`),
      'permission-denied',
      /--no-external-access: read_parquet \(it reads files\) is refused/,
    );
    await rejectsWith(
      client.executeQuery(`SELECT * FROM '${parquet}'`),
      'permission-denied',
      /--no-external-access: reading the file .* refused/,
    );
  });

  test('load_parquet and COPY TO a file are PERMISSION_DENIED', async () => {
    await rejectsWith(
      client.executeAction('load_parquet', { table: 't', path: parquet }),
      'permission-denied',
      /--no-external-access: load_parquet .* is refused/,
    );
    await rejectsWith(
      client.executeQuery(`COPY (SELECT 1) TO '${join(dir.path, 'out.csv')}'`),
      'permission-denied',
      /--no-external-access: COPY statements are refused/,
    );
    assert.equal(existsSync(join(dir.path, 'out.csv')), false);
  });

  test('transfer (the server connecting to a location a client names) is PERMISSION_DENIED', async () => {
    const request = { source: client.location, query: 'SELECT 1 AS x', table: 'pulled' };
    await rejectsWith(client.executeAction('transfer', request), 'permission-denied', /--no-external-access: transfer .* is refused/);
    assert.deepEqual(await one(client, "SELECT count(*) AS n FROM duckdb_tables() WHERE table_name = 'pulled'"), { n: 0n });
  });

  test('the setting cannot be switched back on over the wire', async () => {
    await rejectsWith(client.executeQuery('SET enable_external_access = true'), 'permission-denied', /the configuration has been locked/);
    await rejectsWith(client.executeQuery(`SELECT * FROM read_parquet('${parquet}')`), 'permission-denied', /--no-external-access/);
  });

  test('queries and uploads still work', async () => {
    assert.equal((await client.uploadData('ok', tableFromArrays({ a: Int32Array.of(1, 2) }))).rows, 2);
    assert.deepEqual(await one(client, 'SELECT sum(a)::INTEGER AS s FROM ok'), { s: 3 });
  });
});

describe('--auth', () => {
  let server: ServerProcess;
  const env = { DUCK_FLIGHT_USERS: 'alice:wonder land,bob:builder' };

  before(async () => {
    server = await spawnServer({ args: ['--auth'], env });
  });
  after(async () => {
    assert.equal(await server?.stop(), 0);
  });

  test('every RPC without a token is UNAUTHENTICATED', async () => {
    const anonymous = new FlightClient(server.location);
    const denied = /authentication required/;
    const table = tableFromArrays({ a: Int32Array.of(1) });
    try {
      await rejectsWith(anonymous.doGet('SELECT 1').readAll(), 'unauthenticated', denied);
      await rejectsWith(anonymous.getFlightInfo(FlightDescriptor.command('SELECT 1')), 'unauthenticated', denied);
      await rejectsWith(anonymous.pollFlightInfo(FlightDescriptor.command('SELECT 1')), 'unauthenticated', denied);
      await rejectsWith(anonymous.getSchema(FlightDescriptor.command('SELECT 1')), 'unauthenticated', denied);
      await rejectsWith(collect(anonymous.listFlights()), 'unauthenticated', denied);
      await rejectsWith(anonymous.doPut(FlightDescriptor.path('t'), table), 'unauthenticated', denied);
      await rejectsWith(anonymous.exchange(FlightDescriptor.command('echo'), table).readAll(), 'unauthenticated', denied);
      await rejectsWith(collect(anonymous.doAction('health')), 'unauthenticated', denied);
      await rejectsWith(anonymous.listActions(), 'unauthenticated', denied);
      await rejectsWith(anonymous.handshake([]), 'unauthenticated', /Handshake: send Basic credentials/);
      await rejectsWith(anonymous.authenticateBasicToken('alice', 'wrong'), 'unauthenticated', /invalid username or password/);
      await rejectsWith(anonymous.authenticateBasicToken('mallory', 'wonder land'), 'unauthenticated', /invalid username or password/);
    } finally {
      anonymous.close();
    }
  });

  test('a made-up bearer token is UNAUTHENTICATED', async () => {
    const forger = new FlightClient(server.location, { token: 'not-a-token' });
    try {
      await rejectsWith(forger.doGet('SELECT 1').readAll(), 'unauthenticated', /invalid or expired bearer token/);
    } finally {
      forger.close();
    }
  });

  test('DuckDBFlightClient with username and password works for every kind of call', async () => {
    const client = await DuckDBFlightClient.connect({ location: server.location, username: 'alice', password: 'wonder land' });
    try {
      assert.ok(client.flight.token && client.flight.token.length >= 32, 'a bearer token was issued');
      assert.deepEqual(rows(await client.executeQuery('SELECT 7 AS seven')), [{ seven: 7 }]);
      assert.equal((await client.uploadData('secured', tableFromArrays({ a: Int32Array.of(1, 2, 3) }))).rows, 3);
      assert.equal((await client.flight.getFlightInfo(FlightDescriptor.path('secured'))).totalRecords, 3);
      assert.equal((await collect(client.flight.listFlights())).length, 1);
      assert.deepEqual(
        (await client.exchange('my_streaming_exchanger', tableFromArrays({ a: Int32Array.of(5) })).readAll()).getChild('processed')?.get(0),
        true,
      );
      assert.deepEqual(await client.executeAction('health').then((r) => (r[0] as { status: string }).status), 'ok');
      // The token alone is enough for another client.
      const reuse = await DuckDBFlightClient.connect({ location: server.location, token: client.flight.token });
      assert.deepEqual(await one(reuse, 'SELECT sum(a)::INTEGER AS s FROM secured'), { s: 6 });
      reuse.close();
    } finally {
      client.close();
    }
  });

  test('a wrong password fails DuckDBFlightClient.connect with UNAUTHENTICATED', async () => {
    await rejectsWith(
      DuckDBFlightClient.connect({ location: server.location, username: 'bob', password: 'wrecker' }),
      'unauthenticated',
      /invalid username or password/,
    );
  });

  test('transfer from an auth server passes credentials to the source', async () => {
    const target = await spawnServer();
    const client = await target.connect();
    try {
      await rejectsWith(
        client.executeAction('transfer', { source: server.location, query: 'SELECT * FROM secured', table: 'copy' }),
        'unauthenticated',
        /transfer from .*authentication required/,
      );
      const [result] = (await client.executeAction('transfer', {
        source: server.location,
        query: 'SELECT * FROM secured',
        table: 'copy',
        username: 'bob',
        password: 'builder',
      })) as [{ rows: number }];
      assert.equal(result.rows, 3);
      assert.deepEqual(await one(client, 'SELECT sum(a)::INTEGER AS s FROM copy'), { s: 6 });
    } finally {
      client.close();
      await target.stop();
    }
  });

  test('--users-file works as DUCK_FLIGHT_USERS does', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'users');
    writeFileSync(file, '# users\ncarol:c4rol\n');
    const other = await spawnServer({ args: ['--auth', '--users-file', file] });
    try {
      const client = await other.connect({ username: 'carol', password: 'c4rol' });
      assert.deepEqual(await one(client, 'SELECT 1 AS ok'), { ok: 1 });
      client.close();
      await rejectsWith(other.connect({ username: 'alice', password: 'wonder land' }), 'unauthenticated', /invalid username or password/);
    } finally {
      await other.stop();
      dir.remove();
    }
  });
});

describe('TLS', () => {
  const dir = tempDir();
  let server: ServerProcess;
  let cert: { cert: string; key: string };

  before(async () => {
    cert = selfSignedCert(dir.path);
    server = await spawnServer({ args: ['--tls-cert', cert.cert, '--tls-key', cert.key] });
  });
  after(async () => {
    assert.equal(await server?.stop(), 0);
    dir.remove();
  });

  test('the ready line names a grpc+tls location', () => {
    assert.match(server.location, /^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
  });

  test('a client trusting the certificate gets answers', async () => {
    const client = await DuckDBFlightClient.connect({ location: server.location, tls: { rootCerts: readFileSync(cert.cert) } });
    try {
      assert.deepEqual(rows(await client.executeQuery("SELECT 'over tls' AS s")), [{ s: 'over tls' }]);
      assert.equal((await client.uploadData('tls_t', tableFromArrays({ a: Int32Array.of(4, 5) }))).rows, 2);
      assert.deepEqual(await one(client, 'SELECT sum(a)::INTEGER AS s FROM tls_t'), { s: 9 });
    } finally {
      client.close();
    }
  });

  test('a plaintext client and a client not trusting the certificate cannot connect', async () => {
    await rejectsWith(
      DuckDBFlightClient.connect({ location: `grpc://127.0.0.1:${server.port}`, maxAttempts: 1 }),
      'unavailable',
      /could not reach/,
    );
    await rejectsWith(DuckDBFlightClient.connect({ location: server.location, maxAttempts: 1 }), 'unavailable', /could not reach/);
  });
});

describe('--tls-client-ca (mutual TLS)', () => {
  let certs: TestCertificates;
  let server: ServerProcess;

  before(async () => {
    certs = makeTestCertificates();
    server = await spawnServer({
      args: ['--tls-cert', certs.paths.serverCert, '--tls-key', certs.paths.serverKey, '--tls-client-ca', certs.paths.ca],
    });
  });
  after(async () => {
    assert.equal(await server?.stop(), 0);
    certs?.remove();
  });

  test('a client presenting a certificate the CA signed gets answers', async () => {
    const client = await DuckDBFlightClient.connect({
      location: server.location,
      tls: { rootCerts: certs.ca, privateKey: certs.clientKey, certChain: certs.clientCert },
    });
    try {
      assert.deepEqual(await one(client, "SELECT 'mutual' AS tls"), { tls: 'mutual' });
    } finally {
      client.close();
    }
  });

  test('a client without a certificate is turned away', async () => {
    await rejectsWith(
      DuckDBFlightClient.connect({ location: server.location, tls: { rootCerts: certs.ca }, maxAttempts: 1 }),
      'unavailable',
      /could not reach/,
    );
  });
});

describe('--batch-rows, --threads and --log-file', () => {
  const dir = tempDir();
  const logFile = join(dir.path, 'duck-flight.log');
  let server: ServerProcess;

  before(async () => {
    server = await spawnServer({ logLevel: 'info', args: ['--batch-rows', '1000', '--threads', '3', '--log-file', logFile] });
  });

  test('DuckDB runs with --threads threads; 0 is refused', async () => {
    const client = await server.connect();
    try {
      assert.deepEqual(await one(client, "SELECT current_setting('threads') AS threads"), { threads: 3n });
    } finally {
      client.close();
    }
    const { status, stderr } = runCli(['--threads', '0', '--port', '0']);
    assert.equal(status, 1);
    assert.match(stderr, /--threads must be a positive integer, got 0/);
  });
  after(async () => {
    await server?.stop();
    dir.remove();
  });

  test('DoGet batches hold --batch-rows rows', async () => {
    const client = await server.connect();
    try {
      const table = await client.executeQuery('SELECT * FROM range(2500)');
      assert.deepEqual(
        table.batches.map((b) => b.numRows),
        [1000, 1000, 500],
      );
    } finally {
      client.close();
    }
  });

  test('logs go to --log-file, as JSON lines, and not to stderr', async () => {
    const lines = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // First which DuckDB -> Arrow bridge the server uses, then where it listens.
    assert.equal(lines[0]!['msg'], 'bridge: native');
    assert.equal(lines[1]!['msg'], 'listening');
    assert.equal(lines[1]!['location'], server.location);
    assert.equal(server.stderr(), '');
  });
});
