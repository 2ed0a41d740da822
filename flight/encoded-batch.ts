// A record batch (or dictionary batch) already serialized as Arrow IPC by someone else, such as
// the native addon: the flatbuffer Message and its body, 8-byte aligned. The writer frames it as
// FlightData as it is, sending the body in place.

export class EncodedBatch {
  constructor(
    /** The IPC flatbuffer Message (RecordBatch or DictionaryBatch header). */
    readonly header: Uint8Array,
    /** The IPC body the header describes; its length is a multiple of 8. */
    readonly body: Uint8Array,
    /** Rows of a record batch; 0 for a dictionary batch. */
    readonly numRows: number,
    /** Sent on this batch's FlightData message. */
    readonly appMetadata?: Uint8Array,
  ) {}

  withMetadata(appMetadata: Uint8Array | undefined): EncodedBatch {
    return new EncodedBatch(this.header, this.body, this.numRows, appMetadata);
  }
}
