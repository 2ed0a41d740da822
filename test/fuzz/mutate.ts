// Mutations of valid FlightData, driven by a seeded PRNG so that every run tries the same inputs
// and a failure names the seed and step that reproduce it: bit flips, bytes set to edge values,
// truncations, protobuf length fields rewritten, 32- and 64-bit words of the flatbuffer header
// and of the body overwritten with lengths and offsets that lie, messages dropped or repeated.

import { mulberry32 } from '../../bench/common.ts';
import { decodeFlightData } from '../../flight/index.ts';
import { varint } from './inputs.ts';

/** Seeded choices for the mutations (bench/common.ts's mulberry32: the same seed, the same inputs). */
export class Prng {
  readonly next: () => number;

  constructor(seed: number) {
    this.next = mulberry32(seed);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** Values that break length and offset arithmetic. */
const EDGE_32 = [0, 1, 7, 8, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff8, 1 << 20, 1 << 30];
const EDGE_64 = [0n, 1n, 8n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 62n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n - 8n];
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

/** Where a FlightData message's protobuf fields sit: [tag start, length varint start, length varint end, content end]. */
function fieldSpans(message: Uint8Array): { field: number; lengthAt: number; contentAt: number; end: number }[] {
  const spans: { field: number; lengthAt: number; contentAt: number; end: number }[] = [];
  let at = 0;
  const readVarint = (): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10 && at < message.byteLength; i++) {
      const byte = message[at++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    return -1;
  };
  while (at < message.byteLength) {
    const key = readVarint();
    if (key < 0 || (key & 7) !== 2) break;
    const lengthAt = at;
    const length = readVarint();
    if (length < 0) break;
    spans.push({ field: Math.floor(key / 8), lengthAt, contentAt: at, end: at + length });
    at += length;
  }
  return spans;
}

export type MutationKind =
  | 'bit-flip'
  | 'edge-byte'
  | 'truncate'
  | 'length-field'
  | 'header-word32'
  | 'header-word64'
  | 'body-word32'
  | 'body-word64'
  | 'drop-message'
  | 'repeat-message';

export const MUTATION_KINDS: readonly MutationKind[] = [
  'bit-flip',
  'edge-byte',
  'truncate',
  'length-field',
  'header-word32',
  'header-word64',
  'body-word32',
  'body-word64',
  'drop-message',
  'repeat-message',
];

/** Where the data_header and the body of a message lie, if it has them. */
function regions(message: Uint8Array): { header?: [number, number]; body?: [number, number] } {
  const out: { header?: [number, number]; body?: [number, number] } = {};
  try {
    const data = decodeFlightData(message);
    if (data.dataHeader.byteLength > 0) out.header = [data.dataHeader.byteOffset - message.byteOffset, data.dataHeader.byteLength];
    if (data.dataBody.byteLength > 0) out.body = [data.dataBody.byteOffset - message.byteOffset, data.dataBody.byteLength];
  } catch {
    // Already broken by an earlier mutation: byte-level mutations still apply.
  }
  return out;
}

function overwriteWord(bytes: Buffer, region: [number, number] | undefined, width: 4 | 8, random: Prng): boolean {
  if (!region || region[1] < width) return false;
  const [start, length] = region;
  // Aligned words, where flatbuffers and Arrow keep their lengths and offsets.
  const slots = Math.floor(length / width);
  const at = start + random.below(slots) * width;
  if (width === 4) bytes.writeUInt32LE(random.pick(EDGE_32) >>> 0, at);
  else bytes.writeBigUInt64LE(random.pick(EDGE_64), at);
  return true;
}

/** Mutates one message; returns the new bytes and what was done. */
export function mutateMessage(message: Buffer, kind: MutationKind, random: Prng): { bytes: Buffer; detail: string } {
  const bytes = Buffer.from(message); // a copy: the seeds stay intact
  switch (kind) {
    case 'bit-flip': {
      const at = random.below(bytes.byteLength);
      const bit = random.below(8);
      bytes[at]! ^= 1 << bit;
      return { bytes, detail: `bit ${bit} of byte ${at}` };
    }
    case 'edge-byte': {
      const at = random.below(bytes.byteLength);
      bytes[at] = random.pick(EDGE_BYTES);
      return { bytes, detail: `byte ${at} = ${bytes[at]}` };
    }
    case 'truncate': {
      const length = random.below(bytes.byteLength);
      return { bytes: bytes.subarray(0, length), detail: `cut to ${length} of ${message.byteLength} bytes` };
    }
    case 'length-field': {
      const spans = fieldSpans(bytes);
      if (spans.length === 0) return mutateMessage(message, 'bit-flip', random);
      const span = random.pick(spans);
      const actual = span.end - span.contentAt;
      const declared = random.pick([0, 1, actual - 1, actual + 1, actual * 2, 2 ** 31, 2 ** 40, Math.max(0, actual - 8)]);
      const rewritten = Buffer.concat([
        bytes.subarray(0, span.lengthAt),
        Buffer.from(varint(Math.max(0, declared))),
        bytes.subarray(span.contentAt),
      ]);
      return { bytes: rewritten, detail: `field ${span.field} declares ${declared} bytes (has ${actual})` };
    }
    case 'header-word32':
    case 'header-word64':
    case 'body-word32':
    case 'body-word64': {
      const where = regions(bytes);
      const region = kind.startsWith('header') ? where.header : where.body;
      const width = kind.endsWith('64') ? 8 : 4;
      if (!overwriteWord(bytes, region, width, random)) return mutateMessage(message, 'bit-flip', random);
      return { bytes, detail: `a ${width * 8}-bit word of the ${kind.startsWith('header') ? 'header' : 'body'}` };
    }
    default:
      throw new Error(`mutateMessage: ${kind} acts on a stream, not a message`);
  }
}

/** A stream of messages with one to three mutations applied. */
export function mutateStream(messages: readonly Buffer[], random: Prng): { messages: Buffer[]; description: string } {
  const out = [...messages];
  const done: string[] = [];
  const count = 1 + random.below(3);
  for (let i = 0; i < count; i++) {
    const kind = random.pick(MUTATION_KINDS);
    const index = random.below(out.length);
    if (kind === 'drop-message') {
      if (out.length > 1) out.splice(index, 1);
      done.push(`drop message ${index}`);
    } else if (kind === 'repeat-message') {
      out.splice(index, 0, out[index]!);
      done.push(`repeat message ${index}`);
    } else {
      const { bytes, detail } = mutateMessage(out[index]!, kind, random);
      out[index] = bytes;
      done.push(`${kind} on message ${index}: ${detail}`);
    }
  }
  return { messages: out, description: done.join('; ') };
}
