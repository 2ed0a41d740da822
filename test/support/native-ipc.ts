// Native export batches (EncodedBatch: IPC header + body) read back as arrow-js RecordBatches,
// through the Arrow IPC stream format: what a Flight client does with the same messages.

import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { Message } from '../../flight/arrow-internals.ts';
import type { EncodedBatch } from '../../flight/index.ts';

function frame(header: Uint8Array, body: Uint8Array | null, out: Uint8Array[]): void {
  const padded = (header.byteLength + 7) & ~7;
  const prefix = Buffer.alloc(8 + padded);
  prefix.writeUInt32LE(0xffffffff, 0);
  prefix.writeInt32LE(padded, 4);
  prefix.set(header, 8);
  out.push(prefix);
  if (body) out.push(body);
}

export function decodeEncoded(schema: Schema, batches: readonly EncodedBatch[]): RecordBatch[] {
  const parts: Uint8Array[] = [];
  frame(Message.encode(Message.from(schema)), null, parts);
  for (const b of batches) frame(b.header, b.body, parts);
  parts.push(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  return [...RecordBatchReader.from(Buffer.concat(parts))];
}
