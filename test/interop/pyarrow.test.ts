// Interop with pyarrow.flight, the C++ reference implementation: pyarrow's client runs its named
// checks against our echo server (plain, with auth, with TLS), and our FlightClient runs every
// RPC against pyarrow's echo server (test/peers/README.md is the contract both sides keep).
// The peers come from `npm run peers`; without them these tests fail and say so.

import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Metadata } from '@grpc/grpc-js';
import { Table, tableFromArrays } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, basicAuthHeader } from '../../flight/index.ts';
import { arrowMatrix, schemaSignature } from '../support/arrow-matrix.ts';
import { firstDifference } from '../support/compare.ts';
import { BIG_ROWS, startEchoServer } from '../support/echo-server.ts';
import {
  clientCheckNames,
  peerPython,
  pyarrowTypeMatrix,
  runClientChecks,
  startReferenceServer,
  type ReferenceServer,
} from '../support/peers.ts';
import { makeTestCertificates, type TestCertificates } from '../support/tls.ts';

const text = new TextDecoder();
const utf8 = new TextEncoder();
const USER = 'flight';
const PASSWORD = 'pa55 w0rd';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, kind: FlightError['kind'], message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FlightError, `expected a FlightError, got ${String(error)}`);
    assert.equal(error.kind, kind, `${error.kind}: ${error.message}`);
    assert.match(error.message, message);
    return true;
  });
}

let certs: TestCertificates;
let matrix: Table; // pyarrow's type matrix, read from the IPC stream pyarrow wrote
let checkNames: string[];

before(async () => {
  peerPython(); // fails here, naming `npm run peers`, when the environment is missing
  certs = makeTestCertificates();
  [matrix, checkNames] = await Promise.all([pyarrowTypeMatrix(), clientCheckNames()]);
});
after(() => certs?.remove());

/** Runs client_checks.py and makes one subtest per check, so a failure names the check. */
async function pyarrowChecks(t: TestContext, location: string, extra: string[], expected: string[]): Promise<void> {
  const { checks, result } = await runClientChecks(location, extra);
  const seen = checks.map((c) => c.check);
  for (const check of checks) {
    await t.test(check.check, () => {
      assert.ok(check.ok, `${check.check}: ${check.detail}`);
      t.diagnostic(`${check.check}: ${check.detail} (${check.seconds} s)`);
    });
  }
  assert.deepEqual(seen, expected, `checks run; stderr: ${result.stderr.slice(-2000)}`);
  assert.equal(result.code, 0, `client_checks.py exited ${result.code}; stderr: ${result.stderr.slice(-2000)}`);
}

describe('pyarrow client -> our echo server', () => {
  // The `big` checks want 12 MB in one batch: our server slices at maxMessageBytes, so raise it.
  const serverOptions = () => ({ types: matrix, maxMessageBytes: 32 * 1024 * 1024 });

  test('plain', async (t) => {
    const echo = await startEchoServer(serverOptions());
    try {
      await pyarrowChecks(
        t,
        echo.location,
        [],
        checkNames.filter((n) => n !== 'auth'),
      );
    } finally {
      await echo.close();
    }
  });

  test('with --auth (Basic -> Bearer)', async (t) => {
    const echo = await startEchoServer({ ...serverOptions(), users: { [USER]: PASSWORD } });
    try {
      await pyarrowChecks(t, echo.location, ['--auth', `${USER}:${PASSWORD}`], checkNames);
      assert.ok(echo.store.size > 0, 'the authenticated checks stored tables');
    } finally {
      await echo.close();
    }
  });

  test('with TLS', async (t) => {
    const echo = await startEchoServer({ ...serverOptions(), tls: { cert: certs.serverCert, key: certs.serverKey } });
    try {
      await pyarrowChecks(
        t,
        `grpc+tls://localhost:${echo.port}`,
        ['--tls-root', certs.paths.ca],
        checkNames.filter((n) => n !== 'auth'),
      );
    } finally {
      await echo.close();
    }
  });
});

describe('our FlightClient -> pyarrow reference server', () => {
  let peer: ReferenceServer;
  let client: FlightClient;

  before(async () => {
    peer = await startReferenceServer();
    client = new FlightClient(peer.location);
  });
  after(async () => {
    client?.close();
    await peer?.stop();
  });

  test('DoGet `types`: the pyarrow matrix decodes exactly as arrow-js reads pyarrow IPC', async () => {
    const got = await client.doGet('types').readAll();
    assert.equal(got.numCols, matrix.numCols);
    assert.equal(firstDifference(got, matrix), null);
    assert.equal(got.schema.fields.at(-1)!.nullable, false, 'not_null_int32 stays non-nullable');
  });

  test('DoPut the matrix back under another key; the server compares it equal', async () => {
    const acks = await client.doPut(FlightDescriptor.path('interop', 'ours'), matrix);
    assert.deepEqual(
      acks.map((a) => text.decode(a)),
      ['batch 0'],
    );
    assert.deepEqual(
      (await collect(client.doAction('compare', 'types,interop/ours'))).map((r) => text.decode(r)),
      ['equal'],
    );
    // Sliced one row per message on the way up: still equal.
    const sliced = new FlightClient(peer.location, { maxMessageBytes: 1 });
    try {
      const sacks = await sliced.doPut(FlightDescriptor.command('interop/ours-sliced'), matrix);
      assert.equal(sacks.length, matrix.numRows);
    } finally {
      sliced.close();
    }
    assert.deepEqual(
      (await collect(client.doAction('compare', 'types,interop/ours-sliced'))).map((r) => text.decode(r)),
      ['equal'],
    );
  });

  test("compare names a difference (so 'equal' above means something)", async () => {
    const changed = tableFromArrays({ utf8: ['x'] });
    await client.doPut(FlightDescriptor.path('interop', 'other'), changed);
    await rejectsWith(collect(client.doAction('compare', 'types,interop/other')), 'invalid-argument', /schemas differ/);
  });

  test('DoExchange of the matrix echoes it unchanged', async () => {
    const got = await client.exchange(FlightDescriptor.command('echo'), matrix).readAll();
    assert.equal(firstDifference(got, matrix), null);
  });

  test('DoExchange in lock step, with app_metadata and a metadata-only message', async () => {
    const exchange = client.doExchange(FlightDescriptor.command('echo'));
    const chunks = exchange.reader.chunks();
    for (let i = 0; i < 3; i++) {
      await exchange.write(tableFromArrays({ i: Int32Array.from([i]) }).batches[0]!, utf8.encode(`m${i}`));
      const echoed = (await chunks.next()).value!;
      assert.equal(text.decode(echoed.appMetadata!), `m${i}`);
      assert.equal(echoed.batch!.getChild('i')!.get(0), i);
    }
    await exchange.writeMetadata(utf8.encode('only'));
    const meta = (await chunks.next()).value!;
    assert.equal(meta.batch, undefined);
    assert.equal(text.decode(meta.appMetadata!), 'only');
    exchange.end();
    assert.equal((await chunks.next()).done, true);
  });

  test('our arrow-js matrix (views, unions, intervals, ...) survives a trip through pyarrow', async () => {
    const ours = arrowMatrix();
    await client.doPut(FlightDescriptor.path('interop', 'arrow-js'), ours);
    const back = await client.doGet('interop/arrow-js').readAll();
    assert.equal(firstDifference(back, ours, { metadata: false }), null);
    assert.deepEqual(schemaSignature(back.schema), schemaSignature(ours.schema), 'schema and field metadata kept too');
  });

  test('GetFlightInfo, GetSchema, ListFlights describe what was put', async () => {
    const info = await client.getFlightInfo(FlightDescriptor.path('interop', 'ours'));
    assert.equal(info.totalRecords, matrix.numRows);
    assert.equal(info.totalBytes, -1);
    assert.deepEqual(info.descriptor, FlightDescriptor.path('interop', 'ours'));
    assert.equal(text.decode(info.endpoints[0]!.ticket), 'interop/ours');
    assert.deepEqual(schemaSignature(info.schema!, { metadata: false }), schemaSignature(matrix.schema, { metadata: false }));
    const schema = await client.getSchema(FlightDescriptor.path('types'));
    assert.deepEqual(schemaSignature(schema, { metadata: false }), schemaSignature(matrix.schema, { metadata: false }));
    const listed = await collect(client.listFlights('interop/'));
    const keys = listed.map((i) => text.decode(i.endpoints[0]!.ticket));
    assert.deepEqual(keys, [...keys].sort());
    assert.ok(keys.includes('interop/ours') && keys.includes('interop/ours-sliced'), keys.join(', '));
    const cmd = listed.find((i) => text.decode(i.endpoints[0]!.ticket) === 'interop/ours-sliced')!;
    assert.equal(cmd.descriptor?.type, 'cmd', 'listed with the CMD descriptor it was put under');
  });

  test('DoAction echo, list, drop, and ListActions', async () => {
    const body = Uint8Array.from([0, 255, 1, 2]);
    assert.deepEqual(
      (await collect(client.doAction('echo', body))).map((r) => [...r]),
      [[...body]],
    );
    await client.doPut(FlightDescriptor.path('interop', 'drop-me'), tableFromArrays({ x: Int32Array.from([1]) }));
    assert.ok((await collect(client.doAction('list'))).map((k) => text.decode(k)).includes('interop/drop-me'));
    assert.deepEqual(
      (await collect(client.doAction('drop', 'interop/drop-me'))).map((r) => text.decode(r)),
      ['dropped'],
    );
    const actions = await client.listActions();
    assert.deepEqual(actions.map((a) => a.type).sort(), ['compare', 'drop', 'echo', 'error', 'list']);
    assert.ok(actions.every((a) => a.description.length > 0));
  });

  test('Handshake without auth succeeds with no messages', async () => {
    assert.deepEqual(await client.handshake([]), []);
  });

  test('status mapping: NOT_FOUND, INVALID_ARGUMENT, UNIMPLEMENTED from pyarrow', async () => {
    await rejectsWith(client.doGet('interop/missing').readAll(), 'not-found', /no such key: interop\/missing/);
    await rejectsWith(client.getFlightInfo(FlightDescriptor.path('interop', 'missing')), 'not-found', /no such key: interop\/missing/);
    await rejectsWith(client.getSchema(FlightDescriptor.path('interop', 'missing')), 'not-found', /no such key/);
    await rejectsWith(collect(client.doAction('drop', 'interop/missing')), 'not-found', /no such key: interop\/missing/);
    await rejectsWith(collect(client.doAction('error', 'a deliberate error: ünïcode')), 'invalid-argument', /a deliberate error: ünïcode/);
    await rejectsWith(collect(client.doAction('no-such-action')), 'unimplemented', /unknown action: no-such-action/);
    await rejectsWith(client.pollFlightInfo(FlightDescriptor.path('types')), 'unimplemented', /NYI/);
  });

  test('`big`: one 12 MB batch of 1,500,000 int64 arrives whole', async () => {
    const reader = client.doGet('big');
    const batches = await collect(reader);
    assert.equal(batches.length, 1);
    const values = batches[0]!.getChild('n')!.toArray() as BigInt64Array;
    assert.equal(values.length, BIG_ROWS);
    for (let i = 0; i < BIG_ROWS; i += 99_991) assert.equal(values[i], BigInt(i));
    assert.equal(values[BIG_ROWS - 1], BigInt(BIG_ROWS - 1));
  });

  test('`error-mid-stream`: two batches, then the error with its message', async () => {
    const seen: bigint[] = [];
    await rejectsWith(
      (async () => {
        for await (const batch of client.doGet('error-mid-stream')) seen.push(...(batch.getChild('n')!.toArray() as BigInt64Array));
      })(),
      'unknown',
      /boom after 2 batches/,
    );
    assert.deepEqual(seen, [0n, 1n, 2n, 3n]);
  });
});

describe('our FlightClient -> pyarrow reference server with --auth', () => {
  let peer: ReferenceServer;
  before(async () => {
    peer = await startReferenceServer({ auth: `${USER}:${PASSWORD}` });
  });
  after(async () => {
    await peer?.stop();
  });

  test('without credentials: UNAUTHENTICATED', async () => {
    const client = new FlightClient(peer.location);
    try {
      await rejectsWith(client.listActions(), 'unauthenticated', /missing authorization header/);
      await rejectsWith(client.doGet('types').readAll(), 'unauthenticated', /missing authorization header/);
      await rejectsWith(client.authenticateBasicToken(USER, 'wrong'), 'unauthenticated', /invalid username or password/);
    } finally {
      client.close();
    }
  });

  test('authenticateBasicToken: the Bearer token then works on every call', async () => {
    const client = new FlightClient(peer.location);
    try {
      const token = await client.authenticateBasicToken(USER, PASSWORD);
      assert.ok(token.length >= 32, token);
      assert.equal(firstDifference(await client.doGet('types').readAll(), matrix), null);
      await client.doPut(FlightDescriptor.path('interop', 'auth'), matrix);
      assert.deepEqual(
        (await collect(client.doAction('compare', 'types,interop/auth'))).map((r) => text.decode(r)),
        ['equal'],
      );
      assert.equal(firstDifference(await client.exchange(FlightDescriptor.command('echo'), matrix).readAll(), matrix), null);
      assert.equal((await client.listActions()).length, 5);
      const forged = new FlightClient(peer.location, { token: `${token}x` });
      try {
        await rejectsWith(forged.listActions(), 'unauthenticated', /invalid bearer token/);
      } finally {
        forged.close();
      }
    } finally {
      client.close();
    }
  });

  test('a Basic header on any call is answered with a Bearer token', async () => {
    const client = new FlightClient(peer.location, { headers: { authorization: basicAuthHeader(USER, PASSWORD) } });
    try {
      const bearers: string[] = [];
      const onHeaders = (md: Metadata) => bearers.push(String(md.get('authorization')[0]));
      await client.listActions({ onHeaders });
      await client.doGet('types', { onHeaders }).readAll();
      await client.getFlightInfo(FlightDescriptor.path('types'), { onHeaders });
      assert.equal(bearers.length, 3);
      for (const b of bearers) assert.match(b, /^Bearer \S{32,}$/);
      assert.equal(new Set(bearers).size, 3);
      const bearer = new FlightClient(peer.location, { token: bearers[0]!.slice('Bearer '.length) });
      try {
        assert.equal((await bearer.listActions()).length, 5);
      } finally {
        bearer.close();
      }
    } finally {
      client.close();
    }
  });
});

describe('our FlightClient -> pyarrow reference server with TLS', () => {
  let peer: ReferenceServer;
  before(async () => {
    peer = await startReferenceServer({ tls: { cert: certs.paths.serverCert, key: certs.paths.serverKey } });
  });
  after(async () => {
    await peer?.stop();
  });

  test('a client trusting the CA gets the matrix; one that does not cannot connect', async () => {
    const client = new FlightClient(`grpc+tls://localhost:${peer.port}`, { tls: { rootCerts: certs.ca } });
    const untrusting = new FlightClient(`grpc+tls://localhost:${peer.port}`, { tls: { rootCerts: certs.otherCa } });
    try {
      assert.equal(firstDifference(await client.doGet('types').readAll(), matrix), null);
      await client.doPut(FlightDescriptor.path('interop', 'tls'), matrix);
      assert.deepEqual(
        (await collect(client.doAction('compare', 'types,interop/tls'))).map((r) => text.decode(r)),
        ['equal'],
      );
      await rejectsWith(untrusting.listActions({ deadline: 5000 }), 'unavailable', /./);
    } finally {
      client.close();
      untrusting.close();
    }
  });
});
