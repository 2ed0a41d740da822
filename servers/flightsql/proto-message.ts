// A small declarative protobuf codec for the Flight SQL messages: each message is a list of
// fields (number, name, type), and one encoder and one decoder walk that list with
// flight/protobuf.ts. Flight SQL has some thirty flat messages; describing them beats writing
// sixty functions by hand, and keeps every field number in one visible table (messages.ts).

import { FlightError } from '../../flight/index.ts';
import { ProtoReader, ProtoWriter, WireType } from '../../flight/protobuf.ts';

export type ScalarType = 'string' | 'bytes' | 'bool' | 'uint32' | 'int32' | 'int64' | 'enum';

export interface FieldSpec {
  readonly no: number;
  readonly name: string;
  readonly type: ScalarType | 'map' | MessageCodec<object>;
  /** `repeated` (scalars are written packed, and read packed or not). */
  readonly repeated?: boolean;
  /** proto3 `optional`: presence is kept (undefined when absent, written when set, even if empty). */
  readonly optional?: boolean;
}

/** Encodes and decodes one message type; `name` is its unqualified protobuf name. */
export interface MessageCodec<T extends object> {
  readonly name: string;
  readonly fields: readonly FieldSpec[];
  encode(value: Partial<T>): Buffer;
  decode(bytes: Uint8Array): T;
  /** Writes the fields of `value` into `w` (for nesting). */
  write(w: ProtoWriter, value: Partial<T>): void;
  read(r: ProtoReader): T;
}

type Values = Record<string, unknown>;

const EMPTY = new Uint8Array(0);

/** Declares a message. `T` must match `fields` (names, types, optionality): the table is the truth. */
export function message<T extends object>(name: string, fields: readonly FieldSpec[]): MessageCodec<T> {
  const byNumber = new Map(fields.map((f) => [f.no, f]));
  const codec: MessageCodec<T> = {
    name,
    fields,
    encode(value) {
      const w = new ProtoWriter();
      codec.write(w, value);
      return w.finish();
    },
    decode(bytes) {
      return codec.read(new ProtoReader(bytes, name));
    },
    write(w, value) {
      const values = value as Values;
      for (const field of fields) writeField(w, field, values[field.name]);
    },
    read(r) {
      const out: Values = {};
      for (const field of fields) out[field.name] = defaultValue(field);
      while (!r.done) {
        const [no, wire] = r.tag();
        const field = byNumber.get(no);
        if (!field) r.skip(wire);
        else readField(r, field, wire, out);
      }
      return out as T;
    },
  };
  return codec;
}

function defaultValue(field: FieldSpec): unknown {
  if (field.repeated) return [];
  if (field.type === 'map') return {};
  if (field.optional || typeof field.type === 'object') return undefined;
  switch (field.type) {
    case 'string':
      return '';
    case 'bytes':
      return EMPTY;
    case 'bool':
      return false;
    default:
      return 0;
  }
}

function writeField(w: ProtoWriter, field: FieldSpec, value: unknown): void {
  if (value === undefined || value === null) return;
  const { no, type } = field;
  if (type === 'map') {
    for (const [k, v] of Object.entries(value as Record<string, string>)) {
      w.message(no, (entry) => entry.string(1, k, true).string(2, v, true));
    }
    return;
  }
  if (typeof type === 'object') {
    const items = field.repeated ? (value as object[]) : [value as object];
    for (const item of items) w.message(no, (inner) => type.write(inner, item));
    return;
  }
  if (field.repeated) {
    const items = value as unknown[];
    if (type === 'string' || type === 'bytes') {
      for (const item of items) writeScalar(w, no, type, item, true);
    } else if (items.length > 0) {
      w.bytes(no, packVarints(type, items), true);
    }
    return;
  }
  writeScalar(w, no, type, value, field.optional === true);
}

function writeScalar(w: ProtoWriter, no: number, type: ScalarType, value: unknown, always: boolean): void {
  switch (type) {
    case 'string':
      w.string(no, value as string, always);
      return;
    case 'bytes':
      w.bytes(no, value as Uint8Array, always);
      return;
    default: {
      const n = varintValue(type, value);
      if (n === 0n) {
        if (always) w.tag(no, WireType.Varint).varint(0);
        return;
      }
      w.int64(no, n); // sign-extends negatives to ten bytes, as int32 and enum require
    }
  }
}

function varintValue(type: ScalarType, value: unknown): bigint {
  if (type === 'bool') return value ? 1n : 0n;
  const n = typeof value === 'bigint' ? value : BigInt(Math.trunc(value as number));
  if (type === 'uint32' && (n < 0n || n > 0xffffffffn)) throw new Error(`uint32 field value ${n} is out of range`);
  return n;
}

/** The payload of a packed repeated varint field. */
function packVarints(type: ScalarType, items: readonly unknown[]): Uint8Array {
  const bytes: number[] = [];
  for (const item of items) {
    let v = BigInt.asUintN(64, varintValue(type, item));
    while (v >= 0x80n) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
  }
  return Uint8Array.from(bytes);
}

function readField(r: ProtoReader, field: FieldSpec, wire: WireType, out: Values): void {
  const { type, name, no } = field;
  if (type === 'map') {
    r.expect(WireType.LengthDelimited, wire, no);
    const entry = r.message(`${name} entry`);
    let key = '';
    let value = '';
    while (!entry.done) {
      const [f, w] = entry.tag();
      if (f === 1 && w === WireType.LengthDelimited) key = entry.string();
      else if (f === 2 && w === WireType.LengthDelimited) value = entry.string();
      else entry.skip(w);
    }
    (out[name] as Record<string, string>)[key] = value;
    return;
  }
  if (typeof type === 'object') {
    r.expect(WireType.LengthDelimited, wire, no);
    const decoded = type.read(r.message(type.name));
    if (field.repeated) (out[name] as unknown[]).push(decoded);
    else out[name] = decoded;
    return;
  }
  if (type === 'string' || type === 'bytes') {
    r.expect(WireType.LengthDelimited, wire, no);
    const value = type === 'string' ? r.string() : r.bytes();
    if (field.repeated) (out[name] as unknown[]).push(value);
    else out[name] = value;
    return;
  }
  if (field.repeated && wire === WireType.LengthDelimited) {
    const packed = r.message(name);
    while (!packed.done) (out[name] as unknown[]).push(readVarintValue(packed, type));
    return;
  }
  r.expect(WireType.Varint, wire, no);
  const value = readVarintValue(r, type);
  if (field.repeated) (out[name] as unknown[]).push(value);
  else out[name] = value;
}

function readVarintValue(r: ProtoReader, type: ScalarType): number | boolean {
  const raw = r.varint64();
  switch (type) {
    case 'bool':
      return raw !== 0n;
    case 'uint32':
      return Number(BigInt.asUintN(32, raw));
    case 'int32':
    case 'enum':
      return Number(BigInt.asIntN(32, raw));
    default:
      return Number(raw);
  }
}

/** google.protobuf.Any: type_url = 1, value = 2. */
export interface AnyMessage {
  typeUrl: string;
  value: Uint8Array;
}

export function encodeAny(typeUrl: string, value: Uint8Array): Buffer {
  return new ProtoWriter(typeUrl.length + value.byteLength + 8).string(1, typeUrl).bytes(2, value).finish();
}

/**
 * `bytes` as an Any, or null when they are not one: a field other than 1 and 2, a wrong wire
 * type, a length past the end, a type_url that is not UTF-8 or is missing. Used to tell Flight
 * SQL commands from the plain face's SQL text, which never parses as an Any with a type URL.
 */
export function tryDecodeAny(bytes: Uint8Array): AnyMessage | null {
  if (bytes.byteLength === 0) return null;
  const r = new ProtoReader(bytes, 'google.protobuf.Any');
  let typeUrl: string | undefined;
  let value: Uint8Array = EMPTY;
  try {
    while (!r.done) {
      const [no, wire] = r.tag();
      if (wire !== WireType.LengthDelimited || (no !== 1 && no !== 2)) return null;
      if (no === 1) typeUrl = r.string();
      else value = r.bytes();
    }
  } catch (error) {
    if (error instanceof FlightError) return null; // malformed: not an Any
    throw error;
  }
  return typeUrl === undefined ? null : { typeUrl, value };
}
