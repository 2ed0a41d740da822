// The deterministic flights dataset: an on-time-performance table shaped like the BTS one, computed
// by DuckDB from nothing but the row index and a seed, and written once to a Parquet file that the
// servers and benchmarks load.
//
// Every value is a function of (row index, seed, row count): each random-looking draw is DuckDB's
// hash() of (index, seed, stream number), never random(). The same seed and row count give the same
// rows, and ensureFlightsParquet() turns those rows into the same bytes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { AIRPORTS, CARRIERS, DEPARTURE_HOUR_WEIGHTS, greatCircleMiles } from './airports.ts';

export const FLIGHTS_DEFAULT_ROWS = 24_000_000;
export const FLIGHTS_DEFAULT_SEED = 42;
export const FLIGHTS_DEFAULT_PATH = resolve(dirname(fileURLToPath(import.meta.url)), 'flights.parquet');

/** Bump whenever the SQL or the Parquet options change, so cached files are regenerated. */
export const FLIGHTS_GENERATOR_VERSION = 1;

/** The columns and DuckDB types of the dataset, in order. */
export const FLIGHTS_COLUMNS: readonly { readonly name: string; readonly type: string }[] = [
  { name: 'FL_DATE', type: 'DATE' },
  { name: 'DEP_TIME', type: 'TIMESTAMP' },
  { name: 'OP_CARRIER', type: 'VARCHAR' },
  { name: 'ORIGIN', type: 'VARCHAR' },
  { name: 'DEST', type: 'VARCHAR' },
  { name: 'ORIGIN_CITY', type: 'VARCHAR' },
  { name: 'DEST_CITY', type: 'VARCHAR' },
  { name: 'FL_NUM', type: 'INTEGER' },
  { name: 'DEP_DELAY', type: 'DOUBLE' },
  { name: 'ARR_DELAY', type: 'DOUBLE' },
  { name: 'AIR_TIME', type: 'DOUBLE' },
  { name: 'DISTANCE', type: 'DOUBLE' },
  { name: 'CANCELLED', type: 'BOOLEAN' },
];

const FIRST_DAY = '2022-01-01';
const DAYS = 1096; // 2022-01-01 .. 2024-12-31
const SLOTS = 256; // resolution of every weighted pick
const MIN_ROUTE_MILES = 100; // no JFK-LGA or DAL-DFW hops

// Parquet layout. Fixed, so that the file's bytes depend on nothing but the rows.
const ROW_GROUP_SIZE = 122_880;
const COMPRESSION = 'snappy';
const MEMORY_BASE_MB = 320; // DuckDB's memory limit while writing, on top of the row index

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${String(value)}`);
  }
}

/** Spreads `slots` picks over indexes in proportion to their weights (a cumulative-weight lookup table). */
function weightedSlots(weights: readonly number[], slots: number): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const out: number[] = [];
  let index = 0;
  let upTo = weights[0] ?? 0;
  for (let slot = 0; slot < slots; slot++) {
    const target = ((slot + 0.5) / slots) * total;
    while (target >= upTo && index < weights.length - 1) upTo += weights[++index] ?? 0;
    out.push(index);
  }
  return out;
}

function sqlString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlList(values: readonly (number | string)[]): string {
  return `[${values.map((v) => (typeof v === 'string' ? sqlString(v) : String(v))).join(',')}]`;
}

interface Tables {
  readonly codes: string;
  readonly cities: string;
  readonly carriers: string;
  readonly originSlots: string;
  readonly destSlots: string;
  readonly carrierSlots: string;
  readonly hourSlots: string;
  readonly miles: string;
}

let tables: Tables | undefined;

/** The constant lists the SELECT indexes into, built once from the reference tables. */
function lookupTables(): Tables {
  if (tables) return tables;
  const n = AIRPORTS.length;
  const miles: number[] = [];
  const destSlots: number[] = [];
  for (const from of AIRPORTS) {
    const row = AIRPORTS.map((to) => greatCircleMiles(from, to));
    miles.push(...row);
    // Busy airports draw more flights; very long routes fewer; same-metro hops none.
    const weights = AIRPORTS.map((to, d) => (row[d]! < MIN_ROUTE_MILES ? 0 : to.weight / (1 + row[d]! / 1000)));
    destSlots.push(...weightedSlots(weights, SLOTS));
  }
  if (miles.length !== n * n) throw new Error('distance table has the wrong size');
  const hours = [...DEPARTURE_HOUR_WEIGHTS.keys()];
  tables = {
    codes: sqlList(AIRPORTS.map((a) => a.code)),
    cities: sqlList(AIRPORTS.map((a) => a.city)),
    carriers: sqlList(CARRIERS.map((c) => c.code)),
    originSlots: sqlList(weightedSlots(AIRPORTS.map((a) => a.weight), SLOTS)),
    destSlots: sqlList(destSlots),
    carrierSlots: sqlList(weightedSlots(CARRIERS.map((c) => c.weight), SLOTS)),
    hourSlots: sqlList(weightedSlots([...DEPARTURE_HOUR_WEIGHTS.values()], SLOTS).map((i) => hours[i]!)),
    miles: sqlList(miles),
  };
  return tables;
}

/**
 * The dataset's SELECT over `source`, a relation with one BIGINT column `i` holding 0 .. rows-1.
 * Values depend on `i`, `rows` and `seed` only, so any source of the same indexes gives the same rows.
 */
function flightsSelectFrom(source: string, rows: number, seed: number): string {
  checkCount('rows', rows, 1);
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${String(seed)}`);
  const t = lookupTables();
  const n = AIRPORTS.length;
  const s = `${seed}::BIGINT`;
  // hash(a, b) only XORs the last argument's hash into the mix, so hash(i, seed, k) for different k
  // would differ by a constant. Instead each stream rehashes the row's own hash with k folded in.
  const h = (stream: number): string => `hash(xor(row_hash, ${stream}::UBIGINT))`;
  // A uniform double in (0, 1) from the top 53 bits of a hash.
  const u = (stream: number): string => `((${h(stream)} >> 11)::DOUBLE + 0.5) / 9007199254740992.0`;
  const pick = (list: string, stream: number): string => `${list}[(${h(stream)} % ${SLOTS})::INTEGER + 1]`;
  // Box-Muller: a standard normal from two uniforms.
  const normal = (a: number, b: number): string => `sqrt(-2.0 * ln(${u(a)})) * cos(2.0 * pi() * ${u(b)})`;
  // `+ 0.0` turns a -0.0 from round() into 0.0.
  return `SELECT
  FL_DATE::DATE AS FL_DATE,
  (FL_DATE + to_minutes(dep_minute))::TIMESTAMP AS DEP_TIME,
  ${t.carriers}[carrier + 1]::VARCHAR AS OP_CARRIER,
  ${t.codes}[origin + 1]::VARCHAR AS ORIGIN,
  ${t.codes}[dest + 1]::VARCHAR AS DEST,
  ${t.cities}[origin + 1]::VARCHAR AS ORIGIN_CITY,
  ${t.cities}[dest + 1]::VARCHAR AS DEST_CITY,
  (1 + hash(carrier, origin, dest, dep_minute // 180, ${s}) % 6999)::INTEGER AS FL_NUM,
  CASE WHEN cancelled THEN NULL ELSE dep_delay + 0.0 END::DOUBLE AS DEP_DELAY,
  CASE WHEN cancelled THEN NULL ELSE dep_delay + round(-6.0 + 9.0 * arr_noise) + 0.0 END::DOUBLE AS ARR_DELAY,
  CASE WHEN cancelled THEN NULL
    ELSE greatest(round(distance / 8.0 + 10.0 + (2.0 + distance / 250.0) * air_noise), 12.0) END::DOUBLE AS AIR_TIME,
  distance::DOUBLE AS DISTANCE,
  cancelled::BOOLEAN AS CANCELLED
FROM (
  SELECT *, ${t.miles}[origin * ${n} + dest + 1] AS distance
  FROM (
    SELECT *, ${t.destSlots}[origin * ${SLOTS} + dest_slot + 1] AS dest
    FROM (
      SELECT
        i,
        hash(i, ${s}) AS row_hash,
        DATE '${FIRST_DAY}' + (i * ${DAYS} // ${rows})::INTEGER AS FL_DATE,
        ${pick(t.originSlots, 1)} AS origin,
        (${h(2)} % ${SLOTS})::INTEGER AS dest_slot,
        ${pick(t.carrierSlots, 3)} AS carrier,
        ${pick(t.hourSlots, 4)} * 60 + (${h(5)} % 12)::INTEGER * 5 AS dep_minute,
        -- winter cancels more: about 3% in Dec-Feb, 1.6% otherwise, 2% over the year
        ${u(6)} < CASE WHEN month(FL_DATE) IN (12, 1, 2) THEN 0.03 ELSE 0.016 END AS cancelled,
        -- a third of departures are late with a long exponential tail, the rest leave up to 9 minutes early
        CASE WHEN ${u(7)} < 0.36 THEN 1.0 + round(-ln(${u(8)}) * 30.0) ELSE 0.0 - floor(${u(8)} * 10.0) END AS dep_delay,
        ${normal(9, 10)} AS arr_noise,
        ${normal(11, 12)} AS air_noise
      FROM ${source}
    )
  )
)`;
}

/**
 * A DuckDB SELECT that produces the flights dataset: `rows` rows, in FL_DATE order, all values
 * derived from the row index and `seed`. Same arguments, same rows.
 *
 * @example
 *   await connection.run(`CREATE TABLE flights AS ${flightsSelectSql(1_000_000, 7)}`);
 */
export function flightsSelectSql(rows: number, seed: number = FLIGHTS_DEFAULT_SEED): string {
  return flightsSelectFrom(`range(${rows}) AS r(i)`, rows, seed);
}

/**
 * One query returning one row `(row_count BIGINT, checksum BIGINT)` for a table: the row count and
 * the sum, modulo 2^63, of DuckDB's hash of every row with all its columns. Addition commutes, so
 * the checksum ignores row order, yet any changed value, added or dropped row changes it (short of
 * a 64-bit hash collision). `table` is one identifier, or its parts for a qualified name.
 *
 * @example
 *   const reader = await connection.runAndReadAll(tableChecksumSql('flights'));
 *   const [rowCount, checksum] = reader.getRows()[0]!;
 */
export function tableChecksumSql(table: string | readonly string[]): string {
  const parts = typeof table === 'string' ? [table] : table;
  if (parts.length === 0 || parts.some((p) => p.length === 0)) {
    throw new Error(`tableChecksumSql needs a non-empty table name, got ${JSON.stringify(table)}`);
  }
  const name = parts.map((p) => `"${p.replaceAll('"', '""')}"`).join('.');
  // *COLUMNS(*) unpacks every column into hash()'s arguments: one hash per row, over the whole row.
  return `SELECT count(*)::BIGINT AS row_count,
  (coalesce(sum(hash(*COLUMNS(*))), 0) % 9223372036854775808)::BIGINT AS checksum
FROM ${name}`;
}

export interface EnsureFlightsOptions {
  /** Row count; FLIGHTS_DEFAULT_ROWS when absent. */
  readonly rows?: number;
  /** FLIGHTS_DEFAULT_SEED when absent. */
  readonly seed?: number;
  /** Where the Parquet file goes; data/flights.parquet when absent. */
  readonly path?: string;
  /** Regenerate even when an identical file is already there. */
  readonly force?: boolean;
  /** Called with the fraction done, 0 to 1, while the file is written. */
  readonly onProgress?: (fraction: number) => void;
}

export interface EnsureFlightsResult {
  readonly path: string;
  readonly rows: number;
  /** False when the existing file matched its sidecar and was kept. */
  readonly generated: boolean;
  readonly seconds: number;
}

/** What `<path>.json` records about the Parquet file next to it. */
interface Sidecar {
  readonly generator: 'flights';
  readonly version: number;
  readonly duckdb: string;
  readonly rows: number;
  readonly seed: number;
  readonly bytes: number;
  readonly sha256: string;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as Sidecar;
  } catch {
    return undefined; // a torn or hand-edited sidecar: treat as absent, the file gets rebuilt
  }
}

/** True when `path` holds exactly the file `wanted` describes, checked down to its sha256. */
async function isCurrent(path: string, wanted: Omit<Sidecar, 'bytes' | 'sha256'>): Promise<boolean> {
  const sidecar = await readSidecar(`${path}.json`);
  if (!sidecar) return false;
  for (const key of Object.keys(wanted) as (keyof typeof wanted)[]) {
    if (sidecar[key] !== wanted[key]) return false;
  }
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    if (isMissing(error)) return false;
    throw error;
  }
  return size === sidecar.bytes && (await sha256File(path)) === sidecar.sha256;
}

async function removeIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, just not ours
  }
}

/** Deletes the temporary files of runs that were killed mid-write (their process is gone). */
async function removeStaleTemps(path: string): Promise<void> {
  const prefix = basename(path);
  for (const name of await readdir(dirname(path))) {
    if (!name.startsWith(prefix)) continue;
    const match = /^(?:\.json)?\.(\d+)\.tmp$/.exec(name.slice(prefix.length));
    const pid = Number(match?.[1]);
    if (match && pid !== process.pid && !isRunning(pid)) await removeIfPresent(join(dirname(path), name));
  }
}

async function duckdbVersion(): Promise<string> {
  const instance = await DuckDBInstance.create(':memory:');
  try {
    const connection = await instance.connect();
    const reader = await connection.runAndReadAll('SELECT version()');
    connection.closeSync();
    return String(reader.getRows()[0]![0]);
  } finally {
    instance.closeSync();
  }
}

/** Writes the dataset to `path` with DuckDB's COPY, reporting DuckDB's own query progress. */
async function writeParquet(path: string, rows: number, seed: number, onProgress?: (fraction: number) => void): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  let timer: NodeJS.Timeout | undefined;
  try {
    // range() reports no progress, a table scan does: so the row indexes go into a temporary table
    // first (8 bytes a row) and the COPY reads them from there.
    await connection.run(`CREATE TEMP TABLE flights_row_index AS SELECT range AS i FROM range(${rows})`);
    // With the default limit (80% of RAM) the ordered COPY buffers freely: 1.8 GB resident for 24M
    // rows. A cap of a few hundred MB over the index table changes no byte and runs no slower.
    await connection.run(`SET memory_limit = '${MEMORY_BASE_MB + Math.ceil((rows * 8) / 1e6)}MB'`);
    await connection.run(`SET temp_directory = ${sqlString(join(tmpdir(), `duckdb-flights-${process.pid}`))}`);
    await connection.run('SET enable_progress_bar = true');
    await connection.run('SET enable_progress_bar_print = false');
    await connection.run('SET progress_bar_time = 0');
    const select = flightsSelectFrom('flights_row_index', rows, seed);
    const copy = connection.run(
      `COPY (${select}) TO ${sqlString(path)} ` +
        `(FORMAT parquet, COMPRESSION ${COMPRESSION}, ROW_GROUP_SIZE ${ROW_GROUP_SIZE})`,
    );
    if (onProgress) {
      let last = -1;
      timer = setInterval(() => {
        const { percentage } = connection.progress;
        // The scan reaches 100% before the last row groups are flushed; 1 is reported at the end.
        const fraction = Math.min(Math.max(percentage, 0) / 100, 0.99);
        if (fraction > last) {
          last = fraction;
          onProgress(fraction);
        }
      }, 250);
    }
    await copy;
  } finally {
    if (timer) clearInterval(timer);
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * Makes sure `path` (data/flights.parquet by default) holds the flights dataset for `rows` and
 * `seed`, generating it with DuckDB when it is missing, differs, or was changed since it was
 * written. A sidecar `<path>.json` records rows, seed, generator and DuckDB versions, size and
 * sha256; the file is written under a temporary name and renamed, so an interrupted run never
 * leaves a file that passes for complete. The same rows and seed always give the same bytes.
 *
 * @example
 *   const { path, generated } = await ensureFlightsParquet({ rows: 1_000_000, onProgress: (f) => bar.update(f) });
 */
export async function ensureFlightsParquet(options: EnsureFlightsOptions = {}): Promise<EnsureFlightsResult> {
  const started = performance.now();
  const rows = options.rows ?? FLIGHTS_DEFAULT_ROWS;
  const seed = options.seed ?? FLIGHTS_DEFAULT_SEED;
  const path = resolve(options.path ?? FLIGHTS_DEFAULT_PATH);
  checkCount('rows', rows, 1);
  if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${String(seed)}`);
  const wanted = {
    generator: 'flights' as const,
    version: FLIGHTS_GENERATOR_VERSION,
    duckdb: await duckdbVersion(),
    rows,
    seed,
  };
  const seconds = (): number => (performance.now() - started) / 1000;

  if (!options.force && (await isCurrent(path, wanted))) {
    options.onProgress?.(1);
    return { path, rows, generated: false, seconds: seconds() };
  }

  await mkdir(dirname(path), { recursive: true });
  await removeStaleTemps(path);
  const temp = `${path}.${process.pid}.tmp`;
  const tempSidecar = `${path}.json.${process.pid}.tmp`;
  // The old sidecar goes first: from here until the new one is written, the file counts as stale.
  await removeIfPresent(`${path}.json`);
  try {
    await writeParquet(temp, rows, seed, options.onProgress);
    const sidecar: Sidecar = { ...wanted, bytes: (await stat(temp)).size, sha256: await sha256File(temp) };
    await rename(temp, path);
    await writeFile(tempSidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
    await rename(tempSidecar, `${path}.json`);
  } catch (error) {
    await removeIfPresent(temp);
    await removeIfPresent(tempSidecar);
    throw error;
  }
  options.onProgress?.(1);
  return { path, rows, generated: true, seconds: seconds() };
}
