import duckdb from '@duckdb/node-bindings';
import type { DuckDBEnumType } from '@duckdb/node-api';
import { DuckDBTypeId } from '@duckdb/node-api';
import type { Data, Vector } from 'apache-arrow';
import { arrowRowValid, int32sOf, Scratch, writeValidity, type ColumnWriter } from './column-writer.ts';
import { indexReader, stringAt } from './strings.ts';

const TWO_32 = 4294967296;

/**
 * list / large_list / map -> LIST / MAP. DuckDB wants one (offset, length) entry per row into a
 * child vector; the Arrow child range of the chunk's rows is written into that child in one go.
 */
export class ListWriter implements ColumnWriter {
  private readonly scratch = new Scratch();

  constructor(private readonly child: ColumnWriter) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const raw = data.valueOffsets as Int32Array | BigInt64Array;
    const large = raw instanceof BigInt64Array;
    const words = large ? int32sOf(raw) : raw;
    const offsetAt = large ? (i: number) => words[i * 2] + words[i * 2 + 1] * TWO_32 : (i: number) => words[i];
    const first = offsetAt(row);
    const total = offsetAt(row + count) - first;
    // list_entry_t: uint64 offset, uint64 length; the high words stay zero.
    const entryBytes = this.scratch.bytes(count * 16);
    const entries = new Uint32Array(entryBytes.buffer, 0, count * 4);
    for (let i = 0; i < count; i++) {
      if (!arrowRowValid(data, row + i)) continue;
      const start = offsetAt(row + i);
      entries[i * 4] = start - first;
      entries[i * 4 + 2] = offsetAt(row + i + 1) - start;
    }
    duckdb.copy_data_to_vector(vector, 0, entryBytes.buffer as ArrayBuffer, 0, count * 16);
    duckdb.list_vector_reserve(vector, total);
    duckdb.list_vector_set_size(vector, total);
    if (total > 0) this.child.write(duckdb.list_vector_get_child(vector), data.children[0], first, total);
  }
}

/** fixed_size_list -> ARRAY: every row owns `size` child values, nulls included. */
export class ArrayWriter implements ColumnWriter {
  constructor(
    private readonly size: number,
    private readonly child: ColumnWriter,
  ) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    this.child.write(duckdb.array_vector_get_child(vector), data.children[0], row * this.size, count * this.size);
  }
}

/**
 * ANDs `mask` (one bit per row of [0, count)) into the validity of `vector` and returns the
 * result. DuckDB expects the children of a NULL struct or union to be NULL as well (a NULL
 * union whose tag is set still casts to the text 'NULL' and has a union_tag, for instance).
 */
function andValidity(vector: duckdb.Vector, mask: Uint8Array, count: number): Uint8Array {
  duckdb.vector_ensure_validity_writable(vector);
  const bytes = (count + 7) >> 3;
  const current = duckdb.vector_get_validity(vector, ((count + 63) >>> 6) * 8) as Uint8Array;
  for (let i = 0; i < bytes; i++) current[i] &= mask[i];
  duckdb.copy_data_to_vector_validity(vector, 0, current.buffer as ArrayBuffer, current.byteOffset, bytes);
  return current;
}

/** The validity of rows [row, row + count) of `data` as bits from 0, or null without nulls there. */
function validityBits(data: Data, row: number, count: number): Uint8Array | null {
  if (data.nullCount === 0) return null;
  const bits = new Uint8Array((count + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < count; i++) {
    if (arrowRowValid(data, row + i)) bits[i >> 3] |= 1 << (i & 7);
    else nulls++;
  }
  return nulls === 0 ? null : bits;
}

/** Writers of struct-like vectors, whose children must follow the parent's nulls. */
interface InheritsNulls {
  inheritNulls(vector: duckdb.Vector, mask: Uint8Array, count: number): void;
}

function inheritsNulls(writer: ColumnWriter): writer is ColumnWriter & InheritsNulls {
  return writer instanceof StructWriter || writer instanceof UnionWriter;
}

/** struct -> STRUCT, fields matched by position; a NULL struct gets NULL fields. */
export class StructWriter implements ColumnWriter, InheritsNulls {
  constructor(private readonly children: ColumnWriter[]) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    for (let i = 0; i < this.children.length; i++) {
      this.children[i].write(duckdb.struct_vector_get_child(vector, i), data.children[i], row, count);
    }
    const mask = validityBits(data, row, count);
    if (mask !== null) this.inheritNulls(vector, mask, count);
  }

  inheritNulls(vector: duckdb.Vector, mask: Uint8Array, count: number): void {
    for (let i = 0; i < this.children.length; i++) {
      const child = duckdb.struct_vector_get_child(vector, i);
      const combined = andValidity(child, mask, count);
      const writer = this.children[i];
      if (inheritsNulls(writer)) writer.inheritNulls(child, combined, count);
    }
  }
}

/**
 * sparse_union -> UNION (a struct of a UTINYINT tag and one vector per member). A row whose
 * selected member is null becomes a NULL union, as in DuckDB's own Arrow import (the inverse of
 * its export, which writes a NULL union as type id 0 with a null member 0).
 */
export class UnionWriter implements ColumnWriter, InheritsNulls {
  private readonly scratch = new Scratch();

  constructor(
    /** Member index for each Arrow type code (-1: no such code). */
    private readonly memberForCode: Int32Array,
    private readonly members: ColumnWriter[],
  ) {}

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    const typeIds = data.typeIds;
    const tags = this.scratch.bytes(count);
    for (let i = 0; i < count; i++) {
      const code = typeIds[row + i];
      const member = code >= 0 && code < this.memberForCode.length ? this.memberForCode[code] : -1;
      if (member < 0) throw new Error(`bridge: union type id ${code} is not one of the union's type ids`);
      tags[i] = member;
    }
    duckdb.copy_data_to_vector(duckdb.struct_vector_get_child(vector, 0), 0, tags.buffer as ArrayBuffer, 0, count);
    const bytes = (count + 7) >> 3;
    const unionValid = new Uint8Array(bytes).fill(0xff);
    let unionNulls = 0;
    for (let m = 0; m < this.members.length; m++) {
      const memberVector = duckdb.struct_vector_get_child(vector, m + 1);
      const memberData = data.children[m];
      this.members[m].write(memberVector, memberData, row, count);
      // Only the selected member holds a value.
      const selected = new Uint8Array(bytes);
      for (let i = 0; i < count; i++) {
        if (tags[i] !== m) continue;
        if (arrowRowValid(memberData, row + i)) {
          selected[i >> 3] |= 1 << (i & 7);
        } else {
          unionValid[i >> 3] &= ~(1 << (i & 7));
          unionNulls++;
        }
      }
      const combined = andValidity(memberVector, selected, count);
      const writer = this.members[m];
      if (inheritsNulls(writer)) writer.inheritNulls(memberVector, combined, count);
    }
    if (unionNulls > 0) {
      duckdb.vector_ensure_validity_writable(vector);
      duckdb.copy_data_to_vector_validity(vector, 0, unionValid.buffer, 0, bytes);
      andValidity(duckdb.struct_vector_get_child(vector, 0), unionValid, count);
    }
  }

  inheritNulls(vector: duckdb.Vector, mask: Uint8Array, count: number): void {
    andValidity(duckdb.struct_vector_get_child(vector, 0), mask, count);
    for (let m = 0; m < this.members.length; m++) {
      const memberVector = duckdb.struct_vector_get_child(vector, m + 1);
      const combined = andValidity(memberVector, mask, count);
      const writer = this.members[m];
      if (inheritsNulls(writer)) writer.inheritNulls(memberVector, combined, count);
    }
  }
}

/** dictionary<utf8> -> ENUM: dictionary indexes translated to the column's enum indexes. */
export class EnumWriter implements ColumnWriter {
  private readonly scratch = new Scratch();
  private readonly width: 1 | 2 | 4;
  private readonly positions: Map<string, number>;
  private readonly translations = new WeakMap<Vector, Int32Array>();

  constructor(private readonly type: DuckDBEnumType) {
    this.width = type.internalTypeId === DuckDBTypeId.UTINYINT ? 1 : type.internalTypeId === DuckDBTypeId.USMALLINT ? 2 : 4;
    this.positions = new Map(type.values.map((value, i) => [value, i]));
  }

  private translation(dictionary: Vector): Int32Array {
    let table = this.translations.get(dictionary);
    if (table !== undefined) return table;
    table = new Int32Array(dictionary.length).fill(-1);
    const decoder = new TextDecoder();
    let index = 0;
    for (const chunk of dictionary.data) {
      for (let i = 0; i < chunk.length; i++, index++) {
        if (chunk.getValid(i)) table[index] = this.positions.get(decoder.decode(stringAt(chunk, i))) ?? -1;
      }
    }
    this.translations.set(dictionary, table);
    return table;
  }

  write(vector: duckdb.Vector, data: Data, row: number, count: number): void {
    if (count === 0) return;
    writeValidity(vector, data, row, count);
    const dictionary = data.dictionary as Vector;
    const table = this.translation(dictionary);
    const index = indexReader(data.values as ArrayBufferView);
    const out = this.scratch.bytes(count * this.width);
    const view = this.width === 1 ? out : this.width === 2 ? new Uint16Array(out.buffer, 0, count) : new Uint32Array(out.buffer, 0, count);
    for (let i = 0; i < count; i++) {
      if (!arrowRowValid(data, row + i)) continue;
      const entry = index(row + i);
      const position = table[entry];
      if (!(position >= 0)) {
        const value = entry >= 0 && entry < dictionary.length ? String(dictionary.get(entry)) : `#${entry}`;
        throw new Error(`bridge: "${value}" is not a value of ${this.type.toString()}`);
      }
      view[i] = position;
    }
    duckdb.copy_data_to_vector(vector, 0, out.buffer as ArrayBuffer, 0, count * this.width);
  }
}
