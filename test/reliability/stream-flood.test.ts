// A client that opens streams by the tens of thousands on one connection and never sends their
// request, against the duck-flight process: with --auth, without credentials (each refused
// from its headers); and without auth (held up to the per-connection stream limit, the rest
// refused, all closed after the first-message timeout). The server's resident memory stays
// bounded and a real client is served throughout.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { floodStreams, residentBytes } from '../support/stream-flood.ts';

const MB = 1024 * 1024;
const STREAMS = 50_000;
/** HTTP/2 error codes (RFC 9113 section 7). */
const NO_ERROR = 0;
const REFUSED_STREAM = 7;

async function realClientWorks(server: ServerProcess, auth: boolean): Promise<void> {
  const client = await server.connect(auth ? { username: 'alice', password: 'secret' } : {});
  try {
    const table = await client.executeQuery('SELECT 42 AS answer');
    assert.equal(table.getChild('answer')!.get(0), 42);
  } finally {
    client.close();
  }
}

describe('duck-flight --auth: 50,000 streams without credentials on one connection', () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer({ args: ['--auth'], env: { DUCK_FLIGHT_USERS: 'alice:secret' } });
  });
  after(() => server.stop());

  test('each is refused from its headers and reset; server RSS grows by less than 100 MB; a real client is served meanwhile', async () => {
    await realClientWorks(server, true);
    const before = residentBytes(server.child.pid!);
    const flood = floodStreams(server.port, STREAMS);
    try {
      await flood.sent;
      await realClientWorks(server, true);
      const outcome = await Promise.race([flood.until((o) => o.answered >= STREAMS), sleep(60_000).then(() => flood.outcome())]);
      const grown = residentBytes(server.child.pid!) - before;
      assert.equal(outcome.opened, STREAMS);
      assert.equal(outcome.answered, STREAMS, 'every stream answered (UNAUTHENTICATED, trailers-only)');
      assert.equal(outcome.resets.get(NO_ERROR), STREAMS, 'and reset, freeing its place');
      assert.ok(grown < 100 * MB, `server RSS grew by ${(grown / MB).toFixed(0)} MB`);
    } finally {
      flood.close();
    }
    await realClientWorks(server, true);
  });
});

describe('duck-flight without auth: 50,000 silent streams on one connection', () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer({ args: ['--max-concurrent-streams', '100', '--first-message-timeout', '2'] });
  });
  after(() => server.stop());

  test('at most --max-concurrent-streams are held, the rest refused; those held are closed after --first-message-timeout; RSS bounded', async () => {
    const before = residentBytes(server.child.pid!);
    const flood = floodStreams(server.port, STREAMS);
    try {
      await flood.sent;
      const settled = await Promise.race([
        flood.until((o) => o.goaway !== undefined || o.answered + (o.resets.get(REFUSED_STREAM) ?? 0) >= STREAMS),
        sleep(60_000).then(() => flood.outcome()),
      ]);
      assert.equal(settled.maxConcurrentStreams, 100, 'the limit is announced in SETTINGS');
      // Past the limit nghttp2 refuses streams (REFUSED_STREAM before our SETTINGS are
      // acknowledged, a PROTOCOL_ERROR GOAWAY after): either way, never more than 100 held.
      const refused = (settled.resets.get(REFUSED_STREAM) ?? 0) + (settled.goaway ? STREAMS - settled.answered : 0);
      assert.ok(refused >= STREAMS - 100 - settled.answered, `refused ${refused}, answered ${settled.answered}`);
      await realClientWorks(server, false);
      // The ones held are closed with DEADLINE_EXCEEDED after 2 s (their HEADERS, then RST_STREAM(NO_ERROR)).
      const timedOut = await Promise.race([flood.until((o) => o.answered >= 1 && (o.resets.get(NO_ERROR) ?? 0) >= o.answered), sleep(10_000).then(() => flood.outcome())]);
      assert.ok(timedOut.answered >= 1 && timedOut.answered <= 100, `answered ${timedOut.answered}`);
      const grown = residentBytes(server.child.pid!) - before;
      assert.ok(grown < 100 * MB, `server RSS grew by ${(grown / MB).toFixed(0)} MB`);
    } finally {
      flood.close();
    }
    await realClientWorks(server, false);
  });
});
