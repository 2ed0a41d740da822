import duckdb from '@duckdb/node-bindings';
import {
  Dictionary,
  FixedSizeList,
  makeData,
  Null,
  SparseUnion,
  Struct,
  Vector,
  type Data,
  type Field,
  type List,
  type Map_,
} from 'apache-arrow';
import { ColumnBuilder, rowsExtent } from './column-builder.ts';
import type { FixedWidthBuilder } from './fixed-width.ts';
import { isValid, readMask } from './validity.ts';

const TWO_32 = 4294967296;

class Selection {
  rows = new Int32Array(1024);
  reserve(count: number): Int32Array {
    if (this.rows.length < count) this.rows = new Int32Array(Math.max(count, this.rows.length * 2));
    return this.rows;
  }
}

/**
 * LIST and MAP (a list of key/value structs) -> Arrow list / map. DuckDB gives each row an
 * (offset, length) entry into a child vector; Arrow wants the children in row order. When the
 * entries already tile the child vector in order (a plain scan) the child is appended as one
 * range; otherwise (filtered or constant vectors, shared children) the child rows are gathered.
 */
export class ListBuilder extends ColumnBuilder {
  private offsets: Int32Array;
  private readonly selection = new Selection();

  constructor(
    readonly type: List | Map_,
    private readonly child: ColumnBuilder,
    capacityHint: number,
  ) {
    super(capacityHint);
    this.offsets = new Int32Array(capacityHint + 1);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count > 0) this.append(vector, start, count, null);
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count > 0) this.append(vector, 0, count, rows);
  }

  private append(vector: duckdb.Vector, start: number, count: number, rows: Int32Array | null): void {
    const extent = rows === null ? start + count : rowsExtent(rows, count);
    const mask = readMask(vector, extent);
    if (rows === null) this.validity.appendRange(mask, start, count);
    else this.validity.appendRows(mask, rows, count);
    // list_entry_t: uint64 offset, uint64 length.
    const entryBytes = duckdb.vector_get_data(vector, extent * 16);
    const entries = new Uint32Array(entryBytes.buffer, entryBytes.byteOffset, extent * 4);

    const base = this.length;
    const offsets = this.reserveOffsets(base + count + 1);
    const childBase = offsets[base];
    let total = 0;
    let contiguous = true;
    let first = -1;
    let expected = 0;
    for (let k = 0; k < count; k++) {
      const row = rows === null ? start + k : rows[k];
      if (isValid(mask, row)) {
        const length = entries[row * 4 + 2] + entries[row * 4 + 3] * TWO_32;
        if (length > 0) {
          const offset = entries[row * 4] + entries[row * 4 + 1] * TWO_32;
          if (first < 0) first = offset;
          else if (offset !== expected) contiguous = false;
          expected = offset + length;
          total += length;
        }
      }
      offsets[base + k + 1] = childBase + total;
    }
    if (childBase + total > 2147483647) throw new Error(`bridge: more than 2^31 list elements in one Arrow batch (${this.type})`);
    this.length += count;
    if (total === 0) return;

    const childVector = duckdb.list_vector_get_child(vector);
    if (contiguous) {
      this.child.appendRange(childVector, first, total);
      return;
    }
    const selection = this.selection.reserve(total);
    let s = 0;
    for (let k = 0; k < count; k++) {
      const row = rows === null ? start + k : rows[k];
      if (!isValid(mask, row)) continue;
      const length = entries[row * 4 + 2] + entries[row * 4 + 3] * TWO_32;
      const offset = entries[row * 4] + entries[row * 4 + 1] * TWO_32;
      for (let i = 0; i < length; i++) selection[s++] = offset + i;
    }
    this.child.appendRows(childVector, selection, total);
  }

  private reserveOffsets(count: number): Int32Array {
    if (this.offsets.length < count) {
      const grown = new Int32Array(Math.max(count, this.offsets.length * 2));
      grown.set(this.offsets);
      this.offsets = grown;
    }
    return this.offsets;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    const valueOffsets = this.offsets.subarray(0, length + 1);
    this.offsets = new Int32Array(this.offsets.length);
    this.length = 0;
    const child = this.child.finish();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- List and Map_ share this layout
    return makeData({ type: this.type as any, length, nullCount, nullBitmap, valueOffsets, child });
  }

  byteLength(): number {
    return this.length * 4 + this.child.byteLength();
  }
}

/** ARRAY -> Arrow fixed_size_list: each row owns `size` consecutive child values. */
export class ArrayBuilder extends ColumnBuilder {
  private readonly selection = new Selection();

  constructor(
    readonly type: FixedSizeList,
    private readonly child: ColumnBuilder,
    capacityHint: number,
  ) {
    super(capacityHint);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count === 0) return;
    this.validity.appendRange(readMask(vector, start + count), start, count);
    const size = this.type.listSize;
    this.child.appendRange(duckdb.array_vector_get_child(vector), start * size, count * size);
    this.length += count;
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count === 0) return;
    this.validity.appendRows(readMask(vector, rowsExtent(rows, count)), rows, count);
    const size = this.type.listSize;
    const selection = this.selection.reserve(count * size);
    for (let k = 0, s = 0; k < count; k++) for (let i = 0; i < size; i++) selection[s++] = rows[k] * size + i;
    this.child.appendRows(duckdb.array_vector_get_child(vector), selection, count * size);
    this.length += count;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    this.length = 0;
    return makeData({ type: this.type, length, nullCount, nullBitmap, child: this.child.finish() });
  }

  byteLength(): number {
    return this.child.byteLength();
  }
}

/** STRUCT -> Arrow struct; the children see exactly the parent's rows. */
export class StructBuilder extends ColumnBuilder {
  readonly type: Struct;

  constructor(
    fields: Field[],
    private readonly children: ColumnBuilder[],
    capacityHint: number,
  ) {
    super(capacityHint);
    this.type = new Struct(fields);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count === 0) return;
    this.validity.appendRange(readMask(vector, start + count), start, count);
    for (let i = 0; i < this.children.length; i++) {
      this.children[i].appendRange(duckdb.struct_vector_get_child(vector, i), start, count);
    }
    this.length += count;
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count === 0) return;
    this.validity.appendRows(readMask(vector, rowsExtent(rows, count)), rows, count);
    for (let i = 0; i < this.children.length; i++) {
      this.children[i].appendRows(duckdb.struct_vector_get_child(vector, i), rows, count);
    }
    this.length += count;
  }

  finish(): Data {
    const { nullCount, nullBitmap } = this.validity.finish();
    const length = this.length;
    this.length = 0;
    const children = this.children.map((child) => child.finish());
    return makeData({ type: this.type, length, nullCount, nullBitmap, children });
  }

  byteLength(): number {
    let bytes = 0;
    for (const child of this.children) bytes += child.byteLength();
    return bytes;
  }
}

/**
 * UNION -> Arrow sparse union with type ids 0..n-1. DuckDB stores a union as a struct of a
 * UTINYINT tag and one vector per member. Arrow unions have no validity of their own, so a NULL
 * union becomes type id 0 with a null in member 0, as in DuckDB's own Arrow export.
 */
export class UnionBuilder extends ColumnBuilder {
  readonly type: SparseUnion;
  private typeIds: Int8Array;

  constructor(
    fields: Field[],
    private readonly members: ColumnBuilder[],
    capacityHint: number,
  ) {
    super(capacityHint);
    this.type = new SparseUnion(
      fields.map((_, i) => i),
      fields,
    );
    this.typeIds = new Int8Array(capacityHint);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    if (count === 0) return;
    const extent = start + count;
    const mask = readMask(vector, extent);
    const tags = duckdb.vector_get_data(duckdb.struct_vector_get_child(vector, 0), extent);
    const base = this.reserve(count);
    for (let m = 0; m < this.members.length; m++) {
      this.members[m].appendRange(duckdb.struct_vector_get_child(vector, m + 1), start, count);
    }
    for (let k = 0; k < count; k++) this.setTag(mask, tags, start + k, base + k);
    this.length += count;
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    if (count === 0) return;
    const extent = rowsExtent(rows, count);
    const mask = readMask(vector, extent);
    const tags = duckdb.vector_get_data(duckdb.struct_vector_get_child(vector, 0), extent);
    const base = this.reserve(count);
    for (let m = 0; m < this.members.length; m++) {
      this.members[m].appendRows(duckdb.struct_vector_get_child(vector, m + 1), rows, count);
    }
    for (let k = 0; k < count; k++) this.setTag(mask, tags, rows[k], base + k);
    this.length += count;
  }

  private setTag(mask: Uint8Array | null, tags: Uint8Array, row: number, position: number): void {
    if (isValid(mask, row)) {
      this.typeIds[position] = tags[row];
    } else {
      this.typeIds[position] = 0;
      this.members[0].markNull(position);
    }
  }

  private reserve(count: number): number {
    const needed = this.length + count;
    if (this.typeIds.length < needed) {
      const grown = new Int8Array(Math.max(needed, this.typeIds.length * 2));
      grown.set(this.typeIds);
      this.typeIds = grown;
    }
    return this.length;
  }

  finish(): Data {
    const length = this.length;
    const typeIds = this.typeIds.subarray(0, length);
    this.typeIds = new Int8Array(this.typeIds.length);
    this.length = 0;
    this.validity.finish();
    const children = this.members.map((member) => member.finish());
    return makeData({ type: this.type, length, nullCount: 0, typeIds, children } as never);
  }

  byteLength(): number {
    let bytes = this.length;
    for (const member of this.members) bytes += member.byteLength();
    return bytes;
  }
}

/** ENUM -> Arrow dictionary over utf8, indices as wide as DuckDB's own (uint8/16/32). */
export class EnumBuilder extends ColumnBuilder {
  constructor(
    readonly type: Dictionary,
    private readonly indices: FixedWidthBuilder,
    private readonly dictionary: Vector,
    capacityHint: number,
  ) {
    super(capacityHint);
  }

  appendRange(vector: duckdb.Vector, start: number, count: number): void {
    this.indices.appendRange(vector, start, count);
  }

  appendRows(vector: duckdb.Vector, rows: Int32Array, count: number): void {
    this.indices.appendRows(vector, rows, count);
  }

  override markNull(position: number): void {
    this.indices.markNull(position);
  }

  override get rowCount(): number {
    return this.indices.rowCount;
  }

  finish(): Data {
    const indices = this.indices.finish();
    return makeData({
      type: this.type,
      length: indices.length,
      nullCount: indices.nullCount,
      nullBitmap: indices.nullBitmap,
      data: indices.values as never,
      dictionary: this.dictionary,
    });
  }

  byteLength(): number {
    return this.indices.byteLength();
  }
}

/** DuckDB's NULL type (a column of nothing but NULLs) -> Arrow null. */
export class NullBuilder extends ColumnBuilder {
  readonly type = new Null();

  appendRange(_vector: duckdb.Vector, _start: number, count: number): void {
    this.length += count;
  }

  appendRows(_vector: duckdb.Vector, _rows: Int32Array, count: number): void {
    this.length += count;
  }

  override markNull(): void {}

  finish(): Data {
    const length = this.length;
    this.length = 0;
    return makeData({ type: this.type, length });
  }

  byteLength(): number {
    return 0;
  }
}
