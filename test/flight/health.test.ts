// The health service of the generic FlightServer (flight/health.ts), in process on both
// transports: statuses the server sets reach grpcio's Watch, a malformed request is
// INVALID_ARGUMENT, and the service is there only when asked for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Client, credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import {
  FlightServer,
  HEALTH_SERVICE_NAME,
  HealthCheckRequestCodec,
  HealthCheckResponseCodec,
  SERVICE_NAME,
  ServingStatus,
} from '../../flight/index.ts';
import { echoHandlers } from '../support/echo-server.ts';
import { peerPython, REPO_ROOT } from '../support/peers.ts';

const identity = (buffer: Buffer) => buffer;

/** Check with raw request bytes through grpc-js: the status code, or the response's status. */
function rawCheck(port: number, request: Buffer): Promise<{ code: number; details?: string; status?: ServingStatus }> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      `/${HEALTH_SERVICE_NAME}/Check`,
      identity,
      identity,
      request,
      { deadline: Date.now() + 10_000 },
      (error: ServiceError | null, response?: Buffer) => {
        client.close();
        if (error) resolve({ code: error.code, details: error.details });
        else resolve({ code: GrpcStatus.OK, status: HealthCheckResponseCodec.decode(response!).status });
      },
    );
  });
}

/** Watch with raw request bytes through grpc-js: the final status code and details. */
function rawWatchStatus(port: number, request: Buffer): Promise<{ code: number; details: string; messages: number }> {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const call = client.makeServerStreamRequest(`/${HEALTH_SERVICE_NAME}/Watch`, identity, identity, request, {
    deadline: Date.now() + 10_000,
  });
  let messages = 0;
  return new Promise((resolve) => {
    call.on('data', () => messages++);
    call.on('error', () => {});
    call.on('status', (status) => {
      client.close();
      resolve({ code: status.code, details: status.details, messages });
    });
  });
}

test('the health messages: field 1 each, proto3 defaults elided', () => {
  assert.deepEqual([...HealthCheckRequestCodec.encode({ service: 'a' })], [0x0a, 1, 0x61]);
  assert.equal(HealthCheckRequestCodec.encode({ service: '' }).byteLength, 0);
  assert.deepEqual([...HealthCheckResponseCodec.encode({ status: ServingStatus.NOT_SERVING })], [0x08, 2]);
  assert.equal(HealthCheckResponseCodec.encode({ status: ServingStatus.UNKNOWN }).byteLength, 0);
  assert.deepEqual(HealthCheckResponseCodec.decode(Buffer.from([0x08, 3, 0x12, 1, 0x7a])), { status: ServingStatus.SERVICE_UNKNOWN });
  assert.throws(
    () => HealthCheckRequestCodec.decode(Buffer.from([0x0a, 5, 0x61])),
    /malformed HealthCheckRequest: field declares 5 bytes but only 1 remain/,
  );
});

for (const transport of ['http2', 'grpc-js'] as const) {
  describe(`FlightServer health, ${transport} transport`, () => {
    let server: FlightServer;
    let port: number;

    before(async () => {
      server = new FlightServer(echoHandlers(new Map()), { transport, health: true });
      port = await server.listen('127.0.0.1', 0);
    });
    after(async () => {
      await server.close(1000);
    });

    test('a malformed request is INVALID_ARGUMENT, and the server keeps serving', async () => {
      const bad = await rawCheck(port, Buffer.from([0x0a, 5, 0x61]));
      assert.equal(bad.code, GrpcStatus.INVALID_ARGUMENT);
      assert.match(bad.details ?? '', /malformed HealthCheckRequest/);
      const badWatch = await rawWatchStatus(port, Buffer.from([0x0a, 5, 0x61]));
      assert.deepEqual({ ...badWatch, details: '' }, { code: GrpcStatus.INVALID_ARGUMENT, details: '', messages: 0 });
      assert.match(badWatch.details, /malformed HealthCheckRequest/);
      assert.deepEqual(await rawCheck(port, HealthCheckRequestCodec.encode({ service: SERVICE_NAME })), {
        code: GrpcStatus.OK,
        status: ServingStatus.SERVING,
      });
    });

    test('a Watch the client cancels, or whose deadline passes, stops being watched', async () => {
      const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
      const request = HealthCheckRequestCodec.encode({ service: '' });
      const path = `/${HEALTH_SERVICE_NAME}/Watch`;
      try {
        const cancelled = client.makeServerStreamRequest(path, identity, identity, request);
        const expiring = client.makeServerStreamRequest(path, identity, identity, request, { deadline: Date.now() + 500 });
        const statuses = [cancelled, expiring].map(
          (call) =>
            new Promise<number>((resolve) => {
              call.on('data', () => {});
              call.on('error', () => {});
              call.on('status', (status) => resolve(status.code));
            }),
        );
        await new Promise<void>((resolve) => cancelled.once('data', () => resolve()));
        assert.equal(server.health!.watchers, 2);
        cancelled.cancel();
        assert.deepEqual(await Promise.all(statuses), [GrpcStatus.CANCELLED, GrpcStatus.DEADLINE_EXCEEDED]);
        for (let tries = 0; server.health!.watchers > 0 && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(server.health!.watchers, 0);
      } finally {
        client.close();
      }
    });

    test("statuses the server sets reach grpcio's Watch as they change; close() ends with NOT_SERVING", async () => {
      const script = join(REPO_ROOT, 'test', 'peers', 'health_checks.py');
      const child = spawn(
        peerPython(),
        [script, 'watch', '--target', `127.0.0.1:${port}`, '--service', SERVICE_NAME, '--service', 'later'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.stdin.end();
      const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
      const lines = () =>
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { service: string; status?: string; end?: string });
      const until = async (count: number) => {
        for (let tries = 0; lines().length < count; tries++) {
          if (tries > 600) throw new Error(`waited for ${count} Watch lines, got ${stdout}; stderr: ${stderr}`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      };
      try {
        await until(2);
        server.health!.set(SERVICE_NAME, ServingStatus.NOT_SERVING);
        await until(3);
        server.health!.set('later', ServingStatus.SERVING); // a service that appears after the Watch began
        await until(4);
        server.health!.set(SERVICE_NAME, ServingStatus.SERVING);
        await until(5);
        await server.close(1000);
        assert.equal(await exited, 0, stderr);
        const of = (service: string) =>
          lines()
            .filter((l) => l.service === service)
            .map((l) => l.status ?? `end ${l.end}`);
        assert.deepEqual(of(SERVICE_NAME), ['SERVING', 'NOT_SERVING', 'SERVING', 'NOT_SERVING', 'end OK']);
        assert.deepEqual(of('later'), ['SERVICE_UNKNOWN', 'SERVING', 'NOT_SERVING', 'end OK']);
        server.health!.set(SERVICE_NAME, ServingStatus.SERVING);
        assert.equal(server.health!.get(SERVICE_NAME), ServingStatus.NOT_SERVING, 'a closed server stays NOT_SERVING');
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
}

test('without `health: true` there is no health service (UNIMPLEMENTED)', async () => {
  const server = new FlightServer(echoHandlers(new Map()), {});
  const port = await server.listen('127.0.0.1', 0);
  try {
    assert.equal((await rawCheck(port, HealthCheckRequestCodec.encode({ service: '' }))).code, GrpcStatus.UNIMPLEMENTED);
  } finally {
    await server.close(1000);
  }
});
