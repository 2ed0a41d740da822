// DoExchange transforms, by name. Built-in ones are code in this file; the others are SQL over
// the incoming batches (`... FROM input`), registered on the server. No code a client sends is
// ever run: Mallard unpickles client-sent Python here, which is remote code execution.

import { Bool, Field, makeData, RecordBatch, Schema, Struct } from 'apache-arrow';
import { FlightError, type CallContext, type FlightDataReader, type FlightOutput, type FlightOutputItem } from '../flight/index.ts';
import type { ServiceContext } from './context.ts';

export interface Exchanger {
  name: string;
  description: string;
  kind: 'builtin' | 'sql';
  sql?: string | undefined;
  run(input: FlightDataReader, service: ServiceContext, context: CallContext): FlightOutput;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/** Adds a non-null boolean column, true on every row, to each batch (Mallard's exchanger). */
export function withProcessedColumn(batch: RecordBatch, schema: Schema): RecordBatch {
  const bits = new Uint8Array(((batch.numRows + 63) >> 6) << 3).fill(0xff);
  const processed = makeData({ type: new Bool(), length: batch.numRows, nullCount: 0, data: bits });
  const data = makeData({
    type: new Struct(schema.fields),
    length: batch.numRows,
    nullCount: 0,
    children: [...batch.data.children, processed],
  });
  return new RecordBatch(schema, data);
}

/** A transform applied batch by batch as input arrives; `outputSchema` is known from the input's. */
function perBatch(
  outputSchema: (input: Schema) => Schema,
  transform: (batch: RecordBatch, schema: Schema) => RecordBatch,
): Exchanger['run'] {
  return (input) => ({
    async *[Symbol.asyncIterator](): AsyncGenerator<FlightOutputItem> {
      const inputSchema = await input.schema();
      if (!inputSchema) return; // the client sent metadata only
      const schema = outputSchema(inputSchema);
      yield schema;
      for await (const chunk of input.chunks()) {
        yield { batch: chunk.batch ? transform(chunk.batch, schema) : undefined, appMetadata: chunk.appMetadata };
      }
    },
  });
}

const BUILT_IN: Exchanger[] = [
  {
    name: 'my_streaming_exchanger',
    description: "Mallard's exchanger: returns each batch with a boolean column `processed`, true on every row.",
    kind: 'builtin',
    run: perBatch((schema) => {
      if (schema.fields.some((f) => f.name === 'processed')) {
        throw FlightError.invalidArgument('my_streaming_exchanger: the input already has a column named "processed"');
      }
      return new Schema([...schema.fields, new Field('processed', new Bool(), false)], schema.metadata);
    }, withProcessedColumn),
  },
  {
    name: 'echo',
    description: 'Returns every batch and every app_metadata as it arrives, unchanged.',
    kind: 'builtin',
    run: perBatch(
      (schema) => schema,
      (batch) => batch,
    ),
  },
];

export class ExchangerRegistry {
  private readonly exchangers = new Map<string, Exchanger>();

  constructor(private readonly runSql: (sql: string) => Exchanger['run']) {
    for (const e of BUILT_IN) this.exchangers.set(e.name, e);
  }

  get(name: string): Exchanger {
    const exchanger = this.exchangers.get(name);
    if (!exchanger) {
      throw FlightError.notFound(`no exchanger named ${JSON.stringify(name)}; available: ${[...this.exchangers.keys()].join(', ')}`);
    }
    return exchanger;
  }

  list(): Exchanger[] {
    return [...this.exchangers.values()];
  }

  /** Registers (or replaces) a SQL transform: a query over the relation `input`. */
  registerSql(name: string, sql: string, description?: string): Exchanger {
    if (!NAME.test(name))
      throw FlightError.invalidArgument(`exchanger names are identifiers ([A-Za-z_][A-Za-z0-9_.-]*), got ${JSON.stringify(name)}`);
    const existing = this.exchangers.get(name);
    if (existing?.kind === 'builtin') throw FlightError.alreadyExists(`${name} is a built-in exchanger and cannot be replaced`);
    if (!/\binput\b/i.test(sql))
      throw FlightError.invalidArgument('a SQL exchanger reads the incoming batches as the relation `input`; the query never names it');
    const exchanger: Exchanger = { name, description: description ?? `SQL: ${sql}`, kind: 'sql', sql, run: this.runSql(sql) };
    this.exchangers.set(name, exchanger);
    return exchanger;
  }

  unregister(name: string): void {
    const existing = this.get(name);
    if (existing.kind === 'builtin') throw FlightError.invalidArgument(`${name} is a built-in exchanger and cannot be removed`);
    this.exchangers.delete(name);
  }
}
