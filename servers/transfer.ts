// Direct transfer: this server pulls a query's result from another Flight server (given its
// location) into one of its tables, batch by batch, with no client in the data path.

import { FlightClient, FlightError, type CallContext } from '../flight/index.ts';
import { appendBatches } from './bridge/index.ts';
import type { ServiceContext } from './context.ts';
import { fromDuckDBError } from './errors.ts';

export interface TransferRequest {
  /** The source server, e.g. grpc://localhost:8815. */
  source: string;
  /** The SQL to run there. */
  query: string;
  /** The table to fill here. */
  table: string;
  /** replace (default): drop and recreate; append: the table must exist; create: create if missing, else append. */
  mode?: 'replace' | 'append' | 'create';
  /** Credentials for the source, when it requires auth. */
  token?: string;
  username?: string;
  password?: string;
}

export interface TransferResult {
  table: string;
  rows: number;
  seconds: number;
}

const MODES = { replace: 'replace', append: 'never', create: 'if-missing' } as const;

export function parseTransferRequest(body: unknown): TransferRequest {
  const r = body as Partial<TransferRequest> | null;
  if (!r || typeof r !== 'object') throw FlightError.invalidArgument('transfer: the body must be a JSON object');
  for (const key of ['source', 'query', 'table'] as const) {
    if (typeof r[key] !== 'string' || r[key]!.length === 0)
      throw FlightError.invalidArgument(`transfer: "${key}" must be a non-empty string`);
  }
  if (r.mode !== undefined && !(r.mode in MODES)) throw FlightError.invalidArgument('transfer: "mode" is replace, append or create');
  return r as TransferRequest;
}

export async function pull(service: ServiceContext, request: TransferRequest, context: CallContext): Promise<TransferResult> {
  if (service.settings.readOnly) throw FlightError.permissionDenied('the server is read-only: transfer into it is refused');
  const started = performance.now();
  const client = new FlightClient(request.source, { token: request.token });
  try {
    if (request.username !== undefined)
      await client.authenticateBasicToken(request.username, request.password ?? '', { signal: context.signal });
    const reader = client.doGet(request.query, { signal: context.signal });
    const schema = await reader.schema().catch((error: unknown) => {
      throw sourceError(error, request.source);
    });
    if (!schema) throw FlightError.invalidArgument(`transfer: ${request.source} sent no schema`);
    const { rows } = await service.engine
      .withConnection((c) =>
        appendBatches(c, request.table, schema, reader, { create: MODES[request.mode ?? 'replace'], signal: context.signal }),
      )
      .catch((error: unknown) => {
        if (error instanceof FlightError) throw sourceError(error, request.source);
        throw fromDuckDBError(error, `transfer into ${JSON.stringify(request.table)} failed and wrote nothing`);
      });
    const seconds = (performance.now() - started) / 1000;
    service.logger.info('transfer', { source: request.source, table: request.table, rows, seconds });
    return { table: request.table, rows, seconds };
  } finally {
    client.close();
  }
}

function sourceError(error: unknown, source: string): FlightError {
  if (error instanceof FlightError) return new FlightError(error.kind, `transfer from ${source}: ${error.message}`, { cause: error });
  return FlightError.unavailable(`transfer from ${source}: ${String(error)}`, error);
}
