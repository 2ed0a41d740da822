// `npm run bench` in a tiny mode, run as a process: the matrix and a two-size batch sweep with
// the pyarrow reference beside ours, then the JSON and the chart it writes, the ratios in them,
// and no server left running. Needs the reference peers (support/peers.ts).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { OPERATIONS, OPERATION_LABELS, type RunReport } from '../../bench/chart.ts';
import { peerPython } from '../support/peers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROWS = 20_000;

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bench-run-test-'));
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

describe('npm run bench (tiny)', () => {
  test('writes the JSON and the chart, with ours, the reference and their ratio for every operation', async () => {
    const out = join(dir, 'results');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/run.ts',
        '--rows',
        String(ROWS),
        '--runs',
        '1',
        '--warmup',
        '0',
        '--no-micro',
        '--batch-rows',
        '16K,64K',
        '--python',
        peerPython(),
        '--out-dir',
        out,
        '--data-dir',
        join(dir, 'data'),
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `bench/run.ts failed:\n${stdout}\n${stderr}`);

    // Progress went to stderr as it ran.
    assert.match(stderr, /\[20K\] GET run 1\/1 ours: [\d.]+ s/);
    assert.match(stderr, /\[20K\] EXCHANGE: ours [\d.]+ M rows\/s, reference [\d.]+ M rows\/s, ours\/reference [\d.]+/);

    const jsonPath = /^results: (.+\.json)$/m.exec(stdout)?.[1];
    const htmlPath = /^chart: +(.+\.html)$/m.exec(stdout)?.[1];
    assert.ok(jsonPath && htmlPath, `no result paths in:\n${stdout}`);
    assert.ok(jsonPath.startsWith(out) && htmlPath.startsWith(out));

    const report = JSON.parse(readFileSync(jsonPath, 'utf8')) as RunReport;
    assert.equal(report.name, 'run');
    assert.equal(report.machine.cores > 0, true);
    assert.match(report.machine.versions['pyarrow'] ?? '', /^\d+\./);
    assert.match(report.machine.versions['@duckdb/node-api'] ?? '', /^\d+\./);
    assert.deepEqual(report.options.rows, [ROWS]);
    assert.deepEqual(
      report.matrix.map((c) => c.op),
      [...OPERATIONS],
    );
    for (const cell of report.matrix) {
      assert.equal(cell.rows, ROWS);
      assert.equal(cell.ours.verified, true, `${cell.operation} ours: ${cell.ours.samples[0]?.detail}`);
      assert.equal(cell.reference?.verified, true, `${cell.operation} reference: ${cell.reference?.samples[0]?.detail}`);
      assert.equal(cell.ours.samples.length, 1);
      assert.equal(cell.reference!.samples.length, 1);
      assert.equal(cell.ours.samples[0]!.rows, ROWS);
      assert.equal(cell.reference!.samples[0]!.rows, ROWS);
      assert.ok(cell.ratio !== null && cell.ratio > 0 && Number.isFinite(cell.ratio), `${cell.operation}: ratio ${cell.ratio}`);
      assert.ok(Math.abs(cell.ratio - cell.ours.rowsPerSecond.median / cell.reference!.rowsPerSecond.median) < 1e-9);
      if (process.platform === 'linux') {
        for (const side of [cell.ours, cell.reference!]) {
          assert.ok((side.peakMemory.server1 ?? 0) > 10e6, `${cell.operation}: server 1 peak ${side.peakMemory.server1}`);
          assert.ok((side.peakMemory.server2 ?? 0) > 10e6, `${cell.operation}: server 2 peak ${side.peakMemory.server2}`);
        }
      }
    }
    // The sweep: 64K is the default batch size, so its cells are the matrix's; 16K was measured.
    assert.deepEqual(
      [...new Set(report.sweep.map((c) => c.batchRows))].sort((a, b) => a - b),
      [16384, 65536],
    );
    assert.equal(report.sweep.filter((c) => c.batchRows === 16384).length, OPERATIONS.length);
    for (const cell of report.sweep) assert.ok(cell.ratio !== null && cell.ratio > 0);

    const html = readFileSync(htmlPath, 'utf8');
    assert.match(html, /^<!doctype html>/);
    assert.ok((html.match(/<svg /g) ?? []).length >= 3, 'expected the throughput, sweep and memory charts');
    for (const op of OPERATIONS) assert.ok(html.includes(OPERATION_LABELS[op]), `the chart lacks ${OPERATION_LABELS[op]}`);
    for (const cell of report.matrix)
      assert.ok(html.includes(`×${cell.ratio!.toFixed(2)}`), `the chart lacks the ratio of ${cell.operation}`);
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'the page must be self-contained');

    // Every server it started (two per side, per batch size) is gone.
    const pids = [...stderr.matchAll(/\(pids (\d+), (\d+)\)/g)].flatMap((m) => [Number(m[1]), Number(m[2])]);
    assert.equal(pids.length, 8, `expected 8 server pids in:\n${stderr}`);
    await sleep(200);
    assert.deepEqual(pids.filter(isAlive), [], 'a server outlived bench/run.ts');
  });
});
