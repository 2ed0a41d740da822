// The "echo store" Flight server used by the tests and by the pyarrow interop client checks
// (test/peers/README.md describes the contract; test/peers/reference_server.py is pyarrow's).

import { RecordBatch, Schema, Table, tableFromArrays } from 'apache-arrow';
import {
  FlightDescriptor,
  FlightError,
  FlightServer,
  staticUsers,
  type FlightHandlers,
  type FlightInfo,
  type FlightServerOptions,
} from '../../flight/index.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();

export function descriptorKey(d: FlightDescriptor): string {
  return d.type === 'path' ? d.path.join('/') : text.decode(d.cmd);
}

export interface EchoServer {
  server: FlightServer;
  port: number;
  location: string;
  store: Map<string, Table>;
  close(): Promise<void>;
}

export function echoHandlers(store: Map<string, Table>): FlightHandlers {
  const info = (key: string, table: Table): FlightInfo => ({
    schema: table.schema,
    descriptor: FlightDescriptor.path(...key.split('/')),
    endpoints: [{ ticket: utf8.encode(key), locations: [] }],
    totalRecords: table.numRows,
    totalBytes: -1,
  });
  const lookup = (key: string) => {
    const table = store.get(key);
    if (!table) throw FlightError.notFound(`no such key: ${key}`);
    return table;
  };
  return {
    async *listFlights(criteria) {
      const prefix = text.decode(criteria);
      for (const key of [...store.keys()].sort()) if (key.startsWith(prefix)) yield info(key, store.get(key)!);
    },
    getFlightInfo: (d) => info(descriptorKey(d), lookup(descriptorKey(d))),
    getSchema: (d) => lookup(descriptorKey(d)).schema,
    pollFlightInfo: (d) => ({ info: info(descriptorKey(d), lookup(descriptorKey(d))), progress: 1 }),
    doGet(ticket) {
      const key = text.decode(ticket);
      if (key === 'error-mid-stream') {
        const schema = new Schema(tableFromArrays({ n: Int32Array.from([1]) }).schema.fields);
        return {
          schema,
          async *[Symbol.asyncIterator]() {
            yield tableFromArrays({ n: Int32Array.from([1, 2]) }).batches[0]!;
            yield tableFromArrays({ n: Int32Array.from([3, 4]) }).batches[0]!;
            throw FlightError.internal('boom after 2 batches');
          },
        };
      }
      const table = lookup(key);
      return Object.assign(table.batches, { schema: table.schema });
    },
    async *doPut(reader) {
      const key = descriptorKey(reader.descriptor!);
      const batches: RecordBatch[] = [];
      let i = 0;
      for await (const chunk of reader.chunks()) {
        if (chunk.batch) batches.push(chunk.batch);
        yield chunk.appMetadata ?? utf8.encode(`batch ${i}`);
        i++;
      }
      const schema = await reader.schema();
      store.set(key, batches.length > 0 ? new Table(batches) : new Table(schema ?? new Schema([])));
    },
    doExchange(reader) {
      return {
        async *[Symbol.asyncIterator]() {
          const schema = await reader.schema();
          if (schema) yield schema;
          for await (const chunk of reader.chunks()) yield chunk;
        },
      };
    },
    async *doAction(action) {
      const body = text.decode(action.body);
      switch (action.type) {
        case 'echo':
          yield action.body;
          return;
        case 'list':
          for (const key of [...store.keys()].sort()) yield utf8.encode(key);
          return;
        case 'drop':
          lookup(body);
          store.delete(body);
          yield utf8.encode('dropped');
          return;
        case 'error':
          throw FlightError.invalidArgument(body);
        default:
          throw FlightError.invalidArgument(`unknown action ${JSON.stringify(action.type)}`);
      }
    },
    listActions: () => [
      { type: 'echo', description: 'returns the body' },
      { type: 'list', description: 'lists stored keys' },
      { type: 'drop', description: 'removes the key named by the body' },
      { type: 'error', description: 'fails with the body as message' },
    ],
  };
}

export async function startEchoServer(
  options: FlightServerOptions & { users?: Record<string, string> } = {},
): Promise<EchoServer> {
  const store = new Map<string, Table>();
  const { users, ...serverOptions } = options;
  const server = new FlightServer(echoHandlers(store), {
    ...serverOptions,
    ...(users ? { auth: { validate: staticUsers(new Map(Object.entries(users))) } } : {}),
  });
  const port = await server.listen('127.0.0.1', 0);
  return {
    server,
    port,
    location: `grpc${options.tls ? '+tls' : ''}://127.0.0.1:${port}`,
    store,
    close: () => server.close(1000),
  };
}
