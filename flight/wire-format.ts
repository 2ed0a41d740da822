// The protobuf wire format as far as FlightData's hand framing (flight-data.ts) needs it:
// varints, field keys and length-delimited fields, read and written in place so that the Arrow
// body (field 1000) is never copied. Every other message comes from the code generated in proto/;
// checkMessage walks those against their descriptors first, to say what is wrong with bytes
// that are not one (the generated reader trusts wire types and says only "premature EOF").

import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { FlightError } from './error.ts';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

export function varintSize(value: number): number {
  if (value < 0) return 10; // negative int64 values always take ten bytes
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

export function tagSize(field: number): number {
  return varintSize(field << 3);
}

export function writeVarint(target: Uint8Array, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  target[offset++] = value;
  return offset;
}

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/** Reads protobuf fields from a buffer; every length is checked against what is there. */
export class ProtoReader {
  position = 0;
  private readonly end: number;

  constructor(
    readonly buffer: Uint8Array,
    readonly what: string,
  ) {
    this.end = buffer.byteLength;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  private fail(reason: string): never {
    throw FlightError.invalidArgument(`malformed ${this.what}: ${reason} at byte ${this.position}`);
  }

  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (let i = 0; i < 10; i++) {
      if (this.position >= this.end) this.fail('truncated varint');
      const byte = this.buffer[this.position++]!;
      result += (byte & 0x7f) * multiplier;
      if (byte < 0x80) return result;
      multiplier *= 128;
    }
    return this.fail('varint longer than ten bytes');
  }

  /** Reads a field key; returns [field number, wire type]. */
  tag(): [number, WireType] {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) this.fail('field number 0');
    return [field, (key & 7) as WireType];
  }

  /** The bytes of a length-delimited field, as a view into the buffer (no copy). */
  bytes(): Uint8Array {
    const length = this.varint();
    if (length > this.end - this.position) {
      this.fail(`field declares ${length} bytes but only ${this.end - this.position} remain`);
    }
    const view = this.buffer.subarray(this.position, this.position + length);
    this.position += length;
    return view;
  }

  string(): string {
    const raw = this.bytes();
    try {
      return textDecoder.decode(raw);
    } catch {
      return this.fail('string field is not valid UTF-8');
    }
  }

  expect(wire: WireType, actual: WireType, field: number): void {
    if (wire !== actual) this.fail(`field ${field} has wire type ${actual}, expected ${wire}`);
  }

  skip(wire: WireType): void {
    switch (wire) {
      case WireType.Varint:
        this.varint();
        return;
      case WireType.Fixed64:
        this.advance(8);
        return;
      case WireType.LengthDelimited:
        this.bytes();
        return;
      case WireType.Fixed32:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${wire as number}`);
    }
  }

  private advance(bytes: number): void {
    if (this.end - this.position < bytes) this.fail('truncated field');
    this.position += bytes;
  }
}

function scalarWire(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Fixed64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Fixed32;
    default:
      return WireType.Varint;
  }
}

/** The wire type `field` is written with; repeated scalars may also come packed. */
function fieldWire(field: DescField): WireType {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarWire(field.scalar);
    case 'enum':
      return WireType.Varint;
    case 'list':
      return field.listKind === 'scalar'
        ? scalarWire(field.scalar)
        : field.listKind === 'enum'
          ? WireType.Varint
          : WireType.LengthDelimited;
    default:
      return WireType.LengthDelimited;
  }
}

/**
 * Throws INVALID_ARGUMENT naming `what` and the first problem when `bytes` are not a well-formed
 * `schema` message: a truncated or overlong varint, a length past the end, field number 0, a
 * known field with the wrong wire type, a string that is not UTF-8 (nested messages alike).
 */
export function checkMessage(schema: DescMessage, bytes: Uint8Array, what = schema.name): void {
  const r = new ProtoReader(bytes, what);
  while (!r.done) {
    const [no, wire] = r.tag();
    const field = schema.fields.find((f) => f.number === no);
    if (!field) {
      r.skip(wire);
      continue;
    }
    const expected = fieldWire(field);
    const packed = field.fieldKind === 'list' && expected !== WireType.LengthDelimited && wire === WireType.LengthDelimited;
    if (packed) {
      const items = new ProtoReader(r.bytes(), `${what}.${field.name}`);
      while (!items.done) items.skip(expected);
      continue;
    }
    r.expect(expected, wire, no);
    if (field.fieldKind === 'message' || (field.fieldKind === 'list' && field.listKind === 'message')) {
      checkMessage(field.message, r.bytes(), field.message.name);
    } else if ((field.fieldKind === 'scalar' || field.fieldKind === 'list') && field.scalar === ScalarType.STRING) {
      r.string();
    } else {
      r.skip(wire);
    }
  }
}
