// The arrow-js type matrix (test/support/arrow-matrix.ts: every type arrow-js writes, a NULL in
// every nullable column, schema and field metadata) through every path FlightData takes: our
// encoder into our decoder, our encoder into arrow-js's IPC reader, arrow-js's IPC writer into our
// decoder, and DoPut / DoGet / DoExchange / GetSchema / GetFlightInfo on the echo server. Each
// column is its own test, so a failure names the type.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Field,
  Int32,
  MessageHeader,
  RecordBatch,
  Schema,
  Struct,
  Table,
  Utf8,
  makeData,
  tableFromIPC,
  vectorFromArray,
  Dictionary,
} from 'apache-arrow';
import { Message, DictionaryBatch, RecordBatchHeader, VectorAssembler } from '../../flight/arrow-internals.ts';
import { FlightClient, FlightDescriptor, decodeFlightData, encodeFlightData } from '../../flight/index.ts';
import {
  NULL_ROW,
  ROWS,
  arrowMatrix,
  cell,
  dictionaryColumn,
  fieldSignature,
  matrixColumnNames,
  schemaSignature,
} from '../support/arrow-matrix.ts';
import { firstDifference } from '../support/compare.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';
import { arrowJsFlightData, decodeMessages, encodeTable, flightDataToIpcStream } from '../support/frames.ts';

const matrix = arrowMatrix();
const names = matrixColumnNames();

/** One test per column of `want` (plus the schema), run against the table `obtain` produces. */
function matrixTests(label: string, obtain: () => Promise<Table> | Table, want: Table = matrix): void {
  describe(label, () => {
    let got: Table;
    before(async () => {
      got = await obtain();
    });

    test('schema: names, types, nullability, field and schema metadata', () => {
      assert.deepEqual(schemaSignature(got.schema), schemaSignature(want.schema));
      assert.equal(got.numRows, want.numRows);
    });

    names.forEach((name, c) => {
      test(name, () => {
        assert.deepEqual(fieldSignature(got.schema.fields[c]!), fieldSignature(want.schema.fields[c]!));
        const have = got.getChildAt(c)!;
        const expected = want.getChildAt(c)!;
        assert.equal(have.length, expected.length);
        for (let row = 0; row < expected.length; row++) {
          assert.deepEqual(cell(have, row), cell(expected, row), `${name} row ${row}`);
        }
        const nullAt = NULL_ROW - (ROWS - want.numRows); // where the NULL row landed in a slice
        if (name !== 'not_null_int32' && nullAt >= 0) assert.equal(have.get(nullAt), null, `${name}: row ${nullAt} must be NULL`);
      });
    });
  });
}

describe('the matrix itself', () => {
  test('has a NULL in every nullable column and none in not_null_int32', () => {
    for (const [c, name] of names.entries()) {
      const column = matrix.getChildAt(c)!;
      assert.equal(column.length, ROWS, name);
      if (name === 'not_null_int32') assert.equal(column.nullCount, 0);
      else assert.equal(column.get(NULL_ROW), null, name);
    }
    assert.ok(names.length >= 50, `${names.length} columns`);
  });
});

matrixTests('encoder -> decoder, one message per batch', () => {
  const messages = encodeTable(matrix);
  assert.equal(messages.length, 3, 'schema, the dictionary, the batch');
  return decodeMessages(messages).table;
});

matrixTests('encoder -> decoder, sliced one row per message', () => {
  const messages = encodeTable(matrix, { maxMessageBytes: 1 });
  const { table } = decodeMessages(messages);
  assert.equal(table.batches.length, ROWS);
  return table;
});

matrixTests(
  'encoder -> decoder of a sliced table (columns with offsets)',
  () => decodeMessages(encodeTable(matrix.slice(1))).table,
  matrix.slice(1),
);

matrixTests('encoder -> arrow-js IPC reader', () => tableFromIPC(flightDataToIpcStream(encodeTable(matrix, { maxMessageBytes: 1 }))));

matrixTests('arrow-js IPC writer -> decoder', () => decodeMessages(arrowJsFlightData(matrix)).table);

function messageKinds(messages: Buffer[]): string[] {
  return messages.map((m) => MessageHeader[Message.decode(new Uint8Array(decodeFlightData(m).dataHeader)).headerType]!);
}

describe('dictionaries across batches', () => {
  const field = new Field('color', new Dictionary(new Utf8(), new Int32(), 0, false), true);
  const schema = new Schema([field]);
  const batchOf = (words: string[], indices: number[]) =>
    new RecordBatch(
      schema,
      makeData({ type: new Struct([field]), length: indices.length, nullCount: 0, children: [dictionaryColumn(words, indices, 0)] }),
    );

  test('a batch with a new dictionary sends a replacement; a batch with the same one does not', () => {
    const first = batchOf(['red', 'green'], [0, 1, 1]);
    const second = new RecordBatch(schema, first.data); // the same dictionary again
    const third = batchOf(['cyan', 'magenta', 'yellow'], [2, 0, 1]);
    const table = new Table([first, second, third]);
    const messages = encodeTable(table);
    assert.deepEqual(messageKinds(messages), ['Schema', 'DictionaryBatch', 'RecordBatch', 'RecordBatch', 'DictionaryBatch', 'RecordBatch']);
    const { table: back } = decodeMessages(messages);
    assert.deepEqual(back.getChild('color')!.toArray(), ['red', 'green', 'green', 'red', 'green', 'green', 'yellow', 'cyan', 'magenta']);
    assert.equal(firstDifference(back, table), null);
  });

  test('a delta dictionary batch extends the dictionary', () => {
    const schemaMessage = encodeTable(new Table(schema))[0]!;
    const dictionaryMessage = (words: string[], isDelta: boolean) => {
      const vector = vectorFromArray(words, new Utf8());
      const assembled = VectorAssembler.assemble(vector);
      const data = new RecordBatchHeader(vector.length, assembled.nodes, assembled.bufferRegions, null);
      const header = Message.encode(Message.from(new DictionaryBatch(data, 0, isDelta), assembled.byteLength));
      return encodeFlightData(header, {
        length: assembled.byteLength,
        buffers: assembled.buffers,
        offsets: assembled.bufferRegions.map((r) => r.offset),
      });
    };
    const batchMessage = (indices: number[]) => {
      const batch = batchOf(['unused'], indices);
      const assembled = VectorAssembler.assemble(batch);
      const header = Message.encode(
        Message.from(new RecordBatchHeader(batch.numRows, assembled.nodes, assembled.bufferRegions, null), assembled.byteLength),
      );
      return encodeFlightData(header, {
        length: assembled.byteLength,
        buffers: assembled.buffers,
        offsets: assembled.bufferRegions.map((r) => r.offset),
      });
    };
    const { table } = decodeMessages([
      schemaMessage,
      dictionaryMessage(['a', 'b'], false),
      batchMessage([1, 0]),
      dictionaryMessage(['c'], true),
      batchMessage([2, 1, 0]),
    ]);
    assert.deepEqual(table.getChild('color')!.toArray(), ['b', 'a', 'c', 'b', 'a']);
  });
});

describe('an empty table keeps its schema', () => {
  test('encoder -> decoder with no batches', () => {
    const empty = new Table(matrix.schema);
    const { table } = decodeMessages(encodeTable(empty));
    assert.equal(table.numRows, 0);
    assert.deepEqual(schemaSignature(table.schema), schemaSignature(matrix.schema));
  });
});

describe('through the echo server', () => {
  let echo: EchoServer;
  let client: FlightClient;
  let slicing: FlightClient;

  before(async () => {
    // Replies are sliced one row per message too, so every column crosses gRPC in pieces.
    echo = await startEchoServer({ maxMessageBytes: 256 });
    client = new FlightClient(echo.location);
    slicing = new FlightClient(echo.location, { maxMessageBytes: 1 });
  });
  after(async () => {
    client.close();
    slicing.close();
    await echo.close();
  });

  matrixTests('DoPut, then DoGet', async () => {
    const results = await client.doPut(FlightDescriptor.path('matrix'), matrix);
    assert.deepEqual(
      results.map((r) => Buffer.from(r).toString()),
      ['batch 0'],
    );
    const stored = echo.store.get('matrix')!.table;
    assert.equal(firstDifference(stored, matrix), null, 'the server stored what was sent');
    return client.doGet('matrix').readAll();
  });

  matrixTests('DoPut sliced one row per message, then DoGet', async () => {
    const results = await slicing.doPut(FlightDescriptor.path('matrix-sliced'), matrix);
    assert.equal(results.length, ROWS, 'one PutResult per received batch');
    const reader = client.doGet('matrix-sliced');
    const table = await reader.readAll();
    assert.ok(table.batches.length >= ROWS, `${table.batches.length} batches came back`);
    return table;
  });

  matrixTests('DoExchange echo', () => client.exchange(FlightDescriptor.command('echo'), matrix).readAll());

  matrixTests('DoExchange echo, sliced one row per message', () => slicing.exchange(FlightDescriptor.command('echo'), matrix).readAll());

  test('GetSchema and GetFlightInfo carry the full schema', async () => {
    await client.doPut(FlightDescriptor.path('matrix-info'), matrix);
    const schema = await client.getSchema(FlightDescriptor.path('matrix-info'));
    assert.deepEqual(schemaSignature(schema), schemaSignature(matrix.schema));
    const info = await client.getFlightInfo(FlightDescriptor.path('matrix-info'));
    assert.deepEqual(schemaSignature(info.schema!), schemaSignature(matrix.schema));
    assert.equal(info.totalRecords, ROWS);
  });

  test('an empty table crosses DoPut and DoGet with its schema', async () => {
    await client.doPut(FlightDescriptor.path('matrix-empty'), new Table(matrix.schema));
    const table = await client.doGet('matrix-empty').readAll();
    assert.equal(table.numRows, 0);
    assert.deepEqual(schemaSignature(table.schema), schemaSignature(matrix.schema));
  });
});
