// Runs every test/**/*.test.ts file with node's built-in test runner (Node 20 has no glob
// support in `node --test`, and tsx provides TypeScript). Pass file or folder filters to narrow.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), path));
  }
  return out;
}

// --bridge native|js: the bridge the tests use (TEST_BRIDGE: test/support/duck-server.ts passes it
// to the servers they spawn, test/bridge/helpers.ts opens connections the addon can use).
const args = process.argv.slice(2);
const bridgeAt = args.indexOf('--bridge');
const env = { ...process.env };
if (bridgeAt >= 0) {
  const bridge = args[bridgeAt + 1];
  if (bridge !== 'native' && bridge !== 'js') {
    console.error('--bridge takes native or js');
    process.exit(2);
  }
  env.TEST_BRIDGE = bridge;
  args.splice(bridgeAt, 2);
}
const filters = args;
let files = collect('test', []);
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
