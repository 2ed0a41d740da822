// Faults with real processes: a client process killed (SIGKILL, no goodbye on the socket) in the
// middle of a DoGet, of a long computation and of a DoPut; the server SIGKILLed in the middle of
// uploads into a file database, then restarted; SIGTERM while calls are in flight.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { spawnServer, tempDir, type ServerProcess } from '../support/duck-server.ts';
import { one, rejectsWith, waitFor } from '../server/helpers.ts';
import { checksum, cpuOver, mib, RssSampler, spawnClient, uploadBatch, uploadRowsSql, uploadTable, MiB } from './support.ts';

/** Lines the server logged for calls of `method` that ended with gRPC `code`. */
function endedCalls(server: ServerProcess, method: string, code: GrpcStatus): { ms: number; details: string }[] {
  const out: { ms: number; details: string }[] = [];
  for (const line of server.stderr().split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; method?: string; code?: number; ms?: number; details?: string };
    if ((entry.msg === 'call failed' || entry.msg === 'call') && entry.method === method && entry.code === code) {
      out.push({ ms: entry.ms ?? -1, details: entry.details ?? '' });
    }
  }
  return out;
}

/** Sum of 0..n-1. */
const triangle = (n: number) => (BigInt(n) * BigInt(n - 1)) / 2n;

/** Reads `SELECT i, 'x' || i FROM range(n)` completely and checks every row arrived once, in order. */
async function fullRead(client: DuckDBFlightClient, n: number): Promise<{ rows: number; sum: bigint }> {
  let rows = 0;
  let sum = 0n;
  for await (const batch of client.streamQuery(`SELECT i, 'x' || i AS s FROM range(${n}) t(i)`)) {
    const ids = batch.getChild('i')!;
    const s = batch.getChild('s')!;
    for (let r = 0; r < batch.numRows; r += 9973) assert.equal(s.get(r), `x${ids.get(r)}`);
    assert.equal(ids.get(0), BigInt(rows), 'batches arrive in order with no gap');
    for (const v of ids.data[0]!.values as BigInt64Array) sum += v;
    rows += batch.numRows;
  }
  return { rows, sum };
}

describe('a client process killed in the middle of a call', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer({ logLevel: 'debug' });
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, server?.stderr());
  });

  test('mid-DoGet of a large result: the server ends the query, memory settles, a concurrent DoGet is untouched', async () => {
    const pid = server.child.pid!;
    const rss = new RssSampler(pid);
    const baseline = rss.peak;
    // 200M rows of four columns (about 6 GB as Arrow): only a sliver is ever produced.
    const victim = spawnClient('get', server.location, {
      sql: "SELECT i, i * 2 AS j, 'v' || i AS s, i / 7 AS d FROM range(200000000) t(i)",
    });
    await victim.waitForLine(/^batch 20 /);
    // Another client reads a result of its own, from before the kill until after it.
    const neighbour = fullRead(client, 2_000_000);
    await victim.kill('SIGKILL');
    assert.deepEqual(await neighbour, { rows: 2_000_000, sum: triangle(2_000_000) });

    await waitFor(() => endedCalls(server, 'DoGet', GrpcStatus.CANCELLED).length >= 1, 'the server to log the cancelled DoGet');
    const [ended] = endedCalls(server, 'DoGet', GrpcStatus.CANCELLED);
    assert.equal(ended!.details, 'the client cancelled the call');
    // The server is idle again: no query left running for the dead client.
    const idleCpu = await cpuOver(pid, 1000);
    assert.ok(idleCpu < 0.2, `the server used ${idleCpu.toFixed(2)} CPU s in the second after the cancel`);
    const peak = rss.stop();
    const settled = rss.sample();
    console.log(`# server RSS: ${mib(baseline)} before, ${mib(peak)} peak, ${mib(settled)} after the kill`);
    assert.ok(peak - baseline < 400 * MiB, `the server grew by ${mib(peak - baseline)} serving a 6 GB result`);
    const started = performance.now();
    assert.deepEqual(await client.executeAction('health').then((r) => (r[0] as { status: string }).status), 'ok');
    assert.deepEqual(await one(client, 'SELECT count(*) AS n FROM range(1000)'), { n: 1000n });
    assert.ok(performance.now() - started < 5000, 'a follow-up call answers promptly');
  });

  test('while DuckDB computes an aggregate before its first row: the query is interrupted and the CPU goes idle', async () => {
    const pid = server.child.pid!;
    const before = endedCalls(server, 'DoGet', GrpcStatus.CANCELLED).length;
    // Minutes of hashing on two cores; nothing streams until it is done.
    const victim = spawnClient('call', server.location, { sql: 'SELECT sum(hash(i)) AS h FROM range(50000000000) t(i)' });
    await victim.waitForLine(/^calling$/);
    const busy = await cpuOver(pid, 1500);
    assert.ok(busy > 0.1, `the aggregate is running (${busy.toFixed(2)} CPU s in 1.5 s)`);
    await victim.kill('SIGKILL');
    await waitFor(() => endedCalls(server, 'DoGet', GrpcStatus.CANCELLED).length > before, 'the server to log the cancelled DoGet');
    const ended = endedCalls(server, 'DoGet', GrpcStatus.CANCELLED).at(-1)!;
    assert.ok(ended.ms < 30_000, `the call ended ${ended.ms} ms after it began: the query was interrupted, not finished`);
    const idle = await cpuOver(pid, 1000);
    assert.ok(idle < 0.1, `after the interrupt the server used ${idle.toFixed(2)} CPU s in a second (busy: ${busy.toFixed(2)} in 1.5 s)`);
    assert.deepEqual(await one(client, 'SELECT 41 + 1 AS answer'), { answer: 42 });
  });

  test('mid-DoPut: the table is exactly as before, and takes uploads again', async () => {
    await client.uploadData('victim_put', uploadTable(0, 5000));
    const before = await checksum(client, 'victim_put');
    const victim = spawnClient('put', server.location, { table: 'victim_put', batchRows: 20_000, startId: 1_000_000 });
    await victim.waitForLine(/^sent 40$/);
    await victim.kill('SIGKILL');
    await waitFor(() => endedCalls(server, 'DoPut', GrpcStatus.CANCELLED).length >= 1, 'the server to log the cancelled DoPut');
    assert.deepEqual(await checksum(client, 'victim_put'), before);
    assert.deepEqual(await one(client, 'SELECT count(*) AS n, max(id) AS top FROM victim_put'), { n: 5000n, top: 4999n });
    assert.equal((await client.uploadData('victim_put', uploadTable(5000, 100))).rows, 100);
    assert.equal((await checksum(client, 'victim_put')).rows, 5100n);
  });
});

describe('the server SIGKILLed in the middle of a DoPut into a file database', () => {
  const dir = tempDir();
  const dbPath = join(dir.path, 'killed.duckdb');
  after(() => dir.remove());

  test('after each restart the table holds all of the interrupted upload or none of it, and every upload before it', async () => {
    const BATCH = 10_000;
    const BATCHES = 30;
    // Where the kill lands: midway through sending; the moment the last batch is handed over
    // (the server may be appending or committing); right after the server confirmed the upload
    // (committed, not yet checkpointed: the write-ahead log must bring it back).
    const rounds = ['midway', 'at the end of sending', 'after the confirmation'] as const;
    let committed = 0; // rows [0, committed) are in the table
    let server = await spawnServer({ dbPath, logLevel: 'info' });
    let client = await server.connect();
    try {
      for (let u = 0; u < 3; u++) await client.uploadData('ledger', uploadTable(u * 7000, 7000));
      committed = 21_000;
      const outcomes: string[] = [];
      for (const round of rounds) {
        const before = await checksum(client, 'ledger');
        assert.equal(before.rows, BigInt(committed));
        let sent = 0;
        let killed = false;
        const kill = () => {
          if (!killed) server.child.kill('SIGKILL');
          killed = true;
        };
        const start = committed;
        const upload = client
          .uploadData(
            'ledger',
            (async function* () {
              for (; sent < BATCHES; sent++) {
                if (round === 'midway' && sent === 12) kill();
                yield uploadBatch(start + sent * BATCH, BATCH);
              }
              // Just after the client ends its stream: the server is committing, or about to.
              if (round === 'at the end of sending') setTimeout(kill, 15);
            })(),
          )
          .then(
            (result) => result,
            (error: Error) => error,
          );
        const result = await upload;
        if (round === 'after the confirmation') {
          assert.ok(!(result instanceof Error), `the upload before the kill succeeded: ${String(result)}`);
          kill();
        }
        assert.equal(await server.exited, 'SIGKILL');
        client.close();

        server = await spawnServer({ dbPath, logLevel: 'info' });
        client = await server.connect();
        const after = await checksum(client, 'ledger');
        if (after.rows === BigInt(committed + BATCH * BATCHES)) {
          committed += BATCH * BATCHES;
          outcomes.push(`${round}: all`);
        } else {
          assert.deepEqual(after, before, `${round}: neither none nor all of the upload survived (${after.rows} rows)`);
          assert.ok(result instanceof Error, `${round}: an upload the server confirmed was lost`);
          outcomes.push(`${round}: none`);
        }
        // What is there is exactly the uploads that were committed, every value as sent.
        await client.executeAction('query', `CREATE OR REPLACE TABLE expected AS ${uploadRowsSql(0, committed)}`);
        assert.deepEqual(await checksum(client, 'ledger'), await checksum(client, 'expected'));
      }
      console.log(`# server SIGKILLed during uploads: ${outcomes.join('; ')}; ${committed} rows committed`);
      assert.match(outcomes[0]!, /none$/, 'an upload killed midway left nothing');
      assert.match(outcomes[2]!, /all$/, 'a confirmed upload survived the kill');
    } finally {
      client.close();
      assert.equal(await server.stop(), 0, server.stderr());
    }
  });
});

describe('SIGTERM during traffic', () => {
  const dir = tempDir();
  const dbPath = join(dir.path, 'term.duckdb');
  after(() => dir.remove());

  test('calls in flight finish or end with a clear status, new calls are refused, exit 0, the data is checkpointed', async () => {
    const server = await spawnServer({ dbPath, logLevel: 'info' });
    const client = await server.connect();
    let base: Awaited<ReturnType<typeof checksum>>;
    try {
      await client.uploadData('base', uploadTable(0, 50_000));
      base = await checksum(client, 'base');

      // In flight when the signal arrives: reads that fit in the grace period, an upload that
      // does too, and a read that cannot (100M rows read slowly).
      const reads = [0, 1, 2].map(() => fullRead(client, 1_000_000));
      let uploadSent = 0;
      const upload = client.uploadData(
        'during',
        (async function* () {
          for (let b = 0; b < 20; b++) {
            yield uploadBatch(b * 10_000, 10_000);
            uploadSent++;
          }
        })(),
      );
      const endless = client.streamQuery('SELECT * FROM range(100000000)');
      const endlessIterator = endless[Symbol.asyncIterator]();
      assert.equal((await endlessIterator.next()).done, false);
      const slowReader = (async () => {
        for (;;) {
          const next = await endlessIterator.next();
          if (next.done) return 'complete';
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })().then(
        (outcome) => outcome,
        (error: Error) => error,
      );

      server.child.kill('SIGTERM');
      await waitFor(() => /"msg":"shutting down","signal":"SIGTERM"/.test(server.stderr()), 'the server to start shutting down');
      // A new call after the signal is refused rather than left hanging.
      const late = await client.executeQuery('SELECT 1 AS late', { deadline: 10_000 }).then(
        () => 'answered',
        (error: Error) => error,
      );

      for (const read of reads) assert.deepEqual(await read, { rows: 1_000_000, sum: triangle(1_000_000) });
      const uploaded = await upload;
      assert.deepEqual(uploaded, { table: 'during', rows: 200_000, created: true });
      assert.equal(uploadSent, 20);
      const slow = await slowReader;
      assert.ok(slow instanceof Error, 'the endless read cannot have completed');
      assert.match(`${(slow as { kind?: string }).kind}: ${slow.message}`, /^(unavailable|cancelled): .*(shutting down|cancel|Cancelled)/i);
      assert.ok(late instanceof Error, 'a call made after SIGTERM is not answered');
      assert.match((late as { kind?: string }).kind ?? '', /unavailable|deadline-exceeded/);

      assert.equal(await server.exited, 0, server.stderr());
      assert.match(server.stderr(), /"msg":"stopped","signal":"SIGTERM"/);
      const wal = `${dbPath}.wal`;
      assert.ok(!existsSync(wal) || statSync(wal).size === 0, 'the write-ahead log was folded into the database file');
    } finally {
      client.close();
      if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    }

    const again = await spawnServer({ dbPath });
    const reopened = await again.connect();
    try {
      assert.deepEqual(await checksum(reopened, 'base'), base);
      await reopened.executeAction('query', `CREATE TABLE expected AS ${uploadRowsSql(0, 200_000)}`);
      assert.deepEqual(await checksum(reopened, 'during'), await checksum(reopened, 'expected'));
    } finally {
      reopened.close();
      assert.equal(await again.stop(), 0);
    }
  });
});

describe('a slow reader of a big DoGet', () => {
  let server: ServerProcess;
  let client: DuckDBFlightClient;

  before(async () => {
    server = await spawnServer({ logLevel: 'info' });
    client = await server.connect();
  });
  after(async () => {
    client?.close();
    assert.equal(await server?.stop(), 0, server?.stderr());
  });

  test('24M rows of seven flights-like columns (about 1.2 GB as Arrow) read slowly: the server RSS stays bounded', async () => {
    const pid = server.child.pid!;
    const ROWS = 24_000_000;
    // Flights-like columns: ids, a date, airports and a tail number as text, delay and distance.
    const sql = `SELECT i AS id, DATE '2024-01-01' + (i % 366)::INTEGER AS fl_date, 'CARRIER-' || (i % 17) AS carrier,
                   'N' || (i % 99991) || 'XZ' AS tail, (i % 9973)::INTEGER AS origin, ((i * 7) % 1000 / 10.0)::DOUBLE AS dep_delay,
                   (i % 4999)::DOUBLE AS distance FROM range(${ROWS}) t(i)`;
    // Warm up (the first query loads code and allocates pools) before taking the baseline.
    await one(client, 'SELECT count(*) AS n FROM range(10)');
    const rss = new RssSampler(pid, 25);
    const baseline = rss.peak;
    const abort = new AbortController();
    let rows = 0;
    let bytes = 0;
    const slowForMs = 8000;
    const started = performance.now();
    const reading = (async () => {
      for await (const batch of client.streamQuery(sql, { signal: abort.signal })) {
        rows += batch.numRows;
        for (const column of batch.data.children) {
          for (const buffer of [column.values, column.valueOffsets, column.nullBitmap]) bytes += buffer?.byteLength ?? 0;
        }
        if (performance.now() - started < slowForMs) await new Promise((resolve) => setTimeout(resolve, 250));
        else abort.abort(new Error('the slow reader has seen enough'));
      }
    })();
    try {
      await rejectsWith(reading, 'cancelled', /cancel/i);
    } finally {
      abort.abort(new Error('the test is over'));
    }
    const peak = rss.stop();
    const seconds = (performance.now() - started) / 1000;
    const estimatedTotal = (bytes / rows) * ROWS;
    console.log(
      `# slow reader: ${rows} of ${ROWS} rows (${mib(bytes)} of about ${mib(estimatedTotal)}) in ${seconds.toFixed(1)} s; ` +
        `server RSS ${mib(baseline)} before, peak ${mib(peak)} (+${mib(peak - baseline)})`,
    );
    assert.ok(rows > 0 && rows < ROWS / 4, `the slow reader read ${rows} rows`);
    assert.ok(estimatedTotal > 1000 * MiB, `the whole result is about ${mib(estimatedTotal)}`);
    assert.ok(peak - baseline < 250 * MiB, `the server grew by ${mib(peak - baseline)} while a client read ${mib(bytes)} slowly`);
    await waitFor(() => endedCalls(server, 'DoGet', GrpcStatus.CANCELLED).length >= 1, 'the server to end the cancelled DoGet');
    assert.deepEqual(await one(client, 'SELECT 1 AS ok'), { ok: 1 });
  });
});
