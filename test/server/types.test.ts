// The type matrix between two server processes: every DuckDB type (NULLs, extremes, nested
// NULLs) read by DoGet from server A and written by DoPut into server B, then compared value by
// value: B's DuckDB text of every value against A's, B's table against A's pulled by transfer
// (EXCEPT ALL both ways), a checksum, and the Arrow values a second DoGet reads back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import type { Table } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { cell } from '../support/arrow-matrix.ts';
import { EDGE_CASES, MATRIX_SETUP, TYPE_CASES, edgeQuery, matrixDdl, matrixTextQuery } from '../support/duckdb-type-matrix.ts';
import { spawnServer, type ServerProcess } from '../support/duck-server.ts';
import { one, rows } from './helpers.ts';

const show = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x));

describe('type matrix: DoGet from server A, DoPut into server B', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let clientA: DuckDBFlightClient;
  let clientB: DuckDBFlightClient;
  let fromA: Table;
  let textA: Record<string, unknown>[];
  let textB: Record<string, unknown>[];
  let typesB: Map<string, string>;
  let backFromB: Table;

  before(async () => {
    [a, b] = await Promise.all([spawnServer(), spawnServer()]);
    [clientA, clientB] = await Promise.all([a.connect(), b.connect()]);
    await clientA.executeAction('query', `${MATRIX_SETUP}; ${matrixDdl('matrix')}`);
    fromA = await clientA.executeQuery('SELECT * FROM matrix ORDER BY k');
    const put = await clientB.uploadData('copy', fromA);
    assert.deepEqual(put, { table: 'copy', rows: 4, created: true });
    textA = rows(await clientA.executeQuery(matrixTextQuery('matrix')));
    textB = rows(await clientB.executeQuery(matrixTextQuery('copy')));
    const described = rows(
      await clientB.executeQuery("SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = 'copy'"),
    );
    typesB = new Map(described.map((r) => [r['name'] as string, r['type'] as string]));
    backFromB = await clientB.executeQuery('SELECT * FROM copy ORDER BY k');
  });
  after(async () => {
    clientA?.close();
    clientB?.close();
    assert.deepEqual(await Promise.all([a?.stop(), b?.stop()]), [0, 0]);
  });

  test('the matrix has every type the brief names, and four rows', async () => {
    const typesA = rows(
      await clientA.executeQuery(
        "SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'matrix' AND column_name <> 'k'",
      ),
    );
    const present = new Set(typesA.map((r) => (r['t'] as string).replace(/\(.*\)$/, '')));
    for (const t of [
      'BOOLEAN',
      'TINYINT',
      'SMALLINT',
      'INTEGER',
      'BIGINT',
      'UTINYINT',
      'USMALLINT',
      'UINTEGER',
      'UBIGINT',
      'HUGEINT',
      'UHUGEINT',
      'FLOAT',
      'DOUBLE',
      'DECIMAL',
      'VARCHAR',
      'BLOB',
      'DATE',
      'TIME',
      'TIMESTAMP_S',
      'TIMESTAMP_MS',
      'TIMESTAMP',
      'TIMESTAMP_NS',
      'TIMESTAMP WITH TIME ZONE',
      'INTERVAL',
      'UUID',
      'ENUM',
      'INTEGER[]',
      'INTEGER[3]',
      'STRUCT',
      'MAP',
      'UNION',
    ]) {
      assert.ok(present.has(t), `the matrix has a ${t} column (has ${[...present].join(', ')})`);
    }
    assert.deepEqual(
      TYPE_CASES.filter((c) => c.type.startsWith('DECIMAL')).map((c) => c.type),
      ['DECIMAL(4,2)', 'DECIMAL(9,4)', 'DECIMAL(18,6)', 'DECIMAL(38,10)'],
    );
    assert.equal(fromA.numRows, 4);
    for (const c of TYPE_CASES) {
      const column = fromA.getChild(c.name)!;
      assert.deepEqual(
        [0, 1, 2, 3].map((k) => column.get(k) === null),
        [false, false, true, false],
        `${c.name}: row 2 alone is NULL`,
      );
    }
  });

  for (const c of TYPE_CASES) {
    test(`${c.name} ${c.type}: B holds A's values (as DuckDB prints them) in a ${c.roundTripType ?? c.type} column`, () => {
      const named: Record<string, string> = { mood: 'ENUM', TIMESTAMPTZ: 'TIMESTAMP WITH TIME ZONE' };
      assert.equal(typesB.get(c.name), c.roundTripType ?? named[c.type] ?? c.type);
      for (let k = 0; k < 4; k++) {
        assert.deepEqual(
          textB[k]![c.name],
          textA[k]![c.name],
          `${c.name} row ${k}: B has ${show(textB[k]![c.name])}, A has ${show(textA[k]![c.name])}`,
        );
      }
      assert.equal(textA[2]![c.name], null, 'row 2 is NULL');
    });
  }

  test('a second DoGet, from B, reads the same Arrow values as the first did from A', () => {
    const differences: string[] = [];
    for (const c of TYPE_CASES) {
      const va = fromA.getChild(c.name)!;
      const vb = backFromB.getChild(c.name)!;
      const typeA = String(va.type);
      const typeB = String(vb.type);
      // The only type changes: ENUM's dictionary comes back as plain text (B's column is VARCHAR).
      if (c.type === 'mood') assert.equal(typeB, 'Utf8');
      else if (typeA !== typeB) differences.push(`${c.name}: type ${typeA} vs ${typeB}`);
      for (let k = 0; k < 4; k++) {
        const x = c.type === 'mood' ? (va.get(k) as unknown) : cell(va, k);
        const y = c.type === 'mood' ? (vb.get(k) as unknown) : cell(vb, k);
        if (!isDeepStrictEqual(x, y)) differences.push(`${c.name} row ${k}: ${show(x)} vs ${show(y)}`);
      }
    }
    assert.deepEqual(differences, []);
  });

  test("B's copy equals A's table pulled by transfer: EXCEPT ALL both ways is empty", async () => {
    const [pulled] = (await clientB.executeAction('transfer', { source: a.location, query: 'SELECT * FROM matrix', table: 'from_a' })) as [
      { rows: number },
    ];
    assert.equal(pulled.rows, 4);
    assert.deepEqual(await one(clientB, 'SELECT count(*) AS n FROM (SELECT * FROM copy EXCEPT ALL SELECT * FROM from_a)'), { n: 0n });
    assert.deepEqual(await one(clientB, 'SELECT count(*) AS n FROM (SELECT * FROM from_a EXCEPT ALL SELECT * FROM copy)'), { n: 0n });
  });

  test("B's values equal A's text pulled by transfer (computed on A, no type mapping): EXCEPT ALL both ways is empty", async () => {
    await clientB.executeAction('transfer', { source: a.location, query: matrixTextQuery('matrix'), table: 'text_a' });
    const textOfCopy = matrixTextQuery('copy').replace(/ ORDER BY k$/, '');
    assert.deepEqual(await one(clientB, `SELECT count(*) AS n FROM (${textOfCopy} EXCEPT ALL SELECT * FROM text_a)`), { n: 0n });
    assert.deepEqual(await one(clientB, `SELECT count(*) AS n FROM (SELECT * FROM text_a EXCEPT ALL ${textOfCopy})`), { n: 0n });
  });

  test("the checksum of every value's text is the same on A and B", async () => {
    const checksum = (table: string) =>
      `SELECT count(*) AS n, sum(hash(k, ${TYPE_CASES.map((c) => `${c.name}::VARCHAR`).join(', ')}))::VARCHAR AS h FROM ${table}`;
    const onA = await one(clientA, checksum('matrix'));
    const onB = await one(clientB, checksum('copy'));
    assert.equal(onA['n'], 4n);
    assert.deepEqual(onB, onA);
  });

  test("edge values come through as DuckDB's own Arrow round trip has them (losses included)", async () => {
    const edges = await clientA.executeQuery(edgeQuery());
    await clientB.uploadData('edges', edges);
    const outcomes: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const e of EDGE_CASES) {
      try {
        outcomes[e.name] = (await one(clientB, `SELECT ${e.name}::VARCHAR AS v FROM edges`))['v'];
      } catch (error) {
        outcomes[e.name] = (error as Error).message;
      }
      if ('text' in e.afterRoundTrip) expected[e.name] = e.afterRoundTrip.text;
      else {
        assert.match(String(outcomes[e.name]), e.afterRoundTrip.error, e.name);
        expected[e.name] = outcomes[e.name];
      }
    }
    assert.deepEqual(outcomes, expected);
  });
});
