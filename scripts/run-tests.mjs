// Runs every test/**/*.test.ts file with node's built-in test runner (Node 20 has no glob
// support in `node --test`, and tsx provides TypeScript). Pass file or folder filters to narrow.
// When a selected file uses the peers (imports test/support/peers.ts, directly or through another
// test module), scripts/setup-peers.sh runs first: pyarrow, the JDBC driver and the Go client; a
// no-op when they are up to date, and a clear failure when Python, Java, Go or a registry is missing.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PEERS_MODULE = join(root, 'test', 'support', 'peers.ts');

function collect(dir, out) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(process.cwd(), path));
  }
  return out;
}

/** True if `file` imports the peers module, following relative imports. */
function needsPeers(file, seen = new Set()) {
  const path = resolve(file);
  if (path === PEERS_MODULE) return true;
  if (seen.has(path) || !existsSync(path)) return false;
  seen.add(path);
  const source = readFileSync(path, 'utf8');
  for (const [, specifier] of source.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+\.ts)'/g)) {
    if (needsPeers(join(dirname(path), specifier), seen)) return true;
  }
  return false;
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
let files = collect(join(root, 'test'), []);
if (args.length > 0) files = files.filter((f) => args.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error(`no test files match ${args.join(' ') || 'test/**/*.test.ts'}`);
  process.exit(1);
}

if (files.some((f) => needsPeers(f))) {
  const setup = spawnSync('bash', [join(root, 'scripts', 'setup-peers.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (setup.status !== 0) {
    console.error(
      `npm test: the peer environment (pyarrow, the JDBC driver, the Go client) could not be set up (scripts/setup-peers.sh ${setup.error ? setup.error.message : `exit ${setup.status}`}; its message is above); the interop tests need it`,
    );
    process.exit(1);
  }
}

const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    pathToFileURL(join(root, 'test', 'support', 'environment.ts')).href,
    '--test',
    '--test-concurrency=1',
    '--test-timeout=600000',
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
