// FlightData encode and decode throughput, in memory: column type x rows per batch.
//
//   node --import tsx bench/flight.ts [--kinds int64,flights] [--rows 8K,64K,512K] [--time 1000]
//                                     [--max-message-mib 4]
//
// encode = FlightDataEncoder.encodeBatch (Arrow buffers -> FlightData wire bytes, sliced to the
// message limit); decode = decodeFlightData + FlightDataDecoder.decode (wire bytes -> RecordBatch).
// GB/s counts the FlightData bytes produced or consumed. Batches and encoded messages are built
// outside the timed functions.
//
// send = the server's whole send path without a network: FlightDataWriter -> BackpressureWriter
// (as a server call uses it) -> a stand-in for grpc-js's server call that copies each message
// into a fresh frame and completes it on a later turn, as grpc-js does. Reported as CPU seconds
// per GB with fresh and with reused message memory, which holds up on a busy machine better than
// wall time. --send-gb 0 skips it. Writes bench/results/flight-<time>.json.

import { Writable } from 'node:stream';
import Table from 'cli-table3';
import { Bench } from 'tinybench';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { decodeFlightData, FlightDataDecoder, FlightDataEncoder, FlightDataWriter } from '../flight/index.ts';
import { BackpressureWriter } from '../flight/streams.ts';
import {
  BATCH_KINDS,
  formatNumber,
  spread,
  isBatchKind,
  machineFacts,
  makeBatch,
  MiB,
  parseCount,
  writeResults,
  type BatchKind,
} from './common.ts';

/** grpc-js's server call, as far as the send path sees it: a copy into a new frame per message. */
class FramingCall extends Writable {
  frames = 0;
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    const frame = Buffer.allocUnsafe(chunk.byteLength + 5);
    chunk.copy(frame, 5);
    this.frames++;
    setImmediate(done);
  }
}

interface Row {
  operation: 'encode' | 'decode';
  kind: BatchKind;
  rows: number;
  columns: number;
  /** FlightData bytes per batch (all slices). */
  bytes: number;
  messages: number;
  medianMs: number;
  meanMs: number;
  /** Relative margin of error of the mean (95%), in percent. */
  rmePercent: number;
  samples: number;
  gbPerSecond: number;
  rowsPerSecond: number;
  /** Decode only: bodies the decoder had to copy to align them. */
  alignmentCopies?: number;
}

const argv = yargs(hideBin(process.argv))
  .option('kinds', { type: 'string', default: BATCH_KINDS.join(','), describe: `comma list of ${BATCH_KINDS.join(', ')}` })
  .option('rows', { type: 'string', default: '8K,64K,512K', describe: 'rows per batch, comma list' })
  .option('time', { type: 'number', default: 1000, describe: 'milliseconds per task' })
  .option('max-message-mib', { type: 'number', default: 4, describe: 'encoder message limit (batches are sliced to fit)' })
  .option('send-gb', { type: 'number', default: 1, describe: 'GB through the send path per round (0: skip)' })
  .option('send-rows', { type: 'string', default: '64K', describe: 'rows per flights batch on the send path' })
  .strict()
  .parseSync();

const kinds = argv.kinds.split(',').map((k) => {
  if (!isBatchKind(k)) throw new Error(`unknown kind ${JSON.stringify(k)}: use ${BATCH_KINDS.join(', ')}`);
  return k;
});
const rowCounts = argv.rows.split(',').map(parseCount);
const maxMessageBytes = Math.round(argv['max-message-mib'] * MiB);

const bench = new Bench({ time: argv.time, iterations: 10, warmupIterations: 3, throws: true });
const cases: (Omit<Row, 'medianMs' | 'meanMs' | 'rmePercent' | 'samples' | 'gbPerSecond' | 'rowsPerSecond'> & {
  task: string;
  decoder?: FlightDataDecoder;
})[] = [];
let sink = 0; // keeps the timed work observable

for (const kind of kinds) {
  for (const rows of rowCounts) {
    const batch = makeBatch(kind, rows);
    const probe = new FlightDataEncoder({ maxMessageBytes });
    const schemaMessage = probe.encodeSchema(batch.schema);
    const messages = probe.encodeBatch(batch);
    const bytes = messages.reduce((sum, m) => sum + m.byteLength, 0);
    const columns = batch.numCols;

    const encoder = new FlightDataEncoder({ maxMessageBytes });
    encoder.encodeSchema(batch.schema);
    const encodeTask = `encode ${kind} ${rows}`;
    bench.add(encodeTask, () => {
      sink += encoder.encodeBatch(batch).length;
    });
    cases.push({ task: encodeTask, operation: 'encode', kind, rows, columns, bytes, messages: messages.length });

    // Decode what grpc-js hands a deserializer: each message 5 bytes into its own gRPC frame.
    const received = messages.map(asReceived);
    const decoder = new FlightDataDecoder();
    decoder.decode(decodeFlightData(asReceived(schemaMessage)));
    const decodeTask = `decode ${kind} ${rows}`;
    bench.add(decodeTask, () => {
      for (const message of received) {
        const decoded = decoder.decode(decodeFlightData(message));
        if (decoded.kind === 'batch') sink += decoded.batch.numRows;
      }
    });
    cases.push({ task: decodeTask, operation: 'decode', kind, rows, columns, bytes, messages: messages.length, decoder });
  }
}

/** A message as grpc-js delivers it: a view after the 5-byte prefix of a frame buffer of its own. */
function asReceived(message: Buffer): Buffer {
  const frame = Buffer.alloc(message.byteLength + 5);
  message.copy(frame, 5);
  return frame.subarray(5);
}

console.error(`running ${bench.tasks.length} tasks of ~${argv.time} ms each...`);
await bench.run();

const results: Row[] = cases.map(({ task, decoder, ...rest }) => {
  const result = bench.getTask(task)!.result;
  if (!('latency' in result)) throw new Error(`task ${task} did not complete (${result.state})`);
  const seconds = result.latency.p50 / 1000;
  return {
    ...rest,
    medianMs: result.latency.p50,
    meanMs: result.latency.mean,
    rmePercent: (result.latency.moe / result.latency.mean) * 100,
    samples: result.latency.samplesCount,
    gbPerSecond: rest.bytes / seconds / 1e9,
    rowsPerSecond: rest.rows / seconds,
    ...(decoder ? { alignmentCopies: decoder.stats.alignmentCopies } : {}),
  };
});

const table = new Table({
  head: ['op', 'kind', 'rows', 'MB/batch', 'msgs', 'median ms', '±%', 'GB/s', 'Mrows/s', 'align copies'],
  style: { head: [], border: [] },
});
for (const r of results) {
  table.push([
    r.operation,
    r.kind,
    r.rows,
    formatNumber(r.bytes / 1e6, 2),
    r.messages,
    formatNumber(r.medianMs, 3),
    formatNumber(r.rmePercent, 1),
    formatNumber(r.gbPerSecond, 2),
    formatNumber(r.rowsPerSecond / 1e6, 1),
    r.alignmentCopies ?? '',
  ]);
}
const machine = machineFacts();
console.log(
  `FlightData encode/decode, maxMessageBytes ${argv['max-message-mib']} MiB; node ${machine.node}, ${machine.cpu}, load ${machine.loadAverage.toFixed(2)}`,
);
console.log(table.toString());
const send = argv['send-gb'] > 0 ? await measureSendPath(argv['send-gb'] * 1e9, parseCount(argv['send-rows'])) : null;
const path = writeResults('flight', { options: { kinds, rows: rowCounts, timeMs: argv.time, maxMessageBytes }, results, send, sink });
console.log(`wrote ${path}`);

async function measureSendPath(bytes: number, rows: number) {
  const batches = [1, 2, 3, 4].map((seed) => makeBatch('flights', rows, seed));
  const samples: { reuse: boolean; cpuSecondsPerGb: number; gbPerSecond: number }[] = [];
  for (let round = 0; round < 5; round++) {
    for (const reuse of [false, true]) {
      const call = new FramingCall({ highWaterMark: 16 });
      const backpressure = new BackpressureWriter(call, undefined, undefined, reuse);
      const writer = new FlightDataWriter((message) => backpressure.write(message), { maxMessageBytes });
      const cpu = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; writer.bytes < bytes; i++) await writer.write(batches[i % batches.length]!);
      await new Promise<void>((resolve) => call.end(resolve));
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      samples.push({
        reuse,
        cpuSecondsPerGb: (used.user + used.system) / 1e6 / (writer.bytes / 1e9),
        gbPerSecond: writer.bytes / seconds / 1e9,
      });
    }
  }
  const summary = (reuse: boolean) => {
    const mine = samples.filter((s) => s.reuse === reuse);
    return { cpuSecondsPerGb: spread(mine.map((s) => s.cpuSecondsPerGb)), gbPerSecond: spread(mine.map((s) => s.gbPerSecond)) };
  };
  const fresh = summary(false);
  const reused = summary(true);
  console.log(
    `send path (flights x ${rows} rows, ${formatNumber(bytes / 1e9, 1)} GB x 5 rounds): CPU s/GB fresh ${formatNumber(fresh.cpuSecondsPerGb.median, 2)}, ` +
      `reused (the server's) ${formatNumber(reused.cpuSecondsPerGb.median, 2)}; GB/s ${formatNumber(fresh.gbPerSecond.median, 2)} / ${formatNumber(reused.gbPerSecond.median, 2)}`,
  );
  return { rows, bytesPerRound: bytes, fresh, reused, samples };
}
