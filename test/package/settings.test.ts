// The README's limits table and `duck-flight --help` quote the defaults of servers/settings.ts
// (and flight/defaults.ts through it): a default changed in one place and not the others fails here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as settings from '../../servers/settings.ts';
import { transportDefaults, transportsFromEnvironment } from '../../flight/defaults.ts';
import { REPO_ROOT, runCli } from '../support/duck-server.ts';

const MiB = 1024 * 1024;
const mib = (bytes: number) => `${bytes / MiB} MiB`;
const count = (n: number) => n.toLocaleString('en-US');

/** The README's limits table: first cell (what) -> second cell (default). */
function limitsTable(): Map<string, string> {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Limits, and how to change them'));
  const rows = new Map<string, string>();
  for (const line of section.slice(0, section.indexOf('\n## ', 1)).split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length >= 4 && cells[1] && !/^-+$/.test(cells[1]) && cells[1] !== 'what') rows.set(cells[1], cells[2]!);
  }
  return rows;
}

describe('one source for the defaults', () => {
  const rows = limitsTable();
  const expected: [string, string][] = [
    ['largest message sent', mib(settings.DEFAULT_MAX_MESSAGE_BYTES)],
    ['largest message accepted', mib(settings.DEFAULT_MAX_RECEIVE_MESSAGE_BYTES)],
    ['outgoing bytes queued per stream', mib(settings.DEFAULT_WRITE_BUFFER_BYTES)],
    ['DoPut/DoExchange read-ahead', `${settings.DEFAULT_READ_AHEAD_MESSAGES} messages`],
    ['HTTP/2 flow-control window (client)', mib(settings.DEFAULT_CLIENT_WINDOW_BYTES)],
    ['HTTP/2 receive window (server)', mib(settings.DEFAULT_RECEIVE_WINDOW)],
    ['rows per Arrow batch sent by the server', count(settings.DEFAULT_BATCH_ROWS)],
    ['SQL text in a ticket or command', mib(settings.MAX_SQL_BYTES)],
    ['rows the `query` action returns inline', count(settings.MAX_ACTION_ROWS)],
    ['HTTP/2 frames', `up to ${mib(settings.SERVER_MAX_FRAME_BYTES)}`],
    ['HTTP/2 frames', `at most ${mib(settings.CLIENT_UNREAD_BYTES)} of unread messages`],
    [
      'keepalive',
      `every ${settings.SERVER_KEEPALIVE['grpc.keepalive_time_ms']! / 60_000} min (${settings.SERVER_KEEPALIVE['grpc.keepalive_timeout_ms']! / 1000} s timeout)`,
    ],
    ['keepalive', `every ${settings.CLIENT_KEEPALIVE['grpc.keepalive_time_ms']! / 60_000} min during calls`],
    ['shutdown grace', `${settings.SHUTDOWN_GRACE_MS / 1000} s`],
  ];
  for (const [what, quote] of expected) {
    test(`README limits, "${what}": ${quote}`, () => {
      const cell = rows.get(what);
      assert.ok(cell !== undefined, `the README's limits table has no row "${what}"`);
      assert.ok(cell.includes(quote), `the README says "${cell}", the default is ${quote}`);
    });
  }

  test("duck-flight --help shows the settings module's defaults", () => {
    const help = runCli(['--help']);
    assert.equal(help.status, 0, help.stderr);
    const flat = help.stdout.replace(/\s+/g, ' ');
    for (const [option, value] of [
      ['--batch-rows', settings.DEFAULT_BATCH_ROWS],
      ['--port', settings.DEFAULT_PORT],
      ['--host', `"${settings.DEFAULT_HOST}"`],
      ['--db-path', `"${settings.DEFAULT_DB_PATH}"`],
    ] as const) {
      assert.match(
        flat,
        new RegExp(`${option} .*?\\[default: ${String(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\]`),
        `--help does not give ${option} the default ${value}`,
      );
    }
  });

  test('FLIGHT_*_TRANSPORT are parsed by the entry points, a wrong name refused', () => {
    assert.deepEqual(transportsFromEnvironment({}), {});
    assert.deepEqual(transportsFromEnvironment({ FLIGHT_SERVER_TRANSPORT: 'grpc-js', FLIGHT_CLIENT_TRANSPORT: 'node-http2' }), {
      server: 'grpc-js',
      client: 'node-http2',
    });
    assert.throws(
      () => transportsFromEnvironment({ FLIGHT_CLIENT_TRANSPORT: 'http3' }),
      /FLIGHT_CLIENT_TRANSPORT=http3: expected http2, node-http2 or grpc-js/,
    );
    // This process is a test: scripts/run-tests.mjs preloaded test/support/environment.ts.
    assert.equal(transportDefaults.client, process.env['FLIGHT_CLIENT_TRANSPORT'] || 'http2');
    assert.equal(transportDefaults.server, process.env['FLIGHT_SERVER_TRANSPORT'] || 'http2');
  });
});
