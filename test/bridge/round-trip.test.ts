// DuckDB -> Arrow -> DuckDB: every type streamQuery produces comes back through appendBatches.
// The source and destination are two in-memory databases of one instance, so DuckDB itself can
// compare them with EXCEPT ALL both ways.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { appendBatches, streamQuery } from '../../servers/bridge/index.ts';
import { duckRows, memoryDatabase } from './helpers.ts';

let instance: DuckDBInstance;
let source: DuckDBConnection;
let target: DuckDBConnection;
let judge: DuckDBConnection;

const MOOD = "ENUM('sad', 'ok', 'happy')";
const UNION = 'UNION(num INTEGER, str VARCHAR)';

// One column per DuckDB type, NULLs in every column, nested NULLs, inline and heap strings.
const MATRIX = `
SELECT i,
  CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END AS b,
  ((i % 200) - 100)::TINYINT AS ti, (i * 7 - 30000)::SMALLINT AS si, (i * 100003 - 3)::INTEGER AS ii,
  (i * 10000000007 - 7)::BIGINT AS bi, (i % 250)::UTINYINT AS uti, (i * 13)::USMALLINT AS usi,
  (i * 100000)::UINTEGER AS ui, (i * 10000000000)::UBIGINT AS ubi,
  (i * 10000000000000000000000 - 5)::HUGEINT AS hi, (i * 10000000000000000000000)::UHUGEINT AS uhi,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i / 3)::FLOAT END AS f, (i / 7)::DOUBLE AS d,
  ((i % 600) * 1.5 - 2)::DECIMAL(4,1) AS d4, ((i % 800) * 12345.67 - 9)::DECIMAL(9,2) AS d9,
  (i * 123456789.123 - 1)::DECIMAL(18,3) AS d18, (i * 12345678901234567890.1234567891 - 3)::DECIMAL(38,10) AS d38,
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'str' || i::VARCHAR || repeat('-long-enough', i % 3) END AS vc,
  ('\\xAA\\xBB'::BLOB || i::VARCHAR::BLOB) AS bl,
  DATE '2020-02-28' + i::INTEGER AS dt, TIME '01:02:03.456789' + INTERVAL (i) MINUTE AS tm,
  '01:02:03.123456789'::TIME_NS AS tns,
  TIMESTAMP '2020-01-01 01:02:03.456789' + INTERVAL (i) DAY AS ts,
  ('2020-01-01 01:02:03'::TIMESTAMP_S + INTERVAL (i) DAY)::TIMESTAMP_S AS ts_s,
  ('2020-01-01 01:02:03.456'::TIMESTAMP_MS + INTERVAL (i) DAY)::TIMESTAMP_MS AS ts_ms,
  '2020-01-01 01:02:03.456789123'::TIMESTAMP_NS AS ts_ns,
  TIMESTAMPTZ '2020-01-01 01:02:03.456789+00' + INTERVAL (i) HOUR AS tstz,
  INTERVAL (i) MONTH + INTERVAL (i * 2) DAY + INTERVAL (i * 3) MICROSECOND - INTERVAL 1 SECOND AS iv,
  (CASE WHEN i % 2 = 0 THEN 'f' ELSE '0' END || '234567' || (i % 10)::VARCHAR || '-1234-5678-1234-567812345678')::UUID AS uu,
  CASE WHEN i % 5 = 1 THEN NULL ELSE (['sad', 'ok', 'happy'])[i % 3 + 1]::${MOOD} END AS en,
  CASE WHEN i % 5 = 0 THEN NULL ELSE [i, NULL, i + 1] END AS li,
  [i, i * 2, NULL]::INTEGER[3] AS ar,
  CASE WHEN i % 5 = 2 THEN NULL ELSE {'a': i, 'b': CASE WHEN i % 2 = 0 THEN NULL ELSE 'bee' || i::VARCHAR END} END AS st,
  CASE WHEN i % 5 = 3 THEN NULL ELSE MAP {'k' || i::VARCHAR: i, 'z': NULL} END AS mp,
  CASE WHEN i % 5 = 4 THEN NULL WHEN i % 2 = 0 THEN union_value(num := i)::${UNION}
       ELSE union_value(str := 's' || i::VARCHAR || ' and a longer tail')::${UNION} END AS un,
  [{'x': [i, NULL], 'y': MAP {i: 'v' || repeat('w', i % 20)}}, NULL] AS nested,
  TIMETZ '01:02:03+05:30' AS ttz,
  CASE WHEN i % 2 = 0 THEN '0101'::BIT ELSE '111000111000111'::BIT END AS bits,
  (i * 1000000000000000000000000000000000000000 - 1)::BIGNUM AS bn,
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'POINT(' || i::VARCHAR || ' 2)' END::GEOMETRY AS geo,
  '{"a": 1}'::JSON AS js
FROM range(5000) t(i)`;

before(async () => {
  ({ instance, connection: source } = await memoryDatabase());
  await source.run(`CREATE TABLE matrix AS ${MATRIX}`);
  // Leave ARRAY NULLs to an UPDATE (CASE cannot produce arrays).
  await source.run('UPDATE matrix SET ar = NULL WHERE i % 11 = 0');
  target = await instance.connect();
  await target.run("ATTACH ':memory:' AS dst; USE dst");
  judge = await instance.connect();
});

after(() => {
  for (const c of [source, target, judge]) c?.closeSync();
  instance?.closeSync();
});

async function exceptAll(a: string, b: string): Promise<number> {
  const rows = await duckRows(judge, `SELECT count(*)::INTEGER FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b})`);
  return rows[0][0] as number;
}

async function copy(table: string, sql: string, create: 'if-missing' | 'never' | 'replace', batchRows = 1000) {
  const stream = await streamQuery(source, sql, { batchRows });
  return appendBatches(target, table, stream.schema, stream, { create });
}

describe('round trip DuckDB -> Arrow -> DuckDB', () => {
  test('into a table of the same types: identical but for the offset of TIME WITH TIME ZONE', async () => {
    await judge.run('CREATE TABLE dst.main.same AS SELECT * FROM memory.main.matrix LIMIT 0');
    const result = await copy('same', 'SELECT * FROM matrix', 'never');
    assert.deepEqual(result, { rows: 5000, created: false });
    // DuckDB's Arrow export (and so ours) keeps a TIMETZ's local time but not its offset.
    const all =
      'i, b, ti, si, ii, bi, uti, usi, ui, ubi, hi, uhi, f, d, d4, d9, d18, d38, vc, bl, dt, tm, tns, ts, ts_s, ts_ms, ts_ns, tstz, iv, uu, en, li, ar, st, mp, un, nested, bits, bn, geo, js';
    const lhs = `(SELECT ${all}, ttz::TIME AS ttz FROM memory.main.matrix)`;
    const rhs = `(SELECT ${all}, ttz::TIME AS ttz FROM dst.main.same)`;
    assert.equal(await exceptAll(lhs, rhs), 0);
    assert.equal(await exceptAll(rhs, lhs), 0);
    assert.deepEqual(await duckRows(judge, 'SELECT DISTINCT ttz::VARCHAR FROM dst.main.same'), [['01:02:03+00']]);
  });

  test('into a new table: created from the Arrow schema with the types DuckDB maps Arrow to', async () => {
    const result = await copy('fresh', 'SELECT * FROM matrix', 'if-missing');
    assert.deepEqual(result, { rows: 5000, created: true });
    const types = Object.fromEntries(
      (await duckRows(
        judge,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'dst' AND table_name = 'fresh'",
      )) as [string, string][],
    );
    assert.deepEqual(types, {
      i: 'BIGINT',
      b: 'BOOLEAN',
      ti: 'TINYINT',
      si: 'SMALLINT',
      ii: 'INTEGER',
      bi: 'BIGINT',
      uti: 'UTINYINT',
      usi: 'USMALLINT',
      ui: 'UINTEGER',
      ubi: 'UBIGINT',
      hi: 'DECIMAL(38,0)',
      uhi: 'DECIMAL(38,0)',
      f: 'FLOAT',
      d: 'DOUBLE',
      d4: 'DECIMAL(4,1)',
      d9: 'DECIMAL(9,2)',
      d18: 'DECIMAL(18,3)',
      d38: 'DECIMAL(38,10)',
      vc: 'VARCHAR',
      bl: 'BLOB',
      dt: 'DATE',
      tm: 'TIME',
      tns: 'TIME_NS',
      ts: 'TIMESTAMP',
      ts_s: 'TIMESTAMP_S',
      ts_ms: 'TIMESTAMP_MS',
      ts_ns: 'TIMESTAMP_NS',
      tstz: 'TIMESTAMP WITH TIME ZONE',
      iv: 'INTERVAL',
      uu: 'VARCHAR',
      en: 'VARCHAR',
      li: 'BIGINT[]',
      ar: 'INTEGER[3]',
      st: 'STRUCT(a BIGINT, b VARCHAR)',
      mp: 'MAP(VARCHAR, BIGINT)',
      un: 'UNION(num INTEGER, str VARCHAR)',
      nested: 'STRUCT(x BIGINT[], y MAP(BIGINT, VARCHAR))[]',
      ttz: 'TIME',
      bits: 'BLOB',
      bn: 'BIGNUM',
      geo: 'GEOMETRY',
      js: 'VARCHAR',
    });
    // Same values, seen through the types the Arrow round trip changes.
    const view = (table: string) => `(SELECT * EXCLUDE (hi, uhi, uu, en, ttz, bits),
        hi::DECIMAL(38,0) AS hi, uu::VARCHAR AS uu, en::VARCHAR AS en, ttz::TIME AS ttz FROM ${table})`;
    assert.equal(await exceptAll(view('memory.main.matrix'), view('dst.main.fresh')), 0);
    assert.equal(await exceptAll(view('dst.main.fresh'), view('memory.main.matrix')), 0);
    // UHUGEINT comes back as DuckDB's export reinterprets it: the same 128 bits, signed.
    assert.deepEqual(
      await duckRows(
        judge,
        'SELECT count(*)::INTEGER FROM memory.main.matrix m JOIN dst.main.fresh f USING (i) WHERE m.uhi::DECIMAL(38,0) <> f.uhi',
      ),
      [[0]],
    );
    // BIT travels as DuckDB's own bytes, now a BLOB.
    assert.deepEqual(await duckRows(judge, 'SELECT bits FROM dst.main.fresh WHERE i = 0'), [['\\x04\\xF5']]);
  });

  test('filtered and constant vectors (scattered list entries) come back exactly', async () => {
    const sql = `SELECT i, li, nested, [1, 2, 3] AS const_list, 'a constant long string value' AS const_s, mp
      FROM matrix WHERE i % 3 <> 1 AND (i < 700 OR i > 4300)`;
    await copy('filtered', sql, 'if-missing', 333);
    await source.run(`CREATE TABLE filtered_src AS ${sql}`);
    assert.equal(await exceptAll('memory.main.filtered_src', 'dst.main.filtered'), 0);
    assert.equal(await exceptAll('dst.main.filtered', 'memory.main.filtered_src'), 0);
  });

  test('NULL structs and unions come back with NULL children (s.field of a NULL s is NULL)', async () => {
    assert.deepEqual(
      await duckRows(judge, `SELECT count(*)::INTEGER, count(st.a)::INTEGER, count(st.b)::INTEGER FROM dst.main.same WHERE st IS NULL`),
      [[1000, 0, 0]],
    );
    assert.deepEqual(
      await duckRows(
        judge,
        `SELECT count(*)::INTEGER, count(union_tag(un))::INTEGER, count(un::VARCHAR)::INTEGER FROM dst.main.same WHERE un IS NULL`,
      ),
      [[1000, 0, 0]],
    );
  });

  test('large lists with NULLs deep inside and long strings in list children', async () => {
    const sql = `SELECT i, CASE WHEN i = 3 THEN NULL ELSE list_transform(range(2500 + i * 1000), x -> CASE WHEN x % 997 = 0 THEN NULL ELSE x END) END AS big,
      list_transform(range(i * 40), x -> CASE WHEN x % 5 = 0 THEN NULL ELSE repeat('s', x % 40) END) AS strings
      FROM range(6) t(i)`;
    await source.run(`CREATE TABLE lists_src AS ${sql}`);
    await copy('lists', 'SELECT * FROM lists_src', 'if-missing', 2);
    assert.equal(await exceptAll('memory.main.lists_src', 'dst.main.lists'), 0);
    assert.equal(await exceptAll('dst.main.lists', 'memory.main.lists_src'), 0);
  });

  test('list children beyond one vector: arrays, structs with unions and strings, maps', async () => {
    await source.run(`CREATE TABLE big_children AS SELECT i,
      list_transform(range(3000 + i), x -> [x, x + 1, NULL]::INTEGER[3]) AS arrays,
      list_transform(range(2500), x -> {'a': x, 's': CASE WHEN x % 7 = 0 THEN NULL ELSE 'string number ' || x::VARCHAR END,
        'u': CASE WHEN x % 2 = 0 THEN union_value(n := x)::UNION(n INTEGER, t VARCHAR)
                  ELSE union_value(t := 'tt' || x::VARCHAR || ' and more text')::UNION(n INTEGER, t VARCHAR) END}) AS structs,
      list_transform(range(2100), x -> MAP {x: [x, NULL]}) AS maps
      FROM range(4) t(i)`);
    await copy('big_children', 'SELECT * FROM big_children', 'if-missing', 3);
    assert.equal(await exceptAll('memory.main.big_children', 'dst.main.big_children'), 0);
    assert.equal(await exceptAll('dst.main.big_children', 'memory.main.big_children'), 0);
    assert.deepEqual(await duckRows(judge, 'SELECT len(arrays)::INTEGER FROM dst.main.big_children ORDER BY i'), [
      [3000],
      [3001],
      [3002],
      [3003],
    ]);
  });

  test('an empty result creates an empty table', async () => {
    const result = await copy('empty', 'SELECT * FROM matrix WHERE false', 'if-missing');
    assert.deepEqual(result, { rows: 0, created: true });
    assert.deepEqual(await duckRows(judge, 'SELECT count(*)::INTEGER FROM dst.main.empty'), [[0]]);
  });
});
