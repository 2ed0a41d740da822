import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  FLIGHTS_COLUMNS,
  ensureFlightsParquet,
  flightsSelectSql,
  tableChecksumSql,
} from '../../data/flights.ts';

const ROWS = 50_000;
const run = promisify(execFile);

let dir: string;
let instance: DuckDBInstance;
let db: DuckDBConnection;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flights-test-'));
  instance = await DuckDBInstance.create(':memory:');
  db = await instance.connect();
});

after(async () => {
  db.closeSync();
  instance.closeSync();
  await rm(dir, { recursive: true, force: true });
});

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await db.runAndReadAll(sql)).getRowObjects();
}

async function one(sql: string): Promise<Record<string, unknown>> {
  const all = await rows(sql);
  assert.equal(all.length, 1, `expected one row from ${sql}`);
  return all[0]!;
}

function literal(path: string): string {
  return `'${path.replaceAll("'", "''")}'`;
}

describe('ensureFlightsParquet', () => {
  test('the same seed and rows give the same bytes, a different seed different bytes', async () => {
    const a = join(dir, 'same-a.parquet');
    const b = join(dir, 'same-b.parquet');
    const c = join(dir, 'other-seed.parquet');
    const ra = await ensureFlightsParquet({ rows: ROWS, seed: 7, path: a });
    const rb = await ensureFlightsParquet({ rows: ROWS, seed: 7, path: b });
    const rc = await ensureFlightsParquet({ rows: ROWS, seed: 8, path: c });
    assert.deepEqual([ra.generated, rb.generated, rc.generated], [true, true, true]);
    assert.equal(ra.rows, ROWS);
    const [bytesA, bytesB, bytesC] = await Promise.all([readFile(a), readFile(b), readFile(c)]);
    assert.ok(bytesA.length > 0);
    assert.ok(bytesA.equals(bytesB), 'same seed, same rows: files differ');
    assert.ok(!bytesA.equals(bytesC), 'different seeds: files are identical');
  });

  test('a second call keeps the current file; a tampered, missing or torn one is rebuilt', async () => {
    const path = join(dir, 'cached.parquet');
    const first = await ensureFlightsParquet({ rows: ROWS, seed: 3, path });
    assert.equal(first.generated, true);
    const original = await readFile(path);
    const { mtimeMs } = await stat(path);

    const second = await ensureFlightsParquet({ rows: ROWS, seed: 3, path });
    assert.equal(second.generated, false);
    assert.equal((await stat(path)).mtimeMs, mtimeMs, 'a skipped call rewrote the file');

    // One flipped byte in the middle, same size: only the sha256 can tell.
    const tampered = Buffer.from(original);
    tampered[tampered.length >> 1] ^= 0xff;
    await writeFile(path, tampered);
    const afterTamper = await ensureFlightsParquet({ rows: ROWS, seed: 3, path });
    assert.equal(afterTamper.generated, true);
    assert.ok((await readFile(path)).equals(original), 'the rebuilt file differs from the first one');

    await unlink(path);
    assert.equal((await ensureFlightsParquet({ rows: ROWS, seed: 3, path })).generated, true);

    // A file with no sidecar, as a run killed before the rename would never leave but a copy might.
    await unlink(`${path}.json`);
    assert.equal((await ensureFlightsParquet({ rows: ROWS, seed: 3, path })).generated, true);

    await writeFile(`${path}.json`, '{"generator": "flig');
    assert.equal((await ensureFlightsParquet({ rows: ROWS, seed: 3, path })).generated, true);

    assert.equal((await ensureFlightsParquet({ rows: ROWS + 1, seed: 3, path })).generated, true);
    assert.equal((await ensureFlightsParquet({ rows: ROWS + 1, seed: 3, path, force: true })).generated, true);
    assert.equal((await ensureFlightsParquet({ rows: ROWS + 1, seed: 3, path })).generated, false);
  });

  test('the sidecar records rows, seed, size and sha256; no temporary files are left', async () => {
    const sub = await mkdtemp(join(dir, 'sidecar-'));
    const path = join(sub, 'f.parquet');
    const progress: number[] = [];
    await ensureFlightsParquet({ rows: ROWS, seed: 11, path, onProgress: (f) => progress.push(f) });
    const sidecar = JSON.parse(await readFile(`${path}.json`, 'utf8')) as Record<string, unknown>;
    assert.equal(sidecar.rows, ROWS);
    assert.equal(sidecar.seed, 11);
    assert.equal(sidecar.bytes, (await stat(path)).size);
    assert.match(String(sidecar.sha256), /^[0-9a-f]{64}$/);
    assert.deepEqual((await readdir(sub)).sort(), ['f.parquet', 'f.parquet.json']);
    assert.equal(progress.at(-1), 1);
    for (let k = 1; k < progress.length; k++) assert.ok(progress[k]! >= progress[k - 1]!, 'progress went back');
    assert.ok(progress.every((f) => f >= 0 && f <= 1));
  });

  test('rejects row counts and seeds it cannot use, naming them', async () => {
    await assert.rejects(ensureFlightsParquet({ rows: 0, path: join(dir, 'x.parquet') }), /rows must be an integer >= 1, got 0/);
    await assert.rejects(ensureFlightsParquet({ rows: 1.5, path: join(dir, 'x.parquet') }), /rows .* got 1\.5/);
    await assert.rejects(ensureFlightsParquet({ rows: 10, seed: Number.NaN, path: join(dir, 'x.parquet') }), /seed .* got NaN/);
    assert.throws(() => flightsSelectSql(-1), /rows must be an integer >= 1, got -1/);
  });
});

describe('the flights data', () => {
  let path: string;

  before(async () => {
    path = join(dir, 'content.parquet');
    await ensureFlightsParquet({ rows: ROWS, seed: 42, path });
    await db.run(`CREATE TABLE flights AS SELECT * FROM read_parquet(${literal(path)})`);
  });

  test('has the listed columns with their DuckDB types', async () => {
    const described = await rows(`DESCRIBE SELECT * FROM read_parquet(${literal(path)})`);
    assert.deepEqual(
      described.map((r) => ({ name: r.column_name, type: r.column_type })),
      FLIGHTS_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    );
    assert.deepEqual(
      FLIGHTS_COLUMNS.map((c) => c.name),
      ['FL_DATE', 'DEP_TIME', 'OP_CARRIER', 'ORIGIN', 'DEST', 'ORIGIN_CITY', 'DEST_CITY', 'FL_NUM',
        'DEP_DELAY', 'ARR_DELAY', 'AIR_TIME', 'DISTANCE', 'CANCELLED'],
    );
    assert.equal((await one('SELECT count(*)::INTEGER AS n FROM flights')).n, ROWS);
  });

  test('cancelled flights, and only they, have NULL delays and air time', async () => {
    const r = await one(`SELECT
        count(*) FILTER (CANCELLED)::INTEGER AS cancelled,
        count(*) FILTER (CANCELLED AND DEP_DELAY IS NULL AND ARR_DELAY IS NULL AND AIR_TIME IS NULL)::INTEGER AS cancelled_null,
        count(*) FILTER (NOT CANCELLED AND (DEP_DELAY IS NULL OR ARR_DELAY IS NULL OR AIR_TIME IS NULL))::INTEGER AS flown_null,
        count(*) FILTER (CANCELLED IS NULL OR DEP_TIME IS NULL OR DISTANCE IS NULL OR ORIGIN IS NULL)::INTEGER AS other_null
      FROM flights`);
    const cancelled = r.cancelled as number;
    assert.ok(cancelled > ROWS * 0.01 && cancelled < ROWS * 0.03, `cancelled ${cancelled} of ${ROWS}`);
    assert.equal(r.cancelled_null, cancelled);
    assert.equal(r.flown_null, 0);
    assert.equal(r.other_null, 0);
  });

  test('city names straddle DuckDB\'s 12-byte inline string limit', async () => {
    const r = await one(`SELECT
        count(*) FILTER (octet_length(ORIGIN_CITY::BLOB) > 12)::INTEGER AS long_origin,
        count(*) FILTER (octet_length(ORIGIN_CITY::BLOB) <= 12)::INTEGER AS short_origin,
        count(*) FILTER (octet_length(DEST_CITY::BLOB) > 12)::INTEGER AS long_dest,
        count(*) FILTER (octet_length(DEST_CITY::BLOB) <= 12)::INTEGER AS short_dest,
        count(*) FILTER (ORIGIN_CITY = 'Dallas/Fort Worth, TX')::INTEGER AS dfw
      FROM flights`);
    for (const key of ['long_origin', 'short_origin', 'long_dest', 'short_dest', 'dfw']) {
      assert.ok((r[key] as number) > 0, `no rows for ${key}`);
    }
  });

  test('values are plausible: codes, distances fixed per route, air time about distance / 8', async () => {
    const r = await one(`SELECT
        count(*) FILTER (length(OP_CARRIER) <> 2 OR length(ORIGIN) <> 3 OR length(DEST) <> 3)::INTEGER AS bad_codes,
        count(*) FILTER (ORIGIN = DEST)::INTEGER AS round_trips,
        count(DISTINCT ORIGIN)::INTEGER AS airports,
        min(DISTANCE) AS min_distance,
        avg(DISTANCE / AIR_TIME) AS miles_per_minute,
        count(*) FILTER (CAST(DEP_TIME AS DATE) <> FL_DATE)::INTEGER AS wrong_day,
        min(FL_NUM) AS min_fl_num,
        max(FL_NUM) AS max_fl_num
      FROM flights`);
    assert.equal(r.bad_codes, 0);
    assert.equal(r.round_trips, 0);
    assert.ok((r.airports as number) >= 35, `only ${String(r.airports)} origins`);
    assert.ok((r.min_distance as number) >= 100);
    assert.ok((r.miles_per_minute as number) > 6 && (r.miles_per_minute as number) < 8.5);
    assert.equal(r.wrong_day, 0);
    assert.ok((r.min_fl_num as number) >= 1 && (r.max_fl_num as number) <= 7000);

    const routes = await one(`SELECT count(*)::INTEGER AS n FROM (
        SELECT least(ORIGIN, DEST), greatest(ORIGIN, DEST) FROM flights GROUP BY ALL HAVING count(DISTINCT DISTANCE) > 1)`);
    assert.equal(routes.n, 0, 'a route with more than one distance');
    const cities = await one(`SELECT count(*)::INTEGER AS n FROM (
        SELECT ORIGIN FROM flights GROUP BY ALL HAVING count(DISTINCT ORIGIN_CITY) > 1)`);
    assert.equal(cities.n, 0, 'an airport with more than one city');
  });

  test('flightsSelectSql gives exactly the rows in the file', async () => {
    await db.run(`CREATE TABLE flights_from_sql AS ${flightsSelectSql(ROWS, 42)}`);
    const fromFile = await one(tableChecksumSql('flights'));
    const fromSql = await one(tableChecksumSql('flights_from_sql'));
    assert.deepEqual(fromSql, fromFile);
    const other = await one(`SELECT count(*)::INTEGER AS n FROM (
        SELECT * FROM flights EXCEPT ALL SELECT * FROM flights_from_sql)`);
    assert.equal(other.n, 0);
  });
});

describe('tableChecksumSql', () => {
  const name = 'odd "name".x';

  before(async () => {
    await db.run(`CREATE TABLE ordered AS ${flightsSelectSql(20_000, 5)}`);
    // The same rows in another order, under a name that needs quoting.
    await db.run(`CREATE TABLE "odd ""name"".x" AS SELECT * FROM ordered ORDER BY hash(FL_NUM, DEP_TIME, DEST) DESC`);
  });

  test('quotes the name and returns (row_count BIGINT, checksum BIGINT)', async () => {
    const described = await rows(`DESCRIBE ${tableChecksumSql(name)}`);
    assert.deepEqual(
      described.map((r) => [r.column_name, r.column_type]),
      [['row_count', 'BIGINT'], ['checksum', 'BIGINT']],
    );
    assert.match(tableChecksumSql(name), /FROM "odd ""name"".x"$/);
    assert.match(tableChecksumSql(['main', 'ordered']), /FROM "main"."ordered"$/);
    assert.throws(() => tableChecksumSql(''), /non-empty table name/);
  });

  test('ignores row order and notices one changed value', async () => {
    const first = await rows('SELECT FL_NUM FROM ordered LIMIT 3');
    const firstShuffled = await rows(`SELECT FL_NUM FROM "odd ""name"".x" LIMIT 3`);
    assert.notDeepEqual(firstShuffled, first, 'the copy was not reordered');

    const a = await one(tableChecksumSql('ordered'));
    const b = await one(tableChecksumSql(name));
    assert.equal(a.row_count, 20_000n);
    assert.equal(typeof a.checksum, 'bigint');
    assert.deepEqual(b, a);

    await db.run(`UPDATE "odd ""name"".x" SET ARR_DELAY = ARR_DELAY + 1
      WHERE rowid = (SELECT min(rowid) FROM "odd ""name"".x" WHERE ARR_DELAY IS NOT NULL)`);
    const changed = await one(tableChecksumSql(name));
    assert.equal(changed.row_count, a.row_count);
    assert.notEqual(changed.checksum, a.checksum);

    await db.run(`UPDATE "odd ""name"".x" SET ARR_DELAY = ARR_DELAY - 1
      WHERE rowid = (SELECT min(rowid) FROM "odd ""name"".x" WHERE ARR_DELAY IS NOT NULL)`);
    assert.deepEqual(await one(tableChecksumSql(name)), a, 'undoing the change did not restore the checksum');

    await db.run(`UPDATE "odd ""name"".x" SET DEST_CITY = NULL WHERE rowid = 17`);
    assert.notEqual((await one(tableChecksumSql(name))).checksum, a.checksum, 'a value turned NULL went unnoticed');
  });

  test('an empty table has checksum 0', async () => {
    await db.run('CREATE TABLE empty_one (x INTEGER)');
    assert.deepEqual(await one(tableChecksumSql('empty_one')), { row_count: 0n, checksum: 0n });
  });
});

describe('data/generate.ts', () => {
  test('generates, then skips, printing one summary line each time', async () => {
    const out = join(dir, 'cli.parquet');
    const args = ['--import', 'tsx', 'data/generate.ts', '--rows', '20000', '--seed', '9', '--out', out];
    const first = await run(process.execPath, args);
    assert.match(first.stdout, /^flights: 20000 rows, \d+\.\d MB, \d+\.\d s, generated -> .*cli\.parquet\n$/);
    assert.match(first.stderr, /generating flights: 100%/);
    const second = await run(process.execPath, args);
    assert.match(second.stdout, /^flights: 20000 rows, .* skipped \(already current\) -> /);
    const forced = await run(process.execPath, [...args, '--force']);
    assert.match(forced.stdout, /, generated -> /);
  });

  test('a run killed mid-write leaves no file that passes for complete, and its temp file is cleaned up', async () => {
    const sub = await mkdtemp(join(dir, 'killed-'));
    const out = join(sub, 'f.parquet');
    const child = spawn(process.execPath, ['--import', 'tsx', 'data/generate.ts', '--rows', '2000000', '--out', out], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Kill as soon as DuckDB has started writing the temporary file.
    let names: string[] = [];
    for (let waited = 0; !names.some((n) => n.endsWith('.tmp')); waited += 20) {
      assert.ok(waited < 30_000 && child.exitCode === null, 'the generator never started writing');
      await new Promise((resolve) => setTimeout(resolve, 20));
      names = await readdir(sub);
    }
    child.kill('SIGKILL');
    await exited;
    const left = await readdir(sub);
    assert.deepEqual(left, [`f.parquet.${child.pid}.tmp`], `left behind: ${left.join(', ')}`);

    const result = await ensureFlightsParquet({ rows: ROWS, path: out });
    assert.equal(result.generated, true);
    assert.deepEqual((await readdir(sub)).sort(), ['f.parquet', 'f.parquet.json']);
  });

  test('rejects an unknown option', async () => {
    await assert.rejects(run(process.execPath, ['--import', 'tsx', 'data/generate.ts', '--rowz', '5']), (error: Error & { stderr?: string }) => {
      assert.match(error.stderr ?? '', /Unknown argument: rowz/);
      return true;
    });
  });
});
