// Builds the native addon (native/build/Release/duck_flight_native.node) with the node-gyp that
// npm bundles, against Node's own headers (no download) and the libduckdb.so shipped by
// @duckdb/node-bindings. Run by `npm ci` / `npm install` (the root `install` script) and by
// `node native/build.mjs` by hand. Without a compiler or headers the server falls back to the
// JavaScript bridge, so a failed build says why and exits 0, unless DUCK_FLIGHT_NATIVE=require.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.env.DUCK_FLIGHT_NATIVE === 'require';
const say = (line) => console.log(`native: ${line}`);

function fail(reason) {
  if (required) {
    console.error(`native: ${reason}\nnative: DUCK_FLIGHT_NATIVE=require, so this is an error.`);
    process.exit(1);
  }
  say(`${reason}\nnative: the server will use the JavaScript bridge (set DUCK_FLIGHT_NATIVE=require to make this an error).`);
  process.exit(0);
}

if (process.env.DUCK_FLIGHT_NATIVE === 'skip') {
  say('DUCK_FLIGHT_NATIVE=skip: not building the addon');
  process.exit(0);
}

// Node's headers live under its own prefix (<prefix>/include/node) when Node was installed
// with them; then node-gyp needs no download.
const nodedir = dirname(dirname(process.execPath));
if (!existsSync(join(nodedir, 'include', 'node', 'node_api.h'))) {
  fail(`no Node headers at ${join(nodedir, 'include', 'node')} (install Node with its headers, e.g. the official tarball)`);
}

function findLibduckdb() {
  const fromBindings = createRequire(join(here, '..', 'node_modules', '@duckdb', 'node-bindings', 'package.json'));
  const platform = `${process.platform}-${process.arch}`;
  for (const name of [`@duckdb/node-bindings-${platform}`, `@duckdb/node-bindings-${platform}-musl`]) {
    try {
      const folder = dirname(fromBindings.resolve(`${name}/package.json`));
      for (const lib of ['libduckdb.so', 'libduckdb.dylib', 'duckdb.lib']) if (existsSync(join(folder, lib))) return folder;
    } catch {
      // not installed for this platform; try the next name
    }
  }
  return null;
}
const libDir = findLibduckdb();
if (libDir === null) fail(`no libduckdb shipped by @duckdb/node-bindings for ${process.platform}-${process.arch} (run npm ci first)`);

function findNodeGyp() {
  // npm sets npm_config_node_gyp to its bundled node-gyp for lifecycle scripts.
  const candidates = [
    process.env.npm_config_node_gyp,
    process.env.npm_execpath && join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    join(nodedir, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c)) ?? null;
}
const nodeGyp = findNodeGyp();
if (nodeGyp === null) fail("no node-gyp found (it comes with npm: is npm's own folder intact?)");

say(`building with ${nodeGyp}`);
say(`  Node headers: ${join(nodedir, 'include', 'node')}`);
say(`  libduckdb:    ${libDir}`);
const started = Date.now();
const result = spawnSync(process.execPath, [nodeGyp, 'rebuild', `--nodedir=${nodedir}`, '--loglevel=warn'], {
  cwd: here,
  stdio: 'inherit',
  env: { ...process.env, DUCKDB_LIB_DIR: libDir },
});
if (result.status !== 0) {
  fail(
    `the build failed (exit ${result.status ?? result.signal}): see the compiler's output above; a C++17 compiler (g++ or clang++) and make are needed`,
  );
}
say(`built native/build/Release/duck_flight_native.node in ${((Date.now() - started) / 1000).toFixed(1)} s`);
