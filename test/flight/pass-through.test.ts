// FlightDataReader.encoded(): a DoGet's batches passed on into a DoPut as they came, not decoded
// and encoded again (what DuckDBFlightClient.transfer does through the client). The target
// decodes them as it would any upload: same values, dictionaries included; a source that fails
// mid-stream fails the upload.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Dictionary, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { EncodedBatch, FlightClient, FlightDescriptor, FlightError, type FlightOutputItem } from '../../flight/index.ts';
import { startEchoServer, type EchoServer } from '../support/echo-server.ts';

describe('passing a DoGet on into a DoPut without decoding it', () => {
  let echo: EchoServer;
  let client: FlightClient;
  const parts = [0, 1, 2].map(
    (k) =>
      new Table({
        id: vectorFromArray([3 * k, 3 * k + 1, 3 * k + 2], new Int32()),
        name: vectorFromArray([`n${k}`, null, 'a name longer than twelve bytes'], new Utf8()),
      }),
  );
  const mood = vectorFromArray(['ok', 'sad', 'ok', null], new Dictionary(new Utf8(), new Int32()));
  const table = new Table(
    parts[0]!.schema,
    parts.flatMap((t) => t.batches),
  );
  const moods = new Table({ mood, n: vectorFromArray([1, 2, 3, 4], new Int32()) });

  before(async () => {
    echo = await startEchoServer();
    client = new FlightClient(echo.location);
    await client.doPut(FlightDescriptor.path('source'), table);
    await client.doPut(FlightDescriptor.path('moods'), moods);
  });
  after(async () => {
    client.close();
    await echo.close();
  });

  async function passOn(ticket: string, target: string) {
    const reader = client.doGet(ticket);
    const seen: FlightOutputItem[] = [];
    async function* items(): AsyncGenerator<FlightOutputItem> {
      const schema = await reader.schema();
      if (schema) yield schema;
      for await (const item of reader.encoded()) {
        seen.push(item);
        yield item;
      }
    }
    await client.doPut(FlightDescriptor.path(target), items());
    return { seen, stored: echo.store.get(target)!.table, rows: reader.rows };
  }

  const values = (t: Table) => t.toArray().map((row) => JSON.stringify(row));

  test('record batches arrive as EncodedBatch and land with the same values', async () => {
    const { seen, stored, rows } = await passOn('source', 'copy');
    assert.equal(seen.length, 3);
    assert.ok(seen.every((item) => item instanceof EncodedBatch));
    assert.deepEqual(
      seen.map((item) => (item as EncodedBatch).numRows),
      [3, 3, 3],
    );
    assert.equal(rows, 9);
    assert.deepEqual(values(stored), values(table));
    assert.equal(stored.schema.toString(), table.schema.toString());
  });

  test('a dictionary batch is passed on before the record batch that uses it', async () => {
    const { seen, stored } = await passOn('moods', 'moods-copy');
    assert.deepEqual(
      seen.map((item) => (item as EncodedBatch).numRows),
      [0, 4],
    );
    assert.deepEqual(values(stored), values(moods));
  });

  test('a source failing mid-stream fails the upload with its error', async () => {
    await assert.rejects(passOn('error-mid-stream', 'half'), (error: unknown) => {
      assert.ok(error instanceof FlightError, String(error));
      assert.match(error.message, /boom after 2 batches/);
      return true;
    });
  });
});
