// The standard gRPC health service, asked by a client that is not ours (grpcio with
// grpcio-health-checking, test/peers/health_checks.py) on both server transports: Check
// without credentials on a server with --auth, Watch through a shutdown.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { FlightClient } from '../../flight/index.ts';
import { spawnServer, REPO_ROOT, type ServerProcess } from '../support/duck-server.ts';
import { peerPython, runPeer } from '../support/peers.ts';
import { rejectsWith, waitFor } from './helpers.ts';

const FLIGHT = 'arrow.flight.protocol.FlightService';
const USERS = { DUCK_FLIGHT_USERS: 'alice:wonder land' };

type HealthLine = { service: string; status?: string; code?: string; details?: string; end?: string };

function parseLines(stdout: string): HealthLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HealthLine);
}

/** health_checks.py watch, running: the lines it printed so far, and its exit. */
function startWatch(port: number, services: string[]) {
  const args = [
    join(REPO_ROOT, 'test', 'peers', 'health_checks.py'),
    'watch',
    '--target',
    `127.0.0.1:${port}`,
    ...services.flatMap((s) => ['--service', s]),
  ];
  const child = spawn(peerPython(), args, { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.end();
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return { lines: () => parseLines(stdout), stderr: () => stderr, exited, kill: () => child.kill('SIGKILL') };
}

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`gRPC health, ${transport} transport`, () => {
    let server: ServerProcess;

    before(async () => {
      server = await spawnServer({ args: ['--auth'], env: { ...USERS, FLIGHT_SERVER_TRANSPORT: transport }, logLevel: 'info' });
      assert.match(server.stderr(), new RegExp(`"msg":"listening".*"transport":"${transport}"`));
    });
    after(async () => {
      await server?.stop();
    });

    test('Check needs no credentials: SERVING for "" and the Flight service, NOT_FOUND for another name', async () => {
      const result = await runPeer('health_checks.py', [
        'check',
        '--target',
        `127.0.0.1:${server.port}`,
        '--service',
        '',
        '--service',
        FLIGHT,
        '--service',
        'no.such.Service',
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(parseLines(result.stdout), [
        { service: '', status: 'SERVING' },
        { service: FLIGHT, status: 'SERVING' },
        { service: 'no.such.Service', code: 'NOT_FOUND', details: 'unknown service "no.such.Service"' },
      ]);
      // The Flight service itself still wants a token.
      const anonymous = new FlightClient(server.location);
      try {
        await rejectsWith(anonymous.doGet('SELECT 1').readAll(), 'unauthenticated', /authentication required/);
      } finally {
        anonymous.close();
      }
    });

    test('Watch: SERVING, NOT_SERVING as soon as the shutdown starts (a DoGet still streaming), then a clean end', async () => {
      const watch = startWatch(server.port, ['', 'no.such.Service']);
      const client = new FlightClient(server.location);
      try {
        await client.authenticateBasicToken('alice', 'wonder land');
        await waitFor(() => watch.lines().length >= 2, `the first Watch answers (stderr: ${watch.stderr()})`);
        assert.deepEqual(
          new Set(watch.lines().map((l) => JSON.stringify(l))),
          new Set([
            JSON.stringify({ service: '', status: 'SERVING' }),
            JSON.stringify({ service: 'no.such.Service', status: 'SERVICE_UNKNOWN' }),
          ]),
        );
        // 80 MB of results that we do not read yet: the server cannot finish the call, so its
        // shutdown waits in the grace period while we look at the Watch.
        const stream = client.doGet('SELECT * FROM range(10000000)')[Symbol.asyncIterator]();
        let rows = (await stream.next()).value!.numRows;
        server.child.kill('SIGTERM');
        await waitFor(() => watch.lines().some((l) => l.service === '' && l.status === 'NOT_SERVING'), 'NOT_SERVING on the Watch');
        assert.equal(server.child.exitCode, null, 'the server is still shutting down (a DoGet in progress)');
        for (let next = await stream.next(); !next.done; next = await stream.next()) rows += next.value.numRows;
        assert.equal(rows, 10_000_000, 'the call in progress finished during the grace period');
        assert.equal(await server.exited, 0);
        assert.equal(await watch.exited, 0, watch.stderr());
        const byService = (service: string) =>
          watch
            .lines()
            .filter((l) => l.service === service)
            .map(({ service: _, ...rest }) => rest);
        // A clean end (OK), not a cancellation when the grace ran out: open Watch streams do not hold the shutdown.
        assert.deepEqual(byService(''), [{ status: 'SERVING' }, { status: 'NOT_SERVING' }, { end: 'OK' }]);
        assert.deepEqual(byService('no.such.Service'), [{ status: 'SERVICE_UNKNOWN' }, { end: 'OK' }]);
      } finally {
        client.close();
        watch.kill();
      }
    });
  });
}
