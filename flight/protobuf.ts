// The small part of the protobuf wire format that Flight's messages need: varints, 64-bit
// integers, doubles and length-delimited fields. Written by hand so that FlightData's body
// (field 1000) is never copied through a generic decoder.

import { FlightError } from './error.ts';

export const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

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

/** Appends protobuf fields to a growing buffer. */
export class ProtoWriter {
  private buffer: Buffer;
  private position = 0;

  constructor(initialSize = 64) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  private reserve(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.position + bytes));
    this.buffer.copy(next, 0, 0, this.position);
    this.buffer = next;
  }

  varint(value: number): this {
    this.reserve(10);
    writeVarint(this.buffer, this.position, value);
    this.position += varintSize(value);
    return this;
  }

  tag(field: number, wire: WireType): this {
    return this.varint((field << 3) | wire);
  }

  /** An int64/uint64 field; JS numbers are exact up to 2^53, which covers row counts and sizes. */
  int64(field: number, value: number | bigint): this {
    const n = typeof value === 'bigint' ? value : BigInt(Math.trunc(value));
    if (n === 0n) return this;
    this.tag(field, WireType.Varint);
    this.reserve(10);
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.buffer[this.position++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buffer[this.position++] = Number(v);
    return this;
  }

  uint32(field: number, value: number): this {
    if (value === 0) return this;
    return this.tag(field, WireType.Varint).varint(value);
  }

  bool(field: number, value: boolean): this {
    if (!value) return this;
    return this.tag(field, WireType.Varint).varint(1);
  }

  double(field: number, value: number): this {
    this.tag(field, WireType.Fixed64);
    this.reserve(8);
    this.buffer.writeDoubleLE(value, this.position);
    this.position += 8;
    return this;
  }

  /** A bytes field; empty values are omitted unless `always` (proto3 default elision). */
  bytes(field: number, value: Uint8Array | undefined, always = false): this {
    if (value === undefined || (value.byteLength === 0 && !always)) return this;
    this.tag(field, WireType.LengthDelimited).varint(value.byteLength);
    this.reserve(value.byteLength);
    this.buffer.set(value, this.position);
    this.position += value.byteLength;
    return this;
  }

  string(field: number, value: string | undefined, always = false): this {
    if (value === undefined || (value.length === 0 && !always)) return this;
    return this.bytes(field, textEncoder.encode(value), always);
  }

  /** A nested message, written by `write` into its own writer. */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish(), true);
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.position);
  }
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
  position: number;
  private readonly end: number;

  constructor(
    readonly buffer: Uint8Array,
    readonly what: string,
    start = 0,
    end = buffer.byteLength,
  ) {
    this.position = start;
    this.end = end;
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

  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.position >= this.end) this.fail('truncated varint');
      const byte = this.buffer[this.position++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asIntN(64, result);
      shift += 7n;
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

  double(): number {
    if (this.end - this.position < 8) this.fail('truncated double');
    const view = new DataView(this.buffer.buffer, this.buffer.byteOffset + this.position, 8);
    this.position += 8;
    return view.getFloat64(0, true);
  }

  /** A nested message's reader over the same buffer. */
  message(what: string): ProtoReader {
    const length = this.varint();
    if (length > this.end - this.position) {
      this.fail(`${what} declares ${length} bytes but only ${this.end - this.position} remain`);
    }
    const inner = new ProtoReader(this.buffer, what, this.position, this.position + length);
    this.position += length;
    return inner;
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
