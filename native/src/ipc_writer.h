// Arrow arrays (C data interface) -> Arrow IPC record batch messages: the flatbuffer Message
// header and the body, each buffer 8-byte aligned. A batch is gathered from pieces (row ranges
// of the arrays DuckDB converted, one per 2048-row chunk), concatenated column by column as the
// body is written, so the data is copied once, from DuckDB's Arrow buffers into the body.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "arrow_c_data.h"

namespace duckflight {

/** Rows [start, start + length) of a top-level array (start counts from the array's own offset). */
struct Piece {
  const ArrowArray *array;
  int64_t start;
  int64_t length;
};

/** An IPC message: the flatbuffer header and a malloc'd body (the caller frees it, or hands it on). */
struct IpcMessage {
  std::vector<uint8_t> header;
  uint8_t *body = nullptr;
  int64_t bodyLength = 0;
  int64_t rows = 0;
  /** The body's place in the caller's pool of reused bodies (see BodyAllocator); -1: malloc'd. */
  int32_t slab = -1;
};

/** Memory for a record batch's body: sets `slab` to its place in a pool, or -1 for malloc'd memory. */
using BodyAllocator = std::function<uint8_t *(int64_t length, int32_t *slab)>;

class IpcWriter {
 public:
  /** `schema` is the struct schema of the batches (DuckDB's duckdb_to_arrow_schema). */
  explicit IpcWriter(const ArrowSchema *schema) : schema_(schema) {}

  /** Where record batch bodies go (malloc when unset); dictionary batches always take malloc. */
  void setBodyAllocator(BodyAllocator allocate) { allocate_ = std::move(allocate); }

  /**
   * The messages for one batch gathered from `pieces`: the dictionary batches first, on the first
   * call only (DuckDB exports ENUMs with the type's whole dictionary in every chunk), then the
   * record batch. False with `error` set for a layout this writer does not know.
   */
  bool write(const std::vector<Piece> &pieces, std::vector<IpcMessage> *out, std::string *error);

  /**
   * The body bytes rows [start, start + length) of a top-level array would take as a batch of
   * their own (for cutting batches by size). Pieces gathered into one batch take at most the sum
   * of theirs: padding and bitmaps are shared, offsets counted once more per piece.
   */
  int64_t bodyBytes(const ArrowArray *array, int64_t start, int64_t length) const;

 private:
  const ArrowSchema *schema_;
  BodyAllocator allocate_;
  bool dictionariesSent_ = false;
};

}  // namespace duckflight
