// Where each buffer of a record batch goes in an Arrow IPC body, worked out without copying
// anything: the field nodes, the buffer regions, and for each region the memory it is gathered
// from when the message is written (flight-data.ts). It lays out the same body arrow-js's
// VectorAssembler does, except that the offsets of a sliced string or list column are rebased
// as they are copied into the message, not first into an array of their own; and a validity
// bitmap of a slice that starts on a byte boundary is a view, not a copy. Together those
// allocations cost about as much as the copy of the body itself when a large batch is sliced
// to the message limit. Types this file does not lay out (unions, views, 64-bit offsets) get
// null, and the encoder uses VectorAssembler for them.

import { Data, DataType, Type } from 'apache-arrow';
import { BufferRegion, FieldNode, truncateBitmap } from './arrow-internals.ts';

export interface BodyLayout {
  nodes: FieldNode[];
  regions: BufferRegion[];
  /** What each region is gathered from. */
  buffers: ArrayBufferView[];
  /**
   * Per region: a number to add to each 32-bit offset while it is copied (the first offset of a
   * sliced column, negated), or 0 for a plain copy.
   */
  deltas: number[];
  variadicBufferCounts: number[];
  byteLength: number;
}

const EMPTY = new Uint8Array(0);

class Layout implements BodyLayout {
  nodes: FieldNode[] = [];
  regions: BufferRegion[] = [];
  buffers: ArrayBufferView[] = [];
  deltas: number[] = [];
  variadicBufferCounts: number[] = [];
  byteLength = 0;

  add(buffer: ArrayBufferView, delta = 0): void {
    const padded = (buffer.byteLength + 7) & ~7;
    this.buffers.push(buffer);
    // `| 0`: an unsliced column's negated first offset is -0, a double; one of those made this a
    // double array, each delta a heap number, and copyRebased deoptimized ('not a Smi').
    this.deltas.push(delta | 0);
    this.regions.push(new BufferRegion(this.byteLength, padded));
    this.byteLength += padded;
  }
}

/** The body layout of these columns (a batch's children), or null if one needs VectorAssembler. */
export function layoutBody(columns: readonly Data[]): BodyLayout | null {
  const layout = new Layout();
  for (const column of columns) if (!visit(layout, column)) return null;
  return layout;
}

/** Bytes of a bitmap covering `length` bits from bit `offset`: a view when it starts on a byte. */
function bitmapOf(bitmap: Uint8Array, offset: number, length: number): Uint8Array {
  if (offset % 8 !== 0) return truncateBitmap(offset, length, bitmap);
  const start = offset >> 3;
  return bitmap.subarray(start, Math.min(bitmap.byteLength, start + ((length + 7) >> 3)));
}

function visit(layout: Layout, data: Data): boolean {
  const { type, length } = data;
  if (length > 2147483647) throw new RangeError('Cannot write arrays larger than 2^31 - 1 in length');
  switch (type.typeId) {
    case Type.Null:
      layout.nodes.push(new FieldNode(length, data.nullCount));
      return true;
    case Type.Int:
    case Type.Float:
    case Type.Date:
    case Type.Time:
    case Type.Timestamp:
    case Type.Decimal:
    case Type.Interval:
    case Type.Duration:
    case Type.FixedSizeBinary:
    case Type.Dictionary: // the indices; dictionaries go in messages of their own
      validity(layout, data);
      layout.add(flatValues(data));
      return true;
    case Type.Bool: {
      validity(layout, data);
      const values = data.values as unknown;
      if (data.nullCount >= length) layout.add(new Uint8Array((length + 7) >> 3));
      else if (values instanceof Uint8Array) layout.add(bitmapOf(values, data.offset, length));
      else return false;
      return true;
    }
    case Type.Utf8:
    case Type.Binary: {
      const offsets = data.valueOffsets as unknown;
      if (!(offsets instanceof Int32Array)) return false;
      validity(layout, data);
      const values = data.values as Uint8Array;
      const begin = offsets[0]!;
      const end = offsets[length]!;
      layout.add(offsets.subarray(0, length + 1), -begin);
      layout.add(values.subarray(begin, begin + Math.min(end - begin, values.byteLength - begin)));
      return true;
    }
    case Type.List:
    case Type.Map: {
      const offsets = data.valueOffsets as unknown;
      if (!(offsets instanceof Int32Array)) return false;
      validity(layout, data);
      const begin = offsets[0]!;
      const end = offsets[length]!;
      layout.add(offsets.subarray(0, length + 1), -begin);
      return visit(layout, data.children[0]!.slice(begin, end - begin));
    }
    case Type.FixedSizeList:
      validity(layout, data);
      return visit(layout, data.children[0]!);
    case Type.Struct:
      validity(layout, data);
      for (let i = 0; i < type.children.length; i++) {
        const child = data.children[i];
        if (child && !visit(layout, child)) return false;
      }
      return true;
    default:
      return false; // unions, Utf8View/BinaryView, 64-bit offsets, run-end encoded: VectorAssembler
  }
}

function validity(layout: Layout, data: Data): void {
  layout.nodes.push(new FieldNode(data.length, data.nullCount));
  layout.add(data.nullCount > 0 && data.nullBitmap ? bitmapOf(data.nullBitmap, data.offset, data.length) : EMPTY);
}

function flatValues(data: Data): ArrayBufferView {
  const values = data.values as unknown as { subarray(begin: number, end: number): ArrayBufferView };
  return values.subarray(0, data.length * (DataType.isDictionary(data.type) ? 1 : data.stride));
}
