// DoExchange: the descriptor's command (or a one-segment path) names a transform; batches
// stream through it and back while input is still arriving.

import type { DuckDBConnection } from '@duckdb/node-api';
import type { RecordBatch } from 'apache-arrow';
import {
  EncodedBatch,
  FlightError,
  type CallContext,
  type FlightDataReader,
  type FlightOutput,
  type FlightOutputItem,
} from '../flight/index.ts';
import { appendBatches, streamQuery } from './bridge/index.ts';
import { nativeExportAvailable, streamQueryNative, writerStreamOptions } from './bridge/native-export.ts';
import { quoteIdentifier } from './bridge/sql.ts';
import type { ServiceContext } from './context.ts';
import { fromDuckDBError } from './errors.ts';
import type { Exchanger } from './exchangers.ts';
import { decodeSql } from './query.ts';

let stagingCounter = 0;

export function exchangerName(reader: FlightDataReader): string {
  const d = reader.descriptor;
  if (!d) throw FlightError.invalidArgument('DoExchange: the first message must carry a descriptor naming the exchanger');
  if (d.type === 'path') {
    if (d.path.length !== 1) throw FlightError.invalidArgument('DoExchange: a descriptor path must be [exchanger name]');
    return d.path[0]!;
  }
  return decodeSql(d.cmd, 'the DoExchange command (an exchanger name)').trim();
}

export function exchange(service: ServiceContext, reader: FlightDataReader, context: CallContext): FlightOutput {
  const exchanger = service.exchangers.get(exchangerName(reader));
  service.logger.debug('exchange', { exchanger: exchanger.name, identity: context.identity });
  return exchanger.run(reader, service, context);
}

/**
 * A SQL transform: each incoming batch is staged as the table `input` in a private in-memory
 * database attached for this call, the query runs over it, and its result streams back before
 * the next batch is read. The main database stays on the search path for joins.
 */
export function sqlExchanger(sql: string): Exchanger['run'] {
  return (input, service, context) => ({
    async *[Symbol.asyncIterator](): AsyncGenerator<FlightOutputItem> {
      const schema = await input.schema();
      if (!schema) return;
      const connection = await service.engine.acquire();
      const staging = `flight_exchange_${process.pid}_${++stagingCounter}`;
      let attached = false;
      let home = 'memory';
      try {
        home = String((await connection.runAndReadAll('SELECT current_database()')).getRows()[0]![0]);
        // READ_WRITE: on a --read-only server an attached database would otherwise be read-only
        // too, and DuckDB refuses to launch an in-memory one that way.
        await connection.run(`ATTACH ':memory:' AS ${quoteIdentifier(staging)} (READ_WRITE)`);
        attached = true;
        await connection.run(`USE ${quoteIdentifier(staging)}`);
        await connection.run(`SET search_path = '${staging}.main,${home.replaceAll("'", "''")}.main'`);
        let schemaSent = false;
        for await (const chunk of input.chunks()) {
          if (!chunk.batch) {
            if (chunk.appMetadata) yield { appMetadata: chunk.appMetadata };
            continue;
          }
          await appendBatches(connection, 'input', schema, one(chunk.batch), {
            create: 'replace',
            signal: context.signal,
            bridge: service.settings.bridge,
          });
          const options = { batchRows: service.settings.batchRows, signal: context.signal };
          const native = service.settings.bridge === 'native' && nativeExportAvailable(connection);
          const result = native
            ? await streamQueryNative(connection, sql, {
                ...options,
                runEarlier: true,
                ...writerStreamOptions(service.settings.maxMessageBytes),
              })
            : await streamQuery(connection, sql, options);
          try {
            if (!schemaSent) {
              yield result.schema;
              schemaSent = true;
            }
            let first = true;
            for await (const batch of result) {
              if (batch instanceof EncodedBatch) {
                // app_metadata rides on the first record batch, not on a dictionary batch before it.
                const isDictionary = batch.numRows === 0;
                yield first && !isDictionary ? batch.withMetadata(chunk.appMetadata) : batch;
                if (!isDictionary) first = false;
                continue;
              }
              yield { batch, appMetadata: first ? chunk.appMetadata : undefined };
              first = false;
            }
            if (first && chunk.appMetadata) yield { appMetadata: chunk.appMetadata };
          } finally {
            await result.close();
          }
        }
      } catch (error) {
        throw fromDuckDBError(error, 'SQL exchanger');
      } finally {
        await cleanup(connection, home, attached ? staging : null).catch((error: unknown) =>
          service.logger.warn('could not detach an exchange staging database', { staging, error: String(error) }),
        );
        service.engine.release(connection, false);
      }
    },
  });
}

async function cleanup(connection: DuckDBConnection, home: string, staging: string | null): Promise<void> {
  if (!staging) return;
  await connection.run(`USE ${quoteIdentifier(home)}`);
  await connection.run(`DETACH ${quoteIdentifier(staging)}`);
}

async function* one(batch: RecordBatch): AsyncGenerator<RecordBatch> {
  yield batch;
}
