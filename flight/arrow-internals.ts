// Every module of apache-arrow's we import below its public entry point, in one place. The
// encoder, decoder and body layout build on them (IPC message headers, the body assembler and
// loader, schema comparison), and the package exports none of them: that is why package.json pins
// apache-arrow to an exact version, and why test/flight/arrow-internals.test.ts checks what we
// rely on in each, so that an upgrade that changes one fails there, by name, first.
export {
  Message,
  RecordBatch as RecordBatchHeader,
  DictionaryBatch,
  BufferRegion,
  FieldNode,
  BodyCompression,
} from 'apache-arrow/ipc/metadata/message';
export { CompressionType } from 'apache-arrow/fb/compression-type';
export { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
export { VectorLoader } from 'apache-arrow/visitor/vectorloader';
export { compareSchemas } from 'apache-arrow/visitor/typecomparator';
export { truncateBitmap } from 'apache-arrow/util/bit';
