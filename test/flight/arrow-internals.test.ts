// What the encoder and decoder rely on in each of apache-arrow's internal modules
// (flight/arrow-internals.ts), checked against arrow-js's public IPC reader and writer: if an
// upgrade of the pinned apache-arrow changes one of them, the failure names it here.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  Dictionary,
  Field,
  Int32,
  MessageHeader,
  MetadataVersion,
  Schema,
  Table,
  Utf8,
  makeVector,
  tableFromArrays,
  tableFromIPC,
  tableToIPC,
  vectorFromArray,
  type Data,
} from 'apache-arrow';
import {
  BodyCompression,
  BufferRegion,
  CompressionType,
  DictionaryBatch,
  FieldNode,
  Message,
  RecordBatchHeader,
  VectorAssembler,
  VectorLoader,
  compareSchemas,
  truncateBitmap,
} from '../../flight/arrow-internals.ts';

/** An IPC stream: each message as its encapsulated form (continuation, length, flatbuffer, padding), then its body. */
function ipcStream(messages: { flatbuffer: Uint8Array; body?: Uint8Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { flatbuffer, body } of messages) {
    const padded = Math.ceil(flatbuffer.byteLength / 8) * 8;
    const prefix = new DataView(new ArrayBuffer(8));
    prefix.setInt32(0, -1, true);
    prefix.setInt32(4, padded, true);
    parts.push(new Uint8Array(prefix.buffer), flatbuffer, new Uint8Array(padded - flatbuffer.byteLength));
    if (body) parts.push(body);
  }
  parts.push(new Uint8Array(8).fill(0xff, 0, 4));
  return Buffer.concat(parts);
}

function assembledBody(buffers: ArrayBufferView[], regions: BufferRegion[], byteLength: number): Uint8Array {
  const body = new Uint8Array(byteLength);
  buffers.forEach((buffer, i) => body.set(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), regions[i]!.offset));
  return body;
}

const table: Table = new Table({ id: vectorFromArray(Int32Array.of(1, 2, 3)), name: vectorFromArray(['a', null, 'ccc'], new Utf8()) });

describe('apache-arrow internals (flight/arrow-internals.ts)', () => {
  it('the pinned version is the installed one', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const installed = JSON.parse(readFileSync(new URL('../../node_modules/apache-arrow/package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.match(
      pkg.dependencies['apache-arrow']!,
      /^\d+\.\d+\.\d+$/,
      'apache-arrow must be pinned exactly while its internals are imported',
    );
    assert.equal(installed.version, pkg.dependencies['apache-arrow']);
  });

  it('Message.from/encode a schema, and Message.decode reads it back', () => {
    const flatbuffer = Message.encode(Message.from(table.schema));
    const message = Message.decode(flatbuffer);
    assert.equal(message.headerType, MessageHeader.Schema);
    assert.deepEqual(
      (message.header() as Schema).fields.map((f) => f.name),
      ['id', 'name'],
    );
  });

  it('VectorAssembler, RecordBatchHeader and Message make a stream the public reader reads', () => {
    const batch = table.batches[0]!;
    const assembled = VectorAssembler.assemble(batch);
    assert.ok(assembled.nodes.every((n) => n instanceof FieldNode));
    assert.ok(assembled.bufferRegions.every((r) => r instanceof BufferRegion));
    const header = new RecordBatchHeader(batch.numRows, assembled.nodes, assembled.bufferRegions, null);
    const body = assembledBody(assembled.buffers, assembled.bufferRegions, assembled.byteLength);
    const stream = ipcStream([
      { flatbuffer: Message.encode(Message.from(table.schema)) },
      { flatbuffer: Message.encode(Message.from(header, body.byteLength)), body },
    ]);
    assert.deepEqual(
      tableFromIPC(stream)
        .toArray()
        .map((r) => r.toJSON()),
      table.toArray().map((r) => r.toJSON()),
    );
  });

  it('DictionaryBatch carries a dictionary the public reader resolves', () => {
    const dictionaryType = new Dictionary(new Utf8(), new Int32(), 0);
    const schema = new Schema([new Field('d', dictionaryType, true)]);
    const column = vectorFromArray(['x', 'y', 'x'], dictionaryType);
    const dictionary = VectorAssembler.assemble(column.data[0]!.dictionary!);
    const dictionaryHeader = new RecordBatchHeader(2, dictionary.nodes, dictionary.bufferRegions, null);
    const dictionaryBody = assembledBody(dictionary.buffers, dictionary.bufferRegions, dictionary.byteLength);
    const indices = VectorAssembler.assemble(column);
    const batchHeader = new RecordBatchHeader(3, indices.nodes, indices.bufferRegions, null);
    const batchBody = assembledBody(indices.buffers, indices.bufferRegions, indices.byteLength);
    const stream = ipcStream([
      { flatbuffer: Message.encode(Message.from(schema)) },
      {
        flatbuffer: Message.encode(Message.from(new DictionaryBatch(dictionaryHeader, 0, false), dictionaryBody.byteLength)),
        body: dictionaryBody,
      },
      { flatbuffer: Message.encode(Message.from(batchHeader, batchBody.byteLength)), body: batchBody },
    ]);
    assert.deepEqual([...tableFromIPC(stream).getChild('d')!], ['x', 'y', 'x']);
  });

  it('VectorLoader loads a body by its header, and asks for field nodes and buffers one at a time', () => {
    const bytes = tableToIPC(table, 'stream');
    const messages: Message[] = [];
    const bodies: Uint8Array[] = [];
    for (let at = 0; ;) {
      const length = new DataView(bytes.buffer, bytes.byteOffset + at + 4, 4).getInt32(0, true);
      if (length === 0) break;
      const message = Message.decode(bytes.subarray(at + 8, at + 8 + length));
      messages.push(message);
      bodies.push(bytes.subarray(at + 8 + length, at + 8 + length + Number(message.bodyLength)));
      at += 8 + length + Number(message.bodyLength);
    }
    const header = messages[1]!.header() as RecordBatchHeader;
    let nodes = 0;
    let buffers = 0;
    class Counting extends VectorLoader {
      protected override nextFieldNode(): FieldNode {
        nodes++;
        return super.nextFieldNode();
      }
      protected override nextBufferRange(): BufferRegion {
        buffers++;
        return super.nextBufferRange();
      }
    }
    const loader = new Counting(bodies[1]!, header.nodes, header.buffers, new Map(), MetadataVersion.V5, header.variadicBufferCounts);
    const data = loader.visitMany(table.schema.fields.map((f) => f.type)) as Data[];
    assert.deepEqual([...makeVector(data[1]!)], ['a', null, 'ccc']);
    assert.equal(nodes, header.nodes.length);
    assert.equal(buffers, header.buffers.length);
  });

  it('compareSchemas: equal by value, not by identity', () => {
    const copy = new Table({ id: vectorFromArray(Int32Array.of(9)), name: vectorFromArray([null], new Utf8()) }).schema;
    assert.notEqual(copy, table.schema);
    assert.equal(compareSchemas(table.schema, copy), true);
    assert.equal(compareSchemas(table.schema, tableFromArrays({ id: Int32Array.of(9) }).schema), false);
  });

  it('truncateBitmap shifts a bitmap to start at an offset', () => {
    const bitmap = Uint8Array.of(0b1010_1100, 0b0000_0011);
    const shifted = truncateBitmap(2, 8, bitmap);
    assert.equal(shifted[0], 0b1110_1011);
  });

  it('BodyCompression and CompressionType mark a header compressed', () => {
    const header = new RecordBatchHeader(0, [], [], new BodyCompression(CompressionType.LZ4_FRAME));
    const decoded = Message.decode(Message.encode(Message.from(header, 0))).header() as RecordBatchHeader;
    assert.equal(decoded.compression?.type, CompressionType.LZ4_FRAME);
  });
});
