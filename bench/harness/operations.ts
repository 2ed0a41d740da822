// The three benchmark operations of the seeds, timed and then verified: GET (DoGet streamed to
// the client), TRANSFER from server 1 to server 2 (through the client, and direct), EXCHANGE
// (DoExchange through a server-side transform). Only the data movement is timed; the checks that
// follow (row counts, table checksums) run afterwards. No operation holds a whole result in the
// client: every batch is counted and dropped, or passed on, as it arrives.

import { Bool, type Data, type RecordBatch, type Schema, type Vector } from 'apache-arrow';
import type { DuckDBFlightClient } from '../../client/index.ts';
import { tableChecksumSql } from '../../data/flights.ts';
import { EncodedBatch, type FlightOutputItem } from '../../flight/index.ts';

/** The outcome of a check: ok, and what was compared (or why it failed). */
export interface Verification {
  ok: boolean;
  detail: string;
}

/** One timed operation. */
export interface OperationResult {
  /** e.g. 'GET', 'TRANSFER (client)'. */
  operation: string;
  /** Rows moved, as counted by the client (or reported by the server for a direct transfer). */
  rows: number;
  /** Wall-clock seconds of the data movement alone. */
  seconds: number;
  /**
   * Arrow bytes moved: the buffers of the record batches (validity, offsets, values). For a direct
   * transfer the client sees no batches; the caller may pass the GET's count for the same query.
   */
  bytes: number | undefined;
  /** Record batches the client received. */
  batches: number;
  verification: Verification;
}

/** Called as batches pass, with the rows so far. */
export type ProgressCallback = (rows: number) => void;

export interface TableStats {
  rows: number;
  /** tableChecksumSql's order-independent hash of every row, as a decimal string. */
  checksum: string;
}

/** A table name as a quoted SQL identifier. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The Arrow bytes of a batch: every buffer of every column, children included. */
export function arrowBytes(batch: RecordBatch): number {
  return batch.data.byteLength;
}

/** Row count and checksum of a table on a server, in one query (data/flights.ts's tableChecksumSql). */
export async function tableStats(client: DuckDBFlightClient, table: string, signal?: AbortSignal): Promise<TableStats> {
  const result = await client.executeQuery(tableChecksumSql(table), { signal });
  const row = result.get(0);
  if (!row) throw new Error(`the checksum query on ${client.location} returned no row for ${table}`);
  const { row_count: rows, checksum } = row.toJSON() as { row_count: bigint; checksum: bigint };
  return { rows: Number(rows), checksum: String(checksum) };
}

/** `SELECT count(*)` of a table on a server. */
export async function countRows(client: DuckDBFlightClient, table: string, signal?: AbortSignal): Promise<number> {
  const result = await client.executeQuery(`SELECT count(*)::BIGINT AS n FROM ${quoteIdentifier(table)}`, { signal });
  return Number(result.get(0)?.toJSON()['n'] as bigint);
}

/** Drops a table if it exists (so a check after a transfer cannot pass on an older copy). */
export async function dropTableIfExists(client: DuckDBFlightClient, table: string, signal?: AbortSignal): Promise<void> {
  await client.executeAction('query', `DROP TABLE IF EXISTS ${quoteIdentifier(table)}`, { signal });
}

/** Compares the stats of a transferred table with its source's. */
export function compareTables(source: TableStats, target: TableStats, reportedRows: number): Verification {
  if (target.rows !== source.rows) return { ok: false, detail: `target has ${target.rows} rows, source ${source.rows}` };
  if (target.checksum !== source.checksum)
    return { ok: false, detail: `checksum ${target.checksum} differs from the source's ${source.checksum}` };
  if (reportedRows !== source.rows) return { ok: false, detail: `${reportedRows} rows reported moved, source has ${source.rows}` };
  return { ok: true, detail: `${source.rows} rows, checksum equal` };
}

/** Counts the unset bits of a Bool Data's values in [offset, offset + length), and its nulls. */
function falseAndNullCount(data: Data<Bool>): { falses: number; nulls: number } {
  const bits = data.values;
  let ones = 0;
  const start = data.offset;
  const end = start + data.length;
  let i = start;
  // Whole bytes in the middle, bit by bit at the edges.
  for (; i < end && (i & 7) !== 0; i++) ones += (bits[i >> 3]! >> (i & 7)) & 1;
  for (; i + 8 <= end; i += 8) ones += POPCOUNT[bits[i >> 3]!]!;
  for (; i < end; i++) ones += (bits[i >> 3]! >> (i & 7)) & 1;
  return { falses: data.length - ones, nulls: data.nullCount };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
});

/** True when `vector` (a Bool column) holds `true` on every row: no null, no false. */
export function isAllTrue(vector: Vector<Bool>): boolean {
  for (const data of vector.data) {
    const { falses, nulls } = falseAndNullCount(data);
    if (falses !== 0 || nulls !== 0) return false;
  }
  return true;
}

/** What every operation accepts besides its data. */
export interface CommonOptions {
  onProgress?: ProgressCallback;
  /** Aborting cancels the operation's calls (its checks too); it then rejects with a CANCELLED error naming the reason. */
  signal?: AbortSignal;
}

export interface GetOptions extends CommonOptions {
  /** The server to read from. */
  client: DuckDBFlightClient;
  /** The table; the ticket is `SELECT * FROM table`. */
  table: string;
}

/**
 * GET: DoGet of `SELECT * FROM table`, streamed; each batch is counted (rows, Arrow bytes) and
 * dropped. Verified: the rows received equal the server's count(*).
 *
 * @example
 *   const result = await runGet({ client: server1, table: 'flights' });
 *   console.log(result.rows / result.seconds, 'rows/s');
 */
export async function runGet(options: GetOptions): Promise<OperationResult> {
  const { client, table } = options;
  const started = performance.now();
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  for await (const batch of client.streamQuery(`SELECT * FROM ${quoteIdentifier(table)}`, { signal: options.signal })) {
    rows += batch.numRows;
    bytes += arrowBytes(batch);
    batches++;
    options.onProgress?.(rows);
  }
  const seconds = (performance.now() - started) / 1000;
  const expected = await countRows(client, table, options.signal);
  const verification: Verification =
    rows === expected
      ? { ok: true, detail: `${rows} rows = count(*)` }
      : { ok: false, detail: `received ${rows} rows, count(*) is ${expected}` };
  return { operation: 'GET', rows, seconds, bytes, batches, verification };
}

export interface TransferOptions extends CommonOptions {
  source: DuckDBFlightClient;
  target: DuckDBFlightClient;
  /** The table on the source, moved whole (`SELECT * FROM table`). */
  table: string;
  /** The table created on the target (default: the same name). Dropped first if it exists. */
  targetTable?: string;
}

async function verifyTransfer(options: TransferOptions, reportedRows: number): Promise<Verification> {
  const [source, target] = await Promise.all([
    tableStats(options.source, options.table, options.signal),
    tableStats(options.target, options.targetTable ?? options.table, options.signal),
  ]);
  return compareTables(source, target, reportedRows);
}

/**
 * TRANSFER through the client: DoGet from the source piped into a DoPut (replace) to the target,
 * batch by batch; the put's backpressure paces the get, so the client holds a few batches at most.
 * Verified: the target table's row count and checksum equal the source's.
 *
 * @example
 *   const result = await runTransferThroughClient({ source: server1, target: server2, table: 'flights' });
 */
export async function runTransferThroughClient(options: TransferOptions): Promise<OperationResult> {
  const { source, target, table } = options;
  const targetTable = options.targetTable ?? table;
  await dropTableIfExists(target, targetTable, options.signal);
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  const started = performance.now();
  const reader = source.streamQuery(`SELECT * FROM ${quoteIdentifier(table)}`, { signal: options.signal });
  async function* counted(): AsyncGenerator<FlightOutputItem> {
    // The schema goes first, so that an empty table still creates its target.
    const schema = await reader.schema();
    if (schema) yield schema;
    // Passed on as received, not decoded and encoded again (target checks what it receives).
    for await (const item of reader.encoded()) {
      if (item instanceof EncodedBatch) {
        rows += item.numRows;
        bytes += item.body.byteLength;
        if (item.numRows > 0) batches++;
      } else if (item.batch) {
        rows += item.batch.numRows;
        bytes += arrowBytes(item.batch);
        batches++;
      }
      options.onProgress?.(rows);
      yield item;
    }
  }
  const uploaded = await target.uploadData(targetTable, counted(), { mode: 'replace', signal: options.signal });
  const seconds = (performance.now() - started) / 1000;
  const verification = await verifyTransfer(options, rows);
  if (verification.ok && uploaded.rows !== rows) {
    return {
      operation: 'TRANSFER (client)',
      rows,
      seconds,
      bytes,
      batches,
      verification: { ok: false, detail: `the target says it stored ${uploaded.rows} rows, the client sent ${rows}` },
    };
  }
  return { operation: 'TRANSFER (client)', rows, seconds, bytes, batches, verification };
}

/**
 * TRANSFER direct: the target pulls from the source itself (the `transfer` action); no data
 * passes through the client. `bytes` is left to the caller (`arrowBytes` of the same query as
 * measured by a GET), since the client sees none. Verified as runTransferThroughClient.
 */
export async function runTransferDirect(options: TransferOptions & { arrowBytes?: number }): Promise<OperationResult> {
  const { source, target, table } = options;
  const targetTable = options.targetTable ?? table;
  await dropTableIfExists(target, targetTable, options.signal);
  const started = performance.now();
  const result = await source.transfer(target, `SELECT * FROM ${quoteIdentifier(table)}`, targetTable, 'direct', {
    signal: options.signal,
  });
  const seconds = (performance.now() - started) / 1000;
  options.onProgress?.(result.rows);
  const verification = await verifyTransfer(options, result.rows);
  return { operation: 'TRANSFER (direct)', rows: result.rows, seconds, bytes: options.arrowBytes, batches: 0, verification };
}

export interface ExchangeOptions extends CommonOptions {
  /** The server whose exchanger runs. */
  client: DuckDBFlightClient;
  /** Where the input comes from: a DoGet of `SELECT * FROM table` here (default: `client`). */
  source?: DuckDBFlightClient;
  table: string;
  /** Default my_streaming_exchanger, which appends a boolean `processed`, true on every row. */
  exchanger?: string;
}

/**
 * EXCHANGE: a DoGet of the table streams into a DoExchange through `exchanger`, and the answer is
 * read while input still flows. Counted: the rows and Arrow bytes that come back. Verified: as
 * many rows as count(*), the input's columns plus `processed`, and `processed` true on every row.
 *
 * @example
 *   const result = await runExchange({ client: server1, table: 'flights' });
 */
export async function runExchange(options: ExchangeOptions): Promise<OperationResult> {
  const { client, table } = options;
  const source = options.source ?? client;
  const exchanger = options.exchanger ?? 'my_streaming_exchanger';
  let rows = 0;
  let bytes = 0;
  let batches = 0;
  let notProcessed = 0;
  const schemas: { input: Schema | null; output: Schema | null } = { input: null, output: null };
  const started = performance.now();
  const input = source.streamQuery(`SELECT * FROM ${quoteIdentifier(table)}`, { signal: options.signal });
  async function* feed(): AsyncGenerator<FlightOutputItem> {
    schemas.input = await input.schema();
    if (schemas.input) yield schemas.input;
    // Passed on as received, not decoded and encoded again (the server checks what it receives).
    yield* input.encoded();
  }
  const output = client.exchange(exchanger, feed(), { signal: options.signal });
  for await (const batch of output) {
    schemas.output ??= batch.schema;
    rows += batch.numRows;
    bytes += arrowBytes(batch);
    batches++;
    const processed = batch.getChild('processed');
    if (!processed || !(processed.type instanceof Bool) || !isAllTrue(processed as Vector<Bool>)) notProcessed += batch.numRows;
    options.onProgress?.(rows);
  }
  const seconds = (performance.now() - started) / 1000;
  const expected = await countRows(source, table, options.signal);
  const verification = ((): Verification => {
    if (rows !== expected) return { ok: false, detail: `received ${rows} rows, count(*) is ${expected}` };
    if (notProcessed > 0) return { ok: false, detail: `${notProcessed} rows in batches without processed = true on every row` };
    const wanted = [...(schemas.input?.fields.map((f) => f.name) ?? []), 'processed'];
    const got = (schemas.output ?? output.decoder.schema)?.fields.map((f) => f.name) ?? [];
    if (got.join(',') !== wanted.join(',')) return { ok: false, detail: `output columns ${got.join(',')}, expected ${wanted.join(',')}` };
    return { ok: true, detail: `${rows} rows = count(*), processed all true` };
  })();
  return { operation: 'EXCHANGE', rows, seconds, bytes, batches, verification };
}
