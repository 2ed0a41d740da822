// The regression check: its decision function (pure: medians in, pass or fail out), and the
// check run as a process against a baseline that has no bench harness.

import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decide } from '../../bench/regression.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('decide', () => {
  test('compares the medians: a fall within the threshold passes, beyond it fails', () => {
    const decision = decide(
      [
        // median 10 -> median 8: 20% slower, within 25%
        { op: 'get', baseline: [9, 10, 30], current: [8, 1, 8.5] },
        // median 10 -> median 7: 30% slower
        { op: 'exchange', baseline: [10, 10, 10], current: [7, 7, 7] },
        // faster
        { op: 'transfer-client', baseline: [5, 5, 5], current: [6, 6, 6] },
      ],
      0.25,
    );
    assert.equal(decision.pass, false);
    assert.equal(decision.threshold, 0.25);
    const byOp = Object.fromEntries(decision.verdicts.map((v) => [v.op, v]));
    assert.deepEqual({ ...byOp['get'] }, { op: 'get', baselineMedian: 10, currentMedian: 8, ratio: 0.8, pass: true });
    assert.equal(byOp['exchange']!.pass, false);
    assert.ok(Math.abs(byOp['exchange']!.ratio - 0.7) < 1e-12);
    assert.equal(byOp['transfer-client']!.pass, true);
    assert.ok(Math.abs(byOp['transfer-client']!.ratio - 1.2) < 1e-12);
  });

  test('every operation within the threshold passes overall; exactly at the threshold passes', () => {
    const decision = decide(
      [
        { op: 'get', baseline: [100, 100], current: [75, 75] },
        { op: 'exchange', baseline: [4, 2, 3], current: [3, 3, 3] },
      ],
      0.25,
    );
    assert.equal(decision.pass, true);
    assert.deepEqual(
      decision.verdicts.map((v) => v.ratio),
      [0.75, 1],
    );
  });

  test('even counts take the mean of the middle two; one outlier does not decide', () => {
    const decision = decide([{ op: 'get', baseline: [10, 12, 100, 11], current: [1, 11, 11, 12] }], 0.1);
    assert.equal(decision.verdicts[0]!.baselineMedian, 11.5);
    assert.equal(decision.verdicts[0]!.currentMedian, 11);
    assert.equal(decision.pass, true);
  });

  test('a stricter threshold fails what a looser one passes', () => {
    const samples = [{ op: 'get', baseline: [10], current: [8.5] }];
    assert.equal(decide(samples, 0.2).pass, true);
    assert.equal(decide(samples, 0.1).pass, false);
  });

  test('refuses what it cannot judge', () => {
    assert.throws(() => decide([], 0.25), /no operation was measured/);
    assert.throws(() => decide([{ op: 'get', baseline: [], current: [1] }], 0.25), /get: no baseline measurement/);
    assert.throws(() => decide([{ op: 'get', baseline: [1], current: [] }], 0.25), /get: no current measurement/);
    assert.throws(() => decide([{ op: 'get', baseline: [1], current: [Number.NaN] }], 0.25), /not a positive number/);
    assert.throws(() => decide([{ op: 'get', baseline: [0], current: [1] }], 0.25), /not a positive number/);
    for (const threshold of [0, 1, -0.1, 1.5, Number.NaN]) {
      assert.throws(() => decide([{ op: 'get', baseline: [1], current: [1] }], threshold), /threshold is a fraction between 0 and 1/);
    }
  });
});

describe('bench/regression.ts as a process', () => {
  test('a baseline without a bench harness passes with a clear message and leaves no worktree', async () => {
    const first = spawnSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout.trim().split('\n')[0]!;
    assert.match(first, /^[0-9a-f]{40}$/);
    const has = spawnSync('git', ['cat-file', '-e', `${first}:bench/harness/index.ts`], { cwd: root });
    assert.notEqual(has.status, 0, 'the first commit was expected to have no bench harness');
    const worktreesBefore = spawnSync('git', ['worktree', 'list', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout;

    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/regression.ts', '--ci', '--baseline', first], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));

    assert.equal(code, 0, `${stdout}\n${stderr}`);
    assert.match(
      stdout,
      /regression: PASS \(nothing to compare\): the baseline [0-9a-f]+ .* has no bench harness to run \(it has no bench\/harness\/index\.ts\)/,
    );
    const worktreesAfter = spawnSync('git', ['worktree', 'list', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout;
    assert.equal(worktreesAfter, worktreesBefore);
  });

  test('bad arguments are refused with the reason', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/regression.ts', '--threshold', '2'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--threshold is a fraction between 0 and 1, got 2/);
  });
});
