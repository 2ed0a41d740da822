// DoPut and DoGet across a simulated round trip: a TCP relay in this process holds every chunk
// for half the round-trip time in each direction (latency only, no bandwidth limit), and the
// transfer runs once per server receive window. What it shows: an upload moves at most one
// server receive window per round trip, a download one client window.
//
//   node --import tsx bench/latency.ts [--rtt-ms 20] [--mib 64] [--windows-kib 64,4096]

import net from 'node:net';
import { makeVector, Table, type RecordBatch } from 'apache-arrow';
import Cli from 'cli-table3';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { FlightClient, FlightDescriptor, FlightServer } from '../flight/index.ts';

const argv = yargs(hideBin(process.argv))
  .option('rtt-ms', { type: 'number', default: 20, describe: 'simulated round-trip time' })
  .option('mib', { type: 'number', default: 64, describe: 'MiB moved each way (1 MiB batches)' })
  .option('windows-kib', { type: 'string', default: '64,4096', describe: 'server receive windows to compare, KiB' })
  .strict()
  .parseSync();

/** A relay to `port` that delays each chunk by `delayMs`, in order, both ways. */
async function delayingRelay(port: number, delayMs: number): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const pipe = (from: net.Socket, to: net.Socket) => {
    from.on('data', (chunk: Buffer) => setTimeout(() => to.writable && to.write(chunk), delayMs));
    from.on('close', () => setTimeout(() => to.destroy(), delayMs));
    from.on('error', () => {});
  };
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    sockets.add(client).add(upstream);
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

const batches: RecordBatch[] = Array.from({ length: argv.mib }, (_, i) => {
  const values = new Int32Array(256 * 1024);
  values[0] = i;
  return new Table({ i: makeVector(values) }).batches[0]!;
});
const rows = batches.reduce((sum, b) => sum + b.numRows, 0);

const table = new Cli({ head: ['server receive window', `RTT`, 'DoPut MiB/s', 'DoGet MiB/s'] });
for (const kib of argv['windows-kib'].split(',').map(Number)) {
  const server = new FlightServer(
    {
      async doPut(reader) {
        let n = 0;
        for await (const batch of reader) n += batch.numRows;
        return [new TextEncoder().encode(String(n))];
      },
      doGet: () => batches,
    },
    { flowControlWindow: kib * 1024 },
  );
  const relay = await delayingRelay(await server.listen('127.0.0.1', 0), argv['rtt-ms'] / 2);
  const client = new FlightClient(`grpc://127.0.0.1:${relay.port}`);
  await client.doPut(FlightDescriptor.path('warm'), batches.slice(0, 1));
  let started = performance.now();
  const [answer] = await client.doPut(FlightDescriptor.path('t'), batches);
  const putSeconds = (performance.now() - started) / 1000;
  if (Number(new TextDecoder().decode(answer)) !== rows) throw new Error('DoPut: the server counted other rows');
  started = performance.now();
  const got = (await client.doGet('all').readAll()).numRows;
  const getSeconds = (performance.now() - started) / 1000;
  if (got !== rows) throw new Error(`DoGet: ${got} rows of ${rows}`);
  table.push([`${kib} KiB`, `${argv['rtt-ms']} ms`, (argv.mib / putSeconds).toFixed(1), (argv.mib / getSeconds).toFixed(1)]);
  client.close();
  relay.close();
  await server.close(100);
}
console.log(
  `${argv.mib} MiB each way through a relay adding ${argv['rtt-ms']} ms of round trip; client window 16 MiB (FlightClient's default)`,
);
console.log(table.toString());
