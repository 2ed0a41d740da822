// DoGet and DoPut over loopback through our FlightServer and FlightClient, against a raw
// node:http2 stream of the same bytes measured in the same run.
//
//   node --import tsx bench/loopback.ts [--kind flights] [--rows 64K] [--gb 1] [--runs 5]
//                                       [--ops get,put] [--max-message-mib 4] [--window-mib 16]
//                                       [--server-window-mib 4] [--write-buffer-mib 8]
//
// The servers (ours and the raw one) run in a child process, the clients in this one, so the
// pair uses two cores as a real client and server would. Both sides build the same
// deterministic batches in memory. Per run and operation:
//   flight get  DoGet of N batches: the server encodes them as it sends, the client decodes each
//               into a RecordBatch. flight-h2: FlightClient's default, our gRPC channel on our
//               own HTTP/2; flight-node: that channel on node:http2; flight: grpc-js's client;
//   raw get     one HTTP/2 response carrying the same FlightData bytes, pre-encoded, which the
//               client reads and discards;
//   flight put  DoPut of the same N batches: the client encodes, the server decodes;
//   raw put     one HTTP/2 request body of the pre-encoded bytes, read and discarded.
// The two of each pair alternate (which goes first flips every run); medians over the runs, and
// the ratio flight / raw. Writes bench/results/loopback-<time>.json.

import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  type MethodDefinition,
  type sendUnaryData,
  type ServerReadableStream,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import type { RecordBatch } from 'apache-arrow';
import Table from 'cli-table3';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FlightClient, FlightDataEncoder, FlightDescriptor, FlightServer } from '../flight/index.ts';
import {
  BATCH_KINDS,
  formatNumber,
  gbPerSecond,
  isBatchKind,
  machineFacts,
  makeBatch,
  median,
  MiB,
  parseCount,
  spread,
  writeResults,
  type BatchKind,
} from './common.ts';

/** What both processes need to build the same data and servers. */
interface Config {
  kind: BatchKind;
  rows: number;
  /** Distinct batches, cycled to make up the volume. */
  distinct: number;
  maxMessageBytes: number;
  /** grpc-js client flow-control window (and the raw http2 client's). */
  windowBytes: number;
  /** HTTP/2 receive window of the servers; 0 leaves the grpc-js server at its default. */
  serverWindowBytes: number;
  writeBufferBytes: number;
}

type Op = 'get' | 'put';
type Mode = 'flight' | 'flight-h2' | 'flight-node' | 'grpc' | 'raw';
const MODES: readonly Mode[] = ['flight', 'flight-h2', 'flight-node', 'grpc', 'raw'];

const DISTINCT_BATCHES = 4;

/** The batches and their pre-encoded FlightData messages (schema first). */
function prepare(config: Config): { batches: RecordBatch[]; schemaMessage: Buffer; messages: Buffer[][]; bytesPerCycle: number } {
  const batches = Array.from({ length: config.distinct }, (_, i) => makeBatch(config.kind, config.rows, i + 1));
  const encoder = new FlightDataEncoder({ maxMessageBytes: config.maxMessageBytes });
  const schemaMessage = encoder.encodeSchema(batches[0]!.schema);
  const messages = batches.map((b) => encoder.encodeBatch(b));
  const bytesPerCycle = messages.flat().reduce((sum, m) => sum + m.byteLength, 0);
  return { batches, schemaMessage, messages, bytesPerCycle };
}

/** The raw peers get the same flow-control windows as ours, so the comparison is of the stacks. */
function widenWindow(session: http2.Http2Session, bytes: number): void {
  if (bytes > 65535) session.setLocalWindowSize(bytes);
}

async function writeAll(stream: http2.Http2Stream, buffers: Iterable<Buffer>): Promise<void> {
  for (const buffer of buffers) {
    if (!stream.write(buffer)) {
      await new Promise<void>((resolve, reject) => {
        const fail = () => reject(new Error('stream closed while writing'));
        stream.once('close', fail);
        stream.once('drain', () => {
          stream.off('close', fail);
          resolve();
        });
      });
    }
  }
}

/** `first`, then the items of groups[0], groups[1], ... round and round, `count` groups in all. */
function* cycle<T>(groups: T[][], count: number, first?: T): Generator<T> {
  if (first !== undefined) yield first;
  for (let i = 0; i < count; i++) yield* groups[i % groups.length]!;
}

/**
 * grpc-js with nothing of ours: pre-encoded FlightData Buffers through identity serializers.
 * What it reaches is the most our Flight layer can reach on grpc-js.
 */
const identity = (buffer: Buffer) => buffer;
function bareMethod(name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Buffer, Buffer> {
  return {
    path: `/bench.Loopback/${name}`,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}
const BARE_SERVICE = { Get: bareMethod('Get', false, true), Put: bareMethod('Put', true, false) };

// ---------------------------------------------------------------------------------------------
// The server process

async function serve(config: Config): Promise<void> {
  const { batches, schemaMessage, messages } = prepare(config);
  const schema = batches[0]!.schema;
  const text = new TextDecoder();

  const flight = new FlightServer(
    {
      doGet(ticket) {
        const { batches: count } = JSON.parse(text.decode(ticket)) as { batches: number };
        return {
          schema,
          [Symbol.iterator]: () =>
            cycle(
              batches.map((b) => [b]),
              count,
            ),
        };
      },
      async *doPut(reader) {
        let rows = 0;
        for await (const batch of reader) rows += batch.numRows;
        yield new TextEncoder().encode(JSON.stringify({ rows, alignmentCopies: reader.decoder.stats.alignmentCopies }));
      },
    },
    { maxMessageBytes: config.maxMessageBytes, writeBufferBytes: config.writeBufferBytes, ...serverWindowOption(config) },
  );
  const flightPort = await flight.listen('127.0.0.1', 0);

  const grpc = new Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  grpc.addService(BARE_SERVICE, {
    Get: (call: ServerWritableStream<Buffer, Buffer>) => {
      const { batches: count } = JSON.parse(call.request.toString()) as { batches: number };
      void (async () => {
        for (const message of cycle(messages, count, schemaMessage)) {
          if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
        }
        call.end();
      })();
    },
    Put: (call: ServerReadableStream<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      let bytes = 0;
      call.on('data', (message: Buffer) => (bytes += message.byteLength));
      call.on('end', () => callback(null, Buffer.from(JSON.stringify({ bytes }))));
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );

  const raw = http2.createServer({
    settings: config.serverWindowBytes > 0 ? { initialWindowSize: config.serverWindowBytes } : {},
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
  });
  raw.on('session', (session) => widenWindow(session, config.serverWindowBytes));
  raw.on('stream', (stream, headers) => {
    const url = new URL(headers[':path'] ?? '/', 'http://x');
    void (async () => {
      if (url.pathname === '/get') {
        stream.respond({ ':status': 200 });
        await writeAll(stream, cycle(messages, Number(url.searchParams.get('batches')), schemaMessage));
        stream.end();
      } else if (url.pathname === '/put') {
        let bytes = 0;
        for await (const chunk of stream) bytes += (chunk as Buffer).byteLength;
        stream.respond({ ':status': 200 });
        stream.end(JSON.stringify({ bytes }));
      } else if (url.pathname === '/cpu') {
        const { user, system } = process.cpuUsage();
        stream.respond({ ':status': 200 });
        stream.end(JSON.stringify({ seconds: (user + system) / 1e6 }));
      } else {
        stream.respond({ ':status': 404 });
        stream.end();
      }
    })().catch((error: unknown) => stream.destroy(error as Error));
  });
  const rawPort = await new Promise<number>((resolve) =>
    raw.listen(0, '127.0.0.1', () => resolve((raw.address() as { port: number }).port)),
  );

  process.stdout.write(JSON.stringify({ flightPort, grpcPort, rawPort }) + '\n');
  // The parent closes our stdin when it is done.
  process.stdin.resume();
  process.stdin.on('end', () => {
    raw.close();
    grpc.forceShutdown();
    void flight.close(100).then(() => process.exit(0));
  });
}

/** The FlightServer's HTTP/2 receive window; 0 keeps HTTP/2's 64 KiB default, as grpc-js alone does. */
function serverWindowOption(config: Config): { flowControlWindow: number } {
  return { flowControlWindow: config.serverWindowBytes > 0 ? config.serverWindowBytes : 65_535 };
}

// ---------------------------------------------------------------------------------------------
// The client process

interface Sample {
  op: Op;
  mode: Mode;
  run: number;
  seconds: number;
  bytes: number;
  gbPerSecond: number;
  /** CPU seconds this (client) process spent. */
  clientCpuSeconds: number;
  /** CPU seconds the server process spent (both servers live there; the other one idles). */
  serverCpuSeconds: number;
  alignmentCopies?: number;
}

async function main(): Promise<void> {
  const argv = yargs(hideBin(process.argv))
    .option('kind', { type: 'string', default: 'flights', describe: `one of ${BATCH_KINDS.join(', ')}` })
    .option('rows', { type: 'string', default: '64K', describe: 'rows per batch' })
    .option('gb', { type: 'number', default: 1, describe: 'gigabytes of FlightData per transfer' })
    .option('runs', { type: 'number', default: 5 })
    .option('ops', { type: 'string', default: 'get,put' })
    .option('max-message-mib', { type: 'number', default: 4 })
    .option('window-mib', { type: 'number', default: 16, describe: 'client HTTP/2 flow-control window' })
    .option('server-window-mib', {
      type: 'number',
      default: 4,
      describe: "servers' HTTP/2 receive window (4: FlightServer's default; 0: HTTP/2's 64 KiB, grpc-js's default)",
    })
    .option('write-buffer-mib', { type: 'number', default: 8, describe: 'bytes queued per stream before writers wait' })
    .option('modes', {
      type: 'string',
      default: MODES.join(','),
      describe:
        'flight (ours, grpc-js client), flight-h2 (ours, our gRPC and HTTP/2 client), flight-node (ours, our gRPC on node:http2), grpc (bare grpc-js), raw (node:http2)',
    })
    .option('serve', { type: 'string', hidden: true })
    .strict()
    .parseSync();

  if (argv.serve) return serve(JSON.parse(argv.serve) as Config);

  if (!isBatchKind(argv.kind)) throw new Error(`unknown kind ${JSON.stringify(argv.kind)}: use ${BATCH_KINDS.join(', ')}`);
  const ops = argv.ops.split(',').map((op) => {
    if (op !== 'get' && op !== 'put') throw new Error(`unknown op ${JSON.stringify(op)}: use get, put`);
    return op;
  });
  const modes = argv.modes.split(',').map((mode) => {
    if (!(MODES as readonly string[]).includes(mode)) throw new Error(`unknown mode ${JSON.stringify(mode)}: use ${MODES.join(', ')}`);
    return mode as Mode;
  });
  const config: Config = {
    kind: argv.kind,
    rows: parseCount(argv.rows),
    distinct: DISTINCT_BATCHES,
    maxMessageBytes: Math.round(argv['max-message-mib'] * MiB),
    windowBytes: Math.round(argv['window-mib'] * MiB),
    serverWindowBytes: Math.round(argv['server-window-mib'] * MiB),
    writeBufferBytes: Math.round(argv['write-buffer-mib'] * MiB),
  };

  // The child gets our node flags (tsx, and --cpu-prof when profiling).
  const nodeFlags = process.execArgv.includes('tsx') ? process.execArgv : ['--import', 'tsx', ...process.execArgv];
  const child = spawn(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), '--serve', JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`the server process exited with ${code} before listening`)));
    });
    const ports = JSON.parse(line) as Ports;
    await measure(config, ops, modes, argv.gb, argv.runs, ports);
  } finally {
    child.stdin!.end();
    await exited;
  }
}

interface Ports {
  flightPort: number;
  grpcPort: number;
  rawPort: number;
}

async function measure(
  config: Config,
  ops: Op[],
  modes: Mode[],
  gb: number,
  runs: number,
  { flightPort, grpcPort, rawPort }: Ports,
): Promise<void> {
  const { batches, schemaMessage, messages, bytesPerCycle } = prepare(config);
  const cycles = Math.max(1, Math.round((gb * 1e9) / bytesPerCycle));
  const count = cycles * config.distinct; // batches per transfer
  const totalBytes = schemaMessage.byteLength + cycles * bytesPerCycle;
  const totalRows = count * config.rows;

  const clientOptions = {
    maxMessageBytes: config.maxMessageBytes,
    flowControlWindow: config.windowBytes,
    writeBufferBytes: config.writeBufferBytes,
  };
  const client = new FlightClient(`grpc://127.0.0.1:${flightPort}`, { ...clientOptions, transport: 'grpc-js' });
  await client.waitForReady();
  const h2Client = new FlightClient(`grpc://127.0.0.1:${flightPort}`, { ...clientOptions, transport: 'http2' });
  await h2Client.waitForReady();
  const nodeClient = new FlightClient(`grpc://127.0.0.1:${flightPort}`, { ...clientOptions, transport: 'node-http2' });
  await nodeClient.waitForReady();
  const grpcOptions = {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc-node.flow_control_window': config.windowBytes,
  };
  const bare = new Client(`127.0.0.1:${grpcPort}`, credentials.createInsecure(), grpcOptions);
  const session = http2.connect(`http://127.0.0.1:${rawPort}`, {
    settings: { initialWindowSize: config.windowBytes },
    maxSessionMemory: Number.MAX_SAFE_INTEGER,
  });
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  widenWindow(session, config.windowBytes);

  const serverCpu = async (): Promise<number> => {
    const request = session.request({ ':path': '/cpu' });
    let body = '';
    request.setEncoding('utf8');
    for await (const chunk of request) body += chunk as string;
    return (JSON.parse(body) as { seconds: number }).seconds;
  };

  const flightGet = (flight: FlightClient) => async (n: number) => {
    const reader = flight.doGet(JSON.stringify({ batches: n }));
    let rows = 0;
    for await (const batch of reader) rows += batch.numRows;
    if (rows !== n * config.rows) throw new Error(`flight get: ${rows} rows where ${n * config.rows} were sent`);
    return {
      bytes: schemaMessage.byteLength + (n / config.distinct) * bytesPerCycle,
      alignmentCopies: reader.decoder.stats.alignmentCopies,
    };
  };
  const flightPut = (flight: FlightClient) => async (n: number) => {
    const results = await flight.doPut(
      FlightDescriptor.path('bench'),
      cycle(
        batches.map((b) => [b]),
        n,
      ),
    );
    const answer = JSON.parse(new TextDecoder().decode(results[0])) as { rows: number; alignmentCopies: number };
    if (answer.rows !== n * config.rows) throw new Error(`flight put: the server read ${answer.rows} rows of ${n * config.rows}`);
    return { bytes: schemaMessage.byteLength + (n / config.distinct) * bytesPerCycle, alignmentCopies: answer.alignmentCopies };
  };
  const runners: Record<`${Mode} ${Op}`, (n: number) => Promise<{ bytes: number; alignmentCopies?: number }>> = {
    'flight get': flightGet(client),
    'flight put': flightPut(client),
    'flight-h2 get': flightGet(h2Client),
    'flight-h2 put': flightPut(h2Client),
    'flight-node get': flightGet(nodeClient),
    'flight-node put': flightPut(nodeClient),
    'grpc get': async (n) => {
      const call = bare.makeServerStreamRequest(
        BARE_SERVICE.Get.path,
        identity,
        identity,
        Buffer.from(JSON.stringify({ batches: n })),
        new Metadata(),
      );
      let bytes = 0;
      for await (const message of call) bytes += (message as Buffer).byteLength;
      return { bytes };
    },
    'grpc put': async (n) => {
      let answered: (value: Buffer) => void = () => {};
      let failed: (error: Error) => void = () => {};
      const reply = new Promise<Buffer>((resolve, reject) => {
        answered = resolve;
        failed = reject;
      });
      const call = bare.makeClientStreamRequest<Buffer, Buffer>(
        BARE_SERVICE.Put.path,
        identity,
        identity,
        new Metadata(),
        {},
        (error, value) => (error ? failed(error) : answered(value!)),
      );
      for (const message of cycle(messages, n, schemaMessage)) {
        if (!call.write(message)) await new Promise((resolve) => call.once('drain', resolve));
      }
      call.end();
      const { bytes } = JSON.parse((await reply).toString()) as { bytes: number };
      return { bytes };
    },
    'raw get': async (n) => {
      const request = session.request({ ':path': `/get?batches=${n}` });
      let bytes = 0;
      request.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
      await new Promise<void>((resolve, reject) => {
        request.once('end', resolve);
        request.once('error', reject);
      });
      const expected = schemaMessage.byteLength + (n / config.distinct) * bytesPerCycle;
      if (bytes !== expected) throw new Error(`raw get: ${bytes} bytes where ${expected} were sent`);
      return { bytes };
    },
    'raw put': async (n) => {
      const request = session.request({ ':path': '/put', ':method': 'POST' });
      let answer = '';
      request.setEncoding('utf8');
      request.on('data', (chunk: string) => (answer += chunk));
      const done = new Promise<void>((resolve, reject) => {
        request.once('end', resolve);
        request.once('error', reject);
      });
      await writeAll(request, cycle(messages, n, schemaMessage));
      request.end();
      await done;
      const { bytes } = JSON.parse(answer) as { bytes: number };
      const expected = schemaMessage.byteLength + (n / config.distinct) * bytesPerCycle;
      if (bytes !== expected) throw new Error(`raw put: the server read ${bytes} bytes of ${expected}`);
      return { bytes };
    },
  };

  const machine = machineFacts();
  console.log(
    `loopback: ${config.kind} x ${config.rows} rows/batch, ${count} batches = ${formatNumber(totalBytes / 1e9, 2)} GB ` +
      `(${formatNumber(totalRows / 1e6, 1)} M rows) per transfer, ${runs} runs; maxMessage ${config.maxMessageBytes / MiB} MiB, ` +
      `window ${config.windowBytes / MiB} MiB, server window ${config.serverWindowBytes / MiB} MiB, write buffer ${config.writeBufferBytes / MiB} MiB`,
  );
  console.log(`node ${machine.node}, ${machine.cores} x ${machine.cpu}, load ${machine.loadAverage.toFixed(2)}`);

  // Warm up every path (JIT, connections, windows) on a tenth of the volume.
  const warm = Math.max(config.distinct, Math.round(count / 10 / config.distinct) * config.distinct);
  for (const op of ops) for (const mode of modes) await runners[`${mode} ${op}`](warm);

  const samples: Sample[] = [];
  for (let run = 0; run < runs; run++) {
    for (const op of ops) {
      // Rotate which stack goes first, so slow drifts of a shared machine spread over all.
      const order = modes.map((_, i) => modes[(i + run) % modes.length]!);
      for (const mode of order) {
        const serverBefore = await serverCpu();
        const cpu = process.cpuUsage();
        const faults = process.resourceUsage().minorPageFault;
        const started = performance.now();
        const { bytes, alignmentCopies } = await runners[`${mode} ${op}`](count);
        const seconds = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const clientFaults = process.resourceUsage().minorPageFault - faults;
        const serverCpuSeconds = (await serverCpu()) - serverBefore;
        const sample: Sample = {
          op,
          mode,
          run,
          seconds,
          bytes,
          gbPerSecond: gbPerSecond(bytes, seconds),
          clientCpuSeconds: (used.user + used.system) / 1e6,
          serverCpuSeconds,
          ...(alignmentCopies !== undefined ? { alignmentCopies } : {}),
        };
        samples.push(sample);
        const perGb = (cpuSeconds: number) => formatNumber(cpuSeconds / (bytes / 1e9), 2);
        console.error(
          `  run ${run} ${mode} ${op}: ${formatNumber(sample.gbPerSecond, 3)} GB/s, CPU s/GB client ${perGb(sample.clientCpuSeconds)} ` +
            `(user ${perGb(used.user / 1e6)}, system ${perGb(used.system / 1e6)}, ${formatNumber(clientFaults / (bytes / 1e9), 0)} page faults/GB) ` +
            `server ${perGb(serverCpuSeconds)}`,
        );
      }
    }
  }
  client.close();
  h2Client.close();
  nodeClient.close();
  bare.close();
  session.close();

  const table = new Table({
    head: [
      'op',
      'stack',
      'GB/s (median)',
      'spread',
      'vs raw http2',
      'pairwise vs raw',
      'client CPU s/GB',
      'server CPU s/GB',
      'CPU-bound vs raw',
      'align copies',
    ],
    style: { head: [], border: [] },
  });
  const show = (value: number | null | undefined, digits: number, scale = 1, unit = '') =>
    value === null || value === undefined ? '-' : `${formatNumber(value * scale, digits)}${unit}`;
  const summary = ops.flatMap((op) => {
    const of = (mode: Mode) => samples.filter((s) => s.op === op && s.mode === mode);
    const raw = of('raw');
    const rawMedian = raw.length > 0 ? median(raw.map((s) => s.gbPerSecond)) : null;
    // With a core per process, the busier side bounds throughput: compare that side's CPU per
    // GB with raw http2's. A load-tolerant estimate of the ratio for an otherwise idle machine.
    const busiest = (mine: Sample[]) =>
      Math.max(
        median(mine.map((s) => s.clientCpuSeconds / (s.bytes / 1e9))),
        median(mine.map((s) => s.serverCpuSeconds / (s.bytes / 1e9))),
      );
    const rawBusiest = raw.length > 0 ? busiest(raw) : null;
    return modes.map((mode) => {
      const mine = of(mode);
      const throughput = spread(mine.map((s) => s.gbPerSecond));
      const perGb = (side: 'clientCpuSeconds' | 'serverCpuSeconds') => median(mine.map((s) => s[side] / (s.bytes / 1e9)));
      const copies = mine.map((s) => s.alignmentCopies).filter((c) => c !== undefined);
      const row = {
        op,
        mode,
        gbPerSecond: throughput,
        ratioToRaw: rawMedian === null ? null : throughput.median / rawMedian,
        pairwiseRatioToRaw: raw.length > 0 ? median(mine.map((s, i) => s.gbPerSecond / raw[i]!.gbPerSecond)) : null,
        clientCpuSecondsPerGb: perGb('clientCpuSeconds'),
        serverCpuSecondsPerGb: perGb('serverCpuSeconds'),
        cpuBoundRatioToRaw: rawBusiest === null ? null : rawBusiest / busiest(mine),
        alignmentCopiesPerTransfer: copies.length > 0 ? median(copies) : null,
        messagesPerTransfer: 1 + (count / config.distinct) * messages.flat().length,
      };
      table.push([
        op === 'get' ? 'DoGet' : 'DoPut',
        {
          flight: 'ours, grpc-js client',
          'flight-h2': 'ours',
          'flight-node': 'ours, node:http2 client',
          grpc: 'bare grpc-js',
          raw: 'raw http2',
        }[mode],
        show(throughput.median, 3),
        show(throughput.relative, 0, 100, '%'),
        show(row.ratioToRaw, 2),
        show(row.pairwiseRatioToRaw, 2),
        show(row.clientCpuSecondsPerGb, 2),
        show(row.serverCpuSecondsPerGb, 2),
        show(row.cpuBoundRatioToRaw, 2),
        row.alignmentCopiesPerTransfer === null ? '' : `${row.alignmentCopiesPerTransfer} of ${row.messagesPerTransfer}`,
      ]);
      return row;
    });
  });
  console.log(table.toString());
  const path = writeResults('loopback', {
    command: process.argv.slice(1).join(' '),
    config,
    transfer: { batches: count, bytes: totalBytes, rows: totalRows },
    summary,
    samples,
  });
  console.log(`wrote ${path}`);
}

await main();
