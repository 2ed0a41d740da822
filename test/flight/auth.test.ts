// Authentication and TLS: Basic credentials exchanged for Bearer tokens (on Handshake, on any
// call, and the legacy Handshake payload), every RPC refused without a token, expiry; TLS with a
// throwaway CA, and mutual TLS.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Metadata } from '@grpc/grpc-js';
import { tableFromArrays } from 'apache-arrow';
import {
  FlightClient,
  FlightDescriptor,
  FlightError,
  FlightServer,
  basicAuthHeader,
  staticUsers,
  type CallRecord,
  type FlightServerOptions,
} from '../../flight/index.ts';
import { BasicAuthCodec } from '../../flight/messages.ts';
import { echoHandlers, type StoredFlight } from '../support/echo-server.ts';
import { makeTestCertificates, type TestCertificates } from '../support/tls.ts';

const text = new TextDecoder();
const USERS = new Map([
  ['alice', 'correct horse'],
  ['bob', 'battery staple'],
]);
const table = tableFromArrays({ n: Int32Array.from([1, 2, 3]) });

async function startServer(options: FlightServerOptions = {}) {
  const store = new Map<string, StoredFlight>([['stored', { table, descriptor: FlightDescriptor.path('stored') }]]);
  const calls: CallRecord[] = [];
  const server = new FlightServer(echoHandlers(store), {
    auth: { validate: staticUsers(USERS) },
    onCallEnd: (record) => calls.push(record),
    ...options,
  });
  const port = await server.listen('127.0.0.1', 0);
  return { server, port, calls, location: `grpc://127.0.0.1:${port}` };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function unauthenticated(promise: Promise<unknown>, message: RegExp = /authentication required/): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlightError, String(error));
    assert.equal(error.kind, 'unauthenticated', `${error.kind}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

/** Every RPC once, through `client`; resolves when all of them succeed. */
async function everyRpc(client: FlightClient): Promise<void> {
  await client.handshake([]);
  assert.equal((await collect(client.listFlights())).length >= 1, true);
  assert.equal((await client.getFlightInfo(FlightDescriptor.path('stored'))).totalRecords, 3);
  assert.equal((await client.pollFlightInfo(FlightDescriptor.path('stored'))).info?.totalRecords, 3);
  assert.equal((await client.getSchema(FlightDescriptor.path('stored'))).fields[0]!.name, 'n');
  assert.equal((await client.doGet('stored').readAll()).numRows, 3);
  assert.deepEqual(
    (await client.doPut(FlightDescriptor.path('uploaded'), table)).map((r) => text.decode(r)),
    ['batch 0'],
  );
  assert.equal((await client.exchange(FlightDescriptor.command('echo'), table).readAll()).numRows, 3);
  assert.deepEqual(
    (await collect(client.doAction('echo', 'hi'))).map((r) => text.decode(r)),
    ['hi'],
  );
  assert.equal((await client.listActions()).length, 5);
}

describe('token auth', () => {
  let env: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    env = await startServer();
  });
  after(async () => {
    await env.server.close(100);
  });

  test('every RPC without credentials is UNAUTHENTICATED', async () => {
    const client = new FlightClient(env.location);
    try {
      await unauthenticated(client.handshake([]), /Handshake: send Basic credentials/);
      await unauthenticated(collect(client.listFlights()));
      await unauthenticated(client.getFlightInfo(FlightDescriptor.path('stored')));
      await unauthenticated(client.pollFlightInfo(FlightDescriptor.path('stored')));
      await unauthenticated(client.getSchema(FlightDescriptor.path('stored')));
      await unauthenticated(client.doGet('stored').readAll());
      await unauthenticated(client.doPut(FlightDescriptor.path('x'), table));
      await unauthenticated(client.exchange(FlightDescriptor.command('echo'), table).readAll());
      await unauthenticated(collect(client.doAction('echo', 'hi')));
      await unauthenticated(client.listActions());
      assert.ok(!env.server.activeCalls, 'no call left hanging');
    } finally {
      client.close();
    }
  });

  test('authenticateBasicToken, then every RPC works and is attributed to the user', async () => {
    const client = new FlightClient(env.location);
    try {
      const token = await client.authenticateBasicToken('alice', 'correct horse');
      assert.match(token, /^[A-Za-z0-9_-]{43}$/, 'a base64url token of 32 random bytes');
      assert.equal(client.token, token);
      env.calls.length = 0;
      await everyRpc(client);
      assert.equal(env.calls.length, 10);
      for (const call of env.calls) {
        assert.equal(call.code, 0, `${call.method}: ${call.details}`);
        assert.equal(call.identity, 'alice', call.method);
      }
    } finally {
      client.close();
    }
  });

  test('Basic credentials on any call answer with a Bearer token that then works', async () => {
    const basic = new FlightClient(env.location, { headers: { authorization: basicAuthHeader('bob', 'battery staple') } });
    try {
      const bearers: string[] = [];
      const onHeaders = (md: Metadata) => {
        const value = md.get('authorization')[0];
        if (typeof value === 'string') bearers.push(value);
      };
      await basic.listActions({ onHeaders });
      await basic.getFlightInfo(FlightDescriptor.path('stored'), { onHeaders });
      await basic.doGet('stored', { onHeaders }).readAll();
      await basic.doPut(FlightDescriptor.path('by-bob'), table, { onHeaders });
      await basic.exchange(FlightDescriptor.command('echo'), table, { onHeaders }).readAll();
      assert.equal(bearers.length, 5);
      for (const value of bearers) assert.match(value, /^Bearer [A-Za-z0-9_-]{43}$/);
      assert.equal(new Set(bearers).size, 5, 'each login issues its own token');
      const withToken = new FlightClient(env.location, { token: bearers[2]!.slice('Bearer '.length) });
      try {
        assert.equal((await withToken.doGet('by-bob').readAll()).numRows, 3);
      } finally {
        withToken.close();
      }
    } finally {
      basic.close();
    }
  });

  test('a wrong password or an unknown user is UNAUTHENTICATED', async () => {
    const client = new FlightClient(env.location);
    try {
      await unauthenticated(client.authenticateBasicToken('alice', 'wrong'), /invalid username or password/);
      await unauthenticated(client.authenticateBasicToken('mallory', 'correct horse'), /invalid username or password/);
      await unauthenticated(client.authenticateBasicToken('bob', 'correct horse'), /invalid username or password/);
      assert.equal(client.token, undefined, 'no token kept after a failed login');
      const basic = new FlightClient(env.location, { headers: { authorization: basicAuthHeader('alice', 'nope') } });
      try {
        await unauthenticated(basic.doGet('stored').readAll(), /invalid username or password/);
      } finally {
        basic.close();
      }
    } finally {
      client.close();
    }
  });

  test('tokens differ per login, and a forged or foreign-scheme credential is refused', async () => {
    const a = new FlightClient(env.location);
    const b = new FlightClient(env.location);
    try {
      const first = await a.authenticateBasicToken('alice', 'correct horse');
      const second = await b.authenticateBasicToken('alice', 'correct horse');
      assert.notEqual(first, second);
      await a.listActions();
      await b.listActions();
      const forged = new FlightClient(env.location, { token: `${first.slice(0, -2)}AA` });
      try {
        await unauthenticated(forged.listActions(), /invalid or expired bearer token/);
        await unauthenticated(
          forged.listActions({ headers: { authorization: 'Digest abc' } }),
          /unsupported authorization scheme "Digest"/,
        );
        await unauthenticated(
          forged.listActions({ headers: { authorization: 'Basic !!!' } }),
          /malformed Basic credentials|invalid username/,
        );
      } finally {
        forged.close();
      }
    } finally {
      a.close();
      b.close();
    }
  });

  test('the legacy Handshake payload flow: BasicAuth in, token out, then the auth-token-bin header', async () => {
    const client = new FlightClient(env.location);
    try {
      const payload = BasicAuthCodec.encode({ username: 'bob', password: 'battery staple' });
      const responses = await client.handshake([{ protocolVersion: 0, payload }]);
      assert.equal(responses.length, 1);
      const token = text.decode(responses[0]!.payload);
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      const actions = await client.listActions({ headers: { 'auth-token-bin': Buffer.from(token) } });
      assert.equal(actions.length, 5);
      await unauthenticated(
        client.handshake([{ protocolVersion: 0, payload: BasicAuthCodec.encode({ username: 'bob', password: 'x' }) }]),
        /invalid username or password/,
      );
    } finally {
      client.close();
    }
  });
});

describe('token expiry', () => {
  let env: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    env = await startServer({ auth: { validate: staticUsers(USERS), tokenTtlMs: 300 } });
  });
  after(async () => {
    await env.server.close(100);
  });

  test('a token stops working after tokenTtlMs; logging in again works', async () => {
    const client = new FlightClient(env.location);
    try {
      const first = await client.authenticateBasicToken('alice', 'correct horse');
      assert.equal((await client.listActions()).length, 5);
      await sleep(450);
      await unauthenticated(client.listActions(), /expired/);
      await unauthenticated(client.doGet('stored').readAll(), /expired|invalid or expired/);
      const second = await client.authenticateBasicToken('alice', 'correct horse');
      assert.notEqual(second, first);
      assert.equal((await client.listActions()).length, 5);
    } finally {
      client.close();
    }
  });
});

describe('TLS', () => {
  let certs: TestCertificates;
  before(() => {
    certs = makeTestCertificates();
  });
  after(() => certs.remove());

  test('a TLS server, a client trusting its CA: every RPC works', async () => {
    const env = await startServer({ auth: undefined, tls: { cert: certs.serverCert, key: certs.serverKey } });
    const location = `grpc+tls://localhost:${env.port}`;
    const client = new FlightClient(location, { tls: { rootCerts: certs.ca } });
    try {
      await everyRpc(client);
    } finally {
      client.close();
      await env.server.close(100);
    }
  });

  test('a client that does not trust the CA, or speaks plaintext, cannot call', async () => {
    const env = await startServer({ auth: undefined, tls: { cert: certs.serverCert, key: certs.serverKey } });
    const untrusting = new FlightClient(`grpc+tls://localhost:${env.port}`, { tls: { rootCerts: certs.otherCa } });
    const plaintext = new FlightClient(`grpc://127.0.0.1:${env.port}`);
    try {
      await assert.rejects(untrusting.listActions({ deadline: 5000 }), { name: 'FlightError', kind: 'unavailable' });
      await assert.rejects(plaintext.listActions({ deadline: 5000 }), { name: 'FlightError', kind: 'unavailable' });
    } finally {
      untrusting.close();
      plaintext.close();
      await env.server.close(100);
    }
  });

  test('TLS and token auth together', async () => {
    const env = await startServer({ tls: { cert: certs.serverCert, key: certs.serverKey } });
    const client = new FlightClient(`grpc+tls://localhost:${env.port}`, { tls: { rootCerts: certs.ca } });
    try {
      await unauthenticated(client.listActions());
      await client.authenticateBasicToken('alice', 'correct horse');
      await everyRpc(client);
    } finally {
      client.close();
      await env.server.close(100);
    }
  });

  test('mutual TLS: a client certificate signed by the CA is required', async () => {
    const env = await startServer({
      auth: undefined,
      tls: { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca, requireClientCert: true },
    });
    const location = `grpc+tls://localhost:${env.port}`;
    const withCert = new FlightClient(location, { tls: { rootCerts: certs.ca, privateKey: certs.clientKey, certChain: certs.clientCert } });
    const withoutCert = new FlightClient(location, { tls: { rootCerts: certs.ca } });
    try {
      await everyRpc(withCert);
      await assert.rejects(withoutCert.listActions({ deadline: 5000 }), (error: unknown) => {
        assert.ok(error instanceof FlightError);
        assert.ok(['unavailable', 'unknown'].includes(error.kind), `${error.kind}: ${error.message}`);
        return true;
      });
    } finally {
      withCert.close();
      withoutCert.close();
      await env.server.close(100);
    }
  });

  test('the scheme grpc+tls:// alone turns TLS on (system roots: our test CA is refused)', async () => {
    const env = await startServer({ auth: undefined, tls: { cert: certs.serverCert, key: certs.serverKey } });
    const client = new FlightClient(`grpc+tls://localhost:${env.port}`);
    try {
      await assert.rejects(client.listActions({ deadline: 5000 }), { name: 'FlightError', kind: 'unavailable' });
    } finally {
      client.close();
      await env.server.close(100);
    }
  });
});
