// The "echo store" Flight server used by the tests and by the pyarrow interop client checks
// (test/peers/README.md describes the contract; test/peers/reference_server.py is pyarrow's).

import { RecordBatch, Schema, Table, makeVector, tableFromArrays } from 'apache-arrow';
import {
  FlightDescriptor,
  FlightError,
  FlightServer,
  staticUsers,
  type FlightChunk,
  type FlightHandlers,
  type FlightInfo,
  type FlightServerOptions,
} from '../../flight/index.ts';
import { firstDifference } from './compare.ts';

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** Rows of the `big` ticket: one int64 column, 12 MB in one batch (past gRPC's 4 MiB default). */
export const BIG_ROWS = 1_500_000;

export function descriptorKey(d: FlightDescriptor): string {
  return d.type === 'path' ? d.path.join('/') : text.decode(d.cmd);
}

export interface EchoStoreOptions {
  /** What the key `types` resolves to (DoGet, GetFlightInfo, GetSchema, compare). */
  types?: Table | undefined;
}

export interface EchoServer {
  server: FlightServer;
  port: number;
  location: string;
  store: Map<string, StoredFlight>;
  close(): Promise<void>;
}

export interface StoredFlight {
  table: Table;
  /** The descriptor the table was put under (ListFlights answers with it). */
  descriptor: FlightDescriptor;
}

export const ECHO_ACTIONS = [
  { type: 'echo', description: 'Returns one result whose body is the action body.' },
  { type: 'list', description: 'Returns one result per stored key (UTF-8), sorted.' },
  { type: 'drop', description: 'Removes the key named by the body; returns one result `dropped`.' },
  { type: 'error', description: 'Fails with INVALID_ARGUMENT carrying the body as the message.' },
  { type: 'compare', description: 'Body `keyA,keyB`: returns `equal` or fails with INVALID_ARGUMENT naming the first difference.' },
];

function bigBatch(): RecordBatch {
  const values = new BigInt64Array(BIG_ROWS);
  for (let i = 0; i < BIG_ROWS; i++) values[i] = BigInt(i);
  return new Table({ n: makeVector(values) }).batches[0]!;
}

export function echoHandlers(store: Map<string, StoredFlight>, options: EchoStoreOptions = {}): FlightHandlers {
  const info = (descriptor: FlightDescriptor, key: string, table: Table): FlightInfo => ({
    schema: table.schema,
    descriptor,
    endpoints: [{ ticket: utf8.encode(key), locations: [] }],
    totalRecords: table.numRows,
    totalBytes: -1,
  });
  const lookup = (key: string): Table => {
    if (key === 'types' && options.types) return options.types;
    const entry = store.get(key);
    if (!entry) throw FlightError.notFound(`no such key: ${key}`);
    return entry.table;
  };
  return {
    async *listFlights(criteria) {
      const prefix = text.decode(criteria);
      for (const key of [...store.keys()].sort()) {
        const entry = store.get(key)!;
        if (key.startsWith(prefix)) yield info(entry.descriptor, key, entry.table);
      }
    },
    getFlightInfo: (d) => info(d, descriptorKey(d), lookup(descriptorKey(d))),
    getSchema: (d) => lookup(descriptorKey(d)).schema,
    pollFlightInfo: (d) => ({ info: info(d, descriptorKey(d), lookup(descriptorKey(d))), progress: 1 }),
    doGet(ticket) {
      const key = text.decode(ticket);
      if (key === 'error-mid-stream') {
        const batch = (from: number) => tableFromArrays({ n: BigInt64Array.from([BigInt(from), BigInt(from + 1)]) }).batches[0]!;
        return {
          schema: batch(0).schema,
          async *[Symbol.asyncIterator]() {
            yield batch(0);
            yield batch(2);
            throw FlightError.internal('boom after 2 batches');
          },
        };
      }
      if (key === 'big') return [bigBatch()];
      const table = lookup(key);
      return Object.assign(table.batches, { schema: table.schema });
    },
    async *doPut(reader) {
      const descriptor = reader.descriptor!;
      const batches: RecordBatch[] = [];
      let i = 0;
      for await (const chunk of reader.chunks()) {
        if (chunk.batch) batches.push(chunk.batch);
        yield chunk.appMetadata ?? utf8.encode(`batch ${i}`);
        i++;
      }
      const schema = await reader.schema();
      const table = batches.length > 0 ? new Table(batches) : new Table(schema ?? new Schema([]));
      store.set(descriptorKey(descriptor), { table, descriptor });
    },
    doExchange(reader) {
      // Each chunk goes back as it arrives; the schema rides with the first batch, or comes
      // at the end when the client sent a schema and no batch.
      return {
        async *[Symbol.asyncIterator](): AsyncGenerator<FlightChunk | Schema> {
          let sentSchema = false;
          for await (const chunk of reader.chunks()) {
            if (chunk.batch) sentSchema = true;
            yield chunk;
          }
          const schema = reader.decoder.schema;
          if (!sentSchema && schema) yield schema;
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
        case 'compare': {
          const parts = body.split(',');
          if (parts.length !== 2) throw FlightError.invalidArgument(`compare wants \`keyA,keyB\`, got ${JSON.stringify(body)}`);
          const [a, b] = parts.map((p) => p.trim()) as [string, string];
          // As the reference server: metadata and dictionary ids do not count.
          const difference = firstDifference(lookup(a), lookup(b), { metadata: false, dictionaryIds: false });
          if (difference !== null) throw FlightError.invalidArgument(`${a} != ${b}: ${difference}`);
          yield utf8.encode('equal');
          return;
        }
        default:
          throw FlightError.unimplemented(`unknown action: ${action.type}`);
      }
    },
    listActions: () => ECHO_ACTIONS,
  };
}

export async function startEchoServer(
  options: FlightServerOptions & EchoStoreOptions & { users?: Record<string, string> } = {},
): Promise<EchoServer> {
  const store = new Map<string, StoredFlight>();
  const { users, types, ...serverOptions } = options;
  const server = new FlightServer(echoHandlers(store, { types }), {
    ...serverOptions,
    ...(users ? { auth: { ...serverOptions.auth, validate: staticUsers(new Map(Object.entries(users))) } } : {}),
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
