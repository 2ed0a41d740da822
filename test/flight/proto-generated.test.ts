// The checked-in generated code (proto/*_pb.ts) is what the generator makes from the .proto
// files beside it now: an edited .proto without `npm run gen:proto` fails here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/peers.ts';

for (const dir of ['flight/proto', 'servers/flightsql/proto']) {
  test(`${dir}: the *_pb.ts files are up to date with the .proto files`, () => {
    const out = mkdtempSync(join(tmpdir(), 'gen-proto-'));
    try {
      const buf = join(REPO_ROOT, 'node_modules', '.bin', 'buf');
      const env = { ...process.env, PATH: `${join(REPO_ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}` };
      execFileSync(buf, ['generate', dir, '--template', 'buf.gen.yaml', '--output', out], { cwd: REPO_ROOT, env, stdio: 'pipe' });
      const generated = readdirSync(out)
        .filter((f) => f.endsWith('_pb.ts'))
        .sort();
      const checkedIn = readdirSync(join(REPO_ROOT, dir))
        .filter((f) => f.endsWith('_pb.ts'))
        .sort();
      assert.deepEqual(checkedIn, generated, 'one NAME_pb.ts per NAME.proto');
      for (const file of generated) {
        assert.equal(
          readFileSync(join(REPO_ROOT, dir, file), 'utf8'),
          readFileSync(join(out, file), 'utf8'),
          `${dir}/${file} differs: run npm run gen:proto`,
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
