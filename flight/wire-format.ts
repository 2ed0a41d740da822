// The protobuf wire format as far as FlightData's hand framing (flight-data.ts) needs it:
// varints, field keys and length-delimited fields, read and written in place so that the Arrow
// body (field 1000) is never copied. Every other message comes from the generated code in gen/.

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
