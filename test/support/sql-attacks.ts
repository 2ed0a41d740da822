// Statements that reach files, for the tests of the SQL gate (servers/sql-gate.ts): each is
// refused on a server started with --read-only or --no-external-access, on every route that
// runs SQL, and leaves no trace. The first is issue 12's: it made the database file ten bytes
// of text.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export type Mode = '--read-only' | '--no-external-access';

export interface Attack {
  name: string;
  sql: string;
  /** Modes that refuse it (default both). */
  modes?: Mode[];
  /**
   * Refused by DuckDB's locked configuration when it runs: a route that only describes it
   * (GetFlightInfo, GetSchema) answers, and nothing happens.
   */
  whenRun?: boolean;
}

/** What a refusal names: the option, and the statement or function refused. */
export function refusal(mode: Mode): RegExp {
  return mode === '--read-only'
    ? /read-only: .*refused \(--read-only\)|configuration has been locked/
    : /--no-external-access: .*refused|configuration has been locked/;
}

export function attacks(dir: string, dbPath: string): Attack[] {
  const q = (path: string) => `'${path.replaceAll("'", "''")}'`;
  return [
    {
      name: 'COPY a query TO the database file',
      sql: `COPY (SELECT 'clobbered' AS x) TO ${q(dbPath)} (FORMAT csv, HEADER false, USE_TMP_FILE false)`,
    },
    { name: 'COPY a query TO the WAL', sql: `COPY (SELECT 'clobbered' AS x) TO ${q(`${dbPath}.wal`)} (FORMAT csv, HEADER false)` },
    { name: 'COPY t TO a file', sql: `COPY t TO ${q(join(dir, 't.csv'))}` },
    { name: 'COPY t FROM the database file', sql: `COPY t FROM ${q(dbPath)}` },
    { name: 'EXPORT DATABASE', sql: `EXPORT DATABASE ${q(join(dir, 'exported'))}` },
    { name: 'IMPORT DATABASE', sql: `IMPORT DATABASE ${q(dir)}` },
    { name: 'PREPARE of a COPY', sql: `PREPARE p AS COPY t TO ${q(join(dir, 'prepared.csv'))}` },
    { name: 'EXPLAIN ANALYZE of a COPY', sql: `EXPLAIN ANALYZE COPY t TO ${q(join(dir, 'explained.csv'))}` },
    { name: 'ATTACH a new database file', sql: `ATTACH ${q(join(dir, 'attached.duckdb'))} AS other` },
    { name: 'file logging', sql: `CALL enable_logging(storage = 'file', storage_path = ${q(join(dir, 'logs'))})` },
    {
      name: 'file logging through query()',
      sql: `SELECT * FROM query(${q(`SELECT * FROM enable_logging(storage = 'file', storage_path = ${q(join(dir, 'logs'))})`)})`,
    },
    {
      name: 'read_blob of the WAL through query()',
      sql: `SELECT * FROM query(${q(`SELECT * FROM read_blob(${q(`${dbPath}.wal`)})`)})`,
      modes: ['--no-external-access'],
    },
    { name: 'SET profiling_output to the database file', sql: `SET profiling_output = ${q(dbPath)}`, whenRun: true },
    { name: 'read_blob of the WAL', sql: `SELECT * FROM read_blob(${q(`${dbPath}.wal`)})`, modes: ['--no-external-access'] },
    { name: 'the database file as a table', sql: `SELECT * FROM ${q(dbPath)}`, modes: ['--no-external-access'] },
  ];
}

/** Files the attacks would leave in `dir`, besides the database's own. */
export function traces(dir: string, dbPath: string): string[] {
  const own = new Set([dbPath, `${dbPath}.wal`].map((p) => p.slice(dir.length + 1)));
  return readdirSync(dir).filter((name) => !own.has(name));
}

/** A database file holding `t` (1,000 rows, i = 0..999): what every attack must leave as it is. */
export async function makeDatabase(dbPath: string): Promise<void> {
  const instance = await DuckDBInstance.create(dbPath);
  const connection = await instance.connect();
  await connection.run('CREATE TABLE t AS SELECT range AS i FROM range(1000)');
  connection.closeSync();
  instance.closeSync();
}

/** count(*) and sum(i) of `t` as makeDatabase leaves it. */
export const INTACT = { rows: 1000n, sum: 499500n };
