// The DuckDB <-> Arrow bridge against DuckDB itself, side by side in one process:
//   (a) floor   a bare streaming scan of SELECT * FROM flights through node-bindings: chunks
//               fetched, nothing read out of them
//   (b) export  streamQuery of the same query into Arrow record batches
//   (n) native  the native addon's export of the same query: DuckDB's own converter on the
//               addon's thread, into IPC record batch messages ready to frame (nothing sent);
//               with the JavaScript thread's busy time meanwhile (event loop utilization)
//   (c) import  appendBatches of those batches (held in memory) into a new table, through the
//               JavaScript bridge and (when the addon loads) the native one, against DuckDB's
//               own INSERT INTO ... SELECT of the same rows from the in-memory table and from
//               the Parquet file
//   (d) pipe    streamQuery piped straight into appendBatches on a second connection
// Runs are interleaved and repeated; medians are reported.
//
//   node --import tsx bench/bridge.ts [--rows 24000000] [--parquet PATH] [--runs 5]
//        [--batch-rows 65536] [--streaming-buffer 976KiB] [--threads N[,M...]] [--no-import]
//
// --threads 2,1 measures (a) and (b) under each DuckDB thread count in turn within every run
// (SET threads between them); the import side runs under the first.

import { writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Data, RecordBatch, Schema } from 'apache-arrow';
import CliTable from 'cli-table3';
import { appendBatches, DEFAULT_BATCH_ROWS, streamQuery } from '../servers/bridge/index.ts';
import { loadNative } from '../servers/bridge/native.ts';
import { streamQueryNative } from '../servers/bridge/native-export.ts';
import { nativeImportSettings, nativeImportStats } from '../servers/bridge/native-import.ts';
import { connectShared, openSharedDatabase } from '../servers/bridge/shared-connection.ts';
import { machineFacts, spread, type Spread } from './common.ts';

interface Options {
  rows: number | null;
  parquet: string | null;
  runs: number;
  batchRows: number;
  streamingBuffer: string | null;
  /** DuckDB thread counts to measure the export side under (default: DuckDB's, one per core). */
  threads: number[] | null;
  importSide: boolean;
}

/** "24000000", "24M", "500k" (decimal multiples: row counts, not bytes). */
function parseRows(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(text.trim());
  if (!match) throw new Error(`not a row count: ${JSON.stringify(text)}`);
  return Math.round(Number(match[1]) * ({ '': 1, k: 1e3, m: 1e6 } as const)[match[2].toLowerCase() as '' | 'k' | 'm']);
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    rows: null,
    parquet: null,
    runs: 5,
    batchRows: DEFAULT_BATCH_ROWS,
    streamingBuffer: null,
    threads: null,
    importSide: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--rows') options.rows = parseRows(value());
    else if (arg === '--parquet') options.parquet = value();
    else if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--batch-rows') options.batchRows = parseRows(value());
    else if (arg === '--streaming-buffer') options.streamingBuffer = value();
    else if (arg === '--no-import') options.importSide = false;
    else if (arg === '--threads') options.threads = value().split(',').map(Number);
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs must be a positive integer');
  if (options.threads?.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--threads takes positive integers, comma separated');
  return options;
}

/** The flights Parquet file: the given one, or data/flights.ts's cached 24M-row file. */
async function flightsParquet(options: Options): Promise<string> {
  if (options.parquet !== null) return options.parquet;
  const data = await import('../data/flights.ts');
  console.log('ensuring the flights Parquet file (generated once, then cached)...');
  const { path } = await data.ensureFlightsParquet();
  return path;
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** Bytes of every Arrow buffer under a Data (what a batch weighs on the wire, roughly). */
function dataBytes(data: Data): number {
  let bytes = 0;
  for (const buffer of [data.valueOffsets, data.values, data.nullBitmap, data.typeIds]) {
    if (buffer !== undefined && buffer !== null) bytes += (buffer as ArrayBufferView).byteLength;
  }
  for (const child of data.children) bytes += dataBytes(child);
  return bytes;
}

async function configure(connection: DuckDBConnection, options: Options): Promise<void> {
  if (options.streamingBuffer !== null)
    await connection.run(`SET streaming_buffer_size = '${options.streamingBuffer.replaceAll("'", "''")}'`);
}

/** (a) the floor: DuckDB's streaming scan as node-bindings delivers it, chunks untouched. */
async function bareScan(connection: DuckDBConnection): Promise<number> {
  const result = await connection.stream('SELECT * FROM flights');
  let rows = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    rows += chunk.rowCount;
  }
  return rows;
}

/** (b) streamQuery; keeps the batches when asked to (for the import side). */
async function exportBatches(connection: DuckDBConnection, options: Options, keep: RecordBatch[] | null) {
  const stream = await streamQuery(connection, 'SELECT * FROM flights', { batchRows: options.batchRows });
  let rows = 0;
  let bytes = 0;
  for await (const batch of stream) {
    rows += batch.numRows;
    bytes += dataBytes(batch.data);
    keep?.push(batch);
  }
  return { rows, bytes, schema: stream.schema };
}

/** (n) the native export: IPC messages built off the JS thread; how busy the JS thread was meanwhile. */
async function exportNative(connection: DuckDBConnection, options: Options) {
  const before = performance.eventLoopUtilization();
  const stream = await streamQueryNative(connection, 'SELECT * FROM flights', { batchRows: options.batchRows });
  let rows = 0;
  let bytes = 0;
  for await (const batch of stream) {
    rows += batch.numRows;
    bytes += batch.body.byteLength + batch.header.byteLength;
  }
  const busy = performance.eventLoopUtilization(before);
  return { rows, bytes, jsBusySeconds: busy.active / 1000 };
}

async function* iterate(batches: RecordBatch[]): AsyncGenerator<RecordBatch> {
  for (const batch of batches) yield batch;
}

function row(name: string, s: Spread, rows: number, floor: number | null): string[] {
  return [
    name,
    s.median.toFixed(3),
    `${s.min.toFixed(3)}..${s.max.toFixed(3)}`,
    (rows / s.median / 1e6).toFixed(2),
    floor === null ? '' : (s.median / floor).toFixed(2),
  ];
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const parquet = await flightsParquet(options);
  // Shared connections (shared-connection.ts), so the native bridge can append through `target`.
  const { instance, database } = await openSharedDatabase(
    ':memory:',
    options.threads !== null ? { threads: String(options.threads[0]) } : {},
  );
  const connection = await connectShared(database);
  const target = await connectShared(database);
  const native = loadNative();
  if (!native.addon) console.log(`no native mode: ${native.reason}`);
  console.log(`native import: ${native.addon ? 'measured' : 'not measured'} (${native.reason})`);
  await configure(connection, options);
  await configure(target, options);

  const parquetSql = `read_parquet('${parquet.replaceAll("'", "''")}')`;
  let started = performance.now();
  await connection.run(`CREATE TABLE flights AS SELECT * FROM ${parquetSql}${options.rows === null ? '' : ` LIMIT ${options.rows}`}`);
  const rows = Number((await connection.runAndReadAll('SELECT count(*) FROM flights')).getRows()[0][0]);
  await connection.run('CREATE TABLE flights_schema_only AS SELECT * FROM flights LIMIT 0');
  const loadSeconds = seconds(started);
  const settings = (
    await connection.runAndReadAll("SELECT current_setting('threads'), current_setting('streaming_buffer_size')")
  ).getRows()[0];
  const loadAtStart = loadavg()[0];
  console.log(
    `${rows.toLocaleString('en-US')} rows loaded from ${parquet} in ${loadSeconds.toFixed(1)} s; DuckDB threads ${settings[0]}, streaming_buffer_size ${settings[1]}`,
  );

  const threadCounts = options.threads ?? [Number(settings[0])];
  const byThreads = threadCounts.map((threads) => ({
    threads,
    floor: [] as number[],
    exported: [] as number[],
    native: [] as number[],
    nativeBusy: [] as number[],
  }));
  let nativeBytes = 0;
  let arrowBytes = 0;
  let schema: Schema | null = null;
  for (let run = 0; run < options.runs; run++) {
    for (const side of byThreads) {
      if (threadCounts.length > 1) await connection.run(`SET threads = ${side.threads}`);
      started = performance.now();
      const scanned = await bareScan(connection);
      side.floor.push(seconds(started));
      started = performance.now();
      const out = await exportBatches(connection, options, null);
      side.exported.push(seconds(started));
      if (scanned !== rows || out.rows !== rows)
        throw new Error(`row counts disagree: ${rows} in the table, ${scanned} scanned, ${out.rows} exported`);
      arrowBytes = out.bytes;
      schema = out.schema;
      let nativeNote = '';
      if (native.addon) {
        started = performance.now();
        const n = await exportNative(connection, options);
        side.native.push(seconds(started));
        side.nativeBusy.push(n.jsBusySeconds);
        if (n.rows !== rows) throw new Error(`the native export gave ${n.rows} rows, expected ${rows}`);
        nativeBytes = n.bytes;
        nativeNote = `, native ${side.native[run].toFixed(3)} s (JS thread busy ${n.jsBusySeconds.toFixed(3)} s)`;
      }
      console.log(
        `run ${run + 1}/${options.runs}, threads ${side.threads}: floor ${side.floor[run].toFixed(3)} s, streamQuery ${side.exported[run].toFixed(3)} s${nativeNote} (load ${loadavg()[0].toFixed(1)})`,
      );
    }
  }
  if (threadCounts.length > 1) await connection.run(`SET threads = ${threadCounts[0]}`);
  const { floor, exported, native: nativeSeconds, nativeBusy } = byThreads[0]!;

  const imported: number[] = [];
  const importedNative: number[] = [];
  const importedAppender: number[] = [];
  const insertTable: number[] = [];
  const insertParquet: number[] = [];
  const piped: number[] = [];
  if (options.importSide && schema !== null) {
    // Ordered to keep the peak memory down: what needs the source table first, then the
    // batches appendBatches reads are exported once more (untimed), held in memory, and the
    // source table is dropped while they are appended.
    const limit = options.rows === null ? '' : ` LIMIT ${options.rows}`;
    for (let run = 0; run < options.runs; run++) {
      await target.run('CREATE OR REPLACE TABLE copy_native AS SELECT * FROM flights LIMIT 0');
      started = performance.now();
      await target.run('INSERT INTO copy_native SELECT * FROM flights');
      insertTable.push(seconds(started));
      await target.run('DROP TABLE copy_native');
      started = performance.now();
      const stream = await streamQuery(connection, 'SELECT * FROM flights', { batchRows: options.batchRows });
      await appendBatches(target, 'copy_piped', stream.schema, stream, { create: 'replace' });
      piped.push(seconds(started));
      await target.run('DROP TABLE copy_piped');
      console.log(
        `run ${run + 1}/${options.runs}: INSERT from table ${insertTable[run].toFixed(3)} s, pipe ${piped[run].toFixed(3)} s (load ${loadavg()[0].toFixed(1)})`,
      );
    }
    const kept: RecordBatch[] = [];
    await exportBatches(connection, options, kept);
    await connection.run('DROP TABLE flights');
    for (let run = 0; run < options.runs; run++) {
      started = performance.now();
      const result = await appendBatches(target, 'copy_arrow', schema, iterate(kept), { create: 'replace', bridge: 'js' });
      imported.push(seconds(started));
      if (result.rows !== rows) throw new Error(`appendBatches wrote ${result.rows} rows, expected ${rows}`);
      await target.run('DROP TABLE copy_arrow');
      if (native.addon) {
        const uploads = nativeImportStats.uploads;
        started = performance.now();
        const viaNative = await appendBatches(target, 'copy_arrow', schema, iterate(kept), { create: 'replace', bridge: 'native' });
        importedNative.push(seconds(started));
        if (viaNative.rows !== rows || nativeImportStats.uploads !== uploads + 1)
          throw new Error('the native import did not take the native path, or lost rows');
        await target.run('DROP TABLE copy_arrow');
        // The alternative: an appender fed on the addon's one thread (the default is DuckDB's
        // Arrow scan under INSERT ... SELECT, on DuckDB's threads).
        nativeImportSettings.mode = 'appender';
        try {
          started = performance.now();
          const viaAppender = await appendBatches(target, 'copy_arrow', schema, iterate(kept), { create: 'replace', bridge: 'native' });
          importedAppender.push(seconds(started));
          if (viaAppender.rows !== rows) throw new Error('the native appender lost rows');
        } finally {
          nativeImportSettings.mode = 'scan';
        }
        await target.run('DROP TABLE copy_arrow');
      }
      await target.run('CREATE OR REPLACE TABLE copy_native AS SELECT * FROM flights_schema_only');
      started = performance.now();
      await target.run(`INSERT INTO copy_native SELECT * FROM ${parquetSql}${limit}`);
      insertParquet.push(seconds(started));
      await target.run('DROP TABLE copy_native');
      const nativeNote =
        importedNative.length > run
          ? `, native ${importedNative[run].toFixed(3)} s, native (appender) ${importedAppender[run]!.toFixed(3)} s`
          : '';
      console.log(
        `run ${run + 1}/${options.runs}: appendBatches ${imported[run].toFixed(3)} s${nativeNote}, INSERT from Parquet ${insertParquet[run].toFixed(3)} s (load ${loadavg()[0].toFixed(1)})`,
      );
    }
    kept.length = 0;
  }

  const results = {
    floor: spread(floor),
    streamQuery: spread(exported),
    native: nativeSeconds.length > 0 ? spread(nativeSeconds) : null,
    nativeJsBusy: nativeBusy.length > 0 ? spread(nativeBusy) : null,
    appendBatches: imported.length > 0 ? spread(imported) : null,
    appendBatchesNative: importedNative.length > 0 ? spread(importedNative) : null,
    appendBatchesNativeAppender: importedAppender.length > 0 ? spread(importedAppender) : null,
    insertFromTable: insertTable.length > 0 ? spread(insertTable) : null,
    insertFromParquet: insertParquet.length > 0 ? spread(insertParquet) : null,
    pipe: piped.length > 0 ? spread(piped) : null,
  };
  // Under a fluctuating load the per-run ratio (a and b measured back to back) is the steadier figure.
  const pairRatios = exported.map((value, i) => value / floor[i]);
  const ratios = {
    exportOverFloor: results.streamQuery.median / results.floor.median,
    exportOverFloorPerRun: spread(pairRatios),
    nativeOverFloor: nativeSeconds.length > 0 ? spread(nativeSeconds.map((value, i) => value / floor[i])).median : null,
    appendOverInsertFromTable:
      results.appendBatches && results.insertFromTable ? results.appendBatches.median / results.insertFromTable.median : null,
    appendOverInsertFromParquet:
      results.appendBatches && results.insertFromParquet ? results.appendBatches.median / results.insertFromParquet.median : null,
    // Per run (native import and the Parquet INSERT back to back): the speed ratio, target >= 0.8.
    nativeSpeedOverInsertFromParquet:
      importedNative.length > 0 ? spread(importedNative.map((value, i) => insertParquet[i]! / value)) : null,
  };

  // Every thread count against the fastest floor measured under any of them.
  const threadSides = byThreads.map((side) => ({ threads: side.threads, floor: spread(side.floor), streamQuery: spread(side.exported) }));
  const bestFloor = Math.min(...threadSides.map((side) => side.floor.median));
  const table = new CliTable({ head: ['operation', 'median s', 'min..max s', 'M rows/s', 'x baseline'] });
  if (threadSides.length === 1) {
    table.push(row('(a) floor: bare chunk scan', results.floor, rows, null));
    table.push(row('(b) streamQuery -> Arrow', results.streamQuery, rows, results.floor.median));
    if (results.native) table.push(row('(n) native -> IPC messages', results.native, rows, results.floor.median));
  } else {
    for (const side of threadSides) table.push(row(`(a) floor, DuckDB threads ${side.threads}`, side.floor, rows, null));
    for (const side of threadSides) table.push(row(`(b) streamQuery, DuckDB threads ${side.threads}`, side.streamQuery, rows, bestFloor));
  }
  if (results.appendBatches && results.insertFromTable && results.insertFromParquet && results.pipe) {
    table.push(row('INSERT INTO t SELECT * FROM flights', results.insertFromTable, rows, null));
    table.push(row('INSERT INTO t SELECT * FROM read_parquet', results.insertFromParquet, rows, null));
    table.push(row('(c) appendBatches <- Arrow', results.appendBatches, rows, results.insertFromTable.median));
    if (results.appendBatchesNative)
      table.push(row('(c) appendBatches <- Arrow, native', results.appendBatchesNative, rows, results.insertFromTable.median));
    if (results.appendBatchesNativeAppender) {
      table.push(
        row('(c) appendBatches <- Arrow, native (appender)', results.appendBatchesNativeAppender, rows, results.insertFromTable.median),
      );
    }
    table.push(row('(d) streamQuery | appendBatches', results.pipe, rows, results.insertFromTable.median));
  }
  console.log(table.toString());
  console.log(
    `Arrow data: ${(arrowBytes / 1e9).toFixed(2)} GB (${(arrowBytes / rows).toFixed(1)} bytes/row); export ${(arrowBytes / results.streamQuery.median / 1e9).toFixed(2)} GB/s`,
  );
  if (results.native && results.nativeJsBusy) {
    console.log(
      `native: ${(nativeBytes / 1e9).toFixed(2)} GB of IPC messages; native / floor ${ratios.nativeOverFloor!.toFixed(2)} (median of per-run ratios); ` +
        `JS thread busy ${results.nativeJsBusy.median.toFixed(3)} s = ${((results.nativeJsBusy.median / nativeBytes) * 1e9).toFixed(3)} s per GB ` +
        `(streamQuery: the JS thread is busy throughout, ${((results.streamQuery.median / arrowBytes) * 1e9).toFixed(3)} s per GB)`,
    );
  }
  if (threadSides.length > 1) {
    console.log(
      'streamQuery / fastest floor: ' +
        threadSides.map((side) => `threads ${side.threads}: ${(side.streamQuery.median / bestFloor).toFixed(2)}`).join(', '),
    );
  }
  console.log(
    `ratios: streamQuery / floor ${ratios.exportOverFloor.toFixed(2)} (median of per-run ratios ${ratios.exportOverFloorPerRun.median.toFixed(2)})` +
      (ratios.appendOverInsertFromTable === null
        ? ''
        : `, appendBatches / INSERT from table ${ratios.appendOverInsertFromTable.toFixed(2)}, / INSERT from Parquet ${ratios.appendOverInsertFromParquet!.toFixed(2)}`) +
      (ratios.nativeSpeedOverInsertFromParquet === null
        ? ''
        : `; native import speed / INSERT from Parquet's: median ${ratios.nativeSpeedOverInsertFromParquet.median.toFixed(2)} (${ratios.nativeSpeedOverInsertFromParquet.min.toFixed(2)}..${ratios.nativeSpeedOverInsertFromParquet.max.toFixed(2)})`),
  );

  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'bridge.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        name: 'bridge',
        date: new Date().toISOString(),
        machine: machineFacts(),
        loadAverageAtStart: loadAtStart,
        parquet,
        rows,
        batchRows: options.batchRows,
        duckdb: { threads: String(settings[0]), streamingBufferSize: String(settings[1]) },
        arrowBytes,
        nativeBytes,
        loadSeconds,
        seconds: results,
        rowsPerSecond: Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v === null ? null : rows / v.median])),
        ratios,
        byThreads: threadSides.map((side) => ({ ...side, exportOverFastestFloor: side.streamQuery.median / bestFloor })),
      },
      null,
      2,
    ) + '\n',
  );
  console.log(`wrote ${out}`);
  connection.closeSync();
  target.closeSync();
  instance.closeSync();
}

await main();
