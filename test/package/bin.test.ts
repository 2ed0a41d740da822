// `duck-flight` as `npm ci` leaves it: bin/duck-flight.js runs the compiled build in dist/, and that
// build finds the native addon `npm ci` built (it looked for it beside dist/ once, and fell back to
// the JavaScript bridge without a word beyond its log line).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../support/duck-server.ts';

test('the compiled duck-flight starts on the native bridge', async () => {
  const bin = join(REPO_ROOT, 'bin', 'duck-flight.js');
  assert.ok(existsSync(join(REPO_ROOT, 'dist', 'servers', 'cli.js')), 'dist/ is missing: npm ci (or npm run build) builds it');
  const child = spawn(process.execPath, [bin, '--host', '127.0.0.1', '--port', '0', '--db-path', ':memory:', '--bridge', 'native'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = () => (/listening on grpc:\/\//.test(output) ? resolve(true) : setTimeout(check, 50));
      check();
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 60_000)),
  ]);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, output);
  assert.ok(ready, `duck-flight did not start:\n${output}`);
  assert.match(output, /"bridge":"native"/);
});
