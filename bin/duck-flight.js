#!/usr/bin/env -S node --initial-old-space-size=128
// The `duck-flight` command: the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs
// through `prepare`). The flag on the first line is servers/node-flags.ts's (why it is there, and
// the same list for the processes we spawn). The tests, the demo and the benchmarks start the
// TypeScript source (servers/cli.ts through tsx) instead, so that they never run a stale build.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/servers/cli.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(`duck-flight: ${cli.pathname} is missing: run \`npm run build\` (npm ci runs it)\n`);
  process.exit(1);
}
await import(cli.href);
