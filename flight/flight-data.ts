// FlightData on the wire: the protobuf frame written by hand around the Arrow IPC body, so the
// body goes from the Arrow buffers into the outgoing message in one copy (our HTTP/2 server
// sends its large buffers in place, with none), and comes back out as a view of the received
// message with no copy at all.
//
//   message FlightData {
//     FlightDescriptor flight_descriptor = 1;
//     bytes data_header = 2;   // an Arrow IPC flatbuffer Message
//     bytes app_metadata = 3;
//     bytes data_body = 1000;  // the IPC body the header describes
//   }

import { FlightError } from './error.ts';
import { GRPC_PREFIX } from './transport/grpc-server.ts';
import { FlightDescriptorCodec, type FlightDescriptor } from './messages.ts';
import { copyRebased } from './rebase-offsets.ts';
import { ProtoReader, WireType, tagSize, varintSize, writeVarint } from './wire-format.ts';

export interface FlightData {
  descriptor?: FlightDescriptor | undefined;
  /** The flatbuffer Message; empty for a metadata-only message. */
  dataHeader: Uint8Array;
  appMetadata?: Uint8Array | undefined;
  dataBody: Uint8Array;
}

/** The body of an outgoing message as Arrow assembles it: buffers and where each one goes. */
export interface BodyParts {
  length: number;
  buffers: readonly ArrayBufferView[];
  offsets: readonly number[];
  /** Per buffer, if given: add this to each 32-bit integer as it is copied (offsets of a slice, rebased to 0). */
  deltas?: readonly number[] | undefined;
}

const FIELD_DESCRIPTOR = 1;
const FIELD_HEADER = 2;
const FIELD_APP_METADATA = 3;
const FIELD_BODY = 1000;

function lengthDelimitedSize(field: number, length: number): number {
  return tagSize(field) + varintSize(length) + length;
}

function writeTag(out: Buffer, offset: number, field: number, length: number): number {
  offset = writeVarint(out, offset, (field << 3) | WireType.LengthDelimited);
  return writeVarint(out, offset, length);
}

/*
 * gRPC puts a 5-byte prefix (compressed flag, length) before each message, and grpc-js hands
 * the deserializer the message as a view 5 bytes into a fresh (8-byte aligned) buffer holding
 * the whole frame. The body is placed 8-byte aligned within that frame, so our receivers view it
 * in place; aligned within the message instead, every body arrived misaligned and was copied.
 */

/**
 * One FlightData message, laid out but not yet written: its size is known before its bytes are
 * gathered from the Arrow buffers, so the writer can choose the memory it goes into (see
 * BackpressureWriter). The flatbuffer header is zero-padded (as IPC pads it) so that the body
 * starts 8-byte aligned within the gRPC frame (see the note on the gRPC prefix above): a
 * receiver can then view the body without copying it. Callers reuse their arrays once a write
 * has resolved: writeInto copies everything; writeChunks leaves the large buffers where they
 * are, and whoever sends its chunks must hold the write until they have gone out (as
 * BackpressureWriter does).
 */
export class FlightDataMessage {
  readonly byteLength: number;
  private readonly descriptorBytes: Uint8Array | undefined;
  private readonly headerLength: number;

  constructor(
    private readonly header: Uint8Array,
    private readonly body: BodyParts | undefined,
    private readonly appMetadata?: Uint8Array,
    descriptor?: FlightDescriptor,
  ) {
    this.descriptorBytes = descriptor ? FlightDescriptorCodec.encode(descriptor) : undefined;
    const bodyLength = body?.length ?? 0;
    let prefix =
      (this.descriptorBytes ? lengthDelimitedSize(FIELD_DESCRIPTOR, this.descriptorBytes.byteLength) : 0) +
      (appMetadata && appMetadata.byteLength > 0 ? lengthDelimitedSize(FIELD_APP_METADATA, appMetadata.byteLength) : 0) +
      (bodyLength > 0 ? tagSize(FIELD_BODY) + varintSize(bodyLength) : 0);
    let headerLength = header.byteLength;
    if (headerLength > 0) {
      const fixed = prefix;
      const misalignment = () => (GRPC_PREFIX + fixed + lengthDelimitedSize(FIELD_HEADER, headerLength)) % 8;
      if (bodyLength > 0) while (misalignment() !== 0) headerLength++;
      prefix = fixed + lengthDelimitedSize(FIELD_HEADER, headerLength);
    }
    this.headerLength = headerLength;
    this.byteLength = prefix + bodyLength;
  }

  /** The message in a Buffer of its own. */
  toBuffer(): Buffer {
    const out = Buffer.allocUnsafe(this.byteLength);
    this.writeInto(out);
    return out;
  }

  /** Writes the message at the start of `out`, which must hold at least `byteLength` bytes. */
  writeInto(out: Buffer): void {
    this.write(out, 0, Infinity, null);
  }

  /** Bytes of the message that writeChunks copies, sending body buffers of `minBytes` and more as they are. */
  copiedLength(minBytes: number): number {
    const body = this.body;
    let sentInPlace = 0;
    if (body) {
      for (let i = 0; i < body.buffers.length; i++) if (this.inPlace(i, minBytes)) sentInPlace += body.buffers[i]!.byteLength;
    }
    return this.byteLength - sentInPlace;
  }

  /** Whether body buffer `i` goes out as it is: large enough, and no offsets to rebase. */
  private inPlace(i: number, minBytes: number): boolean {
    return this.body!.buffers[i]!.byteLength >= minBytes && !this.body!.deltas?.[i];
  }

  /**
   * The message as chunks to send one after another, without copying its large buffers: each
   * body buffer of `minBytes` or more is a chunk of its own, a view of the batch's memory (but
   * offsets to rebase, which are copied); the rest (tags, header, small buffers, padding) is
   * gathered into `out` from `start` on, which must hold copiedLength(minBytes) bytes there.
   * The first chunk begins at out[0] (room for the gRPC prefix). The batch's memory must stay
   * as it is until the chunks have been sent.
   */
  writeChunks(out: Buffer, start: number, minBytes: number): Buffer[] {
    const chunks: Buffer[] = [];
    this.write(out, start, minBytes, chunks);
    return chunks;
  }

  /** Gathers the message into `out` from `offset`, but for body buffers sent in place (see writeChunks). */
  private write(out: Buffer, offset: number, minBytes: number, chunks: Buffer[] | null): void {
    const { descriptorBytes, header, headerLength, appMetadata, body } = this;
    if (descriptorBytes) {
      offset = writeTag(out, offset, FIELD_DESCRIPTOR, descriptorBytes.byteLength);
      out.set(descriptorBytes, offset);
      offset += descriptorBytes.byteLength;
    }
    if (headerLength > 0) {
      offset = writeTag(out, offset, FIELD_HEADER, headerLength);
      out.set(header, offset);
      out.fill(0, offset + header.byteLength, offset + headerLength);
      offset += headerLength;
    }
    if (appMetadata && appMetadata.byteLength > 0) {
      offset = writeTag(out, offset, FIELD_APP_METADATA, appMetadata.byteLength);
      out.set(appMetadata, offset);
      offset += appMetadata.byteLength;
    }
    let cut = 0; // where in `out` the chunk being gathered begins
    const bodyLength = body?.length ?? 0;
    if (body && bodyLength > 0) {
      offset = writeTag(out, offset, FIELD_BODY, bodyLength);
      let written = 0; // bytes of the body done so far; gaps between buffers are zeroed
      for (let i = 0; i < body.buffers.length; i++) {
        const buffer = body.buffers[i]!;
        const at = body.offsets[i]!;
        const length = buffer.byteLength;
        if (length === 0) continue;
        if (at > written) {
          out.fill(0, offset, offset + at - written);
          offset += at - written;
        }
        const delta = body.deltas?.[i] ?? 0;
        if (this.inPlace(i, minBytes)) {
          if (offset > cut) chunks!.push(out.subarray(cut, offset));
          chunks!.push(Buffer.from(buffer.buffer, buffer.byteOffset, length));
          cut = offset;
        } else if (delta !== 0) {
          copyRebased(buffer as Int32Array, delta, out, offset);
          offset += length;
        } else {
          out.set(new Uint8Array(buffer.buffer, buffer.byteOffset, length), offset);
          offset += length;
        }
        written = at + length;
      }
      if (written < bodyLength) {
        out.fill(0, offset, offset + bodyLength - written);
        offset += bodyLength - written;
      }
    }
    if (chunks && offset > cut) chunks.push(out.subarray(cut, offset));
  }
}

/** Encodes one FlightData message into a single Buffer ready for grpc-js (see FlightDataMessage). */
export function encodeFlightData(
  header: Uint8Array,
  body: BodyParts | undefined,
  appMetadata?: Uint8Array,
  descriptor?: FlightDescriptor,
): Buffer {
  return new FlightDataMessage(header, body, appMetadata, descriptor).toBuffer();
}

/** What a FlightDataWriter hands its sink: encoded bytes, or a message to encode (at once). */
export type OutgoingFlightData = Buffer | FlightDataMessage;

/** Decodes a FlightData message; header, metadata and body are views into `buffer`. */
export function decodeFlightData(buffer: Uint8Array): FlightData {
  const r = new ProtoReader(buffer, 'FlightData');
  const data: FlightData = { dataHeader: EMPTY, dataBody: EMPTY };
  while (!r.done) {
    const [field, wire] = r.tag();
    if (wire !== WireType.LengthDelimited) {
      r.skip(wire);
      continue;
    }
    switch (field) {
      case FIELD_DESCRIPTOR:
        data.descriptor = FlightDescriptorCodec.decode(r.bytes());
        break;
      case FIELD_HEADER:
        data.dataHeader = r.bytes();
        break;
      case FIELD_APP_METADATA:
        data.appMetadata = r.bytes();
        break;
      case FIELD_BODY:
        data.dataBody = r.bytes();
        break;
      default:
        r.skip(wire);
    }
  }
  return data;
}

/** grpc-js deserializer for FlightData: never throws (a throw there would kill the call without a message). */
export function deserializeFlightData(buffer: Buffer): FlightData | FlightError {
  try {
    return decodeFlightData(buffer);
  } catch (error) {
    return error instanceof FlightError ? error : FlightError.invalidArgument(`malformed FlightData: ${String(error)}`);
  }
}

const EMPTY = new Uint8Array(0);
