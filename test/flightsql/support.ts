// Speaking Flight SQL with the project's own FlightClient, for the protocol tests: commands
// packed in Any, one-endpoint FlightInfos redeemed, actions with Any bodies and results.

import assert from 'node:assert/strict';
import { Schema, Table, type RecordBatch } from 'apache-arrow';
import { FlightClient, FlightDescriptor, type CallOptions, type FlightInfo } from '../../flight/index.ts';
import { decodeAs, packAny, unpackFlightSql } from '../../servers/flightsql/messages.ts';
import type { MessageCodec } from '../../servers/flightsql/messages.ts';

export function command<T extends object>(codec: MessageCodec<T>, value: Partial<T>): FlightDescriptor {
  return FlightDescriptor.command(packAny(codec, value));
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export class SqlClient {
  constructor(readonly flight: FlightClient) {}

  info<T extends object>(codec: MessageCodec<T>, value: Partial<T>, options?: CallOptions): Promise<FlightInfo> {
    return this.flight.getFlightInfo(command(codec, value), options);
  }

  /** Redeems the one endpoint of `info`; the stream's schema must be the one `info` announced. */
  async read(info: FlightInfo, options?: CallOptions): Promise<Table> {
    assert.equal(info.endpoints.length, 1, 'one endpoint');
    const reader = this.flight.doGet(info.endpoints[0]!.ticket, options);
    const table = await reader.readAll();
    if (info.schema) assert.equal(String(table.schema), String(info.schema), 'the DoGet schema is the FlightInfo schema');
    return table;
  }

  async fetch<T extends object>(codec: MessageCodec<T>, value: Partial<T>, options?: CallOptions): Promise<Table> {
    return this.read(await this.info(codec, value, options), options);
  }

  /** Runs an action whose body is Any(codec); returns each result's Any payload decoded as `result`. */
  async action<T extends object, R extends object>(
    type: string,
    codec: MessageCodec<T>,
    value: Partial<T>,
    result?: MessageCodec<R>,
    options?: CallOptions,
  ): Promise<R[]> {
    const bodies = await collect(this.flight.doAction(type, packAny(codec, value), options));
    if (!result) {
      assert.equal(bodies.length, 0, `${type} answers no results`);
      return [];
    }
    return bodies.map((body) => {
      const any = unpackFlightSql(body);
      assert.ok(any, `${type}: the result is an Any with a Flight SQL type URL`);
      return decodeAs(any, result);
    });
  }

  /** DoPut of a Flight SQL command; answers the PutResult app_metadata. */
  async put<T extends object>(
    codec: MessageCodec<T>,
    value: Partial<T>,
    data: Table | RecordBatch[] = new Table(new Schema([])),
    options?: CallOptions,
  ): Promise<Uint8Array[]> {
    return this.flight.doPut(command(codec, value), data, options);
  }
}
