// DoPut: Arrow batches into a DuckDB table, created from the Arrow schema when missing and
// appended to when present, all or nothing per stream.

import { FlightError, type CallContext, type FlightDataReader, type FlightDescriptor } from '../flight/index.ts';
import { appendBatches } from './bridge/index.ts';
import type { ServiceContext } from './context.ts';
import { fromDuckDBError } from './errors.ts';
import { decodeSql } from './query.ts';
import { PUT_MODE_HEADER } from './settings.ts';

const utf8 = new TextEncoder();

/**
 * The target table of an upload: path [table] (Duck Takes Flight) or command = the table name
 * (Mallard). Names are identifiers, always quoted by the bridge, never spliced into SQL.
 */
export function uploadTarget(descriptor: FlightDescriptor): string {
  if (descriptor.type === 'path') {
    if (descriptor.path.length !== 1 || descriptor.path[0]!.length === 0) {
      throw FlightError.invalidArgument(`DoPut: the descriptor path must be [table]; got ${descriptor.path.length} segment(s)`);
    }
    return descriptor.path[0]!;
  }
  const name = decodeSql(descriptor.cmd, 'the DoPut command (a table name)').trim();
  if (name.length === 0) throw FlightError.invalidArgument('DoPut: the command names no table');
  return name;
}

export async function* upload(service: ServiceContext, reader: FlightDataReader, context: CallContext): AsyncGenerator<Uint8Array> {
  if (service.settings.readOnly) throw FlightError.permissionDenied('the server is read-only: DoPut is refused (--read-only)');
  const table = uploadTarget(reader.descriptor!);
  const schema = await reader.schema();
  if (!schema) throw FlightError.invalidArgument(`DoPut into ${JSON.stringify(table)}: the stream carried no schema`);
  const mode = uploadMode(context);
  const started = performance.now();
  const result = await service.engine
    .withConnection((connection) =>
      appendBatches(connection, table, schema, reader, { create: mode, signal: context.signal, bridge: service.settings.bridge }),
    )
    .catch((error: unknown) => {
      if (context.signal.aborted) throw FlightError.cancelled(`DoPut into ${JSON.stringify(table)} was cancelled; nothing was written`);
      throw fromDuckDBError(error, `DoPut into ${JSON.stringify(table)} failed and wrote nothing`);
    });
  const seconds = (performance.now() - started) / 1000;
  service.logger.info('upload', { table, rows: result.rows, created: result.created, seconds: round(seconds) });
  yield utf8.encode(JSON.stringify({ table, rows: result.rows, created: result.created }));
}

export { PUT_MODE_HEADER };

function uploadMode(context: CallContext): 'if-missing' | 'replace' | 'never' {
  const value = context.headers.get(PUT_MODE_HEADER)[0];
  if (value === undefined || value === 'append') return 'if-missing';
  if (value === 'replace') return 'replace';
  if (value === 'append-existing') return 'never';
  throw FlightError.invalidArgument(
    `${PUT_MODE_HEADER} is append (default), replace or append-existing; got ${JSON.stringify(String(value))}`,
  );
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
